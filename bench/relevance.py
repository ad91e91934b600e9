"""Relevance of the product's default search on a BEIR set, with SQLite FTS5 as the peer.

    .venv/bin/python -m bench.relevance [--corpus C] [--queries Q] [--qrels R] [--limit N]
                                         [--lemmas morfeusz|morfeusz-one|simplemma] [--stem unknown|all|none]
                                         [--query-lemmas all|one] [--near SLOP,BOOST[,WORDS]] [--fold-queries]
                                         [--empty-title lead|blank|both] [--archive DIR] [--no-fts5]
                                         [--feedback K,M,ALPHA[,rm3|bo1][,idf][,df2][,q3] ...]

Every corpus document goes in through the product's own path: the corpus is written as `.jsonl` article
records ({url, title, body}) and ingested with `archivist.ingest.service.Ingestor` into a temp archive
(`--archive DIR` keeps/reuses one). Each query runs through `Archive.search(text, limit=10, facets=False,
snippets=False)` -- the parser, default group and scoring a user gets. Documents are mapped back to BEIR ids
by a synthetic URL (`https://beir.invalid/d/<_id>`; the url field is not searched by plain words).

Titles: the archive requires one. A document with an empty title gets the first words of its body
(`lead`) or a blank placeholder "·" that indexes no words (`blank`); by default (`both`) a set lacking titles
is run both ways, one row each, and the header says how many documents had a real title. A lead title
repeats the body's first words in a field boosted x TITLE_BOOST, so on a title-less set it measures that
artefact, not the product: `blank` is the honest figure there.

Peer: SQLite FTS5 (`unicode61 remove_diacritics 2`), columns title and body, bm25(), the OR of the query's
words (each quoted), same queries, same process. Prints nDCG@10, recall@10, MRR@10 and p50/p95 query time.
A query must never crash the bench: QueryErrors and other exceptions are counted (and scored as empty).

Feedback (`--feedback`, repeatable, one row each): pseudo-relevance feedback (`index.feedback.expand`) applied
in the bench around the product's query: the default query (`index.query.parse_query`) runs on
`archive.index.searcher()` with the product's view (current versions, withdrawn masked), its top K hits'
bodies (from the log) give M expansion terms, and the expanded query runs again the same way. Extra flags:
`bo1` (Bo1 term model; default rm3), `idf` (weight terms by idf), `df2` (terms in >= 2 feedback docs only),
`q3` (expand only queries of >= 3 content words), `keepq` (original query terms may be re-weighted),
`maxdf=F` (skip terms in more than F of the collection; default 0.1). The timing is the whole two-pass query.
A row `whoosh path (no feedback)` checks that the bench's own first pass ranks as `archive.search` does.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, unquote

EVAL = Path("/work/shared/eval/allegro-faq")
URL_BASE = "https://beir.invalid/d/"
LEAD_WORDS = 8
K = 10


# --- data -----------------------------------------------------------------------------------------------------

def load_beir(corpus: Path, queries: Path, qrels: Path):
    docs = [json.loads(line) for line in corpus.read_text("utf-8").splitlines() if line.strip()]
    qtext = {}
    for line in queries.read_text("utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            qtext[str(q["_id"])] = q["text"]
    rels: dict[str, dict[str, int]] = {}
    with open(qrels, encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or (n == 0 and not parts[2].strip().lstrip("-").isdigit()):
                continue  # header
            qid, did, score = parts[0], parts[1], int(parts[2])
            if score > 0:
                rels.setdefault(qid, {})[did] = score
    qs = [(qid, qtext[qid]) for qid in qtext if qid in rels]
    return docs, qs, rels


def lead_title(body: str, n: int = LEAD_WORDS) -> str:
    words = body.split()
    return " ".join(words[:n]) if words else "·"


# --- metrics --------------------------------------------------------------------------------------------------

def ndcg(ranked: list[str], rel: dict[str, int], k: int = K) -> float:
    dcg = sum((2 ** rel.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sum((2 ** r - 1) / math.log2(i + 2) for i, r in enumerate(sorted(rel.values(), reverse=True)[:k]))
    return dcg / ideal if ideal else 0.0


def recall(ranked: list[str], rel: dict[str, int], k: int = K) -> float:
    return len(set(ranked[:k]) & set(rel)) / len(rel) if rel else 0.0


def mrr(ranked: list[str], rel: dict[str, int], k: int = K) -> float:
    for i, d in enumerate(ranked[:k]):
        if rel.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def configure_analysis(lemmas: str, stem: bool | str = "unknown", query: str = "all") -> None:
    """Switch the analyzer to a bench variant before anything is indexed (the archive is built fresh)."""
    from index import analysis

    if lemmas == "simplemma":
        from bench.simplemma_lemmas import SimplemmaSource

        source: analysis.LemmaSource = SimplemmaSource()
    else:
        source = analysis.MorfeuszSource("one" if lemmas == "morfeusz-one" else "all",
                                         "every" if lemmas == "morfeusz-every" else "common")
    analysis.configure(source, stem=stem, query=query)


def configure_near(slop: float, boost: float, words: float | None = None) -> None:
    from index import query

    query.NEAR_SLOP, query.NEAR_BOOST = int(slop), boost
    if words is not None:
        query.NEAR_WORDS = int(words)
    if boost <= 0:
        query.NEAR_WORDS = 0


# --- ours -----------------------------------------------------------------------------------------------------

def build_archive(root: Path, docs: list[dict], empty_title: str):
    """Ingest the corpus through the product path; returns (archive, {article id: BEIR id}, titled count)."""
    from archivist.archive import Archive
    from archivist.ingest.service import Ingestor, walk

    archive = Archive.open(root)
    if not archive.refresh().articles:
        inbox = root / "bench-corpus"
        inbox.mkdir(exist_ok=True)
        chunk = 5000  # keep each file well under the ingest size limit
        for start in range(0, len(docs), chunk):
            with open(inbox / f"corpus-{start // chunk:05d}.jsonl", "w", encoding="utf-8") as out:
                for d in docs[start:start + chunk]:
                    body = (d.get("text") or "").strip() or "·"
                    title = (d.get("title") or "").strip()
                    if not title:
                        title = lead_title(body) if empty_title == "lead" else "·"
                    out.write(json.dumps({"url": URL_BASE + quote(str(d["_id"]), safe=""), "title": title,
                                          "body": body}, ensure_ascii=False) + "\n")
        summary = Ingestor(archive).run(walk([inbox]))
        if summary.rejected:
            for o in summary.outcomes:
                if o.result == "rejected":
                    print(f"rejected {o.file}: {o.reason}", file=sys.stderr)
    titled = sum(1 for d in docs if (d.get("title") or "").strip())
    id_map = {}
    for a in archive.articles():
        for u in [a.url, *a.urls]:
            if u and u.startswith(URL_BASE):
                id_map[a.id] = unquote(u[len(URL_BASE):])
                break
    return archive, id_map, titled


def run_ours(archive, id_map, queries):
    from archivist import errors

    ranked: dict[str, list[str]] = {}
    times: list[float] = []
    errs: dict[str, int] = {"QueryError": 0, "other": 0}
    examples: list[str] = []
    archive.search("rozgrzewka", limit=10, facets=False, snippets=False)  # open searcher, warm caches
    for qid, text in queries:
        t0 = time.perf_counter()
        try:
            res = archive.search(text, limit=K, facets=False, snippets=False)
            ranked[qid] = [id_map.get(h.id, "?") for h in res.hits]
        except errors.QueryError as exc:
            errs["QueryError"] += 1
            ranked[qid] = []
            if len(examples) < 5:
                examples.append(f"QueryError {text!r}: {exc}")
        except Exception as exc:  # noqa: BLE001 - the bench must survive any query
            errs["other"] += 1
            ranked[qid] = []
            if len(examples) < 5:
                examples.append(f"{type(exc).__name__} {text!r}: {exc}")
        times.append((time.perf_counter() - t0) * 1000)
    return ranked, times, errs, examples


# --- pseudo-relevance feedback (index.feedback) around the product's default query ---------------------------

def parse_feedback(spec: str) -> dict:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if len(parts) < 3:
        raise SystemExit(f"--feedback K,M,ALPHA[,flags]: {spec!r}")
    opts: dict = {"k": int(parts[0]), "m": int(parts[1]), "alpha": float(parts[2]), "method": "rm3",
                  "idf": False, "min_fb_df": 1, "min_words": 0, "max_df_ratio": 0.1}
    for p in parts[3:]:
        if p in ("rm3", "bo1"):
            opts["method"] = p
        elif p == "keepq":
            opts["keep_query_terms"] = True
        elif p == "idf":
            opts["idf"] = True
        elif p.startswith("df"):
            opts["min_fb_df"] = int(p[2:])
        elif p.startswith("q"):
            opts["min_words"] = int(p[1:])
        elif p.startswith("maxdf="):
            opts["max_df_ratio"] = float(p[6:])
        else:
            raise SystemExit(f"--feedback: unknown flag {p!r}")
    return opts


def run_feedback(archive, id_map, queries, opts: dict | None):
    """Like run_ours, but through whoosh directly: parse, first pass, (expand, second pass). opts None: one pass."""
    from whoosh import query as Q

    from index.feedback import content_word_count, expand
    from index.query import parse_query

    ranked: dict[str, list[str]] = {}
    times: list[float] = []
    errs: dict[str, int] = {"QueryError": 0, "other": 0}
    examples: list[str] = []
    ix = archive.index
    ix.catch_up()
    body_of = archive._body_of
    current, withdrawn = Q.Term("current", "1"), Q.Term("status", "withdrawn")
    opts = dict(opts or {})
    min_words = opts.pop("min_words", 0)
    k = opts.get("k", 0)
    for qid, text in queries:
        t0 = time.perf_counter()
        try:
            q, wants_withdrawn = parse_query(text)
            s = ix.searcher()
            mask = None if wants_withdrawn else withdrawn
            res = s.search(q, limit=max(K, k), filter=current, mask=mask, optimize=False)
            fields = [h.fields() for h in res]
            if opts and content_word_count(text) >= min_words:
                scores = [h.score for h in res]
                q2 = expand(s, q, fields, body_of, scores=scores, **opts)
                if q2 is not q:
                    res = s.search(q2, limit=K, filter=current, mask=mask, optimize=False)
                    fields = [h.fields() for h in res]
            ranked[qid] = [id_map.get(f["id"], "?") for f in fields[:K]]
        except Exception as exc:  # noqa: BLE001 - the bench must survive any query
            name = "QueryError" if type(exc).__name__ == "QueryError" else "other"
            errs[name] += 1
            ranked[qid] = []
            if len(examples) < 5:
                examples.append(f"{type(exc).__name__} {text!r}: {exc}")
        times.append((time.perf_counter() - t0) * 1000)
    return ranked, times, errs, examples


# --- FTS5 peer ------------------------------------------------------------------------------------------------

_FTS_WORD = re.compile(r"\w+")


def run_fts5(docs, queries):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE d USING fts5(bid UNINDEXED, title, body, "
               "tokenize='unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO d(bid, title, body) VALUES (?, ?, ?)",
                   [(str(d["_id"]), d.get("title") or "", d.get("text") or "") for d in docs])
    db.commit()
    ranked: dict[str, list[str]] = {}
    times: list[float] = []
    errs = {"QueryError": 0, "other": 0}
    for qid, text in queries:
        words = list(dict.fromkeys(w.lower() for w in _FTS_WORD.findall(text)))
        t0 = time.perf_counter()
        if not words:
            ranked[qid] = []
        else:
            match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
            try:
                rows = db.execute("SELECT bid FROM d WHERE d MATCH ? ORDER BY bm25(d) LIMIT ?", (match, K))
                ranked[qid] = [r[0] for r in rows]
            except sqlite3.Error:
                errs["other"] += 1
                ranked[qid] = []
        times.append((time.perf_counter() - t0) * 1000)
    db.close()
    return ranked, times, errs


# --- report ---------------------------------------------------------------------------------------------------

def score(ranked, qrels, queries):
    n = len(queries)
    return (sum(ndcg(ranked.get(q, []), qrels[q]) for q, _ in queries) / n,
            sum(recall(ranked.get(q, []), qrels[q]) for q, _ in queries) / n,
            sum(mrr(ranked.get(q, []), qrels[q]) for q, _ in queries) / n)


def row(name, ranked, times, errs, qrels, queries) -> str:
    n, r, m = score(ranked, qrels, queries)
    return (f"{name:<26} {n:>8.4f} {r:>10.4f} {m:>8.4f} {statistics.median(times):>9.2f} "
            f"{pct(times, 95):>9.2f} {errs['QueryError']:>7} {errs['other']:>6}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.relevance", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=EVAL / "corpus.jsonl")
    ap.add_argument("--queries", type=Path, default=EVAL / "queries.jsonl")
    ap.add_argument("--qrels", type=Path, default=EVAL / "qrels" / "test-A.tsv")
    ap.add_argument("--limit", type=int, default=0, help="run only the first N judged queries")
    ap.add_argument("--empty-title", choices=("lead", "blank", "both"), default="both",
                    help="title for documents without one: the body's first words, a blank placeholder that "
                         "indexes no words, or both (two rows; default)")
    ap.add_argument("--archive", type=Path, default=None, help="build into / reuse this archive folder")
    ap.add_argument("--no-fts5", action="store_true")
    ap.add_argument("--lemmas", choices=("morfeusz", "morfeusz-one", "morfeusz-every", "simplemma"), default="morfeusz",
                    help="lemma source (bench variants; the product uses morfeusz): every lemma of every "
                         "Morfeusz reading, the one sharing the longest prefix, or simplemma's one lemma")
    ap.add_argument("--near", default="", metavar="SLOP,BOOST[,WORDS]",
                    help="proximity settings (index.query NEAR_SLOP, NEAR_BOOST, NEAR_WORDS); BOOST 0 turns it off")
    ap.add_argument("--fold-queries", action="store_true",
                    help="strip Polish letters from the queries (ą -> a, ł -> l): the diacritic-free path")
    ap.add_argument("--stem", choices=("unknown", "all", "none"), default="unknown",
                    help="Snowball stems: of the words the dictionary lacks only (the product), of every lemma "
                         "and unknown word, or none")
    ap.add_argument("--query-lemmas", choices=("all", "one"), default="all",
                    help="a query word asks for all its lemmas' terms (default) or the first only")
    ap.add_argument("--feedback", action="append", default=[], metavar="K,M,ALPHA[,flags]",
                    help="add a row with pseudo-relevance feedback (index.feedback); repeatable; flags: rm3|bo1, "
                         "idf, df2, q3, keepq, maxdf=F")
    args = ap.parse_args(argv)

    stem = {"all": True, "none": False, "unknown": "unknown"}[args.stem]
    configure_analysis(args.lemmas, stem, args.query_lemmas)
    if args.near:
        configure_near(*[float(x) for x in args.near.split(",")])
    docs, queries, qrels = load_beir(args.corpus, args.queries, args.qrels)
    if args.limit:
        queries = queries[: args.limit]
    if args.fold_queries:
        from index.analysis import fold

        queries = [(qid, fold(text)) for qid, text in queries]
    titled = sum(1 for d in docs if (d.get("title") or "").strip())
    modes = ["lead", "blank"] if args.empty_title == "both" else [args.empty_title]
    if titled == len(docs):
        modes = modes[:1]  # every document has its own title: the choice does not arise
    tmp = tempfile.TemporaryDirectory(prefix="archivist-relevance-")
    rows: list[str] = []
    examples: list[str] = []
    builds: list[str] = []
    for mode in modes:
        root = args.archive / mode if args.archive else Path(tmp.name) / mode
        t0 = time.perf_counter()
        archive, id_map, _ = build_archive(root, docs, mode)
        builds.append(f"{mode}: {len(id_map)} articles, ingest+index {time.perf_counter() - t0:.1f} s")
        label = "archivist" if titled == len(docs) else f"archivist title={mode}"
        try:
            ranked, times, errs, ex = run_ours(archive, id_map, queries)
            rows.append(row(label, ranked, times, errs, qrels, queries))
            examples += [e for e in ex if e not in examples]
            if args.feedback:
                ranked, times, errs, ex = run_feedback(archive, id_map, queries, None)
                rows.append(row("whoosh path (no feedback)", ranked, times, errs, qrels, queries))
            for spec in args.feedback:
                ranked, times, errs, ex = run_feedback(archive, id_map, queries, parse_feedback(spec))
                rows.append(row(f"+prf {spec}", ranked, times, errs, qrels, queries))
                examples += [e for e in ex if e not in examples]
        finally:
            archive.close()
    notitle = "" if titled else " -- the set has NO titles: rows show synthesized titles (lead = first " \
        f"{LEAD_WORDS} words of the body, blank = a placeholder that indexes nothing)"
    print(f"corpus {args.corpus} : {len(docs)} docs ({titled} with a title{notitle})")
    print("build " + "; ".join(builds))
    print(f"queries {len(queries)} judged ({args.qrels.name}); top {K}; "
          "archive.search(text, limit=10, facets=False, snippets=False)")
    print(f"{'system':<26} {'nDCG@10':>8} {'recall@10':>10} {'MRR@10':>8} {'p50 ms':>9} {'p95 ms':>9} "
          f"{'QErrors':>7} {'crash':>6}")
    for r in rows:
        print(r)
    if not args.no_fts5:
        fts = run_fts5(docs, queries)
        print(row("sqlite fts5 (OR)", fts[0], fts[1], fts[2], qrels, queries))
    for e in examples:
        print("  " + e)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
