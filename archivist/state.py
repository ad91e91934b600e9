"""The current state of every article: a projection of the log, rebuilt by replaying it.

Bodies are not kept in memory — only the position of each article's current content event, read from the
log on demand — so a 100,000-article archive costs tens of megabytes here, not gigabytes.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
from collections.abc import Iterable
from pathlib import Path

import msgspec

from store import article as model
from store.article import ARCHIVED, LIVE, STATUSES, WITHDRAWN, Article, UrlChange, url_key
from store.events import (
    PortalRelocated,
    Record,
    SavedSearchRemoved,
    SearchSaved,
    SourceReceived,
    SourceRejected,
)

ArticleState = Article  # the state of an article is the model's article (`store.article`)
__all__ = ["ARCHIVED", "LIVE", "STATUSES", "WITHDRAWN", "ArticleState", "SavedSearch", "UrlChange"]


class PortalRule(msgspec.Struct, frozen=True):
    from_prefix: str
    to_prefix: str
    position: int
    recorded_at: dt.datetime
    keep_path: bool = False


class SourceState(msgspec.Struct, kw_only=True):
    digest: str
    file_name: str
    size: int
    position: int
    rejected: str | None = None


class SavedSearch(msgspec.Struct, kw_only=True):
    """A named query and its filters (`SearchSaved`), as the archive holds it now."""

    name: str
    query: str
    statuses: list[str] = []
    tags: list[str] = []
    since: dt.date | None = None
    until: dt.date | None = None
    publisher: str | None = None
    position: int = 0  # the event that saved it
    recorded_at: dt.datetime | None = None
    actor: str = ""


class ArchiveState:
    """Articles, address index, portal rules and sources, as of `position`."""

    def __init__(self) -> None:
        self.position = 0
        self.articles: dict[str, ArticleState] = {}
        self.by_url: dict[str, list[str]] = {}  # url_key of every address an article ever had -> article ids
        self.portals: list[PortalRule] = []
        self.sources: dict[str, SourceState] = {}
        self.saved: dict[str, SavedSearch] = {}  # saved searches by name
        self.saved_versions: dict[str, int] = {}  # each saved search's stream version (removed ones too)
        self.events = 0

    def apply_all(self, records: Iterable[Record]) -> None:
        for r in records:
            self.apply(r)

    def apply(self, r: Record) -> None:
        if r.position <= self.position:
            return  # applying twice changes nothing
        self.position = r.position
        self.events += 1
        e = r.event
        match e:
            case PortalRelocated():
                self.portals.append(PortalRule(e.from_prefix, e.to_prefix, r.position, r.recorded_at,
                                               e.keep_path))
            case SourceReceived():
                self.sources[e.digest] = SourceState(digest=e.digest, file_name=e.file_name, size=e.size,
                                                     position=r.position)
            case SourceRejected():
                self.sources[e.digest] = SourceState(digest=e.digest, file_name=e.file_name, size=e.size,
                                                     position=r.position, rejected=e.reason)
            case SearchSaved():
                self.saved[e.name] = SavedSearch(
                    name=e.name, query=e.query, statuses=[x for x in e.statuses.split(",") if x],
                    tags=[x for x in e.tags.split("\n") if x], since=e.since, until=e.until, publisher=e.publisher,
                    position=r.position, recorded_at=r.recorded_at, actor=r.actor)
                self.saved_versions[e.name] = r.version
                return
            case SavedSearchRemoved():
                self.saved.pop(e.name, None)
                self.saved_versions[e.name] = r.version
                return
        before = self.articles.get(r.stream)
        known = len(before.urls) if before is not None else 0
        a = model.fold(before, r)
        if a is None:
            return
        if a is not before:
            known = 0
            self.articles[r.stream] = a
        for change in a.urls[known:]:
            holders = self.by_url.setdefault(url_key(change.url), [])
            if a.id not in holders:
                holders.append(a.id)

    def find(self, id_or_prefix: str) -> ArticleState | None:
        """An article by id, or by a unique id prefix of at least 4 characters (as git does)."""
        a = self.articles.get(id_or_prefix)
        if a is not None or len(id_or_prefix) < 4:
            return a
        hits = [v for k, v in self.articles.items() if k.startswith(id_or_prefix)]
        return hits[0] if len(hits) == 1 else None


SNAPSHOT_FORMAT = 3  # 2: tags normalised by the fold (store.article); 3: saved searches


class _Snapshot(msgspec.Struct):
    format: int
    position: int
    anchor: bytes  # SHA-256 of the log record at `position`: a snapshot of another log never loads
    events: int
    articles: dict[str, ArticleState]
    by_url: dict[str, list[str]]
    portals: list[PortalRule]
    sources: dict[str, SourceState]
    saved: dict[str, SavedSearch] = {}
    saved_versions: dict[str, int] = {}


_snapshot_decoder = msgspec.msgpack.Decoder(_Snapshot)


def save_snapshot(state: ArchiveState, path: Path, anchor: bytes) -> None:
    """Write the state atomically (temp file, rename). A cache, not the truth: no fsync; a torn or stale file
    is detected on load and ignored."""
    snap = _Snapshot(SNAPSHOT_FORMAT, state.position, anchor, state.events, state.articles, state.by_url,
                     state.portals, state.sources, state.saved, state.saved_versions)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(msgspec.msgpack.encode(snap))
    os.replace(tmp, path)


def load_snapshot(path: Path) -> tuple[ArchiveState, bytes] | None:
    # The garbage collector paused while decoding: the hundreds of thousands of objects it creates would set
    # off a collection every few hundred, each walking all made so far (the decode took 2.6x longer with it).
    paused = gc.isenabled()
    gc.disable()
    try:
        snap = _snapshot_decoder.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    finally:
        if paused:
            gc.enable()
    if snap.format != SNAPSHOT_FORMAT:
        return None
    st = ArchiveState()
    st.position, st.events, st.articles, st.by_url = snap.position, snap.events, snap.articles, snap.by_url
    st.portals, st.sources = snap.portals, snap.sources
    st.saved, st.saved_versions = snap.saved, snap.saved_versions
    return st, snap.anchor
