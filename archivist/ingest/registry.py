"""`parse`: one entry point that picks the parser by file name and turns every failure into `Rejected`."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit, urlunsplit

import msgspec

from .decode import decode_text
from .html import html_text, parse_html
from .model import MAX_BYTES, ParsedRelocation, ParseResult, Rejected
from .records import parse_csv, parse_json, parse_jsonl, set_field_limit, sniff_delimiter
from .redirects import REDIRECT_SUFFIXES, parse_redirects, redirect_columns
from .text import parse_text
from .urls import normalize_url

SUPPORTED_SUFFIXES = (".txt", ".html", ".htm", ".json", ".jsonl", ".ndjson", ".csv", ".tsv")


def parse(file_name: str, data: bytes, *, max_bytes: int = MAX_BYTES) -> ParseResult:
    """Parse one dropped file. Raises `Rejected` (with a sentence for the archivist) and nothing else."""
    name = file_name.lower()
    suffix = next((s for s in SUPPORTED_SUFFIXES if name.endswith(s)), None)
    if len(data) > max_bytes:
        raise Rejected(f"file is {human_size(len(data))}, over the {human_size(max_bytes)} limit")
    if suffix is None:
        dot = name.rfind(".")
        shown = f"'{file_name[dot:]}'" if dot > 0 else "without a suffix"
        raise Rejected(
            f"unsupported file type {shown}: supported are {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not data.strip(b" \t\r\n\f\v\xef\xbb\xbf"):
        raise Rejected("file is empty" if not data else "file is empty (only whitespace)")
    try:
        return _portal_moves(_dispatch(name, suffix, data, max_bytes))
    except Rejected:
        raise
    except RecursionError:
        raise Rejected("file is nested too deeply to parse") from None
    except Exception as e:  # a parser bug must not take the watcher down; the reason says it was ours
        raise Rejected(f"parser failed unexpectedly ({type(e).__name__}: {e})") from None


def source_text(file_name: str, data: bytes) -> str:
    """A dropped file's text as `parse` decoded it: a page by its declared charset, any other file as UTF-8,
    UTF-16 or the likeliest Polish legacy code page. Raises `Rejected` for bytes that are not text."""
    if file_name.lower().endswith((".html", ".htm")):
        return html_text(data)
    return decode_text(data)


def parse_page(url: str, data: bytes, charset: str | None = None) -> ParseResult:
    """One crawled page (a WARC response): the HTML parser, as for a dropped page, except that the address is
    the one the crawler fetched. Raises `Rejected` (a page without an article) and nothing else."""
    try:
        address = normalize_url(url)
    except ValueError as e:
        raise Rejected(f"not a web address: {e}") from None
    try:
        article = parse_html(data, charset)
    except Rejected:
        raise
    except RecursionError:
        raise Rejected("page is nested too deeply to parse") from None
    except Exception as e:  # noqa: BLE001 — as in `parse`: a parser bug must not stop the whole crawl
        raise Rejected(f"parser failed unexpectedly ({type(e).__name__}: {e})") from None
    return _portal_moves(ParseResult(articles=(msgspec.structs.replace(article, url=address),)))


def _dispatch(name: str, suffix: str, data: bytes, max_bytes: int) -> ParseResult:
    if suffix in (".json", ".jsonl", ".ndjson"):
        # JSON is UTF-8 by its RFC; exports from Polish Windows tools may not be, so transcode.
        data = decode_text(data).encode("utf-8")
        if suffix == ".json":
            return ParseResult(articles=tuple(parse_json(data)))
        return ParseResult(articles=tuple(parse_jsonl(data)))
    if suffix in (".html", ".htm"):
        return ParseResult(articles=(parse_html(data),))
    text = decode_text(data)
    if not text.strip():
        raise Rejected("file is empty (only whitespace)")
    if suffix == ".txt":
        return ParseResult(articles=(parse_text(text),))
    # .csv / .tsv: a records table or a redirect map, told apart by the header (or the name).
    set_field_limit(max_bytes)
    text = text.lstrip("\ufeff")
    delimiter = "\t" if suffix == ".tsv" else sniff_delimiter(text)
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error as e:
        raise Rejected(f"malformed CSV: {e}") from None
    if name.endswith(REDIRECT_SUFFIXES) or redirect_columns(header):
        return ParseResult(relocations=tuple(parse_redirects(text, delimiter)))
    return ParseResult(articles=tuple(parse_csv(text, delimiter)))


def _portal_moves(result: ParseResult) -> ParseResult:
    """A page saying its whole portal moved gives a prefix rule from the page's own site to the portal's new
    home — when the page's address is known (else the old portal is unknown) and the new home is on another
    host (a portal moved within one host: its prefix is unknown)."""
    found = list(result.relocations)
    for a in result.articles:
        if not (a.portal_moved_to and a.url):
            continue
        old = urlsplit(a.url)
        if old.hostname == urlsplit(a.portal_moved_to).hostname:
            continue
        rule = ParsedRelocation(urlunsplit((old.scheme, old.netloc, "/", "", "")), a.portal_moved_to, prefix=True)
        if rule not in found:
            found.append(rule)
    if len(found) == len(result.relocations):
        return result
    return ParseResult(articles=result.articles, relocations=tuple(found))


def human_size(n: int) -> str:
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} GB"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"
