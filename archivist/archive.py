"""The `Archive` facade: the Python API, and what the CLI, the watcher and the TUI stand on.

Every change is an event appended to the log; every answer comes from a projection of the log (the article
state here, the search index in `index/`). Before answering, a projection catches up with the log, so a
reader sees everything acknowledged before it asked — whichever process appended it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import msgspec

from archivist import errors, permissions
from archivist.addresses import AddressError, normalize_url, url_key
from archivist.batch import ACTIONS, BatchPlan, BatchResult, action_events
from archivist.batch import plan as plan_batch
from archivist.ingest.model import MAX_BYTES, Rejected
from archivist.recording import SourceFile, record_sources
from archivist.resolver import moved_links, resolve
from archivist.results import (
    ArticleDiff,
    ArticleView,
    FileOutcome,
    HistoryEntry,
    IngestSummary,
    MovedLink,
    Original,
    Resolution,
    Stats,
    VerifyReport,
    VersionRef,
    summarize,
)
from archivist.saved import check_name, check_tag, closest, expand, references
from archivist.state import (
    ARCHIVED,
    LIVE,
    STATUSES,
    WITHDRAWN,
    ArchiveState,
    ArticleState,
    SavedSearch,
    SourceState,
    load_snapshot,
    save_snapshot,
)
from archivist.transfer import export, import_
from archivist.verify import verify
from archivist.versions import diff, versions
from index.projection import SearchIndex
from index.query import QueryError as _IndexQueryError
from index.query import parse_query
from index.searching import SearchHit, SearchResults, search, search_all, suggest
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
    StoreReadOnly,
    StoreUnavailable,
    record_hash,
)

if TYPE_CHECKING:  # the Python API does not load rich's progress bars, nor psycopg for a folder archive
    from archivist.progress import Advance, ProgressOf
    from store.pglog import PgBlobStore

ENV_ARCHIVE = "ARCHIVIST_ARCHIVE"
STORE_FILE = "store.url"  # team mode: the archive's store (a postgresql:// URL, never a password)
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

    def __init__(self, root: Path, log: Log, blobs: BlobStore | PgBlobStore, *, actor: str,
                 readonly: bool = False, store_readonly: bool = False) -> None:
        self.root = root
        self.readonly = readonly  # this user may only read (see `permissions.may_write`): nothing is written
        # team mode: the store's role may only read -- no event is recorded, this machine's projections are kept
        self.store_readonly = store_readonly
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
        self._index_progress: ProgressOf | None = None

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, actor: str | None = None,
             create: bool = True, group: str | None = None, readonly: bool | None = None,
             store: str | None = None) -> Archive:
        """Open the archive at `path`, creating it (private to its owner, or shared with `group`) when
        `create` allows; see `archivist.permissions`. `readonly`: open it only to read (nothing is written,
        no lock is taken; see `require_writable`) -- by default, when this user may not write it.

        `store` (team mode): a `postgresql://` URL. The folder becomes this machine's working copy of the
        archive in that database -- it records the URL and keeps only projections -- and every later open of
        the folder reads the URL from it (see `store.pglog`)."""
        root = Path(path) if path is not None else default_archive_path()
        if root.exists() and not root.is_dir():
            raise errors.UsageError(f"{root} is a file, not an archive folder")
        if store is not None:
            _record_store(root, store, group)
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
            url = store_url(root)
            if url is not None:
                archive = _open_store(cls, root, url, actor=actor or default_actor(), readonly=readonly)
            else:
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
        return (Path(path) / "log").is_dir() or (Path(path) / STORE_FILE).is_file()

    @classmethod
    def import_new(cls, path: str | os.PathLike[str], lines: IO[bytes], *, batch: int = 1000,
                   progress: Advance | None = None, index_progress: ProgressOf | None = None) -> int:
        """Import an export into the archive at `path`, which must be new or empty. When the import fails,
        what it created is removed again: a failed import leaves nothing behind. `progress(n)`: n more bytes
        read; `index_progress`: see `index_progress`."""
        root = Path(path)
        existed = cls.exists(root)
        before = set(root.iterdir()) if root.is_dir() else None
        try:
            with cls.open(root) as a:
                a.index_progress = index_progress
                return a.import_(lines, batch=batch, progress=progress)
        except BaseException:
            if not existed:
                for made in [root] if before is None else sorted(set(root.iterdir()) - before):
                    if made.is_dir() and not made.is_symlink():
                        shutil.rmtree(made, ignore_errors=True)
                    else:
                        made.unlink(missing_ok=True)
            raise

    @property
    def store(self) -> str | None:
        """Team mode: the store this folder is a working copy of (user@host:port/db), or None."""
        url = getattr(self.log, "url", None)
        if url is None:
            return None
        from store.pglog import describe

        return describe(url)

    @property
    def group(self) -> str | None:
        """The group the archive is shared with, or None when only its owner may read it."""
        return permissions.group_of(self.root)

    @property
    def inbox(self) -> Path:
        """The default watched folder (`archivist watch` without a folder)."""
        return self.root / "inbox"

    def require_writable(self) -> None:
        """Refuse (one line, exit 2) before anything is read or kept when this user may only read -- the
        folder, or (team mode) the store's events."""
        self._require_local_writable()
        if self.store_readonly:
            raise errors.StoreReadOnly(getattr(self.log, "user", "this role"))

    def _require_local_writable(self) -> None:
        if self.readonly:
            raise errors.ReadOnlyArchive(self.root)

    def head(self) -> int:
        """The log position of the last acknowledged event (0 for an empty archive)."""
        return self.log.head()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
        self.log.close()
        self.blobs.close()
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
            raise (user_error(exc) or errors.IntegrityError(str(exc))) from exc
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
                self._index.progress = self._index_progress
            return self._index

    @property
    def index_progress(self) -> ProgressOf | None:
        """How a long index catch-up (a rebuild, the end of a bulk load) reports its progress:
        `progress_of("indexing")` of `archivist.progress` draws a bar; None (the default) says nothing."""
        return self._index_progress

    @index_progress.setter
    def index_progress(self, value: ProgressOf | None) -> None:
        self._index_progress = value
        if self._index is not None:
            self._index.progress = value

    def search(self, text: str = "", **options: Any) -> SearchResults:
        """Search articles (see `index.searching.search` for the options); sees every acknowledged event.
        `@name` in `text` stands for a saved search (`expand_query`)."""
        expanded = self.expand_query(text)
        if expanded == text:
            return self._query(search, text, options)  # type: ignore[no-any-return]
        # a correction of the expansion would puzzle; the answer reports the query as typed
        res = self._query(search, expanded, {**options, "suggest": False})
        return msgspec.structs.replace(res, query=text)  # type: ignore[no-any-return]

    def _query(self, run: Callable[..., Any], text: str, options: dict[str, Any]) -> Any:
        """`run` (a search of `index.searching`) on the index caught up with the log; a malformed query is
        the facade's QueryError."""
        ix = self.index
        ix.catch_up()
        try:
            return run(ix, text, body_of=self._body_of, **options)
        except _IndexQueryError as exc:
            raise errors.QueryError(str(exc)) from exc

    def expand_query(self, text: str) -> str:
        """`text` with every `@name` replaced by that saved search's query and filters (see
        `archivist.saved`); unchanged when it names none (the article state is then not even loaded)."""
        if "@" not in text or not references(text):
            return text
        return expand(text, self.refresh().saved)

    def count(self, text: str = "", **options: Any) -> int:
        """How many articles a search matches (the options of `search`, but no page, facets or snippets)."""
        return self.search(text, limit=0, facets=False, snippets=False, suggest=False, **options).total

    def search_all(self, text: str = "", **options: Any) -> tuple[int, Iterator[SearchHit]]:
        """Every match of a search, in its order, as (how many, the hits one by one): for scripts that want
        them all (`archivist search --format`). The options of `search` without the page; `snippets=True`
        reads each body for its snippet. A malformed query raises here, before the first hit. Read the hits
        before recording anything through this archive (its next search reopens the index)."""
        return self._query(search_all, self.expand_query(text), options)  # type: ignore[no-any-return]

    def index_lag(self) -> int:
        """Events the search index has not applied yet. Always 0 for a writer once a search has run (every
        search catches the index up first: read-your-writes); for a user who may only read, what the writers
        have not indexed yet -- such a user searches the index as they left it (`SearchIndex` read-only)."""
        return self.index.lag()

    def suggest(self, text: str) -> str | None:
        """"Did you mean": the query with each word the archive does not know replaced by its closest word."""
        if references(text):
            return None
        ix = self.index
        ix.catch_up()
        return suggest(ix, text) if text.strip() else None

    def _body_of(self, position: int) -> str:
        return getattr(self.log.get(position).event, "body", "")

    def rebuild_index(self) -> int:
        self._require_local_writable()  # the index is this machine's own, whoever may record events
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

    # --- the original bytes -----------------------------------------------------------------------------------

    def original(self, article_id: str, version: int | None = None) -> Original:
        """The source file a content version of an article (default: the latest) was read from, its bytes
        re-hashed against their digest first. NotFound when that version was recorded without one (through
        the Python API); IntegrityError when the bytes are missing or no longer match their digest."""
        a = self.article(article_id)
        refs = self.versions(a.id)
        n = len(refs) if version is None else version
        if not 1 <= n <= len(refs):
            raise errors.NotFound(f"article {a.id} has versions 1–{len(refs)}, not {n}")
        digest = getattr(self.log.get(refs[n - 1].position).event, "source", None)
        if not digest:
            raise errors.NotFound(f"version {n} of article {a.id} has no original: it was recorded without a "
                                  "source file (through the Python API)")
        src = self.refresh().sources.get(digest)
        name = src.file_name if src is not None else "?"
        for p in self.blobs.check([digest]):
            what = {"missing": "is missing from the blob store",
                    "corrupt": "is damaged: its bytes no longer match their digest"}.get(
                p.kind, f"cannot be read ({p.detail})")
            raise errors.IntegrityError(f"the original of version {n} of article {a.id} ({name}, blob {digest}) "
                                        f"{what}; `archivist verify` checks every source")
        with self.blobs.reader(digest) as f:
            size = f.seek(0, os.SEEK_END)
        return Original(id=a.id, version=n, versions=len(refs), digest=digest, file_name=name, size=size)

    def write_original(self, original: Original, out: IO[bytes]) -> int:
        """Copy the original's bytes to `out` (a megabyte at a time: a source may be large); how many.
        Re-hashed on the way: bytes changed since `original` checked them raise IntegrityError at the end."""
        h = hashlib.sha256()
        n = 0
        with self.blobs.reader(original.digest) as f:
            while chunk := f.read(1 << 20):
                out.write(chunk)
                h.update(chunk)
                n += len(chunk)
        if h.hexdigest() != original.digest:
            raise _changed(original)
        return n

    def original_text(self, original: Original) -> str:
        """The original's text as ingest decoded it (a page by its declared charset…); InputRejected when
        the bytes are not text."""
        from archivist.ingest.registry import source_text  # the parsers load when first needed

        data = self.blobs.get(original.digest)
        if hashlib.sha256(data).hexdigest() != original.digest:
            raise _changed(original)
        try:
            return source_text(original.file_name, data)
        except Rejected as exc:
            raise errors.InputRejected(f"{original.file_name} is not text: {exc}") from None

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
        return self._record(a, action_events("archive", a, reason=reason, source=source), expected_version, actor)

    def restore(self, article_id: str, reason: str = "", *, expected_version: int | None = None,
                actor: str | None = None) -> int:
        a = self._expecting(article_id, expected_version)
        return self._record(a, action_events("restore", a, reason=reason), expected_version, actor)

    def withdraw(self, article_id: str, reason: str, *, expected_version: int | None = None,
                 actor: str | None = None) -> int:
        a = self._expecting(article_id, expected_version)
        return self._record(a, action_events("withdraw", a, reason=_withdrawal_reason(reason)), expected_version,
                            actor)

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
        return self._record(a, action_events("tag", a, tags=_clean_tags(tags)), expected_version, actor)

    def untag(self, article_id: str, *tags: str, expected_version: int | None = None,
              actor: str | None = None) -> int:
        a = self._expecting(article_id, expected_version)
        return self._record(a, action_events("untag", a, tags=_clean_tags(tags)), expected_version, actor)

    # --- actions on every result of a query ------------------------------------------------------------------

    def matching_ids(self, query: str = "", **options: Any) -> list[str]:
        """The id of every article a search finds (all of them, not a page), newest first. `options`: the
        search's filters (status, since, until, publisher, tag, include_withdrawn)."""
        _, hits = self.search_all(query, sort="date", snippets=False, **options)
        return [h.id for h in hits]

    def batch_versions(self, query: str = "", **options: Any) -> dict[str, int]:
        """Every article `query` (with the search's filters) finds, with the stream version it is at now: what
        a person is shown before confirming an action on all of them (`plan_batch(expected=…)`)."""
        ids = self.matching_ids(query, **options)
        st = self.refresh()
        return {i: st.articles[i].version for i in ids if i in st.articles}

    def plan_batch(self, action: str, query: str = "", *, tags: Sequence[str] = (), reason: str = "",
                   expected: Mapping[str, int] | None = None, **options: Any) -> BatchPlan:
        """What `action` (tag, untag, archive, restore, withdraw) would record for every article `query` (with
        the search's filters in `options`) finds: each article as the state holds it now, at the version read.
        Nothing is written: show `plan.result`, then `apply_batch(plan)`. `expected` (`batch_versions`, read
        when the articles were shown): if the query now finds other articles, or any at another version, it is
        a conflict, and nothing is planned."""
        if action not in ACTIONS:
            raise errors.UsageError(f"the action is one of {', '.join(ACTIONS)}, not {action!r}")
        clean = _clean_tags(tags) if action in ("tag", "untag") else []
        if action in ("tag", "untag") and not clean:
            raise errors.UsageError(f"{action}: give at least one tag")
        if action == "withdraw":
            reason = _withdrawal_reason(reason)
        ids = self.matching_ids(query, **options)
        st = self.refresh()
        found = [st.articles[i] for i in ids if i in st.articles]
        if expected is not None:
            now = {a.id: a.version for a in found}
            moved = sorted(k for k in now.keys() | expected.keys() if now.get(k) != expected.get(k))
            if moved:
                raise errors.ConflictError(
                    f"conflict: {len(moved)} of these articles changed, appeared or left the results since they "
                    f"were shown ({', '.join(moved[:3])}{' …' if len(moved) > 3 else ''}); nothing was recorded")
        return plan_batch(action, query, found, tags=clean, reason=reason)

    def apply_batch(self, plan: BatchPlan, *, actor: str | None = None) -> BatchResult:
        """Record a planned batch in one atomic append, each article expected at the version it was read at:
        if anyone changed one of them since, the whole batch is a conflict and nothing is written."""
        self.require_writable()
        if not plan.items:
            return plan.result
        requests = [AppendRequest(i.article_id, list(i.events), i.version) for i in plan.items]
        try:
            records = self.append(requests, actor=actor)
        except errors.ConflictError as exc:
            stale = exc.__cause__
            which = f"article {stale.stream} is at version {stale.actual}, read at {stale.expected}" \
                if isinstance(stale, ConflictError) else str(exc)
            raise errors.ConflictError(
                f"conflict: an article of the batch changed after the query read it ({which}); nothing was "
                "recorded: run it again") from exc
        return msgspec.structs.replace(plan.result, first_position=records[0].position,
                                       last_position=records[-1].position)

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
        """Append to one article, expecting the version it was read at (or the caller's): stale -> conflict.
        No events (it is already so): 0, nothing recorded."""
        if not events:
            return 0
        expected = a.version if expected_version is None else expected_version
        records = self.append([AppendRequest(a.id, events, expected)], actor=actor)
        return records[-1].position

    @staticmethod
    def _valid_url(url: str) -> str:
        try:
            return normalize_url(url)
        except AddressError as exc:
            raise errors.UsageError(str(exc)) from exc

    # --- saved searches (named queries: `@name` in any query) -------------------------------------------------

    def saved_searches(self) -> list[SavedSearch]:
        """Every saved search, by name."""
        return [s for _, s in sorted(self.refresh().saved.items())]

    def saved_search(self, name: str) -> SavedSearch:
        key = check_name(name.removeprefix("@"))
        saved = self.refresh().saved
        if key not in saved:
            raise errors.NotFound(f"no saved search @{key}{closest(key, sorted(saved))}")
        return saved[key]

    def save_search(self, name: str, query: str = "", *, status: Sequence[str] | str | None = None,
                    tag: Sequence[str] | str | None = None, since: dt.date | None = None,
                    until: dt.date | None = None, publisher: str | None = None, include_withdrawn: bool = False,
                    replace: bool = False, actor: str | None = None) -> int:
        """Save `query` with the search's filters as `@name` (`replace`: change an existing one). Refused: a
        name that is not a simple word, a name already saved (without `replace`), a query that does not parse
        or names an unknown saved search or, through others, itself. Returns the log position (0: it was
        already saved so)."""
        self.require_writable()
        key = check_name(name.removeprefix("@"))
        statuses = [status] if isinstance(status, str) else list(dict.fromkeys(status or []))
        for st_ in statuses:
            if st_ not in STATUSES:
                raise errors.UsageError(f"status is one of {', '.join(STATUSES)}, not {st_!r}")
        if include_withdrawn and not statuses:
            statuses = list(STATUSES)
        tags = [check_tag(t) for t in _clean_tags([tag] if isinstance(tag, str) else tag or [])]
        if since and until and since > until:
            raise errors.UsageError(f"--since {since} is after --until {until}")
        publisher = (publisher or "").strip() or None
        if not query.strip() and not (statuses or tags or since or until or publisher):
            raise errors.UsageError("a saved search needs a query or a filter")
        state = self.refresh()
        old = state.saved.get(key)
        if old is not None and not replace:
            raise errors.UsageError(f"there is already a saved search @{key} ({old.query!r}); --replace changes it")
        new = SavedSearch(name=key, query=query, statuses=statuses, tags=tags, since=since, until=until,
                          publisher=publisher)
        try:
            parse_query(expand(f"@{key}", {**state.saved, key: new}))
        except _IndexQueryError as exc:
            raise errors.QueryError(f"@{key} would not be a valid query: {exc}") from exc
        if old is not None and (old.query, old.statuses, old.tags, old.since, old.until, old.publisher) == (
                query, statuses, tags, since, until, publisher):
            return 0
        event = ev.SearchSaved(name=key, query=query, statuses=",".join(statuses), tags="\n".join(tags),
                               since=since, until=until, publisher=publisher)
        return self._append_saved(key, event, actor)

    def remove_saved_search(self, name: str, *, actor: str | None = None) -> int:
        """Forget `@name`; refused while another saved search refers to it."""
        self.require_writable()
        s = self.saved_search(name)
        users = sorted(o.name for o in self.state.saved.values() if o.name != s.name and s.name in references(o.query))
        if users:
            raise errors.UsageError(f"@{s.name} is used by {', '.join('@' + u for u in users)}: change or remove "
                                    f"{'it' if len(users) == 1 else 'them'} first")
        return self._append_saved(s.name, ev.SavedSearchRemoved(name=s.name), actor)

    def _append_saved(self, key: str, event: ev.Event, actor: str | None) -> int:
        expected = self.state.saved_versions.get(key, NO_STREAM)
        try:
            return self.append([AppendRequest(ev.saved_stream(key), [event], expected)], actor=actor)[-1].position
        except errors.ConflictError as exc:
            raise errors.ConflictError(f"conflict: someone changed the saved search @{key} meanwhile; nothing was "
                                       "recorded (`archivist saved list` shows it now)") from exc

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
        log_bytes = 0 if as_of is not None else (
            self.log.stored_bytes() or sum(p.stat().st_size for p in (self.root / "log").glob("*.seg")))
        return Stats(
            articles=len(st.articles), by_status=dict(by_status), events=st.events, sources=len(st.sources),
            rejected_sources=sum(1 for s in st.sources.values() if s.rejected), publishers=dict(publishers.most_common(20)),
            years=dict(sorted(years.items())), portal_rules=len(st.portals), log_bytes=log_bytes, head=st.position,
        )

    def export(self, out: IO[bytes], *, blobs: bool = True) -> int:
        """Write the log as NDJSON, each record with its hashes, each source's bytes after its record."""
        return export(self, out, blobs=blobs)

    def import_(self, lines: IO[bytes], *, batch: int = 1000, progress: Advance | None = None) -> int:
        """Load an export into an empty archive; every record keeps its position, time, actor and hash.
        `progress(n)`: n more bytes of the export read."""
        self.require_writable()
        return import_(self, lines, batch=batch, progress=progress)



def _changed(original: Original) -> errors.IntegrityError:
    return errors.IntegrityError(f"blob {original.digest} ({original.file_name}) changed while it was read; "
                                 "`archivist verify` checks every source")


def user_error(exc: BaseException) -> errors.ArchivistError | None:
    """The user-facing error for one of the log's own (`store.log.LogError`), or None for anything else."""
    if isinstance(exc, StoreReadOnly):
        return errors.StoreReadOnly(exc.user)
    if isinstance(exc, StoreUnavailable):
        return errors.StoreUnavailable(str(exc))
    if type(exc).__name__ == "StoreMissing":  # store.pglog's: named, so psycopg is not imported for this
        return errors.NotFound(str(exc))
    if type(exc).__name__ == "StoreRefused":
        return errors.UsageError(str(exc))
    if isinstance(exc, LogError):
        return errors.IntegrityError(str(exc))
    return None


# --- team mode: a folder whose store is a PostgreSQL database ------------------------------------------------

def store_url(root: Path) -> str | None:
    """The store URL a folder records (team mode), or None for a folder archive."""
    try:
        text = (root / STORE_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise errors.UsageError(f"cannot read {root / STORE_FILE}: {exc.strerror or exc}") from None
    return text or None


def _record_store(root: Path, url: str, group: str | None) -> None:
    """`init --store URL`: check the URL, create the archive in the database if it has none, and record the
    URL in the folder (which must be new, empty, or already this store's)."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise errors.UsageError(f"a store is a postgresql://USER@HOST:PORT/DB address, not {url!r}")
    from store import pglog

    try:
        if pglog.has_password(url):
            raise errors.UsageError("the store address must not hold a password (it would be written into the "
                                    "archive folder): use PGPASSWORD, ~/.pgpass or a service file")
    except Exception as exc:  # noqa: BLE001 - psycopg's parser raises its own ProgrammingError
        if isinstance(exc, errors.UsageError):
            raise
        raise errors.UsageError(f"not a valid store address: {str(exc).strip()}") from None
    if root.is_dir():
        current = store_url(root)
        if current is not None and current != url:
            raise errors.UsageError(f"{root} is already a working copy of the store {pglog.describe(current)}")
        if current is None and Archive.exists(root):
            raise errors.UsageError(f"{root} already holds a folder archive: export it and import it into the "
                                    "store's archive (`archivist export`, then `import` in a new folder)")
        if current is None and any(root.iterdir()):
            raise errors.UsageError(f"{root} is not empty: a store's working copy starts in a new or empty folder")
    try:
        pglog.create_schema(url)
    except LogError as exc:
        raise (user_error(exc) or errors.IntegrityError(str(exc))) from None
    permissions.make_root(root, group)
    tmp = root / f".{STORE_FILE}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640 if group else 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(url + "\n")
    os.replace(tmp, root / STORE_FILE)


def _open_store(cls: type[Archive], root: Path, url: str, *, actor: str, readonly: bool) -> Archive:
    from store import pglog

    if not readonly:
        (root / "inbox").mkdir(exist_ok=True)
    log: pglog.PgLog | None = None
    try:
        log = pglog.PgLog(url)
        store_readonly = not log.may_record()
        return cls(root, log, pglog.PgBlobStore(url), actor=actor, readonly=readonly,
                   store_readonly=store_readonly)
    except LogError as exc:
        if log is not None:
            log.close()
        raise (user_error(exc) or errors.IntegrityError(str(exc))) from None


def _require_text(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise errors.UsageError(f"an article needs a {what}")
    return normalize_title(value) if what == "title" else value


def _withdrawal_reason(reason: str) -> str:
    if not reason.strip():
        raise errors.UsageError("a withdrawal needs a reason (it stays in the article's history)")
    return reason.strip()


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
