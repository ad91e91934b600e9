"""One article model (`store.article`): the state and the search index fold the same events into the same
articles, `verify` compares them field for field, and the index is anchored to the log it applied."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.query import Term

from archivist.archive import Archive
from archivist.consistency import index_divergences
from archivist.state import ArchiveState
from index import projection
from index.projection import DocState, SearchIndex
from index.schema import CHECKPOINT_DOC, build_schema
from store import article as model
from store import days
from store import events as ev
from store.log import ANY, AppendRequest, FileLog, MemoryLog

UTC = dt.UTC


def when(n: int) -> dt.datetime:
    return dt.datetime(2024, 3, 1, 9, tzinfo=UTC) + dt.timedelta(hours=n)


def current(a: Archive, aid: str) -> dict:  # type: ignore[type-arg]
    docs = [f for f in a.index.searcher().documents(id=aid) if f.get("current") != "0"]
    return next(f for f in docs if f["valid_to"] == projection.FOREVER)


def test_the_rules_of_the_model() -> None:
    assert model.url_key("http://www.example.pl/a/") == model.url_key("https://example.pl/a") == "example.pl/a"
    assert model.url_key("https://example.pl/a?x=1") != model.url_key("https://example.pl/a")
    assert model.normalize_tag("  Praca,\t Przymus ") == "praca, przymus"
    assert model.normalize_title(" Handel \n ludźmi ") == "Handel ludźmi"
    key = model.identity_key(url="http://www.example.pl/a/", title="x", published=None, publisher=None, body="")
    assert key == model.identity_key(url="https://example.pl/a", title="y", published=None, publisher=None, body="b")
    assert len(model.article_id_for(key)) == 12 and model.STATUSES == ("live", "archived", "withdrawn")
    r = ev.Record(position=1, stream="a1", version=1, recorded_at=when(0), actor="t", prev_hash=bytes(32),
                  event=ev.ArticlePublished(title="T", body="B", url="http://www.example.pl/a/"))
    a = model.fold(None, r)
    assert a is not None and a.urls[0].url == a.url == "http://www.example.pl/a/"
    b = a.copy()
    b.tags.append("x")
    assert a.tags == [] and model.differences(a, b) == [("tags", [], ["x"])]


# --- the divergences the two folds had ---------------------------------------------------------------------

def test_a_revision_to_the_same_address_keeps_it_in_both_projections(archive_dir: Path) -> None:
    """State compared addresses by `url_key`, the index by the raw string: after this revision `show` said
    http://www.example.pl/a/ and a search hit https://example.pl/a."""
    with Archive.open(archive_dir) as a:
        aid = a.publish(title="Komunikat o pożarze", body="Strażacy gasili pożar.", url="http://www.example.pl/a/")
        a.revise(aid, body="Strażacy ugasili pożar hali.", url="https://example.pl/a")
        shown = a.show(aid)
        hit = a.search("pożar").hits[0]
        assert hit.url == shown.url == "http://www.example.pl/a/"
        assert DocState.from_stored(current(a, aid)).urls == [u.url for u in shown.urls]
        assert a.verify().ok


def test_a_tag_with_a_comma_is_one_tag_everywhere(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """`praca,przymus` was one tag in the state and two in the index (a comma-separated keyword field)."""
    with Archive.open(archive_dir) as a:
        aid = a.publish(title="Praca przymusowa", body="Ofiary pracy przymusowej.", published=dt.date(2020, 1, 2))
    assert cli("tag", aid, "praca,przymus").code == 0
    found = cli("search", "--tag", "praca,przymus", "--json", "").json()
    assert [h["id"] for h in found["hits"]] == [aid]
    assert found["hits"][0]["tags"] == ["praca,przymus"]
    assert cli("search", "--tag", "praca", "--json", "").json()["total"] == 0
    assert cli("search", "tag:praca,przymus", "--json").json()["total"] == 1
    assert cli("show", aid, "--json").json()["tags"] == ["praca,przymus"]
    assert cli("verify").code == 0


def test_tags_of_old_events_are_normalised_by_the_fold(archive_dir: Path) -> None:
    with Archive.open(archive_dir) as a:
        aid = a.publish(title="Komunikat", body="Treść.")
        a.append([AppendRequest(aid, [ev.ArticleTagged(tag="  Handel   LUDŹMI "), ev.ArticleTagged(tag="   ")], ANY)])
        assert a.show(aid).tags == ["handel ludźmi"]
        assert a.search("", tag="Handel ludźmi").total == 1
        a.append([AppendRequest(aid, [ev.ArticleUntagged(tag="handel ludźmi")], ANY)])
        assert a.show(aid).tags == [] and a.search("", tag="handel ludźmi").total == 0
        assert a.verify().ok


# --- verify compares every field ----------------------------------------------------------------------------

def _rewrite_current(a: Archive, aid: str, **changes: object) -> None:
    """Put a wrong current document in the index, as a bug in one projection would."""
    f = current(a, aid)
    d = DocState.from_stored(f)
    art = msgspec.structs.replace(d.article, **changes)
    fields = SearchIndex._fields(DocState(article=art, first_position=d.first_position, valid_from=d.valid_from),
                                 "", "")
    with a.index.ix.writer() as w:
        w.update_document(**fields)


@pytest.mark.parametrize(("field", "value"), [
    ("url", "https://example.pl/inny"), ("title", "Inny tytuł"), ("tags", ["inny"]), ("publisher", "KGP"),
    ("published", dt.date(1999, 1, 1)), ("content_position", 1), ("status_reason", "inny powód"),
    ("sources", ["f" * 64]), ("changed_at", when(99)),
])
def test_verify_names_the_article_and_the_field_that_differ(archive_dir: Path, field: str, value: object) -> None:
    with Archive.open(archive_dir) as a:
        a.publish(title="Pierwszy", body="Treść pierwsza.", url="https://example.pl/1")
        aid = a.publish(title="Drugi", body="Treść druga.", url="https://example.pl/2", publisher="MSWiA",
                        published=dt.date(2015, 3, 4), tags=["raport"])
        a.archive(aid, "archiwum")
        assert a.verify().ok
        _rewrite_current(a, aid, **{field: value})
        report = a.verify()
        assert not report.ok
        first = report.problems[0]
        assert first.kind == "index" and aid in first.detail and field in first.detail, first.detail


def test_verify_sees_a_document_field_that_is_not_its_article(archive_dir: Path) -> None:
    with Archive.open(archive_dir) as a:
        aid = a.publish(title="Komunikat", body="Treść.", url="https://example.pl/k")
        fields = SearchIndex._fields(DocState.from_stored(current(a, aid)), "", "")
        fields["url_current"] = "https://example.pl/inny"
        with a.index.ix.writer() as w:
            w.update_document(**fields)
        report = a.verify()
        assert not report.ok and aid in report.problems[0].detail and "url_current" in report.problems[0].detail


# --- the property: both projections fold any sequence of events into the same articles ---------------------

IDS = ("a00000000001", "a00000000002")
# mostly one page spelt several ways (the index compared addresses as raw strings, the state by url_key)
URLS = ("http://www.example.pl/a/", "https://example.pl/a", "https://www.example.pl/a", "https://example.pl/b",
        "https://example.pl/a?x=1")
TAGS = ("praca,przymus", "Praca", " handel  ludźmi ", "praca")

_content = st.fixed_dictionaries({
    "title": st.sampled_from(["Pożar hali", "Handel ludźmi", "Komunikat"]),
    "body": st.sampled_from(["Strażacy gasili pożar.", "Ofiary handlu ludźmi.", ""]),
    "url": st.none() | st.sampled_from(URLS),
    "published": st.none() | st.dates(dt.date(2010, 1, 1), dt.date(2024, 1, 1)),
    "publisher": st.none() | st.sampled_from(["MSWiA", "KGP"]),
    "source": st.none() | st.sampled_from(["s1", "s2"]),
})
_event = st.one_of(
    _content.map(lambda c: ev.ArticlePublished(**c)),
    _content.map(lambda c: ev.ArticleRevised(**c)),
    st.builds(ev.ArticleArchived, reason=st.sampled_from(["", "archiwum"])),
    st.builds(ev.ArticleRestored, reason=st.sampled_from(["", "wraca"])),
    st.builds(ev.ArticleWithdrawn, reason=st.sampled_from(["RODO"])),
    st.builds(ev.ArticleRelocated, from_url=st.none(), to_url=st.sampled_from(URLS)),
    st.builds(ev.ArticleTagged, tag=st.sampled_from(TAGS)),
    st.builds(ev.ArticleUntagged, tag=st.sampled_from(TAGS)),
    st.builds(ev.PortalRelocated, from_prefix=st.just("https://example.pl/"), to_prefix=st.just("https://gov.pl/")),
)
# (stream, events of one append, hours later than the previous append: 0 = the same index version)
_appends = st.lists(st.tuples(st.sampled_from(IDS), st.lists(_event, min_size=1, max_size=3),
                              st.integers(0, 2)), min_size=1, max_size=16)


def _state_of(log: MemoryLog) -> ArchiveState:
    s = ArchiveState()
    s.apply_all(log.read())
    return s


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(appends=_appends, cuts=st.lists(st.integers(1, 40), max_size=3))
@example(appends=[(IDS[0], [ev.ArticlePublished(title="T", body="B", url=URLS[0])], 0),  # the two folds'
                  (IDS[0], [ev.ArticleRevised(title="T", body="C", url=URLS[1])], 1)],  # known divergences
         cuts=[1])
@example(appends=[(IDS[0], [ev.ArticlePublished(title="T", body="B"), ev.ArticleTagged(tag=TAGS[0])], 0),
                  (IDS[0], [ev.ArticleTagged(tag=TAGS[1]), ev.ArticleUntagged(tag="praca")], 1)], cuts=[])
def test_state_and_index_fold_any_events_into_the_same_articles(appends, cuts) -> None:  # type: ignore[no-untyped-def]
    log = MemoryLog()
    hour = 0
    for stream, events, later in appends:
        hour += later
        stream = "portal:x" if isinstance(events[0], ev.PortalRelocated) else stream
        log.append_batch([AppendRequest(stream, events, ANY)], actor="test", recorded_at=when(hour))
    with tempfile.TemporaryDirectory() as tmp:
        ix = SearchIndex(Path(tmp) / "index", log)
        try:
            for cut in sorted(cuts):  # several catch-ups: articles continue from the stored document
                ix.catch_up(min(cut, log.head()))
            ix.catch_up()
            state = _state_of(log)
            s = ix.searcher()
            docs = {f["id"]: f for f in (h.fields() for h in s.search(Term("current", "1"), limit=None))}
            assert set(docs) == set(state.articles)
            for aid, a in state.articles.items():
                f = docs[aid]
                assert DocState.from_stored(f).article == a
                assert f.get("url_current") == a.url and f["status"] == a.status and f["title"] == a.title
                assert f["version"] == a.version and f["content_position"] == a.content_position
                assert (f.get("publisher") or None) == a.publisher
                assert (f["published"].date() if f.get("published") else None) == a.published
                assert f["urls_all"] == a.addresses()
                for t in a.tags:
                    assert aid in {h["id"] for h in s.search(Term("tag", t), limit=None)}
                assert aid in {h["id"] for h in s.search(Term("status", a.status), limit=None)}
            assert index_divergences(state, ix) == []
            # every closed version too: the article as the state stood just before the version ended
            for f in s.all_stored_fields():
                if f.get("docid") == CHECKPOINT_DOC or f["valid_to"] == projection.FOREVER:
                    continue
                then = ArchiveState()
                then.apply_all(r for r in log.read() if days.naive_utc(r.recorded_at) < f["valid_to"])
                assert DocState.from_stored(f).article == then.articles[f["id"]]
        finally:
            ix.close()


# --- days: one rule ------------------------------------------------------------------------------------------

def test_a_day_names_a_span_and_until_takes_its_last_day(archive_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert days.day_span("2015") == (dt.date(2015, 1, 1), dt.date(2015, 12, 31))
    assert days.day_span("2016-02") == (dt.date(2016, 2, 1), dt.date(2016, 2, 29))
    assert days.day_span(" 2016-02-03 ") == (dt.date(2016, 2, 3), dt.date(2016, 2, 3))
    for bad in ("2016-13", "2016-02-30", "wczoraj", "20160"):
        with pytest.raises(ValueError):
            days.day_span(bad)
    with Archive.open(archive_dir) as a:
        a.publish(title="Grudniowy komunikat", body="Treść.", published=dt.date(2015, 12, 20))
    # `--until 2015` and `published:..2015` say the same: all of 2015 (the CLI took 2015 as 1 January)
    assert cli("search", "", "--until", "2015", "--json").json()["total"] == 1
    assert cli("search", "published:..2015", "--json").json()["total"] == 1
    assert cli("search", "", "--until", "2015-12", "--json").json()["total"] == 1
    assert cli("search", "", "--until", "2015-11", "--json").json()["total"] == 0
    assert cli("search", "", "--since", "2015-12-21", "--json").json()["total"] == 0


def test_as_of_ends_with_the_last_instant_of_the_day_everywhere(archive_dir: Path) -> None:
    with Archive.open(archive_dir) as a:
        a.clock = lambda: dt.datetime(2024, 5, 6, 23, 59, 59, 999999, tzinfo=UTC)
        aid = a.publish(title="Nocny komunikat", body="Treść nocna.")
        a.clock = lambda: dt.datetime(2024, 5, 7, 0, 0, tzinfo=UTC)
        a.archive(aid, "rano")
        day = dt.date(2024, 5, 6)
        assert a.article(aid, as_of=day).status == "live"
        hits = a.search("nocny", as_of=day).hits
        assert [h.status for h in hits] == ["live"]
        assert a.search("nocny", as_of=dt.date(2024, 5, 7)).hits[0].status == "archived"


# --- the index is never ahead of the log -------------------------------------------------------------------

def _cut_log_to(root: Path, position: int) -> None:
    """Cut the records after `position` off the log (a backup restored, a lost write), at a frame boundary."""
    with FileLog(root / "log") as log:
        (path, first, _), = log.segments()
        end = log._frame_end(log._segments[0], position)  # noqa: SLF001 - the file offset past `position`
    os.truncate(path, end)


def _seed_and_cut(root: Path) -> list[str]:
    with Archive.open(root) as a:
        ids = [a.publish(title=f"Handel ludźmi {i}", body=f"Ofiary handlu ludźmi, komunikat {i}.",
                         url=f"https://example.pl/{i}") for i in range(3)]
        keep = a.log.head()
        a.defer_index = False
        a.archive(ids[0], "archiwum")
        a.tag(ids[1], "raport")
        ids += [a.publish(title="Ludźmi zajmie się sąd", body="Treść o ludziach.", url="https://example.pl/9")]
        assert a.index.checkpoint() == a.log.head()
    _cut_log_to(root, keep)
    with FileLog(root / "log") as log:
        assert log.head() == keep
    return ids


def test_an_index_ahead_of_a_cut_log_is_rebuilt_and_search_answers(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    ids = _seed_and_cut(archive_dir)
    r = cli("search", "ludzmi", "--json")
    assert r.code == 0, r.err
    assert "Traceback" not in r.err and "KeyError" not in r.err
    assert sorted(h["id"] for h in r.json()["hits"]) == sorted(ids[:3])
    assert all(h["status"] == "live" for h in r.json()["hits"])
    assert r.err.count("rebuilding it from the log") == 1 and "ends at position" in r.err
    again = cli("search", "ludzmi", "--json")
    assert again.code == 0 and "rebuilding" not in again.err  # said once: the index fits the log now
    v = cli("verify")
    assert v.code == 0, v.out + v.err


def test_verify_after_a_cut_is_clean(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    _seed_and_cut(archive_dir)
    v = cli("verify", "--json")
    assert v.code == 0, v.out + v.err
    assert v.json()["ok"] is True


def test_an_index_of_another_log_at_the_same_position_is_rebuilt(archive_dir: Path, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with Archive.open(archive_dir) as a:
        a.publish(title="Pierwszy komunikat", body="Pożar hali.")
    other = tmp_path / "other"
    with Archive.open(other) as b:
        b.publish(title="Inny komunikat", body="Powódź w gminie.")
        assert b.log.head() == 1
    (archive_dir / "index").rename(tmp_path / "index.mine")
    (other / "index").rename(archive_dir / "index")  # the other archive's index, checkpoint 1 as well
    with caplog.at_level(logging.WARNING), Archive.open(archive_dir) as a:
        assert a.search("powódź").total == 0 and a.search("pożar").total == 1
        assert a.verify().ok
    assert "is not the one it applied" in caplog.text


def test_an_index_from_before_the_anchor_is_rebuilt_not_misread(archive_dir: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    with Archive.open(archive_dir) as a:
        aid = a.publish(title="Komunikat", body="Pożar hali.", tags=["praca,przymus"])
        head = a.log.head()
    # the index as the previous format wrote it: no anchor, no article, a comma-separated tag field
    schema = build_schema()
    for name in ("anchor", "article", "format"):
        schema.remove(name)
    root = archive_dir / "index"
    for p in root.iterdir():
        p.unlink()
    old = whoosh_index.create_in(str(root), schema)
    with old.writer() as w:
        w.add_document(docid=f"{aid}@1", id=aid, title="Komunikat", current="1", status="live",
                       tag="praca,przymus", valid_from=dt.datetime(2024, 1, 1), valid_to=projection.FOREVER,
                       first_position=1, content_position=1, version=2)
        w.add_document(docid=CHECKPOINT_DOC, checkpoint=head)
    with caplog.at_level(logging.WARNING), Archive.open(archive_dir) as a:
        assert a.search("", tag="praca,przymus").total == 1
        assert a.search("pożar").hits[0].tags == ["praca,przymus"]
        assert a.verify().ok
    assert "older version of archivist" in caplog.text


_URL_BITS = st.sampled_from(["http://", "https://", "HTTP://", "//", "ftp://", "www.", "a.b", "x.pl", ".", "..",
                             "/", "//", "?", "#", "@", ":", ":80", ":443", ":8080", ":x", "[", "]", "%20", "-",
                             "_", "~", "ą", "Ł", "A", "z", "9", " ", "\t", "\n", "\x00", "\x1f", "\x7f", "\x85",
                             "\u3000", "!", "\"", "$", "'", "*", ";", "=", "\\", "{", "}"])


def _outcome(f, s: str) -> str:  # type: ignore[no-untyped-def]
    try:
        return "ok " + f(s)
    except ValueError as e:
        return "error " + str(e)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(_URL_BITS, max_size=12).map("".join), st.text(max_size=40),
                 st.builds(lambda a, b: a + b, st.sampled_from(["http://", "https://"]),
                           st.text(alphabet=st.characters(max_codepoint=0x7f), max_size=30))))
@example("https://www.handelludzmi.eu/aktualnosci/1/")
@example("http://a.b/x?")
@example("https://a.b./")
@example("https://.a/")
@example("https://a.b/x#")
def test_normalize_url_fast_path_answers_as_the_split(s: str) -> None:
    from store.article import _NORMAL, _normalized, normalize_url

    assert _outcome(normalize_url, s) == _outcome(_normalized, s)
    if _NORMAL.fullmatch(s) and "." in s.split("/")[2].strip("."):
        assert normalize_url(s) == s  # the fast path was taken


def test_normalize_url_fast_path_is_taken_for_stored_addresses() -> None:
    from store.article import _NORMAL, normalize_url

    stored = normalize_url("WWW.Handelludzmi.EU:443/aktualnosci/1/?a=1#top")
    assert stored == "https://www.handelludzmi.eu/aktualnosci/1/?a=1" and _NORMAL.fullmatch(stored)
