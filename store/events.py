"""The archive's event types and the record envelope that carries them in the log.

Events are facts, frozen once written. Evolution rules (msgspec's own): a field is only ever added, at the
end, with a default; a tag or a field's type never changes; a breaking change gets a new tag version and an
upcaster in `upcast`. Old logs stay readable forever, so nothing here forbids unknown fields.
"""

from __future__ import annotations

import datetime as dt

import msgspec


class Event(msgspec.Struct, frozen=True, tag_field="type", kw_only=True, omit_defaults=True, gc=False):
    """Base of every event. The tag is the class name; it is part of the on-disk format.

    `gc=False`: events hold only scalars, so they can never be part of a reference cycle, and the cyclic
    GC need not track them (replaying a million of them otherwise pays for repeated collections).
    """


# --- sources: what was handed to the archive -------------------------------------------------------------

class SourceReceived(Event, frozen=True, tag=True):
    """Original bytes were received and stored in the blob store under `digest` (SHA-256 hex)."""

    digest: str
    file_name: str
    size: int
    via: str = "cli"  # watch / cli / api / import


class SourceRejected(Event, frozen=True, tag=True):
    """Bytes were received but could not become articles; they are kept in the blob store all the same."""

    digest: str
    file_name: str
    reason: str
    size: int = 0
    via: str = "cli"


# --- articles ---------------------------------------------------------------------------------------------

class ArticlePublished(Event, frozen=True, tag=True):
    """First version of an article. The stream id is the article id."""

    title: str
    body: str
    url: str | None = None
    published: dt.date | None = None
    publisher: str | None = None
    source: str | None = None  # digest of the source the article came from


class ArticleRevised(Event, frozen=True, tag=True):
    """A new full version of an article's content (not a patch: every version stands on its own)."""

    title: str
    body: str
    url: str | None = None
    published: dt.date | None = None
    publisher: str | None = None
    source: str | None = None


class ArticleArchived(Event, frozen=True, tag=True):
    reason: str = ""
    source: str | None = None


class ArticleRestored(Event, frozen=True, tag=True):
    reason: str = ""
    source: str | None = None


class ArticleRelocated(Event, frozen=True, tag=True):
    from_url: str | None
    to_url: str
    source: str | None = None


class ArticleWithdrawn(Event, frozen=True, tag=True):
    """Hidden from search, kept in history. Deletion in an append-only world is this tombstone."""

    reason: str = ""
    source: str | None = None


class ArticleTagged(Event, frozen=True, tag=True):
    tag: str
    source: str | None = None


class ArticleUntagged(Event, frozen=True, tag=True):
    tag: str
    source: str | None = None


# --- portals ----------------------------------------------------------------------------------------------

class PortalRelocated(Event, frozen=True, tag=True):
    """Every address under `from_prefix` now lives under `to_prefix` (e.g. an old portal moved to gov.pl)."""

    from_prefix: str
    to_prefix: str
    source: str | None = None
    keep_path: bool = False  # True: the rest of the address is kept under to_prefix; False: all go to to_prefix


# --- saved searches -----------------------------------------------------------------------------------------

class SearchSaved(Event, frozen=True, tag=True):
    """A named query (notmuch's named queries): `@name` in any query stands for it, with its filters. The
    stream is `saved_stream(name)`; saving the name again replaces it. Filters are scalars, as every event
    field is: `statuses` comma-separated, `tags` one per line."""

    name: str
    query: str
    statuses: str = ""
    tags: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    publisher: str | None = None


class SavedSearchRemoved(Event, frozen=True, tag=True):
    name: str


AnyEvent = (
    SourceReceived
    | SourceRejected
    | ArticlePublished
    | ArticleRevised
    | ArticleArchived
    | ArticleRestored
    | ArticleRelocated
    | ArticleWithdrawn
    | ArticleTagged
    | ArticleUntagged
    | PortalRelocated
    | SearchSaved
    | SavedSearchRemoved
)

ARTICLE_EVENTS = (
    ArticlePublished,
    ArticleRevised,
    ArticleArchived,
    ArticleRestored,
    ArticleRelocated,
    ArticleWithdrawn,
    ArticleTagged,
    ArticleUntagged,
)

EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in AnyEvent.__args__}  # type: ignore[attr-defined]


class Record(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One committed event with its envelope, as stored in the log.

    `prev_hash` is the SHA-256 of the previous record's encoded bytes (32 zero bytes for the first), which
    chains the whole log: editing any byte breaks every later link. `array_like` keeps records compact and
    lets readers that need only the envelope decode a prefix of it (see `Envelope`). Not tracked by the GC,
    as events are not.
    """

    position: int
    stream: str
    version: int
    recorded_at: dt.datetime
    actor: str
    prev_hash: bytes
    event: AnyEvent


class Envelope(msgspec.Struct, frozen=True, array_like=True):
    """The leading fields of a `Record`: decoding only these skips the event body (fast log scans)."""

    position: int
    stream: str
    version: int


GENESIS_HASH = bytes(32)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def source_stream(digest: str) -> str:
    return f"source:{digest}"


def portal_stream(prefix: str) -> str:
    return f"portal:{prefix}"


def saved_stream(name: str) -> str:
    return f"saved:{name}"
