"""Snippets: `context_fragments` (one loop over plain tuples) gives exactly what Whoosh's highlighter chain
gave -- `ContextFragmenter.fragment_tokens(text, Highlighter._merge_matched_tokens(highlight_tokens(...)))` --
fragments, their matches (spans and merged texts) and so the snippet text and mark offsets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import highlight

from index import searching
from index.searching import _Marker, _split_marks, context_fragments, highlight_tokens

WORDS = ["prezydent", "Prezydent", "prezydenta", "prezydentowi", "ludźmi", "ludzmi", "człowiek", "handel",
         "handlu", "Handel", "sąd", "sad", "sądu", "Sąd", "najwyższy", "najwyzszy", "w", "W", "czwartek",
         "czwartku", "z", "na", "Łódź", "lodz", "Łodzi", "wojna", "wojny", "Ukrainie", "Ukraina", "ukrainie",
         "szpital", "szpitale", "szpitala", "pacjentów", "pacjentow", "zażółć", "gęślą", "jaźń", "mp3", "a4",
         "2017", "1999", "x_y", "ÓSMY", "straż", "straz", "Graniczna", "się", "sie", "że", "ze", "pożar",
         "strażacy"]
COMPOUNDS = ["polsko-ukraiński", "polsko-ukrainska", "Bielsko-Biała", "handel-ludźmi", "e-mail", "d'Arc",
             "O’Neill", "29.06.2017", "1,5", "12:30", "3/4", "www.gov.pl/web/handel-ludzmi", "gov.pl",
             "https://example.com/a-b/c?d=1.", "biuro@policja.gov.pl", "Sąd-Najwyższy", "2017-2019"]
SEPS = [" ", "  ", ", ", ". ", "\n", "\n\n", " – ", " (", ") ", "; ", "! ", "? ", "\"", " „", "” ", "...", " - ",
        "\t", "/", ":"]

token = st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS), st.sampled_from(COMPOUNDS),
                  st.text(alphabet="abcęółśżźćńAŁ-.,0123456789 @/", min_size=1, max_size=8))


@st.composite
def bodies(draw):  # type: ignore[no-untyped-def]
    parts = draw(st.lists(st.tuples(token, st.sampled_from(SEPS)), min_size=0, max_size=120))
    return draw(st.sampled_from(["", " ", "\n"])) + "".join(a + b for a, b in parts)


def terms_of(text: str) -> set[str]:
    return {t.text for t in highlight_tokens(text, frozenset())}


def reference(text: str, words: frozenset[str], maxchars: int, surround: int) -> list[highlight.Fragment]:
    tokens = highlight.Highlighter._merge_matched_tokens(highlight_tokens(text, words))
    return list(highlight.ContextFragmenter(maxchars=maxchars, surround=surround).fragment_tokens(text, tokens))


def shape(frags: list[highlight.Fragment]) -> list:  # type: ignore[type-arg]
    return [(f.startchar, f.endchar, sorted(f.matched_terms),
             [(t.startchar, t.endchar, t.text, t.boost) for t in f.matches]) for f in frags]


def snippet(frags: list[highlight.Fragment], top: int, minscore: int) -> tuple[str, list[tuple[int, int]]]:
    best = highlight.top_fragments(frags, top, highlight.BasicFragmentScorer(), highlight.FIRST, minscore=minscore)
    return _split_marks(_Marker().format(best))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=bodies(), query=st.lists(st.sampled_from(WORDS + COMPOUNDS), max_size=5), extra=st.data(),
       maxchars=st.sampled_from([searching.SNIPPET_CHARS, 200, 40, 12, 3]),
       surround=st.sampled_from([60, 20, 5, 0]))
def test_fast_fragments_equal_whooshs(text: str, query: list[str], extra, maxchars: int, surround: int) -> None:  # type: ignore[no-untyped-def]
    words = set().union(*(terms_of(q) for q in query)) if query else set()
    # also terms taken straight from the text (matches of every kind: parts, wholes, years, hosts)
    own = sorted(terms_of(text))
    if own:
        words |= set(extra.draw(st.lists(st.sampled_from(own), max_size=4)))
    words_f = frozenset(words)
    fast = context_fragments(text, words_f, maxchars, surround)
    slow = reference(text, words_f, maxchars, surround)
    assert shape(fast) == shape(slow)
    for top, minscore in ((2, 1), (3, 0)):
        assert snippet(fast, top, minscore) == snippet(slow, top, minscore)


@pytest.mark.parametrize("text,query", [
    ("Prezydent Andrzej Duda w czwartek spotkał się z prezydentem Ukrainy w Łodzi.", "prezydent"),
    ("Handel ludźmi: polsko-ukraińska grupa, www.gov.pl/web/handel-ludzmi, 29.06.2017 r.", "ludzmi"),
    ("Sąd Najwyższy " * 40 + "orzekł w czwartek; sąd sądu sądem.", "sąd najwyższy"),
])
def test_snippets_of_real_sentences(text: str, query: str) -> None:
    words = frozenset().union(*(terms_of(w) for w in query.split()))
    for maxchars, surround in ((searching.SNIPPET_CHARS, 60), (30, 10)):
        fast = context_fragments(text, words, maxchars, surround)
        assert fast and shape(fast) == shape(reference(text, words, maxchars, surround))


FILLER = ["rada", "miasta", "podjęła", "uchwałę", "dotyczącą", "budżetu", "na", "rok", "przyszły", "oraz", "inwestycji",
          "drogowych", "w", "dzielnicy", "Śródmieście", "i", "Ochota", "co", "ogłoszono", "podczas", "sesji"]
GAPS = [" ", " ", " ", ", ", ". ", "\n", " – ", "; ", " " + "." * 70 + " ", " " + "-" * 90 + " ", "\n\n"]


@st.composite
def sparse_bodies(draw):  # type: ignore[no-untyped-def]
    """Long texts with rare matches: where `context_fragments` jumps over the text between them."""
    rare = st.sampled_from(WORDS + COMPOUNDS)
    parts = draw(st.lists(st.tuples(st.one_of(st.sampled_from(FILLER), st.sampled_from(FILLER),
                                              st.sampled_from(FILLER), st.sampled_from(FILLER), rare),
                                    st.sampled_from(GAPS)), min_size=50, max_size=600))
    return "".join(a + b for a, b in parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=sparse_bodies(), query=st.lists(st.sampled_from(WORDS + COMPOUNDS), min_size=1, max_size=3),
       maxchars=st.sampled_from([searching.SNIPPET_CHARS, 200, 40]), surround=st.sampled_from([60, 20, 5, 0]))
def test_fragments_that_skip_the_text_between_matches_equal_whooshs(text: str, query: list[str], maxchars: int,
                                                                    surround: int) -> None:
    words = frozenset().union(*(terms_of(q) for q in query))
    fast = context_fragments(text, words, maxchars, surround)
    assert shape(fast) == shape(reference(text, words, maxchars, surround))
    assert shape(fast) == shape(context_fragments(text, words, maxchars, surround, skip=False))


def test_a_long_text_with_one_match_is_tokenised_only_around_it(monkeypatch: pytest.MonkeyPatch) -> None:
    text = " ".join(FILLER * 40) + " Prezydent podpisał ustawę. " + " ".join(FILLER * 40)
    words = frozenset(terms_of("prezydent"))
    seen = []
    real = searching._token_terms

    def counting(*args):  # type: ignore[no-untyped-def]
        for t in real(*args):
            seen.append(t)
            yield t

    monkeypatch.setattr(searching, "_token_terms", counting)
    fast = context_fragments(text, words, searching.SNIPPET_CHARS, 60)
    assert shape(fast) == shape(reference(text, words, searching.SNIPPET_CHARS, 60))
    assert len(fast) == 1 and fast[0].matches[0].text in words
    assert 0 < len(seen) < 60  # of ~1,700 tokens: only those around the match
