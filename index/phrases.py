"""Phrases (`Sequence` with slop) checked on a few candidate documents, with Whoosh's positions.

Whoosh checks a phrase with a tree of span matchers over every document that has all its words, building a
`Span` object per position. Here the candidate documents are already known (they have every word and pass
the filters); each word's positions are read only for those documents, from the posting blocks that hold
them (decoded blocks are kept, bounded, since the common words' blocks are asked again and again), and the
span rule of Whoosh's `SpanNear.SpanNearMatcher` is applied to plain (start, end) pairs, over the same
binary tree `make_binary_tree` builds. A phrase whose parts are not plain words (a compound word's own
sequence) is left to Whoosh's matcher.
"""

from __future__ import annotations

import io
import itertools
import os
import pickle
import threading
import zlib
from collections import OrderedDict
from collections.abc import Collection

import numpy as np
from whoosh import query as Q
from whoosh.formats import Positions

from index.postings import _INT, LayoutError, _pst_path

BLOCK_CACHE = 4000  # decoded posting blocks kept per process (~10 KB each for a body term)
_blocks: OrderedDict[tuple[str, int], tuple[np.ndarray, tuple]] = OrderedDict()  # type: ignore[type-arg]
_lock = threading.Lock()

Span = tuple[int, int]


def plain_parts(q: Q.Query) -> list[tuple[str, list[bytes]]] | None:
    """Each part of a Sequence as (field, alternative terms), or None when a part is anything else."""
    if type(q) is not Q.Sequence or not q.ordered or q.boost != 1.0 or len(q.subqueries) < 2:  # type: ignore[attr-defined]
        return None
    out: list[tuple[str, list[bytes]]] = []
    field = None
    for sub in q.subqueries:  # type: ignore[attr-defined]
        terms = [sub] if type(sub) is Q.Term else (
            list(sub.subqueries) if type(sub) in (Q.Or, Q.DefaultOr) else None)  # type: ignore[attr-defined]
        if not terms or any(type(t) is not Q.Term for t in terms):
            return None
        f = terms[0].fieldname  # type: ignore[attr-defined]
        if any(t.fieldname != f for t in terms) or (field is not None and f != field):  # type: ignore[attr-defined]
            return None
        field = f
        out.append((f, [t.text if isinstance(t.text, bytes) else t.text.encode("utf-8") for t in terms]))  # type: ignore[attr-defined]
    return out


def near(a: list[Span], b: list[Span], slop: int) -> list[Span]:
    """`SpanNear.SpanNearMatcher._get_spans` (ordered, mindist 1) on (start, end) pairs sorted by start."""
    out: set[Span] = set()
    for as_, ae in a:
        for bs, be in b:
            if be < as_ - slop or as_ > bs:
                continue
            if bs > ae + slop:
                break
            if (bs <= as_ <= be) or (bs <= ae <= be) or (as_ <= bs <= ae) or (as_ <= be <= ae):
                dist = 0
            elif ae < bs:
                dist = bs - ae
            else:
                dist = as_ - be
            if 1 <= dist <= slop:
                out.add((min(as_, bs), max(ae, be)))
    return sorted(out)


def tree(parts: list[list[Span]], slop: int) -> list[Span]:
    """Whoosh's `make_binary_tree(SpanNearMatcher, parts)`: halves, left first."""
    if len(parts) == 1:
        return parts[0]
    half = len(parts) // 2
    left = tree(parts[:half], slop)
    if not left:
        return []
    right = tree(parts[half:], slop)
    return near(left, right, slop) if right else []


class TermPositions:
    """Positions of one term in one segment, read block by block from the `.pst` file."""

    def __init__(self, reader, field: str, tbytes: bytes, docs: np.ndarray) -> None:  # type: ignore[no-untyped-def]
        self.reader = reader
        self.fmt = reader.schema[field].format
        self.docs = docs  # the term's postings (local docnums), from the decoded arrays
        ti = reader._terms.term_info(field, tbytes)
        if ti.is_inlined():
            raise LayoutError("inlined postings")
        self.offset = ti.extent()[0]
        # the block cache outlives readers: keyed by the postings file itself, not the segment's name (a random
        # name, which can repeat between indexes -- hypothesis seeds `random` for each example)
        pst_buffer(reader)
        self.key = f"{reader.__dict__['_archivist_pst']['file']}:{self.offset}"
        self._blocks: list[tuple[int, int, int]] | None = None  # (data start, data end, compression)
        self._ends: np.ndarray | None = None  # cumulative posting counts

    def _index(self, buf) -> None:  # type: ignore[no-untyped-def]
        pos = self.offset + 4
        blocks: list[tuple[int, int, int]] = []
        counts: list[int] = []
        while True:
            (blen,) = _INT.unpack_from(buf, pos)
            nxt = pos + 4 + abs(blen)
            f = io.BytesIO(buf[pos + 4:min(nxt, pos + 4 + 64)])
            info = pickle.Unpickler(f).load()
            blocks.append((pos + 4 + f.tell(), nxt, info[3]))
            counts.append(info[0])
            pos = nxt
            if blen < 0:
                break
        self._blocks = blocks
        self._ends = np.cumsum(np.asarray(counts, dtype=np.int64))

    def positions(self, buf, local_docs: np.ndarray) -> dict[int, list[int]]:  # type: ignore[no-untyped-def]
        """doc -> positions, for the documents of `local_docs` that have the term."""
        idx = np.searchsorted(self.docs, local_docs)
        ok = idx < len(self.docs)
        ok[ok] = self.docs[idx[ok]] == local_docs[ok]
        if not ok.any():
            return {}
        if self._blocks is None:
            self._index(buf)
        assert self._ends is not None and self._blocks is not None
        out: dict[int, list[int]] = {}
        post = idx[ok]
        docs = local_docs[ok]
        blocknums = np.searchsorted(self._ends, post, side="right")
        decode = _decode_positions if type(self.fmt) is Positions else self.fmt.decode_positions
        current, values, first = -1, (), 0
        for d, p, bn in zip(docs.tolist(), post.tolist(), blocknums.tolist(), strict=True):
            if bn != current:  # candidates come in document order, so a block's postings come together
                current, values = bn, self._block(buf, bn)
                first = int(self._ends[bn - 1]) if bn else 0
            out[d] = decode(values[p - first])
        return out

    def _block(self, buf, bn: int) -> tuple:  # type: ignore[no-untyped-def, type-arg]
        key = (self.key, bn)
        with _lock:
            got = _blocks.get(key)
            if got is not None:
                _blocks.move_to_end(key)
                return got[1]
        assert self._blocks is not None
        start, end, comp = self._blocks[bn]
        raw = bytes(buf[start:end])
        values = pickle.loads(zlib.decompress(raw) if comp else raw)[2]
        with _lock:
            _blocks[key] = (np.zeros(0), values)
            while len(_blocks) > BLOCK_CACHE:
                _blocks.popitem(last=False)
        return values  # type: ignore[no-any-return]


def _decode_positions(value: bytes) -> list[int]:
    """`whoosh.formats.Positions.decode_positions`, the running sum taken by `accumulate` (C) instead of a
    Python loop: a frequent word's positions are decoded for thousands of candidates."""
    if not value.endswith(b"."):
        value += b"."
    return list(itertools.accumulate(pickle.loads(value[_INT.size:])))


def pair_matches(docs: list[int], first: list[Collection[int]], second: list[Collection[int]], slop: int) -> np.ndarray:
    """Which documents have a position b of the second word with 1 <= b - a <= slop for a position a of the
    first: what `tree` answers for two parts (spans of single positions), for all candidates at once.
    `first[i]`, `second[i]` are document `docs[i]`'s positions."""
    if not docs:
        return np.zeros(0, dtype=bool)
    na = np.fromiter(map(len, first), dtype=np.int64, count=len(docs))
    nb = np.fromiter(map(len, second), dtype=np.int64, count=len(docs))
    slot = np.arange(len(docs), dtype=np.int64)
    shift = np.int64(1 << 32)  # positions are < 2**32; a document's keys stay apart from the next one's
    ka = np.repeat(slot, na) * shift + np.fromiter(itertools.chain.from_iterable(first), dtype=np.int64,
                                                     count=int(na.sum()))
    kb = np.repeat(slot, nb) * shift + np.fromiter(itertools.chain.from_iterable(second), dtype=np.int64,
                                                     count=int(nb.sum()))
    hit = np.zeros(len(ka), dtype=bool)
    for k in range(1, slop + 1):
        hit |= np.isin(ka + k, kb, assume_unique=False)
    out = np.zeros(len(docs), dtype=bool)
    out[ka[hit] // shift] = True
    return out


def pst_buffer(reader):  # type: ignore[no-untyped-def]
    """The segment's postings file, mapped (kept on the reader, which lives as long as the segment)."""
    cache = reader.__dict__.setdefault("_archivist_pst", {})
    buf = cache.get("buf")
    if buf is None:
        import mmap

        path = _pst_path(reader)
        if path is None:
            raise LayoutError("no postings file")
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            cache["file"] = f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"
            buf = cache["buf"] = memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
    return buf
