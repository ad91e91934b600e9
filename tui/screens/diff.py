"""What changed in an article's title and text from one version to the next, word by word."""

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
from tui.render import DELETE_STYLE, INSERT_STYLE, diff_text, lit

FIRST_VERSION = "first version — nothing to compare"


class DiffLoaded(Message):
    def __init__(self, versions: list[Any], diff: Any | None, error: str | None) -> None:
        super().__init__()
        self.versions = versions
        self.diff = diff
        self.error = error


class DiffScreen(ModalScreen[None]):
    """`archive.diff(id, from_=version - 1, to=version)`: deletions struck through in red, insertions green."""

    HELP_TITLE = "Diff"
    BINDINGS = [
        Binding("escape,q", "close", "Close the diff"),
        Binding("left,p", "previous", "Previous version"),
        Binding("right,n", "next", "Next version"),
        Binding("f1,question_mark", "app.help", "Help"),  # a modal screen: the app's keys do not reach here
    ]

    def __init__(self, article_id: str, version: int) -> None:
        super().__init__()
        self.article_id = article_id
        self.version = version
        self.count = 0  # content versions the article has (known once loaded)

    def compose(self) -> ComposeResult:
        with Vertical(id="diff-box") as box:
            box.border_title = "What changed"
            box.border_subtitle = "esc closes · ←/→ other versions"
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
            out = Text(f"version {v.version}", style="bold")
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
        legend.append(f" · version {self.version} of {self.count}", style="dim")
        head.update(Group(line, legend))

        if self.version == 1:
            title, body = lit(d.to_version.title, "bold"), lit("".join(o.text for o in d.body))
        else:
            title, body = diff_text(d.title, base="bold"), diff_text(d.body)
        changes = 0  # places that changed: a deletion next to an insertion is one replacement
        for ops in ((d.title, d.body) if self.version > 1 else ()):
            changes += sum(o.op != "equal" and (i == 0 or ops[i - 1].op == "equal") for i, o in enumerate(ops))
        if changes:
            legend.append(f" · {changes} change(s)", style="dim")
        self.query_one("#diff-title", Static).update(title)
        self.query_one("#diff-body", Static).update(body)
        self.query_one("#diff-scroll", VerticalScroll).scroll_home(animate=False)
        first = min((sp.start for sp in body.spans if sp.style in (DELETE_STYLE, INSERT_STYLE)), default=None)
        if first is not None:
            self.call_after_refresh(self._show_first_change, body, first)

    def _show_first_change(self, body: Text, offset: int) -> None:
        """A long text changed near its end: scroll so the first change is in view."""
        widget = self.query_one("#diff-body", Static)
        width = widget.content_region.width
        if width <= 0:
            return
        row = chars = 0
        for line in body.wrap(self.app.console, width):
            chars += len(line.plain)
            if chars > offset:
                break
            row += 1
        scroll = self.query_one("#diff-scroll", VerticalScroll)
        y = widget.virtual_region.y + row
        if y >= scroll.scrollable_content_region.height - 1:
            scroll.scroll_to(y=max(0, y - 2), animate=False)

    # --- keys -----------------------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_previous(self) -> None:
        self._go(self.version - 1)

    def action_next(self) -> None:
        self._go(self.version + 1)

    def _go(self, version: int) -> None:
        if not 1 <= version <= max(self.count, 1):
            self.notify("There is no earlier version." if version < 1 else "This is the latest version.",
                        severity="warning", timeout=2)
            return
        self.version = version
        self.load()
