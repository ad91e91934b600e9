"""The numpy search path gives Whoosh's answers: random corpora built through the real index projection,
random queries of every form of the query language, random filters, as-of days and sorts. Totals, the set
of matching documents, facet counts, and the top k (ids and scores, relative 1e-6; order free only among
scores equal within that) must equal Whoosh's own exhaustive search.

`slow`-marked variant: more examples (`pytest -m slow tests/test_fast_sameness.py`)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivist.archive import Archive
from index import searching
from index.query import QueryError

D = dt.date
# Polish words with their inflected and diacritic-free forms, so inflection and folding both matter
WORDS = ["handel", "handlu", "handlowi", "ludźmi", "ludzmi", "ludzie", "policja", "policji", "policjanci",
         "Szczecin", "Szczecinie", "Łódź", "Łodzi", "lodz", "kradzież", "kradziez", "samochodu", "samochód",
         "raport", "raportu", "praca", "pracy", "przymusowa", "przymusowej", "szkoła", "szkoły", "szkoly",
         "dzieci", "rodzice", "seniorka", "oszuści", "oszusci", "minister", "ministra", "zdrowia", "zdrowie",
         "szpital", "szpitala", "pacjentów", "pacjentow", "wybory", "wyborów", "prezydent", "prezydenta",
         "sąd", "sądu", "sad", "granica", "granicy", "wojsko", "żołnierze", "zolnierze", "pożar", "strażacy"]
STOP = ["w", "na", "i", "z", "do", "się"]
PUBLISHERS = ["KWP w Szczecinie", "MSWiA", "KMP w Łodzi", "KWP we Wrocławiu", "Komenda Główna Policji"]
TAGS = ["policja", "handel ludźmi", "seniorzy", "praca"]
DAY0 = D(2020, 1, 1)


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) if rng.random() < 0.8 else rng.choice(STOP) for _ in range(n))


def build(root: Path, seed: int) -> Archive:
    """Articles published over several recorded days, then revised, archived, withdrawn, restored and
    tagged on later days: several index segments, deleted (closed) versions, and as-of history."""
    rng = random.Random(seed)
    a = Archive.open(root, actor="test:sameness")
    day = {"now": DAY0}
    a.clock = lambda: dt.datetime(day["now"].year, day["now"].month, day["now"].day, 12, tzinfo=dt.UTC)
    ids: list[str] = []
    for i in range(rng.randint(25, 45)):
        day["now"] = DAY0 + dt.timedelta(days=i // 6)
        ids.append(a.publish(
            title=f"{_text(rng, rng.randint(2, 6))} {i}", body=_text(rng, rng.randint(5, 150)),
            url=f"https://www.example.pl/{rng.choice(['wiadomosci', 'archiwum'])}/{i}",
            published=D(2012 + rng.randint(0, 10), rng.randint(1, 12), rng.randint(1, 28))
            if rng.random() < 0.8 else None,
            publisher=rng.choice(PUBLISHERS) if rng.random() < 0.9 else None,
            tags=rng.sample(TAGS, rng.randint(0, 2))))
    for k in range(rng.randint(10, 25)):
        day["now"] = DAY0 + dt.timedelta(days=10 + k // 3)
        aid = rng.choice(ids)
        st_ = a.show(aid).status
        act = rng.randrange(5)
        if act == 0:
            a.revise(aid, title=f"{_text(rng, 3)} poprawione", body=_text(rng, rng.randint(5, 80)))
        elif act == 1 and st_ == "live":
            a.archive(aid, "archiwum")
        elif act == 2 and st_ != "withdrawn":
            a.withdraw(aid, "dane osobowe")
        elif act == 3 and st_ != "live":
            a.restore(aid, "przywrócone")
        else:
            a.tag(aid, rng.choice(TAGS))
    a.search("")  # brings the index up to date
    return a


_ARCHIVES: dict[int, Archive] = {}


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("same")

    def get(seed: int) -> Archive:
        if seed not in _ARCHIVES:
            _ARCHIVES[seed] = build(root / f"a{seed}", seed)
        return _ARCHIVES[seed]
    yield get
    for a in _ARCHIVES.values():
        a.close()
    _ARCHIVES.clear()


# --- queries --------------------------------------------------------------------------------------------------

word = st.sampled_from(WORDS)
stop = st.sampled_from(STOP)


@st.composite
def phrase(draw) -> str:  # type: ignore[no-untyped-def]
    words = draw(st.lists(st.one_of(word, word, stop), min_size=2, max_size=3))
    slop = draw(st.sampled_from(["", "", "~2", "~3"]))
    return f'"{" ".join(words)}"{slop}'


@st.composite
def atom(draw) -> str:  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from(["word", "word", "word", "phrase", "field", "date", "prefix", "fuzzy", "stop"]))
    if kind == "word":
        return draw(word)
    if kind == "stop":
        return draw(stop)
    if kind == "phrase":
        return draw(phrase())
    if kind == "prefix":
        return draw(word)[: draw(st.integers(2, 4))] + "*"
    if kind == "fuzzy":
        return draw(word) + draw(st.sampled_from(["~", "~1", "~2"]))
    if kind == "date":
        y = draw(st.integers(2011, 2023))
        return draw(st.sampled_from([f"published:{y}", f"published:{y}..{y + 3}", f"published:{y}-06..{y + 1}",
                                     f"published:[{y}-01-01 TO {y + 2}-06-30]"]))
    field = draw(st.sampled_from(["title", "body", "url", "publisher", "tag", "status", "year", "title("]))
    if field == "tag":
        return f'tag:"{draw(st.sampled_from(TAGS))}"'
    if field == "status":
        return f"status:{draw(st.sampled_from(['live', 'archived', 'withdrawn']))}"
    if field == "year":
        return f"year:{draw(st.integers(2012, 2022))}"
    if field == "url":
        return f"url:{draw(st.sampled_from(['wiadomosci', 'archiwum', 'example']))}"
    if field == "publisher":
        return draw(st.sampled_from(["publisher:szczecinie", 'publisher:"KWP w Szczecinie"', "publisher:mswia",
                                     "publisher:łodzi", "publisher:policji"]))
    if field == "title(":
        return f"title:({draw(word)} {draw(word)})"
    return f"{field}:{draw(st.one_of(word, phrase()))}"


@st.composite
def query(draw, depth: int = 0) -> str:  # type: ignore[no-untyped-def]
    parts: list[str] = []
    for i in range(draw(st.integers(1, 4))):
        if i:
            parts.append(draw(st.sampled_from(["", "", "", "AND", "OR"])))
        prefix = draw(st.sampled_from(["", "", "", "-", "+", "NOT "]))
        body = f"({draw(query(depth + 1))})" if depth < 1 and draw(st.integers(0, 5)) == 0 else draw(atom())
        parts.append(prefix + body)
    return " ".join(p for p in parts if p)


filters = st.fixed_dictionaries({
    "statuses": st.lists(st.sampled_from(["live", "archived", "withdrawn"]), max_size=2, unique=True),
    "tags": st.lists(st.sampled_from(TAGS), max_size=1),
    "publisher": st.sampled_from([None, None, "MSWiA", "KWP w Szczecinie", "policji"]),
    "since": st.sampled_from([None, None, D(2014, 1, 1), D(2018, 6, 1)]),
    "until": st.sampled_from([None, None, D(2016, 12, 31), D(2021, 1, 1)]),
    "as_of": st.sampled_from([None, None, DAY0, DAY0 + dt.timedelta(days=3), DAY0 + dt.timedelta(days=12),
                              DAY0 + dt.timedelta(days=400)]),
    "include_withdrawn": st.booleans(),
})


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1e-9)


def assert_same(arc: Archive, text: str, f: dict, sort: str, k: int) -> None:  # type: ignore[type-arg]
    if f["since"] and f["until"] and f["since"] > f["until"]:
        return
    ix = arc.index
    try:
        q, views = searching.plan(text, f["statuses"], f["since"], f["until"], f["publisher"], f["tags"],
                                  f["as_of"], f["include_withdrawn"])
    except QueryError:
        return
    s = ix.searcher()
    if sort == "relevance":
        fast_docs, fast_top = searching.execute(ix, s, q, views, sort, k, "numpy")
        slow_docs, slow_top = searching.execute(ix, s, q, views, sort, k, "whoosh")
    else:  # date order tries the words standing together first, then all of them (the same cascade)
        queries = searching.date_sorted_queries(text, q)
        fast_q, fast_docs, fast_top = searching.execute_first(ix, s, queries, views, sort, k, "numpy")
        slow_q, slow_docs, slow_top = searching.execute_first(ix, s, queries, views, sort, k, "whoosh")
        assert fast_q == slow_q, text
    where = f"query {text!r} filters {f} sort {sort}"
    assert np.array_equal(fast_docs, slow_docs), where
    assert searching._facets(ix, s, fast_docs) == searching._facets(ix, s, slow_docs), where
    assert len(fast_top) == len(slow_top), where
    if sort != "relevance":
        assert fast_top == slow_top, where
        return
    for (fa, _), (sl, _) in zip(fast_top, slow_top, strict=True):
        assert close(fa, sl), where  # type: ignore[arg-type]
    fs = {d: sc for sc, d in fast_top}
    ss = {d: sc for sc, d in slow_top}
    last = slow_top[-1][0] if slow_top else 0.0
    for d in fs.keys() | ss.keys():
        if d in fs and d in ss:
            assert close(fs[d], ss[d]), where  # type: ignore[arg-type]
        else:  # only a tie at the cut may differ
            assert close(fs.get(d, ss.get(d)), last), where  # type: ignore[arg-type]
    for i, ((fa, fd), (_, sd)) in enumerate(zip(fast_top, slow_top, strict=True)):
        if fd != sd:  # order differs only among equal scores
            assert close(fa, ss.get(fd, fa)) and close(fs.get(sd, fa), fa), (where, i)  # type: ignore[arg-type]


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=60, **SETTINGS)  # type: ignore[arg-type]
@given(seed=st.integers(0, 1), text=query(), f=filters,
       sort=st.sampled_from(["relevance", "relevance", "date", "oldest"]), k=st.sampled_from([1, 3, 10]))
def test_numpy_path_equals_whoosh(archives, seed: int, text: str, f: dict, sort: str, k: int) -> None:  # type: ignore[no-untyped-def, type-arg]
    assert_same(archives(seed), text, f, sort, k)


@pytest.mark.slow
@settings(max_examples=600, **SETTINGS)  # type: ignore[arg-type]
@given(seed=st.integers(0, 5), text=query(), f=filters,
       sort=st.sampled_from(["relevance", "relevance", "date", "oldest"]), k=st.sampled_from([1, 3, 10, 50]))
def test_numpy_path_equals_whoosh_many(archives, seed: int, text: str, f: dict, sort: str, k: int) -> None:  # type: ignore[no-untyped-def, type-arg]
    assert_same(archives(seed), text, f, sort, k)


def test_public_search_is_the_same(archives) -> None:  # type: ignore[no-untyped-def]
    """Through `Archive.search`: totals, facets, hits (ids, rounded scores, snippets) agree."""
    arc = archives(0)
    for text in ["handel ludźmi", '"praca przymusowa"~2', "szpit* -lodz", "prezydnt~", "policja published:2015..2019",
                 "status:archived OR wybory", ""]:
        for as_of in (None, DAY0 + dt.timedelta(days=12)):
            fast = arc.search(text, as_of=as_of, limit=5, engine="numpy")
            slow = arc.search(text, as_of=as_of, limit=5, engine="whoosh")
            assert (fast.total, fast.facets) == (slow.total, slow.facets), text
            assert [h.id for h in fast.hits] == [h.id for h in slow.hits], text
            assert [h.snippet for h in fast.hits] == [h.snippet for h in slow.hits], text


def test_undated_articles_sort_last(tmp_path: Path) -> None:
    """Newest first (`--sort date`, the TUI's landing list) and oldest first both put undated articles
    after every dated one (issue 11, defect 9): undated used to come first, sorted by when they were
    recorded, which is always later than any publication date."""
    with Archive.open(tmp_path / "a", actor="test") as a:
        a.publish(title="bez daty pierwszy", body="policja")
        a.publish(title="stary", body="policja", published=D(2001, 1, 1))
        a.publish(title="nowy", body="policja", published=D(2020, 1, 1))
        a.publish(title="bez daty drugi", body="policja")
        for engine in ("numpy", "whoosh"):
            newest = [h.title for h in a.search("policja", sort="date", engine=engine).hits]
            oldest = [h.title for h in a.search("policja", sort="oldest", engine=engine).hits]
            landing = [h.title for h in a.search("", sort="date", engine=engine).hits]
            assert newest[:2] == ["nowy", "stary"] and set(newest[2:]) == {"bez daty pierwszy", "bez daty drugi"}
            assert oldest[:2] == ["stary", "nowy"] and set(oldest[2:]) == {"bez daty pierwszy", "bez daty drugi"}
            assert landing == newest


def test_not_excludes_the_first_match(tmp_path: Path) -> None:
    """Whoosh's AndNot kept the first document of the positive side when the excluded word's first
    document came earlier; both paths now exclude it."""
    with Archive.open(tmp_path / "a", actor="test") as a:
        a.defer_index = True  # one commit, so one segment holds all three
        a.publish(title="tylko handel", body="handel")
        a.publish(title="oba słowa", body="handel ludźmi")
        a.publish(title="tylko ludzie", body="ludźmi")
        a.defer_index = False
        for engine in ("numpy", "whoosh"):
            res = a.search("-handel ludźmi", engine=engine)
            assert [h.title for h in res.hits] == ["tylko ludzie"], engine


@pytest.mark.parametrize("seed,text,tags", [
    (0, "-handlowi ludźmi", []),  # AndNotMatcher kept a document whose excluded word came first
    (3, "+ludzmi handel +(handel +na)", ["policja"]),  # AndMaybeMatcher.skip_to lost an optional score
    # AndNotMatcher.skip_to read past the end of its positive side: IndexError
    (0, "(+published:[2011-01-01 TO 2013-06-30] NOT handel NOT handel handel) (handel) published:2011 handel", []),
])
def test_whoosh_matcher_bugs_found_by_the_property_test(archives, seed: int, text: str, tags: list[str]) -> None:  # type: ignore[no-untyped-def]
    f = {"statuses": [], "tags": tags, "publisher": None, "since": None, "until": None, "as_of": None,
         "include_withdrawn": False}
    for k in (1, 5, 50):
        assert_same(archives(seed), text, f, "relevance", k)


def test_an_empty_archive_searches(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a", actor="test") as a:
        for engine in ("numpy", "whoosh"):
            assert [a.search(t, engine=engine).total for t in ("policja", "", '"handel ludźmi"', "pol*")] == [0] * 4


@settings(max_examples=40, **SETTINGS)  # type: ignore[arg-type]
@given(seed=st.integers(0, 1), text=query(), f=filters, sort=st.sampled_from(["relevance", "date", "oldest"]))
def test_every_match_streams_in_the_same_order_on_both_paths(archives, seed: int, text: str, f: dict,  # type: ignore[no-untyped-def, type-arg]
                                                             sort: str) -> None:
    """`search_all` (`archivist search --format …`): the numpy engine's full ranking, read page by page,
    gives the same hits in the same order as Whoosh's collector, and the same first page as `search`."""
    if f["since"] and f["until"] and f["since"] > f["until"]:
        return
    arc = archives(seed)
    opts = dict(status=f["statuses"], since=f["since"], until=f["until"], publisher=f["publisher"],
                tag=f["tags"], as_of=f["as_of"], include_withdrawn=f["include_withdrawn"], sort=sort)
    try:
        fast_total, fast = arc.search_all(text, engine="numpy", page=7, **opts)
    except Exception as exc:  # noqa: BLE001
        assert type(exc).__name__ == "QueryError"
        return
    slow_total, slow = arc.search_all(text, engine="whoosh", page=1000, **opts)
    fast_hits, slow_hits = list(fast), list(slow)
    where = f"query {text!r} filters {f} sort {sort}"
    assert fast_total == slow_total == len(fast_hits) == len(slow_hits), where
    assert [h.id for h in fast_hits] == [h.id for h in slow_hits] or sort == "relevance", where
    # relevance: scores agree (rounded, as hits carry them); ids agree except where scores tie within 1e-6
    assert len({h.id for h in fast_hits}) == len(fast_hits), where
    assert {h.id for h in fast_hits} == {h.id for h in slow_hits}, where
    for fh, sh in zip(fast_hits, slow_hits, strict=True):
        assert close(fh.score, sh.score) or abs(fh.score - sh.score) <= 1e-4, where
        if fh.id != sh.id:
            assert abs(fh.score - sh.score) <= 1e-4, where
    page = arc.search(text, limit=10, engine="numpy", snippets=False, **opts)  # type: ignore[arg-type]
    assert [h.id for h in page.hits] == [h.id for h in fast_hits[:10]], where
    assert page.total == fast_total, where
