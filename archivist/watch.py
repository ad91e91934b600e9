"""The watcher: files dropped into an inbox folder are ingested once, with nothing lost.

Exactly once, even under `kill -9`, comes from the order of two steps. First the file is ingested — its bytes
go to the blob store and ONE atomic append records `SourceReceived`/`SourceRejected` with every article event
(the log deduplicates by digest). Only then is the file moved to `.done/` or `.rejected/`. A crash between the
two leaves the file in the inbox; the restart ingests it again, the log reports a duplicate (nothing is
appended) and the file is moved. A crash before the append leaves at most an orphan blob.

One worker thread does all of it. The observer (watchdog's native one, or the polling one for network file
systems) and a periodic rescan only feed it paths; it takes a file once its size and mtime have stayed the
same for the settle delay, and commits the files that are ready together in one append (group commit).

This is the only module that imports watchdog.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import logging
import os
import queue
import stat
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from archivist import errors
from archivist.archive import Archive
from archivist.ingest.paths import files_under, folder_tag, is_candidate
from archivist.ingest.registry import MAX_BYTES
from archivist.ingest.service import Ingestor
from archivist.ingest.warc import MAX_WARC_BYTES
from archivist.results import REJECTED, FileOutcome
from archivist.textutil import plural

DONE, REJECTED_DIR = ".done", ".rejected"
LOCK_NAME = ".watch.lock"
REASON_SUFFIX = ".reason.txt"
INDEX_LAG = 5.0  # seconds: during a burst of files the index catches up this often, not after every batch

Signature = tuple[int, int, int, int]  # (mode, size, mtime_ns, inode)


class WatchOutcome(msgspec.Struct, kw_only=True):
    """One line of the watcher's output: what happened to one file, and where the file went."""

    file: str  # path relative to the inbox
    result: str  # ingested / revised / duplicate / rejected
    digest: str
    articles: list[str] = []
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    relocations: int = 0
    reason: str | None = None
    tags: list[str] = []
    moved_to: str | None = None  # relative to the inbox
    known: bool = False  # the log already had these bytes (a re-drop, or a restart after a crash)
    at: dt.datetime
    pages: int = 0  # a WARC crawl: see `FileOutcome`
    duplicates: int = 0
    skipped: dict[str, int] = {}


class WatchLog(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A structured log line (stderr): errors and notices, never a traceback."""

    level: str
    event: str
    message: str
    file: str | None = None
    at: dt.datetime


class WatchError(errors.ArchivistError):
    exit_code = 2


class _Pending(msgspec.Struct):
    sig: Signature
    since: float


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Watcher:
    """Watch `inbox` and ingest into `archive` until `stop()` (or a signal, see `run`)."""

    def __init__(self, archive: Archive, inbox: Path, *, settle: float = 1.0, rescan: float = 30.0,
                 poll: float | None = None, max_bytes: int = MAX_BYTES, batch_files: int = 100,
                 max_warc_bytes: int = MAX_WARC_BYTES,
                 report: Callable[[WatchOutcome], None] | None = None,
                 log: Callable[[WatchLog], None] | None = None) -> None:
        self.archive = archive
        self.inbox = inbox.resolve()
        self.settle = max(0.0, settle)
        self.rescan = max(0.1, rescan)
        self.poll = poll
        self.max_bytes = max_bytes
        self.max_warc_bytes = max_warc_bytes
        self.batch_files = max(1, batch_files)
        self.report = report or (lambda o: None)
        self.log = log or (lambda line: None)
        self.stop_event = threading.Event()
        self.fatal: errors.ArchivistError | None = None
        self._queue: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self._pending: dict[Path, _Pending] = {}
        self._failed: dict[Path, tuple[Signature, float]] = {}  # path -> (signature, retry not before)
        self._skip_dirs = {self.inbox / DONE, self.inbox / REJECTED_DIR}
        self._lock_fd: int | None = None
        self.observer_kind = ""

    # --- life cycle -----------------------------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """Watch until stopped. Raises `WatchError` when the inbox is unusable, `IntegrityError` when the
        log refuses writes (nothing more can be recorded, so the watcher stops)."""
        if not self.inbox.is_dir():
            raise WatchError(f"no such folder: {self.inbox}")
        self._take_lock()
        relay = _LogRelay(self)
        wd_logger = logging.getLogger("watchdog")
        wd_logger.addHandler(relay)
        observer = self._start_observer()
        self._note("info", "start", f"watching {self.inbox} ({self.observer_kind}; settle {self.settle:g} s, "
                   f"rescan every {self.rescan:g} s); Ctrl-C to stop")
        worker = threading.Thread(target=self._work, name="archivist-watch", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.25)
        finally:
            self.stop_event.set()
            worker.join()
            if observer is not None:
                observer.stop()
                try:
                    observer.join(5)
                except RuntimeError:
                    pass
            self._release_lock()
            wd_logger.removeHandler(relay)
        if self.fatal is not None:
            raise self.fatal

    def _take_lock(self) -> None:
        """One watcher per inbox: two would race to move the same files (harmless for the log, noisy)."""
        fd = os.open(self.inbox / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise WatchError(f"another watcher is already watching {self.inbox}") from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _start_observer(self) -> BaseObserver | None:
        # watchdog's inotify observer warns when a folder it already watches (a new subfolder of .done/)
        # is added again; harmless (it replaces the watch), and noise on the watcher's stderr.
        warnings.filterwarnings("ignore", message=r"Callback with id .* already exists", category=RuntimeWarning)
        handler = _Feed(self)
        observer: BaseObserver
        if self.poll:
            observer = PollingObserverVFS(os.lstat, self._listdir, polling_interval=self.poll)
            self.observer_kind = f"polling every {self.poll:g} s"
        else:
            observer = Observer()
            self.observer_kind = "native"
        try:
            observer.schedule(handler, str(self.inbox), recursive=True)
            observer.start()
        except OSError as exc:  # e.g. the inotify watch limit: rescans still find every file, only later
            self._note("warning", "observer", f"cannot watch for events ({exc}); polling every 2 s instead")
            observer = PollingObserverVFS(os.lstat, self._listdir, polling_interval=2)
            self.observer_kind = "polling every 2 s (fallback)"
            try:
                observer.schedule(handler, str(self.inbox), recursive=True)
                observer.start()
            except OSError as exc2:
                self._note("warning", "observer", f"cannot poll either ({exc2}); relying on rescans")
                self.observer_kind = f"rescans every {self.rescan:g} s only"
                return None
        return observer

    def _listdir(self, path: str | None) -> Iterator[os.DirEntry[str]]:
        """The polling observer's listing, without `.done/` and `.rejected/` (they only grow)."""
        with os.scandir(path) as it:
            for entry in it:
                if Path(entry.path) not in self._skip_dirs:
                    yield entry

    # --- feeding --------------------------------------------------------------------------------------------

    def offer(self, path: Path) -> None:
        """A path that may have appeared or changed (thread-safe; called by the observer)."""
        self._queue.put(path)

    def _relative(self, path: Path) -> Path | None:
        """`path` relative to the inbox, or None when it is outside it or under a skipped folder."""
        try:
            rel = path.relative_to(self.inbox)
        except ValueError:
            return None
        if not rel.parts or rel.parts[0] in (DONE, REJECTED_DIR) or rel.name == LOCK_NAME:
            return None
        return rel

    def _consider(self, path: Path) -> None:
        if path in self._pending:
            return
        rel = self._relative(path)
        if rel is None or any(p.startswith(".") for p in rel.parts[:-1]):
            return
        try:
            st = os.lstat(path)
        except OSError:
            return
        if stat.S_ISDIR(st.st_mode):
            for file in files_under(path):
                self._add_pending(file)
        elif is_candidate(path):
            self._add_pending(path, st)

    def _add_pending(self, path: Path, st: os.stat_result | None = None) -> None:
        if path in self._pending:
            return
        if st is None:
            try:
                st = os.lstat(path)
            except OSError:
                return
        self._pending[path] = _Pending(_sig(st), time.monotonic())

    def scan(self) -> None:
        """Pick up everything in the inbox (at start, and periodically for events the observer missed)."""
        for path in files_under(self.inbox):
            self._add_pending(path)

    # --- the worker -----------------------------------------------------------------------------------------

    def _work(self) -> None:
        tick = min(0.1, self.settle / 3) if self.settle else 0.05
        next_rescan = 0.0
        try:
            while not self.stop_event.is_set():
                try:
                    self._consider(self._queue.get(timeout=tick))
                    while True:
                        self._consider(self._queue.get_nowait())
                except queue.Empty:
                    pass
                now = time.monotonic()
                if now >= next_rescan:
                    if not self.inbox.is_dir():
                        self._note("error", "inbox", f"the inbox {self.inbox} is gone; waiting for it")
                    else:
                        self._retry_failed(now)
                        self.scan()
                    next_rescan = now + self.rescan
                ready = self._ready(time.monotonic())
                if len(ready) <= self.batch_files:
                    if ready:
                        self._process(ready)  # the append brings the index up to date at once
                    continue
                # A burst: the index catches up every few seconds instead of after every batch.
                caught_up = time.monotonic()
                with self.archive.bulk():
                    try:
                        for i in range(0, len(ready), self.batch_files):
                            if self.stop_event.is_set():
                                break
                            self._process(ready[i:i + self.batch_files])
                            if time.monotonic() - caught_up >= INDEX_LAG:
                                self._catch_up_index()
                                caught_up = time.monotonic()
                    finally:
                        self._catch_up_index()
        except errors.IntegrityError as exc:
            self.fatal = exc
            self._note("error", "integrity", f"the log refuses writes, stopping: {exc}")
        except BaseException as exc:  # the worker must never die silently
            self.fatal = errors.ArchivistError(f"watcher failed: {type(exc).__name__}: {exc}")
            self._note("error", "internal", str(self.fatal))
        finally:
            self.stop_event.set()

    def _catch_up_index(self) -> None:
        try:
            self.archive.catch_up_index()
        except errors.IntegrityError:
            raise
        except Exception as exc:  # a projection: the next append or search catches up again
            self._note("error", "index", f"cannot bring the index up to date: {_describe(exc)}")

    def _retry_failed(self, now: float) -> None:
        for path, (_, not_before) in list(self._failed.items()):
            if now >= not_before:
                del self._failed[path]

    def _ready(self, now: float) -> list[Path]:
        """Paths unchanged for the settle delay, oldest first; vanished ones are forgotten quietly."""
        ready = []
        for path, p in list(self._pending.items()):
            try:
                sig = _sig(os.lstat(path))
            except OSError:
                del self._pending[path]
                continue
            if sig != p.sig:
                p.sig, p.since = sig, now
                continue
            if now - p.since < self.settle:
                continue
            failed = self._failed.get(path)
            if failed is not None and failed[0] == sig:
                del self._pending[path]  # failed as it is; the next rescan tries it again
                continue
            ready.append(path)
        return ready

    def _process(self, paths: Sequence[Path]) -> None:
        """Ingest `paths` in one append, then move each; on any failure, fall back to one file at a time."""
        todo: list[tuple[Path, str, tuple[str, ...], Signature]] = []
        for path in paths:
            entry = self._pending.pop(path, None)
            rel = self._relative(path)
            if entry is None or rel is None:
                continue
            name = rel.as_posix()
            tags = tuple(folder_tag(x) for x in rel.parts[:-1])
            todo.append((path, name, tags, entry.sig))
        if not todo:
            return
        if len(todo) > 1:
            try:
                self._commit(todo)
                return
            except errors.IntegrityError:
                raise
            except Exception as exc:
                self._note("warning", "batch", f"a batch of {plural(len(todo), 'file')} failed ({_describe(exc)}); "
                           "taking them one at a time")
        for item in todo:
            if self.stop_event.is_set():
                break
            try:
                self._commit([item])
            except errors.IntegrityError:
                raise
            except Exception as exc:
                path, name, _, sig = item
                self._failed[path] = (sig, time.monotonic() + self.rescan)
                self._note("error", "ingest", f"{_describe(exc)}; will retry at the next rescan", file=name)

    def _commit(self, todo: Sequence[tuple[Path, str, tuple[str, ...], Signature]]) -> None:
        ing = Ingestor(self.archive, via="watch", max_bytes=self.max_bytes, batch_files=len(todo) + 1,
                       max_warc_bytes=self.max_warc_bytes)
        outcomes: dict[str, FileOutcome] = {}
        taken: list[tuple[Path, str, tuple[str, ...], Signature]] = []
        for item in todo:
            path, name, tags, sig = item
            if self.stop_event.is_set() and taken:
                break  # finish what is queued, leave the rest for the next run
            try:
                immediate = ing.add_file(path, tags, name=name, within=self.inbox)
            except errors.InputRejected as exc:
                if isinstance(exc.__cause__, FileNotFoundError | NotADirectoryError):
                    continue  # vanished mid-way: not ours to report
                self._reject_locally(path, Path(name), tags, _strip_path(str(exc), path))
                continue
            if immediate is not None:
                outcomes[name] = immediate
            taken.append(item)
        ing.flush()
        for committed in ing.done:
            outcomes[committed.file] = committed
        for path, name, tags, sig in taken:
            outcome = outcomes.get(name)
            if outcome is not None:  # always: every queued file is committed, or flush raised
                self._finish(path, Path(name), tags, sig, outcome)

    def _finish(self, path: Path, rel: Path, tags: tuple[str, ...], sig: Signature, o: FileOutcome) -> None:
        result, reason = o.result, o.reason
        try:
            now_sig = _sig(os.lstat(path))
        except OSError:
            now_sig = None
        if now_sig is not None and now_sig != sig:
            # Written to again after we read it: leave it; the new bytes are ingested once they settle.
            self._add_pending(path)
            return
        out = WatchOutcome(file=rel.as_posix(), result=result, digest=o.digest, articles=list(o.articles),
                           new=o.new, revised=o.revised, unchanged=o.unchanged, relocations=o.relocations,
                           reason=reason, tags=list(tags), known=o.known, at=_now(), pages=o.pages,
                           duplicates=o.duplicates, skipped=dict(o.skipped))
        if now_sig is not None:
            try:
                if result == REJECTED:
                    out.moved_to = self._move(path, rel, REJECTED_DIR, reason=reason or "", digest=o.digest)
                else:
                    out.moved_to = self._move(path, rel, DONE)
            except OSError as exc:
                self._failed[path] = (sig, time.monotonic() + self.rescan)
                self._note("error", "move", f"recorded, but cannot move it out of the inbox: {_describe(exc)}; "
                           "will retry at the next rescan", file=out.file)
        self.report(out)

    def _reject_locally(self, path: Path, rel: Path, tags: tuple[str, ...], reason: str) -> None:
        """Rejected without a log event: there are no bytes we could read (a link, an unreadable file)."""
        out = WatchOutcome(file=rel.as_posix(), result=REJECTED, digest="", reason=reason, tags=list(tags),
                           at=_now())
        try:
            out.moved_to = self._move(path, rel, REJECTED_DIR, reason=reason, digest="")
        except FileNotFoundError:
            return
        except OSError as exc:
            try:
                self._failed[path] = (_sig(os.lstat(path)), time.monotonic() + self.rescan)
            except OSError:
                pass
            self._note("error", "move", f"rejected ({reason}), but cannot move it: {_describe(exc)}",
                       file=out.file)
        self.report(out)

    # --- moving ---------------------------------------------------------------------------------------------

    def _move(self, path: Path, rel: Path, folder: str, *, reason: str | None = None,
              digest: str = "") -> str:
        """Move `path` to `inbox/folder/rel`, adding `.1`, `.2`… on a clash (never overwriting); for a
        rejected file, write `NAME.reason.txt` beside it first. Returns the new path relative to the inbox."""
        target_dir = self.inbox / folder / rel.parent
        target_dir.mkdir(parents=True, exist_ok=True)
        # Room for `.N` and `.reason.txt`: a name near the 255-byte limit is shortened (its note keeps it).
        base = _fit_name(rel.name, 6 + (len(REASON_SUFFIX) if reason is not None else 0))
        stem, suffix = _split(base)
        n = 0
        while True:
            name = base if n == 0 else f"{stem}.{n}{suffix}"
            target = target_dir / name
            note = target_dir / (name + REASON_SUFFIX)
            if not os.path.lexists(target) and (reason is None or not os.path.lexists(note)):
                break
            n += 1
        if reason is not None:
            text = f"{reason}\n\nfile: {rel.as_posix()}\n" + (f"sha256: {digest}\n" if digest else "") + \
                f"rejected at: {_now().isoformat(timespec='seconds')}\n"
            note.write_text(text, encoding="utf-8")
        os.rename(path, target)  # same folder tree: atomic; the watcher's lock keeps others out of .done
        return target.relative_to(self.inbox).as_posix()

    # --- logging --------------------------------------------------------------------------------------------

    def _note(self, level: str, event: str, message: str, *, file: str | None = None) -> None:
        try:
            self.log(WatchLog(level=level, event=event, message=message, file=file, at=_now()))
        except Exception:
            pass


class _LogRelay(logging.Handler):
    """watchdog's own warnings (a network share briefly unreachable…) become our structured lines; what it
    says while being stopped is noise."""

    def __init__(self, watcher: Watcher) -> None:
        super().__init__(logging.WARNING)
        self.watcher = watcher

    def emit(self, record: logging.LogRecord) -> None:
        if self.watcher.stop_event.is_set():
            return
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        self.watcher._note("warning" if record.levelno < logging.ERROR else "error", "observer", message)


class _Feed(FileSystemEventHandler):
    """Observer events become paths for the worker; deletions are of no interest."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("deleted", "opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type not in ("created", "moved"):
            return  # a folder's own changes: its files report themselves
        raw = event.dest_path if event.event_type == "moved" else event.src_path
        path = os.fsdecode(raw)
        if path:
            self.watcher.offer(Path(path))


def _sig(st: os.stat_result) -> Signature:
    return (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino)


NAME_MAX = 255  # bytes in one file name (ext4, xfs, btrfs, tmpfs)


def _fit_name(name: str, room: int) -> str:
    """`name`, or when it and `room` more bytes would not fit in a file name, its start, a hash of the
    whole name and its suffix (unchanged names stay unchanged)."""
    limit = NAME_MAX - room
    if len(os.fsencode(name)) <= limit:
        return name
    stem, suffix = _split(name)
    if len(os.fsencode(suffix)) > 16:
        stem, suffix = name, ""
    mark = "~" + hashlib.sha256(os.fsencode(name)).hexdigest()[:10]
    budget = limit - len(os.fsencode(suffix)) - len(mark)
    while len(os.fsencode(stem)) > budget:
        stem = stem[:-1]
    return stem + mark + suffix


def _split(name: str) -> tuple[str, str]:
    dot = name.rfind(".")
    return (name[:dot], name[dot:]) if dot > 0 else (name, "")


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, errors.ArchivistError | OSError) and str(exc) else \
        f"{type(exc).__name__}: {exc}"


def _strip_path(message: str, path: Path) -> str:
    return message.removeprefix(f"{path}: ")


def install_signal_handlers(watcher: Watcher) -> Callable[[], None]:
    """SIGINT and SIGTERM stop the watcher after the file in hand; a second one exits at once (safe too:
    an append is all-or-nothing and a file is only moved after its append). Returns a function that
    restores the previous handlers."""
    import signal

    previous: dict[int, Any] = {}

    def handler(signum: int, frame: object) -> None:
        if watcher.stop_event.is_set():
            os._exit(128 + signum)
        watcher.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)

    def restore() -> None:
        for sig, h in previous.items():
            signal.signal(sig, h)

    return restore
