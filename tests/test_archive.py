"""The Archive facade and the article state projection, through the Python API."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from archivist import errors
from archivist.archive import Archive
from archivist.state import ArchiveState
from store.log import MemoryLog


@pytest.fixture
def arc(archive_dir):  # type: ignore[no-untyped-def]
    with Archive.open(archive_dir, actor="test:me") as a:
        yield a


def _publish(a: Archive, n: int = 1, **kw) -> str:  # type: ignore[no-untyped-def]
    fields = dict(title=f"Wspólnie przeciwko handlowi ludźmi {n}", body="Policjanci spotkali się z uczniami. " * 20,
                  url=f"http://www.handelludzmi.eu/aktualnosci/{n}/", published=dt.date(2017, 6, 29),
                  publisher="KWP w Szczecinie")
    fields.update(kw)
    return a.publish(**fields)


def test_publish_then_show_reads_the_body_from_the_log(arc: Archive) -> None:
    aid = _publish(arc)
    view = arc.show(aid)
    assert view.title == "Wspólnie przeciwko handlowi ludźmi 1"
    assert view.body.startswith("Policjanci spotkali")
    assert view.status == "live" and view.versions == 1 and view.version == 1
    assert view.url == "http://www.handelludzmi.eu/aktualnosci/1/"
    # the projection keeps no bodies
    assert not hasattr(arc.state.articles[aid], "body")


def test_identity_follows_the_canonical_url_then_metadata_then_content(arc: Archive) -> None:
    a1 = _publish(arc)
    with pytest.raises(errors.ConflictError):
        _publish(arc, title="other title", url="https://handelludzmi.eu/aktualnosci/1")  # same page
    a2 = arc.publish(title="Bez adresu", body="x", publisher="MSWiA", published=dt.date(2020, 1, 1))
    with pytest.raises(errors.ConflictError):
        arc.publish(title="Bez  adresu", body="y", publisher="mswia", published=dt.date(2020, 1, 1))
    a3 = arc.publish(title="Sam tytuł", body="treść")
    a4 = arc.publish(title="Sam tytuł", body="inna treść")
    assert len({a1, a2, a3, a4}) == 4


def test_lifecycle_events_and_history(arc: Archive) -> None:
    aid = _publish(arc)
    assert arc.archive(aid, "Strona znajduje się w archiwum")
    assert arc.archive(aid) == 0  # already archived: nothing appended
    assert arc.relocate(aid, "www.gov.pl/web/handel-ludzmi/spotkanie")
    assert arc.tag(aid, "Policja", "policja", "handel ludźmi")
    assert arc.untag(aid, "policja")
    assert arc.withdraw(aid, "dane osobowe")
    assert arc.restore(aid, "zgoda")
    view = arc.show(aid)
    assert view.status == "live"
    assert view.tags == ["handel ludźmi"]
    assert view.url == "https://www.gov.pl/web/handel-ludzmi/spotkanie"
    assert [u.url for u in view.urls] == ["http://www.handelludzmi.eu/aktualnosci/1/", view.url]
    kinds = [h.type for h in arc.history(aid)]
    assert kinds == ["ArticlePublished", "ArticleArchived", "ArticleRelocated", "ArticleTagged", "ArticleTagged",
                     "ArticleUntagged", "ArticleWithdrawn", "ArticleRestored"]
    assert all(h.actor == "test:me" for h in arc.history(aid))
    assert "body" not in arc.history(aid)[0].event


def test_revise_keeps_every_version(arc: Archive) -> None:
    aid = _publish(arc)
    arc.revise(aid, body="Nowa treść artykułu.")
    view = arc.show(aid)
    assert view.body == "Nowa treść artykułu." and view.versions == 2
    assert view.title == "Wspólnie przeciwko handlowi ludźmi 1"


def test_stale_expected_version_is_a_conflict_and_writes_nothing(arc: Archive) -> None:
    aid = _publish(arc)
    head = arc.log.head()
    with pytest.raises(errors.ConflictError):
        arc.archive(aid, expected_version=7)
    assert arc.log.head() == head


def test_bad_input_is_a_clear_error(arc: Archive) -> None:
    aid = _publish(arc)
    with pytest.raises(errors.UsageError, match="title"):
        arc.publish(title="  ", body="x")
    with pytest.raises(errors.UsageError, match="web address"):
        arc.relocate(aid, "not an address")
    with pytest.raises(errors.UsageError, match="reason"):
        arc.withdraw(aid, " ")
    with pytest.raises(errors.NotFound):
        arc.show("ffffffffffff")
    with pytest.raises(errors.UsageError):
        arc.tag(aid, "  ")


def test_id_prefix_lookup(arc: Archive) -> None:
    aid = _publish(arc)
    assert arc.show(aid[:6]).id == aid
    with pytest.raises(errors.NotFound):
        arc.show(aid[:3])


def test_resolve_follows_articles_and_portal_rules_leniently(arc: Archive) -> None:
    aid = _publish(arc)
    arc.relocate_portal("http://www.handelludzmi.eu", "https://www.gov.pl/web/handel-ludzmi")
    # the article itself has not moved: the portal rule answers
    r = arc.resolve("https://handelludzmi.eu/aktualnosci/1")
    assert r.article_id == aid and r.current == "https://www.gov.pl/web/handel-ludzmi"
    assert [h.kind for h in r.chain] == ["portal"]
    arc.relocate(aid, "https://www.gov.pl/web/handel-ludzmi/wspolnie")
    for form in ("http://www.handelludzmi.eu/aktualnosci/1/", "HTTPS://HANDELLUDZMI.EU/aktualnosci/1",
                 "handelludzmi.eu/aktualnosci/1#top"):
        r = arc.resolve(form)
        assert r.current == "https://www.gov.pl/web/handel-ludzmi/wspolnie"
        assert [h.kind for h in r.chain] == ["article"]
    # any other address of the old portal
    assert arc.resolve("http://handelludzmi.eu/inne").current == "https://www.gov.pl/web/handel-ludzmi"
    with pytest.raises(errors.NotFound):
        arc.resolve("https://example.org/unknown")


def test_resolve_keep_path_and_loops(arc: Archive) -> None:
    arc.relocate_portal("old.example.pl", "https://new.example.pl/archiwum", keep_path=True)
    assert arc.resolve("http://old.example.pl/a/b?x=1").current == "https://new.example.pl/archiwum/a/b?x=1"
    arc.relocate_portal("a.example.pl", "https://b.example.pl")
    arc.relocate_portal("b.example.pl", "https://a.example.pl")
    with pytest.raises(errors.IntegrityError, match="loop"):
        arc.resolve("https://a.example.pl/x")


def test_state_is_a_pure_projection_and_applying_twice_changes_nothing(arc: Archive) -> None:
    for i in range(5):
        _publish(arc, i)
    first = list(arc.articles())[0].id
    arc.archive(first)
    arc.tag(first, "x")
    replayed = ArchiveState()
    records = list(arc.log.read())
    replayed.apply_all(records)
    replayed.apply_all(records)  # twice: no effect
    assert {k: v.status for k, v in replayed.articles.items()} == {k: v.status for k, v in arc.state.articles.items()}
    assert replayed.articles[first].tags == ["x"]
    assert replayed.events == len(records)


def test_another_process_appends_are_seen(archive_dir) -> None:  # type: ignore[no-untyped-def]
    with Archive.open(archive_dir) as one, Archive.open(archive_dir) as two:
        aid = _publish(one)
        assert two.show(aid).title.startswith("Wspólnie")
        two.archive(aid)
        assert one.show(aid).status == "archived"


def test_export_import_round_trip_is_byte_identical(arc: Archive, tmp_path) -> None:  # type: ignore[no-untyped-def]
    aid = _publish(arc)
    digest = arc.blobs.put("oryginalne bajty ź".encode())
    from store.events import SourceReceived
    from store.log import AppendRequest
    arc.append([AppendRequest(f"source:{digest}", [SourceReceived(digest=digest, file_name="a.txt", size=19)])])
    arc.archive(aid)
    arc.relocate_portal("handelludzmi.eu", "https://www.gov.pl/web/handel-ludzmi")
    first = io.BytesIO()
    arc.export(first)
    with Archive.open(tmp_path / "copy") as b:
        assert b.import_(io.BytesIO(first.getvalue())) == arc.log.head()
        second = io.BytesIO()
        b.export(second)
        assert second.getvalue() == first.getvalue()
        assert b.verify().ok
        assert b.show(aid).status == "archived"
        with pytest.raises(errors.UsageError, match="empty"):
            b.import_(io.BytesIO(first.getvalue()))


def test_import_rejects_tampered_exports(tmp_path, arc: Archive) -> None:  # type: ignore[no-untyped-def]
    _publish(arc)
    buf = io.BytesIO()
    arc.export(buf)
    tampered = buf.getvalue().replace(b"Policjanci", b"Policjantki")
    with Archive.open(tmp_path / "t") as b, pytest.raises(errors.IntegrityError, match="re-hash"):
        b.import_(io.BytesIO(tampered))
    with Archive.open(tmp_path / "u") as c, pytest.raises(errors.InputRejected, match="line 1"):
        c.import_(io.BytesIO(b"{not json\n"))


def test_verify_detects_a_corrupt_blob(arc: Archive) -> None:
    from store.events import SourceReceived
    from store.log import AppendRequest
    digest = arc.blobs.put(b"abc")
    arc.append([AppendRequest(f"source:{digest}", [SourceReceived(digest=digest, file_name="a.txt", size=3)])])
    assert arc.verify().ok
    path = arc.blobs.path(digest)
    path.chmod(0o644)
    path.write_bytes(b"abd")
    report = arc.verify()
    assert not report.ok and report.problems[0].kind == "blob"


def test_memory_log_carries_the_same_state_machine() -> None:
    log = MemoryLog()
    from store.events import ArticlePublished
    from store.log import NO_STREAM, AppendRequest
    log.append_batch([AppendRequest("a", [ArticlePublished(title="t", body="b")], NO_STREAM)])
    st = ArchiveState()
    st.apply_all(log.read())
    assert st.articles["a"].title == "t"


def test_search_after_open_never_loads_the_state_and_sees_every_event(archive_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import archivist.archive as archive_mod

    monkeypatch.setattr(archive_mod, "SNAPSHOT_EVERY", 3)
    with Archive.open(archive_dir) as a:
        ids = [_publish(a, i) for i in range(4)]
    assert (archive_dir / "state" / "articles.snapshot").exists()
    with Archive.open(archive_dir) as writer:  # appended past the snapshot, the index not caught up by it
        writer.defer_index = True
        ids.append(_publish(writer, 4))
        ids.append(_publish(writer, 5, title="Nowy artykuł o szpitalu"))

        def no_state(path):  # type: ignore[no-untyped-def]
            raise AssertionError("a search decoded the snapshot")

        monkeypatch.setattr(archive_mod, "load_snapshot", no_state)
        with Archive.open(archive_dir) as b:
            everything = b.search("", sort="date", limit=50)
            assert sorted(h.id for h in everything.hits) == sorted(ids)
            ids.append(_publish(writer, 6, title="Szpital po raz drugi"))  # by another instance, after open
            assert {h.id for h in b.search("szpital").hits} == {ids[5], ids[6]}
            assert b._state is None
            with pytest.raises(AssertionError, match="decoded the snapshot"):
                b.show(ids[0])  # (show needs the state: this is what loads it)


def test_a_long_tail_is_snapshotted_by_the_open_that_replayed_it(archive_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import archivist.archive as archive_mod

    monkeypatch.setattr(archive_mod, "SNAPSHOT_EVERY", 10**9)
    monkeypatch.setattr(archive_mod, "SNAPSHOT_TAIL", 4)
    snap = archive_dir / "state" / "articles.snapshot"
    with Archive.open(archive_dir) as a:
        for i in range(5):
            _publish(a, i)
        head = a.head()
    assert not snap.exists()  # each refresh replayed one event
    with Archive.open(archive_dir) as b:
        assert len(b.state.articles) == 5
        assert snap.exists() and b._snapshot_at == head  # replayed 5 >= 4 events: saved at once
    with Archive.open(archive_dir) as c:
        assert len(c.state.articles) == 5 and c._snapshot_at == head  # replayed nothing


def test_state_snapshot_speeds_open_and_never_lies(archive_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import archivist.archive as archive_mod

    monkeypatch.setattr(archive_mod, "SNAPSHOT_EVERY", 5)
    with Archive.open(archive_dir) as a:
        ids = [_publish(a, i) for i in range(8)]
        a.archive(ids[0])
    snap = archive_dir / "state" / "articles.snapshot"
    assert snap.exists()
    with Archive.open(archive_dir) as b:
        assert b.state.position and b._snapshot_at > 0  # (state loads on first use) from the snapshot + tail
        replayed = ArchiveState()
        replayed.apply_all(b.log.read())
        assert {k: (v.status, v.version, v.tags) for k, v in b.state.articles.items()} == \
            {k: (v.status, v.version, v.tags) for k, v in replayed.articles.items()}
        assert b.state.position == replayed.position and b.state.events == replayed.events
    snap.write_bytes(b"torn")
    with Archive.open(archive_dir) as c:  # ignored, replayed in full, written anew
        assert c.show(ids[0]).status == "archived" and len(c.state.articles) == 8
    assert snap.read_bytes() != b"torn"
    # a snapshot of another archive's log is never used
    other = archive_dir.parent / "other"
    with Archive.open(other) as d:
        for i in range(8):
            _publish(d, 100 + i)
    (archive_dir / "state" / "articles.snapshot").write_bytes((other / "state" / "articles.snapshot").read_bytes())
    with Archive.open(archive_dir) as e:
        assert set(e.state.articles) == set(ids)


def test_loading_a_snapshot_leaves_the_garbage_collector_as_it_was(archive_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import gc

    import archivist.archive as archive_mod
    from archivist.state import load_snapshot

    monkeypatch.setattr(archive_mod, "SNAPSHOT_EVERY", 2)
    with Archive.open(archive_dir) as a:
        _publish(a, 1)
        _publish(a, 2)
    snap = archive_dir / "state" / "articles.snapshot"
    torn = archive_dir / "torn.snapshot"
    torn.write_bytes(snap.read_bytes()[:-7])
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            assert load_snapshot(snap) is not None and gc.isenabled() is enabled
            assert load_snapshot(torn) is None and gc.isenabled() is enabled
    finally:
        gc.enable()
