"""The file log against SQLite and PostgreSQL doing the same work: `python -m bench.log [--events N] [--out DIR]`.

Measures batched append throughput (batches of 1000, one fsync each), single durable append latency, full
replay (decode every record) and cold open time, for FileLog and for stdlib sqlite3 (WAL, synchronous=FULL,
one events table, payloads encoded with the same msgspec encoder), and prints them with the targets.

Team mode (`PgLog`) is measured in the same run on a throwaway local server (`bench.pgserver`: the system's
binaries, fsync on, 127.0.0.1): batched append, single durable append, replay; then two "machines" (two
processes, two archive folders on one database) ingesting files at once, against one alone. `--no-pg` skips it.

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
from typing import Any

import msgspec

from store.events import AnyEvent, ArticleTagged
from store.log import AppendRequest, FileLog, Log

BATCH = 1000
STREAMS = 10_000


def events(n: int) -> list[tuple[str, ArticleTagged]]:
    tags = [ArticleTagged(tag=f"t{i}") for i in range(100)]
    return [(f"art-{i % STREAMS}", tags[i % 100]) for i in range(n)]


# --- FileLog ------------------------------------------------------------------------------------------------

def batched(log: Log, evs: list) -> float:
    start = time.perf_counter()
    for i in range(0, len(evs), BATCH):
        log.append_batch([AppendRequest(s, [e]) for s, e in evs[i:i + BATCH]])
    elapsed = time.perf_counter() - start
    log.close()
    return elapsed


def singles(log: Log, n: int) -> list[float]:
    lat = []
    for i in range(n):
        ev = ArticleTagged(tag=f"single{i}")
        t = time.perf_counter()
        log.append(f"single-{i % 100}", [ev])
        lat.append(time.perf_counter() - t)
    log.close()
    return lat


def replay(log: Log) -> tuple[int, float]:
    start = time.perf_counter()
    n = 0
    for _rec in log.read():
        n += 1
    elapsed = time.perf_counter() - start
    log.close()
    return n, elapsed


def log_batched(root: Path, evs: list) -> float:
    return batched(FileLog(root), evs)


def log_singles(root: Path, n: int) -> list[float]:
    return singles(FileLog(root), n)


def log_replay(root: Path) -> tuple[int, float]:
    return replay(FileLog(root, readonly=True))


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


# --- PostgreSQL (team mode) ------------------------------------------------------------------------------------

MACHINE = """
import sys, time
from pathlib import Path
from archivist.archive import Archive
from archivist.ingest.paths import walk
with Archive.open(sys.argv[1], store=sys.argv[2]) as a:
    s = a.ingest_files(walk([Path(sys.argv[3])]))
assert s.ingested == int(sys.argv[4]), s
"""
PAGE = Path(__file__).resolve().parents[1] / "archivist" / "samples" / "mswia" / "2023-04-12-przygotuj-sie-na-powodz.txt"
TITLE = "Przygotuj się na powódź. Poradnik dla mieszkańców terenów zalewowych"


def machines(cluster: Any, work: Path, files: int) -> tuple[float, float]:
    """Seconds for one machine to ingest `files` new files, and for two machines (folders, processes) on one
    database to ingest `files` each at the same time."""
    from store.pglog import create_schema

    page = PAGE.read_text(encoding="utf-8")

    def run(db: str, who: list[str]) -> float:
        cluster.sql(f"CREATE DATABASE {db}")
        url = cluster.url(db=db)
        create_schema(url)
        for w in who:
            drop = work / f"drop-{db}-{w}"
            drop.mkdir(parents=True)
            for i in range(files):
                (drop / f"{w}{i:06d}.txt").write_text(page.replace(TITLE, f"{TITLE}: maszyna {w}, strona {i}"),
                                                      encoding="utf-8")
        start = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", MACHINE, str(work / f"m-{db}-{w}"), url,
                                   str(work / f"drop-{db}-{w}"), str(files)], cwd=PAGE.parents[3])
                 for w in who]
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"a machine failed ({p.returncode})")
        return time.perf_counter() - start

    return run("machines_one", ["a"]), run("machines_two", ["a", "b"])


Row = tuple[str, str, str, float, str, bool | None]


def table(head: tuple[str, ...], rows: list[Row]) -> None:
    widths = [max(len(str(r[i])) if i != 3 else 6 for r in [*rows, head]) for i in range(6)]
    print(" | ".join(str(h).ljust(w) for h, w in zip(head, widths, strict=False)))
    print("-+-".join("-" * w for w in widths))
    for name, a, b, ratio, target, ok in rows:
        mark = "" if ok is None else ("✓" if ok else "✗")
        print(" | ".join([name.ljust(widths[0]), a.rjust(widths[1]), b.rjust(widths[2]),
                          f"{ratio:.2f}×".rjust(widths[3]), target.ljust(widths[4]), mark]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.log", description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--singles", type=int, default=2000, help="single durable appends for the latency figures")
    ap.add_argument("--out", type=Path, default=None, help="work directory (default: a temp dir under /tmp)")
    ap.add_argument("--no-pg", action="store_true", help="skip team mode (the PostgreSQL log)")
    ap.add_argument("--machine-files", type=int, default=1000,
                    help="files each of the two machines ingests at once (team mode)")
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

        rows: list[Row] = []
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

        print()
        table(("measure", "FileLog", "SQLite", "ratio", "target", ""), rows)
        if not args.no_pg:
            team(args, work, evs, (ba_log, rp_log, p50_log, p99_log))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def team(args: argparse.Namespace, work: Path, evs: list, file_log: tuple[float, float, float, float]) -> None:
    """The same measures on PgLog (a local server, fsync on), beside FileLog's from this run."""
    from bench.pgserver import Cluster, unavailable

    why = unavailable()
    if why is not None:
        print(f"\nteam mode not measured: {why}")
        return
    from store.pglog import PgLog, create_schema

    cluster = Cluster(fsync=True)
    try:
        cluster.sql("CREATE DATABASE bench")
        url = cluster.url(db="bench")
        create_schema(url)
        n = len(evs)
        t = batched(PgLog(url), evs)
        n_pg, r_pg = replay(PgLog(url, readonly=True))
        assert n_pg == n, (n_pg, n)
        lat = singles(PgLog(url), args.singles)
        ba, rp = n / t, n_pg / r_pg
        p50, p99 = statistics.median(lat) * 1e3, pct(lat, 0.99) * 1e3
        ba_log, rp_log, p50_log, p99_log = file_log
        print("\nteam mode: PgLog on PostgreSQL at 127.0.0.1 (fsync on, synchronous_commit on), same events")
        rows: list[Row] = [
            ("batched append (events/s)", f"{ba:,.0f}", f"{ba_log:,.0f}", ba / ba_log, "≥ 50k/s", ba >= 50_000),
            ("replay (events/s)", f"{rp:,.0f}", f"{rp_log:,.0f}", rp / rp_log, "≥ 500k/s", rp >= 500_000),
            ("single durable append p50 (ms)", f"{p50:.3f}", f"{p50_log:.3f}", p50 / p50_log, "≤ 2 ms", p50 <= 2),
            ("single durable append p99 (ms)", f"{p99:.3f}", f"{p99_log:.3f}", p99 / p99_log, "", None),
        ]
        table(("measure", "PgLog", "FileLog", "ratio", "target", ""), rows)
        if args.machine_files:
            k = args.machine_files
            solo, both = machines(cluster, work, k)
            print(f"\ntwo machines ingesting at once (two folders, two processes, one database), {k:,} new files "
                  f"each: {2 * k / both:,.0f} files/s together ({both:.1f} s) against {k / solo:,.0f} files/s for "
                  f"one machine alone ({solo:.1f} s): {(2 * k / both) / (k / solo):.2f}×")
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
