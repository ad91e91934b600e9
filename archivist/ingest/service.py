"""Turning dropped files into sources for the archive — exactly once, with the original bytes kept.

Here files are found, read, deduplicated by digest and parsed; the `Archive` facade records them
(`Archive.record_sources`, see `archivist/recording.py`): bytes durable first, then ONE atomic append per
batch of files (group commit), so a bulk load costs one fsync per batch instead of one per file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from archivist import errors
from archivist.ingest.crawl import Progress, record_crawl
from archivist.ingest.model import Rejected
from archivist.ingest.paths import Refused, open_dropped, read_all
from archivist.ingest.paths import walk as walk  # the CLI's and the benchmarks' way in
from archivist.ingest.registry import MAX_BYTES, human_size, parse
from archivist.ingest.warc import MAX_WARC_BYTES, is_warc
from archivist.recording import SourceFile, parsed_article_id, repeat_outcome
from archivist.results import DUPLICATE, INGESTED, REJECTED, REVISED, FileOutcome, IngestSummary
from store.blobs import BlobError

if TYPE_CHECKING:
    from archivist.archive import Archive

__all__ = ["DUPLICATE", "INGESTED", "REJECTED", "REVISED", "FileOutcome", "IngestSummary", "Ingestor", "walk"]

# A file over the size limit is still recorded as rejected with its bytes kept (`verify` expects every
# source's bytes) — unless it is larger than this, when it is refused without a record.
KEEP_OVERSIZED = 256 * 1024 * 1024


class Ingestor:
    """Reads and parses files, and hands them to the archive (`Archive.record_sources`) in batches."""

    def __init__(self, archive: Archive, *, via: str = "cli", max_bytes: int = MAX_BYTES,
                 batch_files: int = 200, actor: str | None = None, max_warc_bytes: int = MAX_WARC_BYTES,
                 warc_progress: Progress | None = None) -> None:
        self.archive = archive
        self.via = via
        self.max_bytes = max_bytes
        self.max_warc_bytes = max_warc_bytes
        self.warc_progress = warc_progress  # (bytes done, bytes total) while a WARC crawl is recorded
        self.batch_files = batch_files
        self.actor = actor
        self._pending: list[SourceFile] = []
        self.done: list[FileOutcome] = []  # committed outcomes not yet reported
        self._pending_ids: set[str] = set()
        self._pending_digests: dict[str, str | None] = {}  # digest -> the rejection reason, if rejected

    # --- one file -----------------------------------------------------------------------------------------

    def add_file(self, path: Path, tags: Sequence[str] = (), *, name: str | None = None,
                 within: Path | None = None) -> FileOutcome | None:
        """Queue one file; returns its outcome when it was decided without an append (a duplicate, or bytes
        rejected before). Raises `InputRejected`, with nothing read or recorded, for a path that is not a
        regular file (a FIFO, a device, a link — see `paths.open_dropped`) or cannot be read."""
        name = name or path.name
        try:
            fd, st = open_dropped(path, within)
        except Refused as exc:
            raise errors.InputRejected(f"{path}: {exc.reason}") from exc
        except OSError as exc:
            raise errors.InputRejected(f"{path}: cannot be read: {exc.strerror or exc}") from exc
        size = st.st_size
        if is_warc(name):
            return self._add_crawl(path, fd, size, name, tags)
        if size > max(self.max_bytes, KEEP_OVERSIZED):
            os.close(fd)
            raise errors.InputRejected(
                f"{path}: file is {size / 1e6:.0f} MB, over the {self.max_bytes / 1e6:.0f} MB limit and too "
                "large to keep; not recorded")
        try:
            data = read_all(fd)  # over the limit but keepable: rejected by `parse`, bytes kept
        except OSError as exc:
            raise errors.InputRejected(f"{path}: cannot be read: {exc.strerror or exc}") from exc
        return self.add_bytes(name, data, tags, size=size)

    def _add_crawl(self, path: Path, fd: int, size: int, name: str, tags: Sequence[str]) -> FileOutcome:
        """A WARC crawl: recorded at once in its own batches (see `crawl.record_crawl`), after the files
        queued before it; returns its committed outcome."""
        with os.fdopen(fd, "rb") as f:
            if size > self.max_warc_bytes:
                raise errors.InputRejected(
                    f"{path}: crawl is {human_size(size)}, over the {human_size(self.max_warc_bytes)} limit for "
                    "WARC files (--max-warc-gb); not recorded")
            self.flush()
            try:
                return record_crawl(self.archive, f, name=name, size=size, via=self.via, tags=tags,
                                    actor=self.actor, max_page_bytes=self.max_bytes, progress=self.warc_progress)
            except BlobError:
                raise
            except OSError as exc:
                raise errors.InputRejected(f"{path}: cannot be read: {exc.strerror or exc}") from exc

    def add_bytes(self, name: str, data: bytes | tuple[str, int], tags: Sequence[str] = (),
                  *, size: int | None = None) -> FileOutcome | None:
        if isinstance(data, tuple):  # too large to keep: digest of the whole, bytes left where they are
            digest, size = data
            if (known := self._known(name, digest)) is not None:
                return known
            self._reject(name, digest, size,
                         f"file is {size / 1e6:.1f} MB; the limit is {self.max_bytes / 1e6:.0f} MB", keep=None)
            return None
        digest = hashlib.sha256(data).hexdigest()
        if (known := self._known(name, digest)) is not None:
            return known
        try:
            result = parse(name, data, max_bytes=self.max_bytes)
        except Rejected as exc:
            self._reject(name, digest, len(data), exc.reason, keep=data)
            return None
        ids = {parsed_article_id(a) for a in result.articles}
        if ids & self._pending_ids or (any(not r.prefix for r in result.relocations) and self._pending):
            # The same article twice in one batch, or redirects that may name an article of this batch:
            # commit what is queued first, so the plan below sees it.
            self.flush()
        self.archive.keep_bytes(data)
        self._queue(SourceFile(name=name, digest=digest, size=len(data), via=self.via, result=result,
                               tags=tuple(tags)), ids)
        return None

    def _known(self, name: str, digest: str) -> FileOutcome | None:
        """The outcome for bytes the log (or this batch) already has (see `recording.repeat_outcome`)."""
        if digest in self._pending_digests:
            return repeat_outcome(name, digest, self._pending_digests[digest])
        src = self.archive.source(digest)
        return None if src is None else repeat_outcome(name, digest, src.rejected)

    def _reject(self, name: str, digest: str, size: int, reason: str, keep: bytes | None) -> None:
        if keep is not None:
            self.archive.keep_bytes(keep)
        else:
            reason += " (bytes not kept in the archive)"
        self._queue(SourceFile(name=name, digest=digest, size=size, via=self.via, reason=reason), set())
        return None

    def _queue(self, source: SourceFile, ids: set[str]) -> None:
        self._pending.append(source)
        self._pending_ids |= ids
        self._pending_digests[source.digest] = source.reason if source.result is None else None

    # --- committing -----------------------------------------------------------------------------------------

    def flush(self) -> list[FileOutcome]:
        """Commit every queued file in one append (see `Archive.record_sources`)."""
        pending, self._pending = self._pending, []
        self._pending_ids.clear()
        self._pending_digests.clear()
        outcomes = self.archive.record_sources(pending, actor=self.actor)
        self.done.extend(outcomes)
        return outcomes

    def run(self, files: Iterable[tuple[Path, Sequence[str]]],
            progress: Callable[[FileOutcome], None] | None = None) -> IngestSummary:
        """Ingest `files` as one bulk load: the index catches up once, at the end."""
        summary = IngestSummary()

        def report(outcomes: Iterable[FileOutcome]) -> None:
            for o in outcomes:
                summary.add(o)
                if progress:
                    progress(o)

        with self.archive.bulk():
            self._run(files, report)
        return summary

    def _run(self, files: Iterable[tuple[Path, Sequence[str]]],
             report: Callable[[Iterable[FileOutcome]], None]) -> None:
        for path, tags in files:
            try:
                immediate = self.add_file(path, tags, name=path.name)
            except errors.InputRejected as exc:
                immediate = FileOutcome(file=str(path), digest="", result=REJECTED,
                                        reason=str(exc).removeprefix(f"{path}: "))
            if immediate is not None:
                self.done.append(immediate)
            if len(self._pending) >= self.batch_files:
                self.flush()
            report(self.done)
            self.done = []
        self.flush()
        report(self.done)
        self.done = []

    def run_one(self, path: Path, tags: Sequence[str] = (), *, name: str | None = None) -> FileOutcome:
        """One file, committed before returning (the watcher's unit of work)."""
        immediate = self.add_file(path, tags, name=name)
        outcomes = [immediate] if immediate is not None else self.flush()
        self.done = []
        return outcomes[-1]


def _read_prefix_digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size
