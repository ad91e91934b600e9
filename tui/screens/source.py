"""The original file an article version was read from, as text (decoded as ingest decoded it), scrollable.
`archivist source ID --version N -o FILE` gives its exact bytes."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from archivist import errors
from archivist.textutil import plural, printable, revision
from tui.render import lit

MAX_SHOWN = 8 * 1024 * 1024  # bytes: a larger original is written to a file with `archivist source -o`


class SourceLoaded(Message):
    def __init__(self, original: Any | None, text: str, error: str | None) -> None:
        super().__init__()
        self.original = original
        self.text = text
        self.error = error


class SourceScreen(ModalScreen[None]):
    """`archive.original(id, version)` and its text; control characters shown as `\\x1b`, never obeyed."""

    HELP_TITLE = "Original source"
    BINDINGS = [
        Binding("escape,q", "close", "Close the original"),
        Binding("f1,question_mark", "app.help", "Help"),  # a modal screen: the app's keys do not reach here
    ]

    def __init__(self, article_id: str, version: int) -> None:
        super().__init__()
        self.article_id = article_id
        self.version = version
        self.original: Any | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="source-box") as box:
            box.border_title = "Original source"
            box.border_subtitle = "esc closes · ↑↓ pgup pgdn scroll"
            yield Static(Text("Loading…", style="dim"), id="source-head")
            yield TextArea(id="source-text", read_only=True, soft_wrap=True, show_cursor=False,
                           highlight_cursor_line=False)

    def on_mount(self) -> None:
        self.query_one("#source-text").focus()
        self.load()

    @work(thread=True, exclusive=True, group="source")
    def load(self) -> None:
        app: Any = self.app
        original = None
        try:
            with app.archive_lock:
                a = app.archive
                original = a.original(self.article_id, self.version)
                if original.size > MAX_SHOWN:
                    raise errors.UsageError(f"{original.file_name} is too large to show here "
                                            f"({original.size / 1e6:.0f} MB): `archivist source "
                                            f"{original.id} --version {original.version} -o FILE` writes it")
                text = a.original_text(original)
        except Exception as exc:  # shown, never swallowed
            msg = str(exc) if isinstance(exc, errors.ArchivistError) else f"{type(exc).__name__}: {exc}"
            self.post_message(SourceLoaded(original, "", msg))
            return
        self.post_message(SourceLoaded(original, text, None))

    def on_source_loaded(self, msg: SourceLoaded) -> None:
        head = self.query_one("#source-head", Static)
        o = self.original = msg.original
        line = Text()
        if o is not None:
            line.append_text(lit(o.file_name, "bold"))
            line.append(f" · {plural(o.size, 'byte')} · {revision(o.version, o.versions)} · sha256 "
                        f"{o.digest[:16]}… (checked)", style="dim")
        if msg.error is not None:
            if line:
                line.append("\n")
            line.append_text(lit(msg.error, "bold red"))
            head.update(line)
            self.query_one("#source-text", TextArea).display = False
            return
        head.update(line)
        area = self.query_one("#source-text", TextArea)
        area.load_text(printable(msg.text.replace("\r\n", "\n")))
        area.scroll_home(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
