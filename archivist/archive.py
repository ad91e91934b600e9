"""The `Archive` facade: the Python API, and what the CLI, the watcher and the TUI stand on.

Every change is an event appended to the log; every answer comes from a projection of the log (the article
state here, the search index in `index/`). Before answering, a projection catches up with the log, so a
reader sees everything acknowledged before it asked — whichever process appended it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

import msgspec

from archivist import errors, permissions
from archivist.addresses import AddressError, normalize_url, url_key
from archivist.ingest.registry import MAX_BYTES
from archivist.recording import SourceFile, record_sources
from archivist.resolver import moved_links, resolve
from archivist.results import (
    ArticleDiff,
    ArticleView,
    FileOutcome,
    HistoryEntry,
    IngestSummary,
    MovedLink,
    Resolution,
    Stats,
    VerifyReport,
    VersionRef,
    summarize,
)
from archivist.state import (
    ARCHIVED,
    LIVE,
    STATUSES,
    WITHDRAWN,
    ArchiveState,
    ArticleState,
    SourceState,
    load_snapshot,
    save_snapshot,
)
from archivist.transfer import export, import_
from archivist.verify import verify
from archivist.versions import diff, versions
from index.projection import SearchIndex
from index.query import QueryError as _IndexQueryError
from index.searching import SearchResults, search, suggest
from store import events as ev
from store.article import (
    TAG_MAX_CHARS,
    article_id_for,
    identity_key,
    normalize_tag,
    normalize_title,
)
from store.blobs import BlobStore
from store.days import end_of_day, first_day
from store.log import (
    ANY,
    NO_STREAM,
    AppendRequest,
    ConflictError,
    FileLog,
    Log,
    LogError,
    record_hash,
)

ENV_ARCHIVE = "ARCHIVIST_ARCHIVE"
SNAPSHOT_EVERY = 20_000  # events replayed beyond the last snapshot before a new one is written
SNAPSHOT_TAIL = 1_000  # a first load that replayed this many events past the snapshot writes a new one


def default_archive_path() -> Path:
    if os.environ.get(ENV_ARCHIVE):
        return Path(os.environ[ENV_ARCHIVE])
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "archivist"


def default_actor(via: str = "api") -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{via}:{user}"




class Archive:
    """One archive folder: log (truth), blobs (original bytes), projections (state, index)."""

    def __init__(self, root: Path, log: Log, blobs: BlobStore, *, actor: str, readonly: bool = False) -> None:
        self.root = root
        self.readonly = readonly  # this user may only read (see `permissions.may_write`): nothing is written
        self.log = log
        self.blobs = blobs
        self.actor = actor
        self._state: ArchiveState | None = None  # loaded on first use (`state`): a search never needs it
        self._snapshot_at = 0  # the position of the snapshot last loaded or saved
        self._lock = threading.RLock()
        self._index: SearchIndex | None = None
        self._as_of_cache: dict[tuple[dt.date, int], ArchiveState] = {}
        self.clock: Any = ev.utcnow  # the recorded clock; tests set it to build histories across dates
        self.defer_index = False  # bulk loads catch the index up once at the end, not after every batch
        self.index_error: Exception | None = None  # the last index catch-up after an append that failed
        self._snapshot_path = root / "state" / "articles.snapshot"
        self._umask_set = False  # `open` applied the archive's permission rule (see `archivist.permissions`)

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, actor: str | None = None,
             create: bool = True, group: str | None = None, readonly: bool | None = None) -> Archive:
        """Open the archive at `path`, creating it (private to its owner, or shared with `group`) when
        `create` allows; see `archivist.permissions`. `readonly`: open it only to read (nothing is written,
        no lock is taken; see `require_writable`) -- by default, when this user may not write it."""
        root = Path(path) if path is not None else default_archive_path()
        if root.exists() and not root.is_dir():
            raise errors.UsageError(f"{root} is a file, not an archive folder")
        if (not create or readonly) and not cls.exists(root):
            raise errors.NotFound(f"no archive at {root} (run `archivist init` first)")
        try:
            if group is not None or not cls.exists(root):
                permissions.make_root(root, group)
            permissions.enter(root)
        except NotADirectoryError:
            raise errors.UsageError(f"cannot create an archive at {root}: a part of that path is a file") from None
        except OSError as exc:
            raise errors.UsageError(f"cannot create an archive at {root}: {exc.strerror or exc}") from None
        try:
            if readonly is None:
                readonly = group is None and cls.exists(root) and not permissions.may_write(root)
            for sub in () if readonly else ("log", "blobs", "inbox"):
                (root / sub).mkdir(parents=True, exist_ok=True)
            archive = cls(root, FileLog(root / "log", readonly=readonly), BlobStore(root / "blobs"),
                          actor=actor or default_actor(), readonly=readonly)
        except BaseException:
            permissions.leave(root)
            raise
        archive._umask_set = True
        return archive

    @staticmethod
    def exists(path: str | os.PathLike[str]) -> bool:
        """Whether there is an archive at `path` (`archivist init` was run there)."""
        return (Path(path) / "log").is_dir()

    @classmethod
    def import_new(cls, path: str | os.PathLike[str], lines: IO[bytes], *, batch: int = 1000) -> int:
        """Import an export into the archive at `path`, which must be new or empty. When the import fails,
        what it created is removed again: a failed import leaves nothing behind."""
        root = Path(path)
        existed = cls.exists(root)
        before = set(root.iterdir()) if root.is_dir() else None
        try:
            with cls.open(root) as a:
                return a.import_(lines, batch=batch)
        except BaseException:
            if not existed:
                for made in [root] if before is None else sorted(set(root.iterdir()) - before):
                    if made.is_dir() and not made.is_symlink():
                        shutil.rmtree(made, ignore_errors=True)
                    else:
                        made.unlink(missing_ok=True)
            raise

    @property
    def group(self) -> str | None:
        """The group the archive is shared with, or None when only its owner may read it."""
        return permissions.group_of(self.root)

    @property
    def inbox(self) -> Path:
        """The default watched folder (`archivist watch` without a folder)."""
        return self.root / "inbox"

    def require_writable(self) -> None:
        """Refuse (one line, exit 2) before anything is read or kept when this user may only read."""
        if self.readonly:
            raise errors.ReadOnlyArchive(self.root)

    def head(self) -> int:
        """The log position of the last acknowledged event (0 for an empty archive)."""
        return self.log.head()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
        self.log.close()
        if self._umask_set:
            self._umask_set = False
            permissions.leave(self.root)

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- projection upkeep ----------------------------------------------------------------------------------

    @property
    def state(self) -> ArchiveState:
        """The article state. Loaded on first use — the snapshot, then the log past it — not by `open`: the
        search index catches up from the log itself, so opening to search never decodes the snapshot."""
        st = self._state
        if st is None:
            with self._lock:
                if self._state is None:
                    self._state = self._load_state()
                st = self._state
        return st

    def refresh(self) -> ArchiveState:
        """Catch the state up with the log (what other processes appended included)."""
        with self._lock:
            st = self.state
            head = self.log.head()
            if head > st.position:
                st.apply_all(self.log.read(after=st.position, until=head))
                if st.position - self._snapshot_at >= SNAPSHOT_EVERY and not self.readonly:
                    self._save_snapshot()
            return st

    def _load_state(self) -> ArchiveState:
        """Start from the last snapshot of the article state when it belongs to this log (its anchor, the
        hash of the record at its position, must match) and replay the tail past it. A long tail is saved
        as a new snapshot at once, so the next process replays little."""
        state = self._snapshot_state() or ArchiveState()
        self._state = state
        head = self.log.head()
        if head > state.position:
            state.apply_all(self.log.read(after=state.position, until=head))
            if state.position - self._snapshot_at >= min(SNAPSHOT_TAIL, SNAPSHOT_EVERY) and not self.readonly:
                self._save_snapshot()
        return state

    def _snapshot_state(self) -> ArchiveState | None:
        loaded = load_snapshot(self._snapshot_path)
        if loaded is None:
            return None
        state, anchor = loaded
        if not 0 < state.position <= self.log.head():
            return None
        for _, payload in self.log.read_raw(state.position - 1, state.position):
            if record_hash(payload) == anchor:
                self._snapshot_at = state.position
                return state
        return None

    def _save_snapshot(self) -> None:
        try:
            for _, payload in self.log.read_raw(self.state.position - 1, self.state.position):
                save_snapshot(self.state, self._snapshot_path, record_hash(payload))
                self._snapshot_at = self.state.position
        except OSError:
            pass  # a cache: the next open replays a little more

    def append(self, requests: Sequence[AppendRequest], *, actor: str | None = None) -> list[ev.Record]:
        """Append atomically, then bring every projection up to date (read-your-writes)."""
        self.require_writable()
        try:
            records = self.log.append_batch(requests, actor=actor or self.actor, recorded_at=self.clock())
        except ConflictError as exc:
            raise errors.ConflictError(str(exc)) from exc
        except LogError as exc:
            raise errors.IntegrityError(str(exc)) from exc
        self.refresh()
        if not self.defer_index:
            try:
                self.index.catch_up(records[-1].position)
            except Exception as exc:  # noqa: BLE001
                # The append is durable and acknowledged: the index is a projection, and the next search or
                # append catches it up (or reports why it cannot). Failing here would report a recorded
                # change as not done.
                self.index_error = exc
        return records

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """A bulk load: appends inside skip the index; it catches up once at the end. A failure to catch up is
        kept in `index_error`, not raised: every event is recorded, and the next search catches up."""
        deferred, self.defer_index = self.defer_index, True
        try:
            yield
        finally:
            self.defer_index = deferred
        try:
            self.catch_up_index()
        except Exception as exc:  # noqa: BLE001
            self.index_error = exc

    # --- ingest: files in (the CLI's `ingest`, the watcher, the demo) ---------------------------------------

    def ingest_files(self, files: Iterable[tuple[Path, Sequence[str]]], *, via: str = "api",
                     max_bytes: int = MAX_BYTES, actor: str | None = None,
                     progress: Callable[[FileOutcome], None] | None = None, max_warc_bytes: int | None = None,
                     warc_progress: Callable[[int, int], None] | None = None) -> IngestSummary:
        """Ingest files (each with the tags its folders give it) as one bulk load, in batches. WARC crawls
        have their own size limit (`max_warc_bytes`) and report `warc_progress(bytes done, bytes total)`."""
        from archivist.ingest.service import Ingestor
        from archivist.ingest.warc import MAX_WARC_BYTES

        self.require_writable()
        return Ingestor(self, via=via, max_bytes=max_bytes, actor=actor,
                        max_warc_bytes=max_warc_bytes or MAX_WARC_BYTES,
                        warc_progress=warc_progress).run(files, progress=progress)

    def keep_bytes(self, data: bytes) -> str:
        """Keep a file's original bytes (content-addressed); durable once `record_sources` returns."""
        return self.blobs.put(data, sync=False)

    def keep_file(self, f: BinaryIO, *, progress: Callable[[int], None] | None = None) -> tuple[str, int]:
        """Keep the rest of the open file `f` as a stream (a crawl too large to hold): (digest, size); durable
        once `record_sources` returns."""
        return self.blobs.put_file(f, sync=False, progress=progress)

    def knows_source(self, digest: str) -> bool:
        return digest in self.refresh().sources

    def source(self, digest: str) -> SourceState | None:
        return self.refresh().sources.get(digest)

    def record_sources(self, files: Sequence[SourceFile], *, actor: str | None = None) -> list[FileOutcome]:
        """Record a batch of kept, parsed (or rejected) files in one append; see `archivist.recording`."""
        return record_sources(self, files, actor=actor)

    # --- search -------------------------------------------------------------------------------------------

    @property
    def index(self) -> SearchIndex:
        """The search index projection, opened on first use (and rebuilt from the log if it is missing)."""
        with self._lock:
            if self._index is None:
                self._index = SearchIndex(self.root / "index", self.log, readonly=self.readonly)
            return self._index

    def search(self, text: str = "", **options: Any) -> SearchResults:
        """Search articles (see `index.searching.search` for the options); sees every acknowledged event."""
        ix = self.index
        ix.catch_up()
        try:
            return search(ix, text, body_of=self._body_of, **options)
        except _IndexQueryError as exc:
            raise errors.QueryError(str(exc)) from exc

    def index_lag(self) -> int:
        """Events the search index has not applied yet. Always 0 for a writer once a search has run (every
        search catches the index up first: read-your-writes); for a user who may only read, what the writers
        have not indexed yet -- such a user searches the index as they left it (`SearchIndex` read-only)."""
        return self.index.lag()

    def suggest(self, text: str) -> str | None:
        """"Did you mean": the query with each word the archive does not know replaced by its closest word."""
        ix = self.index
        ix.catch_up()
        return suggest(ix, text) if text.strip() else None

    def _body_of(self, position: int) -> str:
        return getattr(self.log.get(position).event, "body", "")

    def rebuild_index(self) -> int:
        self.require_writable()
        return self.index.rebuild()

    def catch_up_index(self) -> int:
        return self.index.catch_up()

    # --- looking things up ------------------------------------------------------------------------------------

    def state_at(self, as_of: dt.date | None = None) -> ArchiveState:
        """The article state now, or as the archive stood at the end of `as_of` (a UTC day, recorded time)."""
        if as_of is None:
            return self.refresh()
        head = self.log.head()
        key = (as_of, head)
        with self._lock:
            cached = self._as_of_cache.get(key)
            if cached is None:
                moment = end_of_day(as_of)
                cached = ArchiveState()
                cached.apply_all(r for r in self.log.read(until=head) if r.recorded_at <= moment)
                if len(self._as_of_cache) >= 4:
                    self._as_of_cache.pop(next(iter(self._as_of_cache)))
                self._as_of_cache[key] = cached
            return cached

    def article(self, article_id: str, as_of: dt.date | None = None) -> ArticleState:
        st = self.state_at(as_of)
        a = st.find(article_id)
        if a is None:
            candidates = sorted(k for k in self.refresh().articles if k.startswith(article_id)) \
                if len(article_id) >= 4 else []
            if len(candidates) > 1:
                raise errors.AmbiguousId(article_id, [(k, self.state.articles[k].title) for k in candidates])
            when = f" on {as_of}" if as_of else ""
            if as_of and self.refresh().find(article_id):
                raise errors.NotFound(f"article {article_id!r} was not in the archive yet{when}")
            raise errors.NotFound(f"no article {article_id!r}")
        return a

    def show(self, article_id: str, as_of: dt.date | None = None) -> ArticleView:
        a = self.article(article_id, as_of)
        content = self.log.get(a.content_position).event
        assert isinstance(content, ev.ArticlePublished | ev.ArticleRevised)
        return ArticleView(
            id=a.id, title=a.title, url=a.url, published=a.published, publisher=a.publisher, status=a.status,
            status_reason=a.status_reason, tags=list(a.tags), urls=list(a.urls), versions=a.versions,
            version=a.version, created_at=a.created_at, changed_at=a.changed_at, sources=list(a.sources),
            body=content.body,
        )

    def history(self, article_id: str) -> list[HistoryEntry]:
        a = self.article(article_id)
        out = []
        for pos in list(a.positions):
            r = self.log.get(pos)
            fields = msgspec.to_builtins(r.event)
            source = fields.get("source")
            src = self.state.sources.get(source) if source else None
            out.append(HistoryEntry(
                position=r.position, version=r.version, recorded_at=r.recorded_at, actor=r.actor,
                type=type(r.event).__name__, summary=summarize(r.event), source=source,
                source_file=src.file_name if src else None,
                event={k: v for k, v in fields.items() if k not in ("type", "body")},
            ))
        return out

    def resolve(self, url: str, as_of: dt.date | None = None) -> Resolution:
        """Follow article relocations and portal rules from `url` to the current address (or the one it had
        at the end of `as_of`)."""
        return resolve(self.state_at(as_of), url)

    def versions(self, article_id: str) -> list[VersionRef]:
        """Every content version of an article (publication and revisions), oldest first."""
        return versions(self.log, self.article(article_id))

    def diff(self, article_id: str, from_: int | dt.date | None = None,
             to: int | dt.date | None = None) -> ArticleDiff:
        """What changed in title and text between two content versions (numbers, or the version current at
        the end of a day). Defaults: the previous version against the latest."""
        def moment(ref: int | dt.date | None) -> int | dt.datetime | None:
            return end_of_day(ref) if isinstance(ref, dt.date) else ref

        return diff(self.log, self.article(article_id), moment(from_), moment(to))

    def links(self, as_of: dt.date | None = None) -> list[MovedLink]:
        """Archived articles whose recorded address has moved since, with where it lives now."""
        return moved_links(self.state_at(as_of))

    def articles(self) -> Iterator[ArticleState]:
        yield from list(self.refresh().articles.values())

    # --- recording what happened ------------------------------------------------------------------------------

    def publish(self, *, title: str, body: str, url: str | None = None, published: dt.date | None = None,
                publisher: str | None = None, source: str | None = None, tags: Sequence[str] = (),
                actor: str | None = None) -> str:
        """Record a new article; its id follows DESIGN.md's identity rule. Raises if it already exists."""
        title, body = _require_text(title, "title"), body or ""
        url = self._valid_url(url) if url else None
        key = identity_key(url=url, title=title, published=published, publisher=publisher, body=body)
        aid = article_id_for(key)
        events: list[ev.Event] = [ev.ArticlePublished(title=title, body=body, url=url, published=published,
                                                      publisher=publisher, source=source)]
        events += [ev.ArticleTagged(tag=t, source=source) for t in _clean_tags(tags)]
        try:
            self.append([AppendRequest(aid, events, NO_STREAM)], actor=actor)
        except errors.ConflictError as exc:
            raise errors.ConflictError(f"article {aid} already exists") from exc
        return aid

    def revise(self, article_id: str, *, title: str | None = None, body: str | None = None,
               url: str | None = None, published: dt.date | None = None, publisher: str | None = None,
               source: str | None = None, expected_version: int | None = None, actor: str | None = None) -> int:
        a = self._expecting(article_id, expected_version)
        cur = self.show(a.id)
        event = ev.ArticleRevised(
            title=_require_text(title, "title") if title is not None else cur.title,
            body=body if body is not None else cur.body,
            url=self._valid_url(url) if url else cur.url,
            published=published if published is not None else cur.published,
            publisher=publisher if publisher is not None else cur.publisher,
            source=source,
        )
        return self._record(a, [event], expected_version, actor)

    def archive(self, article_id: str, reason: str = "", *, source: str | None = None,
                expected_version: int | None = None, actor: str | None = None) -> int:
        a = self._expecting(article_id, expected_version)
        if a.status == ARCHIVED:
            return 0
        return self._record(a, [ev.ArticleArchived(reason=reason, source=source)], expected_version, actor)

    def restore(self, article_id: str, reason: str = "", *, expected_version: int | None = None,
                actor: str | None = None) -> int:
        a = self._expecting(article_id, expected_version)
        if a.status == LIVE:
            return 0
        return self._record(a, [ev.ArticleRestored(reason=reason)], expected_version, actor)

    def withdraw(self, article_id: str, reason: str, *, expected_version: int | None = None,
                 actor: str | None = None) -> int:
        a = self._expecting(article_id, expected_version)
        if not reason.strip():
            raise errors.UsageError("a withdrawal needs a reason (it stays in the article's history)")
        if a.status == WITHDRAWN:
            return 0
        return self._record(a, [ev.ArticleWithdrawn(reason=reason.strip())], expected_version, actor)

    def relocate(self, article_id: str, to_url: str, *, source: str | None = None,
                 expected_version: int | None = None, actor: str | None = None) -> int:
        a = self._expecting(article_id, expected_version)
        new = self._valid_url(to_url)
        if a.url and url_key(a.url) == url_key(new):
            return 0
        return self._record(a, [ev.ArticleRelocated(from_url=a.url, to_url=new, source=source)],
                            expected_version, actor)

    def relocate_portal(self, from_prefix: str, to_prefix: str, *, keep_path: bool = False,
                        source: str | None = None, actor: str | None = None) -> int:
        old, new = self._valid_url(from_prefix), self._valid_url(to_prefix)
        if url_key(old) == url_key(new):
            raise errors.UsageError("a portal cannot move to itself")
        for rule in self.refresh().portals:
            if url_key(rule.from_prefix) == url_key(old) and url_key(rule.to_prefix) == url_key(new) \
                    and rule.keep_path == keep_path:
                return 0
        event = ev.PortalRelocated(from_prefix=old, to_prefix=new, source=source, keep_path=keep_path)
        return self.append([AppendRequest(ev.portal_stream(url_key(old)), [event])], actor=actor)[-1].position

    def tag(self, article_id: str, *tags: str, expected_version: int | None = None,
            actor: str | None = None) -> int:
        a = self._expecting(article_id, expected_version)
        new = [t for t in _clean_tags(tags) if t not in a.tags]
        if not new:
            return 0
        return self._record(a, [ev.ArticleTagged(tag=t) for t in new], expected_version, actor)

    def untag(self, article_id: str, *tags: str, expected_version: int | None = None,
              actor: str | None = None) -> int:
        a = self._expecting(article_id, expected_version)
        gone = [t for t in _clean_tags(tags) if t in a.tags]
        if not gone:
            return 0
        return self._record(a, [ev.ArticleUntagged(tag=t) for t in gone], expected_version, actor)

    def _expecting(self, article_id: str, expected_version: int | None) -> ArticleState:
        """The article an action is about. A stale expected version is a conflict whatever the action would
        do — even when there would be nothing to record: the caller decided on a state that is gone."""
        a = self.article(article_id)
        if expected_version is not None and expected_version != a.version:
            raise errors.ConflictError(f"conflict: article {a.id} is at version {a.version}, not {expected_version} "
                                       "(someone changed it since it was read); nothing was recorded")
        return a

    def _record(self, a: ArticleState, events: list[ev.Event], expected_version: int | None,
                actor: str | None) -> int:
        """Append to one article, expecting the version it was read at (or the caller's): stale -> conflict."""
        expected = a.version if expected_version is None else expected_version
        records = self.append([AppendRequest(a.id, events, expected)], actor=actor)
        return records[-1].position

    @staticmethod
    def _valid_url(url: str) -> str:
        try:
            return normalize_url(url)
        except AddressError as exc:
            raise errors.UsageError(str(exc)) from exc

    # --- integrity, counts, transfer ------------------------------------------------------------------------
    def verify(self) -> VerifyReport:
        return verify(self)

    def stats(self, as_of: dt.date | None = None) -> Stats:
        st = self.state_at(as_of)
        by_status = Counter({s: 0 for s in STATUSES})
        publishers: Counter[str] = Counter()
        years: Counter[str] = Counter()
        for a in st.articles.values():
            by_status[a.status] += 1
            if a.publisher:
                publishers[a.publisher] += 1
            if a.published:
                years[str(a.published.year)] += 1
        log_bytes = sum(p.stat().st_size for p in (self.root / "log").glob("*.seg")) if as_of is None else 0
        return Stats(
            articles=len(st.articles), by_status=dict(by_status), events=st.events, sources=len(st.sources),
            rejected_sources=sum(1 for s in st.sources.values() if s.rejected), publishers=dict(publishers.most_common(20)),
            years=dict(sorted(years.items())), portal_rules=len(st.portals), log_bytes=log_bytes, head=st.position,
        )

    def export(self, out: IO[bytes], *, blobs: bool = True) -> int:
        """Write the log as NDJSON, each record with its hashes, each source's bytes after its record."""
        return export(self, out, blobs=blobs)

    def import_(self, lines: IO[bytes], *, batch: int = 1000) -> int:
        """Load an export into an empty archive; every record keeps its position, time, actor and hash."""
        self.require_writable()
        return import_(self, lines, batch=batch)



def _require_text(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise errors.UsageError(f"an article needs a {what}")
    return normalize_title(value) if what == "title" else value


def _clean_tags(tags: Sequence[str]) -> list[str]:
    out: list[str] = []
    for t in tags:
        t = normalize_tag(t)
        if not t:
            raise errors.UsageError("a tag cannot be empty")
        if len(t) > TAG_MAX_CHARS:
            raise errors.UsageError(f"a tag is at most {TAG_MAX_CHARS} characters")
        if t not in out:
            out.append(t)
    return out


__all__ = ["ANY", "Archive", "ArticleView", "HistoryEntry", "Resolution", "Stats", "VerifyReport", "LIVE",
           "ARCHIVED", "WITHDRAWN", "STATUSES", "article_id_for", "end_of_day", "first_day", "identity_key"]
