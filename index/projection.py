"""The search index as a projection of the log.

The index holds the last log position it applied (a checkpoint document written in the same Whoosh commit
as the documents it covers, so the two can never disagree). Catching up reads the log after it. Writers
across processes take `index/LOCK.catchup` (an OS lock) first, so one process applies a stretch of the log
while any other that needs the index waits for it, then finds nothing left to do. Delete the folder and the
next open rebuilds the same index from the log.

Opened `readonly` (by a user who may only read the archive) it writes nothing and takes no lock: it searches
the index on disk as writers left it, however far behind the log that is (`lag`; writers catch it up at every
append, so it lags only while a writer's bulk load runs or after a catch-up failed). When there is no index
on disk, or one that does not fit the log, it builds a private one in memory from the log instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import re
import shutil
import sys
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path

import msgspec
import numpy as np
from whoosh import columns as whoosh_columns
from whoosh import index as whoosh_index
from whoosh.codec import whoosh3
from whoosh.filedb.filestore import RamStorage
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.writing import SegmentWriter

from index import postings
from index.engine import warm
from index.schema import CHECKPOINT_DOC, FACETS, FOREVER, INDEX_FORMAT, build_schema, join_tags
from index.writing import TermMpWriter, TermSegmentWriter
from store import events as ev
from store.article import Article, fold
from store.days import naive_utc
from store.log import Log, record_hash

CHUNK = int(os.environ.get("ARCHIVIST_INDEX_CHUNK", 2000))  # records per commit while catching up
LIMITMB = int(os.environ.get("ARCHIVIST_INDEX_LIMITMB", 256))  # posting pool of a bulk catch-up (RSS lever)
SMALL_SEGMENT = 1000  # ordinary commits merge only segments smaller than this (a bulk commit writes ~3,000)
MERGE_BUDGET = 1000  # … and at most this many documents at once, so no commit stalls writers for long
MERGE_AFTER = 8  # … once this many small segments have gathered
# Writer processes of a bulk catch-up (a rebuild, a folder ingest): each writes its own segment of every
# commit (index/writing.py TermMpWriter); a process that runs other threads (the TUI, the watcher) stays
# with one, as forking it could copy a lock another thread holds.
PROCS = int(os.environ.get("ARCHIVIST_INDEX_PROCS", min(2, os.cpu_count() or 1)))
PROCS_BATCH = 100  # documents handed to a writer process at a time
PROCS_AFTER = 500  # records: a shorter stretch of the log is indexed in this process
# Segments as separate files, not one compound file: Whoosh-Reloaded opens a compound segment's parts as
# `BufferFile(memoryview)`, which wraps them in `BytesIO` -- a full in-memory copy of every segment's terms
# and postings on each open (1.3 s and ~the index's size in RSS at 20k articles).
COMPOUND = os.environ.get("ARCHIVIST_INDEX_COMPOUND", "0") == "1"
# The search engine's decoded postings of new segments are written when a catch-up commits them (1) or left
# to the first search that needs them (0); either way once per segment (index/postings.py).
SIDECARS_AT_COMMIT = os.environ.get("ARCHIVIST_INDEX_SIDECARS_AT_COMMIT", "1") == "1"
# "terms": postings gathered per term and written by block (index/writing.py); "whoosh": Whoosh's own writer
WRITER = os.environ.get("ARCHIVIST_INDEX_WRITER", "terms")
SPELL_CHARS = int(os.environ.get("ARCHIVIST_INDEX_SPELL_CHARS", 2000))  # how much of a body feeds "did you mean"
_WORDS = re.compile(r"[^\W\d_]{3,}")
_log = logging.getLogger("archivist.index")


def _cached_reader(self, fieldname, column):  # type: ignore[no-untyped-def]
    """Whoosh's `W3PerDocReader._cached_reader` remembers only the columns it found: for every field without
    a lengths column (ID, KEYWORD, unscored) it asks the filesystem again, once per posting while a segment
    is written (596k `stat` calls for 2,000 articles). Segment files never change once written, so
    remember the misses too."""
    try:
        return self._readers[fieldname]
    except KeyError:
        pass
    reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
    self._readers[fieldname] = reader
    return reader


whoosh3.W3PerDocReader._cached_reader = _cached_reader


@dataclass
class DocState:
    """One article version as the index stores it: the model's article (`store.article`) and the interval
    of recorded time in which it was current."""

    article: Article
    first_position: int
    valid_from: dt.datetime
    valid_to: dt.datetime = FOREVER

    @property
    def docid(self) -> str:
        return f"{self.article.id}@{self.first_position}"

    # the article's fields, read through (the document fields are derived from them)
    id = property(lambda self: self.article.id)
    title = property(lambda self: self.article.title)
    url = property(lambda self: self.article.url)
    publisher = property(lambda self: self.article.publisher)
    status = property(lambda self: self.article.status)
    tags = property(lambda self: self.article.tags)
    published = property(lambda self: self.article.published)
    version = property(lambda self: self.article.version)
    content_position = property(lambda self: self.article.content_position)

    @property
    def urls(self) -> list[str]:
        return self.article.addresses()

    @classmethod
    def from_stored(cls, f: dict) -> DocState:  # type: ignore[type-arg]
        return cls(article=decode_article(f["article"]), first_position=f["first_position"],
                   valid_from=f["valid_from"], valid_to=f.get("valid_to", FOREVER))


_article_encoder = msgspec.msgpack.Encoder()
_article_decoder = msgspec.msgpack.Decoder(Article)


def encode_article(a: Article) -> bytes:
    return _article_encoder.encode(a)


def decode_article(data: bytes) -> Article:
    return _article_decoder.decode(data)


# stored fields of a document that are derived from its article (the others are the version's interval)
DERIVED_STORED = ("id", "title", "url_current", "urls_all", "publisher", "status", "tag", "published",
                  "version", "content_position")


def document_differences(stored: dict) -> list[tuple[str, object, object]]:  # type: ignore[type-arg]
    """(field, stored value, value its article gives) for each stored field of an index document that
    disagrees with the article the document stores (`verify` then compares that article with the state's)."""
    want = SearchIndex._fields(DocState.from_stored(stored), "", "")
    return [(k, stored.get(k), want.get(k)) for k in DERIVED_STORED if (stored.get(k) or None) != (want.get(k) or None)]


def apply_event(st: DocState, r: ev.Record) -> None:
    """The model's fold, applied to the article of an index document."""
    a = fold(st.article, r)
    if a is not None:
        st.article = a


class SearchIndex:
    """The Whoosh index in `root`, kept up to date with `log`."""

    def __init__(self, root: Path, log: Log, *, readonly: bool = False) -> None:
        self.root = root
        self.log = log
        self.readonly = readonly
        self.private = False  # a read-only user's own index, in memory (no usable one on disk)
        self._mutex = threading.RLock()
        self._searcher: Searcher | None = None
        self._generation = 0  # bumps at every searcher reopen: keys the caches below
        self._seen: tuple[int, int, int] | None = None  # the index folder when the searcher was last current
        self._views: dict[object, object] = {}  # per searcher: column arrays, filter doc sets
        self._results: OrderedDict[object, object] = OrderedDict()  # small LRU of finished answers
        self._spell_known: set[str] | None = None  # the "did you mean" field's words, as of _spell_gen
        # how a long catch-up (a rebuild, a bulk load) reports: progress(events) -> context giving advance(n)
        self.progress: Callable[[int], AbstractContextManager[Callable[[int], None]]] | None = None
        self._spell_gen: int | None = None
        if readonly:
            self._open_readonly()
            return
        root.mkdir(parents=True, exist_ok=True)
        self._lock_path = root.parent / "index.lock"
        with self._catchup_lock():
            if whoosh_index.exists_in(str(root)):
                self.ix = whoosh_index.open_dir(str(root))
                self._rebuild_if_misfit()
            else:
                self.ix = whoosh_index.create_in(str(root), build_schema())

    def _open_readonly(self) -> None:
        if whoosh_index.exists_in(str(self.root)):
            self.ix = whoosh_index.open_dir(str(self.root), readonly=True)
            why = self.misfit()
            if why is None:
                return
            self.ix.close()
            _log.warning("archivist: the search index does not match the log (%s): searching an index built "
                         "in memory from the log (a writer's next command rebuilds it on disk)", why)
        self.private = True
        self.ix = RamStorage().create_index(build_schema())

    def lag(self) -> int:
        """Events of the log the index has not applied: 0 after a `catch_up`, unless opened read-only."""
        return max(self.log.head() - self.checkpoint(), 0)

    # --- reading ----------------------------------------------------------------------------------------

    def searcher(self) -> Searcher:
        """A searcher on the newest commit, reopening only the segments that changed."""
        with self._mutex:
            if self._searcher is None or not self._up_to_date(self._searcher):
                self._searcher = self._open_searcher(self._searcher)
                self._generation += 1
                self._views.clear()
                self._results.clear()
            return self._searcher

    def _up_to_date(self, s: Searcher) -> bool:
        """Whoosh's check lists the index folder (every search asks, twice); while the folder's modification
        time stays what it was at the last check that found the searcher current, nothing was committed since.
        Only a time well in the past is trusted: a commit within the same clock tick would not move it."""
        if self.private:
            return s.up_to_date()  # type: ignore[no-any-return]
        try:
            st = os.stat(self.root)
        except OSError:
            return s.up_to_date()  # type: ignore[no-any-return]
        seen = (st.st_mtime_ns, st.st_ino, id(s))
        if seen == self._seen:
            return True
        if not s.up_to_date():
            return False
        if time.time_ns() - st.st_mtime_ns > 1_000_000_000:
            self._seen = seen
        return True

    # --- per-searcher caches (the index is immutable between commits, so each is valid until a reopen) ---

    RESULTS_CACHE = 256

    def cached(self, key: object, compute):  # type: ignore[no-untyped-def]
        """`compute()` once per searcher generation for `key` (a results LRU)."""
        with self._mutex:
            self.searcher()  # reopens (and bumps the generation) when anyone committed since
            full = (self._generation, key)
            hit = self._results.get(full)
            if hit is not None:
                self._results.move_to_end(full)
                return hit
        value = compute()
        with self._mutex:
            if full[0] == self._generation:
                self._results[full] = value
                while len(self._results) > self.RESULTS_CACHE:
                    self._results.popitem(last=False)
        return value

    def clear_cache(self) -> None:
        """Forget cached answers (benchmarks measure cache misses with this)."""
        with self._mutex:
            self._results.clear()

    def view(self, key: object, compute, s: Searcher | None = None):  # type: ignore[no-untyped-def]
        """A per-searcher memo (filter doc sets, column arrays) for `s` (default: the current searcher):
        computed once per reopen; never mixed across searchers, whose docnums differ."""
        with self._mutex:
            current = self.searcher() if s is None else s
            if current is not self._searcher:
                return compute(current)  # an older searcher than the newest: do not cache
            v = self._views.get(key)
            if v is None:
                v = self._views[key] = compute(current)
                if len(self._views) > 64:
                    self._views.pop(next(k for k in self._views if k != key))
            return v

    def column(self, field: str, s: Searcher | None = None) -> list:  # type: ignore[type-arg]
        """The field's column value of every document (global docnums) of searcher `s` (default: current)."""
        return self.view(("column", field), lambda s: _column_values(s.reader(), field), s)

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
        """The last log position the index applied (read once per searcher generation: every search asks)."""
        return self.view(("checkpoint",), _checkpoint_of)  # type: ignore[no-any-return]

    def anchor_at(self, position: int) -> str:
        """The hash (hex) of the log record at `position`: what a checkpoint there is anchored to."""
        for _, payload in self.log.read_raw(position - 1, position):
            return record_hash(payload).hex()
        return ""

    def misfit(self) -> str | None:
        """Why the index on disk is not a projection of this log's first records (None when it is): written
        in another index format, or its checkpoint is beyond the log's head (a log restored from an older
        backup, a lost write) or anchored to a record this log does not have."""
        names = set(self.ix.schema.names())
        if not {"anchor", "format", "article"} <= names:
            return "it was written by an older version of archivist"
        with self.ix.searcher() as s:
            doc = s.document(docid=CHECKPOINT_DOC)
            empty = s.doc_count() == 0
        if doc is None:
            return None if empty else "it has no checkpoint"
        if doc.get("format") != INDEX_FORMAT:
            return f"it is in index format {doc.get('format')}, this version of archivist writes {INDEX_FORMAT}"
        cp, head = int(doc["checkpoint"]), self.log.head()
        if cp > head:
            return f"it has applied the log up to position {cp}, but the log ends at position {head}"
        if doc.get("anchor") != self.anchor_at(cp):
            return f"the log's record at position {cp} is not the one it applied"
        return None

    def _rebuild_if_misfit(self) -> bool:
        """Throw away an index that does not fit the log (said once, on stderr); the next catch-up builds
        it again from the log. The caller holds the catch-up lock."""
        why = self.misfit()
        if why is None:
            return False
        _log.warning("archivist: the search index does not match the log (%s): rebuilding it from the log", why)
        self._recreate()
        return True

    def _recreate(self) -> None:
        self.close()
        self.ix.close()
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        self.ix = whoosh_index.create_in(str(self.root), build_schema())
        self._spell_known = None

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
            if self.private:  # this process's own index: no other process to wait for
                yield
                return
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def catch_up(self, head: int | None = None) -> int:
        """Apply the log up to `head` (default: the log's head now); returns the checkpoint reached.

        A short stretch (what one append brings) is one Whoosh commit. A long one (a rebuild, a bulk
        ingest) runs one writer across many chunks of the log and commits only when the writer's posting
        pool is about to spill to disk (Whoosh's external sort pickles every posting: measured 1.7x slower
        than staying in memory) -- a segment of several thousand articles per commit, each with its
        checkpoint, so a crash keeps the progress made. Bulk commits do not merge segments (a Whoosh merge
        re-pools every posting); later small commits merge only the small segments.
        """
        target = self.log.head() if head is None else head
        cp = self.checkpoint()
        if cp == target or (cp > target and head is not None) or (self.readonly and not self.private):
            return cp
        with self._catchup_lock():
            if cp > target:  # beyond the log's head: the log lost records the index had applied
                self._rebuild_if_misfit()
            cp = self.checkpoint()  # another process may have done it while we waited
            if cp >= target:
                return cp
            procs = PROCS if target - cp > PROCS_AFTER else 1
            batch = _Batch(self, bulk=target - cp > CHUNK, procs=procs)
            reported = self.progress(target - cp) if self.progress is not None and target - cp > CHUNK \
                else contextlib.nullcontext(None)
            try:
                with reported as advance:
                    for chunk in iter_chunks(self.log.read(after=cp, until=target), CHUNK):
                        batch.add(chunk)
                        if batch.full():
                            batch.commit()
                            batch = _Batch(self, bulk=True, procs=procs)
                        if advance is not None:
                            advance(len(chunk))
                    batch.commit()
            except BaseException:
                batch.cancel()
                raise
            cp = self.checkpoint()
        if SIDECARS_AT_COMMIT:  # the new segments' postings and facet codes now, not at the first search
            s = self.searcher()
            warm(s)
            for reader, _offset in s.reader().leaf_readers():
                if reader.doc_count_all():
                    for field in FACETS.values():
                        segment_codes(reader, field)
        return cp

    def _apply(self, records: list[ev.Record]) -> None:
        """Apply one stretch of records in one commit (tests and tools call this directly)."""
        batch = _Batch(self, bulk=False)
        try:
            batch.add(records)
            batch.commit()
        except BaseException:
            batch.cancel()
            raise

    def _spell_words(self, d: DocState, body: str, replacing: bool, known: set[str] | None = None) -> str:
        """The surface words of a document the "did you mean" field does not know yet (all of them when the
        document replaces one): the corrector needs each word in the field, not in every document
        (measured: the field cost ~40 % of the build when every document carried its ~200 words)."""
        words = set(_WORDS.findall(f"{d.title} {body[:SPELL_CHARS]}".lower()))
        if known is None:
            known = self._known_words()
        if not replacing:
            words -= known
        known |= words
        return " ".join(words)

    def _known_words(self) -> set[str]:
        known = self._spell_known
        gen = self.ix.latest_generation()
        if known is None or self._spell_gen != gen:
            # another process may have committed words since: read the field's vocabulary again
            s = self.searcher()
            known = {t.decode("utf-8") if isinstance(t, bytes) else t for t in s.reader().lexicon("spell")}
            self._spell_known = known
            self._spell_gen = gen
        return known

    @staticmethod
    def _fields(d: DocState, body: str, spell: str | None = None) -> dict:  # type: ignore[type-arg]
        published = dt.datetime(d.published.year, d.published.month, d.published.day) if d.published else None
        f = dict(
            docid=d.docid, id=d.id, title=d.title, body=body, url=" ".join(d.urls), url_current=d.url,
            urls_all=list(d.urls), publisher=d.publisher or "", publisher_facet=d.publisher or "",
            status=d.status, tag=join_tags(d.tags), current="1" if d.valid_to == FOREVER else "0",
            valid_from=d.valid_from, valid_to=d.valid_to, first_position=d.first_position,
            content_position=d.content_position, version=d.version, article=encode_article(d.article),
            event_date=published or d.valid_from,
            spell=spell if spell is not None else " ".join(set(_WORDS.findall(
                f"{d.title} {body[:SPELL_CHARS]}".lower()))),
        )
        if published is not None:
            f["published"] = published
            f["year"] = str(published.year)
        return f

    # --- upkeep -----------------------------------------------------------------------------------------

    def rebuild(self) -> int:
        """Throw the index away and apply the whole log again."""
        with self._catchup_lock():
            self._recreate()
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


def _checkpoint_of(s: Searcher) -> int:
    doc = s.document(docid=CHECKPOINT_DOC)
    return int(doc["checkpoint"]) if doc else 0


def _merge_small(writer, segments):  # type: ignore[no-untyped-def]
    """Merge policy of ordinary commits: once MERGE_AFTER small segments (the watcher's and the TUI's
    one-article commits) have gathered, fold the smallest together, at most MERGE_BUDGET documents. Segments
    a bulk catch-up wrote are never touched: merging them re-pools every posting, minutes at 100k articles
    while every writer and searcher waits for the catch-up lock."""
    from whoosh.reading import SegmentReader

    small = sorted((seg for seg in segments if seg.doc_count_all() < SMALL_SEGMENT), key=lambda s: s.doc_count_all())
    if len(small) < MERGE_AFTER:
        return segments
    pick, total = [], 0
    for seg in small:
        if len(pick) >= 2 and total + seg.doc_count_all() > MERGE_BUDGET:
            break
        pick.append(seg)
        total += seg.doc_count_all()
    for seg in pick:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    return [seg for seg in segments if seg not in pick]


def _open_writer(ix, **kw):  # type: ignore[no-untyped-def]
    """`ix.writer()`, except that a failure while the writer creates its files (ENOSPC, EIO) releases the
    index's WRITELOCK: Whoosh's SegmentWriter takes the lock first and, when its constructor then raises,
    nothing ever releases it -- every later catch-up in this process, and in any other, gets LockError."""
    lock = ix.lock("WRITELOCK")
    if not lock.acquire():
        raise whoosh_index.LockError
    try:
        if "procs" in kw:
            writer = TermMpWriter(ix, _lk=False, **kw)
        else:
            writer = (TermSegmentWriter if WRITER == "terms" else SegmentWriter)(ix, _lk=False, **kw)
    except BaseException:
        lock.release()
        raise
    writer.writelock = lock  # released by commit() / cancel() as usual
    return writer


class _Batch:
    """One Whoosh writer applying log records: the article versions it closes are written as they close;
    the open (current) version of each article touched is written at commit, so an article changed again
    in a later chunk of the same batch is never written twice (Whoosh cannot update a document added by
    the same writer: `update_document` twice leaves two)."""

    def __init__(self, index: SearchIndex, *, bulk: bool, procs: int = 1) -> None:
        self.index = index
        self.bulk = bulk
        self.searcher = index.searcher()
        self.working: dict[str, DocState] = {}
        self.loaded: set[str] = set()  # docids that exist in the index and must be replaced, not added
        self.bodies: dict[int, str] = {}
        self.pending_chars: dict[str, int] = {}  # text size of each open version not written yet
        self.pending_total = 0
        self.last = 0
        doc = self.searcher.document(docid=CHECKPOINT_DOC)
        self.applied = int(doc["checkpoint"]) if doc else 0  # records up to here are in the index already
        kw: dict = {"limitmb": LIMITMB if bulk else 128, "compound": COMPOUND}  # type: ignore[type-arg]
        self.procs = procs if procs > 1 and threading.active_count() == 1 and WRITER == "terms" else 1
        if self.procs > 1:
            kw.update(procs=self.procs, batchsize=PROCS_BATCH)
        self.writer = _open_writer(index.ix, **kw)
        self.known_words = index._known_words()

    def add(self, records: list[ev.Record]) -> None:
        ix = self.index
        working, bodies = self.working, self.bodies
        records = [r for r in records if r.position > self.applied]  # applying twice changes nothing
        for r in records:
            e = r.event
            if not isinstance(e, ev.ARTICLE_EVENTS):
                continue
            if isinstance(e, ev.ArticlePublished | ev.ArticleRevised):
                bodies[r.position] = e.body
            st = working.get(r.stream)
            if st is None and not (isinstance(e, ev.ArticlePublished) and r.version == 1):
                st = ix.current_doc(r.stream, self.searcher)
                if st is not None:
                    self.loaded.add(st.docid)
            if st is None:
                article = fold(None, r)
                if article is None:
                    continue  # an event for an article the log never published: nothing to index
                st = DocState(article=article, first_position=r.position, valid_from=naive_utc(r.recorded_at))
            elif r.version <= st.version:
                continue  # already applied
            else:
                if st.valid_from != naive_utc(r.recorded_at):
                    # A new commit changes the article: the version so far ends here, a new one begins.
                    self._write(replace(st, valid_to=naive_utc(r.recorded_at)))
                    st = replace(st, article=st.article.copy(), first_position=r.position,
                                 valid_from=naive_utc(r.recorded_at))
                apply_event(st, r)
            working[r.stream] = st
            if isinstance(e, ev.ArticlePublished | ev.ArticleRevised):
                size = len(e.body) + len(e.title) + 200
                self.pending_total += size - self.pending_chars.get(r.stream, 0)
                self.pending_chars[r.stream] = size
        if records:
            self.last = records[-1].position

    def _write(self, doc: DocState) -> None:
        body = self.bodies.get(doc.content_position)
        if body is None:
            content = self.index.log.get(doc.content_position).event
            body = getattr(content, "body", "")
            self.bodies[doc.content_position] = body
        replacing = doc.docid in self.loaded
        fields = self.index._fields(doc, body, self.index._spell_words(doc, body, replacing, self.known_words))
        if replacing:
            self.writer.update_document(**fields)
        else:
            self.writer.add_document(**fields)

    POOL_BYTES_PER_CHAR = 30  # Whoosh's posting-pool estimate per character of text (measured ~28 at 2.3 KB)

    def full(self) -> bool:
        """Commit before the writer's posting pool spills to disk: the pool holds the versions closed so
        far; the open versions (most of a bulk load) are written at commit, so count their text too."""
        pool = getattr(self.writer, "pool", None)
        if pool is None:
            return False
        # several processes: each holds a pool of its share of the documents
        return pool.currentsize + self.pending_total * self.POOL_BYTES_PER_CHAR > pool.limit * 0.8 * self.procs

    def commit(self) -> None:
        if not self.last:
            self.writer.cancel()
            return
        for doc in self.working.values():
            self._write(doc)
        self.writer.update_document(docid=CHECKPOINT_DOC, checkpoint=self.last,
                                    anchor=self.index.anchor_at(self.last), format=INDEX_FORMAT)
        if self.bulk:
            self.writer.commit(merge=False)
        else:
            self.writer.commit(mergetype=_merge_small)

    def cancel(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.cancel()
        lock = getattr(self.writer, "writelock", None)
        if lock is not None and getattr(lock, "fd", None) is not None:  # cancel failed half-way
            with contextlib.suppress(Exception):
                lock.release()
        self.index._spell_known = None  # words counted as known were never committed


def leaf_column(reader, field: str) -> list:  # type: ignore[no-untyped-def, type-arg]
    """One segment's column as a list, read in bulk (Whoosh reads a column one `struct.unpack` per
    document); cached on the segment reader, which survives reopens while its segment is unchanged."""
    cache = reader.__dict__.setdefault("_archivist_columns", {})
    if field in cache:
        return cache[field]
    n = reader.doc_count_all()
    if not reader.has_column(field):
        values: list = [None] * n  # type: ignore[type-arg]
    else:
        cr = reader.column_reader(field, translate=False)
        if isinstance(cr, whoosh_columns.RefBytesColumn.Reader):
            refs = array(cr._typecode, cr._dbfile.get(cr._basepos, n * cr._itemsize))
            if cr._itemsize > 1 and sys.byteorder == "little":
                refs.byteswap()
            uniques = [u.decode("utf-8") if isinstance(u, bytes) else u for u in cr._uniques]
            values = [uniques[r] for r in refs]
        elif isinstance(cr, whoosh_columns.NumericColumn.Reader):
            count = min(cr._count, n)
            nums = array(cr._typecode, cr._dbfile.get(cr._basepos, count * cr._fixedlen))
            if cr._fixedlen > 1 and sys.byteorder == "little":
                nums.byteswap()
            values = list(nums) + [cr._default] * (n - count)
        elif isinstance(cr, whoosh_columns.VarBytesColumn.Reader):
            lengths = cr._lengths
            data = bytes(cr._dbfile.get(cr._basepos, sum(lengths))) if len(lengths) else b""
            memo: dict[bytes, str] = {}
            values = []
            pos = 0
            for ln in lengths:
                raw = data[pos:pos + ln]
                pos += ln
                v = memo.get(raw)
                if v is None:
                    v = memo[raw] = raw.decode("utf-8")
                values.append(v)
            values += [""] * (n - len(values))
        else:
            values = list(cr)
    cache[field] = values
    return values


CODES_SUFFIX = ".facetcodes"
_CODES_MAGIC = b"ARCHFC01"


def segment_codes(reader, field: str) -> tuple[list[str], np.ndarray]:  # type: ignore[no-untyped-def]
    """One segment's column as (its distinct values as text, in order of first appearance; each document's
    index into them, uint32). Computed once per segment from `leaf_column` and kept beside it
    (`<segment id>.facetcodes`, written atomically, refused when made for another segment), so a fresh
    process counts facets without turning every document's value into a Python object (~40 ms a column
    per 100k documents, every time a process opened the index or a commit reopened it)."""
    cache = reader.__dict__.setdefault("_archivist_codes", {})
    got = cache.get(field)
    if got is None:
        got = cache[field] = _segment_codes(reader, field)
    return got  # type: ignore[no-any-return]


def _segment_codes(reader, field: str) -> tuple[list[str], np.ndarray]:  # type: ignore[no-untyped-def]
    seg = reader.segment()
    n = reader.doc_count_all()
    folder = getattr(reader.storage(), "folder", None)
    path = Path(folder) / (seg.segment_id() + CODES_SUFFIX) if folder is not None else None
    identity = {"format": 1, "segment": seg.segment_id(), "docs": n}
    kept: dict[str, tuple[list[str], np.ndarray]] = {}
    if path is not None:
        got = postings.read_with_header(path, _CODES_MAGIC)
        if got is not None:
            header, mm, base = got
            try:
                if all(header.get(k) == v for k, v in identity.items()):
                    for name, (values, offset) in header["fields"].items():
                        if base + offset + 4 * n > len(mm):
                            raise ValueError("torn")
                        kept[name] = (values, np.frombuffer(mm, dtype="<u4", count=n, offset=base + offset))
            except (ValueError, KeyError, TypeError):
                kept = {}
    if field in kept:
        return kept[field]
    if getattr(reader.storage(), "readonly", False):  # a reader writes nothing: counted from memory
        path = None
    col = leaf_column(reader, field)
    first: dict[object, int] = {}
    for v in col:
        if v not in first:
            first[v] = len(first)
    text: dict[str, int] = {}
    remap = np.fromiter((text.setdefault(str(v) if v not in (None, "", b"") else "", len(text)) for v in first),
                        dtype=np.uint32, count=len(first))
    codes = remap[np.fromiter(map(first.__getitem__, col), dtype=np.int64, count=len(col))] if col else \
        np.zeros(0, dtype=np.uint32)
    kept[field] = (list(text), codes.astype("<u4"))
    if path is not None:
        header = {**identity, "fields": {}}
        blobs = []
        offset = 0
        for name, (values, arr) in kept.items():
            header["fields"][name] = [values, offset]
            data = np.ascontiguousarray(arr, dtype="<u4").tobytes()
            data += b"\0" * ((-len(data)) % 8)
            blobs.append(data)
            offset += len(data)
        with contextlib.suppress(OSError):  # a read-only index still counts, from memory
            postings.write_with_header(path, _CODES_MAGIC, header, blobs)
    return kept[field]


def _column_values(reader, field: str) -> list:  # type: ignore[no-untyped-def, type-arg]
    leaves = reader.leaf_readers()
    if len(leaves) == 1:
        return leaf_column(leaves[0][0], field)
    out: list = []  # type: ignore[type-arg]
    for r, _offset in leaves:
        out.extend(leaf_column(r, field))
    return out


def iter_chunks(records: Iterable[ev.Record], size: int) -> Iterator[list[ev.Record]]:
    chunk: list[ev.Record] = []
    for r in records:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
