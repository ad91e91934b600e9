"""The index writer that gathers postings per term (index/writing.py) writes the index Whoosh's own
`SegmentWriter` writes: the same segment files byte for byte, the same postings, lengths, stored fields,
columns and answers -- through bulk catch-ups, small commits with merges, updates and failed documents."""

from __future__ import annotations

import datetime as dt
import filecmp
import random
import shutil
from pathlib import Path

import msgspec
import pytest
from whoosh.codec.whoosh3 import W3Codec
from whoosh.index import open_dir

from archivist.archive import Archive
from index import analysis, projection
from index.analysis import index_positions
from index.postings import SUFFIX as SIDECAR_SUFFIX
from index.projection import CODES_SUFFIX, _column_values
from index.writing import TermSegmentWriter

WORDS = ["pożar", "straż", "policja", "policjanci", "zatrzymali", "sąd", "sad", "ludźmi", "ludzmi", "handel", "handlu", "Gdańsk", "Gdańsku", "prezydent", "ustawa", "Sejm", "szpital", "pacjentów", "zdrowia", "rok", "roku", "w", "z", "na", "się", "jest", "być", "będą", "że", "oraz", "polsko-ukraińska", "COVID-19", "29.06.2017", "12:30", "1,5", "www.gov.pl/web/handel-ludzmi", "biuro@mswia.gov.pl", "rock'n'roll", "a4", "mp3", "2024", "łódź", "Łodzi", "źdźbło"]  # noqa: SIM905 -- a sentence reads better


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def _fill(a: Archive, rng: random.Random, n: int) -> list[str]:
    ids = []
    for i in range(n):
        ids.append(a.publish(title=_text(rng, 6), body=_text(rng, rng.randint(5, 300)),
                             url=f"https://policja.example.pl/a/{i}" if i % 3 else None,
                             published=dt.date(2010 + i % 15, 1 + i % 12, 1 + i % 28) if i % 4 else None,
                             publisher=rng.choice(["KWP w Krakowie", "MSWiA", None]),
                             tags=rng.sample(["komunikat", "handel ludźmi", "pilne"], rng.randint(0, 2))))
    return ids


def _history(a: Archive, rng: random.Random, ids: list[str]) -> None:
    for aid in rng.sample(ids, len(ids) // 3):
        match rng.randrange(5):
            case 0:
                a.archive(aid, reason="archiwum")
            case 1:
                a.tag(aid, "przegląd")
            case 2:
                a.withdraw(aid, reason="wycofany")
            case 3:
                a.relocate(aid, f"https://www.gov.pl/web/x/{aid[:8]}")
            case _:
                a.revise(aid, body=_text(rng, 40))


def _segments(root: Path) -> list[dict[str, Path]]:
    """Whoosh's files of each segment (the search engine's `.fastpostings` and `.facetcodes` files are ours,
    derived from them, and name their segment: they are checked by tests/test_fast_postings.py)."""
    ix = open_dir(str(root))
    out = []
    for seg in ix._read_toc().segments:
        prefix = seg.segment_id()
        out.append({name[len(prefix):]: root / name for name in seg.list_files(ix.storage)
                    if not name.endswith((SIDECAR_SUFFIX, CODES_SUFFIX))})
    ix.close()
    return out


def _contents(root: Path) -> dict:  # type: ignore[type-arg]
    """Everything a reader sees: per term the doc frequency, weight and postings (docnum, weight,
    positions); per document its stored fields and field lengths; the columns; the segments' sizes."""
    ix = open_dir(str(root))
    r = ix.reader()
    schema = ix.schema
    postings = {}
    for fieldname, text in r.all_terms():
        fmt = schema[fieldname].format
        m = r.postings(fieldname, text)
        plist = []
        while m.is_active():
            value = m.value()
            plist.append((m.id(), m.weight(), fmt.decode_positions(value) if fmt.supports("positions") else value))
            m.next()
        postings[(fieldname, text)] = (r.doc_frequency(fieldname, text), r.frequency(fieldname, text), plist)
    scorable = [n for n, f in schema.items() if f.scorable]
    docs = [(r.stored_fields(d), [r.doc_field_length(d, f) for f in scorable]) for d in range(r.doc_count_all())]
    columns = {f: _column_values(r, f) for f, obj in schema.items() if obj.column_type}
    out = {"postings": postings, "docs": docs, "columns": columns,
           "lengths": {f: r.field_length(f) for f in scorable},
           "segments": [(s.doc_count_all(), s.deleted_count()) for s in ix._read_toc().segments]}
    r.close()
    ix.close()
    return out


def _answers(a: Archive) -> list:  # type: ignore[type-arg]
    out = []
    for q in ["pożar", "ludzmi", "handel ludźmi", '"zatrzymali policjanci"', "gov.pl", "title:sąd",
              "publisher:krakowie", "covid-19", "29.06.2017", "prezydent published:2012..2018", ""]:
        res = msgspec.to_builtins(a.search(q, limit=30))
        res.pop("took_ms")
        out.append(res)
    out.append(msgspec.to_builtins(a.search("szpital", as_of=dt.date.today(), limit=30)))
    out[-1].pop("took_ms")
    return out


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One archive's log (articles, revisions, statuses, tags, relocations), indexed by neither writer yet."""
    root = tmp_path_factory.mktemp("logged") / "archive"
    rng = random.Random(11)
    with Archive.open(root, actor="test") as a:
        a.defer_index = True
        _history(a, rng, _fill(a, rng, 90))
    shutil.rmtree(root / "index", ignore_errors=True)
    return root


def _build(logged: Path, tmp_path: Path, writer: str, monkeypatch: pytest.MonkeyPatch, *, bulk: bool) -> tuple[Path, list]:  # type: ignore[type-arg]
    """Index `logged` with `writer`: one bulk catch-up over several commits, or a commit per few records
    (the watcher's and the TUI's commits, which merge small segments)."""
    monkeypatch.setattr(projection, "WRITER", writer)
    root = tmp_path / writer
    shutil.copytree(logged, root)
    with Archive.open(root, actor="test") as a:
        if bulk:
            with monkeypatch.context() as m:
                m.setattr(projection, "CHUNK", 40)
                m.setattr(projection._Batch, "full", lambda self: len(self.working) > 25)
                a.index.catch_up()
        else:
            for head in range(3, a.log.head() + 3, 3):
                a.index.catch_up(min(head, a.log.head()))
        answers = _answers(a)
        assert a.verify().ok
    return root / "index", answers


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk-catch-up", "commit-per-append-with-merges"])
def test_term_writer_writes_whooshs_index(logged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          bulk: bool) -> None:
    old, old_answers = _build(logged, tmp_path, "whoosh", monkeypatch, bulk=bulk)
    new, new_answers = _build(logged, tmp_path, "terms", monkeypatch, bulk=bulk)
    assert new_answers == old_answers
    old_segs, new_segs = _segments(old), _segments(new)
    assert len(old_segs) == len(new_segs) and len(old_segs) >= (4 if bulk else 2)
    for a, b in zip(old_segs, new_segs, strict=True):
        assert sorted(a) == sorted(b) and {".trm", ".pst", "._stored.col", "._body_len.col"} <= set(a)
        for part in a:
            assert filecmp.cmp(a[part], b[part], shallow=False), part
    assert _contents(new) == _contents(old)


def test_a_document_that_fails_half_way_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoosh's writer keeps the postings a failing document had added; this one forgets them, so the
    next document's postings are its own."""
    with Archive.open(tmp_path / "a") as a:
        a.publish(title="Komunikat", body="Treść komunikatu.")
        ix = a.index.ix
    w = TermSegmentWriter(ix)
    with pytest.raises(Exception):  # noqa: B017 -- whatever the field type raises
        w.add_document(docid="x@1", title="ludźmi pożar", version="not a number")
    w.add_document(docid="y@2", title="straż")
    w.commit()
    r = ix.reader()
    failed = set(index_positions("ludźmi pożar")) - set(index_positions("straż"))
    titles = {t.decode() for f, t in r.all_terms() if f == "title"}
    assert failed and not failed & titles and set(index_positions("straż")) <= titles
    assert [d for d, _ in r.postings("docid", b"y@2").items_as("weight")] == [r.doc_count_all() - 1]
    assert r.doc_count_all() == 3
    r.close()


def test_codec_parameters_are_whooshs_defaults() -> None:
    """The term encoder writes Whoosh's block layout for the default codec (128 postings, zlib 3, no inlining)."""
    codec = W3Codec()
    assert (codec._blocklimit, codec._compression, codec._inlinelimit) == (128, 3, 1)


def _by_docid(root: Path) -> dict:  # type: ignore[type-arg]
    """The index's contents keyed by document id instead of docnum (which depends on the segmentation)."""
    c = _contents(root)
    ids = [stored.get("docid") for stored, _ in c["docs"]]
    deleted = set()
    ix = open_dir(str(root))
    with ix.reader() as r:
        deleted = {d for d in range(r.doc_count_all()) if r.is_deleted(d)}
    ix.close()
    return {
        "postings": {k: sorted((ids[d], w, p) for d, w, p in plist if d not in deleted)
                     for k, (_, _, plist) in c["postings"].items()},
        "docs": sorted((ids[d], sorted(s.items()), lens) for d, (s, lens) in enumerate(c["docs"]) if d not in deleted),
    }


def test_two_processes_write_the_same_documents(logged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bulk catch-up split across two writer processes (a segment each) indexes the same documents,
    postings and answers as one process."""
    one, answers_one = _build(logged, tmp_path / "one", "terms", monkeypatch, bulk=True)
    monkeypatch.setattr(projection, "PROCS", 2)
    monkeypatch.setattr(projection, "PROCS_BATCH", 4)
    monkeypatch.setattr(projection, "PROCS_AFTER", 0)
    analysis._surface_cache.clear()
    two, answers_two = _build(logged, tmp_path / "two", "terms", monkeypatch, bulk=True)
    assert "pożar" in analysis._surface_cache  # the writer processes handed their word cache back
    assert len(_segments(two)) > len(_segments(one))

    def norm(answers: list) -> list:  # type: ignore[type-arg]
        """Docnums order equal scores: past the limit, which of the tied documents make the cut differs."""
        return [{**a, "hits": sorted(a["hits"], key=lambda h: h["id"]) if a["total"] <= 30
                 else sorted(h["score"] for h in a["hits"])} for a in answers]

    assert norm(answers_two) == norm(answers_one)
    assert _by_docid(two) == _by_docid(one)
