"""The archive as it stood on any day: every command before, between and after each event, and the
index's as-of search against a brute-force replay of the log."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from archivist import errors
from archivist.archive import Archive, end_of_day
from archivist.state import ArchiveState
from index.analysis import polish_analyzer

D = dt.date


def at(day: D, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


@pytest.fixture
def story(tmp_path: Path):  # type: ignore[no-untyped-def]
    """publish 2016-03-01, revise 2016-05-10, archive 2017-01-15, relocate 2018-02-01, portal 2018-06-01,
    withdraw 2019-09-09, restore 2020-04-04."""
    a = Archive.open(tmp_path / "a", actor="test:history")
    day = {"now": D(2016, 3, 1)}
    a.clock = lambda: at(day["now"])

    def on(d: D):  # type: ignore[no-untyped-def]
        day["now"] = d

    aid = a.publish(title="Spotkanie w sprawie handlu ludźmi", body="Pierwsza wersja tekstu o spotkaniu.",
                    url="http://www.handelludzmi.eu/spotkanie", published=D(2016, 2, 28), publisher="MSWiA")
    on(D(2016, 5, 10))
    a.revise(aid, title="Spotkanie grupy zadaniowej", body="Druga wersja tekstu o naradzie grupy.")
    on(D(2017, 1, 15))
    a.archive(aid, "Strona znajduje się w archiwum")
    on(D(2018, 2, 1))
    a.relocate(aid, "https://www.gov.pl/web/handel-ludzmi/spotkanie")
    on(D(2018, 6, 1))
    a.relocate_portal("http://www.handelludzmi.eu", "https://www.gov.pl/web/handel-ludzmi")
    on(D(2019, 9, 9))
    a.withdraw(aid, "błędne dane")
    on(D(2020, 4, 4))
    a.restore(aid, "poprawione")
    yield a, aid
    a.close()


def test_show_at_each_date(story) -> None:  # type: ignore[no-untyped-def]
    a, aid = story
    with pytest.raises(errors.NotFound, match="not in the archive yet"):
        a.show(aid, as_of=D(2016, 2, 29))
    v = a.show(aid, as_of=D(2016, 3, 1))
    assert (v.title, v.status, v.versions) == ("Spotkanie w sprawie handlu ludźmi", "live", 1)
    assert v.body.startswith("Pierwsza")
    v = a.show(aid, as_of=D(2016, 12, 31))
    assert (v.title, v.status, v.versions) == ("Spotkanie grupy zadaniowej", "live", 2)
    assert a.show(aid, as_of=D(2017, 1, 15)).status == "archived"
    assert a.show(aid, as_of=D(2018, 1, 31)).url == "http://www.handelludzmi.eu/spotkanie"
    assert a.show(aid, as_of=D(2018, 2, 1)).url == "https://www.gov.pl/web/handel-ludzmi/spotkanie"
    assert a.show(aid, as_of=D(2019, 9, 9)).status == "withdrawn"
    assert a.show(aid, as_of=D(2020, 4, 4)).status == "live"
    assert a.show(aid).status == "live"


def test_resolve_and_stats_at_each_date(story) -> None:  # type: ignore[no-untyped-def]
    a, aid = story
    old = "https://handelludzmi.eu/spotkanie/"
    with pytest.raises(errors.NotFound):
        a.resolve(old, as_of=D(2016, 1, 1))
    r = a.resolve(old, as_of=D(2017, 6, 1))
    assert r.current == "http://www.handelludzmi.eu/spotkanie" and r.chain == []
    r = a.resolve(old, as_of=D(2018, 3, 1))
    assert r.current == "https://www.gov.pl/web/handel-ludzmi/spotkanie"
    assert r.chain[0].recorded_at == at(D(2018, 2, 1))
    other = "http://handelludzmi.eu/inna-strona"
    with pytest.raises(errors.NotFound):
        a.resolve(other, as_of=D(2018, 5, 31))
    assert a.resolve(other, as_of=D(2018, 6, 1)).current == "https://www.gov.pl/web/handel-ludzmi"
    assert a.stats(as_of=D(2015, 1, 1)).articles == 0
    assert a.stats(as_of=D(2017, 2, 1)).by_status["archived"] == 1
    assert a.stats(as_of=D(2019, 12, 1)).by_status["withdrawn"] == 1
    assert a.stats(as_of=D(2018, 6, 2)).portal_rules == 1
    assert a.stats(as_of=D(2018, 5, 2)).portal_rules == 0


def test_search_at_each_date(story) -> None:  # type: ignore[no-untyped-def]
    a, aid = story
    assert a.search("spotkanie", as_of=D(2016, 2, 1)).total == 0
    assert a.search("pierwsza", as_of=D(2016, 4, 1)).total == 1
    assert a.search("pierwsza", as_of=D(2016, 6, 1)).total == 0
    assert a.search("narada", as_of=D(2016, 6, 1)).total == 1
    assert a.search("status:archived", as_of=D(2017, 1, 14)).total == 0
    assert a.search("status:archived", as_of=D(2017, 1, 15)).total == 1
    assert a.search("url:gov.pl", as_of=D(2018, 1, 1)).total == 0
    assert a.search("url:gov.pl", as_of=D(2018, 3, 1)).total == 1
    assert a.search("narada", as_of=D(2019, 10, 1)).total == 0  # withdrawn then: hidden
    assert a.search("narada", as_of=D(2019, 10, 1), include_withdrawn=True).hits[0].status == "withdrawn"
    assert a.search("narada").hits[0].status == "live"


def test_diff_between_versions_and_dates(story) -> None:  # type: ignore[no-untyped-def]
    a, aid = story
    d = a.diff(aid)
    assert d.changed and (d.from_version.version, d.to_version.version) == (1, 2)
    assert any(o.op == "delete" and "Pierwsza" in o.text for o in d.body)
    assert any(o.op == "insert" and "Druga" in o.text for o in d.body)
    same = a.diff(aid, D(2016, 4, 1), D(2016, 4, 2))
    assert not same.changed
    with pytest.raises(errors.NotFound):
        a.diff(aid, 3)


def test_cli_as_of_and_diff(story) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    a, aid = story
    root = a.root
    r = run_cli(root, "show", aid, "--as-of", "2016-04-01", "--json")
    assert r.code == 0 and r.json()["title"] == "Spotkanie w sprawie handlu ludźmi"
    assert run_cli(root, "show", aid, "--as-of", "2016-01-01").code == 1
    assert run_cli(root, "stats", "--as-of", "2017-02-01", "--json").json()["by_status"]["archived"] == 1
    r = run_cli(root, "search", "pierwsza", "--as-of", "2016-04-01", "--json")
    assert r.json()["total"] == 1
    r = run_cli(root, "resolve", "handelludzmi.eu/x", "--as-of", "2019-01-01", "--json")
    assert r.json()["current"] == "https://www.gov.pl/web/handel-ludzmi"
    d = run_cli(root, "diff", aid, "--from", "1", "--to", "2", "--json").json()
    assert d["changed"] is True
    human = run_cli(root, "diff", aid)
    assert "Druga" in human.out and human.code == 0
    assert run_cli(root, "show", aid, "--as-of", "not-a-date").code == 2


def _brute_force(records, moment: dt.datetime, word: str | None, status: str | None) -> set[str]:  # type: ignore[no-untyped-def]
    """Replay the log up to `moment` and evaluate the query by hand."""
    st = ArchiveState()
    st.apply_all(r for r in records if r.recorded_at <= moment)
    analyzer = polish_analyzer()
    want = {t.text for t in analyzer(word)} if word else None
    out = set()
    for aid, art in st.articles.items():
        if art.status == "withdrawn" or (status and art.status != status):
            continue
        if want is not None:
            content = next(r.event for r in records if r.position == art.content_position)
            terms = {t.text for t in analyzer(f"{content.title} {content.body}")}
            if not want & terms:
                continue
        out.add(aid)
    return out


@pytest.mark.slow
def test_as_of_search_equals_replay_for_random_dates(tmp_path: Path) -> None:
    rng = random.Random(7)
    words = ["policja", "szkoła", "granica", "powódź", "oszustwo", "seniorzy", "konferencja", "raport"]
    a = Archive.open(tmp_path / "r")
    day = {"now": D(2015, 1, 1)}
    a.clock = lambda: at(day["now"], rng.randrange(24))
    ids: list[str] = []
    for _ in range(260):
        day["now"] += dt.timedelta(days=rng.randrange(0, 9))
        roll = rng.random()
        if not ids or roll < 0.35:
            w = rng.sample(words, 2)
            ids.append(a.publish(title=f"Artykuł {len(ids)} {w[0]}", body=f"Tekst o {w[1]} numer {len(ids)}.",
                                 url=f"https://example.pl/a/{len(ids)}"))
            continue
        aid = rng.choice(ids)
        st = a.state.articles[aid]
        try:
            if roll < 0.5:
                a.revise(aid, body=f"Poprawiony tekst: {rng.choice(words)}.")
            elif roll < 0.65:
                a.archive(aid) if st.status == "live" else a.restore(aid)
            elif roll < 0.75:
                a.withdraw(aid, "powód") if st.status != "withdrawn" else a.restore(aid)
            elif roll < 0.85:
                a.relocate(aid, f"https://nowy.example.pl/{rng.randrange(10**6)}")
            else:
                a.tag(aid, rng.choice(words))
        except errors.ArchivistError:
            pass
    records = list(a.log.read())
    first, last = records[0].recorded_at.date(), records[-1].recorded_at.date()
    for _ in range(25):
        d = first + dt.timedelta(days=rng.randrange((last - first).days + 2))
        moment = end_of_day(d)
        for word, status in [(None, None), (None, "archived"), (rng.choice(words), None)]:
            text = " ".join(x for x in (word, f"status:{status}" if status else None) if x)
            got = {h.id for h in a.search(text, as_of=d, limit=10_000, facets=False, snippets=False).hits}
            assert got == _brute_force(records, moment, word, status), (d, text)
    a.close()
