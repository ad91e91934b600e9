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
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import msgspec

from archivist import errors
from archivist.addresses import AddressError, normalize_url, under_prefix, url_key
from archivist.diffing import DiffOp, changed, word_diff
from archivist.state import (
    ARCHIVED,
    LIVE,
    STATUSES,
    WITHDRAWN,
    ArchiveState,
    ArticleState,
    UrlChange,
    load_snapshot,
    save_snapshot,
)
from index.projection import SearchIndex
from index.query import QueryError as _IndexQueryError
from index.searching import SearchResults, search, suggest
from store import events as ev
from store.blobs import BlobStore
from store.log import (
    ANY,
    NO_STREAM,
    AppendRequest,
    ConflictError,
    FileLog,
    Log,
    LogError,
    encode_record,
    record_hash,
    verify_log,
)

ENV_ARCHIVE = "ARCHIVIST_ARCHIVE"
SNAPSHOT_EVERY = 20_000  # events replayed beyond the last snapshot before a new one is written


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


def end_of_day(d: dt.date) -> dt.datetime:
    """As-of dates mean the end of that day, UTC, on the recorded clock."""
    return dt.datetime(d.year, d.month, d.day, 23, 59, 59, 999999, tzinfo=dt.UTC)


def identity_key(*, url: str | None, title: str, published: dt.date | None, publisher: str | None,
                 body: str) -> str:
    """DESIGN.md's identity: the canonical URL, else publisher + title + date, else the content digest."""
    if url:
        return "url:" + url_key(url)
    if title.strip() and (publisher or published):
        return f"meta:{(publisher or '').strip().casefold()}|{' '.join(title.split()).casefold()}|{published or ''}"
    return "content:" + hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()


def article_id_for(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


# --- answers (msgspec Structs: typed for Python, `msgspec.json.encode` for scripts) -----------------------

class ArticleView(msgspec.Struct, kw_only=True):
    id: str
    title: str
    url: str | None
    published: dt.date | None
    publisher: str | None
    status: str
    status_reason: str
    tags: list[str]
    urls: list[UrlChange]
    versions: int
    version: int
    created_at: dt.datetime
    changed_at: dt.datetime
    sources: list[str]
    body: str


class HistoryEntry(msgspec.Struct, kw_only=True):
    position: int
    version: int
    recorded_at: dt.datetime
    actor: str
    type: str
    summary: str
    source: str | None
    source_file: str | None
    event: dict[str, Any]


class Hop(msgspec.Struct, frozen=True, kw_only=True):
    from_url: str
    to_url: str
    kind: str  # "article" (the article moved) or "portal" (a prefix rule)
    recorded_at: dt.datetime
    article_id: str | None = None


class Resolution(msgspec.Struct, kw_only=True):
    url: str
    current: str
    article_id: str | None
    status: str | None
    chain: list[Hop]


class VersionRef(msgspec.Struct, kw_only=True):
    version: int  # content version: 1 = as published, 2 = first revision, …
    position: int
    recorded_at: dt.datetime
    actor: str
    title: str


class ArticleDiff(msgspec.Struct, kw_only=True):
    id: str
    from_version: VersionRef
    to_version: VersionRef
    title: list[DiffOp]
    body: list[DiffOp]
    changed: bool


class MovedLink(msgspec.Struct, kw_only=True):
    id: str
    title: str
    status: str
    recorded_url: str
    current_url: str
    chain: list[Hop]


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # log / blob / index
    detail: str
    position: int | None = None


class VerifyReport(msgspec.Struct, kw_only=True):
    ok: bool
    records: int
    blobs: int
    problems: list[Problem]


class Stats(msgspec.Struct, kw_only=True):
    articles: int
    by_status: dict[str, int]
    events: int
    sources: int
    rejected_sources: int
    publishers: dict[str, int]
    years: dict[str, int]
    portal_rules: int
    log_bytes: int
    head: int


class ExportLine(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One NDJSON line of `export`: a record with its hashes, or a blob (`blob` + base64 `data`)."""

    position: int | None = None
    stream: str | None = None
    version: int | None = None
    recorded_at: dt.datetime | None = None
    actor: str | None = None
    prev_hash: str | None = None
    hash: str | None = None
    event: ev.AnyEvent | None = None
    blob: str | None = None
    data: bytes | None = None


_export_encoder = msgspec.json.Encoder()
_export_decoder = msgspec.json.Decoder(ExportLine)


class Archive:
    """One archive folder: log (truth), blobs (original bytes), projections (state, index)."""

    def __init__(self, root: Path, log: Log, blobs: BlobStore, *, actor: str) -> None:
        self.root = root
        self.log = log
        self.blobs = blobs
        self.actor = actor
        self.state = ArchiveState()
        self._lock = threading.RLock()
        self._index: SearchIndex | None = None
        self._as_of_cache: dict[tuple[dt.date, int], ArchiveState] = {}
        self.clock: Any = ev.utcnow  # the recorded clock; tests set it to build histories across dates
        self.defer_index = False  # bulk loads catch the index up once at the end, not after every batch
        self.index_error: Exception | None = None  # the last index catch-up after an append that failed
        self._snapshot_path = root / "state" / "articles.snapshot"
        self._load_snapshot()
        self.refresh()

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, actor: str | None = None,
             create: bool = True) -> Archive:
        root = Path(path) if path is not None else default_archive_path()
        if not create and not (root / "log").is_dir():
            raise errors.NotFound(f"no archive at {root} (run `archivist init` first)")
        for sub in ("log", "blobs", "inbox"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        return cls(root, FileLog(root / "log"), BlobStore(root / "blobs"), actor=actor or default_actor())

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
        self.log.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- projection upkeep ----------------------------------------------------------------------------------

    def refresh(self) -> ArchiveState:
        """Catch the state up with the log (what other processes appended included)."""
        with self._lock:
            head = self.log.head()
            if head > self.state.position:
                self.state.apply_all(self.log.read(after=self.state.position, until=head))
                if self.state.position - self._snapshot_at >= SNAPSHOT_EVERY:
                    self._save_snapshot()
            return self.state

    def _load_snapshot(self) -> None:
        """Start from the last snapshot of the article state when it belongs to this log (its anchor, the
        hash of the record at its position, must match), so opening a big archive replays only the tail."""
        self._snapshot_at = 0
        loaded = load_snapshot(self._snapshot_path)
        if loaded is None:
            return
        state, anchor = loaded
        if not 0 < state.position <= self.log.head():
            return
        for _, payload in self.log.read_raw(state.position - 1, state.position):
            if record_hash(payload) == anchor:
                self.state = state
                self._snapshot_at = state.position

    def _save_snapshot(self) -> None:
        try:
            for _, payload in self.log.read_raw(self.state.position - 1, self.state.position):
                save_snapshot(self.state, self._snapshot_path, record_hash(payload))
                self._snapshot_at = self.state.position
        except OSError:
            pass  # a cache: the next open replays a little more

    def append(self, requests: Sequence[AppendRequest], *, actor: str | None = None) -> list[ev.Record]:
        """Append atomically, then bring every projection up to date (read-your-writes)."""
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

    # --- search -------------------------------------------------------------------------------------------

    @property
    def index(self) -> SearchIndex:
        """The search index projection, opened on first use (and rebuilt from the log if it is missing)."""
        with self._lock:
            if self._index is None:
                self._index = SearchIndex(self.root / "index", self.log)
            return self._index

    def search(self, text: str = "", **options: Any) -> SearchResults:
        """Search articles (see `index.searching.search` for the options); sees every acknowledged event."""
        ix = self.index
        ix.catch_up()
        try:
            return search(ix, text, body_of=self._body_of, **options)
        except _IndexQueryError as exc:
            raise errors.QueryError(str(exc)) from exc

    def suggest(self, text: str) -> str | None:
        """"Did you mean": the query with each word the archive does not know replaced by its closest word."""
        ix = self.index
        ix.catch_up()
        return suggest(ix, text) if text.strip() else None

    def _body_of(self, position: int) -> str:
        return getattr(self.log.get(position).event, "body", "")

    def rebuild_index(self) -> int:
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
        a = self.state_at(as_of).find(article_id)
        if a is None:
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
        try:
            start = normalize_url(url)
        except AddressError as exc:
            raise errors.UsageError(str(exc)) from exc
        st = self.state_at(as_of)
        chain: list[Hop] = []
        seen = {url_key(start)}
        current = start
        article_id: str | None = None
        exact = True  # False once a portal rule dropped the path: the portal's home is not the article asked for
        while True:
            key = url_key(current)
            holders = st.by_url.get(key, []) if exact else []
            here = [i for i in holders if url_key(st.articles[i].url or "") == key]
            hop: Hop | None = None
            if here:
                # a live address: it is where these articles are now (a portal's landing page may hold many)
                if len(here) == 1:
                    article_id = here[0]
                    current = st.articles[article_id].url or current  # the address as the archive spells it
            elif len(holders) == 1:
                # the one article that lived here has moved on
                aid = holders[0]
                article_id = aid
                a = st.articles[aid]
                assert a.url is not None
                moved = [c for c in a.urls if url_key(c.url) == url_key(a.url)][-1]
                hop = Hop(from_url=current, to_url=a.url, kind="article", recorded_at=moved.recorded_at,
                          article_id=aid)
            if hop is None:
                rule = self._portal_rule(key, st)
                if rule is not None:
                    target = rule.to_prefix
                    if rule.keep_path:
                        rest = key[len(url_key(rule.from_prefix)):]
                        target = rule.to_prefix.rstrip("/") + rest
                    if url_key(target) != key:
                        hop = Hop(from_url=current, to_url=target, kind="portal", recorded_at=rule.recorded_at)
                        exact = exact and rule.keep_path
            if hop is None:
                break
            chain.append(hop)
            current = hop.to_url
            nkey = url_key(current)
            if nkey in seen:
                raise errors.IntegrityError(
                    "relocation loop: " + " -> ".join([start] + [h.to_url for h in chain]))
            seen.add(nkey)
        if not chain and article_id is None:
            raise errors.NotFound(f"unknown address {url!r}: no article and no portal rule covers it")
        status = st.articles[article_id].status if article_id else None
        return Resolution(url=start, current=current, article_id=article_id, status=status, chain=chain)

    @staticmethod
    def _portal_rule(key: str, st: ArchiveState):  # type: ignore[no-untyped-def]
        best = None
        for rule in st.portals:  # later rules win over earlier ones for the same prefix
            pk = url_key(rule.from_prefix)
            if under_prefix(key, pk) and (best is None or len(pk) >= len(url_key(best.from_prefix))):
                best = rule
        return best

    def versions(self, article_id: str) -> list[VersionRef]:
        """Every content version of an article (publication and revisions), oldest first."""
        a = self.article(article_id)
        out: list[VersionRef] = []
        for pos in a.positions:
            r = self.log.get(pos)
            if isinstance(r.event, ev.ArticlePublished | ev.ArticleRevised):
                out.append(VersionRef(version=len(out) + 1, position=pos, recorded_at=r.recorded_at,
                                      actor=r.actor, title=r.event.title))
        return out

    def diff(self, article_id: str, from_: int | dt.date | None = None,
             to: int | dt.date | None = None) -> ArticleDiff:
        """What changed in title and text between two content versions (numbers, or the version current at
        the end of a day). Defaults: the previous version against the latest."""
        versions = self.versions(article_id)

        def pick(ref: int | dt.date | None, default: int) -> VersionRef:
            if ref is None:
                return versions[default]
            if isinstance(ref, int):
                if not 1 <= ref <= len(versions):
                    raise errors.NotFound(f"article {article_id} has versions 1–{len(versions)}, not {ref}")
                return versions[ref - 1]
            known = [v for v in versions if v.recorded_at <= end_of_day(ref)]
            if not known:
                raise errors.NotFound(f"article {article_id} was not in the archive yet on {ref}")
            return known[-1]

        old = pick(from_, max(len(versions) - 2, 0))
        new = pick(to, len(versions) - 1)
        a_ev, b_ev = self.log.get(old.position).event, self.log.get(new.position).event
        title = word_diff(getattr(a_ev, "title", ""), getattr(b_ev, "title", ""))
        body = word_diff(getattr(a_ev, "body", ""), getattr(b_ev, "body", ""))
        return ArticleDiff(id=self.article(article_id).id, from_version=old, to_version=new, title=title,
                           body=body, changed=changed(title) or changed(body))

    def links(self, as_of: dt.date | None = None) -> list[MovedLink]:
        """Archived articles whose recorded address has moved since, with where it lives now."""
        st = self.state_at(as_of)
        out: list[MovedLink] = []
        for a in st.articles.values():
            if a.status != ARCHIVED or not a.urls:
                continue
            recorded = a.urls[0].url
            try:
                r = self.resolve(recorded, as_of)
            except errors.ArchivistError:
                continue
            if r.chain and url_key(r.current) != url_key(recorded):
                out.append(MovedLink(id=a.id, title=a.title, status=a.status, recorded_url=recorded,
                                     current_url=r.current, chain=r.chain))
        return sorted(out, key=lambda m: m.title)

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
        a = self.article(article_id)
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
        a = self.article(article_id)
        if a.status == ARCHIVED:
            return 0
        return self._record(a, [ev.ArticleArchived(reason=reason, source=source)], expected_version, actor)

    def restore(self, article_id: str, reason: str = "", *, expected_version: int | None = None,
                actor: str | None = None) -> int:
        a = self.article(article_id)
        if a.status == LIVE:
            return 0
        return self._record(a, [ev.ArticleRestored(reason=reason)], expected_version, actor)

    def withdraw(self, article_id: str, reason: str, *, expected_version: int | None = None,
                 actor: str | None = None) -> int:
        a = self.article(article_id)
        if not reason.strip():
            raise errors.UsageError("a withdrawal needs a reason (it stays in the article's history)")
        if a.status == WITHDRAWN:
            return 0
        return self._record(a, [ev.ArticleWithdrawn(reason=reason.strip())], expected_version, actor)

    def relocate(self, article_id: str, to_url: str, *, source: str | None = None,
                 expected_version: int | None = None, actor: str | None = None) -> int:
        a = self.article(article_id)
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
        a = self.article(article_id)
        new = [t for t in _clean_tags(tags) if t not in a.tags]
        if not new:
            return 0
        return self._record(a, [ev.ArticleTagged(tag=t) for t in new], expected_version, actor)

    def untag(self, article_id: str, *tags: str, expected_version: int | None = None,
              actor: str | None = None) -> int:
        a = self.article(article_id)
        gone = [t for t in _clean_tags(tags) if t in a.tags]
        if not gone:
            return 0
        return self._record(a, [ev.ArticleUntagged(tag=t) for t in gone], expected_version, actor)

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
        checked, log_problems = verify_log(self.log)
        problems = [Problem(kind="log", detail=str(p), position=p.position) for p in log_problems]
        st = self.refresh()
        blobs = 0
        for digest, src in sorted(st.sources.items(), key=lambda kv: kv[1].position):
            blobs += 1
            if not self.blobs.exists(digest):
                problems.append(Problem(kind="blob", position=src.position,
                                        detail=f"blob {digest} ({src.file_name}) is missing"))
            elif not self.blobs.verify(digest):
                problems.append(Problem(kind="blob", position=src.position,
                                        detail=f"blob {digest} ({src.file_name}) does not match its digest"))
        for check in self._verify_hooks():
            problems.extend(check())
        return VerifyReport(ok=not problems, records=checked, blobs=blobs, problems=problems)

    def _verify_hooks(self) -> list[Any]:
        return [self._verify_index]

    def _verify_index(self) -> list[Problem]:
        """The index must hold exactly one current document per article, agreeing with the log."""
        ix = self.index
        ix.catch_up()
        st = self.state
        problems: list[Problem] = []
        seen: dict[str, tuple[str, int]] = {}
        s = ix.searcher()
        from whoosh.query import Term

        for hit in s.search(Term("current", "1"), limit=None, scored=False):
            f = hit.fields()
            if f["id"] in seen:
                problems.append(Problem(kind="index", detail=f"article {f['id']} has two current documents"))
            seen[f["id"]] = (f.get("status", ""), f.get("version", 0))
        for aid, a in st.articles.items():
            got = seen.pop(aid, None)
            if got is None:
                problems.append(Problem(kind="index", detail=f"article {aid} is missing from the index"))
            elif got != (a.status, a.version):
                problems.append(Problem(kind="index", detail=f"article {aid}: index has {got}, log says "
                                                             f"{(a.status, a.version)}"))
            if len(problems) > 20:
                break
        for aid in list(seen)[:5]:
            problems.append(Problem(kind="index", detail=f"index has article {aid} that the log does not"))
        if problems:
            problems.append(Problem(kind="index", detail="run `archivist rebuild` to rebuild the index from the log"))
        return problems

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
        n = 0
        for _, payload in self.log.read_raw():
            r = ev_decode(payload)
            line = ExportLine(position=r.position, stream=r.stream, version=r.version,
                              recorded_at=r.recorded_at, actor=r.actor, prev_hash=r.prev_hash.hex(),
                              hash=record_hash(payload).hex(), event=r.event)
            out.write(_export_encoder.encode(line) + b"\n")
            n += 1
            if blobs and isinstance(r.event, ev.SourceReceived | ev.SourceRejected) \
                    and self.blobs.exists(r.event.digest):
                out.write(_export_encoder.encode(ExportLine(blob=r.event.digest,
                                                            data=self.blobs.get(r.event.digest))) + b"\n")
        return n

    def import_(self, lines: IO[bytes], *, batch: int = 1000) -> int:
        """Load an export into an empty archive; every record keeps its position, time, actor and hash."""
        if self.log.head() != 0:
            raise errors.UsageError("import needs an empty archive (it keeps every record's position)")
        pending: list[tuple[AppendRequest, str]] = []
        n = 0

        def flush() -> None:
            nonlocal n
            if not pending:
                return
            records = self.log.append_batch([req for req, _ in pending])
            for rec, (_, want) in zip(records, pending, strict=True):
                if record_hash(encode_record(rec)).hex() != want:
                    raise errors.IntegrityError(f"record {rec.position} does not re-hash to its exported hash")
            n += len(records)
            pending.clear()

        for lineno, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                line = _export_decoder.decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise errors.InputRejected(f"line {lineno}: not an export line: {exc}") from exc
            if line.blob is not None:
                if line.data is None or hashlib.sha256(line.data).hexdigest() != line.blob:
                    raise errors.InputRejected(f"line {lineno}: blob {line.blob} does not match its bytes")
                self.blobs.put(line.data)
                continue
            if None in (line.position, line.stream, line.version, line.recorded_at, line.actor, line.event,
                        line.hash):
                raise errors.InputRejected(f"line {lineno}: a record needs position, stream, version, "
                                           "recorded_at, actor, hash and event")
            if line.position != n + len(pending) + 1:
                raise errors.InputRejected(f"line {lineno}: position {line.position} out of order")
            assert line.event is not None and line.stream is not None
            pending.append((AppendRequest(line.stream, [line.event], line.version - 1,  # type: ignore[operator]
                                          actor=line.actor, recorded_at=line.recorded_at), line.hash or ""))
            if len(pending) >= batch:
                flush()
        flush()
        self.refresh()
        self.index.catch_up()
        return n


_record_decoder = msgspec.msgpack.Decoder(ev.Record)


def ev_decode(payload: bytes | memoryview) -> ev.Record:
    return _record_decoder.decode(payload)


def summarize(e: ev.Event) -> str:
    """One human line per event, for history listings."""
    match e:
        case ev.ArticlePublished(title=t) | ev.ArticleRevised(title=t):
            return t
        case ev.ArticleArchived(reason=r) | ev.ArticleRestored(reason=r) | ev.ArticleWithdrawn(reason=r):
            return r
        case ev.ArticleRelocated(from_url=f, to_url=t):
            return f"{f or '?'} → {t}"
        case ev.ArticleTagged(tag=t) | ev.ArticleUntagged(tag=t):
            return t
        case ev.PortalRelocated(from_prefix=f, to_prefix=t):
            return f"{f}* → {t}"
        case ev.SourceReceived(file_name=f) | ev.SourceRejected(file_name=f):
            return f
    return ""


def _require_text(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise errors.UsageError(f"an article needs a {what}")
    return " ".join(value.split()) if what == "title" else value


def _clean_tags(tags: Sequence[str]) -> list[str]:
    out: list[str] = []
    for t in tags:
        t = " ".join(t.split()).lower()
        if not t:
            raise errors.UsageError("a tag cannot be empty")
        if len(t) > 100:
            raise errors.UsageError("a tag is at most 100 characters")
        if t not in out:
            out.append(t)
    return out


__all__ = ["ANY", "Archive", "ArticleView", "HistoryEntry", "Resolution", "Stats", "VerifyReport", "LIVE",
           "ARCHIVED", "WITHDRAWN"]
