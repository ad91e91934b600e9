"""The search index as a projection of the log.

The index holds the last log position it applied (a checkpoint document written in the same Whoosh commit
as the documents it covers, so the two can never disagree). Catching up reads the log after it. Writers
across processes take `index/LOCK.catchup` (an OS lock) first, so one process applies a stretch of the log
while any other that needs the index waits for it, then finds nothing left to do. Delete the folder and the
next open rebuilds the same index from the log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher

from index.schema import CHECKPOINT_DOC, FOREVER, build_schema
from store import events as ev
from store.log import Log

CHUNK = 2000  # records per commit while catching up
SPELL_CHARS = 2000  # how much of a body feeds the "did you mean" vocabulary
_WORDS = re.compile(r"[^\W\d_]{3,}")


def naive_utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


@dataclass
class DocState:
    """One article version as the index stores it."""

    id: str
    title: str
    content_position: int
    first_position: int
    valid_from: dt.datetime
    version: int
    url: str | None = None
    urls: list[str] = field(default_factory=list)
    publisher: str | None = None
    status: str = "live"
    tags: list[str] = field(default_factory=list)
    published: dt.date | None = None
    valid_to: dt.datetime = FOREVER

    @property
    def docid(self) -> str:
        return f"{self.id}@{self.first_position}"

    @classmethod
    def from_stored(cls, f: dict) -> DocState:  # type: ignore[type-arg]
        pub = f.get("published")
        return cls(
            id=f["id"], title=f.get("title", ""), content_position=f["content_position"],
            first_position=f["first_position"], valid_from=f["valid_from"], version=f["version"],
            url=f.get("url_current"), urls=list(f.get("urls_all") or []), publisher=f.get("publisher"),
            status=f.get("status", "live"), tags=[t for t in (f.get("tag") or "").split(",") if t],
            published=pub.date() if pub else None, valid_to=f.get("valid_to", FOREVER),
        )


def apply_event(st: DocState, r: ev.Record) -> None:
    match r.event:
        case ev.ArticlePublished() | ev.ArticleRevised() as e:
            st.title, st.published, st.publisher = e.title, e.published, e.publisher
            st.content_position = r.position
            if e.url and e.url != st.url:
                st.url = e.url
                st.urls.append(e.url)
        case ev.ArticleArchived():
            st.status = "archived"
        case ev.ArticleRestored():
            st.status = "live"
        case ev.ArticleWithdrawn():
            st.status = "withdrawn"
        case ev.ArticleRelocated(to_url=to):
            st.url = to
            if to not in st.urls:
                st.urls.append(to)
        case ev.ArticleTagged(tag=t) if t not in st.tags:
            st.tags.append(t)
        case ev.ArticleUntagged(tag=t) if t in st.tags:
            st.tags.remove(t)
    st.version = r.version


class SearchIndex:
    """The Whoosh index in `root`, kept up to date with `log`."""

    def __init__(self, root: Path, log: Log) -> None:
        self.root = root
        self.log = log
        self._mutex = threading.RLock()
        self._searcher: Searcher | None = None
        root.mkdir(parents=True, exist_ok=True)
        self._lock_path = root.parent / "index.lock"
        with self._catchup_lock():
            if whoosh_index.exists_in(str(root)):
                self.ix = whoosh_index.open_dir(str(root))
            else:
                self.ix = whoosh_index.create_in(str(root), build_schema())

    # --- reading ----------------------------------------------------------------------------------------

    def searcher(self) -> Searcher:
        """A searcher on the newest commit, reopening only the segments that changed."""
        with self._mutex:
            if self._searcher is None or not self._searcher.up_to_date():
                self._searcher = self._open_searcher(self._searcher)
            return self._searcher

    def _open_searcher(self, previous: Searcher | None) -> Searcher:
        """Whoosh's own `Searcher.refresh` reuses a segment's reader by segment id alone, so it keeps
        serving documents deleted since (and re-adds merged-away segments): reuse only readers whose segment
        and deletions are both unchanged."""
        toc = self.ix._read_toc()
        reusable: dict[tuple[str, int], object] = {}
        if previous is not None:
            for r, _ in previous.reader().leaf_readers():
                seg = r.segment()
                if seg is not None:
                    reusable[(seg.segment_id(), seg.deleted_count())] = r
        if not toc.segments:
            reader = EmptyReader(toc.schema)
        else:
            readers = [
                reusable.pop((seg.segment_id(), seg.deleted_count()), None)
                or SegmentReader(self.ix.storage, toc.schema, seg, generation=toc.generation)
                for seg in toc.segments
            ]
            reader = readers[0] if len(readers) == 1 else MultiReader(readers, generation=toc.generation)
        for stale in reusable.values():
            stale.close()  # type: ignore[attr-defined]
        return Searcher(reader, fromindex=self.ix)

    def checkpoint(self) -> int:
        doc = self.searcher().document(docid=CHECKPOINT_DOC)
        return int(doc["checkpoint"]) if doc else 0

    def current_doc(self, article_id: str, s: Searcher | None = None) -> DocState | None:
        s = s or self.searcher()
        for f in s.documents(id=article_id):
            if f.get("valid_to") == FOREVER:
                return DocState.from_stored(f)
        return None

    # --- catching up ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _catchup_lock(self) -> Iterator[None]:
        with self._mutex:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def catch_up(self, head: int | None = None) -> int:
        """Apply the log up to `head` (default: the log's head now); returns the checkpoint reached."""
        target = self.log.head() if head is None else head
        if self.checkpoint() >= target:
            return self.checkpoint()
        with self._catchup_lock():
            cp = self.checkpoint()  # another process may have done it while we waited
            if cp >= target:
                return cp
            for chunk in iter_chunks(self.log.read(after=cp, until=target), CHUNK):
                self._apply(chunk)
            return self.checkpoint()

    def _apply(self, records: list[ev.Record]) -> None:
        s = self.searcher()
        working: dict[str, DocState] = {}
        loaded: set[str] = set()  # docids that exist in the index and must be replaced, not added
        closed: list[DocState] = []
        bodies: dict[int, str] = {}
        for r in records:
            e = r.event
            if not isinstance(e, ev.ARTICLE_EVENTS):
                continue
            if isinstance(e, ev.ArticlePublished | ev.ArticleRevised):
                bodies[r.position] = e.body
            st = working.get(r.stream)
            if st is None and not (isinstance(e, ev.ArticlePublished) and r.version == 1):
                st = self.current_doc(r.stream, s)
                if st is not None:
                    loaded.add(st.docid)
            if st is None:
                if not isinstance(e, ev.ArticlePublished):
                    continue  # an event for an article the log never published: nothing to index
                st = DocState(id=r.stream, title=e.title, content_position=r.position,
                              first_position=r.position, valid_from=naive_utc(r.recorded_at), version=0)
            elif r.version <= st.version:
                continue  # already applied
            elif st.valid_from != naive_utc(r.recorded_at):
                # A new commit changes the article: the version so far ends here, a new one begins.
                closed.append(replace(st, valid_to=naive_utc(r.recorded_at), urls=list(st.urls),
                                      tags=list(st.tags)))
                st = replace(st, first_position=r.position, valid_from=naive_utc(r.recorded_at),
                             urls=list(st.urls), tags=list(st.tags))
            apply_event(st, r)
            working[r.stream] = st
        with self.ix.writer(limitmb=128) as w:
            for doc in [*closed, *working.values()]:
                body = bodies.get(doc.content_position)
                if body is None:
                    content = self.log.get(doc.content_position).event
                    body = getattr(content, "body", "")
                    bodies[doc.content_position] = body
                fields = self._fields(doc, body)
                if doc.docid in loaded:
                    w.update_document(**fields)
                else:
                    w.add_document(**fields)
            w.update_document(docid=CHECKPOINT_DOC, checkpoint=records[-1].position)

    @staticmethod
    def _fields(d: DocState, body: str) -> dict:  # type: ignore[type-arg]
        published = dt.datetime(d.published.year, d.published.month, d.published.day) if d.published else None
        f = dict(
            docid=d.docid, id=d.id, title=d.title, body=body, url=" ".join(d.urls), url_current=d.url,
            urls_all=list(d.urls), publisher=d.publisher or "", publisher_facet=d.publisher or "",
            status=d.status, tag=",".join(d.tags), current="1" if d.valid_to == FOREVER else "0",
            valid_from=d.valid_from, valid_to=d.valid_to, first_position=d.first_position,
            content_position=d.content_position, version=d.version,
            event_date=published or d.valid_from,
            spell=" ".join(set(_WORDS.findall(f"{d.title} {body[:SPELL_CHARS]}".lower()))),
        )
        if published is not None:
            f["published"] = published
            f["year"] = str(published.year)
        return f

    # --- upkeep -----------------------------------------------------------------------------------------

    def rebuild(self) -> int:
        """Throw the index away and apply the whole log again."""
        with self._catchup_lock():
            self.close()
            shutil.rmtree(self.root, ignore_errors=True)
            self.root.mkdir(parents=True)
            self.ix = whoosh_index.create_in(str(self.root), build_schema())
        return self.catch_up()

    def doc_count(self, *, current_only: bool = True) -> int:
        s = self.searcher()
        if not current_only:
            return s.doc_count() - 1
        from whoosh.query import Term

        return len(s.search(Term("current", "1"), limit=None, scored=False))

    def close(self) -> None:
        with self._mutex:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None


def iter_chunks(records: Iterable[ev.Record], size: int) -> Iterator[list[ev.Record]]:
    chunk: list[ev.Record] = []
    for r in records:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
