"""index.feedback.expand: pseudo-relevance feedback terms from a query's top documents, on a tiny index."""

from __future__ import annotations

import pytest
from whoosh import query as Q
from whoosh.filedb.filestore import RamStorage

from index.analysis import FOLD_PREFIX, is_stopword, word_terms
from index.feedback import content_word_count, doc_terms, expand, expansion_terms
from index.query import parse_query
from index.schema import build_schema

BODIES = {
    1: "Rower górski ma przerzutki i łańcuch. Łańcuch roweru trzeba smarować, a przerzutki regulować.",
    2: "Serwis roweru: smarowanie łańcucha, regulacja przerzutki, wymiana łańcucha co sezon.",
    3: "Rower miejski nie ma przerzutki, ale łańcuch też się smaruje.",
    4: "Kot śpi na kanapie. Kot je rybę i pije mleko.",
    5: "Pies szczeka na listonosza; psy lubią spacery po parku.",
    6: "Przepis na sernik: ser, jajka, cukier i masło. Sernik piecze się godzinę.",
    7: "Pogoda na weekend: słonecznie nad morzem, w górach deszcz.",
    8: "Smarowanie zawiasów drzwi: olej maszynowy i szmatka.",
}


def stem(word: str) -> str:
    return word_terms(word)[0]


@pytest.fixture(scope="module")
def ix():  # type: ignore[no-untyped-def]
    schema = build_schema()
    index = RamStorage().create_index(schema)
    with index.writer() as w:
        for pos, body in BODIES.items():
            w.add_document(docid=str(pos), id=str(pos), title="·", body=body, content_position=pos,
                           current="1", status="live")
    return index


def top(s, text: str, n: int = 10):  # type: ignore[no-untyped-def]
    q, _ = parse_query(text)
    res = s.search(q, limit=n, optimize=False)
    return q, [h.fields() for h in res], [h.score for h in res]


def test_expansion_terms_come_from_the_top_documents(ix) -> None:  # type: ignore[no-untyped-def]
    with ix.searcher() as s:
        q, hits, scores = top(s, "rower")
        assert {h["content_position"] for h in hits} == {1, 2, 3}
        terms = dict(expansion_terms(s, q, hits, BODIES.__getitem__, k=3, m=10, scores=scores, max_df_ratio=1.0))
        assert stem("łańcuch") in terms and stem("przerzutka") in terms
        vocabulary_of_top = set().union(*(doc_terms(BODIES[p]) for p in (1, 2, 3)))
        assert set(terms) <= vocabulary_of_top  # nothing from the cat, the dog or the cheesecake
        assert stem("rower") not in terms  # the query's own term is the original query's business
        assert max(terms.values()) == pytest.approx(1.0)
        assert list(terms.values()) == sorted(terms.values(), reverse=True)


def test_stopwords_and_folded_twins_are_never_expansion_terms(ix) -> None:  # type: ignore[no-untyped-def]
    with ix.searcher() as s:
        q, hits, scores = top(s, "rower łańcuch")
        for method in ("rm3", "bo1"):
            terms = expansion_terms(s, q, hits, BODIES.__getitem__, k=5, m=50, method=method, scores=scores,
                                    max_df_ratio=1.0)
            assert terms
            for t, _ in terms:
                assert not t.startswith(FOLD_PREFIX), t
                assert not is_stopword(t), t
                assert t.isalpha() and len(t) > 1, t
            # "się", "ma", "i", "a", "nie", "też", "ale" are in those bodies
            assert not {"się", "ma", "i", "a", "nie", "ale"} & {t for t, _ in terms}


def test_the_original_query_is_kept_and_alpha_weights_the_expansion(ix) -> None:  # type: ignore[no-untyped-def]
    with ix.searcher() as s:
        q, hits, scores = top(s, "rower")
        eq = expand(s, q, hits, BODIES.__getitem__, k=3, m=4, alpha=0.25, scores=scores, max_df_ratio=1.0)
        assert isinstance(eq, Q.Or) and eq.subqueries[0] == q
        extra = eq.subqueries[1]
        boosts = {(t.fieldname, t.text): t.boost for t in extra.subqueries}
        assert {f for f, _ in boosts} == {"title", "body"}
        assert len(boosts) == 2 * 4
        assert max(boosts.values()) == pytest.approx(0.25)
        assert all(0 < b <= 0.25 + 1e-9 for b in boosts.values())
        # every document of the original query still matches; a feedback-only document now matches too
        found = {h["content_position"] for h in s.search(eq, limit=None)}
        assert {1, 2, 3} <= found
        assert 8 in found  # "smarowanie" came from the bicycle documents
        # the bicycle documents stay ahead: the expansion only adds alpha-weighted evidence
        ranked = [h["content_position"] for h in s.search(eq, limit=None)]
        assert set(ranked[:3]) == {1, 2, 3}


def test_nothing_to_add_returns_the_query_itself(ix) -> None:  # type: ignore[no-untyped-def]
    with ix.searcher() as s:
        q, hits, scores = top(s, "rower")
        assert expand(s, q, hits, BODIES.__getitem__, k=3, m=10, alpha=0.0) is q
        assert expand(s, q, [], BODIES.__getitem__, k=3, m=10, alpha=0.3) is q
        # terms in more than max_df_ratio of the collection are skipped: on 8 documents 0.1 leaves nothing
        assert expand(s, q, hits, BODIES.__getitem__, k=3, m=10, alpha=0.3, max_df_ratio=0.1) is q


def test_min_feedback_df_and_idf_options(ix) -> None:  # type: ignore[no-untyped-def]
    with ix.searcher() as s:
        q, hits, scores = top(s, "rower")
        terms = dict(expansion_terms(s, q, hits, BODIES.__getitem__, k=3, m=50, min_fb_df=2, max_df_ratio=1.0))
        in_two = [t for t in terms if sum(t in doc_terms(BODIES[p]) for p in (1, 2, 3)) >= 2]
        assert terms and set(terms) == set(in_two)
        weighted = expansion_terms(s, q, hits, BODIES.__getitem__, k=3, m=50, idf=True, max_df_ratio=1.0)
        assert weighted and weighted[0][1] == pytest.approx(1.0)


def test_content_word_count_ignores_question_words() -> None:
    assert content_word_count("Czy mogę zwrócić zakupione czasopisma?") == 3
    assert content_word_count("handel ludźmi") == 2
