"""The search index as a projection of the log: checkpoints, idempotency, crashes, rebuilds, versions, processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest
from whoosh.query import Term

from archivist.archive import Archive
from index import projection
from index.schema import FOREVER
from store import events as ev
from store.log import ANY, NO_STREAM, AppendRequest

ROOT = Path(__file__).resolve().parents[1]
UTC = dt.UTC


def day(n: int) -> dt.datetime:
    return dt.datetime(2024, 1, 1, 12, tzinfo=UTC) + dt.timedelta(days=n)


def publish(a: Archive, i: int, word: str = "pożar") -> str:
    return a.publish(title=f"Komunikat {i}: {word} w powiecie", url=f"https://policja.example.pl/a/{i}",
                     body=f"Strażacy gasili {word} numer {i}. Policjanci zabezpieczyli teren i szukają świadków.",
                     published=dt.date(2015 + i % 8, 1 + i % 12, 1 + i % 28), publisher="KWP w Krakowie",
                     tags=["komunikat"])


def answer(a: Archive, text: str, **kw) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """An answer without what depends on index layout: BM25 statistics count deleted documents until
    Whoosh merges their segment (every commit replaces the checkpoint document), so scores, and the order
    of equal scores, differ between an index built incrementally and a rebuilt one."""
    res = msgspec.to_builtins(a.search(text, limit=50, **kw))
    res.pop("took_ms")
    for h in res["hits"]:
        h.pop("score")
    if kw.get("sort", "relevance") == "relevance":
        res["hits"].sort(key=lambda h: h["id"])
    return res


QUERIES = ["pożar", "pozar", "policjanci świadków", '"szukają świadków"', "title:komunikat", "publisher:krakowie",
           "pożar published:2016..2019", ""]


def snapshot(a: Archive) -> list[dict]:  # type: ignore[type-arg]
    out = [answer(a, q) for q in QUERIES]
    out += [answer(a, "pożar", sort="date"), answer(a, "pożar", status="archived"),
            answer(a, "pożar", include_withdrawn=True)]
    return out


def current_docs(a: Archive) -> list[dict]:  # type: ignore[type-arg]
    s = a.index.searcher()
    return [h.fields() for h in s.search(Term("current", "1"), limit=None, scored=False)]


@pytest.fixture
def arc(archive_dir: Path):  # type: ignore[no-untyped-def]
    with Archive.open(archive_dir, actor="test:index") as a:
        yield a


def test_catch_up_from_the_checkpoint(arc: Archive) -> None:
    ids = [publish(arc, i) for i in range(3)]
    assert arc.index.checkpoint() == arc.log.head()  # appends bring the index along
    arc.defer_index = True
    ids += [publish(arc, i) for i in range(3, 6)]
    behind = arc.index.checkpoint()
    assert behind < arc.log.head()
    assert arc.catch_up_index() == arc.log.head()
    assert arc.search("pożar").total == 6
    assert {d["id"] for d in current_docs(arc)} == set(ids)


def test_applying_twice_changes_nothing(arc: Archive) -> None:
    ids = [publish(arc, i) for i in range(4)]
    arc.archive(ids[0], "stare")
    arc.tag(ids[1], "powiat")
    before = snapshot(arc)
    docs = arc.index.searcher().doc_count()
    arc.index._apply(list(arc.log.read()))  # the whole log again
    arc.index.catch_up()
    assert arc.index.searcher().doc_count() == docs
    assert snapshot(arc) == before
    assert arc.verify().ok


def test_crash_between_log_append_and_index_commit(archive_dir: Path) -> None:
    with Archive.open(archive_dir) as a:
        publish(a, 1)
        a.defer_index = True  # the append is durable; the index commit never happens (a crash)
        aid = publish(a, 2, word="powódź")
        assert a.index.checkpoint() < a.log.head()
    with Archive.open(archive_dir) as b:
        res = b.search("powódź")
        assert [h.id for h in res.hits] == [aid]
        assert b.index.checkpoint() == b.log.head()


def test_rebuild_gives_the_same_answers(archive_dir: Path) -> None:
    with Archive.open(archive_dir) as a:
        ids = [publish(a, i) for i in range(8)]
        a.archive(ids[1], "archiwum")
        a.withdraw(ids[2], "dane osobowe")
        a.relocate(ids[3], "https://policja.example.pl/nowy/3")
        a.tag(ids[4], "powiat")
        before = snapshot(a)
    shutil.rmtree(archive_dir / "index")
    with Archive.open(archive_dir) as b:
        assert snapshot(b) == before
        assert b.verify().ok


def test_bulk_catch_up_across_many_commits_equals_one_commit(archive_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with Archive.open(archive_dir) as a:
        a.defer_index = True
        ids = [publish(a, i) for i in range(12)]
        for i in ids[:4]:
            a.archive(i, "archiwum")
        a.tag(ids[5], "powiat")
        a.catch_up_index()
        before = snapshot(a)
        versions = a.index.searcher().doc_count()
    shutil.rmtree(archive_dir / "index")
    # tiny chunks, and a commit after every chunk: articles span several commits of one catch-up
    monkeypatch.setattr(projection, "CHUNK", 3)
    monkeypatch.setattr(projection._Batch, "full", lambda self: True)
    with Archive.open(archive_dir) as b:
        assert b.catch_up_index() == b.log.head()
        assert b.index.searcher().doc_count() == versions
        assert snapshot(b) == before
        assert b.verify().ok


def _append(a: Archive, stream: str, events: list[ev.Event], when: dt.datetime, expected: int = ANY) -> None:
    a.append([AppendRequest(stream, events, expected, recorded_at=when)])


def test_versioned_documents_and_as_of(arc: Archive) -> None:
    aid = "a1b2c3d4e5f6"
    _append(arc, aid, [ev.ArticlePublished(title="Pożar hali", body="Strażacy gasili pożar hali magazynowej.",
                                           url="https://policja.example.pl/hala", published=dt.date(2023, 12, 1),
                                           publisher="KWP w Krakowie")], day(0), NO_STREAM)
    _append(arc, aid, [ev.ArticleArchived(reason="archiwum")], day(10))
    _append(arc, aid, [ev.ArticleTagged(tag="pożary")], day(20))
    _append(arc, aid, [ev.ArticleRelocated(from_url="https://policja.example.pl/hala",
                                           to_url="https://policja.example.pl/archiwum/hala")], day(30))
    s = arc.index.searcher()
    versions = sorted((f["valid_from"], f["valid_to"], f["status"], f["tag"]) for f in s.documents(id=aid))
    assert len(versions) == 4  # one per commit that changed the article
    assert [v[2] for v in versions] == ["live", "archived", "archived", "archived"]
    assert versions[-1][1] == FOREVER and all(v[1] == n[0] for v, n in zip(versions, versions[1:], strict=False))
    assert [d["id"] for d in current_docs(arc)] == [aid]  # exactly one current document
    assert arc.verify().ok

    now = arc.search("pożar")
    assert now.hits[0].status == "archived" and now.hits[0].url.endswith("/archiwum/hala")
    assert now.hits[0].tags == ["pożary"]
    then = arc.search("pożar", as_of=day(5).date())
    assert then.total == 1 and then.hits[0].status == "live" and then.hits[0].tags == []
    mid = arc.search("pożar", as_of=day(15).date())
    assert mid.hits[0].status == "archived" and mid.hits[0].tags == []
    assert arc.search("pożar", as_of=(day(0) - dt.timedelta(days=1)).date()).total == 0
    assert arc.search("pożar", as_of=day(15).date(), status="live").total == 0


_WORKER = textwrap.dedent("""
    import json, sys, datetime as dt
    from archivist.archive import Archive
    root, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    missed = []
    with Archive.open(root, actor="test:" + tag) as a:
        for i in range(n):
            word = f"{tag}slowo{i}"
            a.publish(title=f"Wiadomość {tag} {i}", body=f"Treść {word} oraz wspólne hasło", publisher="KGP",
                      url=f"https://policja.example.pl/{tag}/{i}")
            if a.search(word).total != 1:  # read-your-writes, whatever the other process is doing
                missed.append(word)
        total = a.search("wspólne hasło").total
    print(json.dumps({"missed": missed, "total": total}))
""")


def test_two_processes_append_and_search(archive_dir: Path) -> None:
    with Archive.open(archive_dir) as a:
        publish(a, 0)
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(archive_dir), tag, "6"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in ("ala", "ola")]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert all(o["missed"] == [] for o in outs)
    assert all(o["total"] >= 6 for o in outs)
    with Archive.open(archive_dir) as b:
        assert b.search("wspólne hasło").total == 12
        assert b.verify().ok


def test_deleted_documents_are_not_served_after_reopen(arc: Archive) -> None:
    """Whoosh's Searcher.refresh reuses a segment's reader by segment id alone and keeps serving documents
    deleted since; the index reopens readers whose deletions changed."""
    ids = [publish(arc, i) for i in range(3)]
    assert arc.search("pożar").total == 3
    docid = next(f["docid"] for f in current_docs(arc) if f["id"] == ids[0])
    with arc.index.ix.writer() as w:
        w.delete_by_term("docid", docid)
    res = arc.search("pożar")
    assert res.total == 2 and ids[0] not in {h.id for h in res.hits}
    assert arc.search("pożar", facets=True).facets["status"] == {"live": 2}


def test_results_cache_never_outlives_a_commit(arc: Archive) -> None:
    publish(arc, 1)
    first = arc.search("pożar")
    assert arc.search("pożar").total == first.total == 1  # a cache hit
    publish(arc, 2)
    assert arc.search("pożar").total == 2


def test_small_commits_are_folded_together_in_bounded_merges(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import index.projection as projection
    from archivist.archive import Archive

    with Archive.open(tmp_path / "m") as a:
        aid = a.publish(title="Komunikat", body="Treść komunikatu policji.")
        for i in range(3 * projection.MERGE_AFTER):
            a.tag(aid, f"t{i}")  # one ordinary commit each
        segments = a.index.ix._read_toc().segments
        assert len(segments) <= projection.MERGE_AFTER + 1
        assert all(s.doc_count_all() <= projection.MERGE_BUDGET + projection.SMALL_SEGMENT for s in segments)
        assert a.search("tag:t23").total == 1 and a.verify().ok


def test_a_reader_skips_listing_an_unchanged_index_and_still_sees_a_writers_commit(tmp_path: Path,
                                                                                   monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from whoosh.searching import Searcher

    with Archive.open(tmp_path) as w:
        w.defer_index = False
        for i in range(3):
            publish(w, i)
    old = dt.datetime(2020, 1, 1).timestamp()
    os.utime(tmp_path / "index", (old, old))  # committed long ago: the folder's time can be trusted
    listings = []
    real = Searcher.up_to_date
    monkeypatch.setattr(Searcher, "up_to_date", lambda s: listings.append(1) or real(s))
    with Archive.open(tmp_path, readonly=True) as r, Archive.open(tmp_path) as w:
        assert r.search("pożar").total == 3
        listings.clear()
        assert r.search("pożar").total == 3
        assert listings == []  # one stat instead of a folder listing
        w.defer_index = False
        publish(w, 9)
        assert r.search("pożar").total == 4
        assert listings  # the folder moved: listed again
