"""Executing a Whoosh query tree with numpy over the decoded postings of every segment.

Whoosh's collector scores every matching posting in Python; here each node of the query tree becomes whole
array operations over the searcher's documents (global docnums): a term is its postings scored by BM25F
exactly as Whoosh's `BM25FScorer` does (the same idf and average length, asked of Whoosh; the same 1-byte
quantised lengths; the stored weight as tf), an Or sums its parts, an And sums them where all match, AndMaybe
adds the optional part where it matches, AndNot removes, boosts multiply -- each as Whoosh's matchers score.
Prefix and fuzzy terms expand through each segment's own lexicon, with Whoosh's own `_btexts`, and score as
Whoosh does (one term: that term; several: their sum times the boost). Date ranges are cached document sets.

What is not handled here is executed by Whoosh's own matcher for that subtree, on the documents that can
still matter: phrases (`Sequence`, whose positions only Whoosh reads) are checked only on the documents that
have every word and survive the filters; any other node type on every document. So each answer is Whoosh's
by construction or by the same arithmetic, and `tests/test_fast_sameness.py` checks it on random corpora.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from math import log

import numpy as np
from whoosh import query as Q
from whoosh import scoring
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.searching import Searcher

from index.phrases import TermPositions, chain_keys, pair_keys, plain_parts, position_keys, pst_buffer, tree
from index.postings import (
    DECODED,
    FieldPostings,
    LayoutError,
    field_lengths,
    matcher_postings,
    segment_postings,
)

Result = tuple[np.ndarray, np.ndarray]  # (bool mask, float64 scores) over the searcher's documents


class _Segment:
    def __init__(self, reader, searcher: Searcher, offset: int) -> None:  # type: ignore[no-untyped-def]
        self.reader = reader
        self.searcher = searcher
        self.offset = offset
        self.n = reader.doc_count_all()
        self._postings: dict[str, FieldPostings] | None = None

    def postings(self) -> dict[str, FieldPostings]:
        if self._postings is None:
            cache = self.reader.__dict__.setdefault("_archivist_postings", {})
            got = cache.get(DECODED)
            if got is None:
                got = cache[DECODED] = segment_postings(self.reader, DECODED)
            self._postings = got
        return self._postings

    def term(self, field: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(local docnums, weights) of a term in this segment, deleted documents included."""
        if field in DECODED:
            return self.postings()[field].postings(tbytes)
        terms = self.reader._terms
        try:
            ti = terms.term_info(field, tbytes)
        except TermNotFound:
            return None
        if ti.is_inlined():
            ids, ws, _ = ti.inlined_postings()
            return np.asarray(ids, dtype=np.uint32), np.asarray(ws, dtype=np.float64)
        ids_, wts = matcher_postings(self.reader, field, tbytes)
        return np.asarray(ids_, dtype=np.uint32), np.asarray(wts, dtype=np.float64)


class Executor:
    """Runs queries for one searcher (one index generation): build it once per searcher and reuse it."""

    def __init__(self, searcher: Searcher, range_docs: Callable) -> None:  # type: ignore[type-arg]
        self.s = searcher
        self.range_docs = range_docs  # (segment searcher, DateRange) -> local docnums (cached per segment)
        self.size = searcher.doc_count_all()
        self.segments = [_Segment(ss.reader(), ss, off) for ss, off in searcher.leaf_searchers()
                         if isinstance(ss.reader(), SegmentReader)]  # an empty index has an EmptyReader
        self._lock = threading.Lock()
        self._lengths: dict[str, np.ndarray] = {}
        self._idfs: dict[tuple[str, bytes], float] = {}
        self._local = threading.local()  # per-run memo of term results (one executor serves many threads)
        alive = np.ones(self.size, dtype=bool)
        for seg in self.segments:
            if seg.reader.has_deletions():
                dead = np.fromiter(seg.reader.deleted_docs_set, dtype=np.int64)
                alive[seg.offset + dead] = False
        self.alive = alive
        w = searcher.weighting
        self.bm25 = w if type(w) is scoring.BM25F else None
        self.context = searcher.context()

    @property
    def supported(self) -> bool:
        return self.bm25 is not None

    def warm(self) -> None:
        """Decode (or map) every segment's postings now rather than at the first query."""
        for seg in self.segments:
            seg.postings()

    # --- leaves -----------------------------------------------------------------------------------------

    def _field_lengths(self, field: str) -> np.ndarray:
        got = self._lengths.get(field)
        if got is None:
            parts = []
            for seg in self.segments:
                cache = seg.reader.__dict__.setdefault("_archivist_lengths", {})
                if field not in cache:
                    cache[field] = field_lengths(seg.reader, field)
                parts.append(cache[field])
            got = self._lengths[field] = np.concatenate(parts) if parts else np.zeros(0)
        return got

    def _empty(self) -> Result:
        return np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64)

    def _term_docs(self, field: str, tbytes: bytes, segs: list[_Segment] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        docs: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        for seg in self.segments if segs is None else segs:
            got = seg.term(field, tbytes)
            if got is not None and len(got[0]):
                docs.append(got[0].astype(np.int64) + seg.offset)
                weights.append(got[1])
        if not docs:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(docs), np.concatenate(weights).astype(np.float64)

    def _idf(self, field: str, tbytes: bytes) -> float:
        """Whoosh's `WeightingModel.idf` over the whole searcher: its document frequency counts postings of
        deleted documents too, like the document count."""
        key = (field, tbytes)
        got = self._idfs.get(key)
        if got is None:
            df = 0
            for seg in self.segments:
                p = seg.term(field, tbytes)
                if p is not None:
                    df += len(p[0])
            got = self._idfs[key] = log(self.size / (df + 1)) + 1
        return got

    def _term_scores(self, field: str, tbytes: bytes, docs: np.ndarray, tf: np.ndarray) -> np.ndarray:
        fobj = self.s.schema[field]
        if not fobj.scorable:
            return tf  # Whoosh's WeightScorer: the stored weight
        w = self.bm25
        assert w is not None
        B = w._field_B.get(field, w.B)
        K1 = w.K1
        idf = self._idf(field, tbytes)
        avgfl = self.s.avg_field_length(field) or 1
        fl = self._field_lengths(field)[docs]
        return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))

    def _term_sparse(self, field: str, text, segs: list[_Segment] | None = None  # type: ignore[no-untyped-def]
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(global docnums, scores) of one term, as Whoosh's `Term.matcher` scores it (boost not applied)."""
        if field not in self.s.schema:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        try:
            tbytes = self.s.schema[field].to_bytes(text)
        except ValueError:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        docs, tf = self._term_docs(field, tbytes, segs)
        if not len(docs):
            return docs, tf
        return docs, self._term_scores(field, tbytes, docs, tf)

    def _term(self, field: str, text, boost: float) -> Result:  # type: ignore[no-untyped-def]
        memo = getattr(self._local, "memo", None)
        key = (field, text, boost)
        if memo is not None and key in memo:
            return memo[key]  # type: ignore[no-any-return]  # the all-words bonus asks for each word again
        mask, score = self._empty()
        docs, sc = self._term_sparse(field, text)
        if len(docs):
            mask[docs] = True
            score[docs] = sc * boost if boost != 1.0 else sc
        if memo is not None:
            memo[key] = (mask, score)
        return mask, score

    def _multiterm(self, q: Q.Query) -> Result:
        """Prefix, FuzzyTerm & co: `MultiTerm.matcher` per segment, with the terms of that segment's lexicon:
        one term scores as itself, several as their sum times the query's boost."""
        mask, score = self._empty()
        field = q.field()
        for seg in self.segments:
            words = [w for w in q._btexts(seg.reader) if w]  # type: ignore[attr-defined]
            boost = q.boost if len(words) > 1 else 1.0
            for word in words:
                docs, sc = self._term_sparse(field, word, [seg])
                if len(docs):
                    mask[docs] = True
                    score[docs] += sc * boost if boost != 1.0 else sc
        return mask, score

    def _range(self, q: Q.Query) -> Result:
        mask, score = self._empty()
        for seg in self.segments:
            docs = self.range_docs(seg.searcher, q)
            if len(docs):
                mask[seg.offset + np.asarray(docs, dtype=np.int64)] = True
        score[mask] = q.boost or 1.0  # Whoosh's ListMatcher(all_weights=boost)
        return mask, score

    def _whoosh(self, q: Q.Query, need: np.ndarray | None) -> Result:
        """Whoosh's own matcher for `q`, segment by segment, asked only about the documents in `need`."""
        mask, score = self._empty()
        for seg in self.segments:
            m = q.matcher(seg.searcher, self.context)
            off = seg.offset
            if need is None:
                while m.is_active():
                    d = m.id()
                    mask[off + d] = True
                    score[off + d] = m.score()
                    m.next()
                continue
            cands = np.flatnonzero(need[off:off + seg.n])
            for d in cands.tolist():
                if not m.is_active():
                    break
                if m.id() < d:
                    m.skip_to(d)
                    if not m.is_active():
                        break
                if m.id() == d:
                    mask[off + d] = True
                    score[off + d] = m.score()
        return mask, score

    def _phrase(self, parts: list[tuple[str, list[bytes]]], slop: int, cand: np.ndarray) -> np.ndarray:
        """The candidates whose word positions satisfy Whoosh's span rule for the phrase."""
        mask = np.zeros(self.size, dtype=bool)
        at_once = (len(parts) == 2 and slop <= 8) or slop == 1
        for seg in self.segments:
            local = np.flatnonzero(cand[seg.offset:seg.offset + seg.n])
            if not len(local):
                continue
            buf = pst_buffer(seg.reader)
            cache = seg.reader.__dict__.setdefault("_archivist_positions", {})

            def term_positions(field: str, tbytes: bytes) -> TermPositions | None:
                p = seg.term(field, tbytes)  # noqa: B023 - used within this iteration only
                if p is None or not len(p[0]):
                    return None
                tp = cache.get((field, tbytes))  # noqa: B023
                if tp is None:
                    if len(cache) > 10000:  # noqa: B023
                        cache.clear()  # noqa: B023
                    tp = cache[(field, tbytes)] = TermPositions(seg.reader, field, tbytes, p[0])  # noqa: B023
                return tp

            if at_once:  # (document, position) keys of each part, every candidate at once
                keys = []
                for field, alts in parts:
                    found = []
                    for tbytes in alts:
                        tp = term_positions(field, tbytes)
                        if tp is not None:
                            found.append(position_keys(*tp.position_arrays(buf, local)))
                    # several forms of the word: where any stands
                    keys.append(found[0] if len(found) == 1 else np.unique(np.concatenate(found)) if found
                                else np.zeros(0, dtype=np.int64))
                found_docs = pair_keys(keys[0], keys[1], slop) if len(keys) == 2 else chain_keys(keys)
                mask[seg.offset + found_docs] = True
                continue
            per_part: list[dict[int, Collection[int]]] = []
            for field, alts in parts:
                got: dict[int, Collection[int]] = {}
                for tbytes in alts:
                    tp = term_positions(field, tbytes)
                    if tp is None:
                        continue
                    found_d = tp.positions(buf, local)
                    if not got:
                        got = found_d  # type: ignore[assignment]
                        continue
                    for d, ps in found_d.items():  # several forms of the word: where any stands
                        got[d] = set(got.get(d, ())).union(ps)
                per_part.append(got)
            for d in local.tolist():
                spans = []
                for got in per_part:
                    where = got.get(d)
                    if not where:
                        break
                    spans.append([(x, x) for x in sorted(where)])
                else:
                    if tree(spans, slop):
                        mask[seg.offset + d] = True
        return mask

    # --- the tree -----------------------------------------------------------------------------------------

    def run(self, q: Q.Query, need: np.ndarray | None = None) -> Result:
        """(matching documents, their scores); exact wherever `need` is True (default: everywhere)."""
        self._local.memo = {}
        try:
            mask, score = self._node(q, need)
        finally:
            self._local.memo = None
        mask = mask & self.alive
        return mask, np.where(mask, score, 0.0)

    def _node(self, q: Q.Query, need: np.ndarray | None) -> Result:
        t = type(q)
        if q is Q.NullQuery or isinstance(q, Q.qcore._NullQuery):
            return self._empty()
        if t is Q.Term:
            return self._term(q.fieldname, q.text, q.boost)  # type: ignore[attr-defined]
        if isinstance(q, Q.DateRange):
            return self._range(q)
        if t is Q.Every and q.fieldname in (None, "", "*"):  # type: ignore[attr-defined]
            mask = self.alive.copy()
            score = np.where(mask, q.boost or 1.0, 0.0)
            return mask, score
        if t in (Q.Prefix, Q.FuzzyTerm) and q.text:  # type: ignore[attr-defined]
            return self._multiterm(q)
        if t in (Q.Or, Q.DefaultOr) and not q.scale and q.subqueries:  # type: ignore[attr-defined]
            subs = q.subqueries  # type: ignore[attr-defined]
            if len(subs) == 1:
                return self._node(subs[0], need)  # Whoosh ignores a one-part group's boost
            mask, score = self._node(subs[0], need)
            score = score.copy()
            for sub in subs[1:]:
                m, sc = self._node(sub, need)
                mask = mask | m
                score += sc
            if q.boost != 1.0:
                score *= q.boost
            return mask, score
        if t is Q.And and q.subqueries:  # type: ignore[attr-defined]
            subs = q.subqueries  # type: ignore[attr-defined]
            if len(subs) == 1:
                return self._node(subs[0], need)
            # cheap parts first, so phrases are checked only where everything else matched
            subs = sorted(subs, key=_costly)
            mask, score = self._node(subs[0], need)
            score = score.copy()
            for sub in subs[1:]:
                m, sc = self._node(sub, _narrow(need, mask))
                mask = mask & m
                score += sc
            score[~mask] = 0.0
            if q.boost != 1.0:
                score *= q.boost
            return mask, score
        if t is Q.AndMaybe:
            mask, score = self._node(q.a, need)  # type: ignore[attr-defined]
            m, sc = self._node(q.b, _narrow(need, mask))  # type: ignore[attr-defined]
            return mask, np.where(mask & m, score + sc, score)
        if t is Q.AndNot:
            mask, score = self._node(q.a, need)  # type: ignore[attr-defined]
            m, _ = self._node(q.b, _narrow(need, mask))  # type: ignore[attr-defined]
            mask = mask & ~m
            return mask, np.where(mask, score, 0.0)
        if t is Q.Require:
            mask, score = self._node(q.a, need)  # type: ignore[attr-defined]
            m, _ = self._node(q.b, _narrow(need, mask))  # type: ignore[attr-defined]
            mask = mask & m
            return mask, np.where(mask, score, 0.0)
        if t is Q.Sequence and len(q.subqueries) > 1:  # type: ignore[attr-defined]
            # a phrase: only documents that have every part can match; Whoosh checks positions on those
            cand = need
            total = np.zeros(self.size)
            for sub in q.subqueries:  # type: ignore[attr-defined]
                m, sc = self._node(sub, cand)
                cand = m if cand is None else (cand & m)
                total += sc
            cand = cand & self.alive  # type: ignore[operator]
            parts = plain_parts(q)
            if parts is not None:
                try:
                    mask = self._phrase(parts, q.slop, cand)  # type: ignore[attr-defined]
                    return mask, np.where(mask, total, 0.0)  # Whoosh: the parts' scores, summed
                except LayoutError:
                    pass
            return self._whoosh(q, cand)
        return self._whoosh(q, need)


def warm(searcher: Searcher) -> None:
    """Decode (or map) the postings of every segment of `searcher` now; kept on the segment readers."""
    for ss, off in searcher.leaf_searchers():
        if isinstance(ss.reader(), SegmentReader):
            _Segment(ss.reader(), ss, off).postings()


def _narrow(need: np.ndarray | None, mask: np.ndarray) -> np.ndarray:
    return mask if need is None else (need & mask)


def _costly(q: Q.Query) -> int:
    """Sort key: 1 for subtrees that ask Whoosh's matcher (phrases, unknown nodes), 0 for pure arrays."""
    t = type(q)
    if t in (Q.Term, Q.Every, Q.Prefix, Q.FuzzyTerm) or isinstance(q, Q.DateRange):
        return 0
    if t in (Q.Or, Q.DefaultOr, Q.And, Q.AndMaybe, Q.AndNot, Q.Require):
        return max((_costly(s) for s in q.children()), default=0)
    return 1
