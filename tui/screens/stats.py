"""The archive in pictures: articles per year as a histogram, the shares of each status and publisher."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from archivist import errors
from archivist.textutil import plural
from tui.messages import ArchiveChanged
from tui.render import lit
from tui.widgets.charts import Histogram, Shares

PUBLISHERS = 10  # the largest shown by name; the rest together


class StatsLoaded(Message):
    def __init__(self, stats: Any | None, error: str | None) -> None:
        super().__init__()
        self.stats = stats
        self.error = error


class StatsScreen(Screen[None]):
    HELP_TITLE = "Statistics"
    BINDINGS = [
        Binding("escape,q", "back", "Back"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats"):
            yield Static(Text("Loading…", style="dim"), id="stats-summary")
            yield Static(Text("Articles per year (published)", style="bold underline"), classes="stats-head")
            yield Histogram(id="stats-years")
            yield Static(Text("Status", style="bold underline"), classes="stats-head")
            yield Shares(id="stats-status")
            yield Static(Text("Publishers", style="bold underline"), classes="stats-head")
            yield Shares(id="stats-publishers")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = "Statistics"
        self.query_one("#stats").focus()
        self.load()

    @work(thread=True, exclusive=True, group="stats")
    def load(self) -> None:
        app: Any = self.app
        try:
            with app.archive_lock:
                stats = app.archive.stats()
        except Exception as exc:  # shown, never swallowed
            msg = str(exc) if isinstance(exc, errors.ArchivistError) else f"{type(exc).__name__}: {exc}"
            self.post_message(StatsLoaded(None, msg))
            return
        self.post_message(StatsLoaded(stats, None))

    def on_stats_loaded(self, msg: StatsLoaded) -> None:
        summary = self.query_one("#stats-summary", Static)
        if msg.error is not None or msg.stats is None:
            summary.update(lit(msg.error or "no statistics", "bold red"))
            return
        s = msg.stats
        summary.update(Text(f"{plural(s.articles, 'article')} · {plural(s.events, 'event')} · "
                            f"{plural(s.sources, 'source file')} · log {s.log_bytes / 1e6:.1f} MB"))
        self.query_one("#stats-years", Histogram).show(list(s.years.items()))
        self.query_one("#stats-status", Shares).show([(k, v) for k, v in s.by_status.items()], s.articles)
        top = list(s.publishers.items())[:PUBLISHERS]
        rest = s.articles - sum(n for _, n in top)
        self.query_one("#stats-publishers", Shares).show(
            top + ([("other or unknown", rest)] if rest else []), s.articles)

    def on_archive_changed(self, msg: ArchiveChanged) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()
