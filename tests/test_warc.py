"""WARC crawls (`.warc`, `.warc.gz`) through the real command line: crawls built here record by record with
`bench.warc.Crawl` (ISO 28500 written by hand, not by the reading library), then read back by other processes."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from archivist.archive import Archive
from archivist.ingest.warc import Broken, Moved, Page, Revisit, Skipped, read_warc
from bench.warc import Crawl, page_html
from store import events as ev
from store.blobs import BlobStore
from tests.conftest import ROOT, run_cli

PAGE = "https://policja.pl/pol/aktualnosci/1-kradziez-w-sklepie.html"
NEW_HOME = "https://www.gov.pl/web/policja/kradziez-w-sklepie"
OTHER = "https://policja.pl/pol/aktualnosci/2-zatrzymanie.html"
BODY = ("Policjanci z komendy miejskiej zatrzymali mężczyznę podejrzanego o kradzież w sklepie. "
        "Sprawca wyniósł towar o wartości kilkuset złotych.\n\nGrozi mu kara do pięciu lat pozbawienia wolności.")


def small_crawl(gz: bool) -> bytes:
    """Every kind the issue names: a page, a 301 of it, a revisit, an image, plus a repeat, DNS, requests."""
    out = io.BytesIO()
    c = Crawl(out, gz=gz)
    first = page_html("Kradzież w sklepie", BODY, "2023-03-14", "Komenda Główna Policji")
    second = page_html("Zatrzymanie na gorącym uczynku", BODY.replace("kradzież", "włamanie"), "2022-11-02",
                       "Komenda Główna Policji")
    c.warcinfo()
    c.dns("policja.pl")
    c.request(PAGE)
    c.response(PAGE, first)
    c.response("https://policja.pl/img/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(2000), content_type="image/png")
    c.request(OTHER)
    c.response(OTHER, second, content_type="text/html; charset=utf-8")
    c.revisit(PAGE, first)
    c.response(OTHER, second)  # crawled again, the same bytes
    c.redirect(PAGE, NEW_HOME)
    return out.getvalue()


@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
def test_a_crawl_becomes_pages_relocations_duplicates_and_skipped_records(gz: bool, tmp_path: Path,
                                                                           archive_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    name = "crawl.warc.gz" if gz else "crawl.warc"
    data = small_crawl(gz)
    path = tmp_path / name
    path.write_bytes(data)
    r = cli("ingest", "--json", str(path))
    assert r.code == 0, r.err
    [o] = r.json()["outcomes"]
    assert o["result"] == "ingested" and o["digest"] == hashlib.sha256(data).hexdigest()
    assert (o["pages"], o["new"], o["relocations"], o["duplicates"]) == (3, 2, 1, 2)
    assert o["skipped"] == {"warcinfo": 1, "dns": 1, "request": 2, "image": 1}

    # The page's address is the record's target URI, its date the page's own (not the crawl's), and the
    # 301 moved it; both pages can be found.
    [first] = [i for i in o["articles"] if cli("show", i, "--json").json()["title"] == "Kradzież w sklepie"]
    shown = cli("show", first, "--json").json()
    assert shown["published"] == "2023-03-14" and shown["url"] == NEW_HOME
    assert shown["publisher"] == "Komenda Główna Policji" and "kilkuset złotych" in shown["body"]
    assert [u["url"] for u in shown["urls"]][:1] == [PAGE]
    assert cli("resolve", PAGE, "--json").json()["current"] == NEW_HOME
    assert cli("search", "włamanie", "--json").json()["total"] == 1
    history = cli("history", first, "--json").json()["events"]
    assert [e["type"] for e in history] == ["ArticlePublished", "ArticleRelocated"]
    assert {e["source_file"] for e in history} == {name}

    # One SourceReceived for the file, its bytes kept whole as the original.
    with Archive.open(archive_dir, create=False) as a:
        records = list(a.log.read())
        assert a.blobs.get(o["digest"]) == data
    received = [r.event for r in records if isinstance(r.event, ev.SourceReceived)]
    assert [(e.digest, e.file_name, e.size) for e in received] == [(o["digest"], name, len(data))]
    assert Counter(type(r.event).__name__ for r in records)["ArticlePublished"] == 2

    # The human report says the same, one line per crawl; the same file again adds nothing.
    again = cli("ingest", str(path))
    assert again.code == 0 and "1 duplicate" in again.out
    with Archive.open(archive_dir, create=False) as a:
        assert a.head() == len(records)
    other = tmp_path / ("other-" + name)
    other.write_bytes(small_crawl(gz) + small_crawl(gz))  # another file, the same pages: all duplicates
    r = cli("ingest", str(other))
    assert r.code == 0, r.err
    assert f"other-{name}: 6 pages (0 new, 0 revised), 0 relocations, 10 duplicates; skipped" in r.out
    assert "4 request" in r.out and "2 image" in r.out


def test_not_a_crawl_and_over_the_limit_are_rejected_with_one_line(tmp_path: Path, archive_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "notes.warc"
    bad.write_bytes(b"these are my notes, not a crawl\n")
    r = cli("ingest", str(bad))
    assert r.code == 3 and "rejected notes.warc: not a WARC file" in r.err and "Traceback" not in r.err
    assert cli("stats", "--json").json()["rejected_sources"] == 1

    big = tmp_path / "big.warc.gz"
    big.write_bytes(small_crawl(True))
    r = cli("ingest", "--max-warc-gb", "0.000001", str(big))
    assert r.code == 3 and "over the 1.0 KB limit for WARC files (--max-warc-gb); not recorded" in r.err
    assert len(r.err.strip().splitlines()) == 1
    # the page limit is another thing: the crawl is far over 1 KB, and still read (only big pages are skipped)
    r = cli("ingest", "--json", "--max-mb", "0.0001", str(big))
    assert r.code == 0 and r.json()["outcomes"][0]["skipped"]["page over the size limit"] == 3


def test_a_damaged_tail_keeps_what_came_before(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    data = small_crawl(False)
    cut = tmp_path / "cut.warc"
    cut.write_bytes(data[: data.index(b"WARC/1.1", data.index(OTHER.encode())) + 40])  # inside a record's head
    r = cli("ingest", "--json", str(cut))
    assert r.code == 0, r.err
    o = r.json()["outcomes"][0]
    assert o["new"] == 1 and o["pages"] == 1 and o["skipped"].get("unreadable rest of the file") == 1
    assert o["reason"].startswith("cut short: the last record, at byte ")

    # A page cut inside its body is not recorded half; bytes after the last record that are no record are said.
    for gz in (False, True):
        data = small_crawl(gz)
        body_cut = tmp_path / f"body-cut-{gz}.warc{'.gz' if gz else ''}"
        body_cut.write_bytes(data[:-30])
        trailing = tmp_path / f"trailing-{gz}.warc{'.gz' if gz else ''}"
        trailing.write_bytes(data + b"this is not a record")
        for path, cut_short, reason in ((body_cut, 1, "cut short"), (trailing, None, "damaged after byte")):
            r = cli("ingest", "--json", str(path))
            assert r.code == 0, r.err
            o = r.json()["outcomes"][0]
            assert o["reason"].startswith(reason) and o["skipped"]["unreadable rest of the file"] == 1, o
            assert o["pages"] == 3 and o["skipped"].get("record cut short") == cut_short  # the 301 is last


@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
def test_a_crawl_of_one_page_cut_short_records_no_half_page(gz: bool, tmp_path: Path) -> None:
    out = io.BytesIO()
    Crawl(out, gz=gz).response(PAGE, page_html("Kradzież w sklepie", BODY, "2023-03-14", "KGP"))
    path = tmp_path / "one.warc"
    path.write_bytes(out.getvalue()[:-200])  # the only record, at byte 0, cut short
    with open(path, "rb") as f:
        items = list(read_warc(f, max_page_bytes=1 << 20))
    assert [type(i) for i in items] == [Skipped, Broken] and items[0] == Skipped("record cut short")


def test_the_reader_streams_and_reports_progress(tmp_path: Path) -> None:
    out = io.BytesIO()
    c = Crawl(out, gz=True)
    c.response(PAGE, page_html("Tytuł", BODY, "2020-01-02", "KGP"))
    c.response("https://policja.pl/film.mp4", bytes(3_000_000), content_type="video/mp4")
    c.redirect("http://policja.pl/stary", "/nowy", status="302 Found")
    c.revisit(PAGE, b"")
    path = tmp_path / "c.warc.gz"
    path.write_bytes(out.getvalue())
    seen: list[tuple[int, int]] = []
    with open(path, "rb") as f:
        items = list(read_warc(f, max_page_bytes=1 << 20, progress=lambda d, t: seen.append((d, t))))
    assert [type(i) for i in items] == [Page, Skipped, Moved, Revisit]
    assert items[2] == Moved("http://policja.pl/stary", "http://policja.pl/nowy")
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_blob_put_file_streams_to_the_same_blob_as_put(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    data = os.urandom(3 * 1024 * 1024 + 17)
    done: list[int] = []
    with io.BytesIO(data) as f:
        digest, size = blobs.put_file(f, chunk=1 << 20, progress=done.append)
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data)) and done[-1] == len(data)
    assert blobs.get(digest) == data and blobs.put(data) == digest
    with io.BytesIO(data) as f:
        assert blobs.put_file(f) == (digest, size)  # already there: nothing left behind
    assert list((tmp_path / "blobs" / "incoming").iterdir()) == []
    assert blobs.check() == [] and list(blobs) == [digest]
    stale = tmp_path / "blobs" / "incoming" / ".tmp-4242-0123456789abcdef"  # a crash mid-copy, long ago
    stale.write_bytes(b"partial")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    BlobStore(tmp_path / "blobs")
    assert not stale.exists()


# --- memory and crashes --------------------------------------------------------------------------------------

def _peak_rss_of_ingest(archive: Path, path: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = ("import resource, runpy, sys; sys.argv = ['archivist', '--archive', sys.argv[1], 'ingest', '--json', "
            "sys.argv[2]]\ntry:\n    runpy.run_module('archivist.cli', run_name='__main__')\nexcept SystemExit:\n"
            "    pass\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, str(archive), str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    import json

    return int(proc.stderr.strip().splitlines()[-1]), json.loads(proc.stdout)


def test_memory_does_not_grow_with_the_size_of_a_record(tmp_path: Path) -> None:
    """A 200 MB video inside the crawl costs the ingest no more memory than a 2 KB one: nothing is held."""
    sizes = {}
    for label, video in (("small", 2_000), ("large", 200_000_000)):
        path = tmp_path / f"{label}.warc"
        with open(path, "wb") as f:
            c = Crawl(f)
            c.response(PAGE, page_html("Kradzież w sklepie", BODY, "2023-03-14", "KGP"))
            c.large("https://policja.pl/film.mp4", video)
        rss, summary = _peak_rss_of_ingest(tmp_path / f"archive-{label}", path)
        assert summary["outcomes"][0]["new"] == 1
        sizes[label] = rss
    assert sizes["large"] - sizes["small"] < 40 * 1024, sizes  # KB: well under the record's 195,000 KB


def test_kill_9_mid_crawl_loses_nothing_and_the_same_file_resumes(tmp_path: Path, archive_dir: Path) -> None:
    path = tmp_path / "big.warc.gz"
    n = 1500
    with open(path, "wb") as f:
        c = Crawl(f, gz=True)
        c.warcinfo()
        for i in range(n):
            url = f"https://policja.pl/pol/aktualnosci/{i}-komunikat.html"
            c.request(url)
            c.response(url, page_html(f"Komunikat numer {i}", f"{BODY}\n\nSprawa numer {i}.",
                                      f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}", "KGP"))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert run_cli(archive_dir, "init").code == 0
    proc = subprocess.Popen([sys.executable, "-m", "archivist.cli", "--archive", str(archive_dir), "ingest",
                             str(path)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        head = 0
        while head == 0 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            with Archive.open(archive_dir, readonly=True) as a:
                head = a.head()  # a reader: no lock, sees what was acknowledged
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the ingest ended before it could be killed mid-crawl"
    with Archive.open(archive_dir, create=False) as a:
        records = list(a.log.read())
    before = sum(isinstance(r.event, ev.ArticlePublished) for r in records)
    assert 0 < before < n  # some batches in, whole; the receipt not yet
    assert not any(isinstance(r.event, ev.SourceReceived | ev.SourceRejected) for r in records)

    r = run_cli(archive_dir, "ingest", "--json", str(path), timeout=300)
    assert r.code == 0, r.err
    o = r.json()["outcomes"][0]
    assert (o["pages"], o["new"], o["duplicates"]) == (n, n - before, before)
    with Archive.open(archive_dir, create=False) as a:
        records = list(a.log.read())
        assert a.verify().ok
    published = Counter(r.stream for r in records if isinstance(r.event, ev.ArticlePublished))
    assert len(published) == n and set(published.values()) == {1}
    assert [r.event.digest for r in records if isinstance(r.event, ev.SourceReceived)] == [digest]


def test_the_watcher_takes_a_dropped_crawl(archive_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    from tests.test_watch import Watch, put

    assert cli("init").code == 0
    inbox = archive_dir / "inbox"
    w = Watch(archive_dir, "--max-warc-gb", "1")
    try:
        w.started()
        put(inbox / "policja" / "crawl.warc.gz", small_crawl(True))
        o = w.outcome("policja/crawl.warc.gz")
        assert o["result"] == "ingested" and o["moved_to"] == ".done/policja/crawl.warc.gz"
        assert (o["pages"], o["new"], o["relocations"], o["duplicates"]) == (3, 2, 1, 2)
        assert o["skipped"] == {"warcinfo": 1, "dns": 1, "request": 2, "image": 1}
        assert w.stop() == 0 and not w.errors() and not w.stray
    finally:
        w.kill()
    shown = cli("show", o["articles"][0], "--json").json()
    assert "policja" in shown["tags"]
