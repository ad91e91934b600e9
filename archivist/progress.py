"""Progress bars for long work (ingest, import, rebuild, …): the one rule is that a bar is drawn on stderr
when stderr is a terminal, and nothing at all is drawn when it is not (a log file, a pipe, cron).

    with progress("ingesting", len(files)) as advance:
        for f in files:
            ...
            advance()        # or advance(n): n more units done

`advance` is always a callable: the callers never ask whether a bar is shown. It may be called from any thread.
A bar disappears once its work is done (what the command prints after it stays clean).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

Advance = Callable[..., None]  # advance(n: int = 1)
# what a subsystem is handed when it has long work to report: progress_of(total) -> context giving `advance`
ProgressOf = Callable[[int | None], AbstractContextManager[Advance]]


def _nothing(n: int = 1) -> None:
    pass


def shown(stream: TextIO | None = None) -> bool:
    """Whether bars are drawn: when the stream (default stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced by an object without a file, or closed
        return False


class _Count(ProgressColumn):
    """Done of total: a count, or sizes (KB, MB) for a task whose unit is bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._sizes, self._counts = DownloadColumn(), MofNCompleteColumn()

    def render(self, task: Task) -> Text:
        return (self._sizes if task.fields.get("unit") == "bytes" else self._counts).render(task)


_lock = threading.Lock()
_live: list[Progress] = []  # the bars on screen now: one display, a row per piece of work in progress
_users = 0


@contextmanager
def progress(label: str, total: int | None, *, unit: str = "", stream: TextIO | None = None) -> Iterator[Advance]:
    """A bar labelled `label` for `total` units (None: not known, the bar pulses) on stderr when it is a
    terminal, else nothing. `unit="bytes"` shows sizes (KB, MB) instead of counts. Work started inside
    other work (the index catching up at the end of an ingest) gets a row of its own on the same display."""
    global _users
    stream = sys.stderr if stream is None else stream
    if not shown(stream):
        yield _nothing
        return
    with _lock:
        if not _live:
            console = Console(file=stream, force_terminal=True, highlight=False)
            _live.append(Progress(TextColumn("{task.description}"), BarColumn(), _Count(), TimeRemainingColumn(),
                                  console=console, transient=True))
            _live[0].start()
        bar = _live[0]
        _users += 1
        task = bar.add_task(label, total=total, unit=unit)
        bar.refresh()  # shown at once, not at the next tick
    try:
        def advance(n: int = 1) -> None:
            bar.advance(task, n)
        yield advance
    finally:
        with _lock:
            bar.remove_task(task)
            _users -= 1
            if not _users:
                bar.stop()
                _live.clear()


def progress_of(label: str, *, unit: str = "", stream: TextIO | None = None) -> ProgressOf:
    """`progress` with its label fixed, for a subsystem that learns the total itself (the index catch-up)."""
    def start(total: int | None) -> AbstractContextManager[Advance]:
        return progress(label, total, unit=unit, stream=stream)
    return start


@contextmanager
def progress_of_totals(label: str, *, unit: str = "", stream: TextIO | None = None) -> Iterator[Callable[[int, int], None]]:
    """For work that reports `(done so far, total)` (a WARC crawl: `Archive.ingest_files(warc_progress=…)`): a
    bar per piece of work -- a new total, or a count that starts again, begins the next one."""
    bars = ExitStack()
    state: list = [None, 0, _nothing]  # type: ignore[type-arg] # total, done, advance

    def report(done: int, total: int) -> None:
        if total != state[0] or done < state[1]:
            bars.close()
            state[:] = [total, 0, bars.enter_context(progress(label, total, unit=unit, stream=stream))]
        state[2](done - state[1])
        state[1] = done
    try:
        yield report
    finally:
        bars.close()
