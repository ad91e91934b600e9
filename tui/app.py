"""The Textual app: `archivist tui`. It talks to the `Archive` facade only, from worker threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding

from archivist.archive import Archive, default_actor
from archivist.textutil import printable
from tui.commands import ActionsProvider
from tui.messages import ArchiveChanged, ResultsShown
from tui.render import TimeFormat, local_time
from tui.screens.search import SearchScreen

POLL_SECONDS = 1.0


class ArchivistApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "archivist"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("f2", "stats", "Statistics", show=False),
        Binding("question_mark", "help", "Help (outside text boxes)", show=False),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
        Binding("ctrl+q", "quit", "Quit", show=False),
    ]

    def __init__(self, archive_path: str | os.PathLike[str], *, archive: Archive | None = None,
                 time_format: TimeFormat | None = None, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.archive_path = Path(archive_path)
        self._archive = archive
        self._owns_archive = archive is None
        self.archive_lock = threading.RLock()  # one facade call at a time: workers are threads
        self.actor = default_actor("tui")
        self.time_format: Callable[[Any], str] = time_format or local_time
        self.poll_seconds = poll_seconds
        self.seen = 0  # the log head the views last caught up with
        self.latencies: list[float] = []  # key press to results on screen, seconds (bench, tests)
        self.sub_title = printable(str(self.archive_path))

    @property
    def archive(self) -> Archive:
        """Opened on first use, in a worker: the first paint does not wait for the log to be read."""
        with self.archive_lock:
            if self._archive is None:
                self._archive = Archive.open(self.archive_path, actor=self.actor)
            return self._archive

    def on_mount(self) -> None:
        self.push_screen(SearchScreen())
        if self.poll_seconds:
            self.set_interval(self.poll_seconds, self.poll)

    def on_unmount(self) -> None:
        if self._owns_archive and self._archive is not None:
            with self.archive_lock:
                self._archive.close()

    # --- live: other processes append to the same log --------------------------------------------------

    def saw_head(self, head: int) -> None:
        self.seen = max(self.seen, head)

    @work(thread=True, exclusive=True, group="poll")
    def poll(self) -> None:
        if not self.archive_lock.acquire(blocking=False):
            return  # a search or an action is running: it sees the new events anyway; try next tick
        try:
            head = self.archive.head()
        except Exception as exc:  # shown, never swallowed
            self.call_from_thread(self.notify, f"Cannot read the archive: {exc}", severity="error",
                                  markup=False)
            return
        finally:
            self.archive_lock.release()
        if head > self.seen:
            self.seen = head
            self.post_message(ArchiveChanged(head))

    def on_archive_changed(self, msg: ArchiveChanged) -> None:
        for screen in self.screen_stack:
            screen.post_message(ArchiveChanged(msg.head))

    def announce_change(self) -> None:
        """We recorded something: every view shows it at once (not at the next poll)."""
        self.post_message(ArchiveChanged(self.seen + 1))

    def on_results_shown(self, msg: ResultsShown) -> None:
        self.latencies.append(msg.latency)

    # --- everywhere -------------------------------------------------------------------------------------

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))


    def action_stats(self) -> None:
        from tui.screens.stats import StatsScreen

        if not isinstance(self.screen, StatsScreen):
            self.push_screen(StatsScreen())


def make_app(archive_path: str | os.PathLike[str], *, archive: Archive | None = None,
             time_format: TimeFormat | None = None, poll_seconds: float = POLL_SECONDS) -> ArchivistApp:
    """The one way to build the app, shared by `archivist tui`, `archivist demo`, the tests and the bench."""
    return ArchivistApp(archive_path, archive=archive, time_format=time_format, poll_seconds=poll_seconds)
