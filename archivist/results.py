"""The facade's answers: msgspec Structs, typed for Python and `msgspec.json.encode`d for scripts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from archivist.diffing import DiffOp
from archivist.state import UrlChange
from store import events as ev


class ArticleView(msgspec.Struct, kw_only=True):
    id: str
    title: str
    url: str | None
    published: dt.date | None
    publisher: str | None
    status: str
    status_reason: str
    tags: list[str]
    urls: list[UrlChange]
    versions: int
    version: int
    created_at: dt.datetime
    changed_at: dt.datetime
    sources: list[str]
    body: str


class HistoryEntry(msgspec.Struct, kw_only=True):
    position: int
    version: int
    recorded_at: dt.datetime
    actor: str
    type: str
    summary: str
    source: str | None
    source_file: str | None
    event: dict[str, Any]


class Hop(msgspec.Struct, frozen=True, kw_only=True):
    from_url: str
    to_url: str
    kind: str  # "article" (the article moved) or "portal" (a prefix rule)
    recorded_at: dt.datetime
    article_id: str | None = None


class Resolution(msgspec.Struct, kw_only=True):
    url: str
    current: str
    article_id: str | None
    status: str | None
    chain: list[Hop]


class VersionRef(msgspec.Struct, kw_only=True):
    version: int  # content version: 1 = as published, 2 = first revision, …
    position: int
    recorded_at: dt.datetime
    actor: str
    title: str


class Original(msgspec.Struct, kw_only=True):
    """The source file one content version of an article was read from (its bytes are in the blob store)."""

    id: str
    version: int  # content version: 1 = as published, 2 = first revision, …
    versions: int  # how many content versions the article has
    digest: str  # SHA-256 of the bytes, checked when they are read
    file_name: str
    size: int


class ArticleDiff(msgspec.Struct, kw_only=True):
    id: str
    from_version: VersionRef
    to_version: VersionRef
    title: list[DiffOp]
    body: list[DiffOp]
    changed: bool


class MovedLink(msgspec.Struct, kw_only=True):
    id: str
    title: str
    status: str
    recorded_url: str
    current_url: str
    chain: list[Hop]


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # log / blob / index
    detail: str
    position: int | None = None


class VerifyReport(msgspec.Struct, kw_only=True):
    ok: bool
    records: int
    blobs: int
    problems: list[Problem]
    warnings: list[str] = []  # not integrity problems (`ok` stays true): e.g. files open wider than the rule


class Stats(msgspec.Struct, kw_only=True):
    articles: int
    by_status: dict[str, int]
    events: int
    sources: int
    rejected_sources: int
    publishers: dict[str, int]
    years: dict[str, int]
    portal_rules: int
    log_bytes: int
    head: int


INGESTED, REVISED, DUPLICATE, REJECTED = "ingested", "revised", "duplicate", "rejected"


class FileOutcome(msgspec.Struct, kw_only=True):
    file: str
    digest: str
    result: str  # ingested / revised / duplicate / rejected
    articles: list[str] = []  # ids of articles created or changed
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    relocations: int = 0
    reason: str | None = None
    known: bool = False  # the log already had these bytes: a re-drop (rejected again with its first reason)
    # a WARC crawl (see `archivist.ingest.crawl`): HTML pages read, records that added nothing (revisits,
    # pages and redirects recorded before), and the records passed over, by kind (image, css, request, …)
    pages: int = 0
    duplicates: int = 0
    skipped: dict[str, int] = {}


class IngestSummary(msgspec.Struct, kw_only=True):
    files: int = 0
    ingested: int = 0  # new articles
    revised: int = 0
    duplicate: int = 0  # files (or records) that added nothing
    rejected: int = 0
    relocations: int = 0
    outcomes: list[FileOutcome] = []

    def add(self, o: FileOutcome) -> None:
        self.files += 1
        self.ingested += o.new
        self.revised += o.revised
        self.relocations += o.relocations
        if o.result == REJECTED:
            self.rejected += 1
        elif o.result == DUPLICATE:
            self.duplicate += 1
        self.outcomes.append(o)



def summarize(e: ev.Event) -> str:
    """One human line per event, for history listings."""
    match e:
        case ev.ArticlePublished(title=t) | ev.ArticleRevised(title=t):
            return t
        case ev.ArticleArchived(reason=r) | ev.ArticleRestored(reason=r) | ev.ArticleWithdrawn(reason=r):
            return r
        case ev.ArticleRelocated(from_url=f, to_url=t):
            return f"{f or '?'} → {t}"
        case ev.ArticleTagged(tag=t) | ev.ArticleUntagged(tag=t):
            return t
        case ev.PortalRelocated(from_prefix=f, to_prefix=t):
            return f"{f}* → {t}"
        case ev.SourceReceived(file_name=f) | ev.SourceRejected(file_name=f):
            return f
    return ""
