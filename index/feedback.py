"""Pseudo-relevance feedback: widen a query with the terms its own best answers share (RM3 / Bo1).

    q2 = expand(searcher, q, top_hit_fields, body_of, k=5, m=10, alpha=0.3)

The user's query is run once; the bodies (read from the log: the index does not store them) and titles of
its top `k` documents are re-analysed with the index's own Polish analyzer, in its exact (lemma-stem) space
only -- no "~" folded twins, no stopwords or question fillers. Each candidate term is scored

* ``rm3``: sum over feedback documents of P(t|d) * P(d|q), P(t|d) = tf / |d| and P(d|q) the document's
  score share of the top k (Lavrenko & Croft's relevance model; Anserini's RM3 with BM25 scores does the
  same), or
* ``bo1``: Amati's Bose-Einstein model on the term's frequency in the top k against the collection
  (``whoosh.classify.Bo1Model``'s formula);

optionally times idf. Terms of the original query, numbers, one-letter terms, terms in more than
`max_df_ratio` of the collection (they discriminate nothing: "allegro" in a shop FAQ) and terms found in
fewer than `min_fb_df` feedback documents are skipped. The best `m`, weights scaled to the best = 1, are
OR-ed over the text fields, each Term boosted ``alpha * weight``, beside the untouched original query:

    Or([q, Or([Term(f, t, boost=alpha * w) for t, w in terms for f in fields])])

so every original match keeps its score and documents sharing the feedback vocabulary gain up to about
alpha x one BM25 term. Pure: no I/O beyond `body_of` and the searcher's term statistics.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from whoosh import query as Q

from index.analysis import FOLD_PREFIX, is_stopword, polish_analyzer

__all__ = ["expand", "expansion_terms", "content_word_count"]

TEXT_FIELDS = ("title", "body")

_analyzer = None


def _terms_analyzer():  # exact space only, stopwords (and question fillers) dropped
    global _analyzer
    if _analyzer is None:
        _analyzer = polish_analyzer(index_stops=False, fold_twins=False)
    return _analyzer


def doc_terms(text: str) -> Counter[str]:
    """Exact index terms of `text` with their counts: no stopwords, no "~" twins, no numbers or 1-letter terms."""
    out: Counter[str] = Counter()
    for tok in _terms_analyzer()(text):
        t = tok.text
        if len(t) < 2 or t.startswith(FOLD_PREFIX) or not t.isalpha() or is_stopword(t):
            continue
        out[t] += 1
    return out


def content_word_count(text: str) -> int:
    """Words of a free-text query that rank (not stopwords or question fillers)."""
    from index.analysis import query_words

    return sum(1 for w in query_words(text) if not w.stop)


def _query_terms(query: Q.Query) -> set[str]:
    out: set[str] = set()
    try:
        for _field, text in query.iter_all_terms():
            t = text.decode("utf-8") if isinstance(text, bytes) else str(text)
            out.add(t[len(FOLD_PREFIX):] if t.startswith(FOLD_PREFIX) else t)
    except Exception:  # noqa: BLE001 - some query types (ranges, Every) have no plain terms
        pass
    return out


def expansion_terms(
    searcher,  # type: ignore[no-untyped-def]
    query: Q.Query,
    hits_fields: Sequence[Mapping[str, object]],
    body_of: Callable[[int], str],
    *,
    k: int = 5,
    m: int = 10,
    method: str = "rm3",
    idf: bool = False,
    min_fb_df: int = 1,
    max_df_ratio: float = 0.1,
    scores: Sequence[float] | None = None,
    field: str = "body",
    keep_query_terms: bool = False,
) -> list[tuple[str, float]]:
    """The best `m` (term, weight) pairs from the top `k` hits, weights scaled so the best is 1.0.

    `hits_fields`: the stored fields of the ranked hits (``content_position`` and ``title`` are read);
    `scores`: their scores (RM3 weighs documents by their share; equal weights without them);
    `keep_query_terms`: let the original query's own terms be chosen too (RM3 proper re-weights them)."""
    if method not in ("rm3", "bo1"):
        raise ValueError(f"method is rm3 or bo1, not {method!r}")
    top = list(hits_fields[:k])
    if not top or m <= 0:
        return []
    sc = [max(float(s), 0.0) for s in (scores[: len(top)] if scores is not None else [1.0] * len(top))]
    total_score = sum(sc) or 1.0
    vectors: list[Counter[str]] = []
    for f in top:
        pos = f.get("content_position")
        body = body_of(int(str(pos))) if pos is not None else ""
        title = str(f.get("title") or "")
        vectors.append(doc_terms(f"{title}\n{body}"))
    skip = set() if keep_query_terms else _query_terms(query)
    n_docs = max(searcher.doc_count(), 1)
    fb_df: Counter[str] = Counter()
    for v in vectors:
        fb_df.update(v.keys())
    weights: dict[str, float] = {}
    if method == "rm3":
        for v, s in zip(vectors, sc, strict=True):
            length = sum(v.values()) or 1
            share = s / total_score
            for t, tf in v.items():
                weights[t] = weights.get(t, 0.0) + tf / length * share
    else:  # bo1
        tf_top: Counter[str] = Counter()
        for v in vectors:
            tf_top.update(v)
        for t, tf in tf_top.items():
            f_coll = (searcher.frequency(field, t) or tf) / n_docs
            weights[t] = tf * math.log2((1.0 + f_coll) / f_coll) + math.log2(1.0 + f_coll)
    ranked: list[tuple[str, float]] = []
    for t, w in weights.items():
        if t in skip or fb_df[t] < min_fb_df:
            continue
        df = searcher.doc_frequency(field, t)
        if df == 0 or df > max_df_ratio * n_docs:
            continue
        if idf:
            w *= math.log(1.0 + n_docs / df)
        ranked.append((t, w))
    ranked.sort(key=lambda tw: (-tw[1], tw[0]))
    ranked = ranked[:m]
    if not ranked:
        return []
    best = ranked[0][1] or 1.0
    return [(t, w / best) for t, w in ranked]


def expand(
    searcher,  # type: ignore[no-untyped-def]
    query: Q.Query,
    hits_fields: Sequence[Mapping[str, object]],
    body_of: Callable[[int], str],
    *,
    k: int = 5,
    m: int = 10,
    alpha: float = 0.3,
    fields: Iterable[str] = TEXT_FIELDS,
    **options,  # type: ignore[no-untyped-def]
) -> Q.Query:
    """`query` OR the feedback terms of its top `k` hits, each boosted alpha x its weight (see the module doc).

    Returns `query` itself when there is nothing to add (no hits, alpha 0, every candidate filtered)."""
    if alpha <= 0 or k <= 0 or m <= 0:
        return query
    terms = expansion_terms(searcher, query, hits_fields, body_of, k=k, m=m, **options)
    if not terms:
        return query
    fields = tuple(fields)
    extra: list[Q.Query] = [Q.Term(f, t, boost=alpha * w) for t, w in terms for f in fields]
    return Q.DefaultOr([query, Q.DefaultOr(extra)])
