"""Reading web crawls (WARC, ISO 28500; `.warc` and `.warc.gz`): what each record is to the archive.

A crawl is read as a stream, one record at a time (FastWARC; see bench/warc.py for why not warcio): only an
HTML page's body is ever held, and only up to the page limit — an image, a style sheet or a page over the limit
is passed over without reading it. What a record becomes:

* a `response` with an HTML body and a 2xx status: a `Page` — the record's WARC-Target-URI is its address;
* a 3xx `response` with a Location: a `Moved` (the target URI moved to the Location, resolved against it);
* a `revisit` record (the crawler saw the same payload again): a `Revisit`, a duplicate by definition;
* anything else — requests, DNS, images, CSS, scripts, metadata, warcinfo, error statuses: a `Skipped` with its
  kind, counted for the report, never rejected.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO, NamedTuple
from urllib.parse import urljoin

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from .model import Rejected

WARC_SUFFIXES = (".warc", ".warc.gz")
MAX_WARC_BYTES = 20 * 1024**3  # a crawl's own limit (`--max-warc-gb`): it is streamed, never held


def is_warc(name: str) -> bool:
    return name.lower().endswith(WARC_SUFFIXES)


class Page(NamedTuple):
    url: str
    html: bytes
    charset: str | None  # from the HTTP Content-Type, when the server named one


class Moved(NamedTuple):
    from_url: str
    to_url: str


class Revisit(NamedTuple):
    url: str


class Skipped(NamedTuple):
    kind: str  # image, css, script, dns, request, metadata, warcinfo, error status, too large, …


class Broken(NamedTuple):
    """The rest of the file cannot be read (cut short or damaged at `offset`): what came before stands."""

    offset: int
    reason: str


Item = Page | Moved | Revisit | Skipped | Broken

_TYPES = {int(WarcRecordType.request): "request", int(WarcRecordType.metadata): "metadata",
          int(WarcRecordType.warcinfo): "warcinfo", int(WarcRecordType.resource): "resource",
          int(WarcRecordType.conversion): "conversion", int(WarcRecordType.continuation): "continuation"}
_REVISIT, _RESPONSE = int(WarcRecordType.revisit), int(WarcRecordType.response)


def read_warc(f: BinaryIO, *, max_page_bytes: int, total: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> Iterator[Item]:
    """The records of the crawl open as `f` (plain or gzip, told by its bytes), each as an `Item`.

    `progress(done, total)`, when given, is called after each record with the bytes of `f` read so far and
    `total` (the file's size by default). Raises `Rejected` when the file does not start as a WARC at all;
    damage later on ends the stream with a `Broken`.
    """
    if total is None:
        total = _size(f)
    records = ArchiveIterator(f, parse_http=True, auto_decode="all")
    held: Item | None = None  # each record is yielded once the next one is found: the last is checked first
    at = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            if held is None:
                raise Rejected("not a WARC file: it holds no WARC record") from None
            problem = _tail_problem(f, at, total)
            if progress is not None:
                progress(total, total)
            if problem is None:
                yield held
            else:
                cut, offset, reason = problem
                yield Skipped("record cut short") if cut else held
                yield Broken(offset, reason)
            return
        except Exception as exc:  # noqa: BLE001 — the library's errors for bad bytes are plain OSErrors
            if held is None:
                raise Rejected(f"not a WARC file: {exc}") from None
            yield held
            yield Broken(at, f"damaged after byte {at:,}: {exc}")
            return
        if held is not None:
            yield held
        at = record.stream_pos
        held = _item(record, max_page_bytes)
        if progress is not None:
            progress(min(f.tell(), total), total)


def _tail_problem(f: BinaryIO, last: int, total: int) -> tuple[bool, int, str] | None:
    """What is wrong with the end of the file, whose last record the library read starts at `last` — it
    stops quietly at bytes it cannot parse and hands a cut-short last record over as if whole. None when the
    last record ends where the file does; else (True, offset, why) when that record is cut short, or
    (False, offset, why) for bytes after it that are no record."""
    f.seek(0)
    gz = f.read(2) == b"\x1f\x8b"
    f.seek(last)
    if gz and f.read(2) != b"\x1f\x8b":
        return None  # one gzip stream for the whole file, not one per record: offsets are not in the file
    if gz:  # a gzip member per record: the last member must be whole
        f.seek(last)
        z = zlib.decompressobj(31)
        while not z.eof:
            chunk = z.unconsumed_tail or f.read(1 << 16)
            if not chunk:
                return True, last, f"cut short: the last record, at byte {last:,}, is incomplete"
            z.decompress(chunk, 1 << 16)
        end = f.tell() - len(z.unused_data)
    else:
        f.seek(last)
        head = b""
        while not head.endswith(b"\r\n\r\n") and len(head) < 64 * 1024:
            line = f.readline(8192)
            if not line:
                break
            head += line
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        end = last + len(head) + (int(m.group(1)) if m else 0) + 4
        if end > total:
            return True, last, f"cut short: the last record, at byte {last:,}, is incomplete"
    f.seek(end)
    if f.read(4096).strip(b"\r\n\t \x00"):
        return False, end, f"damaged after byte {end:,}: what follows is not a WARC record"
    return None


def _item(r: WarcRecord, max_page_bytes: int) -> Item:
    kind = int(r.record_type)
    uri = (r.headers.get("WARC-Target-URI") or "").strip().strip("<>")
    if kind == _REVISIT:
        return Revisit(uri)
    if kind != _RESPONSE:
        return Skipped(_TYPES.get(kind, "other record"))
    if uri.startswith("dns:") or (r.headers.get("Content-Type") or "").startswith("text/dns"):
        return Skipped("dns")
    if not r.is_http:
        return Skipped("other response")
    http = r.http_headers
    status = http.status_code or 0
    if 300 <= status < 400:
        location = (http.get("Location") or "").strip()
        if not location or not uri:
            return Skipped("redirect without location")
        return Moved(uri, urljoin(uri, location))
    if not 200 <= status < 300:
        return Skipped("error status")
    ctype = (r.http_content_type or "").lower()
    if "html" not in ctype:
        return Skipped(_content_kind(ctype))
    if r.headers.get("WARC-Truncated"):
        return Skipped("truncated by the crawler")
    if r.content_length > max_page_bytes + 64 * 1024:  # the HTTP head is part of the record's length
        return Skipped("page over the size limit")
    if not _encoded(r) and r.headers.get("WARC-Payload-Digest") and not r.verify_payload_digest(consume=False):
        return Skipped("damaged page (digest mismatch)")
    html = r.reader.read(max_page_bytes + 1)
    if len(html) > max_page_bytes:
        return Skipped("page over the size limit")
    if not uri:
        return Skipped("page without address")
    return Page(uri, html, r.http_charset)


def _encoded(r: WarcRecord) -> bool:
    """Whether the body was decoded on the way (chunked or compressed): the payload digest is over the bytes
    as sent, so it cannot be checked against what we read."""
    h = r.http_headers
    return bool(h.get("Content-Encoding") or h.get("Transfer-Encoding"))


def _content_kind(ctype: str) -> str:
    main = ctype.split(";", 1)[0].strip()
    if main.startswith("image/"):
        return "image"
    if main == "text/css":
        return "css"
    if "javascript" in main or "ecmascript" in main:
        return "script"
    if main.startswith(("font/", "application/font")):
        return "font"
    if main == "application/pdf":
        return "pdf"
    return "other response"


def _size(f: BinaryIO) -> int:
    try:
        return os.fstat(f.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        return 0
