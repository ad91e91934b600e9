"""Ingest throughput, end to end and log only: `python -m bench.ingest [--generated N] [--settle S]`.

Three loads from `shared/corpus/polsatnews.csv`:

* the CSV itself: 726 articles in one file (one atomic append);
* the same 726 articles as 726 dropped files, one per article (`.txt` page dumps and `.json` records, alternating);
* N generated files (default 10,000): sentences of the CSV recombined, deterministically, into new articles
  with unique titles and dates.

Each load is measured three or four ways, each on a fresh archive:

* `archivist ingest PATH` — one process, files committed in batches (group commit), the index brought up to
  date at the end; timed from process start to exit (end to end);
* the watcher — a running `archivist watch --json` whose inbox receives all files at once (renamed in from a
  staging folder on the same file system); timed from the first rename until the watcher has reported every
  file (each is in `.done/` by then); it updates the index after every batch it commits;
* log only — `Ingestor.run` in this process with the index projection switched off: parse, blob, append;
* index catch-up — then the index alone, brought up to date with the events of the log-only run.

Figures are noisy (±30 %); they are printed, never asserted. Temp dirs go under /tmp and are removed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "polsatnews.csv"
TARGET = 600  # articles/s end to end
SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[A-ZĄĆĘŁŃÓŚŹŻ0-9„\"-])")


@dataclass
class Row:
    load: str
    way: str
    files: int
    articles: int
    seconds: float
    note: str = ""

    def cells(self) -> list[str]:
        fps = self.files / self.seconds if self.seconds else 0
        aps = self.articles / self.seconds if self.seconds else 0
        return [self.load, self.way, f"{self.files:,}", f"{self.articles:,}", f"{self.seconds:.1f}",
                f"{fps:,.0f}", f"{aps:,.0f}", self.note]


# --- loads ----------------------------------------------------------------------------------------------------

def read_corpus() -> list[dict[str, str]]:
    with open(CORPUS, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _date(text: str) -> dt.date:
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError):
        return dt.date(2025, 12, 1)


def page_dump(title: str, published: dt.date, body: str, url: str | None = None) -> bytes:
    """What the police and ministry sites' dumps look like (see archivist/samples/README.md)."""
    lines = ["Aktualności", "", title, "", f"Data publikacji {published:%d.%m.%Y}", "", body.strip(), ""]
    if url:
        lines += [f"Adres strony: {url}", ""]
    return "\n".join(lines).encode("utf-8")


def record(title: str, published: dt.date, body: str, url: str | None, tags: list[str]) -> bytes:
    return json.dumps({"url": url, "title": title, "body": body, "published": published.isoformat(),
                       "publisher": "Polsat News", "tags": tags}, ensure_ascii=False).encode("utf-8")


def corpus_files(rows: list[dict[str, str]], out: Path) -> int:
    """One file per article of the CSV: even ones as page dumps, odd ones as JSON records."""
    for i, r in enumerate(rows):
        title, body, url, day = r["title"].strip(), r["text"].strip(), r["url"].strip(), _date(r["published"])
        if i % 2 == 0:
            (out / f"{i:04d}.txt").write_bytes(page_dump(title, day, body, url))
        else:
            (out / f"{i:04d}.json").write_bytes(record(title, day, body, url, [r["category"].strip().lower()]))
    return len(rows)


def generated_files(rows: list[dict[str, str]], out: Path, n: int, seed: int = 726) -> int:
    """`n` new articles recombined from the CSV's sentences; same arguments, same bytes."""
    sentences = [s.strip() for r in rows for s in SENTENCE.split(r["text"]) if len(s.strip()) > 30]
    titles = [r["title"].strip() for r in rows]
    rng = random.Random(seed)
    start = dt.date(2012, 1, 1)
    for i in range(n):
        words = rng.choice(titles).split()
        title = " ".join(words[: rng.randint(min(4, len(words)), min(10, len(words)))])
        title = f"{title} – komunikat {i + 1}"
        body = "\n\n".join(" ".join(rng.sample(sentences, rng.randint(2, 4))) for _ in range(rng.randint(2, 5)))
        day = start + dt.timedelta(days=(i * 7919) % 5000)
        sub = out / f"paczka-{i // 1000:02d}"
        sub.mkdir(exist_ok=True)
        if i % 2 == 0:
            (sub / f"g{i:05d}.txt").write_bytes(page_dump(title, day, body))
        else:
            (sub / f"g{i:05d}.json").write_bytes(record(title, day, body, None, ["wygenerowane"]))
    return n


# --- ways -----------------------------------------------------------------------------------------------------

def count_articles(archive: Path) -> int:
    from archivist.archive import Archive

    with Archive.open(archive, create=False) as a:
        return len(a.state.articles)


def run_cli_ingest(path: Path, archive: Path) -> tuple[float, int, float]:
    """(seconds, articles, peak RSS in MB of the process or of its largest index writer process)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "archivist.cli", "--archive", str(archive), "ingest",
                                 str(path), "--json"], stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        if code not in (0, 3):
            err.seek(0)
            raise SystemExit(f"ingest failed ({code}): {err.read().decode()[-2000:]}")
    return seconds, count_articles(archive), usage.ru_maxrss / 1024


def run_log_only(path: Path, archive: Path) -> tuple[float, float, int]:
    """(log-only seconds, index catch-up seconds, articles)."""
    from archivist.archive import Archive
    from archivist.ingest.service import Ingestor, walk

    with Archive.open(archive, actor="bench") as a:
        has_index = hasattr(a, "catch_up_index")
        if has_index:
            a.defer_index = True
            a.catch_up_index = lambda: 0  # type: ignore[method-assign]  # the Ingestor's end-of-run catch-up
        files = list(walk([path]))
        t0 = time.perf_counter()
        Ingestor(a, via="cli").run(files)
        log_seconds = time.perf_counter() - t0
        articles = len(a.state.articles)
        index_seconds = float("nan")
        if has_index:
            del a.catch_up_index  # type: ignore[misc]
            t0 = time.perf_counter()
            a.catch_up_index()
            index_seconds = time.perf_counter() - t0
    return log_seconds, index_seconds, articles


def run_watcher(source: Path, archive: Path, settle: float, timeout: float = 1800) -> tuple[float, int, int]:
    """(seconds, files reported, articles): files renamed into the inbox of a running watcher."""
    inbox = archive / "inbox"
    staging = archive / "staging"
    subprocess.run([sys.executable, "-m", "archivist.cli", "--archive", str(archive), "init"], check=True,
                   capture_output=True, cwd=ROOT)
    shutil.copytree(source, staging)
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    proc = subprocess.Popen([sys.executable, "-m", "archivist.cli", "--archive", str(archive), "watch",
                             "--settle", str(settle), "--rescan", "60", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    started = threading.Event()
    reported = 0
    all_done = threading.Event()
    errors: list[str] = []

    def read_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            text = line.decode("utf-8", "replace")
            if '"event":"start"' in text:
                started.set()
            elif '"level":"error"' in text or "Traceback" in text:
                errors.append(text.strip())

    def read_out() -> None:
        nonlocal reported
        assert proc.stdout is not None
        for _ in proc.stdout:
            reported += 1
            if reported >= len(files):
                all_done.set()

    threads = [threading.Thread(target=read_err, daemon=True), threading.Thread(target=read_out, daemon=True)]
    for t in threads:
        t.start()
    try:
        if not started.wait(60):
            raise SystemExit("the watcher did not start")
        t0 = time.perf_counter()
        for p in files:
            dest = inbox / p.relative_to(staging)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.rename(p, dest)
        if not all_done.wait(timeout):
            raise SystemExit(f"the watcher reported {reported} of {len(files)} files in {timeout} s")
        seconds = time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    if errors:
        print(f"  watcher errors: {errors[:3]}", file=sys.stderr)
    left = [p for p in inbox.rglob("*") if p.is_file() and not p.relative_to(inbox).parts[0].startswith(".")]
    if left:
        print(f"  {len(left)} files left in the inbox", file=sys.stderr)
    return seconds, reported, count_articles(archive)


# --- main -----------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    ap.add_argument("--generated", type=int, default=10_000, help="generated files (default 10,000)")
    ap.add_argument("--settle", type=float, default=0.2, help="the watcher's settle delay (default 0.2 s)")
    ap.add_argument("--skip-watcher", action="store_true")
    args = ap.parse_args(argv)
    if not CORPUS.is_file():
        print(f"{CORPUS} is absent (the shared data sits beside the project, at ../shared)", file=sys.stderr)
        return 1

    from archivist.archive import Archive

    has_index = hasattr(Archive, "catch_up_index")
    rows = read_corpus()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir="/tmp"))
    results: list[Row] = []

    def say(row: Row) -> None:
        results.append(row)
        print("  " + " | ".join(row.cells()), file=sys.stderr, flush=True)

    try:
        loads: list[tuple[str, Path, int]] = []
        csv_dir = tmp / "load-csv"
        csv_dir.mkdir()
        shutil.copy(CORPUS, csv_dir / "polsatnews.csv")
        loads.append(("polsatnews.csv", csv_dir, 1))
        per_article = tmp / "load-726"
        per_article.mkdir()
        loads.append(("726 files", per_article, corpus_files(rows, per_article)))
        if args.generated:
            gen = tmp / "load-generated"
            gen.mkdir()
            t0 = time.perf_counter()
            n = generated_files(rows, gen, args.generated)
            print(f"generated {n:,} files in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            loads.append((f"{n:,} generated files", gen, n))

        for k, (name, path, nfiles) in enumerate(loads):
            seconds, articles, rss = run_cli_ingest(path, tmp / f"a{k}-cli")
            say(Row(name, "archivist ingest (end to end)", nfiles, articles, seconds,
                    f"incl. process start; peak RSS {rss:,.0f} MB" + ("" if has_index else "; no index yet")))
            if not args.skip_watcher and nfiles > 1:
                seconds, reported, articles = run_watcher(path, tmp / f"a{k}-watch", args.settle)
                say(Row(name, "archivist watch (end to end)", reported, articles, seconds,
                        f"settle {args.settle:g} s" + ("" if has_index else "; no index yet")))
            log_s, index_s, articles = run_log_only(path, tmp / f"a{k}-log")
            say(Row(name, "log only (Ingestor, no index)", nfiles, articles, log_s, "in process"))
            if has_index:
                say(Row(name, "index catch-up alone", 0, articles, index_s, "same events"))
            for d in tmp.glob(f"a{k}-*"):
                shutil.rmtree(d, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    header = ["load", "how", "files", "articles", "s", "files/s", "articles/s", "note"]
    table = [header] + [r.cells() for r in results]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print()
    for i, row in enumerate(table):
        print("  ".join(c.rjust(w) if 2 <= j <= 6 else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    ends = [r for r in results if "end to end" in r.way and r.files > 1]
    worst = min((r.articles / r.seconds for r in ends), default=0)
    print(f"\ntarget: ≥ {TARGET} articles/s end to end; slowest end-to-end file load here: {worst:,.0f} articles/s"
          + ("" if has_index else " (the Archive has no search index yet: end to end is log + state only)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
