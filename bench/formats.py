"""Every match of a search, as `archivist search --format` reads it: `python -m bench.formats --archive DIR`.

For a few queries with thousands of matches, prints the time to run the query and order every match (the
numpy engine and, as its peer in the same run, Whoosh's own collector), the time to build the hits from
the stored fields (what `ids` and `csv` print), the hits a second, and `count`. DIR is an existing archive
(e.g. the one `bench.search --articles 20000` builds; opened read-only, nothing is written). Figures only,
no asserts (bench/ never fails on timing).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

QUERIES = ["", "rok", "policja", "handel ludźmi", "published:2015..2020"]


def run(root: Path, rounds: int) -> None:
    from archivist.archive import Archive

    with Archive.open(root, readonly=True) as a:
        a.search("rozgrzewka")  # the index open, the postings mapped
        print(f"{'query':24} {'engine':7} {'matches':>8} {'order ms':>9} {'hits ms':>8} {'hits/s':>8} {'count ms':>9}")
        for q in QUERIES:
            for engine in ("numpy", "whoosh"):
                best = None
                for _ in range(rounds):
                    a.index.clear_cache()
                    t0 = time.perf_counter()
                    n, hits = a.search_all(q, engine=engine)
                    t1 = time.perf_counter()
                    got = sum(1 for _ in hits)
                    t2 = time.perf_counter()
                    a.index.clear_cache()
                    t3 = time.perf_counter()
                    a.count(q, engine=engine)
                    t4 = time.perf_counter()
                    figures = ((t1 - t0) * 1000, (t2 - t1) * 1000, (t4 - t3) * 1000)
                    best = figures if best is None or sum(figures) < sum(best) else best
                assert best is not None and got == n
                order, build, count = best
                print(f"{q!r:24} {engine:7} {n:8} {order:9.0f} {build:8.0f} {n / max(build / 1000, 1e-9):8.0f} "
                      f"{count:9.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archive", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=3, help="runs of each query; the best is printed")
    args = ap.parse_args(argv)
    run(args.archive, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
