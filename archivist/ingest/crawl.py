"""Recording one WARC crawl: its pages and redirects in atomic batches, its receipt last.

A crawl can be many gigabytes, so it is never held: its bytes are copied into the blob store as a stream (the
digest computed on the way), then read again record by record (`warc.read_warc`), and every `BATCH_PAGES`
pages (or `BATCH_CHARS` of text) are committed in one append, as one file's events are (`record_sources`).
The crawl's `SourceReceived` goes with the last batch: until it is in the log the crawl is not known, so after
a crash (even kill -9) ingesting the same file again reads it again — the pages recorded before are found
unchanged (duplicates), the rest are added, and the receipt closes it. Nothing acknowledged is lost and
nothing is doubled.

Within a batch the crawl's order is kept: a page seen again with other content, a redirect from an address
this batch holds a page for, or a page at an address this batch holds a redirect from, commits the batch first,
so the result never depends on where a batch ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, BinaryIO

from archivist.addresses import url_key
from archivist.ingest.model import ParsedArticle, ParsedRelocation, ParseResult, Rejected
from archivist.ingest.registry import parse_page
from archivist.ingest.urls import normalize_url
from archivist.ingest.warc import Broken, Moved, Page, Revisit, Skipped, read_warc
from archivist.recording import SourceFile, parsed_article_id, repeat_outcome
from archivist.results import DUPLICATE, INGESTED, REVISED, FileOutcome

if TYPE_CHECKING:
    from archivist.archive import Archive

BATCH_PAGES = 200
BATCH_CHARS = 8 * 1024 * 1024

Progress = Callable[[int, int], None]


class _Part:
    """The pages and redirects of the batch being gathered."""

    def __init__(self) -> None:
        self.articles: dict[str, ParsedArticle] = {}
        self.relocations: dict[tuple[str, str], ParsedRelocation] = {}
        self.page_urls: set[str] = set()
        self.moved_from: set[str] = set()
        self.chars = 0

    def __len__(self) -> int:
        return len(self.articles) + len(self.relocations)


def record_crawl(archive: Archive, f: BinaryIO, *, name: str, size: int, via: str, tags: Sequence[str] = (),
                 actor: str | None = None, max_page_bytes: int, batch_pages: int = BATCH_PAGES,
                 progress: Progress | None = None) -> FileOutcome:
    """Record the crawl open as `f` (`size` bytes); returns the file's outcome, committed.

    `progress(done, total)`: bytes handled of `total` = twice the size (the copy into the blob store, then
    the reading), called every megabyte of the copy and after every record read."""
    total = 2 * size
    digest, size = archive.keep_file(f, progress=None if progress is None else lambda n: progress(n, total))
    if (known := archive.source(digest)) is not None:
        return repeat_outcome(name, digest, known.rejected)
    f.seek(0)
    out = FileOutcome(file=name, digest=digest, result=DUPLICATE)
    part = _Part()

    def commit(receipt: bool = False) -> None:
        nonlocal part
        if not part and not receipt:
            return
        source = SourceFile(name=name, digest=digest, size=size, via=via, tags=tuple(tags), receipt=receipt,
                            result=ParseResult(articles=tuple(part.articles.values()),
                                               relocations=tuple(part.relocations.values())))
        [o] = archive.record_sources([source], actor=actor)
        out.new += o.new
        out.revised += o.revised
        out.unchanged += o.unchanged
        out.relocations += o.relocations
        out.duplicates += o.unchanged + len(part.relocations) - o.relocations  # redirects recorded before
        out.articles += o.articles
        part = _Part()

    def skip(kind: str) -> None:
        out.skipped[kind] = out.skipped.get(kind, 0) + 1

    reading = None if progress is None else lambda done, _: progress(size + done, total)
    try:
        for item in read_warc(f, max_page_bytes=max_page_bytes, total=size, progress=reading):
            match item:
                case Page(url=url, html=html, charset=charset):
                    try:
                        result = parse_page(url, html, charset)
                    except Rejected:
                        skip("page without an article")
                        continue
                    out.pages += 1
                    for art in result.articles:
                        aid = parsed_article_id(art)
                        address = url_key(art.url or "")
                        if (before := part.articles.get(aid)) is not None:
                            if before == art:
                                out.duplicates += 1
                                continue
                            commit()
                        elif address in part.moved_from:
                            commit()
                        part.articles[aid] = art
                        part.page_urls.add(address)
                        part.chars += len(art.body) + len(art.title)
                    for rel in result.relocations:  # a page saying its whole portal moved
                        part.relocations.setdefault((url_key(rel.from_url), url_key(rel.to_url)), rel)
                case Moved(from_url=old, to_url=new):
                    try:
                        rel = ParsedRelocation(normalize_url(old), normalize_url(new))
                    except ValueError:
                        skip("redirect to a non-web address")
                        continue
                    key = (url_key(rel.from_url), url_key(rel.to_url))
                    if key[0] == key[1]:
                        skip("redirect to itself")
                        continue
                    if key in part.relocations:
                        out.duplicates += 1
                        continue
                    if key[0] in part.page_urls:
                        commit()
                    part.relocations[key] = rel
                    part.moved_from.add(key[0])
                case Revisit():
                    out.duplicates += 1
                case Skipped(kind=kind):
                    skip(kind)
                case Broken(reason=reason):
                    skip("unreadable rest of the file")
                    out.reason = reason
            if len(part.articles) >= batch_pages or part.chars >= BATCH_CHARS:
                commit()
    except Rejected as exc:
        [rejected] = archive.record_sources(
            [SourceFile(name=name, digest=digest, size=size, via=via, reason=exc.reason)], actor=actor)
        return rejected
    commit(receipt=True)
    out.result = INGESTED if out.new else REVISED if out.revised else (
        INGESTED if out.articles or out.relocations else DUPLICATE)
    return out
