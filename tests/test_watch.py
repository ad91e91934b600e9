"""`archivist watch` as operators run it: a real process on a temp archive, files dropped the ways people drop
them, and the log read back by other processes. The crash campaign kills it with SIGKILL while files arrive."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archivist.archive import Archive
from store import events as ev

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "archivist" / "samples"
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"
SEEDS = ROOT.parent / "shared" / "corpus" / "seeds"

WORDS = ("policjanci", "komenda", "wojewódzka", "spotkanie", "współpraca", "handel", "ludźmi", "szkolenie",
         "bezpieczeństwo", "mieszkańcy", "zespół", "przeciwdziałania", "ofiary", "pomoc", "gmina", "powiat",
         "straż", "graniczna", "żołnierze", "ćwiczenia", "świadkowie", "zgłoszenie", "źródło", "młodzież")


def polish_article(n: int, *, words: int = 60) -> bytes:
    """A small page dump with a unique title and date, deterministic in `n`."""
    day, month, year = 1 + n % 28, 1 + (n // 28) % 12, 2012 + (n // 336) % 14
    body = " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(words))
    return (f"Aktualności\n\nKomunikat nr {n}: {WORDS[n % len(WORDS)]} i {WORDS[(n // 3) % len(WORDS)]}\n\n"
            f"Data publikacji {day:02d}.{month:02d}.{year}\n\n{body.capitalize()}.\n\n"
            f"Sprawa numer {n} jest nadal wyjaśniana przez zespół.\n").encode()


class Watch:
    """`archivist --archive A watch [INBOX] --json …` in the background, its NDJSON collected as it comes."""

    def __init__(self, archive: Path, *args: str, settle: float = 0.3, rescan: float = 2.0) -> None:
        cmd = [sys.executable, "-m", "archivist.cli", "--archive", str(archive), "watch",
               "--settle", str(settle), "--rescan", str(rescan), "--json", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                                     env={**os.environ, "COLUMNS": "120"})
        self.outcomes: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.stray: list[str] = []  # output lines that are not JSON (a traceback would land here)
        self._cond = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(s, into), daemon=True)
                         for s, into in ((self.proc.stdout, self.outcomes), (self.proc.stderr, self.logs))]
        for t in self._readers:
            t.start()

    def _read(self, stream: Any, into: list[dict[str, Any]]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                try:
                    into.append(json.loads(line))
                except ValueError:
                    self.stray.append(line)
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    self._cond.release()
                    try:
                        for t in self._readers:
                            t.join(2)
                    finally:
                        self._cond.acquire()
                    if predicate():
                        return
                    raise AssertionError(f"timed out waiting for {what}: rc={self.proc.poll()} "
                                         f"outcomes={self.outcomes} logs={self.logs} stray={self.stray}")
                self._cond.wait(min(left, 0.2))

    def started(self, timeout: float = 30) -> Watch:
        self.wait_for(lambda: any(x.get("event") == "start" for x in self.logs), timeout, "the start line")
        return self

    def outcome(self, file: str, timeout: float = 30) -> dict[str, Any]:
        self.wait_for(lambda: any(o["file"] == file for o in self.outcomes), timeout, file)
        return next(o for o in self.outcomes if o["file"] == file)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        for t in self._readers:
            t.join(5)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for t in self._readers:
            t.join(5)

    def errors(self) -> list[dict[str, Any]]:
        return [x for x in self.logs if x.get("level") == "error"]


@pytest.fixture
def watch(archive_dir: Path):  # type: ignore[no-untyped-def]
    started: list[Watch] = []

    def start(*args: str, **kw: Any) -> Watch:
        w = Watch(archive_dir, *args, **kw)
        started.append(w)
        return w.started()

    yield start
    for w in started:
        w.kill()


@pytest.fixture
def inbox(archive_dir: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    assert cli("init").code == 0
    return archive_dir / "inbox"


def put(path: Path, data: bytes) -> Path:
    """The polite way to drop a file: a temp name, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def waiting(inbox: Path) -> list[str]:
    """Files still in the inbox (not under .done/.rejected, not the watcher's lock)."""
    return sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*")
                  if (p.is_file() or p.is_symlink()) and not p.relative_to(inbox).parts[0].startswith("."))


def events_of(archive_dir: Path) -> list[ev.Record]:
    with Archive.open(archive_dir, create=False) as a:
        return list(a.log.read())


def published_per_article(records: list[ev.Record]) -> Counter[str]:
    return Counter(r.stream for r in records if isinstance(r.event, ev.ArticlePublished))


def received_per_digest(records: list[ev.Record]) -> Counter[str]:
    return Counter(r.event.digest for r in records if isinstance(r.event, ev.SourceReceived | ev.SourceRejected))


def seed(name: str) -> bytes:
    matches = sorted(SEEDS.glob(f"{name}_*.txt")) if SEEDS.is_dir() else []
    if not matches:
        pytest.skip(f"the shared seeds are absent ({SEEDS})")
    return matches[0].read_bytes()


# --- what operators see -----------------------------------------------------------------------------------

def test_dropped_files_are_ingested_once_tagged_and_moved(watch, inbox: Path, cli) -> None:  # type: ignore[no-untyped-def]
    w = watch(rescan=600)  # no rescans after the first: the file-system events alone must do it
    put(inbox / "policja" / "szczecin" / "wspolnie.txt", seed("001"))
    put(inbox / "portal" / "ukraina.txt", seed("002"))
    shutil.copy(FIXTURES / "artykuly.json", inbox / "artykuly.json")  # a plain copy, not a rename
    a = w.outcome("policja/szczecin/wspolnie.txt")
    b = w.outcome("portal/ukraina.txt")
    c = w.outcome("artykuly.json")
    assert a["result"] == b["result"] == c["result"] == "ingested"
    assert (a["new"], b["new"], c["new"]) == (1, 1, 2)
    assert a["tags"] == ["policja", "szczecin"] and a["moved_to"] == ".done/policja/szczecin/wspolnie.txt"
    assert set(a) >= {"file", "result", "digest", "articles", "reason", "moved_to", "at"}
    assert (inbox / ".done" / "policja" / "szczecin" / "wspolnie.txt").read_bytes() == seed("001")
    assert waiting(inbox) == []
    assert w.stop() == 0
    assert not w.stray and not w.errors()

    # Another process sees each article exactly once, with the folder tags, the banners and the relocation.
    stats = cli("stats", "--json").json()
    assert stats["articles"] == 4 and stats["sources"] == 3 and stats["rejected_sources"] == 0
    shown = cli("show", a["articles"][0], "--json").json()
    assert shown["title"] == "Wspólnie przeciwko handlowi ludźmi" and shown["published"] == "2017-06-29"
    assert shown["status"] == "archived" and {"policja", "szczecin"} <= set(shown["tags"])
    moved = cli("show", b["articles"][0], "--json").json()
    assert moved["status"] == "archived" and moved["url"] is None  # its portal moved, not the article
    history = cli("history", a["articles"][0], "--json").json()["events"]
    assert [e["type"] for e in history].count("ArticlePublished") == 1
    assert {e["source_file"] for e in history} == {"policja/szczecin/wspolnie.txt"}
    assert all(e["actor"].startswith("watch:") for e in history)
    records = events_of(inbox.parent)
    assert set(published_per_article(records).values()) == {1}
    assert set(received_per_digest(records).values()) == {1}


def test_files_already_in_the_inbox_are_taken_at_start(watch, inbox: Path, cli) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(SAMPLES / "policja", inbox / "policja")
    shutil.copy(SAMPLES / "portal-archiwalny" / "2012-05-22-kampania-przed-euro-2012.txt", inbox)
    expected = waiting(inbox)
    assert len(expected) == 9
    w = watch(rescan=600)
    w.wait_for(lambda: len(w.outcomes) == len(expected), 30, "every file")
    assert sorted(o["file"] for o in w.outcomes) == expected
    assert {o["result"] for o in w.outcomes} == {"ingested"}
    jsonl = w.outcome("policja/poznan/eksport-cms-2025.jsonl")
    assert jsonl["new"] == 3 and jsonl["tags"] == ["policja", "poznan"]
    assert waiting(inbox) == []
    assert w.stop() == 0
    stats = cli("stats", "--json").json()
    assert stats["articles"] == 11 and stats["by_status"] == {"live": 7, "archived": 3, "withdrawn": 1}


def test_a_slowly_written_file_is_taken_once_and_complete(watch, inbox: Path, cli) -> None:  # type: ignore[no-untyped-def]
    w = watch()
    data = seed("003")
    chunks = [data[i:i + len(data) // 20 + 1] for i in range(0, len(data), len(data) // 20 + 1)]
    with open(inbox / "powoli.txt", "wb") as f:  # written in place, 20 chunks over ~2 s
        for chunk in chunks:
            f.write(chunk)
            f.flush()
            time.sleep(0.1)
    o = w.outcome("powoli.txt")
    time.sleep(1.0)  # time for a wrong second take
    assert [x["file"] for x in w.outcomes] == ["powoli.txt"]
    assert o["result"] == "ingested" and o["digest"] == hashlib.sha256(data).hexdigest()
    assert w.stop() == 0
    shown = cli("show", o["articles"][0], "--json").json()
    assert shown["title"] == "Spotkanie Grupy Zadaniowej ds. Handlu Ludźmi" and shown["published"] == "2015-10-17"
    assert "Kolejne spotkanie Grupy zostało zaplanowane na marzec" in shown["body"]  # the last paragraph


def test_partial_and_temp_names_wait_until_renamed(watch, inbox: Path) -> None:  # type: ignore[no-untyped-def]
    w = watch()
    names = ["pobierane.txt.part", "strona.html.crdownload", "zapis.txt.tmp", "~$dokument.txt", ".ukryty.txt"]
    for i, name in enumerate(names):
        (inbox / name).write_bytes(polish_article(i))
    time.sleep(2.6)  # past the settle delay and one rescan
    assert w.outcomes == [] and sorted(waiting(inbox) + [".ukryty.txt"]) == sorted(names)
    os.rename(inbox / "pobierane.txt.part", inbox / "pobierane.txt")
    o = w.outcome("pobierane.txt")
    assert o["result"] == "ingested" and o["digest"] == hashlib.sha256(polish_article(0)).hexdigest()
    time.sleep(0.5)
    assert len(w.outcomes) == 1
    assert w.stop() == 0


def test_rejected_files_go_to_rejected_beside_their_reason(watch, inbox: Path, cli) -> None:  # type: ignore[no-untyped-def]
    w = watch()
    put(inbox / "zrzut.bin", b"\x00\x01\x02binary")
    put(inbox / "dzial" / "pusty.txt", b"")
    put(inbox / "binarny.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    put(inbox / "dobry.txt", polish_article(1))
    reasons = {}
    for name in ("zrzut.bin", "dzial/pusty.txt", "binarny.txt"):
        o = w.outcome(name)
        assert o["result"] == "rejected" and o["reason"] and o["moved_to"] == f".rejected/{name}"
        note = (inbox / ".rejected" / (name + ".reason.txt")).read_text(encoding="utf-8")
        assert note.splitlines()[0] == o["reason"] and o["digest"] in note
        reasons[name] = o["reason"]
    assert "unsupported file type" in reasons["zrzut.bin"] and "empty" in reasons["dzial/pusty.txt"]
    assert w.outcome("dobry.txt")["result"] == "ingested"
    assert waiting(inbox) == []
    assert w.stop() == 0 and not w.stray
    stats = cli("stats", "--json").json()
    assert stats["articles"] == 1 and stats["rejected_sources"] == 3
    with Archive.open(inbox.parent, create=False) as a:  # the rejected bytes are kept all the same
        assert all(a.blobs.exists(d) for d in a.state.sources)
    assert cli("verify").code == 0


def test_links_and_special_files_are_rejected_never_followed(watch, inbox: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "poza"
    outside.mkdir()
    (outside / "tajny.txt").write_bytes(polish_article(7))
    w = watch()
    os.symlink(outside / "tajny.txt", inbox / "link.txt")
    os.symlink(outside, inbox / "katalog")
    os.mkfifo(inbox / "potok.txt")  # reading it would block for ever
    for name in ("link.txt", "katalog", "potok.txt"):
        o = w.outcome(name)
        assert o["result"] == "rejected" and o["moved_to"] == f".rejected/{name}", o
        assert (inbox / ".rejected" / (name + ".reason.txt")).is_file()
    assert "link" in w.outcome("link.txt")["reason"] and "regular file" in w.outcome("potok.txt")["reason"]
    assert (outside / "tajny.txt").read_bytes() == polish_article(7)  # the target is untouched
    assert os.path.islink(inbox / ".rejected" / "link.txt")
    assert w.stop() == 0
    assert cli("stats", "--json").json()["articles"] == 0


def test_re_drops_name_clashes_and_revisions(watch, inbox: Path, cli) -> None:  # type: ignore[no-untyped-def]
    w = watch()
    put(inbox / "komunikat.txt", polish_article(3))
    first = w.outcome("komunikat.txt")
    put(inbox / "komunikat.txt", polish_article(3))  # the same bytes again, under the same name
    w.wait_for(lambda: len(w.outcomes) == 2, 30, "the second drop")
    again = w.outcomes[1]
    assert again["result"] == "duplicate" and again["known"] and again["moved_to"] == ".done/komunikat.1.txt"
    changed = polish_article(3).replace(b"jest nadal", b"zostala juz")
    put(inbox / "komunikat.txt", changed)  # a changed version of the same article
    w.wait_for(lambda: len(w.outcomes) == 3, 30, "the revision")
    rev = w.outcomes[2]
    assert rev["result"] == "revised" and rev["articles"] == first["articles"]
    assert rev["moved_to"] == ".done/komunikat.2.txt"
    assert sorted(p.name for p in (inbox / ".done").iterdir()) == ["komunikat.1.txt", "komunikat.2.txt",
                                                                   "komunikat.txt"]
    assert w.stop() == 0
    types = [e["type"] for e in cli("history", first["articles"][0], "--json").json()["events"]]
    assert types.count("ArticlePublished") == 1 and types.count("ArticleRevised") == 1


def test_a_restart_after_a_crash_between_append_and_move_records_nothing_twice(watch, inbox: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The state a kill -9 leaves after the append but before the move: the log has the files, the inbox too.
    staged = tmp_path / "staged"
    put(staged / "dobry.txt", polish_article(11))
    put(staged / "zly.txt", b"")
    assert cli("ingest", str(staged)).code == 3
    head = cli("stats", "--json").json()["head"]
    shutil.copytree(staged, inbox, dirs_exist_ok=True)
    w = watch()
    good, bad = w.outcome("dobry.txt"), w.outcome("zly.txt")
    assert good["result"] == "duplicate" and good["known"] and good["moved_to"] == ".done/dobry.txt"
    assert bad["result"] == "rejected" and bad["known"] and bad["moved_to"] == ".rejected/zly.txt"
    assert "empty" in bad["reason"]
    assert w.stop() == 0
    assert cli("stats", "--json").json()["head"] == head


def test_sigint_and_sigterm_stop_cleanly(watch, inbox: Path) -> None:  # type: ignore[no-untyped-def]
    for sig in (signal.SIGINT, signal.SIGTERM):
        w = watch()
        put(inbox / f"plik-{sig}.txt", polish_article(int(sig)))
        w.outcome(f"plik-{sig}.txt")
        assert w.stop(sig) == 0
        assert not w.stray and not w.errors()


def test_poll_mode_for_network_file_systems(watch, inbox: Path, cli) -> None:  # type: ignore[no-untyped-def]
    w = watch("--poll", "0.5", rescan=600)  # no rescans: the poller alone finds the files
    assert "polling" in next(x for x in w.logs if x.get("event") == "start")["message"]
    put(inbox / "straz-graniczna" / "patrole.txt",
        (SAMPLES / "straz-graniczna" / "2019-09-26-wspolne-patrole-z-litwa.txt").read_bytes())
    with open(inbox / "wolno.txt", "wb") as f:  # slower than the poll interval
        for i in range(4):
            f.write(polish_article(21)[i * 100:(i + 1) * 100] if i < 3 else polish_article(21)[300:])
            f.flush()
            time.sleep(0.3)
    o = w.outcome("straz-graniczna/patrole.txt")
    assert o["result"] == "ingested" and o["tags"] == ["straz-graniczna"]
    slow = w.outcome("wolno.txt")
    assert slow["digest"] == hashlib.sha256(polish_article(21)).hexdigest()
    assert len(w.outcomes) == 2 and waiting(inbox) == []
    assert w.stop() == 0
    assert cli("stats", "--json").json()["articles"] == 2


def test_one_watcher_per_inbox_and_a_named_inbox(watch, inbox: Path, archive_dir: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = watch()
    second = cli("watch", "--settle", "0.1", timeout=30)
    assert second.code == 2 and "already watching" in second.err and "Traceback" not in second.err
    assert w.stop() == 0
    missing = cli("watch", str(tmp_path / "nie-ma"), timeout=30)
    assert missing.code == 2 and "no such folder" in missing.err
    other = tmp_path / "skrzynka"
    other.mkdir()
    put(other / "region" / "a.txt", polish_article(5))
    w2 = watch(str(other))
    assert w2.outcome("region/a.txt")["moved_to"] == ".done/region/a.txt"
    assert (other / ".done" / "region" / "a.txt").is_file() and w2.stop() == 0
    bad = cli("watch", "--settle", "soon")
    assert bad.code == 2 and "Traceback" not in bad.err


def test_human_output_is_one_line_per_file(inbox: Path, archive_dir: Path) -> None:
    put(inbox / "policja" / "a.txt", polish_article(8))
    put(inbox / "b.xyz", b"cos")
    proc = subprocess.Popen([sys.executable, "-m", "archivist.cli", "--archive", str(archive_dir), "watch",
                             "--settle", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while waiting(inbox) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    lines = out.decode().splitlines()
    assert len(lines) == 2, lines
    assert any(line.startswith("ingested") and "policja/a.txt" in line and ".done/policja/a.txt" in line
               for line in lines)
    assert any(line.startswith("rejected") and "b.xyz" in line and "unsupported" in line for line in lines)
    assert "level=info event=start" in err.decode() and "Traceback" not in err.decode()


# --- in-process: failures no file should cause -----------------------------------------------------------

def test_an_unexpected_error_on_one_file_does_not_stop_the_watcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import archivist.watch as watch_mod
    from archivist import errors

    class Flaky(watch_mod.Ingestor):
        def add_file(self, path: Path, tags: Any = (), *, name: str | None = None, within: Any = None) -> Any:
            if path.name == "boom.txt":
                raise RuntimeError("kaboom")
            if path.name == "zamkniety.txt":
                raise errors.InputRejected(f"{path}: cannot be read: Permission denied") from PermissionError(13, "x")
            if path.name == "znika.txt":
                path.unlink()
                raise errors.InputRejected(f"{path}: cannot be read: gone") from FileNotFoundError(2, "x")
            return super().add_file(path, tags, name=name, within=within)

    monkeypatch.setattr(watch_mod, "Ingestor", Flaky)
    archive = Archive.open(tmp_path / "a", actor="watch:test")
    inbox = archive.root / "inbox"
    reports: list[Any] = []
    logs: list[Any] = []
    w = watch_mod.Watcher(archive, inbox, settle=0.1, rescan=0.5, report=reports.append, log=logs.append)
    for name in ("boom.txt", "ok.txt", "zamkniety.txt", "znika.txt"):
        put(inbox / name, polish_article(len(name)))
    t = threading.Thread(target=w.run)
    t.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
                {r.file for r in reports} >= {"ok.txt", "zamkniety.txt"}
                and sum(1 for x in logs if x.level == "error" and x.file == "boom.txt") >= 2):
            time.sleep(0.05)
        assert t.is_alive()
        put(inbox / "pozniej.txt", polish_article(99))  # still working after the failures
        while time.monotonic() < deadline and "pozniej.txt" not in {r.file for r in reports}:
            time.sleep(0.05)
    finally:
        w.stop()
        t.join(10)
    by_file = {r.file: r for r in reports}
    assert by_file["ok.txt"].result == "ingested" and by_file["pozniej.txt"].result == "ingested"
    assert by_file["zamkniety.txt"].result == "rejected" and "Permission denied" in by_file["zamkniety.txt"].reason
    assert (inbox / ".rejected" / "zamkniety.txt.reason.txt").is_file()
    assert "znika.txt" not in by_file  # vanished: skipped quietly
    assert "boom.txt" not in by_file and (inbox / "boom.txt").is_file()  # left for a later retry
    boom = [x for x in logs if x.file == "boom.txt"]
    assert boom and "kaboom" in boom[0].message and boom[0].level == "error"
    assert w.fatal is None
    archive.close()


def test_the_cli_loads_watchdog_only_when_watching() -> None:
    code = ("import sys, archivist.cli as c; c.build_parser(); "
            "print('watchdog' in sys.modules, 'archivist.watch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr
    helped = subprocess.run([sys.executable, "-m", "archivist.cli", "watch", "--help"], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    assert helped.returncode == 0 and "--poll" in helped.stdout and "--settle" in helped.stdout


# --- the crash campaign -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_kill_9_at_random_moments_loses_and_doubles_nothing(inbox: Path, archive_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(20261125)
    n_files, kills = 300, 20
    contents = {f"region-{i % 4}/komunikat-{i:04d}.txt": polish_article(i) for i in range(n_files)}
    names = list(contents)
    stop_writing = threading.Event()

    def writer() -> None:
        for k, name in enumerate(names):
            if stop_writing.is_set():
                return
            path = inbox / name
            if k % 3 == 0:  # written in place, in two steps
                path.parent.mkdir(parents=True, exist_ok=True)
                data = contents[name]
                with open(path, "wb") as f:
                    f.write(data[:50])
                    f.flush()
                    f.write(data[50:])
            else:
                put(path, contents[name])
            if k % 20 == 0:
                time.sleep(rng.uniform(0.05, 0.3))  # arrivals come in bursts

    t = threading.Thread(target=writer)
    t.start()
    known_runs = 0
    try:
        for _ in range(kills):
            w = Watch(archive_dir, settle=0.2, rescan=1.0)
            w.started(timeout=30)
            time.sleep(rng.uniform(0.05, 0.9))
            w.kill()
            known_runs += sum(1 for o in w.outcomes if o.get("known"))
            assert not any("Traceback" in line for line in w.stray), w.stray
    finally:
        stop_writing.set()
        t.join(60)
    # A last, undisturbed watcher takes whatever is left.
    w = Watch(archive_dir, settle=0.2, rescan=1.0).started()
    deadline = time.monotonic() + 40
    while waiting(inbox) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert w.stop() == 0
    assert waiting(inbox) == [], "files left behind"

    records = events_of(archive_dir)
    digests = {hashlib.sha256(data).hexdigest() for data in contents.values()}
    per_digest = received_per_digest(records)
    assert set(per_digest) == digests, "a file was lost (or something unexpected was recorded)"
    assert set(per_digest.values()) == {1}, "a file was recorded twice"
    per_article = published_per_article(records)
    assert len(per_article) == n_files and set(per_article.values()) == {1}
    assert not any(isinstance(r.event, ev.SourceRejected) for r in records)
    done = sorted(p.relative_to(inbox / ".done").as_posix() for p in (inbox / ".done").rglob("*") if p.is_file())
    assert done == sorted(names), "every file moved to .done exactly once"
    for name in names:
        assert (inbox / ".done" / name).read_bytes() == contents[name]
    verify = cli("verify", "--json")
    assert verify.code == 0, verify.out + verify.err
    print(f"{kills} kills; {known_runs} files seen again after a kill between append and move")
