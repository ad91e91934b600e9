"""Phrases (`Sequence` with slop) checked on a few candidate documents, with Whoosh's positions.

Whoosh checks a phrase with a tree of span matchers over every document that has all its words, building a
`Span` object per position. Here the candidate documents are already known (they have every word and pass
the filters); each word's positions in a segment are decoded once, all its blocks at once (kept, bounded by
size, since the common words are asked for again and again), taken for those documents only, and the span
rule of Whoosh's `SpanNear.SpanNearMatcher` is applied to (document, position) keys with numpy for two words
or a quoted phrase, to plain (start, end) pairs over the binary tree `make_binary_tree` builds otherwise. A phrase whose parts are not plain words (a compound word's own
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

# Decoded positions kept per process (per term and segment), by size: a common word's positions span hundreds
# of blocks per 100k articles, and a phrase query over common words asks for most of them again and again (a
# cache of 4,000 blocks thrashed on the bench's mix at 100k: p95 277 ms against 66 ms with room for all).
BLOCK_CACHE_MB = int(os.environ.get("ARCHIVIST_BLOCK_CACHE_MB", 256))
_blocks: OrderedDict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
_cached_bytes = 0
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

    def _index(self, buf) -> None:  # type: ignore[no-untyped-def]
        pos = self.offset + 4
        blocks: list[tuple[int, int, int]] = []
        while True:
            (blen,) = _INT.unpack_from(buf, pos)
            nxt = pos + 4 + abs(blen)
            f = io.BytesIO(buf[pos + 4:min(nxt, pos + 4 + 64)])
            info = pickle.Unpickler(f).load()
            blocks.append((pos + 4 + f.tell(), nxt, info[3]))
            pos = nxt
            if blen < 0:
                break
        self._blocks = blocks

    def positions(self, buf, local_docs: np.ndarray) -> dict[int, list[int]]:  # type: ignore[no-untyped-def]
        """doc -> positions, for the documents of `local_docs` that have the term."""
        docs, counts, flat = self.position_arrays(buf, local_docs)
        ends = np.cumsum(counts).tolist()
        flat_l = flat.tolist()
        out: dict[int, list[int]] = {}
        start = 0
        for d, e in zip(docs.tolist(), ends, strict=True):
            out[d] = flat_l[start:e]
            start = e
        return out

    def position_arrays(self, buf, local_docs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
        """(documents of `local_docs` that have the term, ascending; the number of positions of each; all
        their positions, one document after another) -- from whole decoded blocks, no per-document work."""
        idx = np.searchsorted(self.docs, local_docs)
        ok = idx < len(self.docs)
        ok[ok] = self.docs[idx[ok]] == local_docs[ok]
        empty = np.zeros(0, dtype=np.int64)
        if not ok.any():
            return empty, empty, empty
        post = idx[ok]
        docs = local_docs[ok]
        offs, flat = self._decoded(buf)
        starts = offs[post]
        n = offs[post + 1] - starts
        # every position of the chosen postings: start of its posting + 0..n-1
        take = np.repeat(starts - (np.cumsum(n) - n), n) + np.arange(int(n.sum()), dtype=np.int64)
        return docs.astype(np.int64), n, flat[take]

    def _decoded(self, buf) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
        """The term's positions in this segment: (offsets, one per posting and one past the end; every
        position), every block decoded at once the first time and kept (bounded by size, least recently used
        first out): a phrase over common words asks for most of their blocks again and again."""
        key = (self.key, -1)
        with _lock:
            cached = _blocks.get(key)
            if cached is not None:
                _blocks.move_to_end(key)
                return cached
        if self._blocks is None:
            self._index(buf)
        assert self._blocks is not None
        values: list[bytes] = []
        for start, end, comp in self._blocks:
            raw = bytes(buf[start:end])
            values.extend(pickle.loads(zlib.decompress(raw) if comp else raw)[2])
        got = decode_block_positions(values) if type(self.fmt) is Positions else \
            _arrays([self.fmt.decode_positions(v) for v in values])
        if len(got[0]) != len(self.docs) + 1:
            raise LayoutError("the blocks hold another number of postings than the term's")
        _remember(key, got)
        return got


def _remember(key: tuple[str, int], got: tuple[np.ndarray, np.ndarray]) -> None:
    global _cached_bytes
    with _lock:
        if key in _blocks:
            return
        _blocks[key] = got
        _cached_bytes += got[0].nbytes + got[1].nbytes
        while _cached_bytes > BLOCK_CACHE_MB << 20 and len(_blocks) > 1:
            _, (offs, flat) = _blocks.popitem(last=False)
            _cached_bytes -= offs.nbytes + flat.nbytes


def _arrays(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offs = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)), out=offs[1:])
    return offs, np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(offs[-1]))


# `Positions.encode` of n positions whose deltas are all < 256 (nearly every posting): a 4-byte count, then
# the protocol-2 pickle of the delta list -- a header, n items of `K` + one byte, a footer. Such values are
# decoded for a whole block at once by picking those bytes; any other value goes through the pickle.
_K = ord("K")
_HEAD_MANY = b"\x80\x02]q\x00("  # list, memo, mark ... then "e." (appends, stop)
_HEAD_ONE = b"\x80\x02]q\x00"  # list, memo, one item, then "a." (append, stop)


def decode_block_positions(values: list[bytes] | tuple[bytes, ...]) -> tuple[np.ndarray, np.ndarray]:
    """`_decode_positions` of every value (a posting's; of one block or many), as (offsets, positions): each
    value's positions are `positions[offsets[i]:offsets[i + 1]]`. tests/test_fast_postings.py holds it equal
    value by value."""
    k = len(values)
    if not k:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    joined = np.frombuffer(b"".join(values), dtype=np.uint8)
    lens = np.fromiter(map(len, values), dtype=np.int64, count=k)
    starts = np.zeros(k, dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    n = np.zeros(k, dtype=np.int64)
    safe = np.flatnonzero(lens >= 4)
    for j in range(4):  # the big-endian count
        n[safe] = n[safe] << 8 | joined[starts[safe] + j]
    # the length every item `K` would give, by count: one item, or one batch (pickle marks again past 1000)
    fast = (lens >= 4) & (((n == 1) & (lens == 4 + len(_HEAD_ONE) + 2 + 2)) |
                          ((n >= 2) & (n <= 1000) & (lens == 4 + len(_HEAD_MANY) + 2 * n + 2)))
    fi = np.flatnonzero(fast)
    if len(fi):  # and the header, footer and item opcodes that layout has
        b = starts[fi] + 4
        one = n[fi] == 1
        good = np.ones(len(fi), dtype=bool)
        for j, byte in enumerate(_HEAD_MANY):
            good &= (joined[b + j] == byte) | (one & (j >= len(_HEAD_ONE)))
        stop = starts[fi] + lens[fi]
        good &= joined[stop - 1] == ord(".")
        good &= joined[stop - 2] == np.where(one, ord("a"), ord("e"))
        c = n[fi]
        first = b + np.where(one, len(_HEAD_ONE), len(_HEAD_MANY))
        item = np.repeat(first - 2 * (np.cumsum(c) - c), c) + 2 * np.arange(int(c.sum()), dtype=np.int64)
        opcode_ok = joined[item] == _K
        if not opcode_ok.all():
            good &= np.logical_and.reduceat(opcode_ok, np.cumsum(c) - c)
        fast[fi[~good]] = False
    counts = np.where(fast, n, 0)
    fi = np.flatnonzero(fast)
    c = counts[fi]
    first = starts[fi] + 4 + np.where(c == 1, len(_HEAD_ONE), len(_HEAD_MANY))
    item = np.repeat(first - 2 * (np.cumsum(c) - c), c) + 2 * np.arange(int(c.sum()), dtype=np.int64)
    fast_positions = _running(joined[item + 1].astype(np.int64), c)
    slow = np.flatnonzero(~fast).tolist()
    if not slow:
        offs = np.zeros(k + 1, dtype=np.int64)
        np.cumsum(counts, out=offs[1:])
        return offs, fast_positions
    decoded = {i: _decode_positions(values[i]) for i in slow}  # rare: value by value, spliced in
    for i, ps in decoded.items():
        counts[i] = len(ps)
    offs = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(counts, out=offs[1:])
    out = np.empty(int(offs[-1]), dtype=np.int64)
    at = np.repeat(offs[fi] - (np.cumsum(c) - c), c) + np.arange(int(c.sum()), dtype=np.int64)
    out[at] = fast_positions
    for i, ps in decoded.items():
        out[offs[i]:offs[i + 1]] = ps
    return offs, out


def _running(deltas: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Running sums of `deltas`, restarting at each group of `counts` (each value's own positions)."""
    c = np.cumsum(deltas)
    if not len(c):
        return c
    ends = np.cumsum(counts)
    nz = counts > 0
    base = np.zeros(len(counts), dtype=np.int64)
    prev_end = (ends - counts)[nz]
    base[nz] = np.where(prev_end > 0, c[np.maximum(prev_end - 1, 0)], 0)
    return c - np.repeat(base, counts)


def _decode_positions(value: bytes) -> list[int]:
    """`whoosh.formats.Positions.decode_positions`, the running sum taken by `accumulate` (C) instead of a
    Python loop: a frequent word's positions are decoded for thousands of candidates."""
    if not value.endswith(b"."):
        value += b"."
    return list(itertools.accumulate(pickle.loads(value[_INT.size:])))


_SHIFT = 32  # a (document, position) key: document << 32 | position (positions are < 2**32)


def position_keys(docs: np.ndarray, counts: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """(document, position) keys, ascending, from `TermPositions.position_arrays`."""
    return (np.repeat(docs.astype(np.int64), counts) << _SHIFT) | flat


def pair_keys(ka: np.ndarray, kb: np.ndarray, slop: int) -> np.ndarray:
    """The documents (ascending) with a position b of the second word such that 1 <= b - a <= slop for a
    position a of the first: what `tree` answers for two parts (spans of single positions)."""
    if not len(ka) or not len(kb) or slop < 1:
        return np.zeros(0, dtype=np.int64)
    after = np.searchsorted(kb, ka + 1)  # the first position of the second word past a (`kb` ascending)
    hit = after < len(kb)
    hit[hit] = kb[after[hit]] <= ka[hit] + slop
    return np.unique(ka[hit] >> _SHIFT)


def _present(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    at = np.searchsorted(sorted_keys, keys)
    ok = at < len(sorted_keys)
    ok[ok] = sorted_keys[at[ok]] == keys[ok]
    return ok


def chain_keys(keys: list[np.ndarray]) -> np.ndarray:
    """The documents (ascending) where the parts stand one right after another (positions p, p + 1, ...):
    what `tree` answers for any number of single-position parts with slop 1 (each half's spans are then
    runs of consecutive positions, and two runs are near only when the second starts right after the first)."""
    start = keys[0]
    for i, k in enumerate(keys[1:], 1):
        if not len(start):
            break
        start = start[_present(start + i, k)]
    return np.unique(start >> _SHIFT)


def pair_matches(docs: list[int], first: list[Collection[int]], second: list[Collection[int]], slop: int) -> np.ndarray:
    """`pair_keys` over per-document position lists: which of `docs` match (`first[i]`, `second[i]` are
    document `docs[i]`'s positions)."""
    if not docs:
        return np.zeros(0, dtype=bool)

    def keys(per_doc: list[Collection[int]]) -> np.ndarray:
        counts = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(docs))
        flat = np.fromiter(itertools.chain.from_iterable(sorted(p) for p in per_doc), dtype=np.int64,
                           count=int(counts.sum()))
        return position_keys(np.arange(len(docs), dtype=np.int64), counts, flat)

    out = np.zeros(len(docs), dtype=bool)
    out[pair_keys(keys(first), keys(second), slop)] = True
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
