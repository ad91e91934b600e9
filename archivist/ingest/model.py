"""What the parsers hand back: plain, frozen values; the ingest service turns them into events."""

from __future__ import annotations

import datetime

import msgspec

MAX_BYTES = 20 * 1024 * 1024  # the largest dropped file parsed (a page, a CSV); larger ones are refused


class ParsedArticle(msgspec.Struct, frozen=True):
    title: str
    body: str
    url: str | None = None  # canonical address, normalised by `urls.normalize_url`
    published: datetime.date | None = None
    publisher: str | None = None
    tags: tuple[str, ...] = ()
    status: str | None = None  # from structured records only: "live" | "archived" | "withdrawn"
    archived_reason: str | None = None  # the archive banner sentence -> ArticleArchived(reason)
    relocated_to: str | None = None  # this article's new address, from a notice, normalised -> ArticleRelocated
    # the new home of the whole portal or site, from a notice ("Aktualna strona Portalu … dostępna jest pod
    # adresem: …"): the portal moved, not this article -> PortalRelocated of the old site, when its address is known
    portal_moved_to: str | None = None


class ParsedRelocation(msgspec.Struct, frozen=True):
    from_url: str
    to_url: str
    prefix: bool = False  # every address under from_url moved under to_url (PortalRelocated)


class ParseResult(msgspec.Struct, frozen=True):
    articles: tuple[ParsedArticle, ...] = ()
    relocations: tuple[ParsedRelocation, ...] = ()


class Rejected(Exception):
    """The bytes cannot become articles; `reason` is one sentence meant for the archivist."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
