"""WARC crawls: a generated crawl, read and ingested. `python -m bench.warc [--mb 1000] [--gzip] [--compare]`.

The crawl is written here, byte by byte to ISO 28500 (WARC/1.1), with no WARC library — so the tests build
their small crawls with the same writer (`Crawl`) and a reader bug cannot hide behind a writer bug of the same
library. Per generated page: a request record, the HTML response (an article of `bench.corpus_gen` inside ~30 KB
of site chrome: menus, scripts, footers, as real police portals have), and, in proportion, images (~100 KB),
style sheets, DNS records, metadata, 301s to the page's new address, and revisits of pages crawled before.

* default: ingest the crawl through `archivist ingest` in a subprocess on a fresh archive, printing pages/s,
  megabytes/s and the process's peak RSS (`ru_maxrss` of the child) — memory must stay flat as the file grows.
* `--compare`: read the crawl with warcio and with fastwarc (each in its own subprocess: records, HTML pages
  with their bodies read, seconds and peak RSS), the measurement that chose the library.

Figures are noisy (two cores shared with other work); printed, never asserted. Temp files go under /tmp.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from bench.corpus_gen import articles

CHROME_KB = 30
IMAGE_KB = 100


def _digest(data: bytes) -> str:
    import base64

    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


class Crawl:
    """Writes WARC/1.1 records to `out`, each record its own gzip member when `gz` (as crawlers do)."""

    def __init__(self, out: BinaryIO, *, gz: bool = False, seed: int = 1) -> None:
        self.out = out
        self.gz = gz
        self.rng = random.Random(seed)
        self.when = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)

    def record(self, kind: str, block: bytes, *, uri: str | None = None, content_type: str | None = None,
               extra: dict[str, str] | None = None, zeros: int = 0) -> str:
        """One record; `zeros`: that many zero bytes after `block`, written a megabyte at a time (a record
        larger than memory, plain WARC only)."""
        rid = f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"
        self.when += dt.timedelta(seconds=1)
        head = [f"WARC-Type: {kind}", f"WARC-Record-ID: {rid}",
                f"WARC-Date: {self.when.strftime('%Y-%m-%dT%H:%M:%SZ')}"]
        if uri is not None:
            head.append(f"WARC-Target-URI: {uri}")
        for k, v in (extra or {}).items():
            head.append(f"{k}: {v}")
        if content_type is not None:
            head.append(f"Content-Type: {content_type}")
        head.append(f"Content-Length: {len(block) + zeros}")
        top = ("WARC/1.1\r\n" + "\r\n".join(head) + "\r\n\r\n").encode("utf-8")
        if zeros:
            assert not self.gz
            self.out.write(top + block)
            for start in range(0, zeros, 1 << 20):
                self.out.write(bytes(min(1 << 20, zeros - start)))
            self.out.write(b"\r\n\r\n")
            return rid
        raw = top + block + b"\r\n\r\n"
        self.out.write(gzip.compress(raw, compresslevel=1) if self.gz else raw)
        return rid

    def warcinfo(self) -> str:
        return self.record("warcinfo", b"software: bench.warc\r\nformat: WARC File Format 1.1\r\n",
                           content_type="application/warc-fields")

    def request(self, uri: str) -> str:
        host = uri.split("/")[2]
        path = "/" + uri.split("/", 3)[3] if uri.count("/") >= 3 else "/"
        block = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench\r\n\r\n".encode()
        return self.record("request", block, uri=uri, content_type="application/http;msgtype=request")

    def response(self, uri: str, body: bytes, *, status: str = "200 OK", content_type: str = "text/html",
                 headers: dict[str, str] | None = None) -> str:
        lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        block = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        return self.record("response", block, uri=uri, content_type="application/http;msgtype=response",
                           extra={"WARC-Payload-Digest": _digest(body)})

    def large(self, uri: str, size: int, content_type: str = "video/mp4") -> str:
        """A response of `size` zero bytes, never held in memory."""
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {size}\r\n\r\n".encode()
        return self.record("response", head, uri=uri, content_type="application/http;msgtype=response", zeros=size)

    def redirect(self, uri: str, location: str, status: str = "301 Moved Permanently") -> str:
        return self.response(uri, b"", status=status, headers={"Location": location})

    def revisit(self, uri: str, body: bytes, first_date: str = "2024-05-01T12:00:01Z") -> str:
        block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
        return self.record("revisit", block, uri=uri, content_type="application/http;msgtype=response", extra={
            "WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
            "WARC-Refers-To-Target-URI": uri, "WARC-Refers-To-Date": first_date,
            "WARC-Payload-Digest": _digest(body)})

    def dns(self, host: str) -> str:
        return self.record("response", f"20240501120000\n{host}.\t300\tIN\tA\t192.0.2.7\n".encode(),
                           uri=f"dns:{host}", content_type="text/dns")

    def metadata(self, uri: str) -> str:
        return self.record("metadata", b"outlinks: 3\r\n", uri=uri, content_type="application/warc-fields")


def page_html(title: str, body: str, published: str, publisher: str, *, chrome_kb: int = 0,
              rng: random.Random | None = None) -> bytes:
    """A saved article page as a portal serves it: head metadata, the article, and `chrome_kb` of chrome."""
    paragraphs = "".join(f"<p>{p}</p>\n" for p in body.split("\n\n"))
    chrome = ""
    if chrome_kb:
        rng = rng or random.Random(0)
        links = "".join(f'<li><a href="/k/{rng.randrange(10**6)}">Komunikat {rng.randrange(10**4)}</a></li>'
                        for _ in range(chrome_kb * 8))
        script = "var cfg = {" + ",".join(f'"k{i}": {rng.randrange(10**9)}' for i in range(chrome_kb * 12)) + "};"
        chrome = f"<nav><ul>{links}</ul></nav><script>{script}</script>"
    return (f'<!DOCTYPE html><html lang="pl"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="article:published_time" content="{published}">'
            f'<meta property="og:site_name" content="{publisher}"></head><body>{chrome}'
            f"<article><h1>{title}</h1>\n{paragraphs}</article>"
            f"<footer>Wszelkie prawa zastrzeżone</footer></body></html>").encode()


def generate(path: Path, megabytes: float, *, gz: bool = False, seed: int = 2026) -> dict[str, int]:
    """A crawl of about `megabytes` (uncompressed) at `path`; returns how many records of each kind."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}

    def count(kind: str) -> None:
        counts[kind] = counts.get(kind, 0) + 1

    target = int(megabytes * 1024 * 1024)
    with open(path, "wb") as f:
        crawl = Crawl(f, gz=gz, seed=seed)
        crawl.warcinfo()
        count("warcinfo")
        raw = 0
        earlier: list[tuple[str, bytes]] = []
        for n, art in enumerate(_endless(seed)):
            if raw >= target:
                break
            uri = art["url"]
            html = page_html(art["title"], art["body"], art["published"], art["publisher"],
                             chrome_kb=CHROME_KB, rng=rng)
            crawl.request(uri)
            crawl.response(uri, html)
            count("request")
            count("page")
            raw += len(html) + 1200
            if n % 2 == 0:
                image = rng.randbytes(IMAGE_KB * 1024)
                crawl.response(uri.rsplit("/", 1)[0] + f"/img/{n}.jpg", image, content_type="image/jpeg")
                count("image")
                raw += len(image) + 600
            if n % 10 == 0:
                crawl.response(f"https://{uri.split('/')[2]}/style-{n}.css", b"body{margin:0}" * 200,
                               content_type="text/css")
                crawl.dns(uri.split("/")[2])
                crawl.metadata(uri)
                count("css")
                count("dns")
                count("metadata")
            if n % 25 == 5:
                crawl.redirect(uri.replace("/aktualnosci/", "/stare/"), uri)
                count("redirect")
            if n % 20 == 7 and earlier:
                old_uri, old_html = earlier[rng.randrange(len(earlier))]
                crawl.revisit(old_uri, old_html)
                count("revisit")
            if len(earlier) < 50:
                earlier.append((uri, html))
    return counts


def _endless(seed: int) -> Iterator[dict]:
    while True:
        yield from articles(10_000, seed=seed, vocab="recombine")
        seed += 1


# --- measuring -----------------------------------------------------------------------------------------------

_READ_WARCIO = """
import sys, time, resource
from warcio.archiveiterator import ArchiveIterator
t = time.perf_counter(); records = pages = size = 0
with open(sys.argv[1], 'rb') as f:
    for r in ArchiveIterator(f):
        records += 1
        if r.rec_type == 'response' and r.http_headers is not None and \\
                'html' in (r.http_headers.get_header('Content-Type') or ''):
            size += len(r.content_stream().read()); pages += 1
print(records, pages, size, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

_READ_FASTWARC = """
import sys, time, resource
from fastwarc.warc import ArchiveIterator, WarcRecordType
t = time.perf_counter(); records = pages = size = 0
with open(sys.argv[1], 'rb') as f:
    for r in ArchiveIterator(f, parse_http=True):
        records += 1
        if r.record_type == WarcRecordType.response and r.is_http and 'html' in (r.http_content_type or ''):
            size += len(r.reader.read()); pages += 1
print(records, pages, size, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def compare(path: Path) -> None:
    """Both libraries on the same file, each in a fresh interpreter (PYTHONPATH may add the other one)."""
    for name, code in (("warcio", _READ_WARCIO), ("fastwarc", _READ_FASTWARC)):
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{name}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        records, pages, size, secs, rss = out.stdout.split()
        print(f"{name:9} {int(records):>7} records {int(pages):>6} pages  {float(secs):6.1f} s  "
              f"{int(pages) / float(secs):8.0f} pages/s  {os.path.getsize(path) / 1e6 / float(secs):6.1f} MB/s  "
              f"peak RSS {int(rss) / 1024:6.0f} MB")


def ingest(path: Path) -> None:
    """`archivist ingest` on a fresh archive in a child process: its peak RSS from the kernel, and sampled each
    second with the log's head, to tell the crawl's reading and recording (the head moving) from the index
    catch-up at the end (the head still)."""
    with tempfile.TemporaryDirectory(prefix="bench-warc-") as tmp:
        root = Path(__file__).resolve().parents[1]
        archive = Path(tmp) / "a"
        t = time.perf_counter()
        # files, not pipes: the report (every article id) would fill a pipe and stall the child
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen([sys.executable, "-m", "archivist.cli", "--archive", str(archive), "ingest",
                                     "--json", str(path)], stdout=out, stderr=err, cwd=root)
            recording_peak, last_head, recorded_at = 0, 0, t
            while proc.poll() is None:
                time.sleep(1)
                rss = _rss_kb(proc.pid)
                head = _head(archive)
                if head != last_head or head == 0:
                    recording_peak = max(recording_peak, rss)
                    last_head, recorded_at = head, time.perf_counter()
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        secs = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if proc.returncode != 0:
            print(f"ingest failed ({proc.returncode}): {stderr.decode()[-500:]}")
            return
        o = json.loads(stdout)["outcomes"][0]
        print(f"ingest: {o['pages']} pages, {o['new']} new, {o['relocations']} relocations, "
              f"{o['duplicates']} duplicates, skipped {o['skipped']}")
        print(f"ingest: {secs:.0f} s end to end, {o['pages'] / secs:.0f} pages/s, "
              f"{os.path.getsize(path) / 1e6 / secs:.1f} MB/s, peak RSS {rss / 1024:.0f} MB (file "
              f"{os.path.getsize(path) / 1e6:.0f} MB)")
        print(f"ingest: reading and recording the crawl {recorded_at - t:.0f} s "
              f"({o['pages'] / (recorded_at - t):.0f} pages/s), peak RSS meanwhile {recording_peak / 1024:.0f} MB; "
              f"then the index catch-up {secs - (recorded_at - t):.0f} s")


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0


def _head(archive: Path) -> int:
    from archivist.archive import Archive

    try:
        with Archive.open(archive, readonly=True) as a:
            return a.head()
    except Exception:  # noqa: BLE001 — not created yet
        return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.warc", description=__doc__.split("\n\n")[0])
    p.add_argument("--mb", type=float, default=1000, help="size of the generated crawl, uncompressed")
    p.add_argument("--gzip", action="store_true", help="write .warc.gz (a gzip member per record)")
    p.add_argument("--compare", action="store_true", help="compare warcio and fastwarc reading it")
    p.add_argument("--keep", type=Path, help="write the crawl here and keep it (else a temp file)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-warc-") as tmp:
        path = args.keep or Path(tmp) / ("crawl.warc.gz" if args.gzip else "crawl.warc")
        if not path.exists():
            t = time.perf_counter()
            counts = generate(path, args.mb, gz=args.gzip)
            print(f"generated {path.name}: {os.path.getsize(path) / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s, "
                  f"{counts}")
        if args.compare:
            compare(path)
        else:
            ingest(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
