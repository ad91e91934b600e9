"""Turning dropped files into events — exactly once, with the original bytes kept.

For each file: the bytes go to the blob store first (durable), then ONE atomic append carries the
`SourceReceived` (or `SourceRejected`) with every article event the file implies. A crash before that append
leaves only a blob, and the next attempt redoes the file; a crash after it leaves a complete record, and the
next attempt sees the digest and appends nothing. Many files go in one batch (group commit) when ingesting
folders, so a bulk load costs one fsync per batch instead of one per file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import msgspec

from archivist import errors
from archivist.addresses import url_key
from archivist.archive import Archive, article_id_for, identity_key
from archivist.ingest.model import ParsedArticle, ParseResult, Rejected
from archivist.ingest.paths import Refused, open_dropped, read_all
from archivist.ingest.paths import walk as walk  # the CLI's and the benchmarks' way in
from archivist.ingest.registry import MAX_BYTES, parse
from archivist.state import ARCHIVED, LIVE, WITHDRAWN
from store import events as ev
from store.log import NO_STREAM, AppendRequest

INGESTED, REVISED, DUPLICATE, REJECTED = "ingested", "revised", "duplicate", "rejected"
# A file over the size limit is still recorded as rejected with its bytes kept (`verify` expects every
# source's bytes) — unless it is larger than this, when it is refused without a record.
KEEP_OVERSIZED = 256 * 1024 * 1024


class FileOutcome(msgspec.Struct, kw_only=True):
    file: str
    digest: str
    result: str  # ingested / revised / duplicate / rejected
    articles: list[str] = []  # ids of articles created or changed
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    relocations: int = 0
    reason: str | None = None
    known: bool = False  # the log already had these bytes: a re-drop (rejected again with its first reason)


class IngestSummary(msgspec.Struct, kw_only=True):
    files: int = 0
    ingested: int = 0  # new articles
    revised: int = 0
    duplicate: int = 0  # files (or records) that added nothing
    rejected: int = 0
    relocations: int = 0
    outcomes: list[FileOutcome] = []

    def add(self, o: FileOutcome) -> None:
        self.files += 1
        self.ingested += o.new
        self.revised += o.revised
        self.relocations += o.relocations
        if o.result == REJECTED:
            self.rejected += 1
        elif o.result == DUPLICATE:
            self.duplicate += 1
        self.outcomes.append(o)


class Ingestor:
    """Plans the events for files and commits them in batches."""

    def __init__(self, archive: Archive, *, via: str = "cli", max_bytes: int = MAX_BYTES,
                 batch_files: int = 200, actor: str | None = None) -> None:
        self.archive = archive
        self.via = via
        self.max_bytes = max_bytes
        self.batch_files = batch_files
        self.actor = actor
        self._pending: list[tuple[FileOutcome, list[AppendRequest], Callable[[], tuple[FileOutcome, list[AppendRequest]]]]] = []
        self.done: list[FileOutcome] = []  # committed outcomes not yet reported
        self._pending_ids: set[str] = set()
        self._pending_digests: dict[str, str | None] = {}  # digest -> the rejection reason, if rejected
        self._pending_portals: set[tuple[str, str]] = set()  # prefix rules queued (pages of one old portal)

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
        ids = {self._identity(a)[0] for a in result.articles}
        if ids & self._pending_ids or (any(not r.prefix for r in result.relocations) and self._pending):
            # The same article twice in one batch, or redirects that may name an article of this batch:
            # commit what is queued first, so the plan below sees it.
            self.flush()
        self.archive.blobs.put(data, sync=False)

        def plan() -> tuple[FileOutcome, list[AppendRequest]]:
            self.archive.refresh()
            return self._plan(name, digest, len(data), result, tags)

        outcome, requests = plan()
        self._queue(outcome, requests, ids, plan)
        return None

    def _known(self, name: str, digest: str) -> FileOutcome | None:
        """The outcome for bytes the log (or this batch) already has: a duplicate, or — for bytes that were
        rejected — rejected again with the first reason, so a script retrying learns why."""
        if digest in self._pending_digests:
            reason = self._pending_digests[digest]
        else:
            src = self.archive.refresh().sources.get(digest)
            if src is None:
                return None
            reason = src.rejected
        if reason is not None:
            return FileOutcome(file=name, digest=digest, result=REJECTED, reason=reason, known=True)
        return FileOutcome(file=name, digest=digest, result=DUPLICATE, known=True)

    def _reject(self, name: str, digest: str, size: int, reason: str, keep: bytes | None) -> None:
        if keep is not None:
            self.archive.blobs.put(keep, sync=False)
        else:
            reason += " (bytes not kept in the archive)"
        outcome = FileOutcome(file=name, digest=digest, result=REJECTED, reason=reason)
        event = ev.SourceRejected(digest=digest, file_name=name, reason=reason, size=size, via=self.via)
        requests = [AppendRequest(ev.source_stream(digest), [event])]
        self._queue(outcome, requests, set(), lambda: (outcome, requests))
        return None

    def _queue(self, outcome: FileOutcome, requests: list[AppendRequest], ids: set[str],
               plan: Callable[[], tuple[FileOutcome, list[AppendRequest]]]) -> None:
        self._pending.append((outcome, requests, plan))
        self._pending_ids |= ids
        self._pending_digests[outcome.digest] = outcome.reason if outcome.result == REJECTED else None

    def _identity(self, a: ParsedArticle) -> tuple[str, str]:
        key = identity_key(url=a.url, title=a.title, published=a.published, publisher=a.publisher, body=a.body)
        return article_id_for(key), key

    def _plan(self, name: str, digest: str, size: int, result: ParseResult,
              folder_tags: Sequence[str]) -> tuple[FileOutcome, list[AppendRequest]]:
        st = self.archive.state
        outcome = FileOutcome(file=name, digest=digest, result=DUPLICATE)
        requests = [AppendRequest(ev.source_stream(digest), [
            ev.SourceReceived(digest=digest, file_name=name, size=size, via=self.via)])]
        seen_here: set[str] = set()
        for art in result.articles:
            aid, _ = self._identity(art)
            if aid in seen_here:
                continue  # the same article twice in one file: the first wins
            seen_here.add(aid)
            tags = list(dict.fromkeys(t for t in (*art.tags, *folder_tags) if t))
            existing = st.articles.get(aid)
            if existing is None:
                events: list[ev.Event] = [ev.ArticlePublished(
                    title=art.title, body=art.body, url=art.url, published=art.published,
                    publisher=art.publisher, source=digest)]
                events += self._status_events(art, LIVE, art.url, digest)
                events += [ev.ArticleTagged(tag=t, source=digest) for t in _tags(tags)]
                requests.append(AppendRequest(aid, events, NO_STREAM))
                outcome.new += 1
                outcome.articles.append(aid)
                continue
            events = []
            current = self.archive.log.get(existing.content_position).event
            assert isinstance(current, ev.ArticlePublished | ev.ArticleRevised)
            if (art.title, art.body, art.published, art.publisher) != (
                    current.title, current.body, current.published, current.publisher):
                events.append(ev.ArticleRevised(title=art.title, body=art.body, url=existing.url,
                                                published=art.published, publisher=art.publisher, source=digest))
                outcome.revised += 1
            events += self._status_events(art, existing.status, existing.url, digest)
            events += [ev.ArticleTagged(tag=t, source=digest) for t in _tags(tags) if t not in existing.tags]
            if events:
                requests.append(AppendRequest(aid, events, existing.version))
                outcome.articles.append(aid)
            else:
                outcome.unchanged += 1
        for rel in result.relocations:
            event = self._relocation(rel.from_url, rel.to_url, rel.prefix, digest)
            if event is not None:
                requests.append(event)
                outcome.relocations += 1
        outcome.result = INGESTED if outcome.new else REVISED if outcome.revised else (
            INGESTED if outcome.articles or outcome.relocations else DUPLICATE)
        return outcome, requests

    @staticmethod
    def _status_events(art: ParsedArticle, status: str, url: str | None, digest: str) -> list[ev.Event]:
        out: list[ev.Event] = []
        if (art.archived_reason or art.status == ARCHIVED) and status != ARCHIVED:
            out.append(ev.ArticleArchived(reason=art.archived_reason or "", source=digest))
        elif art.status == WITHDRAWN and status != WITHDRAWN:
            out.append(ev.ArticleWithdrawn(reason="withdrawn in the source record", source=digest))
        if art.relocated_to and (url is None or url_key(art.relocated_to) != url_key(url)):
            out.append(ev.ArticleRelocated(from_url=url, to_url=art.relocated_to, source=digest))
        return out

    def _relocation(self, from_url: str, to_url: str, prefix: bool, digest: str) -> AppendRequest | None:
        st = self.archive.state
        holders = [] if prefix else st.by_url.get(url_key(from_url), [])
        living = [i for i in holders if url_key(st.articles[i].url or "") == url_key(from_url)]
        candidates = living or holders  # the article at that address now, else the one that lived there
        aid = candidates[0] if len(candidates) == 1 else None
        if aid is not None:
            a = st.articles[aid]
            if a.url and url_key(a.url) == url_key(to_url):
                return None
            return AppendRequest(aid, [ev.ArticleRelocated(from_url=a.url, to_url=to_url, source=digest)])
        rule_key = (url_key(from_url), url_key(to_url))
        if rule_key in self._pending_portals or any(
                (url_key(r.from_prefix), url_key(r.to_prefix)) == rule_key for r in st.portals):
            return None
        self._pending_portals.add(rule_key)
        return AppendRequest(ev.portal_stream(url_key(from_url)), [ev.PortalRelocated(
            from_prefix=from_url, to_prefix=to_url, source=digest, keep_path=False)])

    # --- committing -----------------------------------------------------------------------------------------

    def flush(self) -> list[FileOutcome]:
        """Commit every queued file in one append. On a conflict — another process changed one of these
        articles meanwhile — each file is planned again against the fresh state and committed alone."""
        pending, self._pending = self._pending, []
        self._pending_ids.clear()
        self._pending_digests.clear()
        self._pending_portals.clear()
        if not pending:
            return []
        try:
            self.archive.blobs.sync()  # the original bytes are durable before any event points at them
        except OSError as exc:
            raise errors.IntegrityError(f"could not store the files durably ({exc}); nothing was recorded, "
                                        "ingest them again") from exc
        try:
            self.archive.append([r for _, reqs, _ in pending for r in reqs], actor=self.actor)
            outcomes = [o for o, _, _ in pending]
        except errors.ConflictError:
            outcomes = [self._commit_alone(plan) for _, _, plan in pending]
        self.done.extend(outcomes)
        return outcomes

    def _commit_alone(self, plan: Callable[[], tuple[FileOutcome, list[AppendRequest]]]) -> FileOutcome:
        for _ in range(20):
            self._pending_portals.clear()  # alone, against the log: nothing is queued beside this file
            outcome, requests = plan()
            if (known := self._known(outcome.file, outcome.digest)) is not None:
                return known
            try:
                self.archive.append(requests, actor=self.actor)
                return outcome
            except errors.ConflictError:
                continue
        raise errors.ConflictError("gave up after 20 conflicting attempts: the articles keep changing")

    def run(self, files: Iterable[tuple[Path, Sequence[str]]],
            progress: Callable[[FileOutcome], None] | None = None) -> IngestSummary:
        summary = IngestSummary()

        def report(outcomes: Iterable[FileOutcome]) -> None:
            for o in outcomes:
                summary.add(o)
                if progress:
                    progress(o)

        deferred, self.archive.defer_index = self.archive.defer_index, True
        try:
            self._run(files, report)
        finally:
            self.archive.defer_index = deferred
        try:
            self.archive.catch_up_index()  # once, at the end: a bulk load is one stretch of the log
        except Exception as exc:  # noqa: BLE001 -- every file is recorded: the next search catches up
            self.archive.index_error = exc
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


def _tags(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for t in tags:
        t = " ".join(t.split()).lower()[:100]
        if t and t not in out:
            out.append(t)
    return out


def _read_prefix_digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size
