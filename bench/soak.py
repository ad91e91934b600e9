"""Soak: a watcher, two searchers and an archivist at once on one archive: `python -m bench.soak`.

    python -m bench.soak [--articles 100000] [--files 10000] [--keep DIR]

1. Builds an archive of N generated articles (`bench.corpus_gen` JSON lines, ingested with `Ingestor`, the
   index brought up to date with `catch_up_index`).
2. Starts `archivist watch --settle 0.2 --json` on it and drops F generated page dumps into its inbox (renamed
   in from a staging folder, in bursts, into tagged subfolders) while three more processes run:
   * `cli-searcher`: `archivist search QUERY --json` subprocesses in a loop (latency per call, end to end);
   * `api-searcher`: `Archive.open(A).search(...)` in a loop; it also checks read-your-writes -- it publishes
     an article and at once searches for its unique word, and it finds the newest article the watcher logged
     by `id:` -- every miss is an error;
   * `actor`: two threads recording archive / restore / relocate / tag through the facade on a small hot set
     of articles, with the version they read (so they conflict with each other: ConflictError is retried).
3. Then checks: every dropped file recorded exactly once (SourceReceived per digest) and moved to
   `inbox/.done`; every acknowledged action in the log at its position; `archivist verify` exits 0; the
   index equals a rebuild from the log (a copy of the archive is rebuilt with `archivist rebuild`; the
   current-document set and the answers to a fixed query set are compared); every process exited 0 with no
   traceback. Prints files/s, search p50/p95 under load and each process's peak RSS.

Exit status 0 when every check passed, 1 otherwise. `tests/test_soak.py` runs a small version.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

WORDS = ("policjanci", "komenda", "wojewódzka", "spotkanie", "współpraca", "handel", "ludźmi", "szkolenie",
         "bezpieczeństwo", "mieszkańcy", "zespół", "przeciwdziałania", "ofiary", "pomoc", "gmina", "powiat",
         "straż", "graniczna", "żołnierze", "ćwiczenia", "świadkowie", "zgłoszenie", "źródło", "młodzież")
QUERIES = ("handel ludźmi", "policja", "bezpieczeństwo", "\"komenda wojewódzka\"", "szkolenie OR ćwiczenia",
           "title:komunikat", "ludzmi", "published:2015..2017", "tag:soak", "status:archived",
           "zespół AND pomoc", "straż graniczna", "handl*", "mieszkancy~")
REGIONS = ("soak-a", "soak-b", "soak-c", "soak-d")


# --- generated inputs --------------------------------------------------------------------------------------

def letters(n: int) -> str:
    """A unique word of letters for `n` (survives every analyzer: no digits, no stopword)."""
    out = ""
    n += 26 * 26
    while n:
        n, r = divmod(n, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[r] + out
    return "zq" + out


def article_text(n: int, salt: str = "s", *, words: int = 60) -> bytes:
    """A small page dump, deterministic in (n, salt), with a unique title word and date."""
    day, month, year = 1 + n % 28, 1 + (n // 28) % 12, 2012 + (n // 336) % 14
    body = " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(words))
    return (f"Aktualności\n\nKomunikat {letters(n)}{salt}: {WORDS[n % len(WORDS)]} i "
            f"{WORDS[(n // 3) % len(WORDS)]}\n\nData publikacji {day:02d}.{month:02d}.{year}\n\n"
            f"{body.capitalize()}.\n\nSprawa {letters(n)}{salt} jest nadal wyjaśniana przez zespół.\n").encode()


def drop_files(n: int, salt: str = "s") -> dict[str, bytes]:
    """{relative name: bytes}: n files in tagged subfolders (the folder names become tags)."""
    return {f"{REGIONS[i % len(REGIONS)]}/komunikat-{salt}-{i:06d}.txt": article_text(i, salt) for i in range(n)}


def build_archive(root: Path, articles: int, *, vocab: str = "recombine", seed: int = 2026) -> dict[str, float]:
    """An archive of `articles` generated articles: corpus shards ingested by `Ingestor`, then the index."""
    from archivist.archive import Archive
    from archivist.ingest.service import Ingestor, walk
    from bench import corpus_gen

    t0 = time.perf_counter()
    shards = root.parent / (root.name + "-corpus")
    corpus_gen.write(shards, articles, shard=2000, seed=seed, vocab=vocab)
    t1 = time.perf_counter()
    with Archive.open(root, actor="soak:build") as a:
        a.defer_index = True
        ing = Ingestor(a, via="cli", batch_files=4)
        summary = ing.run(list(walk([shards])))
        t2 = time.perf_counter()
        a.catch_up_index()
        t3 = time.perf_counter()
        if summary.ingested != articles:
            raise SystemExit(f"build: {summary.ingested} of {articles} articles ingested")
    shutil.rmtree(shards, ignore_errors=True)
    return {"generate_s": t1 - t0, "ingest_s": t2 - t1, "index_s": t3 - t2}


# --- helpers shared by the other benches ---------------------------------------------------------------------

def events_of(archive: Path) -> list[Any]:
    from store.log import FileLog

    log = FileLog(archive / "log", readonly=True) if _has_readonly() else FileLog(archive / "log")
    try:
        return list(log.read())
    finally:
        log.close()


def _has_readonly() -> bool:
    import inspect

    from store.log import FileLog

    return "readonly" in inspect.signature(FileLog.__init__).parameters


def sources_per_digest(records: list[Any]) -> collections.Counter[str]:
    from store import events as ev

    return collections.Counter(r.event.digest for r in records
                               if isinstance(r.event, ev.SourceReceived | ev.SourceRejected))


def published_per_article(records: list[Any]) -> collections.Counter[str]:
    from store import events as ev

    return collections.Counter(r.stream for r in records if isinstance(r.event, ev.ArticlePublished))


def peak_rss_kb(pid: int) -> int:
    """VmHWM of a live process (its peak resident set), in KB; 0 when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def has_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" in text


def self_peak_rss_kb() -> int:
    """This process's own peak RSS (VmHWM; `ru_maxrss` would include the forking parent's peak)."""
    return peak_rss_kb(os.getpid()) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def mark_ready(out: str) -> None:
    Path(out + ".ready").touch()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class WatchProc:
    """`archivist watch --json` in the background, its NDJSON outcomes and log lines collected."""

    def __init__(self, archive: Path, *args: str, settle: float = 0.2, rescan: float = 5.0) -> None:
        cmd = [PY, "-m", "archivist.cli", "--archive", str(archive), "watch", "--settle", str(settle),
               "--rescan", str(rescan), "--json", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                                     env={**os.environ, "COLUMNS": "120"})
        self.outcomes: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.stray: list[str] = []
        self.cond = threading.Condition()
        self.readers = [threading.Thread(target=self._read, args=(s, into), daemon=True)
                        for s, into in ((self.proc.stdout, self.outcomes), (self.proc.stderr, self.logs))]
        for t in self.readers:
            t.start()

    def _read(self, stream: Any, into: list[dict[str, Any]]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                try:
                    into.append(json.loads(line))
                except ValueError:
                    self.stray.append(line)
                self.cond.notify_all()

    def wait_for(self, pred: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return bool(pred())
                self.cond.wait(min(left, 0.5))
            return True

    def started(self, timeout: float = 60) -> WatchProc:
        if not self.wait_for(lambda: any(x.get("event") == "start" for x in self.logs), timeout):
            raise RuntimeError(f"watcher did not start: {self.logs} {self.stray}")
        return self

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        for t in self.readers:
            t.join(10)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for t in self.readers:
            t.join(10)

    def errors(self) -> list[str]:
        bad = [json.dumps(x, ensure_ascii=False) for x in self.logs if x.get("level") == "error"]
        return bad + [s for s in self.stray if s.strip()]


# --- the worker processes ------------------------------------------------------------------------------------

def worker_cli_searcher(archive: str, stop: str, out: str) -> int:
    lat: list[float] = []
    failures: list[str] = []
    i = 0
    while not os.path.exists(stop):
        q = QUERIES[i % len(QUERIES)]
        i += 1
        t0 = time.perf_counter()
        p = subprocess.run([PY, "-m", "archivist.cli", "--archive", archive, "search", q, "--json"],
                           capture_output=True, cwd=ROOT)
        lat.append((time.perf_counter() - t0) * 1000)
        if i == 1:
            mark_ready(out)
        if p.returncode != 0 or has_traceback(p.stderr.decode("utf-8", "replace")):
            failures.append(f"{q!r}: exit {p.returncode}: {p.stderr.decode('utf-8', 'replace')[-500:]}")
            continue
        try:
            doc = json.loads(p.stdout)
            assert isinstance(doc["total"], int) and isinstance(doc["hits"], list)
        except Exception as exc:  # noqa: BLE001 -- reported
            failures.append(f"{q!r}: not one JSON document: {exc}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    Path(out).write_text(json.dumps({"latencies_ms": lat, "failures": failures, "searches": len(lat),
                                     "peak_rss_kb": self_peak_rss_kb(),
                                     "children_peak_rss_kb": children}))
    return 0


def worker_api_searcher(archive: str, stop: str, out: str) -> int:
    from archivist import errors
    from archivist.archive import Archive
    from store import events as ev

    lat: list[float] = []
    failures: list[str] = []
    ryw = {"own": 0, "watcher": 0}
    published: list[str] = []
    i = 0
    a = Archive.open(archive, actor="soak:api-searcher")
    try:
        while not os.path.exists(stop):
            q = QUERIES[i % len(QUERIES)]
            t0 = time.perf_counter()
            try:
                res = a.search(q, limit=10)
                assert res.total >= len(res.hits)
            except Exception as exc:  # noqa: BLE001 -- reported
                failures.append(f"search {q!r}: {type(exc).__name__}: {exc}")
            lat.append((time.perf_counter() - t0) * 1000)
            if i == 0:
                mark_ready(out)
            if i % 5 == 0:
                # read-your-writes, own append: publish, then search for its unique word at once
                word = f"{letters(i)}ryw"
                try:
                    aid = a.publish(title=f"Sprawdzenie {word}", body=f"Treść kontrolna {word} numer {i}.",
                                    publisher="Soak", tags=["soak-ryw"])
                    published.append(aid)
                    hits = [h.id for h in a.search(word, limit=5, include_withdrawn=True).hits]
                    if aid not in hits:
                        failures.append(f"read-your-writes: {aid} ({word}) not found right after publishing")
                    ryw["own"] += 1
                except errors.ConflictError as exc:
                    failures.append(f"publish {word}: {exc}")
            if i % 5 == 2:
                # read-your-writes, another process's append: the newest article the watcher logged
                head = a.log.head()
                newest = None
                for r in a.log.read(after=max(0, head - 200), until=head):
                    if isinstance(r.event, ev.ArticlePublished) and r.actor.startswith("watch:"):
                        newest = r.stream
                if newest is not None:
                    hits = [h.id for h in a.search(f"id:{newest}", limit=5, include_withdrawn=True).hits]
                    if newest not in hits:
                        failures.append(f"read-your-writes: the watcher's {newest} (head {head}) not found")
                    ryw["watcher"] += 1
            i += 1
    finally:
        a.close()
    Path(out).write_text(json.dumps({"latencies_ms": lat, "failures": failures, "searches": len(lat),
                                     "ryw": ryw, "published": published,
                                     "peak_rss_kb": self_peak_rss_kb()}))
    return 0


def worker_actor(archive: str, stop: str, out: str, hot: int = 40) -> int:
    from archivist import errors
    from archivist.archive import Archive
    from archivist.state import ARCHIVED

    done: list[dict[str, Any]] = []
    failures: list[str] = []
    conflicts = [0]
    lock = threading.Lock()
    with Archive.open(archive, actor="soak:actor") as a0:
        ids = sorted(a0.refresh().articles)
    ids = random.Random(7).sample(ids, min(hot, len(ids)))

    def run(k: int) -> None:
        rng = random.Random(1000 + k)
        a = Archive.open(archive, actor=f"soak:actor-{k}")
        n = 0
        try:
            while not os.path.exists(stop):
                aid = rng.choice(ids)
                kind = rng.choice(("archive", "relocate", "tag", "tag"))
                for _attempt in range(50):
                    try:
                        st = a.article(aid)
                        version = st.version
                        time.sleep(rng.uniform(0, 0.01))  # a reader's pause: the other thread may act
                        if kind == "archive":
                            typ = "ArticleRestored" if st.status == ARCHIVED else "ArticleArchived"
                            pos = (a.restore(aid, "soak", expected_version=version) if st.status == ARCHIVED
                                   else a.archive(aid, "soak", expected_version=version))
                        elif kind == "relocate":
                            typ = "ArticleRelocated"
                            pos = a.relocate(aid, f"https://www.gov.pl/web/soak/{aid}/{k}-{n}",
                                             expected_version=version)
                        else:
                            typ = "ArticleTagged"
                            pos = a.tag(aid, f"soak-{k}-{n % 50}", expected_version=version)
                        if pos:
                            with lock:
                                done.append({"id": aid, "type": typ, "position": pos})
                        break
                    except errors.ConflictError:
                        with lock:
                            conflicts[0] += 1
                        continue
                else:
                    failures.append(f"{kind} {aid}: 50 conflicts in a row")
                n += 1
                time.sleep(0.02)
        except Exception as exc:  # noqa: BLE001 -- reported
            import traceback

            failures.append(f"actor {k}: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        finally:
            a.close()

    mark_ready(out)
    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    Path(out).write_text(json.dumps({"actions": done, "conflicts": conflicts[0], "failures": failures,
                                     "peak_rss_kb": self_peak_rss_kb()}))
    return 0


# --- the soak --------------------------------------------------------------------------------------------------

def index_snapshot(archive: Path, queries: tuple[str, ...] = QUERIES) -> dict[str, Any]:
    """What must not change when the index is rebuilt: every current document, and each query's answer."""
    from whoosh.query import Term

    from archivist.archive import Archive

    snap: dict[str, Any] = {}
    with Archive.open(archive, actor="soak:check") as a:
        ix = a.index
        ix.catch_up()
        s = ix.searcher()
        docs = []
        for hit in s.search(Term("current", "1"), limit=None, scored=False):
            f = hit.fields()
            docs.append((f["id"], f.get("status"), f.get("version"), f.get("tag"), f.get("url_current"),
                         f.get("title"), f.get("content_position")))
        snap["current"] = sorted(docs)
        snap["checkpoint"] = ix.checkpoint()
        snap["head"] = a.log.head()
        for q in queries:
            res = a.search(q, limit=100_000, include_withdrawn=True, facets=True, snippets=False)
            snap[q] = {"total": res.total, "ids": sorted(h.id for h in res.hits), "facets": res.facets}
    return snap


def run_cli(archive: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PY, "-m", "archivist.cli", "--archive", str(archive), *args], capture_output=True,
                          cwd=ROOT, timeout=timeout, env={**os.environ, "COLUMNS": "120"})


def soak(workdir: Path, *, articles: int, files: int, burst: int = 50, pause: float = 0.05,
         vocab: str = "recombine", log: Any = print) -> dict[str, Any]:
    """Run the soak in `workdir`; returns figures and a list of `problems` (empty when all is well)."""
    problems: list[str] = []
    archive = workdir / "archive"
    t0 = time.perf_counter()
    build = build_archive(archive, articles, vocab=vocab)
    log(f"built {articles} articles: generate {build['generate_s']:.1f} s, ingest + index "
        f"{build['ingest_s'] + build['index_s']:.1f} s")

    # The first ordinary commit after a bulk load merges every bulk segment under SMALL_SEGMENT documents
    # (tests/test_soak.py shows why): timed on its own, so the load figures below are steady state.
    from archivist.archive import Archive

    t_warm = time.perf_counter()
    with Archive.open(archive, actor="soak:warm") as a:
        a.tag(min(a.refresh().articles), "soak-warm")
    build["first_commit_s"] = time.perf_counter() - t_warm
    log(f"first small commit after the bulk load: {build['first_commit_s']:.1f} s")

    staging = workdir / "staging"
    contents = drop_files(files)
    for name, data in contents.items():
        p = staging / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    inbox = archive / "inbox"
    stop = workdir / "STOP"
    outs = {k: workdir / f"{k}.json" for k in ("cli-searcher", "api-searcher", "actor")}

    w = WatchProc(archive, settle=0.2).started()
    workers = {k: subprocess.Popen([PY, "-m", "bench.soak", k, str(archive), str(stop), str(outs[k])],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
               for k in outs}
    deadline = time.monotonic() + 300  # the searchers get going (lemma table loaded) before the first drop
    while not all(Path(str(o) + ".ready").exists() for o in outs.values()) and time.monotonic() < deadline:
        if any(p.poll() is not None for p in workers.values()):
            break
        time.sleep(0.2)
    t_drop = time.perf_counter()
    names = list(contents)
    for i in range(0, len(names), burst):
        for name in names[i:i + burst]:
            (inbox / name).parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging / name, inbox / name)
        time.sleep(pause)
    t_dropped = time.perf_counter()
    wanted = set(names)

    def all_reported() -> bool:
        return wanted <= {o["file"] for o in w.outcomes}

    ok = w.wait_for(all_reported, timeout=max(120.0, files * 0.5))
    t_ingested = time.perf_counter()
    if not ok:
        problems.append(f"the watcher reported {len({o['file'] for o in w.outcomes} & wanted)} of {files} files")
    time.sleep(1.0)  # a last stretch of searches and actions on the finished archive
    stop.write_text("stop")
    worker_rc = {k: p.wait(600) for k, p in workers.items()}
    worker_err = {k: p.stderr.read().decode("utf-8", "replace") for k, p in workers.items()}
    watch_rss = peak_rss_kb(w.proc.pid)
    watch_rc = w.stop()

    for k in outs:
        if worker_rc[k] != 0 or has_traceback(worker_err[k]):
            problems.append(f"{k} exited {worker_rc[k]}: {worker_err[k][-2000:]}")
    res = {k: json.loads(outs[k].read_text()) if outs[k].exists() else {} for k in outs}
    for k, r in res.items():
        for f in r.get("failures", [])[:10]:
            problems.append(f"{k}: {f}")
    if watch_rc != 0:
        problems.append(f"the watcher exited {watch_rc}")
    problems += [f"watcher: {e}" for e in w.errors()[:10]]

    # --- exactly once
    records = events_of(archive)
    per_digest = sources_per_digest(records)
    digests = {hashlib.sha256(d).hexdigest() for d in contents.values()}
    missing = [d for d in digests if per_digest[d] == 0]
    twice = [d for d in digests if per_digest[d] > 1]
    if missing:
        problems.append(f"{len(missing)} dropped files never recorded")
    if twice:
        problems.append(f"{len(twice)} dropped files recorded more than once")
    if any(c > 1 for c in published_per_article(records).values()):
        problems.append("an article was published twice")
    done_dir = inbox / ".done"
    done = {p.relative_to(done_dir).as_posix() for p in done_dir.rglob("*") if p.is_file()}
    if done != wanted:
        problems.append(f".done holds {len(done & wanted)} of {files} files (+{len(done - wanted)} others)")
    left = [p for p in inbox.rglob("*") if p.is_file() and not p.relative_to(inbox).parts[0].startswith(".")]
    if left:
        problems.append(f"{len(left)} files left in the inbox")
    # --- every action in the log
    by_pos = {r.position: r for r in records}
    actions = res.get("actor", {}).get("actions", [])
    for act in actions:
        r = by_pos.get(act["position"])
        if r is None or r.stream != act["id"] or type(r.event).__name__ != act["type"]:
            problems.append(f"action {act} is not in the log as acknowledged")
    for aid in res.get("api-searcher", {}).get("published", []):
        if published_per_article(records)[aid] != 1:
            problems.append(f"the API searcher's article {aid} is not in the log")
            break
    # --- verify, and the index equal to a rebuild
    t_check = time.perf_counter()
    v = run_cli(archive, "verify", "--json")
    if v.returncode != 0:
        problems.append(f"verify exited {v.returncode}: {v.stdout.decode()[-2000:]} {v.stderr.decode()[-500:]}")
    before = index_snapshot(archive)
    if before["checkpoint"] != before["head"]:
        problems.append(f"index checkpoint {before['checkpoint']} != head {before['head']}")
    copy = workdir / "rebuilt"
    shutil.copytree(archive, copy, ignore=shutil.ignore_patterns("inbox"))
    rb = run_cli(copy, "rebuild")
    if rb.returncode != 0:
        problems.append(f"rebuild exited {rb.returncode}: {rb.stderr.decode()[-1000:]}")
    after = index_snapshot(copy)
    for key in before:
        if before[key] != after[key]:
            problems.append(f"index differs from a rebuild on {key!r}")
    t_end = time.perf_counter()

    figures = {
        "articles": articles, "files": files, "build": build,
        "drop_s": t_dropped - t_drop, "ingest_s": t_ingested - t_drop,
        "files_per_s": files / (t_ingested - t_drop) if t_ingested > t_drop else 0.0,
        "cli_search": res.get("cli-searcher", {}).get("latencies_ms", [])[1:],
        "api_search": res.get("api-searcher", {}).get("latencies_ms", [])[1:],  # the first loads the analyzer
        "ryw": res.get("api-searcher", {}).get("ryw", {}),
        "actions": len(actions), "conflicts": res.get("actor", {}).get("conflicts", 0),
        "rss_kb": {"watcher": watch_rss,
                   "cli-searcher (script)": res.get("cli-searcher", {}).get("peak_rss_kb", 0),
                   "cli-searcher (search subprocesses, max)": res.get("cli-searcher", {}).get(
                       "children_peak_rss_kb", 0),
                   "api-searcher": res.get("api-searcher", {}).get("peak_rss_kb", 0),
                   "actor": res.get("actor", {}).get("peak_rss_kb", 0),
                   "orchestrator (this process, incl. build)": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss},
        "check_s": t_end - t_check, "total_s": t_end - t0, "events": len(records),
        "problems": problems,
    }
    return figures


def report(f: dict[str, Any], out: Any = print) -> None:
    def lat(name: str, xs: list[float]) -> str:
        return (f"{name:<28} {len(xs):>6} searches  p50 {pct(xs, 50):8.1f} ms  p95 {pct(xs, 95):8.1f} ms  "
                f"max {max(xs) if xs else float('nan'):8.1f} ms")

    out(f"soak: {f['articles']} articles, {f['files']} dropped files, {f['events']} events at the end")
    out(f"  build: generate {f['build']['generate_s']:.1f} s, ingest + index {f['build']['ingest_s']:.1f} s "
        f"(+ {f['build']['index_s']:.1f} s of index left over); the first small commit after it "
        f"{f['build'].get('first_commit_s', 0.0):.1f} s")
    out(f"  watcher: {f['files']} files in {f['ingest_s']:.1f} s = {f['files_per_s']:.1f} files/s "
        f"(dropping took {f['drop_s']:.1f} s)")
    out("  " + lat("search via CLI (process)", f["cli_search"]))
    out("  " + lat("search via API (in-process)", f["api_search"]))
    out(f"  read-your-writes checks: {f['ryw'].get('own', 0)} own appends, {f['ryw'].get('watcher', 0)} "
        "watcher appends")
    out(f"  actions recorded: {f['actions']} ({f['conflicts']} conflicts retried)")
    out("  peak RSS:")
    for k, v in f["rss_kb"].items():
        out(f"    {k:<42} {v / 1024:8.1f} MB")
    out(f"  checks (verify, rebuild, compare): {f['check_s']:.1f} s; total {f['total_s']:.1f} s")
    if f["problems"]:
        out(f"  PROBLEMS ({len(f['problems'])}):")
        for p in f["problems"]:
            out(f"    - {p}")
    else:
        out("  all checks passed: exactly once, actions logged, verify clean, index == rebuild, no errors")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    workers = {"cli-searcher": worker_cli_searcher, "api-searcher": worker_api_searcher, "actor": worker_actor}
    if argv and argv[0] in workers:
        return workers[argv[0]](*argv[1:4])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--vocab", choices=("recombine", "varied"), default="recombine")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp dir, removed)")
    a = ap.parse_args(argv)
    work = a.keep or Path(tempfile.mkdtemp(prefix="archivist-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        f = soak(work, articles=a.articles, files=a.files, vocab=a.vocab)
        report(f)
        return 1 if f["problems"] else 0
    finally:
        if a.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
