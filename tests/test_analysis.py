"""The Polish analyzer: tokens, stopwords, folding, lemma table, highlighting offsets, pickling.

The lemma table is built once per machine (~30 s) into the shared cache dir (ARCHIVIST_CACHE_DIR or
XDG); every test here reuses it.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from whoosh import fields, highlight, index, query

from index import analysis as A

ROOT = Path(__file__).resolve().parent.parent
# Resolved at collection, before any fixture isolates HOME: every test shares the machine's lemma table.
_SHARED_CACHE = os.environ.get("ARCHIVIST_CACHE_DIR") or str(A.cache_dir())


@pytest.fixture(autouse=True)
def _shared_lemma_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_CACHE_DIR", _SHARED_CACHE)


def terms(text: str) -> list[str]:
    return [t.text for t in A.polish_analyzer()(text)]


def tokens(text: str) -> list[tuple[str, int, str]]:
    return [(t.text, t.pos, text[t.startchar:t.endchar])
            for t in A.polish_analyzer()(text, positions=True, chars=True)]


def test_import_loads_nothing_heavy():
    code = ("import sys, index.analysis; "
            "print(any(m in sys.modules for m in ('dawg', 'Stemmer', 'simplemma')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fold():
    assert A.fold("Łódź") == "Lodz"
    assert A.fold("zażółć gęślą jaźń") == "zazolc gesla jazn"
    assert A.fold("ludźmi") == "ludzmi"


def test_hyphenated_word_yields_whole_and_parts():
    toks = tokens("granica polsko-ukraińska")
    assert ("polsko-ukrainska", 1, "polsko-ukraińska") in toks
    assert ("polsk", 1, "polsko") in toks
    assert [t for t in toks if t[2] == "ukraińska"][0][1] == 2


def test_numbers_and_dates_stay_whole():
    got = terms("dnia 29.06.2017 wzrost o 3,5 proc. w 2016")
    assert "29.06.2017" in got and "2017" in got and "3,5" in got and "2016" in got


def test_url_findable_by_domain_and_path_words():
    got = terms("Przeniesiono na www.gov.pl/web/handel-ludzmi.")
    assert {"gov.pl", "handel-ludzmi", "handel"} <= set(got)
    assert "www" not in got and "pl" not in got


def test_url_query_words():
    (url,) = A.query_words("www.gov.pl/web/handel-ludzmi")
    assert url.alternatives == ("gov.pl",)
    assert "handel-ludzmi" in [p.alternatives[0] for p in url.parts]


def test_stopwords_case_and_diacritics_insensitive():
    assert A.is_stopword("Się") and A.is_stopword("sie") and A.is_stopword("JAK")
    assert not A.is_stopword("handel")
    words = A.query_words("Jak działa pożyczka?")
    assert [w.stop for w in words] == [True, False, False]


def test_stopwords_are_indexed_so_phrases_stay_exact():
    toks = tokens("handel z ludźmi")
    assert [t[1] for t in toks if t[2] == "z"] == [1]


def test_diacritic_free_words_reach_the_folded_twins():
    indexed = set(terms("walka z handlem ludźmi w Łodzi"))
    for word in ("ludzmi", "lodz"):
        (w,) = A.query_words(word)
        assert indexed & set(w.alternatives + w.folded), word
        assert w.folded_weight == 1.0


def test_polish_query_word_matches_exact_term_only():
    (w,) = A.query_words("ludźmi")
    assert w.folded == () and w.alternatives[0] in terms("ludźmi")


def test_handlu_and_handel_share_stems():
    assert terms("handlu ludźmi")[0] == terms("handel ludźmi")[0]
    assert terms("handlu ludźmi") == terms("handel ludźmi")


def test_offsets_point_at_the_original_forms():
    text = "Łódź: handel ludźmi, polsko-ukraińska sprawa 29.06.2017 (www.gov.pl/web/handel-ludzmi)."
    for t in A.polish_analyzer()(text, positions=True, chars=True):
        original = text[t.startchar:t.endchar]
        assert original.strip() == original and original, t.text
        assert A.fold(original.lower()).startswith(A.fold(t.text.lstrip("~")[:2])) or t.text in original or t.text in (
            "człowiek", "~czlowiek"), (t.text, original)


def test_highlight_shows_original_word(tmp_path):
    schema = fields.Schema(body=fields.TEXT(analyzer=A.polish_analyzer(), stored=True))
    ix = index.create_in(str(tmp_path), schema)
    with ix.writer() as w:
        w.add_document(body="Zatrzymano sprawców handlu ludźmi w Łodzi.")
    (lud,) = A.query_words("ludzmi")
    q = query.Or([query.Term("body", t) for t in lud.alternatives + lud.folded])
    with ix.searcher() as s:
        hits = s.search(q)
        assert len(hits) == 1
        hits.formatter = highlight.UppercaseFormatter()
        assert "LUDŹMI" in hits[0].highlights("body")


def test_schema_pickle_round_trip():
    schema = fields.Schema(body=fields.TEXT(analyzer=A.polish_analyzer()))
    again = pickle.loads(pickle.dumps(schema))
    assert again["body"].analyzer == schema["body"].analyzer
    assert [t.text for t in again["body"].analyzer("handlu ludźmi")] == terms("handlu ludźmi")


def test_lemmas_agree_with_simplemma_on_a_sample():
    import random

    import simplemma

    words = ["ludźmi", "handlu", "pożyczki", "zwrócić", "Łodzi", "miasta", "rządu", "ministrów", "sądzie", "kobiet", "dzieci", "policjanci", "zatrzymali", "prokuratura", "postępowania", "ustawy", "jest", "był", "będą", "mieliśmy", "najlepszych"]
    rng = random.Random(7)
    sample = words + [w[:-1] + "ach" for w in words] + ["".join(rng.sample(w, len(w))) for w in words]
    for w in sample:
        assert A.lemmatize(w) == simplemma.lemmatize(w, lang="pl"), w


def test_table_is_built_once_and_reopened_fast(tmp_path, monkeypatch):
    path = A.ensure_lemma_table() and A.lemma_table_path()
    mtime = path.stat().st_mtime_ns
    t = time.perf_counter()
    A._load_table(path)
    assert time.perf_counter() - t < 2.0
    A.ensure_lemma_table()
    assert path.stat().st_mtime_ns == mtime


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHIVIST_CACHE_DIR", str(tmp_path / "c"))
    assert A.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ARCHIVIST_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert A.cache_dir() == tmp_path / "x" / "archivist"


def test_unreadable_table_is_rebuilt_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVIST_CACHE_DIR", str(tmp_path))
    path = A.lemma_table_path()
    path.write_bytes(b"garbage")
    assert A._load_table(path) is None


@pytest.mark.slow  # a fresh ~30 s build of the lemma table, by two processes racing
def test_concurrent_builds_yield_one_valid_table(tmp_path):
    env = dict(os.environ, ARCHIVIST_CACHE_DIR=str(tmp_path))
    code = "import index.analysis as A; print(A.lemmatize('ludźmi'))"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    assert [p.communicate()[0].strip() for p in procs] == ["człowiek", "człowiek"]
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


_INDEX_TEXTS = [
    "Strażacy gasili pożar w Gdańsku; policjanci zatrzymali 2 podejrzanych 29.06.2017 o 12:30.",
    "Polsko-ukraińska współpraca: www.gov.pl/web/handel-ludzmi, https://policja.pl/pol/aktualnosci/1,2.html?x=1.",
    "Kontakt: biuro@mswia.gov.pl lub tel. 22 601-44-55; a4 mp3 COVID-19 ul. 3-go Maja, rock'n'roll i O’Brien",
    "Handel ludźmi, handlu ludzmi, LUDŹMI; się sie jest być będą; 1,5 mln zł; 2024/2025; 1989 r.; x.pl y.com.",
    "",
    "   ",
    "—„Cytat”… (nawias) [klamra] {x} ą-ę-ł łódź-łodzi sąd sad straż-graniczna.gov.pl 10.10.10.10 e-mail",
]


def _analyzer_positions(text: str) -> dict[str, list[int]]:
    """What Whoosh's Positions format gathers from the analyzer in index mode."""
    out: dict[str, list[int]] = {}
    for t in A.polish_analyzer()(text, positions=True, boosts=True, mode="index"):
        if not t.stopped:
            out.setdefault(t.text, []).append(t.pos)
    return out


def test_index_positions_equal_the_analyzers_tokens():
    """The index writer's fast path (`index_positions`) yields exactly the analyzer's terms and positions,
    on crafted edge cases and on the real news corpus."""
    texts = list(_INDEX_TEXTS)
    corpus = Path(ROOT.parent / "shared" / "corpus" / "polsatnews.csv")
    if corpus.exists():
        import csv

        with open(corpus, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        texts += [r["title"] for r in rows[:300]] + [r["text"] for r in rows[:300]]
    samples = ROOT / "archivist" / "samples"
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(samples.rglob("*")) if p.is_file()]
    for text in texts:
        assert A.index_positions(text) == _analyzer_positions(text), text[:80]
    for text in texts[:50]:  # a second pass answers from the per-word cache: still the same
        assert A.index_positions(text) == _analyzer_positions(text)


def test_index_positions_random_text():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = "aąbcćdeęfghijklłmnńoóprsśtuwyzźżAĄĆĘŁŃÓŚŹŻQX0123456789 .,:;/-‐'’@_()\n\t"
    pieces = st.sampled_from(["www.", "https://", ".pl", ".gov.pl", "@", "-", " ", "2017", "ludźmi", "sie"])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.one_of(st.text(alphabet, max_size=12), pieces), max_size=30).map("".join))
    def check(text: str) -> None:
        assert A.index_positions(text) == _analyzer_positions(text)

    check()
