"""Fault campaign: crash or fail the archive at random moments, restart, and check nothing acknowledged is lost.

    python -m bench.faults [--runs 300] [--seed 1] [--keep DIR]

Each run starts from a fresh archive and injects ONE fault of a kind drawn at random:

* `kill-watch`   SIGKILL to `archivist watch` at a random moment while files arrive;
* `kill-ingest`  SIGKILL to `archivist ingest DIR --json` at a random moment;
* `kill-action`  SIGKILL to `archivist tag` / `archive` / `relocate` at a random moment;
* `io-log`       ENOSPC or EIO at the Nth write / fsync / rename of the log (a `FileOps` subclass given to
                 `FileLog`), once or from then on (a full disk), while files are ingested and actions recorded
                 in-process;
* `io-blob`      the same for the blob store (`BlobStore(ops=…)`);
* `io-index`     the same for the index: whoosh's `FileStorage.create_file` hands out files whose Nth write
                 fails, or its Nth `rename_file` fails, only while the index catches up.

Then the archive is reopened with plain file operations and the work retried (a new watcher, `ingest` again),
and the run is checked:

* nothing acknowledged lost: every file the process reported (a watcher's NDJSON line, an ingest that exited 0,
  a progress callback) and every action that returned (exit 0 / a position) is in the log;
* nothing twice: no digest recorded twice, no article published twice, no tag recorded twice in a row;
* no half article: every article of a tagged file, and the seed article, carries all its tags (a batch is atomic),
  and every recorded source has its articles and vice versa;
* the index catches up: after the reopen, a search leaves checkpoint == head;
* `verify` is clean (log framing, hash chain, blob fixity, index against the log).

Prints a table: runs and faults per kind, recoveries, losses (must be 0) and other problems.
`tests/test_faults.py` runs a bounded campaign.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import errno
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.soak import PY, ROOT, WatchProc, article_text
from store.fileops import FileOps

KINDS = ("kill-watch", "kill-ingest", "kill-action", "io-log", "io-blob", "io-index")
WEIGHTS = (2, 2, 2, 3, 3, 3)
SEED_TAGS = ("seed-a", "seed-b")


# --- fault injection ----------------------------------------------------------------------------------------

class FaultOps(FileOps):
    """The store's `FileOps`, failing the `at`-th call of `op` (write / fsync / replace) with `err`, once or
    always. A filesystem flush (`syncfs`, the blob store's batch sync) counts as an fsync."""

    def __init__(self, op: str, at: int, err: int, *, always: bool = False) -> None:
        self.op, self.at, self.err, self.always = op, at, err, always
        self.calls: collections.Counter[str] = collections.Counter()
        self.fired = 0

    def _check(self, op: str) -> None:
        self.calls[op] += 1
        n = self.calls[op]
        if op == self.op and (n == self.at or (self.always and n > self.at)):
            self.fired += 1
            raise OSError(self.err, os.strerror(self.err))

    def write(self, fd: int, data: bytes | memoryview) -> int:
        self._check("write")
        return super().write(fd, data)

    def fsync(self, fd: int) -> None:
        self._check("fsync")
        super().fsync(fd)

    def syncfs(self, fd: int) -> None:
        self._check("fsync")
        super().syncfs(fd)

    def replace(self, src: Any, dst: Any) -> None:
        self._check("replace")
        super().replace(src, dst)


class _FaultyFile:
    """A file object whose writes count against the index fault."""

    def __init__(self, inner: Any, fault: FaultOps) -> None:
        self._inner, self._fault = inner, fault

    def write(self, data: Any) -> Any:
        self._fault._check("write")
        return self._inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __iter__(self) -> Any:
        return iter(self._inner)


@contextlib.contextmanager
def index_faults(fault: FaultOps | None) -> Any:
    """While active, whoosh's FileStorage writes through `fault` ("write" = a file write, "replace" = a
    rename_file, "fsync" = a file created)."""
    from whoosh.filedb import filestore
    from whoosh.filedb.structfile import StructFile

    if fault is None:
        yield
        return
    orig_create, orig_rename = filestore.FileStorage.create_file, filestore.FileStorage.rename_file

    def create_file(self, name, excl=False, mode="wb", **kwargs):  # type: ignore[no-untyped-def]
        fault._check("fsync")  # "a file created": whoosh does not fsync; creation is its third failure point
        f = orig_create(self, name, excl=excl, mode=mode, **kwargs)
        return StructFile(_FaultyFile(f.file, fault), name=f._name, onclose=f.onclose)

    def rename_file(self, oldname, newname, safe=False):  # type: ignore[no-untyped-def]
        fault._check("replace")
        return orig_rename(self, oldname, newname, safe=safe)

    filestore.FileStorage.create_file = create_file
    filestore.FileStorage.rename_file = rename_file
    try:
        yield
    finally:
        filestore.FileStorage.create_file = orig_create
        filestore.FileStorage.rename_file = orig_rename


# --- workloads --------------------------------------------------------------------------------------------

def make_files(folder: Path, n: int, salt: str) -> dict[str, tuple[bytes, tuple[str, ...]]]:
    """n page dumps in tagged subfolders: {relative name: (bytes, folder tags)}."""
    out = {}
    for i in range(n):
        region = f"region-{i % 3}"
        name = f"{region}/komunikat-{salt}-{i:03d}.txt"
        data = article_text(i, salt)
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        out[name] = (data, (region,))
    return out


def seed_archive(root: Path) -> str:
    """A fresh archive with one tagged article (the target of actions); returns its id."""
    from archivist.archive import Archive

    with Archive.open(root, actor="faults:seed") as a:
        return a.publish(title="Artykuł bazowy kampanii", body="Treść artykułu bazowego o handlu ludźmi.",
                         url="https://www.gov.pl/web/faults/bazowy", publisher="Faults", tags=SEED_TAGS)


@dataclass
class Expect:
    """What a run promised (acknowledged) and what it will have asked for once retried."""

    files: dict[str, tuple[bytes, tuple[str, ...]]] = field(default_factory=dict)
    acked_digests: set[str] = field(default_factory=set)
    eventually_digests: set[str] = field(default_factory=set)  # all of them must be in the log, once
    acked_actions: list[tuple[str, str]] = field(default_factory=list)  # (article id, event type)
    seed: str | None = None
    seed_acked: bool = True


@dataclass
class RunResult:
    kind: str
    detail: str
    fired: bool  # the fault happened (a kill while the process ran, an I/O error raised)
    acked: int = 0
    recovered: bool = False
    losses: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def check(root: Path, x: Expect) -> tuple[list[str], list[str]]:
    """(losses, other problems) of the archive at `root` after a reopen with plain file operations."""
    from archivist.archive import Archive
    from store import events as ev

    losses: list[str] = []
    problems: list[str] = []
    with Archive.open(root, actor="faults:check") as a:
        a.search("handel")  # any search brings the index up to date
        head, cp = a.log.head(), a.index.checkpoint()
        if cp != head:
            problems.append(f"index checkpoint {cp} != log head {head} after a search")
        records = list(a.log.read())
        report = a.verify()
        if not report.ok:
            problems += [f"verify: {p.kind}: {p.detail}" for p in report.problems[:5]]
    per_digest = collections.Counter(r.event.digest for r in records
                                     if isinstance(r.event, ev.SourceReceived | ev.SourceRejected))
    for d in x.acked_digests:
        if per_digest[d] == 0:
            losses.append(f"acknowledged file {d[:12]} is not in the log")
    for d in x.eventually_digests:
        if per_digest[d] != 1:
            problems.append(f"file {d[:12]} recorded {per_digest[d]} times after the retry")
    problems += [f"digest {d[:12]} recorded {c} times" for d, c in per_digest.items() if c > 1]
    published = collections.Counter(r.stream for r in records if isinstance(r.event, ev.ArticlePublished))
    problems += [f"article {s} published {c} times" for s, c in published.items() if c > 1]
    by_stream: dict[str, list[Any]] = collections.defaultdict(list)
    for r in records:
        by_stream[r.stream].append(r)
    # no half article: a tagged file's articles carry its tags; a recorded source has its article
    tags_of = {hashlib.sha256(data).hexdigest(): tags for data, tags in x.files.values()}
    article_of: dict[str, str] = {}
    for r in records:
        if isinstance(r.event, ev.ArticlePublished) and r.event.source:
            article_of[r.event.source] = r.stream
            want = set(tags_of.get(r.event.source, ()))
            got = {e.event.tag for e in by_stream[r.stream]
                   if isinstance(e.event, ev.ArticleTagged) and e.event.source == r.event.source}
            if not want <= got:
                problems.append(f"half article {r.stream}: tags {sorted(want - got)} missing")
    for d in tags_of:
        if per_digest[d] and d not in article_of:
            problems.append(f"source {d[:12]} recorded without its article")
        if d in article_of and not per_digest[d]:
            problems.append(f"article of {d[:12]} recorded without its source")
    if x.seed is not None:
        seed_events = by_stream.get(x.seed, [])
        if x.seed_acked and not seed_events:
            losses.append("the acknowledged seed article is not in the log")
        if seed_events:
            tags = {e.event.tag for e in seed_events[:3] if isinstance(e.event, ev.ArticleTagged)}
            if tags != set(SEED_TAGS):
                problems.append(f"half article: the seed has tags {sorted(tags)} in its first batch")
    # acknowledged actions; nothing recorded twice in a row
    for aid, typ in x.acked_actions:
        if not any(type(r.event).__name__ == typ for r in by_stream.get(aid, [])):
            losses.append(f"acknowledged {typ} on {aid} is not in the log")
    for s, rs in by_stream.items():
        tagged = collections.Counter(r.event.tag for r in rs if isinstance(r.event, ev.ArticleTagged))
        untagged = collections.Counter(r.event.tag for r in rs if isinstance(r.event, ev.ArticleUntagged))
        problems += [f"{s}: tag {t!r} recorded {c} times" for t, c in tagged.items() if c > untagged[t] + 1]
    return losses, problems


# --- the runs -------------------------------------------------------------------------------------------------

def _cli(root: Path, *args: str) -> list[str]:
    return [PY, "-m", "archivist.cli", "--archive", str(root), *args]


_TOOK: dict[str, float] = {}  # how long each kind of process took when it was not killed (a running max)


def _delay(rng: random.Random, kind: str, default: float) -> float:
    """A kill moment spread over the process's whole life, as measured so far (startup included)."""
    return rng.uniform(0.05, _TOOK.get(kind, default))


def _kill_at(proc: subprocess.Popen[bytes], delay: float, kind: str = "") -> tuple[bool, bytes, bytes]:
    """SIGKILL `proc` after `delay` s unless it ended first; (killed, stdout, stderr)."""
    t0 = time.monotonic()
    try:
        out, err = proc.communicate(timeout=delay)
        if kind:
            _TOOK[kind] = max(_TOOK.get(kind, 0.0) * 0.9, time.monotonic() - t0)
        return False, out, err
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        return True, out, err


def run_kill_ingest(work: Path, rng: random.Random) -> tuple[RunResult, Expect]:
    root, src = work / "archive", work / "src"
    x = Expect(files=make_files(src, rng.randint(40, 150), salt=f"i{rng.randrange(10**6)}"))
    x.eventually_digests = {hashlib.sha256(d).hexdigest() for d, _ in x.files.values()}
    delay = _delay(rng, "ingest", 1.2)
    proc = subprocess.Popen(_cli(root, "ingest", str(src), "--json"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    killed, out, err = _kill_at(proc, delay, "ingest")
    r = RunResult("kill-ingest", f"SIGKILL after {delay:.2f} s", fired=killed)
    if not killed:
        if proc.returncode != 0 or b"Traceback" in err:
            r.problems.append(f"ingest exited {proc.returncode}: {err.decode()[-500:]}")
        else:
            x.acked_digests = {o["digest"] for o in json.loads(out)["outcomes"]}
    r.acked = len(x.acked_digests)
    again = subprocess.run(_cli(root, "ingest", str(src), "--json"), capture_output=True, cwd=ROOT)
    r.recovered = again.returncode == 0
    if not r.recovered:
        r.problems.append(f"ingest after the kill exited {again.returncode}: {again.stderr.decode()[-500:]}")
    return r, x


def run_kill_watch(work: Path, rng: random.Random) -> tuple[RunResult, Expect]:
    root = work / "archive"
    seed_archive(root)
    inbox = root / "inbox"
    staging = work / "staging"
    x = Expect(files=make_files(staging, rng.randint(10, 40), salt=f"w{rng.randrange(10**6)}"))
    x.eventually_digests = {hashlib.sha256(d).hexdigest() for d, _ in x.files.values()}
    names = list(x.files)
    early = names[: len(names) // 2]
    for n in early:  # half waiting in the inbox at start, half dropped while it runs
        (inbox / n).parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging / n, inbox / n)
    w = WatchProc(root, settle=0.1, rescan=1.0).started()
    delay = rng.uniform(0.0, 2.5)
    t0 = time.monotonic()
    for n in names[len(early):]:
        (inbox / n).parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging / n, inbox / n)
        if time.monotonic() - t0 >= delay:
            break
        time.sleep(0.02)
    time.sleep(max(0.0, delay - (time.monotonic() - t0)))
    fired = w.proc.poll() is None
    w.kill()
    r = RunResult("kill-watch", f"SIGKILL {delay:.2f} s after start", fired=fired)
    x.acked_digests = {o["digest"] for o in w.outcomes if o.get("digest")}
    r.acked = len(x.acked_digests)
    if any("Traceback" in s for s in w.stray):
        r.problems.append(f"watcher traceback: {w.stray}")
    for n in names:  # the rest arrives after the restart
        if (staging / n).exists():
            (inbox / n).parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging / n, inbox / n)
    w2 = WatchProc(root, settle=0.1, rescan=1.0).started()
    ok = w2.wait_for(lambda: {o["file"] for o in w2.outcomes} >= {n for n in names
                                                                  if not (inbox / ".done" / n).exists()}, 60)
    rc = w2.stop()
    done = {p.relative_to(inbox / ".done").as_posix() for p in (inbox / ".done").rglob("*") if p.is_file()}
    r.recovered = ok and rc == 0 and done == set(names)
    if not r.recovered:
        r.problems.append(f"restarted watcher: rc {rc}, {len(done)} of {len(names)} in .done, "
                          f"errors {w2.errors()[:3]}")
    return r, x


def run_kill_action(work: Path, rng: random.Random) -> tuple[RunResult, Expect]:
    root = work / "archive"
    aid = seed_archive(root)
    x = Expect(seed=aid)
    what = rng.choice(("tag", "archive", "relocate"))
    args, typ = {"tag": (["tag", aid, "zabity", "sprawdzony"], "ArticleTagged"),
                 "archive": (["archive", aid, "--reason", "Strona znajduje się w archiwum"], "ArticleArchived"),
                 "relocate": (["relocate", aid, "https://www.gov.pl/web/handel-ludzmi/bazowy"],
                              "ArticleRelocated")}[what]
    delay = _delay(rng, "action", 1.0)
    proc = subprocess.Popen(_cli(root, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    killed, _, err = _kill_at(proc, delay, "action")
    r = RunResult("kill-action", f"{what}: SIGKILL after {delay:.2f} s", fired=killed)
    if not killed:
        if proc.returncode == 0:
            x.acked_actions.append((aid, typ))
        else:
            r.problems.append(f"{what} exited {proc.returncode}: {err.decode()[-300:]}")
    r.acked = len(x.acked_actions)
    again = subprocess.run(_cli(root, *args), capture_output=True, cwd=ROOT)  # a retry is harmless
    r.recovered = again.returncode == 0
    if not r.recovered:
        r.problems.append(f"{what} retried exited {again.returncode}: {again.stderr.decode()[-300:]}")
    else:
        x.acked_actions.append((aid, typ))
    return r, x


def _inprocess_workload(root: Path, src: Path, x: Expect, *, log_ops: Any = None, blob_ops: Any = None,
                        index_fault: FaultOps | None = None) -> list[str]:
    """Publish, ingest (two files per batch) and act through an archive whose file operations may fail;
    record in `x` what was acknowledged. Returns the errors raised (expected: the injected fault)."""
    from archivist import errors
    from archivist.archive import Archive
    from archivist.ingest.service import Ingestor, walk
    from store.blobs import BlobStore
    from store.fileops import DEFAULT_OPS
    from store.log import FileLog, LogError

    raised: list[str] = []

    def note(what: str, exc: BaseException) -> None:
        expected = isinstance(exc, errors.ArchivistError | OSError | LogError)
        raised.append(f"{'' if expected else '!'}{what}: {type(exc).__name__}: {exc}")

    for sub in ("log", "blobs", "inbox"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    try:
        a = Archive(root, FileLog(root / "log", ops=log_ops or DEFAULT_OPS),
                    BlobStore(root / "blobs", ops=blob_ops or DEFAULT_OPS), actor="faults:inproc")
    except (errors.ArchivistError, OSError) as exc:
        return [f"open: {type(exc).__name__}: {exc}"]
    with index_faults(index_fault):
        try:
            x.seed_acked = False
            try:
                x.seed = a.publish(title="Artykuł bazowy kampanii", body="Treść o handlu ludźmi.",
                                   url="https://www.gov.pl/web/faults/bazowy", publisher="Faults", tags=SEED_TAGS)
                x.seed_acked = True
            except Exception as exc:  # noqa: BLE001 -- the injected fault, reported
                note("publish", exc)
                from archivist.archive import article_id_for, identity_key

                x.seed = article_id_for(identity_key(url="https://www.gov.pl/web/faults/bazowy", title="",
                                                     published=None, publisher=None, body=""))
            try:
                Ingestor(a, via="cli", batch_files=2).run(
                    list(walk([src])), progress=lambda o: x.acked_digests.add(o.digest) if o.digest else None)
            except Exception as exc:  # noqa: BLE001
                note("ingest", exc)
            for name, call, typ in (("tag", lambda: a.tag(x.seed, "po-awarii"), "ArticleTagged"),
                                    ("archive", lambda: a.archive(x.seed, "archiwum"), "ArticleArchived")):
                try:
                    if call():
                        x.acked_actions.append((x.seed, typ))
                except Exception as exc:  # noqa: BLE001
                    note(name, exc)
        finally:
            if getattr(a, "index_error", None) is not None:
                raised.append(f"index after an append: {type(a.index_error).__name__}: {a.index_error}")
            with contextlib.suppress(Exception):
                a.close()
    return raised


def _retry(root: Path, src: Path) -> bool:
    """What an operator does next: ingest the same files again with plain file operations."""
    from archivist.archive import Archive
    from archivist.ingest.service import Ingestor, walk

    with Archive.open(root, actor="faults:retry") as a:
        s = Ingestor(a, via="cli").run(list(walk([src])))
        return s.rejected == 0


_DRY: dict[str, collections.Counter[str]] = {}


def _dry_counts(work: Path, target: str) -> collections.Counter[str]:
    """How many writes / fsyncs / renames the workload makes on `target` without a fault (cached)."""
    if target not in _DRY:
        root, src = work / "dry-archive", work / "dry-src"
        make_files(src, 6, salt="dry")
        counter = FaultOps("none", 0, errno.EIO)
        x = Expect()
        if target == "log":
            _inprocess_workload(root, src, x, log_ops=counter)
        elif target == "blob":
            _inprocess_workload(root, src, x, blob_ops=counter)
        else:
            _inprocess_workload(root, src, x, index_fault=counter)
        _DRY[target] = counter.calls
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(src, ignore_errors=True)
    return _DRY[target]


def _child(root: Path, src: Path, x: Expect, target: str, fault: FaultOps, conn: Any) -> None:
    kw: dict[str, Any] = {"log": {"log_ops": fault}, "blob": {"blob_ops": fault},
                          "index": {"index_fault": fault}}[target]
    try:
        raised = _inprocess_workload(root, src, x, **kw)
        conn.send((raised, fault.fired, x.acked_digests, x.acked_actions, x.seed, x.seed_acked))
    except BaseException as exc:  # noqa: BLE001
        import traceback

        conn.send(([f"!workload: {traceback.format_exc()}"], fault.fired, x.acked_digests, x.acked_actions,
                   x.seed, x.seed_acked))
        raise SystemExit(1) from exc
    finally:
        conn.close()


def _in_child(root: Path, src: Path, x: Expect, target: str, fault: FaultOps) -> tuple[list[str], int]:
    """Run the faulty workload in a forked process; then the check is a restart, as after a real failure
    (a process that keeps running after an index fault is `tests/test_faults.py`'s concern)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(root, src, x, target, fault, child))
    p.start()
    child.close()
    try:
        raised, fired, x.acked_digests, x.acked_actions, x.seed, x.seed_acked = parent.recv()
    except EOFError:
        raised, fired = [f"!workload process died (exit {p.exitcode})"], 0
    p.join(60)
    return raised, fired


def run_io(work: Path, rng: random.Random, target: str) -> tuple[RunResult, Expect]:
    root, src = work / "archive", work / "src"
    counts = _dry_counts(work.parent, target)
    op = rng.choice([o for o in ("write", "fsync", "replace") if counts[o]])
    at = rng.randint(1, counts[op])
    err = rng.choice((errno.ENOSPC, errno.EIO))
    always = rng.random() < 0.4
    fault = FaultOps(op, at, err, always=always)
    x = Expect(files=make_files(src, 6, salt=f"{target[0]}{rng.randrange(10**6)}"))
    x.eventually_digests = {hashlib.sha256(d).hexdigest() for d, _ in x.files.values()}
    raised, fired = _in_child(root, src, x, target, fault)
    label = {"replace": "rename", "fsync": "fsync" if target != "index" else "create"}.get(op, op)
    r = RunResult(f"io-{target}", f"{errno.errorcode[err]} at {label} #{at}/{counts[op]}"
                  f"{' and after' if always else ''}", fired=fired > 0)
    r.acked = len(x.acked_digests) + len(x.acked_actions) + int(x.seed_acked)
    if fired and not raised:
        r.problems.append("an I/O error was injected but nothing reported it")
    r.problems += [f"unexpected error type: {e}" for e in raised if e.startswith("!")]
    try:
        r.recovered = _retry(root, src)
    except Exception as exc:  # noqa: BLE001
        r.problems.append(f"retry after the fault failed: {type(exc).__name__}: {exc}")
    return r, x


def one_run(work: Path, rng: random.Random, kind: str) -> RunResult:
    t0 = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "kill-ingest":
            r, x = run_kill_ingest(work, rng)
        elif kind == "kill-watch":
            r, x = run_kill_watch(work, rng)
        elif kind == "kill-action":
            r, x = run_kill_action(work, rng)
        else:
            r, x = run_io(work, rng, kind.removeprefix("io-"))
        losses, problems = check(work / "archive", x)
        r.losses += losses
        r.problems += problems
    except Exception:  # noqa: BLE001 -- an exception while checking is a problem of the run
        import traceback

        r = RunResult(kind, "exception while checking", fired=False, problems=[traceback.format_exc(limit=-4)])
    r.seconds = time.perf_counter() - t0
    return r


def campaign(work: Path, runs: int, seed: int = 1, *, log: Any = print, budget_s: float | None = None,
             kinds: tuple[str, ...] = KINDS, weights: tuple[int, ...] = WEIGHTS) -> list[RunResult]:
    rng = random.Random(seed)
    results: list[RunResult] = []
    t0 = time.monotonic()
    plan = [kinds[i % len(kinds)] for i in range(len(kinds))]  # each kind at least once
    plan += rng.choices(kinds, weights=weights, k=max(0, runs - len(plan)))
    rng.shuffle(plan)
    for i, kind in enumerate(plan[:runs]):
        if budget_s is not None and time.monotonic() - t0 > budget_s:
            log(f"time budget spent after {i} runs")
            break
        run_dir = work / f"run-{i:04d}"
        r = one_run(run_dir, random.Random(rng.randrange(2**32)), kind)
        results.append(r)
        if r.losses or r.problems:
            log(f"run {i} {kind} ({r.detail}): losses {r.losses} problems {r.problems}")
            keep = work / "failed" / run_dir.name
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(run_dir), str(keep))
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    return results


def table(results: list[RunResult]) -> str:
    rows = [("kind", "runs", "faults", "acked", "recovered", "losses", "problems", "s/run")]
    kinds = [k for k in KINDS if any(r.kind == k for r in results)]
    kinds += sorted({r.kind for r in results} - set(kinds))
    tot = collections.Counter()
    for k in kinds:
        rs = [r for r in results if r.kind == k]
        row = (k, len(rs), sum(r.fired for r in rs), sum(r.acked for r in rs), sum(r.recovered for r in rs),
               sum(len(r.losses) for r in rs), sum(len(r.problems) for r in rs),
               sum(r.seconds for r in rs) / len(rs))
        tot.update(dict(zip(rows[0][1:7], row[1:7], strict=True)))
        rows.append(row)
    rows.append(("total", tot["runs"], tot["faults"], tot["acked"], tot["recovered"], tot["losses"],
                 tot["problems"], sum(r.seconds for r in results) / max(1, len(results))))
    out = []
    for row in rows:
        out.append(f"{row[0]:<12}" + "".join(f"{c:>10.2f}" if isinstance(c, float) else f"{c:>10}"
                                             for c in row[1:]))
        if row[0] == "kind" or row is rows[-2]:
            out.append("-" * (12 + 10 * (len(row) - 1)))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of " + ", ".join(KINDS))
    ap.add_argument("--keep", type=Path, help="work here; failed runs are kept under failed/")
    a = ap.parse_args(argv)
    kinds = tuple(k for k in a.kinds.split(",") if k)
    weights = tuple(WEIGHTS[KINDS.index(k)] for k in kinds)
    work = a.keep or Path(tempfile.mkdtemp(prefix="archivist-faults-"))
    t0 = time.perf_counter()
    results = campaign(work, a.runs, a.seed, kinds=kinds, weights=weights)
    print(table(results))
    losses = sum(len(r.losses) for r in results)
    problems = sum(len(r.problems) for r in results)
    print(f"{len(results)} runs in {time.perf_counter() - t0:.0f} s; losses {losses} (must be 0); "
          f"other problems {problems}" + (f"; failed runs kept in {work / 'failed'}" if problems + losses else ""))
    if a.keep is None and not (problems or losses):
        shutil.rmtree(work, ignore_errors=True)
    return 1 if losses or problems else 0


if __name__ == "__main__":
    sys.exit(main())
