"""A Whoosh segment writer that gathers postings per term instead of pooling and sorting every posting.

Whoosh's own `SegmentWriter` puts each posting into a `PostingPool` (a tuple with a size estimate), sorts the
whole pool at commit, then feeds the codec one posting at a time (a per-document length lookup, type
checks and a call each). That was about half of the index build. This writer keeps, per field, flat
arrays of (term number, document, weight) plus the encoded values, sorts them once with numpy at commit,
and hands the codec's postings writer whole blocks of 128: the same `W3PostingsWriter._write_block`,
`W3TermInfo` and term table as Whoosh uses, so the segment files are the ones Whoosh writes (byte for
byte: tests/test_index_writing.py). Text fields analysed by the Polish analyzer are gathered through
`index_positions` (the analyzer's own terms, without a Token per word).

Everything else -- stored fields, columns, lengths, deletions, merges, the TOC and its commit -- is
Whoosh's `SegmentWriter`, unchanged.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import struct
import sys
import zlib
from array import array
from pathlib import Path
from pickle import dumps

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC as _MAGIC
from whoosh.codec.whoosh3 import W3Codec, W3TermInfo
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.system import pack_int as _pack_int
from whoosh.system import pack_long as _pack_long
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from index import analysis, postings
from index.analysis import PolishFilter, PolishTokenizer, index_positions
from index.postings import DECODED, FieldPostings


def _keep_freed_heap() -> None:
    """Whoosh compresses every block of 128 postings with `zlib.compress`, whose ~260 KB of state glibc
    hands back to the kernel on every free (the heap top is trimmed) and faults in again on the next call:
    ~70 us of CPU a block instead of ~6 (measured here). Trim only past 128 MB; the same holds for the
    `zlib.decompress` of every block a search reads."""
    if not sys.platform.startswith("linux") or os.environ.get("ARCHIVIST_MALLOC_TRIM", "1") == "0":
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-1, 128 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


_keep_freed_heap()
_pack_uint = struct.Struct("!I").pack
_pack_ushort = struct.Struct("!H").pack
_TERMINFO = W3TermInfo._struct
_POSTING_BYTES = 90  # memory per gathered posting (arrays, list slot, encoded positions): the pool's size


def _fast_analyzed(field) -> bool:  # type: ignore[no-untyped-def]
    """A field whose terms `index_positions` gives exactly: Positions format, the default Polish analyzer."""
    ana = field.analyzer
    if type(field.format) is not formats.Positions or ana is None or not hasattr(ana, "items"):
        return False
    items = ana.items
    return (len(items) == 2 and type(items[0]) is PolishTokenizer and type(items[1]) is PolishFilter
            and items[1].index_stops and items[1].fold_twins)


_ONE_POSITION = [dumps([p], 2) for p in range(256)]  # the pickle of [p]: most postings have one position
_ONE = _pack_uint(1)


def _encode_positions(poslist: list[int]) -> bytes:
    """`formats.Positions.encode`: the count, then a pickle of the position deltas."""
    if len(poslist) == 1:
        p = poslist[0]
        return _pack_uint(1) + (_ONE_POSITION[p] if p < 256 else dumps(poslist, 2))
    deltas = []
    base = 0
    for pos in poslist:
        deltas.append(pos - base)
        base = pos
    return _pack_uint(len(deltas)) + dumps(deltas, 2)


class _FieldPostings:
    __slots__ = ("terms", "sterms", "tids", "docs", "weights", "values")

    def __init__(self) -> None:
        self.terms: dict[bytes, int] = {}
        self.sterms: dict[str, int] = {}  # the same ids by the term's text (analysed fields skip encoding)
        self.tids = array("I")
        self.docs = array("I")
        self.weights = array("d")
        self.values: list[bytes] = []

    def term_id(self, text: str) -> int:
        tbytes = text.encode("utf-8")
        tid = self.terms.get(tbytes)
        if tid is None:
            tid = self.terms[tbytes] = len(self.terms)
        self.sterms[text] = tid
        return tid


class TermPool:
    """The postings of one segment in memory, per field; `currentsize`/`limit` as Whoosh's PostingPool."""

    def __init__(self, limitmb: int) -> None:
        self.limit = limitmb * 1024 * 1024
        self.currentsize = 0
        self.fields: dict[str, _FieldPostings] = {}

    def field(self, name: str) -> _FieldPostings:
        fp = self.fields.get(name)
        if fp is None:
            fp = self.fields[name] = _FieldPostings()
        return fp

    def add(self, item) -> None:  # type: ignore[no-untyped-def]
        """One posting (fieldname, term bytes, docnum, weight, value bytes): Whoosh's merge path."""
        fieldname, tbytes, docnum, weight, vbytes = item
        fp = self.field(fieldname)
        tid = fp.terms.get(tbytes)
        if tid is None:
            tid = fp.terms[tbytes] = len(fp.terms)
        fp.tids.append(tid)
        fp.docs.append(docnum)
        fp.weights.append(weight)
        fp.values.append(vbytes if vbytes is not None else b"")
        self.currentsize += _POSTING_BYTES

    def drop_doc(self, docnum: int) -> None:
        """Forget the postings of a document whose adding failed half-way (it was the last one added)."""
        for fp in self.fields.values():
            n = len(fp.docs)
            while n and fp.docs[n - 1] == docnum:
                n -= 1
            if n < len(fp.docs):
                del fp.tids[n:], fp.docs[n:], fp.weights[n:], fp.values[n:]

    def cleanup(self) -> None:
        self.fields.clear()

    def write(self, fieldwriter, schema, lengths, doccount: int) -> dict[str, FieldPostings]:  # type: ignore[no-untyped-def]
        """Feed the codec field by field, term by term (sorted), in blocks, as `FieldWriter.add_postings`
        would from the sorted pool. Returns the postings of the fields the search engine decodes
        (`postings.DECODED`), as decoding the written segment would give them."""
        decoded = {name: postings.field_postings([], [], np.zeros(0, np.uint32), np.zeros(0)) for name in DECODED}
        for fieldname in sorted(self.fields):
            fp = self.fields.pop(fieldname)
            if not fp.terms:
                continue
            fieldwriter.start_field(fieldname, schema[fieldname])
            got = _write_field(fieldwriter, fp, _doc_lengths(lengths, fieldname, doccount), fieldname in DECODED)
            if got is not None:
                decoded[fieldname] = got
            fieldwriter.finish_field()
        return decoded


def _doc_lengths(lengths, fieldname: str, doccount: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Each document's field length as `add_postings` passes it to the codec (quantised; 0 = none)."""
    if lengths is None or not lengths.has_column(f"_{fieldname}_len"):
        return np.zeros(doccount, dtype=np.int64)
    dfl = lengths.doc_field_length
    return np.array([dfl(d, fieldname) or 0 for d in range(doccount)], dtype=np.int64)


_WINDOW = 1 << 16  # postings turned into Python lists at a time while writing a field


def _write_field(fieldwriter, fp: _FieldPostings, doclens: np.ndarray,  # type: ignore[no-untyped-def]
                 keep: bool = False) -> FieldPostings | None:
    """Every term of one field, in term order, each posting list in docnum order; with `keep`, also the
    field's postings as arrays (the weights as the blocks store them: float32)."""
    terms = sorted(fp.terms)
    rank = np.empty(len(terms), dtype=np.int64)
    tid_of = fp.terms
    for r, t in enumerate(terms):
        rank[tid_of[t]] = r
    keys = rank[np.frombuffer(fp.tids, dtype=np.uint32)]
    docs_np = np.frombuffer(fp.docs, dtype=np.uint32)
    order = np.lexsort((docs_np, keys))
    counts = np.bincount(keys, minlength=len(terms)).tolist()
    del keys, rank
    sorted_docs = docs_np[order]
    sorted_weights = np.frombuffer(fp.weights, dtype=np.float64)[order]
    sorted_lens = doclens[sorted_docs]
    values_in = fp.values
    encoder = _TermEncoder(fieldwriter)
    first = 0  # index of the window's first term
    start = 0  # its first posting
    while first < len(terms):
        last, end = first, start
        while last < len(terms) and (end - start < _WINDOW or last == first):
            end += counts[last]
            last += 1
        docs = sorted_docs[start:end].tolist()
        weights = sorted_weights[start:end].tolist()
        lens = sorted_lens[start:end].tolist()
        values = [values_in[i] for i in order[start:end].tolist()]
        i = 0
        for k in range(first, last):
            n = counts[k]
            if n:  # (0: a term only a document that failed half-way had)
                encoder.term(terms[k], docs[i:i + n], weights[i:i + n], values[i:i + n], lens[i:i + n])
                i += n
        first, start = last, end
    encoder.close()
    if not keep:
        return None
    present = [t for t, n in zip(terms, counts, strict=True) if n]
    return postings.field_postings(present, [n for n in counts if n], sorted_docs,
                                   sorted_weights.astype(np.float32).astype(np.float64))


class _TermEncoder:
    """What `W3FieldWriter.start_term`/`add`/`finish_term` and `W3PostingsWriter` write for one posting
    list, from whole lists: blocks of `blocklimit` postings, each a pickled info tuple and a zlib'd pickle of
    (delta docnums, weights, values), and the term's `W3TermInfo` row in the terms table. The bytes are
    Whoosh's own (tests/test_index_writing.py compares the files)."""

    def __init__(self, fieldwriter) -> None:  # type: ignore[no-untyped-def]
        codec = fieldwriter._codec
        if codec._inlinelimit > 1:
            raise ValueError("inlined postings are not supported")
        self.limit = codec._blocklimit
        self.comp = codec._compression
        self.fixedsize = fieldwriter._format.fixed_value_size()
        self.postfile = fieldwriter._postfile
        self.base = self.postfile.tell()
        self.buf = bytearray()
        self.tindex_add = fieldwriter._tindex.add
        self.fieldid = _pack_ushort(fieldwriter._fieldid)

    def term(self, btext: bytes, docs: list[int], weights: list[float], values: list[bytes],
             lens: list[int]) -> None:
        buf = self.buf
        startoffset = self.base + len(buf)
        buf += _MAGIC
        limit, comp, fixedsize = self.limit, self.comp, self.fixedsize
        n = len(docs)
        if n == 1:  # most terms of a segment: the loop below, unrolled
            d, w, v, ln = docs[0], weights[0], values[0], lens[0] or None
            w32 = array("f", weights)[0]
            bmaxw = w if w > 0 else 0
            if fixedsize is None or fixedsize < 0:
                mini_v: tuple[bytes, ...] | bytes | None = (v,) if v else ()
            else:
                mini_v = None if fixedsize == 0 else v
            data = zlib.compress(dumps(((d,), None if w32 == 1.0 else w32, mini_v), 2), comp) if comp else \
                dumps(((d,), None if w32 == 1.0 else w32, mini_v), 2)
            lb = length_to_byte(ln)
            info = dumps((1, d, bmaxw, comp, lb, lb if ln else 0), 2)
            size = len(info) + len(data)
            buf += _pack_int(-size)
            buf += info
            buf += data
            length = self.base + len(buf) - startoffset
            terminfo = _TERMINFO.pack(False, 0 + w32, 1, lb, lb if ln else 0, max(0, bmaxw), d, d)
            self.tindex_add(self.fieldid + btext, terminfo + _pack_long(startoffset) + _pack_int(length))
            if len(buf) > 1 << 20:
                self.flush()
            return
        total_weight: float = 0
        minlength = None
        maxlength = 0
        maxweight: float = 0
        for i in range(0, n, limit):
            j = min(i + limit, n)
            ids = docs[i:j]
            raw = weights[i:j]
            ws = array("f", raw)
            ls = [x for x in lens[i:j] if x]
            bmin = min(ls) if ls else None
            bmax = max(ls) if ls else 0
            bmaxw = max(raw)
            if not bmaxw > 0:
                bmaxw = 0
            total_weight += sum(ws)
            minlength = bmin if minlength is None else min(minlength, bmin)  # type: ignore[type-var]
            maxlength = max(maxlength, bmax)
            maxweight = max(maxweight, bmaxw)
            prev = 0
            deltas = []
            for d in ids:
                deltas.append(d - prev)
                prev = d
            w0 = ws[0]
            mini_w: float | tuple[float, ...] | None
            if w0 == 1.0 and all(w == 1.0 for w in ws):
                mini_w = None
            elif all(w == w0 for w in ws):
                mini_w = w0
            else:
                mini_w = tuple(ws)
            vals = [v for v in values[i:j] if v]
            if fixedsize is None or fixedsize < 0:
                mini_v = tuple(vals)
            elif fixedsize == 0:
                mini_v = None
            else:
                mini_v = b"".join(vals)
            data = dumps((tuple(deltas), mini_w, mini_v), 2)
            if comp:
                data = zlib.compress(data, comp)
            info = dumps((j - i, ids[-1], bmaxw, comp, length_to_byte(bmin), length_to_byte(bmax)), 2)
            size = len(info) + len(data)
            buf += _pack_int(-size if j == n else size)
            buf += info
            buf += data
        length = self.base + len(buf) - startoffset
        terminfo = _TERMINFO.pack(False, total_weight, n, 0 if minlength is None else length_to_byte(minlength),
                                  length_to_byte(maxlength), maxweight, docs[0], docs[-1])
        self.tindex_add(self.fieldid + btext, terminfo + _pack_long(startoffset) + _pack_int(length))
        if len(buf) > 1 << 20:
            self.flush()

    def flush(self) -> None:
        self.postfile.write(bytes(self.buf))
        self.base += len(self.buf)
        self.buf = bytearray()

    def close(self) -> None:
        self.flush()


class TermSegmentWriter(SegmentWriter):
    """`SegmentWriter` with a `TermPool` instead of Whoosh's sorting pool (see the module's docstring)."""

    def __init__(self, ix, limitmb: int = 128, **kwargs) -> None:  # type: ignore[no-untyped-def]
        for name, f in ix.schema.items():
            if f.vector or f.separate_spelling():
                raise ValueError(f"field {name!r}: vectors and separate spelling are not supported here")
        super().__init__(ix, limitmb=1, **kwargs)
        self.pool.cleanup()
        self.pool: TermPool = TermPool(limitmb)  # type: ignore[assignment]
        self._fast = {name for name, f in self.schema.items() if _fast_analyzed(f)}

    def add_document(self, **fields) -> None:  # type: ignore[no-untyped-def]
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        pool = self.pool
        fast = self._fast
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        added = 0
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    fp = pool.field(fieldname)
                    terms, tids, docs, weights, values = fp.terms, fp.tids, fp.docs, fp.weights, fp.values
                    if fieldname in fast and isinstance(value, str):
                        fb = field.format.field_boost
                        sterms = fp.sterms
                        one = _ONE_POSITION
                        for w, poslist in index_positions(value).items():
                            tid = sterms.get(w)
                            if tid is None:
                                tid = fp.term_id(w)
                            freq = len(poslist)
                            tids.append(tid)
                            docs.append(docnum)
                            weights.append(float(freq) * fb * fieldboost)
                            if freq == 1 and poslist[0] < 256:
                                values.append(_ONE + one[poslist[0]])
                            else:
                                values.append(_encode_positions(poslist))
                            length += freq
                            added += 1
                    else:
                        scorable = field.scorable
                        for tbytes, freq, weight, vbytes in field.index(value):
                            tid = terms.get(tbytes)
                            if tid is None:
                                tid = terms[tbytes] = len(terms)
                            tids.append(tid)
                            docs.append(docnum)
                            weights.append(weight * fieldboost)
                            values.append(vbytes if vbytes is not None else b"")
                            if scorable:
                                length += freq
                            added += 1
                    if not field.scorable:
                        length = 0
                customval = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
        except Exception:
            perdocwriter.cancel_doc()
            pool.drop_doc(docnum)
            raise
        perdocwriter.finish_doc()
        pool.currentsize += added * _POSTING_BYTES
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        try:
            decoded = self.pool.write(self.fieldwriter, self.schema, pdr, self.docnum)  # type: ignore[attr-defined]
        finally:
            self.fieldwriter.close()
            if pdr:
                pdr.close()
        self._write_sidecar(decoded)

    def _write_sidecar(self, decoded: dict[str, FieldPostings]) -> None:
        """The search engine's decoded postings, written beside the segment now, from the arrays at hand:
        otherwise the first search (or the catch-up's warm-up) decodes the blocks just written (~10 % of
        a build). Only where the decoder would read the segment's own `.pst` file (not compound)."""
        folder = getattr(self.storage, "folder", None)
        if folder is None or self.compound:
            return
        segment = self.newsegment
        pst = os.path.join(folder, segment.make_filename(W3Codec.POSTS_EXT))
        try:
            size = os.stat(pst).st_size
        except OSError:
            return
        sid = segment.segment_id()
        with contextlib.suppress(OSError):  # a read-only or full disk: the first search decodes instead
            postings.write_sidecar(Path(folder) / (sid + postings.SUFFIX), postings.identity(sid, self.docnum, size),
                                   decoded)



class _TermSubWriterTask(SubWriterTask):
    """Whoosh's multiprocessing sub-writer, writing its own segment with a `TermSegmentWriter`."""

    def run(self) -> None:
        ix = self.storage.open_index(self.indexname)
        writer = self.writer = TermSegmentWriter(ix, _lk=False, **self.kwargs)
        known = len(analysis._surface_cache)
        while True:
            jobinfo = self.jobqueue.get()
            if jobinfo is None:
                break
            self._process_file(*jobinfo)
        self.resultqueue.put((None, analysis.surface_terms_since(known), writer._finalize_segment()))


class TermMpWriter(MpWriter):
    """Whoosh's `MpWriter` with one segment per process (multisegment): each child gathers and writes its
    documents' segment as `TermSegmentWriter` does; the parent reads the log, deletes replaced versions and
    commits every segment in one TOC, so a commit is still all or nothing. The children fork from this
    process when the first batch of documents is handed out (they inherit its warm analyzer caches)."""

    def __init__(self, ix, procs: int, multisegment: bool = True, **kwargs) -> None:  # type: ignore[no-untyped-def]
        subargs = {k: v for k, v in kwargs.items() if k != "_lk"}
        super().__init__(ix, procs=procs, multisegment=True, subargs=subargs, **kwargs)  # a segment per child

    def _new_task(self):  # type: ignore[no-untyped-def]
        task = _TermSubWriterTask(self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs,
                                  True)
        self.tasks.append(task)
        task.start()
        return task

    def _commit(self, mergetype, optimize, merge) -> None:  # type: ignore[no-untyped-def]
        if self.docbuffer:
            self._enqueue()
        for _ in self.tasks:
            self.jobqueue.put(None)
        finalsegments = self._merge_segments(mergetype, optimize, merge)
        results: list[tuple] = []  # type: ignore[type-arg]
        while len(results) < len(self.tasks):  # before join: a child blocks until its result is taken
            try:
                results.append(self.resultqueue.get(timeout=0.5))
            except queue.Empty:
                if any(t.exitcode not in (None, 0) for t in self.tasks):
                    raise RuntimeError("an index writer process failed") from None
        for task in self.tasks:
            task.join()
        finalsegments += [segment for _, _, segment in results]
        for _, words, _ in results:
            analysis.remember_surface_terms(words)  # the next commit's processes fork with them
        if self._added:
            finalsegments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(finalsegments)
        self._finish()

    def cancel(self) -> None:
        """Whoosh's cancel leaves the children waiting for work forever: stop them."""
        try:
            for task in self.tasks:
                if task.is_alive():
                    task.terminate()
                task.join()
        finally:
            SegmentWriter.cancel(self)
