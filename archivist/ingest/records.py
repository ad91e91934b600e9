"""Structured records: .json (an object or an array of objects), .jsonl/.ndjson, and .csv/.tsv with a
header row. Types are checked by msgspec; every error names the record and the field."""

from __future__ import annotations

import csv
import datetime
import io
import re
import sys

import msgspec

from store.article import STATUSES

from .dates import parse_date
from .model import ParsedArticle, Rejected
from .urls import normalize_url


class _Record(msgspec.Struct):
    title: str | None = None
    body: str | None = None
    text: str | None = None
    url: str | None = None
    published: str | None = None
    publisher: str | None = None
    tags: list[str] | str | None = None
    category: str | None = None
    status: str | None = None
    archived_reason: str | None = None
    relocated_to: str | None = None


_ONE = msgspec.json.Decoder(_Record)
_MANY = msgspec.json.Decoder(list[_Record])
_PATH = re.compile(r"`\$(?:\[(?P<i>\d+)\])?(?:\.(?P<field>\w+))?")


def parse_json(data: bytes) -> list[ParsedArticle]:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head not in (b"{", b"["):
        raise Rejected("JSON must be one object or an array of objects")
    try:
        records = _MANY.decode(data.lstrip(b"\xef\xbb\xbf")) if head == b"[" else [
            _ONE.decode(data.lstrip(b"\xef\xbb\xbf"))]
    except msgspec.ValidationError as e:
        raise Rejected(_explain(str(e), base=1 if head == b"[" else None)) from None
    except msgspec.DecodeError as e:
        raise Rejected(f"not valid JSON: {e}") from None
    except RecursionError:
        raise Rejected("JSON is nested too deeply to be an article record") from None
    if not records:
        raise Rejected("JSON array holds no records")
    return [_article(r, n) for n, r in enumerate(records, 1)]


def parse_jsonl(data: bytes) -> list[ParsedArticle]:
    out: list[ParsedArticle] = []
    for n, line in enumerate(data.lstrip(b"\xef\xbb\xbf").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = _ONE.decode(line)
        except msgspec.ValidationError as e:
            raise Rejected(f"line {n}: " + _explain(str(e), base=None)) from None
        except msgspec.DecodeError as e:
            raise Rejected(f"line {n}: not a JSON object ({e})") from None
        except RecursionError:
            raise Rejected(f"line {n}: JSON is nested too deeply to be an article record") from None
        out.append(_article(rec, n, what="line"))
    if not out:
        raise Rejected("no records in the JSON lines file")
    return out


def _explain(msg: str, base: int | None) -> str:
    m = _PATH.search(msg)
    detail = msg.split(" - at ")[0].strip()
    if detail.startswith("Expected `object`") and m and m.group("field") is None:
        detail = "is not a JSON object"
    where = []
    if m and m.group("i") is not None and base is not None:
        where.append(f"record {int(m.group('i')) + base}")
    if m and m.group("field"):
        where.append(f"field '{m.group('field')}'")
    prefix = ", ".join(where) or "record"
    return f"{prefix}: {detail[0].lower() + detail[1:] if detail else 'wrong type'}"


def _article(r: _Record, n: int, what: str = "record") -> ParsedArticle:
    title = (r.title or "").strip()
    body = (r.body if r.body is not None else r.text or "").strip()
    if not title:
        raise Rejected(f"{what} {n}: field 'title' is missing or empty")
    if not body:
        raise Rejected(f"{what} {n}: field 'body' (or 'text') is missing or empty")
    published: datetime.date | None = None
    if r.published and r.published.strip():
        published = parse_date(r.published)
        if published is None:
            raise Rejected(f"{what} {n}: field 'published' is not a date: {r.published[:40]!r}")
    url = _url(r.url, n, "url", what)
    relocated_to = _url(r.relocated_to, n, "relocated_to", what)
    status = (r.status or "").strip().lower() or None
    if status is not None and status not in STATUSES:
        raise Rejected(f"{what} {n}: field 'status' must be live, archived or withdrawn, not {(r.status or '')[:30]!r}")
    tags: list[str] = []
    if isinstance(r.tags, str):
        tags = [t for t in re.split(r"[,;|]", r.tags)]
    elif r.tags:
        tags = list(r.tags)
    if r.category:
        tags.insert(0, r.category)
    tags = [" ".join(t.split()) for t in tags if t and t.strip()]
    return ParsedArticle(
        title=" ".join(title.split()),
        body=body.replace("\r\n", "\n"),
        url=url,
        published=published,
        publisher=(r.publisher or "").strip() or None,
        tags=tuple(dict.fromkeys(tags)),
        status=status,
        archived_reason=(r.archived_reason or "").strip() or None,
        relocated_to=relocated_to,
    )


def _url(value: str | None, n: int, field: str, what: str) -> str | None:
    if not value or not value.strip():
        return None
    try:
        return normalize_url(value)
    except ValueError:
        raise Rejected(f"{what} {n}: field '{field}' is not a web address: {value[:60]!r}") from None


# --- CSV ----------------------------------------------------------------------------------------------

_ALIASES = {
    "title": "title", "tytuł": "title", "tytul": "title", "headline": "title",
    "body": "body", "text": "body", "content": "body", "treść": "body", "tresc": "body",
    "url": "url", "link": "url", "address": "url", "adres": "url",
    "published": "published", "date": "published", "data": "published", "pubdate": "published",
    "published_at": "published", "data publikacji": "published",
    "publisher": "publisher", "wydawca": "publisher", "source": "publisher", "źródło": "publisher",
    "tags": "tags", "tagi": "tags", "category": "category", "kategoria": "category", "status": "status",
    "archived_reason": "archived_reason", "relocated_to": "relocated_to",
}


def set_field_limit(max_bytes: int) -> None:
    """The csv module's per-field cap (128 KiB) is below a long article; raise it, never past the file limit."""
    limit = min(max(max_bytes, 131072), sys.maxsize // 2, 2**31 - 1)
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)


def sniff_delimiter(text: str) -> str:
    """The header row decides when it holds exactly one candidate; otherwise ask csv.Sniffer."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    present = [d for d, c in counts.items() if c]
    if len(present) == 1:
        return present[0]
    try:
        sniffed = csv.Sniffer().sniff(text[:8192], delimiters=",;\t").delimiter
    except csv.Error:
        sniffed = ""
    if sniffed in counts and counts[sniffed]:
        return sniffed
    return max(counts, key=lambda d: counts[d]) if present else ","


def header_key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().strip('"').lower().split())


def parse_csv(text: str, delimiter: str) -> list[ParsedArticle]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header:
            raise Rejected("CSV file has no header row")
        names = [_ALIASES.get(header_key(h)) for h in header]
        missing = [c for c, ok in (("title", "title" in names), ("body (or text)", "body" in names)) if not ok]
        if missing:
            shown = ", ".join(header_key(h) for h in header[:12])
            raise Rejected(f"CSV lacks the column{'s' if len(missing) > 1 else ''} {' and '.join(missing)} "
                           f"(its header: {shown})")
        out: list[ParsedArticle] = []
        for n, row in enumerate(reader, 2):
            if not any(cell.strip() for cell in row):
                continue
            fields: dict[str, str | list[str]] = {}
            for name, cell in zip(names, row, strict=False):
                if name and cell.strip() and name not in fields:
                    fields[name] = cell
            out.append(_article(_Record(**fields), n, what="row"))  # type: ignore[arg-type]
    except csv.Error as e:
        raise Rejected(f"malformed CSV: {e}") from None
    if not out:
        raise Rejected("CSV file has a header but no rows")
    return out
