"""A Whoosh segment's postings as arrays: per term, uint32 docnums and their stored weights.

Whoosh reads a posting list block by block (zlib, then a pickle per block of 128) and hands it out one
posting at a time: ~76 ms for a list of 100k documents. A segment never changes once written, so its
postings are decoded once, into one file beside the segment (`<segment id>.fastpostings`), and every later
process maps that file instead of decoding again. The file is written atomically (a dot-named temporary
file renamed into place; Whoosh ignores dot files), carries the identity of its segment (id, document
count, size of the postings file) and is ignored when that does not match; Whoosh's own clean-up deletes
it with its segment, since the name has the segment's prefix.

The decoder reads the `.pst` file directly (the block layout of Whoosh-Reloaded 2.7.5's `whoosh3` codec:
`W3Bl`, then blocks of an int32 length, a pickled info tuple and a zlib'd pickle of (delta ids, weights,
values)). When a segment does not have that layout it falls back to Whoosh's own matcher, which is slower
and always right. `tests/test_fast_postings.py` checks the decoder against the matcher on every term.
"""

from __future__ import annotations

import hashlib
import io
import json
import mmap
import os
import pickle
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from whoosh.codec import whoosh3
from whoosh.util.numeric import _length_byte_cache

SUFFIX = ".fastpostings"
MAGIC = b"ARCHFP01"
# Fields decoded into the sidecar: the text fields queries rank by and the keyword fields they filter on
# (one posting per document). Terms of other fields (`id`, `docid`) are read through Whoosh when asked.
DECODED = ("title", "body", "url", "publisher", "tag", "status", "year", "current")
FORMAT = 3
PARTS = ("terms", "toffs", "starts", "docs", "weights", "hashes", "horder")
_INT = struct.Struct("!i")
# the length a 1-byte quantised field length stands for (Whoosh's `byte_to_length`)
BYTE_TO_LENGTH = np.array(list(_length_byte_cache), dtype=np.float64)
_lock = threading.Lock()


class LayoutError(Exception):
    """The postings are not laid out as this decoder expects (another Whoosh version or codec)."""


@dataclass
class FieldPostings:
    """One field of one segment: term i (in the segment's term order) is `terms[toffs[i]:toffs[i + 1]]`,
    its postings `docs[starts[i]:starts[i + 1]]` with `weights[...]`."""

    terms: np.ndarray  # uint8: every term's bytes, one after another
    toffs: np.ndarray  # int64, number of terms + 1
    starts: np.ndarray  # int64, number of terms + 1
    docs: np.ndarray  # uint32
    weights: np.ndarray  # float32, or float64 when a weight is not a float32
    hashes: np.ndarray  # uint64: `term_hash` of every term, ascending
    horder: np.ndarray  # int64: the term number of each of `hashes`
    _found: dict[bytes, int] | None = None

    def find(self, tbytes: bytes) -> int | None:
        """The term's number: a binary search over the mapped hashes (a Python dict of every term would
        cost ~60 ms per segment to build), remembered for the next query."""
        found = self._found
        if found is None:
            found = self._found = {}
        i = found.get(tbytes, -2)
        if i != -2:
            return i if i >= 0 else None
        h = np.uint64(term_hash(tbytes))
        k = int(np.searchsorted(self.hashes, h))
        got = -1
        while k < len(self.hashes) and self.hashes[k] == h:
            j = int(self.horder[k])
            if self.terms[int(self.toffs[j]):int(self.toffs[j + 1])].tobytes() == tbytes:
                got = j
                break
            k += 1
        if len(found) > 100_000:
            found.clear()
        found[tbytes] = got
        return got if got >= 0 else None

    def postings(self, tbytes: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        i = self.find(tbytes)
        if i is None:
            return None
        a, b = int(self.starts[i]), int(self.starts[i + 1])
        return self.docs[a:b], self.weights[a:b]


def term_hash(tbytes: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(tbytes, digest_size=8).digest(), "little")


def decode_term_blocks(buf, offset: int) -> tuple[list[int], list[int], list[float]]:  # type: ignore[no-untyped-def]
    """(delta ids, block sizes, weights) of the posting list at `offset` of `buf` (the `.pst` bytes); the
    last block has a negative length (the term info's length is not usable: whoosh3 stores it as a tuple)."""
    if bytes(buf[offset:offset + 4]) != whoosh3.WHOOSH3_HEADER_MAGIC:
        raise LayoutError(f"no block tag at {offset}")
    end = len(buf)
    pos = offset + 4
    deltas: list[int] = []
    sizes: list[int] = []
    weights: list[float] = []
    while True:
        (blen,) = _INT.unpack_from(buf, pos)
        last = blen < 0
        nxt = pos + 4 + abs(blen)
        f = io.BytesIO(buf[pos + 4:nxt])
        info = pickle.Unpickler(f).load()
        count, comp = info[0], info[3]
        raw = f.read()
        data = pickle.loads(zlib.decompress(raw) if comp else raw)
        ids, ws = data[0], data[1]
        if len(ids) != count:
            raise LayoutError("block size differs from its info")
        deltas.extend(ids)
        sizes.append(count)
        if ws is None:
            weights.extend([1.0] * count)
        elif isinstance(ws, float):
            weights.extend([ws] * count)
        else:
            weights.extend(ws)
        pos = nxt
        if last or pos >= end:
            break
    return deltas, sizes, weights


def _absolute(deltas: list[int], sizes: list[int]) -> np.ndarray:
    """Delta-decoded ids, each block starting from 0 (Whoosh's `delta_encode` per block)."""
    c = np.cumsum(np.asarray(deltas, dtype=np.int64))
    if not len(c):
        return c.astype(np.uint32)
    sz = np.asarray(sizes, dtype=np.int64)
    ends = np.cumsum(sz)
    base = np.zeros(len(sz), dtype=np.int64)
    base[1:] = c[ends[:-1] - 1]
    return (c - np.repeat(base, sz)).astype(np.uint32)


def matcher_postings(reader, field: str, tbytes: bytes) -> tuple[list[int], list[float]]:  # type: ignore[no-untyped-def]
    """One term's postings through Whoosh's matcher (deletions not applied): the fallback and the reference."""
    m = reader._terms.matcher(field, tbytes, reader.schema[field].format)
    ids: list[int] = []
    ws: list[float] = []
    while m.is_active():
        ids.append(m.id())
        ws.append(m.weight())
        m.next()
    return ids, ws


def _field_terms(reader, field: str):  # type: ignore[no-untyped-def]
    for (fname, tbytes), ti in reader._terms.items_from(field, b""):
        if fname != field:
            break
        yield tbytes, ti


def _pst_path(reader) -> Path | None:  # type: ignore[no-untyped-def]
    storage = reader.storage()
    seg = reader.segment()
    folder = getattr(storage, "folder", None)
    if folder is None or seg.is_compound():
        return None
    path = Path(folder) / seg.make_filename(whoosh3.W3Codec.POSTS_EXT)
    return path if path.exists() else None


def decode_field(reader, field: str, direct: bool = True) -> FieldPostings:  # type: ignore[no-untyped-def]
    """Every term of `field` in one segment (`reader`: a SegmentReader), deleted documents included."""
    path = _pst_path(reader) if direct else None
    terms: list[bytes] = []
    counts: list[int] = []
    weights: list[float] = []
    if path is not None:
        deltas: list[int] = []
        sizes: list[int] = []
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else None
            buf = memoryview(mm) if mm is not None else memoryview(b"")
            try:
                for tbytes, ti in _field_terms(reader, field):
                    if ti.is_inlined():
                        raise LayoutError("inlined postings")
                    d, s, w = decode_term_blocks(buf, ti.extent()[0])
                    terms.append(tbytes)
                    counts.append(len(d))
                    deltas.extend(d)
                    sizes.extend(s)
                    weights.extend(w)
            finally:
                buf.release()
                if mm is not None:
                    mm.close()
        docs = _absolute(deltas, sizes)
    else:
        ids: list[int] = []
        for tbytes, _ti in _field_terms(reader, field):
            i, w = matcher_postings(reader, field, tbytes)
            terms.append(tbytes)
            counts.append(len(i))
            ids.extend(i)
            weights.extend(w)
        docs = np.asarray(ids, dtype=np.uint32)
    return field_postings(terms, counts, docs, np.asarray(weights, dtype=np.float64))


def field_postings(terms: list[bytes], counts: list[int], docs: np.ndarray, w64: np.ndarray) -> FieldPostings:
    """One field's arrays from its terms in term order, each term's posting count, and the postings'
    docnums and weights (float64) one term after another: what the decoder finds, and what the index
    writer hands over when it writes a segment (the sidecar then costs no decoding)."""
    starts = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(np.asarray(counts, dtype=np.int64), out=starts[1:])
    toffs = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(np.asarray([len(t) for t in terms], dtype=np.int64), out=toffs[1:])
    w32 = w64.astype(np.float32)
    wts = w32 if np.array_equal(w32.astype(np.float64), w64) else w64
    hashes = np.fromiter((term_hash(t) for t in terms), dtype=np.uint64, count=len(terms))
    horder = np.argsort(hashes, kind="stable").astype(np.int64)
    return FieldPostings(np.frombuffer(b"".join(terms), dtype=np.uint8), toffs, starts, docs, wts,
                         hashes[horder], horder)


def decode_segment(reader, fields: tuple[str, ...]) -> dict[str, FieldPostings]:  # type: ignore[no-untyped-def]
    out: dict[str, FieldPostings] = {}
    for f in fields:
        try:
            out[f] = decode_field(reader, f)
        except (LayoutError, pickle.UnpicklingError, zlib.error, struct.error, ValueError, TypeError,
                IndexError, EOFError):
            out[f] = decode_field(reader, f, direct=False)
    return out


# --- the sidecar file ---------------------------------------------------------------------------------------

def _identity(reader) -> dict:  # type: ignore[no-untyped-def, type-arg]
    seg = reader.segment()
    pst = _pst_path(reader)
    return identity(seg.segment_id(), seg.doc_count_all(), pst.stat().st_size if pst is not None else None)


def identity(segment_id: str, docs: int, pst_size: int | None) -> dict:  # type: ignore[type-arg]
    """What a sidecar must carry to be taken for its segment."""
    return {"format": FORMAT, "segment": segment_id, "docs": docs, "pst_size": pst_size}


def sidecar_path(reader) -> Path | None:  # type: ignore[no-untyped-def]
    folder = getattr(reader.storage(), "folder", None)
    if folder is None:
        return None
    return Path(folder) / (reader.segment().segment_id() + SUFFIX)


def write_sidecar(path: Path, identity: dict, fields: dict[str, FieldPostings]) -> None:  # type: ignore[type-arg]
    header: dict = {**identity, "fields": {}}  # type: ignore[type-arg]
    blobs: list[bytes] = []
    pos = 0
    for name, fp in fields.items():
        entry = {}
        for part in PARTS:
            arr = np.ascontiguousarray(getattr(fp, part))
            entry[part] = [pos, arr.dtype.str, int(arr.shape[0])]
            data = arr.tobytes()
            pad = (-len(data)) % 8
            blobs.append(data + b"\0" * pad)
            pos += len(data) + pad
        header["fields"][name] = entry
    write_with_header(path, MAGIC, header, blobs)


def write_with_header(path: Path, magic: bytes, header: dict, blobs: list[bytes]) -> None:  # type: ignore[type-arg]
    """`magic`, the header's length and JSON (padded to 8 bytes), then `blobs`: written to a dot-named
    temporary file (Whoosh ignores dot files), synced, and renamed into place, so a reader sees the whole
    file or none (a torn or stale file is refused by the identity in its header)."""
    hbytes = json.dumps(header, sort_keys=True).encode()
    hbytes += b" " * ((-len(hbytes) - len(magic) - 8) % 8)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(magic + struct.pack("<Q", len(hbytes)) + hbytes)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_with_header(path: Path, magic: bytes) -> tuple[dict, memoryview | mmap.mmap, int] | None:  # type: ignore[type-arg]
    """(header, the file mapped, where the blobs start) of a file `write_with_header` wrote, or None."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < len(magic) + 8:
                return None
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError:
        return None
    try:
        if mm[:len(magic)] != magic:
            return None
        (hlen,) = struct.unpack_from("<Q", mm, len(magic))
        base = len(magic) + 8 + hlen
        if base > size:
            return None
        return json.loads(bytes(mm[len(magic) + 8:base])), mm, base
    except (ValueError, struct.error):
        return None


def read_sidecar(path: Path, identity: dict) -> dict[str, FieldPostings] | None:  # type: ignore[type-arg]
    """The arrays mapped from `path`, or None when it is missing, torn, or made for another segment."""
    got = read_with_header(path, MAGIC)
    if got is None:
        return None
    header, mm, base = got
    size = len(mm)
    try:
        if any(header.get(k) != v for k, v in identity.items()):
            return None
        out: dict[str, FieldPostings] = {}
        for name, entry in header["fields"].items():
            arrs: dict[str, np.ndarray] = {}
            for part in PARTS:
                off, dtype, n = entry[part]
                dt_ = np.dtype(dtype)
                if base + off + n * dt_.itemsize > size:
                    return None
                arrs[part] = np.frombuffer(mm, dtype=dt_, count=n, offset=base + off)
            out[name] = FieldPostings(arrs["terms"], arrs["toffs"], arrs["starts"], arrs["docs"], arrs["weights"],
                                      arrs["hashes"], arrs["horder"])
        return out
    except (ValueError, KeyError, TypeError, struct.error):
        return None


def segment_postings(reader, fields: tuple[str, ...]) -> dict[str, FieldPostings]:  # type: ignore[no-untyped-def]
    """The decoded postings of `fields` in one segment: from its sidecar when there is a good one, else
    decoded now and written beside the segment for the next process."""
    identity = _identity(reader)
    path = sidecar_path(reader)
    if path is not None:
        got = read_sidecar(path, identity)
        if got is not None and all(f in got for f in fields):
            return got
    with _lock:  # two threads of one process decode a segment once
        if path is not None:
            got = read_sidecar(path, identity)
            if got is not None and all(f in got for f in fields):
                return got
        decoded = decode_segment(reader, fields)
        if path is not None:
            try:
                write_sidecar(path, identity, decoded)
            except OSError:
                pass  # a read-only index still searches, decoding in memory
        return decoded


def field_lengths(reader, field: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Each document's length in `field` as Whoosh's scorer sees it (the 1-byte quantised column)."""
    n = reader.doc_count_all()
    out = np.zeros(n, dtype=np.uint8)
    perdoc = reader._perdoc
    cr = perdoc._cached_reader(whoosh3._lenfield(field), whoosh3.LENGTHS_COLUMN)
    if cr is not None:
        count = min(getattr(cr, "_count", 0), n)
        if count:
            out[:count] = np.frombuffer(bytes(cr._dbfile.get(cr._basepos, count)), dtype=np.uint8)
    return BYTE_TO_LENGTH[out]
