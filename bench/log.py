"""The file log against SQLite doing the same work: `python -m bench.log [--events N] [--out DIR]`.

Measures batched append throughput (batches of 1000, one fsync each), single durable append latency, full
replay (decode every record) and cold open time, for FileLog and for stdlib sqlite3 (WAL, synchronous=FULL,
one events table, payloads encoded with the same msgspec encoder), and prints them with the targets.

Cold open is a fresh process opening the log read-only and asking its head (imports not counted): through the
segment summaries the writer left at close (the log's normal state), and again reading every frame
(`summaries=False`: a log that no writer has summarised, as every log was before summaries).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from store.events import AnyEvent, ArticleTagged
from store.log import AppendRequest, FileLog

BATCH = 1000
STREAMS = 10_000


def events(n: int) -> list[tuple[str, ArticleTagged]]:
    tags = [ArticleTagged(tag=f"t{i}") for i in range(100)]
    return [(f"art-{i % STREAMS}", tags[i % 100]) for i in range(n)]


# --- FileLog ------------------------------------------------------------------------------------------------

def log_batched(root: Path, evs: list) -> float:
    log = FileLog(root)
    start = time.perf_counter()
    for i in range(0, len(evs), BATCH):
        log.append_batch([AppendRequest(s, [e]) for s, e in evs[i:i + BATCH]])
    elapsed = time.perf_counter() - start
    log.close()
    return elapsed


def log_singles(root: Path, n: int) -> list[float]:
    log = FileLog(root)
    lat = []
    for i in range(n):
        ev = ArticleTagged(tag=f"single{i}")
        t = time.perf_counter()
        log.append(f"single-{i % 100}", [ev])
        lat.append(time.perf_counter() - t)
    log.close()
    return lat


def log_replay(root: Path) -> tuple[int, float]:
    log = FileLog(root, readonly=True)
    start = time.perf_counter()
    n = 0
    for _rec in log.read():
        n += 1
    elapsed = time.perf_counter() - start
    log.close()
    return n, elapsed


COLD_LOG = """
import sys, time
t = time.perf_counter()
from store.log import FileLog
t1 = time.perf_counter()
log = FileLog(sys.argv[1], readonly=True, summaries=sys.argv[2] == "1")
head = log.head()
print(time.perf_counter() - t1, head)
"""

COLD_SQL = """
import sys, time, sqlite3
t1 = time.perf_counter()
db = sqlite3.connect(sys.argv[1])
head = db.execute("SELECT max(position) FROM events").fetchone()[0]
print(time.perf_counter() - t1, head)
"""


def cold(script: str, target: Path, *extra: str) -> float:
    out = subprocess.run([sys.executable, "-c", script, str(target), *extra], check=True, capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[1]).stdout.split()
    return float(out[0])


# --- SQLite -------------------------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    payload BLOB NOT NULL,
    UNIQUE (stream, version)
)
"""


class SqlLog:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(SCHEMA)
        self.enc = msgspec.msgpack.Encoder()
        self.versions: dict[str, int] = {}

    def append(self, items: list[tuple[str, ArticleTagged]]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat()
        enc = self.enc.encode
        rows = []
        versions = dict(self.versions)
        for stream, ev in items:
            v = versions.get(stream, 0) + 1
            versions[stream] = v
            rows.append((stream, v, now, "system", enc(ev)))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT INTO events (stream, version, recorded_at, actor, payload) VALUES (?, ?, ?, ?, ?)", rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.versions = versions

    def close(self) -> None:
        self.db.close()


def sql_batched(path: Path, evs: list) -> float:
    db = SqlLog(path)
    start = time.perf_counter()
    for i in range(0, len(evs), BATCH):
        db.append(evs[i:i + BATCH])
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def sql_singles(path: Path, n: int) -> list[float]:
    db = SqlLog(path)
    lat = []
    for i in range(n):
        ev = ArticleTagged(tag=f"single{i}")
        t = time.perf_counter()
        db.append([(f"single-{i % 100}", ev)])
        lat.append(time.perf_counter() - t)
    db.close()
    return lat


def sql_replay(path: Path) -> tuple[int, float]:
    db = sqlite3.connect(path)
    dec = msgspec.msgpack.Decoder(AnyEvent)
    start = time.perf_counter()
    n = 0
    for _pos, _stream, _version, _at, _actor, payload in db.execute(
            "SELECT position, stream, version, recorded_at, actor, payload FROM events ORDER BY position"):
        dec.decode(payload)
        n += 1
    elapsed = time.perf_counter() - start
    db.close()
    return n, elapsed


# --- report ---------------------------------------------------------------------------------------------------

def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.log", description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--singles", type=int, default=2000, help="single durable appends for the latency figures")
    ap.add_argument("--out", type=Path, default=None, help="work directory (default: a temp dir under /tmp)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-log-", dir=args.out))
    try:
        evs = events(args.events)
        print(f"{args.events:,} events on {STREAMS:,} streams, batches of {BATCH}; "
              f"{args.singles:,} single appends; in {work}", flush=True)
        t_log = log_batched(work / "log", evs)
        t_sql = sql_batched(work / "events.sqlite", evs)
        n_log, r_log = log_replay(work / "log")
        n_sql, r_sql = sql_replay(work / "events.sqlite")
        assert n_log == n_sql == args.events, (n_log, n_sql)
        c_log = min(cold(COLD_LOG, work / "log", "1") for _ in range(3))
        c_scan = min(cold(COLD_LOG, work / "log", "0") for _ in range(3))
        c_sql = min(cold(COLD_SQL, work / "events.sqlite") for _ in range(3))
        s_log = log_singles(work / "single-log", args.singles)
        s_sql = sql_singles(work / "single.sqlite", args.singles)

        rows = []
        n = args.events
        ba_log, ba_sql = n / t_log, n / t_sql
        rows.append(("batched append (events/s)", f"{ba_log:,.0f}", f"{ba_sql:,.0f}", ba_log / ba_sql,
                     "≥ 2× SQLite", ba_log >= 2 * ba_sql))
        rp_log, rp_sql = n_log / r_log, n_sql / r_sql
        rows.append(("replay (events/s)", f"{rp_log:,.0f}", f"{rp_sql:,.0f}", rp_log / rp_sql,
                     "≥ 300k/s and ≥ 2× SQLite", rp_log >= 300_000 and rp_log >= 2 * rp_sql))
        p50_log, p50_sql = statistics.median(s_log) * 1e3, statistics.median(s_sql) * 1e3
        rows.append(("single durable append p50 (ms)", f"{p50_log:.3f}", f"{p50_sql:.3f}", p50_log / p50_sql,
                     "≤ 1.5× SQLite", p50_log <= 1.5 * p50_sql))
        p99_log, p99_sql = pct(s_log, 0.99) * 1e3, pct(s_sql, 0.99) * 1e3
        rows.append(("single durable append p99 (ms)", f"{p99_log:.3f}", f"{p99_sql:.3f}", p99_log / p99_sql,
                     "", None))
        rows.append((f"cold open, {n:,} events (ms)", f"{c_log * 1e3:.1f}", f"{c_sql * 1e3:.1f}", c_log / c_sql,
                     "", None))
        rows.append(("  ... reading every frame (ms)", f"{c_scan * 1e3:.1f}", f"{c_sql * 1e3:.1f}", c_scan / c_sql,
                     "", None))
        size_log = sum(p.stat().st_size for p in (work / "log").glob("*.seg"))
        size_sql = sum(p.stat().st_size for p in work.glob("events.sqlite*"))
        rows.append(("size on disk (MB)", f"{size_log / 1e6:.1f}", f"{size_sql / 1e6:.1f}", size_log / size_sql,
                     "", None))

        head = ("measure", "FileLog", "SQLite", "ratio", "target", "")
        widths = [max(len(str(r[i])) if i != 3 else 6 for r in [*rows, head]) for i in range(6)]
        print()
        print(" | ".join(str(h).ljust(w) for h, w in zip(head, widths, strict=False)))
        print("-+-".join("-" * w for w in widths))
        for name, a, b, ratio, target, ok in rows:
            mark = "" if ok is None else ("✓" if ok else "✗")
            print(" | ".join([name.ljust(widths[0]), a.rjust(widths[1]), b.rjust(widths[2]),
                              f"{ratio:.2f}×".rjust(widths[3]), target.ljust(widths[4]), mark]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
