"""Hostile input at scale: a folder of bad files dropped into a running watcher: `python -m bench.hostile`.

    python -m bench.hostile [--files 1000] [--max-mb 1] [--keep DIR]

The generator (`make_hostile`) writes, round-robin over categories until `--files` entries exist: binary
files, truncated UTF-8, wrong encodings (cp1250, ISO-8859-2, UTF-16, mixed), 0-byte and whitespace-only files,
files over `--max-mb`, deeply nested JSON / JSON lines, CSV bombs (many columns, huge fields, quoted newlines,
unbalanced quotes), odd names (spaces, Polish letters, newlines, leading dashes, names near the 255-byte
limit, `..` inside names), symlinks out of the inbox (to /etc/passwd, to a file and a folder in a temp dir
outside), FIFOs, and Rich markup / terminal escape sequences in titles and bodies.

They are renamed into the inbox of `archivist watch --json --max-mb M`. Then every one must be either ingested
(moved to `.done/`, its digest in a SourceReceived) or rejected with a reason (moved to `.rejected/` beside
`NAME.reason.txt`; a SourceRejected in the log when its bytes could be read -- links and FIFOs are refused
before reading, so they have no digest and no log event); the watcher must still run and stop with exit 0,
without a traceback; nothing outside the inbox and the archive may be read into the archive (no blob holds
the outside files' bytes, their mtimes are unchanged) or written (the work folder outside the archive is
unchanged); `archivist verify` exits 0. Prints a table per category.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.soak import PY, ROOT, WatchProc, article_text, events_of

MUST_INGEST, MUST_REJECT, EITHER = "ingest", "reject", "either"


@dataclass
class Item:
    name: str  # relative to the inbox
    category: str
    expect: str
    make: Callable[[Path], None]


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def _article(n: int, title: str | None = None) -> str:
    text = article_text(n, "h").decode()
    if title is not None:
        lines = text.split("\n")
        lines[2] = title
        text = "\n".join(lines)
    return text


def make_hostile(n: int, outside: Path, *, max_mb: float, seed: int = 7) -> list[Item]:
    """`n` hostile items (round-robin over the categories); `outside` holds the link targets."""
    rng = random.Random(seed)
    secret = outside / "sekret.txt"
    over = int(max_mb * 1024 * 1024) + 4096

    def fifo(p: Path) -> None:
        os.mkfifo(p)

    def link(target: Path | str) -> Callable[[Path], None]:
        return lambda p: os.symlink(target, p)

    gens: list[Callable[[int], Item]] = [
        lambda i: Item(f"bin/binarny-{i}.txt", "binary", EITHER, _bytes(rng.randbytes(2000 + i))),
        lambda i: Item(f"bin/obraz-{i}.html", "binary", EITHER, _bytes(b"\x89PNG\r\n\x1a\n" + rng.randbytes(3000))),
        lambda i: Item(f"enc/ucięty-{i}.txt", "truncated utf-8", MUST_INGEST,
                       _bytes(_article(i).encode()[:-1] + "ż".encode()[:1])),
        lambda i: Item(f"enc/cp1250-{i}.txt", "wrong encoding", EITHER, _bytes(_article(i).encode("cp1250"))),
        lambda i: Item(f"enc/latin2-{i}.txt", "wrong encoding", EITHER, _bytes(_article(i).encode("iso-8859-2"))),
        lambda i: Item(f"enc/utf16-{i}.txt", "wrong encoding", EITHER, _bytes(_article(i).encode("utf-16"))),
        lambda i: Item(f"enc/mieszany-{i}.json", "wrong encoding", EITHER, _bytes(
            b'{"title": "' + "Zażółć gęślą".encode("cp1250") + b'", "body": "' + "jaźń".encode() + b'"}')),
        lambda i: Item(f"empty/pusty-{i}.txt", "empty", MUST_REJECT, _bytes(b"")),
        lambda i: Item(f"empty/spacje-{i}.json", "empty", MUST_REJECT, _bytes(b" \n\t\r\n" * 10)),
        lambda i: Item(f"empty/pusty-{i}.csv", "empty", MUST_REJECT, _bytes(b"")),
        lambda i: Item(f"huge/wielki-{i}.txt", "over --max-mb", MUST_REJECT,
                       _bytes(((_article(i) + "\n") * (over // 600 + 2)).encode()[:over + i])),
        lambda i: Item(f"nest/gleboki-{i}.json", "nested JSON", MUST_REJECT,
                       _bytes(b"[" * (50_000 + i) + b"]" * (50_000 + i))),
        lambda i: Item(f"nest/gleboki-{i}.jsonl", "nested JSON", MUST_REJECT,
                       _bytes(b'{"title": ' + b'{"a":' * 20_000 + b"1" + b"}" * 20_000 + b"}\n")),
        lambda i: Item(f"nest/zly-{i}.json", "bad JSON", MUST_REJECT, _bytes(b'{"title": "x", "body": ')),
        lambda i: Item(f"nest/typy-{i}.json", "bad JSON", EITHER,
                       _bytes(b'{"title": 123, "body": null, "published": "nigdy", "tags": {"a": 1}}')),
        lambda i: Item(f"csv/kolumny-{i}.csv", "CSV bomb", EITHER,
                       _bytes((",".join(f"k{j}" for j in range(60_000)) + "\n" +
                               ",".join("x" for _ in range(60_000)) + "\n").encode())),
        lambda i: Item(f"csv/pole-{i}.csv", "CSV bomb", EITHER,
                       _bytes(b'title,body\n"Wielkie pole",' + b'"' + b"a" * (over // 2) + b'"\n')),
        lambda i: Item(f"csv/nowe-linie-{i}.csv", "CSV bomb", EITHER,
                       _bytes(b'title,body\n' + b''.join(b'"Tytu\xc5\x82 ' + str(k).encode() + b'","' +
                                                        b'linia\n' * 200 + b'"\n' for k in range(50)))),
        lambda i: Item(f"csv/cudzyslow-{i}.csv", "CSV bomb", EITHER,
                       _bytes(b'title,body\n"niedomkni\xc4\x99ty,' + b"x" * 5000 + b"\n" * 3000)),
        lambda i: Item(f"names/z odstępami {i} .txt", "odd name", MUST_INGEST, _bytes(_article(10_000 + i).encode())),
        lambda i: Item(f"names/Zażółć gęślą jaźń {i}.txt", "odd name", MUST_INGEST,
                       _bytes(_article(20_000 + i).encode())),
        lambda i: Item(f"names/nowa\nlinia-{i}.txt", "odd name", MUST_INGEST, _bytes(_article(30_000 + i).encode())),
        lambda i: Item(f"names/-rf --help -{i}.txt", "odd name", MUST_INGEST, _bytes(_article(40_000 + i).encode())),
        lambda i: Item(f"names/a..b..{i}.txt", "odd name", MUST_INGEST, _bytes(_article(50_000 + i).encode())),
        lambda i: Item(f"names/{'ż' * 118}{i:04d}.txt", "long name", MUST_INGEST,
                       _bytes(_article(60_000 + i).encode())),
        lambda i: Item(f"names/{'x' * 243}{i:04d}.txt", "long name", MUST_REJECT, _bytes(b"")),
        lambda i: Item(f"names/tab\tcr\r{i}.txt", "odd name", MUST_INGEST, _bytes(_article(70_000 + i).encode())),
        lambda i: Item(f"links/hasla-{i}.txt", "symlink out", MUST_REJECT, link("/etc/passwd")),
        lambda i: Item(f"links/sekret-{i}.txt", "symlink out", MUST_REJECT, link(secret)),
        lambda i: Item(f"links/katalog-{i}", "symlink out", MUST_REJECT, link(outside)),
        lambda i: Item(f"links/wzgledny-{i}.txt", "symlink out", MUST_REJECT, link("../../../outside/sekret.txt")),
        lambda i: Item(f"fifo/kolejka-{i}.txt", "FIFO", MUST_REJECT, fifo),
        lambda i: Item(f"markup/rich-{i}.txt", "markup in title", MUST_INGEST, _bytes(_article(
            80_000 + i, f"[bold red]Alarm {i}[/] [link=file:///etc/passwd]kliknij[/link] \\[x]").encode())),
        lambda i: Item(f"markup/ansi-{i}.txt", "escapes in title", MUST_INGEST, _bytes(_article(
            90_000 + i, f"\x1b[31mCzerwony {i}\x1b[0m \x1b]0;tytuł okna\x07 \x1b[2J\x9b31m koniec").encode())),
        lambda i: Item(f"markup/json-{i}.json", "markup in title", MUST_INGEST, _bytes(json.dumps({
            "title": f"[blink]Migający {i}[/blink] \u202eodwrócony\u202c \x00zero", "published": "2020-01-02",
            "body": "[red]treść[/red] \x1b[1mgruba\x1b[0m " * 20}).encode())),
        lambda i: Item(f"markup/html-{i}.html", "markup in title", EITHER, _bytes(
            (f"<html><head><title>[bold]Tytuł {i}[/bold] &lt;script&gt;</title></head><body>"
             + "<div>" * 5000 + "<p>treść &amp; więcej</p>" + "</div>" * 5000
             + "<script>alert(1)</script></body></html>").encode())),
    ]
    items = [gens[i % len(gens)](i // len(gens)) for i in range(n)]
    return items


def tree_snapshot(top: Path, skip: set[Path]) -> dict[str, tuple[int, int]]:
    """{path: (size, mtime_ns)} of everything under `top` but `skip`, links not followed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for name in filenames + dirnames:
            st = os.lstat(here / name)
            out[str((here / name).relative_to(top))] = (st.st_size, st.st_mtime_ns)
    return out


def run(work: Path, n: int, *, max_mb: float = 1.0, log: Any = print) -> dict[str, Any]:
    problems: list[str] = []
    archive, outside, staging = work / "archive", work / "outside", work / "staging"
    outside.mkdir(parents=True)
    secret_bytes = ("Tajne hasło: " + "ś" * 64 + "\n").encode() * 10
    (outside / "sekret.txt").write_bytes(secret_bytes)
    (outside / "inny.txt").write_bytes(article_text(123_456, "outside"))
    items = make_hostile(n, outside, max_mb=max_mb)
    for it in items:
        p = staging / it.name
        p.parent.mkdir(parents=True, exist_ok=True)
        it.make(p)
    watched = {str(outside / "sekret.txt"), "/etc/passwd", str(outside / "inny.txt")}
    mtimes = {p: os.stat(p).st_mtime_ns for p in watched}
    subprocess.run([PY, "-m", "archivist.cli", "--archive", str(archive), "init"], check=True,
                   capture_output=True, cwd=ROOT)
    inbox = archive / "inbox"
    before = tree_snapshot(work, {archive, staging})
    w = WatchProc(archive, "--max-mb", str(max_mb), settle=0.2, rescan=2.0).started()
    t0 = time.perf_counter()
    for it in items:
        (inbox / it.name).parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging / it.name, inbox / it.name)
    names = {it.name for it in items}
    ok = w.wait_for(lambda: names <= {o["file"] for o in w.outcomes}, timeout=max(120, n * 0.6))
    took = time.perf_counter() - t0
    if not ok:
        missing = sorted(names - {o["file"] for o in w.outcomes})
        problems.append(f"{len(missing)} files without an outcome, e.g. {missing[:5]}")
    time.sleep(0.5)
    alive = w.proc.poll() is None
    if not alive:
        problems.append(f"the watcher died: exit {w.proc.returncode}")
    rc = w.stop()
    if rc != 0:
        problems.append(f"the watcher exited {rc}")
    if any("Traceback" in s for s in w.stray) or any("Traceback" in json.dumps(x) for x in w.logs):
        problems.append("a traceback in the watcher's output")
    errors = [x for x in w.logs if x.get("level") == "error"]
    problems += [f"watcher error: {json.dumps(x, ensure_ascii=False)[:300]}" for x in errors[:10]]

    records = events_of(archive)
    from store import events as ev

    received = {r.event.digest for r in records if isinstance(r.event, ev.SourceReceived)}
    rejected = {r.event.digest: r.event.reason for r in records if isinstance(r.event, ev.SourceRejected)}
    by_cat: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    outcome = {o["file"]: o for o in w.outcomes}
    for it in items:
        o = outcome.get(it.name)
        c = by_cat[it.category]
        c["files"] += 1
        if o is None:
            c["no outcome"] += 1
            continue
        res = o["result"]
        c[res] += 1
        if res == "rejected":
            moved = o.get("moved_to")
            if not moved or not (inbox / moved).exists() and not os.path.lexists(inbox / moved):
                problems.append(f"{it.name!r}: rejected but not in .rejected ({moved!r})")
            elif not (inbox / (moved + ".reason.txt")).is_file():
                problems.append(f"{it.name!r}: no {moved}.reason.txt")
            if o["digest"]:
                if o["digest"] not in rejected:
                    problems.append(f"{it.name!r}: rejected, but no SourceRejected in the log")
            elif it.category not in ("symlink out", "FIFO"):
                problems.append(f"{it.name!r} ({it.category}): rejected without a log event: {o.get('reason')}")
            if it.expect == MUST_INGEST:
                problems.append(f"{it.name!r} ({it.category}) should be ingested, rejected: {o.get('reason')}")
        else:
            if o["digest"] not in received:
                problems.append(f"{it.name!r}: {res}, but no SourceReceived in the log")
            if not o.get("moved_to") or not (inbox / o["moved_to"]).is_file():
                problems.append(f"{it.name!r}: {res} but not in .done")
            if it.expect == MUST_REJECT:
                problems.append(f"{it.name!r} ({it.category}) should be rejected, was {res}")
    # decoded right: UTF-8 read as Windows-1250 shows as "Ĺ›", "Ä…", "Ăł"
    mojibake = [r.event.title for r in records if isinstance(r.event, ev.ArticlePublished)
                and any(m in r.event.title for m in ("Ĺ", "Ä…", "Ă", "Ä™"))]
    if mojibake:
        problems.append(f"{len(mojibake)} articles recorded as mojibake, e.g. {mojibake[:3]}")
    left = [p for p in inbox.rglob("*") if not p.is_dir() or p.is_symlink()]
    left = [p for p in left if p.relative_to(inbox).parts[0] not in (".done", ".rejected", ".watch.lock")]
    if left:
        problems.append(f"{len(left)} entries left in the inbox, e.g. {[str(p) for p in left[:3]]}")
    # nothing outside read into the archive, nothing outside written
    from store.blobs import BlobStore

    forbidden = {hashlib.sha256(Path(p).read_bytes()).hexdigest(): p for p in watched}
    blobs = BlobStore(archive / "blobs")
    needles = [secret_bytes[:40], Path("/etc/passwd").read_bytes()[:40]]
    for d in blobs:
        if d in forbidden:
            problems.append(f"the archive holds the bytes of {forbidden[d]}")
        data = blobs.get(d)
        if any(nd and nd in data for nd in needles):
            problems.append(f"blob {d[:12]} contains bytes of a file outside the inbox")
    for p, m in mtimes.items():
        if os.stat(p).st_mtime_ns != m:
            problems.append(f"{p} was modified")
    after = tree_snapshot(work, {archive, staging})
    if after != before:
        diff = sorted(set(after.items()) ^ set(before.items()))
        problems.append(f"files outside the archive changed: {diff[:5]}")
    v = subprocess.run([PY, "-m", "archivist.cli", "--archive", str(archive), "verify", "--json"],
                       capture_output=True, cwd=ROOT)
    if v.returncode != 0:
        problems.append(f"verify exited {v.returncode}: {v.stdout.decode()[-1000:]}")
    # titles shown literally by the human output: no escape byte reaches the terminal, markup stays text
    for q, literal in (("koniec", "\\x1b[31m"), ("Alarm", "[bold red]")):
        h = subprocess.run([PY, "-m", "archivist.cli", "--archive", str(archive), "search", q, "--limit", "3"],
                           capture_output=True, cwd=ROOT, env={**os.environ, "COLUMNS": "200"})
        text = h.stdout.decode("utf-8", "replace")
        if h.returncode != 0 or any(c in text for c in "\x1b\x9b\x07"):
            problems.append(f"`search {q}` (human) exit {h.returncode}, control bytes in its output: {text[:300]!r}")
        elif any(it.category in ("markup in title", "escapes in title") for it in items) and literal not in text:
            problems.append(f"`search {q}` (human) does not show the title literally ({literal!r}): {text[:300]!r}")
    return {"files": n, "seconds": took, "categories": by_cat, "problems": problems, "events": len(records),
            "alive": alive, "verify": v.returncode}


def report(f: dict[str, Any], out: Any = print) -> None:
    cols = ("files", "ingested", "revised", "duplicate", "rejected", "no outcome")
    out(f"hostile: {f['files']} files, all outcomes in {f['seconds']:.1f} s; {f['events']} events; watcher "
        f"alive at the end: {f['alive']}; verify exit {f['verify']}")
    out(f"  {'category':<18}" + "".join(f"{c:>11}" for c in cols))
    for cat, c in sorted(f["categories"].items()):
        out(f"  {cat:<18}" + "".join(f"{c[k]:>11}" for k in cols))
    if f["problems"]:
        out(f"  PROBLEMS ({len(f['problems'])}):")
        for p in f["problems"][:40]:
            out(f"    - {p}")
    else:
        out("  every file ingested or rejected with a reason; nothing outside read or written; verify clean")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--max-mb", type=float, default=1.0)
    ap.add_argument("--keep", type=Path)
    a = ap.parse_args(argv)
    work = a.keep or Path(tempfile.mkdtemp(prefix="archivist-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        f = run(work, a.files, max_mb=a.max_mb)
        report(f)
        return 1 if f["problems"] else 0
    finally:
        if a.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
