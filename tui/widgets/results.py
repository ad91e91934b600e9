"""The result list: one option per hit (title, badge and metadata, a snippet with its matches marked)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.render import badge, lit, marked, window

SNIPPET_WIDTH = 150


def hit_prompt(hit: Any) -> Text:
    title = marked(hit.title, hit.title_marks, base="bold")
    meta = Text()
    meta.append_text(badge(hit.status))
    details = [str(hit.published or "undated"), hit.publisher or "", hit.id]
    meta.append_text(lit(" " + " · ".join(d for d in details if d), "dim"))
    lines = [title, meta]
    if hit.snippet:
        snippet, marks = window(hit.snippet, hit.marks, SNIPPET_WIDTH)
        lines.append(marked(snippet, marks, base="italic"))
    return Text("\n").join(lines)


class ResultList(OptionList):
    """Search hits; the option id is the article id."""

    def show(self, results: Any, *, same_question: bool = False) -> None:
        """Replace the hits. A refresh of the same question keeps the highlighted article; a new question
        starts again from its best hit."""
        keep = self.highlighted_id if same_question else None
        self.clear_options()
        options: list[Option | None] = []
        for h in results.hits:
            options += [Option(hit_prompt(h), id=h.id), None]
        self.add_options(options[:-1])
        if results.hits:
            ids = [h.id for h in results.hits]
            self.highlighted = ids.index(keep) if keep in ids else 0
            if keep not in ids:
                self.scroll_home(animate=False)

    @property
    def highlighted_id(self) -> str | None:
        if self.highlighted is None or not self.option_count:
            return None
        return self.get_option_at_index(self.highlighted).id
