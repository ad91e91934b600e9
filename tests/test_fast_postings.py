"""The postings decoder and its sidecar files: equal to Whoosh's matcher on every term, never trusted stale."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archivist.archive import Archive
from index import postings as P
from index.writing import TermMpWriter

FIELDS = ("title", "body", "url", "publisher", "tag", "status", "year", "id", "current")
WORDS = ["handel", "ludźmi", "policja", "Szczecin", "Łódź", "kradzież", "samochodu", "raport", "praca", "przymusowa", "szkoła", "dzieci", "rodzice", "seniorka", "oszuści", "dzwonili", "minister", "zdrowia", "szpital", "pacjentów", "wybory", "prezydent"]


def _articles(n: int) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for i in range(n):
        body = " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(40 + i % 300))
        out.append(dict(title=f"{WORDS[i % len(WORDS)]} {WORDS[(i * 5) % len(WORDS)]} {i}", body=body,
                        published=dt.date(2010 + i % 12, 1 + i % 12, 1 + i % 28) if i % 9 else None,
                        publisher=f"KWP {WORDS[i % 5]}", url=f"https://example.pl/a/{i}",
                        tags=["policja"] if i % 4 == 0 else []))
    return out


@pytest.fixture(scope="module")
def arc(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with Archive.open(tmp_path_factory.mktemp("p") / "archive", actor="test:fast") as a:
        ids = [a.publish(**kw) for kw in _articles(160)]  # 160 one-article commits: merges, deletions
        for aid in ids[::13]:
            a.archive(aid, "test")
        a.tag(ids[3], "ważne")
        yield a


def _segments(arc: Archive) -> list:  # type: ignore[type-arg]
    s = arc.index.searcher()
    return [r for r, _ in s.reader().leaf_readers()]


def test_decoder_equals_whoosh_matcher_on_every_term(arc: Archive) -> None:
    segs = _segments(arc)
    assert len(segs) > 1 and any(r.has_deletions() for r in segs)
    checked = 0
    for r in segs:
        for direct in (True, False):
            for f in FIELDS:
                fp = P.decode_field(r, f, direct=direct)
                for tbytes, _ti in P._field_terms(r, f):
                    ids, ws = P.matcher_postings(r, f, tbytes)
                    got = fp.postings(tbytes)
                    assert got is not None, (f, tbytes)
                    assert got[0].tolist() == ids, (f, tbytes)
                    assert got[1].astype(np.float64).tolist() == ws, (f, tbytes)
                    checked += 1
                assert fp.postings(b"\xffno such term") is None
    assert checked > 1000


def test_block_boundaries(arc: Archive) -> None:
    """Terms longer than one block of 128 postings decode across blocks."""
    r = max(_segments(arc), key=lambda r: r.doc_count_all())
    fp = P.decode_field(r, "body")
    assert int(np.diff(fp.starts).max()) > 128


def test_sidecar_is_reused_and_never_trusted_for_another_segment(arc: Archive, tmp_path: Path) -> None:
    r = _segments(arc)[0]
    path = P.sidecar_path(r)
    assert path is not None
    path.unlink()  # (the writer wrote it) decoded and written again by the first search that needs it
    got = P.segment_postings(r, ("body",))
    assert path.exists()
    ident = P._identity(r)
    mapped = P.read_sidecar(path, ident)
    assert mapped is not None
    assert np.array_equal(mapped["body"].docs, got["body"].docs)
    assert P.read_sidecar(path, {**ident, "docs": ident["docs"] + 1}) is None
    assert P.read_sidecar(path, {**ident, "segment": "MAIN_other"}) is None
    torn = tmp_path / "torn"
    torn.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert P.read_sidecar(torn, ident) is None
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not a sidecar at all")
    assert P.read_sidecar(garbage, ident) is None


def test_sidecars_of_merged_segments_are_cleaned(arc: Archive) -> None:
    folder = arc.index.root
    for r in _segments(arc):
        P.segment_postings(r, ("title",))
    live = {r.segment().segment_id() for r in _segments(arc)}
    for i in range(12):  # enough one-article commits to merge small segments
        arc.publish(title=f"nowy artykuł {i}", body="treść " * 5)
    arc.search("artykuł")
    now = {r.segment().segment_id() for r in _segments(arc)}
    gone = live - now
    assert gone
    left = {p.name for p in folder.glob("*" + P.SUFFIX)}
    assert not any(g + P.SUFFIX in left for g in gone)


def test_field_lengths_match_whoosh(arc: Archive) -> None:
    for r in _segments(arc):
        for f in ("title", "body"):
            lens = P.field_lengths(r, f)
            for d in range(0, r.doc_count_all(), 3):
                want = r.doc_field_length(d, f, 0) or 0
                assert lens[d] == want


def _same_postings(a: P.FieldPostings, b: P.FieldPostings) -> bool:
    return all(getattr(a, part).dtype == getattr(b, part).dtype and np.array_equal(getattr(a, part), getattr(b, part))
               for part in P.PARTS)


@pytest.mark.parametrize("procs", [1, 2])
def test_the_writer_writes_each_segments_sidecar_as_decoding_would(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, procs: int) -> None:
    """A segment's sidecar comes from the writer's own arrays (no decoding after a commit): the same arrays,
    dtypes included, as decoding the segment's blocks gives -- for one-article commits, merges of small
    segments, deletions, and a bulk catch-up by several writer processes."""
    from index import projection

    monkeypatch.setattr(projection, "SIDECARS_AT_COMMIT", False)  # nothing decodes after a commit
    monkeypatch.setattr(projection, "PROCS", procs)
    monkeypatch.setattr(projection, "PROCS_AFTER", 10)
    monkeypatch.setattr(projection, "CHUNK", 40)
    used: list[int] = []
    monkeypatch.setattr(projection, "TermMpWriter", lambda ix, **kw: used.append(kw["procs"]) or TermMpWriter(ix, **kw))
    with Archive.open(tmp_path / "a", actor="test") as a:
        ids = [a.publish(**kw) for kw in _articles(30)]  # one-article commits, merged as they gather
        for aid in ids[::7]:
            a.archive(aid, "test")
        a.tag(ids[2], "ważne")
        a.rebuild_index()  # a bulk catch-up
        assert used == ([procs] if procs > 1 else [])
        for kw in _articles(12):
            a.publish(**{**kw, "url": kw["url"] + "/b"})
        segs = _segments(a)
        assert len(segs) > 2 and any(r.has_deletions() for r in segs)
        for r in segs:
            written = P.read_sidecar(P.sidecar_path(r), P._identity(r))
            assert written is not None, r.segment().segment_id()
            decoded = P.decode_segment(r, P.DECODED)
            assert written.keys() == decoded.keys()
            for f in P.DECODED:
                assert _same_postings(written[f], decoded[f]), (r.segment().segment_id(), f)
        assert a.search("policja").total > 0


@settings(max_examples=300, deadline=None)
@given(docs=st.lists(st.tuples(st.sets(st.integers(0, 40), min_size=1, max_size=12),
                               st.sets(st.integers(0, 40), min_size=1, max_size=12)), max_size=20),
       slop=st.integers(0, 5))
def test_two_word_phrases_at_once_equal_the_span_tree(docs, slop: int) -> None:  # type: ignore[no-untyped-def]
    """`pair_matches` (every candidate at once, numpy) answers what Whoosh's span rule (`tree`) answers."""
    from index.phrases import pair_matches, tree

    got = pair_matches(list(range(len(docs))), [a for a, _ in docs], [b for _, b in docs], slop).tolist()
    want = [bool(tree([[(x, x) for x in sorted(a)], [(x, x) for x in sorted(b)]], slop)) for a, b in docs]
    assert got == want


@settings(max_examples=300, deadline=None)
@given(docs=st.lists(st.lists(st.sets(st.integers(0, 30), min_size=0, max_size=12), min_size=3, max_size=5),
                     max_size=20).filter(lambda ds: len({len(d) for d in ds}) <= 1))
def test_exact_phrases_of_any_length_at_once_equal_the_span_tree(docs) -> None:  # type: ignore[no-untyped-def]
    """`chain_keys` (slop 1: a quoted phrase of three or more words) answers what `tree` answers."""
    from index.phrases import chain_keys, position_keys, tree

    if not docs:
        return
    parts = len(docs[0])
    keys = []
    for i in range(parts):
        per_doc = [sorted(d[i]) for d in docs]
        counts = np.array([len(p) for p in per_doc], dtype=np.int64)
        flat = np.array([x for p in per_doc for x in p], dtype=np.int64)
        keys.append(position_keys(np.arange(len(docs), dtype=np.int64), counts, flat))
    got = chain_keys(keys).tolist()
    want = [n for n, d in enumerate(docs)
            if all(d[i] for i in range(parts)) and tree([[(x, x) for x in sorted(p)] for p in d], 1)]
    assert got == want


def test_date_ranges_from_columns_equal_whooshs_trie_terms(arc: Archive) -> None:
    """`range_docs` reads a date range off the column; Whoosh's own path reads the range's trie terms.
    Every document of every segment: bounds open or closed, exclusive or not, undated articles, deletions."""
    from whoosh.query import DateRange

    from index.searching import range_docs

    s = arc.index.searcher()
    days = [None, dt.datetime(2009, 6, 1), dt.datetime(2010, 1, 1), dt.datetime(2013, 5, 4),
            dt.datetime(2015, 12, 31, 23, 59, 59, 999999), dt.datetime(2021, 12, 28), dt.datetime(2030, 1, 1)]
    # the recorded times of the index versions (valid_from): bounds that fall on a document's exact value
    exact = sorted({f["valid_from"] for f in s.all_stored_fields() if f.get("valid_from")})[::40]
    checked = 0
    for field, bounds in (("published", days), ("event_date", days), ("valid_from", days + exact)):
        for lo in bounds:
            for hi in bounds:
                for lx in (False, True):
                    for hx in (False, True):
                        q = DateRange(field, lo, hi, startexcl=lx, endexcl=hx)
                        for sub, _ in s.leaf_searchers():
                            r = sub.reader()
                            m = q._compile_query(r).matcher(sub, sub.boolean_context())
                            want = [d for d in (m.all_ids() if m.is_active() else ()) if not r.is_deleted(d)]
                            r.__dict__.pop("_archivist_ranges", None)
                            assert list(range_docs(sub, q)) == want, (field, lo, hi, lx, hx)
                            checked += len(want)
    assert checked > 1000
    assert any(r.has_deletions() for r in _segments(arc))


@settings(max_examples=300, deadline=None)
@given(block=st.lists(st.tuples(st.lists(st.integers(0, 300), min_size=1, max_size=12) |
                                st.lists(st.integers(0, 2**31), min_size=1, max_size=4) |
                                st.sampled_from([list(range(0, 3000, 3)), list(range(1001)), list(range(1000))]),
                                st.sampled_from([2, 2, 2, 3, 4, 5])), max_size=130))
def test_a_blocks_positions_decoded_at_once_equal_each_value_decoded(block) -> None:  # type: ignore[no-untyped-def]
    """`decode_block_positions` (all values of a block at once, numpy) gives what Whoosh's Positions format
    decodes value by value: values as the writer encodes them (pickle protocol 2, deltas under 256 or not,
    one position or past pickle's batch of 1000) and values of any other pickle protocol."""
    import pickle

    from whoosh.formats import Positions
    from whoosh.system import pack_uint

    from index.phrases import decode_block_positions

    values = []
    for positions, protocol in block:
        ps = sorted(set(positions))
        deltas = [b - a for a, b in zip([0, *ps], ps, strict=False)]
        values.append(pack_uint(len(deltas)) + pickle.dumps(deltas, protocol))
    offs, flat = decode_block_positions(values)
    fmt = Positions()
    assert len(offs) == len(values) + 1
    for i, v in enumerate(values):
        assert flat[offs[i]:offs[i + 1]].tolist() == fmt.decode_positions(v)


def test_facet_codes_kept_beside_segments_count_what_the_columns_hold(arc: Archive) -> None:
    """Facets counted from each segment's codes (`segment_codes`, read back from `.facetcodes` files by a
    fresh reader) equal counting the column values document by document, for any set of documents; a
    codes file made for another segment, or torn, is not taken."""
    import collections

    from index import projection as Pj
    from index.schema import FACETS
    from index.searching import _facets

    ix = arc.index
    s = ix.searcher()
    n = s.doc_count_all()
    rng = np.random.default_rng(7)
    for docs in (np.arange(n), np.flatnonzero(rng.random(n) < 0.3), np.zeros(0, dtype=np.int64)):
        got = _facets(ix, s, docs)
        for name, field in FACETS.items():
            col = ix.column(field, s)
            want = collections.Counter(str(col[d]) for d in docs.tolist() if col[d] not in (None, "", b""))
            assert dict(got[name]) == dict(sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))[:20]) or \
                (name == "year" and got[name] == dict(sorted(want.items(), reverse=True))), name
    folder = ix.root
    files = sorted(folder.glob("*" + Pj.CODES_SUFFIX))
    assert files and all(f.stat().st_size > 0 for f in files)
    reader = s.reader().leaf_readers()[0][0]
    fresh = Pj.SegmentReader(reader.storage(), reader.schema, reader.segment())  # no cache on it yet
    values, codes = Pj._segment_codes(fresh, "status")
    assert [values[c] for c in codes.tolist()] == [str(v) if v else "" for v in Pj.leaf_column(reader, "status")]
    path = folder / (reader.segment().segment_id() + Pj.CODES_SUFFIX)
    good = path.read_bytes()
    other_reader = s.reader().leaf_readers()[-1][0]
    other = folder / (other_reader.segment().segment_id() + Pj.CODES_SUFFIX)
    assert other != path
    other_good = other.read_bytes()
    try:
        path.write_bytes(good[: len(good) - 16])  # torn: computed again and written whole again
        assert Pj._segment_codes(fresh, "status")[1].tolist() == codes.tolist()
        rewritten = Pj.postings.read_with_header(path, Pj._CODES_MAGIC)
        assert rewritten is not None and "status" in rewritten[0]["fields"]
        other.write_bytes(good)  # another segment's file under this segment's name: not taken
        fresh_other = Pj.SegmentReader(other_reader.storage(), other_reader.schema, other_reader.segment())
        values, codes2 = Pj._segment_codes(fresh_other, "status")
        assert [values[c] for c in codes2.tolist()] == \
            [str(v) if v else "" for v in Pj.leaf_column(other_reader, "status")]
        from whoosh.filedb.filestore import FileStorage

        path.unlink()  # a read-only reader counts from memory and writes nothing
        ro = FileStorage(str(folder), readonly=True)
        ro_reader = Pj.SegmentReader(ro, reader.schema, reader.segment())
        assert Pj._segment_codes(ro_reader, "status")[1].tolist() == codes.tolist()
        assert not path.exists()
    finally:
        path.write_bytes(good)
        other.write_bytes(other_good)
