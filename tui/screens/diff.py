"""What changed in an article's title and text from one revision to the next, word by word. It opens at the
first change; `c` / `C` go to the next / previous one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from archivist import errors
from archivist.textutil import plural, revision
from tui.render import DELETE_STYLE, INSERT_STYLE, diff_text, lit

FIRST_VERSION = "first revision — nothing to compare"
CONTEXT_ROWS = 2  # lines shown above a change the view jumps to


class DiffLoaded(Message):
    def __init__(self, versions: list[Any], diff: Any | None, error: str | None) -> None:
        super().__init__()
        self.versions = versions
        self.diff = diff
        self.error = error


class DiffScreen(ModalScreen[None]):
    """`archive.diff(id, from_=version - 1, to=version)`: deletions struck through in red, insertions green.
    `version` is a revision number (1 = as first published)."""

    HELP_TITLE = "Diff"
    BINDINGS = [
        Binding("escape,q", "close", "Close the diff"),
        Binding("c", "next_change", "Next change"),
        Binding("C", "previous_change", "Previous change"),
        Binding("left,p", "previous", "Previous revision"),
        Binding("right,n", "next", "Next revision"),
        Binding("f1,question_mark", "app.help", "Help"),  # a modal screen: the app's keys do not reach here
    ]

    def __init__(self, article_id: str, version: int) -> None:
        super().__init__()
        self.article_id = article_id
        self.version = version
        self.count = 0  # revisions the article has (known once loaded)
        self.change_rows: list[int] = []  # where each change starts, in rows of the scrolled text
        self.change = -1  # the change in view (index into change_rows), -1 before the first

    def compose(self) -> ComposeResult:
        with Vertical(id="diff-box") as box:
            box.border_title = "What changed"
            box.border_subtitle = "esc closes · c / C next / previous change · ←/→ revisions"
            yield Static(Text("Loading…", style="dim"), id="diff-head")
            with VerticalScroll(id="diff-scroll"):
                yield Static("", id="diff-title")
                yield Static("", id="diff-body")

    def on_mount(self) -> None:
        self.query_one("#diff-scroll").focus()
        self.load()

    @work(thread=True, exclusive=True, group="diff")
    def load(self) -> None:
        app: Any = self.app
        try:
            with app.archive_lock:
                a = app.archive
                versions = a.versions(self.article_id)
                diff = None
                if 1 < self.version <= len(versions):
                    diff = a.diff(self.article_id, from_=self.version - 1, to=self.version)
                elif self.version == 1 and versions:
                    # nothing before it: the text as first recorded, compared with nothing
                    diff = a.diff(self.article_id, from_=1, to=1)
                else:
                    raise errors.NotFound(f"article {self.article_id} has no version {self.version}")
        except Exception as exc:  # shown, never swallowed
            msg = str(exc) if isinstance(exc, errors.ArchivistError) else f"{type(exc).__name__}: {exc}"
            self.post_message(DiffLoaded([], None, msg))
            return
        self.post_message(DiffLoaded(versions, diff, None))

    def on_diff_loaded(self, msg: DiffLoaded) -> None:
        head = self.query_one("#diff-head", Static)
        if msg.error is not None or msg.diff is None:
            head.update(lit(msg.error or "no difference to show", "bold red"))
            return
        self.count = len(msg.versions)
        fmt: Callable[[Any], str] = self.app.time_format  # type: ignore[attr-defined]
        d = msg.diff

        def ref(v: Any) -> Text:
            out = Text(f"revision {v.version}", style="bold")
            out.append_text(lit(f" ({fmt(v.recorded_at)}, {v.actor})", "dim"))
            return out

        line = Text()
        if self.version == 1:
            line.append_text(ref(d.to_version))
            line.append(f": {FIRST_VERSION}", style="italic")
        else:
            line.append_text(ref(d.from_version))
            line.append(" → ")
            line.append_text(ref(d.to_version))
        legend = Text.assemble(("deleted", DELETE_STYLE), "  ", ("inserted", INSERT_STYLE))
        if self.version > 1 and not d.changed:
            legend.append("   the title and text did not change (the revision changed other details)",
                          style="dim")
        legend.append(f" · {revision(self.version, self.count)}", style="dim")
        head.update(Group(line, legend))

        if self.version == 1:
            title, body = lit(d.to_version.title, "bold"), lit("".join(o.text for o in d.body))
        else:
            title, body = diff_text(d.title, base="bold"), diff_text(d.body)
        changes = 0  # places that changed: a deletion next to an insertion is one replacement
        for ops in ((d.title, d.body) if self.version > 1 else ()):
            changes += sum(o.op != "equal" and (i == 0 or ops[i - 1].op == "equal") for i, o in enumerate(ops))
        if changes:
            legend.append(f" · {plural(changes, 'change')}", style="dim")
        self.query_one("#diff-title", Static).update(title)
        self.query_one("#diff-body", Static).update(body)
        self.query_one("#diff-scroll", VerticalScroll).scroll_home(animate=False)
        self.change_rows, self.change = [], -1
        if changes:
            self.call_after_refresh(self._find_changes, title, body)

    def _find_changes(self, title: Text, body: Text) -> None:
        """Where each change starts, in rows of the scrolled text (title and body as wrapped on screen);
        then show the first one."""
        widgets = [self.query_one("#diff-title", Static), self.query_one("#diff-body", Static)]
        rows: list[int] = []
        for widget, text in zip(widgets, (title, body), strict=True):
            width = widget.content_region.width
            if width <= 0:
                return  # not laid out (closed meanwhile)
            top = widget.virtual_region.y
            in_change = False
            for i, line in enumerate(text.wrap(self.app.console, width)):
                changed = any(sp.style in (DELETE_STYLE, INSERT_STYLE) for sp in line.spans)
                if changed and not in_change:
                    rows.append(top + i)
                in_change = changed
        self.change_rows = rows
        if rows:
            self._show_change(0)

    def _show_change(self, index: int) -> None:
        self.change = index
        self.query_one("#diff-scroll", VerticalScroll).scroll_to(
            y=max(0, self.change_rows[index] - CONTEXT_ROWS), animate=False)

    # --- keys -----------------------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_next_change(self) -> None:
        if self.change + 1 >= len(self.change_rows):
            self.notify("No further change." if self.change_rows else "Nothing changed in the text.",
                        severity="warning", timeout=2)
            return
        self._show_change(self.change + 1)

    def action_previous_change(self) -> None:
        if self.change <= 0:
            self.notify("This is the first change." if self.change_rows else "Nothing changed in the text.",
                        severity="warning", timeout=2)
            return
        self._show_change(self.change - 1)

    def action_previous(self) -> None:
        self._go(self.version - 1)

    def action_next(self) -> None:
        self._go(self.version + 1)

    def _go(self, version: int) -> None:
        if not 1 <= version <= max(self.count, 1):
            self.notify("There is no earlier revision." if version < 1 else "This is the latest revision.",
                        severity="warning", timeout=2)
            return
        self.version = version
        self.load()
