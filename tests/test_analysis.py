"""The Polish analyzer: tokens, stopwords, folding, Morfeusz lemmas, highlighting offsets, pickling."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

from whoosh import fields, highlight, index, query

from index import analysis as A

ROOT = Path(__file__).resolve().parent.parent


def terms(text: str) -> list[str]:
    return [t.text for t in A.polish_analyzer()(text)]


def tokens(text: str) -> list[tuple[str, int, str]]:
    return [(t.text, t.pos, text[t.startchar:t.endchar])
            for t in A.polish_analyzer()(text, positions=True, chars=True)]


def test_import_loads_nothing_heavy():
    code = ("import sys, index.analysis; "
            "print(any(m in sys.modules for m in ('dawg', 'Stemmer', 'simplemma', 'morfeusz2')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fold():
    assert A.fold("Łódź") == "Lodz"
    assert A.fold("zażółć gęślą jaźń") == "zazolc gesla jazn"
    assert A.fold("ludźmi") == "ludzmi"


def test_hyphenated_word_yields_whole_and_parts():
    toks = tokens("granica polsko-ukraińska")
    assert ("polsko-ukrainska", 1, "polsko-ukraińska") in toks
    assert ("polsko", 1, "polsko") in toks  # the part, lemmatised
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


def test_lemmas_come_from_morfeusz():
    assert A.lemma_source().name == "morfeusz"
    assert "szczecin" in A.lemmas("Szczecinie") and "szczecin" in A.lemmas("szczecinie")  # case ignored
    assert "mieć" in A.lemmas("mam") and "mama" in A.lemmas("mam")  # every reading's lemma
    assert A.lemmas("zrobiłem") == ("zrobić",)  # the first segment of zrobił+em
    assert A.lemmas("xqzzyw") == ()  # unknown: its own Snowball stem
    assert A.word_terms("xqzzyw") == (A._stemmer().stemWord("xqzzyw"),)


def test_ludzmi_is_not_only_a_person():
    """Suppletion: `ludźmi` is a form of `człowiek` in the dictionary, but a search for `handel ludźmi` must
    not be a search for `handel człowiek`: the form keeps a term of its own beside the lemma's."""
    got = A.lemmas("ludźmi")
    assert "człowiek" in got and len(got) > 1
    assert A.word_terms("ludźmi") != A.word_terms("człowiekiem")
    assert set(A.word_terms("człowiekiem")) < set(A.word_terms("ludźmi"))
    assert len(A.lemmas("lata")) > 1 and "rok" in A.lemmas("lata")


def test_restorations_follow_polish_spelling():
    got = A.restorations("ludzmi")
    assert "ludźmi" in got and "ludzmi" not in got
    assert "ąle" not in A.restorations("ale")  # ą never opens a word
    assert "śiła" not in A.restorations("sila")  # ś is written si before a vowel
    assert not any("rż" in w or "rź" in w for w in A.restorations("rzeka"))
    assert A.restorations("a" * 20) == []  # too many spellings: not widened


def test_first_run_needs_no_table(tmp_path):
    """Morfeusz ships its dictionary: a fresh process with an empty cache lemmatises at once, building
    nothing (the simplemma table took ~30 s and 1.6 GB on the first run)."""
    env = dict(os.environ, ARCHIVIST_CACHE_DIR=str(tmp_path), XDG_CACHE_HOME=str(tmp_path))
    code = "import index.analysis as A; print(A.lemmas('ludźmi')[0])"
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "człowiek"
    assert list(tmp_path.iterdir()) == []
    assert time.perf_counter() - t < 30  # generous: the old first run alone took ~30 s


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


def test_an_index_of_the_previous_analyzer_is_rebuilt_once_never_mixed(tmp_path, monkeypatch, caplog):
    """Issue 13: an index written by the simplemma analyzer (index format 2) is thrown away and rebuilt from
    the log the first time it is opened -- said once -- so no search ever reads one analyzer's terms with
    the other's queries, and documents added later never land beside the old terms."""
    import logging

    from archivist.archive import Archive
    from bench.simplemma_lemmas import SimplemmaSource
    from index import projection

    root = tmp_path / "a"
    own = [t for t in A.exact_terms("ludźmi") if t != "człowiek"][0]  # the suppletive form's own term
    A.configure(SimplemmaSource(), stem=True)  # the previous analyzer: Snowball stems of simplemma lemmas
    monkeypatch.setattr(projection, "INDEX_FORMAT", 2)
    try:
        with Archive.open(root, actor="test") as a:
            old = a.publish(title="Raport", body="Walka z handlem ludźmi.")
            assert a.index.searcher().reader().doc_frequency("body", own) == 0  # simplemma: człowiek only
    finally:
        A.configure()
        monkeypatch.undo()
    with caplog.at_level(logging.WARNING, logger="archivist.index"), Archive.open(root, actor="test") as a:
        new = a.publish(title="Drugi raport", body="Ofiary handlu ludźmi.")
        assert {h.id for h in a.search("ludźmi").hits} == {old, new}
        reader = a.index.searcher().reader()
        assert reader.doc_frequency("body", own) == 2  # both documents in Morfeusz's terms
    said = [r for r in caplog.records if "index format 2" in r.getMessage()]
    assert len(said) == 1, caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="archivist.index"), Archive.open(root, actor="test") as a:
        assert {h.id for h in a.search("ludźmi").hits} == {old, new}
    assert "does not match" not in caplog.text


def test_morfeusz_readings_read_directly_equal_morfeusz2s_analyse():
    """`MorfeuszSource._readings` reads the SWIG objects directly; `morfeusz2.Morfeusz.analyse` is the
    reference: the same (lemma, tag) readings for every word of the real news corpus and our samples,
    with both reading policies (the dropped "ign", names, rare and depreciative readings included)."""
    import re

    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "archivist" / "samples").rglob("*"))
             if p.is_file()]
    corpus = Path(ROOT.parent / "shared" / "corpus" / "polsatnews.csv")
    if corpus.exists():
        texts.append(corpus.read_text(encoding="utf-8"))
    words = sorted({w.lower() for t in texts for w in re.findall(r"\w+", t)} |
                   {"zrobiłem", "ludźmi", "stanie", "lata", "lepszy", "qwxz", "Szczecinie", "sąd", "chłopaków"})
    assert len(words) > 1000
    for policy in ("common", "every"):
        source = A.MorfeuszSource(readings=policy)
        for w in words:
            assert source._readings(w) == source._readings_reference(w), (policy, w)
