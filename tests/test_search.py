"""Search as users and scripts meet it: the query language, filters, facets, snippets, errors."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import pytest

from archivist import errors
from archivist.archive import Archive

ARTICLES = [
    dict(title="Wspólnie przeciwko handlowi ludźmi", published=dt.date(2017, 6, 29), publisher="KWP w Szczecinie",
         url="http://www.handelludzmi.example.pl/aktualnosci/wspolnie", tags=["policja", "szczecin"],
         body="Policjanci ze Szczecina spotkali się z uczniami, aby rozmawiać o handlu ludźmi i pracy przymusowej."),
    dict(title="Spotkanie grupy zadaniowej", published=dt.date(2015, 10, 17), publisher="MSWiA",
         url="https://www.gov.pl/web/handel-ludzmi/spotkanie",
         body="W Warszawie obradowała grupa zadaniowa do spraw zwalczania handlu ludźmi w regionie Morza Bałtyckiego."),
    dict(title="Łódź: kradzież samochodu wyjaśniona", published=dt.date(2021, 3, 2), publisher="KMP w Łodzi",
         body="Łódzcy kryminalni odzyskali skradziony samochód. Sprawca kradzieży usłyszał zarzuty w Łodzi."),
    dict(title="Bezpieczna droga do szkoły", published=dt.date(2012, 9, 3), publisher="KWP we Wrocławiu",
         body="Policjanci pilnują przejść dla pieszych przy szkołach. Rodzice odprowadzają dzieci do szkoły."),
    dict(title="Oszuści podszywają się pod policjantów", published=dt.date(2020, 2, 18), publisher="KWP w Gdańsku",
         tags=["seniorzy"],
         body="Seniorka z Gdyni nie dała się oszukać metodą na policjanta. Oszuści dzwonili kilka razy."),
    dict(title="Handel ludźmi w Polsce – raport", published=dt.date(2017, 8, 3), publisher="MSWiA",
         body="Raport o handlu ludźmi za rok 2016 pokazuje, że najczęstszą formą była praca przymusowa."),
]


@pytest.fixture(scope="module")
def arc(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with Archive.open(tmp_path_factory.mktemp("s") / "archive", actor="test:search") as a:
        ids = [a.publish(**kw) for kw in ARTICLES]
        a.archive(ids[1], "Strona znajduje się w archiwum")
        a.withdraw(ids[4], "dane osobowe")
        a.ids = ids  # type: ignore[attr-defined]
        yield a


def titles(res) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.title for h in res.hits]


def test_inflection_and_diacritics(arc: Archive) -> None:
    a = titles(arc.search("handel ludźmi"))
    b = titles(arc.search("handlu ludzmi"))
    assert set(a) == set(b) and len(a) == 3
    assert "Łódź: kradzież samochodu wyjaśniona" in titles(arc.search("lodz"))
    assert titles(arc.search("kradziez samochodu"))[0].startswith("Łódź")


def test_all_words_rank_first(arc: Archive) -> None:
    res = arc.search("handel ludźmi szczecin")
    assert res.hits[0].title == "Wspólnie przeciwko handlowi ludźmi"


def test_phrases(arc: Archive) -> None:
    # phrases are inflection-aware too: "praca przymusowa" finds "pracy przymusowej"
    both = {"Handel ludźmi w Polsce – raport", "Wspólnie przeciwko handlowi ludźmi"}
    assert set(titles(arc.search('"praca przymusowa"'))) == both
    assert set(titles(arc.search('"pracy przymusowej"'))) == both
    assert titles(arc.search('"przejść dla pieszych"')) == ["Bezpieczna droga do szkoły"]
    assert titles(arc.search('"pieszych dla przejść"')) == []


def test_fields(arc: Archive) -> None:
    assert titles(arc.search("title:raport")) == ["Handel ludźmi w Polsce – raport"]
    assert "Handel ludźmi w Polsce – raport" not in titles(arc.search("title:szkoły"))
    assert titles(arc.search("body:Gdyni", include_withdrawn=True)) == ["Oszuści podszywają się pod policjantów"]
    assert titles(arc.search("url:gov.pl")) == ["Spotkanie grupy zadaniowej"]
    assert titles(arc.search("publisher:szczecinie")) == ["Wspólnie przeciwko handlowi ludźmi"]
    assert titles(arc.search("tag:szczecin")) == ["Wspólnie przeciwko handlowi ludźmi"]
    assert titles(arc.search("status:archived")) == ["Spotkanie grupy zadaniowej"]
    assert set(titles(arc.search("year:2017"))) == {"Wspólnie przeciwko handlowi ludźmi",
                                                    "Handel ludźmi w Polsce – raport"}


def test_dates(arc: Archive) -> None:
    assert len(arc.search("published:2015..2017").hits) == 3
    assert titles(arc.search("published:[2017-01-01 TO 2017-06-30]")) == ["Wspólnie przeciwko handlowi ludźmi"]
    assert titles(arc.search("published:2021-03")) == ["Łódź: kradzież samochodu wyjaśniona"]
    res = arc.search("handel", since=dt.date(2017, 7, 1))
    assert titles(res) == ["Handel ludźmi w Polsce – raport"]
    assert titles(arc.search("handel", until=dt.date(2016, 1, 1))) == ["Spotkanie grupy zadaniowej"]


def test_boolean_prefix_fuzzy(arc: Archive) -> None:
    assert set(titles(arc.search("handel AND raport"))) == {"Handel ludźmi w Polsce – raport"}
    assert set(titles(arc.search("raport OR samochód"))) == {"Handel ludźmi w Polsce – raport",
                                                             "Łódź: kradzież samochodu wyjaśniona"}
    assert "Handel ludźmi w Polsce – raport" not in titles(arc.search("handel -raport"))
    assert "Handel ludźmi w Polsce – raport" not in titles(arc.search("handel NOT raport"))
    assert "Bezpieczna droga do szkoły" in titles(arc.search("szkoł*"))
    assert "Łódź: kradzież samochodu wyjaśniona" in titles(arc.search("samochud~"))


def test_fuzzy_and_prefix_terms_look_in_the_folded_space(tmp_path: Path) -> None:
    """`ludzmi~` found `ludzki…` and none of the `ludźmi` articles, while plain `ludzmi` finds them (their
    lemma is `człowiek`): fuzzy and prefix terms are widened to the folded space as plain words are."""
    with Archive.open(tmp_path / "f", actor="test:search") as a:
        people = a.publish(title="Walka z handlem ludźmi", body="Spotkanie o handlu ludźmi w Warszawie.")
        kind = a.publish(title="Ludzki odruch", body="Ludzkie serce.")
        assert {h.id for h in a.search("ludzmi").hits} == {people}
        for q in ("ludzmi~", "ludzmi~2", "ludźmi~", "ludzm*", "ludźm*", "title:ludzmi~", "handl*"):
            assert people in {h.id for h in a.search(q).hits}, q
        assert kind in {h.id for h in a.search("ludzk*").hits}
        assert {h.id for h in a.search("ludzm*").hits} == {people}


def test_filters_and_withdrawn(arc: Archive) -> None:
    assert titles(arc.search("oszuści")) == []  # withdrawn: hidden
    assert titles(arc.search("oszuści", include_withdrawn=True)) == ["Oszuści podszywają się pod policjantów"]
    assert titles(arc.search("oszuści status:withdrawn")) == ["Oszuści podszywają się pod policjantów"]
    assert titles(arc.search("handel", status="archived")) == ["Spotkanie grupy zadaniowej"]
    assert titles(arc.search("handel", publisher="KWP w Szczecinie")) == ["Wspólnie przeciwko handlowi ludźmi"]
    assert titles(arc.search("", tag="policja")) == ["Wspólnie przeciwko handlowi ludźmi"]


def test_facets_and_sort(arc: Archive) -> None:
    res = arc.search("handel ludźmi")
    assert res.facets["status"] == {"live": 2, "archived": 1}
    assert res.facets["year"] == {"2017": 2, "2015": 1}
    assert res.facets["publisher"]["MSWiA"] == 2
    by_date = arc.search("handel ludźmi", sort="date")
    assert [h.published for h in by_date.hits] == sorted((h.published for h in by_date.hits), reverse=True)
    oldest = arc.search("", sort="oldest")
    assert oldest.hits[0].title == "Bezpieczna droga do szkoły"


def test_snippets_show_original_forms(arc: Archive) -> None:
    hit = arc.search("handel ludzmi").hits[0]
    marked = [hit.snippet[s:e] for s, e in hit.marks]
    assert marked and all(m in ("handlu", "ludźmi", "handel", "Handel", "handlowi", "ludzmi") for m in marked)
    assert "ludźmi" in marked  # the diacritic-free query highlights the real word
    t = [hit.title[s:e] for s, e in hit.title_marks]
    assert t


def test_did_you_mean(arc: Archive) -> None:
    res = arc.search("samochót kradziesz")
    # kradziesz: an sz for the ż of kradzież (one letter less, a diacritic), not kradzieży (two substitutions)
    assert res.total == 0 and res.suggestion == "samochód kradzież"
    assert arc.search("handel ludźmi").suggestion is None


def test_bad_queries_are_one_line_errors(arc: Archive) -> None:
    for q in ['"unclosed', "titel:handel", "(a", "a OR", "status:bogus", "published:2017-13", "AND", "a~5"]:
        with pytest.raises(errors.QueryError) as e:
            arc.search(q)
        assert "\n" not in str(e.value)


def test_schema_pickles_with_the_analyzer() -> None:
    from index.schema import build_schema

    schema = build_schema()
    again = pickle.loads(pickle.dumps(schema))
    assert again["body"].analyzer == schema["body"].analyzer
    assert [t.text for t in again["body"].analyzer("Handlu ludźmi")]


def test_cli_search_contract(tmp_path: Path) -> None:
    from conftest import run_cli

    archive = tmp_path / "a"
    with Archive.open(archive) as a:
        for kw in ARTICLES:
            a.publish(**kw)
    r = run_cli(archive, "search", "handlu ludzmi", "--json", "--limit", "2")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["query"] == "handlu ludzmi" and doc["total"] == 3 and len(doc["hits"]) == 2
    for hit in doc["hits"]:
        assert {"id", "title", "url", "published", "status", "publisher", "score", "snippet"} <= set(hit)
    bad = run_cli(archive, "search", "title:(", "--json")
    assert bad.code == 2 and bad.err.startswith("error:") and "Traceback" not in bad.err
    assert bad.json() == {"error": bad.err.strip().removeprefix("error: "), "code": 2}  # one JSON document
    human = run_cli(archive, "search", "kradzież", "--status", "live")
    assert human.code == 0 and "Łódź" in human.out
    assert run_cli(archive, "search", "x", "--status", "gone").code == 2
    assert run_cli(archive, "search", "x", "--since", "yesterday").code == 2


def test_phrase_slop_survives_planning(tmp_path: Path) -> None:
    """A phrase's slop (`"…"~N`) reached the engines as slop 1: rebuilding the query tree for cached date
    ranges dropped it (Whoosh's `apply` keeps only parts and boost)."""
    with Archive.open(tmp_path / "s", actor="test:search") as a:
        apart = a.publish(title="Raport", body="handel raz dwa trzy ludźmi")
        for engine in ("numpy", "whoosh"):
            assert apart not in {h.id for h in a.search('"handel ludźmi"', engine=engine).hits}
            assert apart in {h.id for h in a.search('"handel ludźmi"~5', engine=engine).hits}, engine
