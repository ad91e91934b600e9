"""Tuning harness for index/analysis.py: relevance (nDCG@10 on a BEIR set), analyzer throughput, lemma table.

    .venv/bin/python bench/relevance_analyzer.py relevance [--eval DIR] [--fold-queries]
    .venv/bin/python bench/relevance_analyzer.py throughput [--csv PATH]
    .venv/bin/python bench/relevance_analyzer.py lemmas [--n 200000]

Prints figures; asserts nothing. Plain Whoosh index in a temp dir, one analysed field "text" (title + body).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from whoosh import fields, index, query, scoring  # noqa: E402
from whoosh.analysis import LowercaseFilter, RegexTokenizer  # noqa: E402

from index import analysis as A  # noqa: E402

SHARED = Path("/work/shared")


def load_beir(d: Path, split: str = "test-A"):
    corpus = [json.loads(line) for line in (d / "corpus.jsonl").read_text("utf-8").splitlines()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (d / "queries.jsonl").read_text("utf-8").splitlines())}
    qrels: dict[str, dict[str, int]] = {}
    with open(d / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels.setdefault(qid, {})[did] = int(score)
    return corpus, {q: t for q, t in queries.items() if q in qrels}, qrels


def ndcg10(ranked: list[str], rel: dict[str, int]) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sum(r / math.log2(i + 2) for i, r in enumerate(sorted(rel.values(), reverse=True)[:10]))
    return dcg / ideal if ideal else 0.0


FOLD_BOOST = float(os.environ.get("FOLD_BOOST", "1.0"))  # scales QueryWord.folded_weight (experiments)


def word_query(field: str, w: A.QueryWord) -> query.Query:
    terms = [query.Term(field, t) for t in w.alternatives]
    weight = w.folded_weight * FOLD_BOOST
    if weight > 0:
        terms += [query.Term(field, t, boost=weight) for t in w.folded]
    if w.parts:
        parts = [word_query(field, p) for p in w.parts if not p.stop]
        if parts:
            terms.append(query.And(parts) if len(parts) > 1 else parts[0])
    return terms[0] if len(terms) == 1 else query.Or(terms)


def build_queries(field: str, text: str, keep_stops: bool = False) -> list[query.Query]:
    words = A.query_words(text)
    content = [w for w in words if keep_stops or not w.stop] or words
    return [word_query(field, w) for w in content]


def run_relevance(args) -> None:
    corpus, queries, qrels = load_beir(Path(args.eval))
    variants = {
        "polish": dict(analyzer=A.polish_analyzer()),
        "polish-nofoldtwins": dict(analyzer=A.polish_analyzer(fold_twins=False)),
        "lowercase": dict(analyzer=RegexTokenizer() | LowercaseFilter(), plain=True),
    }
    if args.variants:
        variants = {k: v for k, v in variants.items() if k in args.variants.split(",")}
    params = [(1.2, 0.75), (0.9, 0.4), (1.2, 0.5), (1.5, 0.75)]
    for name, v in variants.items():
        with tempfile.TemporaryDirectory() as tmp:
            schema = fields.Schema(id=fields.ID(stored=True), text=fields.TEXT(analyzer=v["analyzer"], phrase=True))
            ix = index.create_in(tmp, schema)
            t0 = time.perf_counter()
            w = ix.writer()
            for doc in corpus:
                w.add_document(id=doc["_id"], text=(doc.get("title", "") + "\n" + doc["text"]).strip())
            w.commit()
            build = time.perf_counter() - t0
            print(f"\n== {name}: indexed {len(corpus)} docs in {build:.1f}s")
            for k1, b in params if not args.quick else params[:1]:
                with ix.searcher(weighting=scoring.BM25F(B=b, K1=k1)) as s:
                    for mode in ("or", "or0.9", "and_fill", "or_stops"):
                        scores, recalls, lat = [], [], []
                        for qid, text in queries.items():
                            qtext = A.fold(text) if args.fold_queries else text
                            t = time.perf_counter()
                            if v.get("plain"):
                                subs = [query.Term("text", tok.text) for tok in v["analyzer"](qtext)]
                            else:
                                subs = build_queries("text", qtext, keep_stops=mode == "or_stops")
                            if not subs:
                                ranked = []
                            elif mode == "or0.9":
                                ranked = [h["id"] for h in s.search(query.Or(subs, scale=0.9), limit=10)]
                            elif mode == "and_fill":
                                ranked = [h["id"] for h in s.search(query.And(subs), limit=10)]
                                if len(ranked) < 10:
                                    for h in s.search(query.Or(subs), limit=10 + len(ranked)):
                                        if h["id"] not in ranked:
                                            ranked.append(h["id"])
                                    ranked = ranked[:10]
                            else:
                                ranked = [h["id"] for h in s.search(query.Or(subs), limit=10)]
                            lat.append((time.perf_counter() - t) * 1000)
                            rel = qrels[qid]
                            scores.append(ndcg10(ranked, rel))
                            recalls.append(len(set(ranked[:10]) & set(rel)) / len(rel))
                        lat.sort()
                        print(f"  K1={k1} B={b} {mode:9s} nDCG@10={statistics.mean(scores):.4f} "
                              f"recall@10={statistics.mean(recalls):.4f} "
                              f"p50={lat[len(lat) // 2]:.1f}ms p95={lat[int(len(lat) * 0.95)]:.1f}ms")


def texts_from_csv(path: str) -> list[str]:
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8", newline="") as f:
        return [row["title"] + "\n" + row["text"] for row in csv.DictReader(f)]


def run_throughput(args) -> None:
    texts = texts_from_csv(args.csv)
    chars = sum(map(len, texts))
    an = A.polish_analyzer()
    t = time.perf_counter()
    A.lemmas("dom")
    print(f"{len(texts)} texts, {chars / len(texts):.0f} chars each; table open {time.perf_counter() - t:.3f}s")
    for label in ("cold (empty caches)", "warm (caches filled)"):
        t = time.perf_counter()
        n = 0
        for text in texts:
            for _ in an(text, positions=True, chars=True):
                n += 1
        dt = time.perf_counter() - t
        print(f"{label}: {n} tokens in {dt:.2f}s = {n / dt:,.0f} tokens/s, "
              f"{len(texts) / dt:,.0f} texts/s, {chars / 2300 / dt:,.0f} 2.3KB-articles/s")
    from whoosh.analysis import StemmingAnalyzer

    t = time.perf_counter()
    n = sum(1 for text in texts for _ in StemmingAnalyzer()(text, positions=True, chars=True))
    dt = time.perf_counter() - t
    print(f"reference whoosh StemmingAnalyzer (English): {n / dt:,.0f} tokens/s")
    with tempfile.TemporaryDirectory() as tmp:
        schema = fields.Schema(id=fields.ID(stored=True), text=fields.TEXT(analyzer=an, phrase=True))
        ix = index.create_in(tmp, schema)
        reps = max(1, 3000 // len(texts))
        t = time.perf_counter()
        w = ix.writer()
        for r in range(reps):
            for i, text in enumerate(texts):
                w.add_document(id=f"{r}-{i}", text=text)
        w.commit()
        dt = time.perf_counter() - t
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
        print(f"whoosh index of {reps * len(texts)} texts (one field, positions): {reps * len(texts) / dt:,.0f} docs/s, "
              f"{reps * chars / 2300 / dt:,.0f} 2.3KB-articles/s, {size / 1e6:.1f} MB")


def run_lemmas(args) -> None:
    import resource
    import subprocess

    code = ("import time,resource;t=time.perf_counter();import index.analysis as A;"
            "x=A.lemmas('ludźmi');print(f'{time.perf_counter()-t:.3f}s',"
            "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss//1024,'MB')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    print("fresh process, import + first lemma (Morfeusz):", out.stdout.strip(), out.stderr.strip()[-300:])
    code2 = ("import time,resource;t=time.perf_counter();import simplemma;"
             "x=simplemma.lemmatize('ludźmi','pl');print(f'{time.perf_counter()-t:.3f}s',"
             "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss//1024,'MB')")
    out = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True)
    print("fresh process, import + first lemma (simplemma as shipped):", out.stdout.strip())

    import simplemma
    from simplemma.strategies.dictionaries.dictionary_factory import _load_dictionary_from_disk

    forms = [k.decode() for k in _load_dictionary_from_disk("pl")]
    rng = random.Random(42)
    sample = rng.sample(forms, min(args.n, len(forms)))
    # plus lowercased and mangled forms, so rules/fallbacks are exercised as well
    sample += [f.lower() for f in sample[: args.n // 4]] + [f + "ach" for f in sample[: args.n // 8]]
    from bench.simplemma_lemmas import SimplemmaSource, lemma_table_path

    backend = SimplemmaSource()._get()[0]
    ours = simplemma.Lemmatizer(cache_max_size=0,
                                lemmatization_strategy=backend._lemmatization_strategy)
    ref = simplemma.Lemmatizer(cache_max_size=0)
    ref.lemmatize("dom", "pl")
    t = time.perf_counter()
    a = [ours.lemmatize(f, "pl") for f in sample]
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    b = [ref.lemmatize(f, "pl") for f in sample]
    t_ref = time.perf_counter() - t
    same = sum(x == y for x, y in zip(a, b, strict=True))
    print(f"agreement on {len(sample)} forms: {same / len(sample):.6f}; uncached lookups: DAWG "
          f"{len(sample) / t_ours:,.0f}/s, simplemma dict {len(sample) / t_ref:,.0f}/s")
    print(f"table file {lemma_table_path()} {lemma_table_path().stat().st_size / 1e6:.1f} MB; "
          f"this process RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB (incl. simplemma dict)")


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("relevance")
    r.add_argument("--eval", default=str(SHARED / "eval" / "allegro-faq"))
    r.add_argument("--fold-queries", action="store_true", help="strip diacritics from queries")
    r.add_argument("--variants", default="")
    r.add_argument("--quick", action="store_true", help="default BM25 parameters only")
    t = sub.add_parser("throughput")
    t.add_argument("--csv", default=str(SHARED / "corpus" / "polsatnews.csv"))
    lm = sub.add_parser("lemmas")
    lm.add_argument("--n", type=int, default=200_000)
    args = p.parse_args()
    {"relevance": run_relevance, "throughput": run_throughput, "lemmas": run_lemmas}[args.cmd](args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
