"""`?`: every key of the screen underneath and of the app, with what it does."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

import archivist
from archivist.textutil import VERSION_WORDS
from tui.commands import bindings_of

QUERY_HELP = (
    "Query language: words (any form: handlu ludźmi finds handel ludźmi), \"a phrase\", AND OR NOT, "
    "title: body: url: publisher: tag: status:, published:2015..2017, prefix*, fuzzy~, @saved-search. "
    "An empty query lists the newest articles."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close help")]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as box:
            box.border_title = f"Keys · archivist {archivist.__version__}"
            box.border_subtitle = "esc closes"
            yield Static(self._table(), id="help-keys")
            yield Static(Text(QUERY_HELP, style="dim"), id="help-query")
            yield Static(Text("Numbers: " + VERSION_WORDS, style="dim"), id="help-numbers")

    def _table(self) -> Table:
        table = Table(box=None, show_header=False, padding=(0, 2), expand=True)
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for group, bindings in bindings_of(self.under):
            table.add_row(Text(group, style="underline"), "")
            for b in bindings:
                keys = " / ".join(self.app.get_key_display(Binding(k, b.action)) for k in b.key.split(","))
                table.add_row(Text(keys), Text(b.description))
        table.add_row(Text("Lists", style="underline"), "")
        table.add_row(Text("↑ / ↓, enter"), Text("move, choose (an article, a facet value, a chip)"))
        table.add_row(Text("tab / shift+tab"), Text("next / previous part of the screen"))
        table.add_row(Text("typing"), Text("in the search screen's lists: goes on with the query"))
        return table

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
