"""Recording submitted files: the events a parsed file implies for the articles the archive holds, committed
in one atomic append per batch. The facade's door for ingest, the watcher and the demo (`Archive.record_sources`).

For each file the bytes are in the blob store first, then ONE append carries its `SourceReceived` (or
`SourceRejected`) with every article event the file implies. A crash before that append leaves only a blob,
and the next attempt redoes the file; a crash after it leaves a complete record, and the next attempt sees the
digest and appends nothing. Many files go in one append (group commit): one fsync per batch, not per file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import msgspec

from archivist import errors
from archivist.ingest.model import ParsedArticle, ParseResult
from archivist.results import DUPLICATE, INGESTED, REJECTED, REVISED, FileOutcome
from store import events as ev
from store.article import (
    ARCHIVED,
    LIVE,
    TAG_MAX_CHARS,
    WITHDRAWN,
    article_id_for,
    identity_key,
    normalize_tag,
    url_key,
)
from store.log import NO_STREAM, AppendRequest

if TYPE_CHECKING:
    from archivist.archive import Archive


class SourceFile(msgspec.Struct, kw_only=True):
    """A file ready to be recorded: its bytes kept (`Archive.keep_bytes`, unless too large to keep), and
    either parsed (`result`) or rejected (`reason`)."""

    name: str
    digest: str
    size: int
    via: str
    result: ParseResult | None = None
    reason: str | None = None  # rejected, with this reason
    tags: tuple[str, ...] = ()  # from the folders the file was found in
    # False for a part of a large file (a WARC crawl) recorded in several batches: its pages and relocations
    # without the file's SourceReceived, which comes with the last part, once every page is recorded.
    receipt: bool = True


def parsed_article_id(a: ParsedArticle) -> str:
    key = identity_key(url=a.url, title=a.title, published=a.published, publisher=a.publisher, body=a.body)
    return article_id_for(key)


def repeat_outcome(name: str, digest: str, rejected: str | None) -> FileOutcome:
    """The outcome for bytes the archive already has: a duplicate, or — for bytes that were rejected —
    rejected again with the first reason, so a script retrying learns why."""
    if rejected is not None:
        return FileOutcome(file=name, digest=digest, result=REJECTED, reason=rejected, known=True)
    return FileOutcome(file=name, digest=digest, result=DUPLICATE, known=True)


def record_sources(archive: Archive, files: Sequence[SourceFile], *, actor: str | None = None) -> list[FileOutcome]:
    """Commit every file in one append. On a conflict — another process changed one of these articles
    meanwhile — each file is planned again against the fresh state and committed alone."""
    if not files:
        return []
    try:
        archive.blobs.sync()  # the original bytes are durable before any event points at them
    except OSError as exc:
        raise errors.IntegrityError(f"could not store the files durably ({exc}); nothing was recorded, "
                                    "ingest them again") from exc
    archive.refresh()
    portals: set[tuple[str, str]] = set()  # prefix rules this batch records (pages of one old portal)
    planned = [_plan(archive, f, portals) for f in files]
    requests = [r for _, reqs in planned for r in reqs]
    try:
        if requests:  # a part of a crawl whose pages were all recorded before appends nothing
            archive.append(requests, actor=actor)
        return [o for o, _ in planned]
    except errors.ConflictError:
        return [_commit_alone(archive, f, actor) for f in files]


def _commit_alone(archive: Archive, f: SourceFile, actor: str | None) -> FileOutcome:
    for _ in range(20):
        archive.refresh()
        outcome, requests = _plan(archive, f, set())
        if (src := archive.state.sources.get(outcome.digest)) is not None:
            return repeat_outcome(f.name, f.digest, src.rejected)
        try:
            archive.append(requests, actor=actor)
            return outcome
        except errors.ConflictError:
            continue
    raise errors.ConflictError("gave up after 20 conflicting attempts: the articles keep changing")


def _plan(archive: Archive, f: SourceFile, portals: set[tuple[str, str]]) -> tuple[FileOutcome, list[AppendRequest]]:
    if f.result is None:
        outcome = FileOutcome(file=f.name, digest=f.digest, result=REJECTED, reason=f.reason)
        rejected = ev.SourceRejected(digest=f.digest, file_name=f.name, reason=f.reason or "", size=f.size,
                                     via=f.via)
        return outcome, [AppendRequest(ev.source_stream(f.digest), [rejected])]
    name, digest, size, result, folder_tags = f.name, f.digest, f.size, f.result, f.tags
    st = archive.state
    outcome = FileOutcome(file=name, digest=digest, result=DUPLICATE)
    requests = [AppendRequest(ev.source_stream(digest), [
        ev.SourceReceived(digest=digest, file_name=name, size=size, via=f.via)])] if f.receipt else []
    seen_here: set[str] = set()
    for art in result.articles:
        aid = parsed_article_id(art)
        if aid in seen_here:
            continue  # the same article twice in one file: the first wins
        seen_here.add(aid)
        tags = list(dict.fromkeys(t for t in (*art.tags, *folder_tags) if t))
        existing = st.articles.get(aid)
        if existing is None:
            events: list[ev.Event] = [ev.ArticlePublished(
                title=art.title, body=art.body, url=art.url, published=art.published,
                publisher=art.publisher, source=digest)]
            events += _status_events(art, LIVE, art.url, digest)
            events += [ev.ArticleTagged(tag=t, source=digest) for t in _tags(tags)]
            requests.append(AppendRequest(aid, events, NO_STREAM))
            outcome.new += 1
            outcome.articles.append(aid)
            continue
        events = []
        current = archive.log.get(existing.content_position).event
        assert isinstance(current, ev.ArticlePublished | ev.ArticleRevised)
        if (art.title, art.body, art.published, art.publisher) != (
                current.title, current.body, current.published, current.publisher):
            events.append(ev.ArticleRevised(title=art.title, body=art.body, url=existing.url,
                                            published=art.published, publisher=art.publisher, source=digest))
            outcome.revised += 1
        events += _status_events(art, existing.status, existing.url, digest)
        events += [ev.ArticleTagged(tag=t, source=digest) for t in _tags(tags) if t not in existing.tags]
        if events:
            requests.append(AppendRequest(aid, events, existing.version))
            outcome.articles.append(aid)
        else:
            outcome.unchanged += 1
    for rel in result.relocations:
        event = _relocation(archive, rel.from_url, rel.to_url, rel.prefix, digest, portals)
        if event is not None:
            requests.append(event)
            outcome.relocations += 1
    outcome.result = INGESTED if outcome.new else REVISED if outcome.revised else (
        INGESTED if outcome.articles or outcome.relocations else DUPLICATE)
    return outcome, requests


def _status_events(art: ParsedArticle, status: str, url: str | None, digest: str) -> list[ev.Event]:
    out: list[ev.Event] = []
    if (art.archived_reason or art.status == ARCHIVED) and status != ARCHIVED:
        out.append(ev.ArticleArchived(reason=art.archived_reason or "", source=digest))
    elif art.status == WITHDRAWN and status != WITHDRAWN:
        out.append(ev.ArticleWithdrawn(reason="withdrawn in the source record", source=digest))
    if art.relocated_to and (url is None or url_key(art.relocated_to) != url_key(url)):
        out.append(ev.ArticleRelocated(from_url=url, to_url=art.relocated_to, source=digest))
    return out


def _relocation(archive: Archive, from_url: str, to_url: str, prefix: bool, digest: str,
                portals: set[tuple[str, str]]) -> AppendRequest | None:
    st = archive.state
    holders = [] if prefix else st.by_url.get(url_key(from_url), [])
    living = [i for i in holders if url_key(st.articles[i].url or "") == url_key(from_url)]
    candidates = living or holders  # the article at that address now, else the one that lived there
    aid = candidates[0] if len(candidates) == 1 else None
    if aid is not None:
        a = st.articles[aid]
        if a.url and url_key(a.url) == url_key(to_url):
            return None
        return AppendRequest(aid, [ev.ArticleRelocated(from_url=a.url, to_url=to_url, source=digest)])
    rule_key = (url_key(from_url), url_key(to_url))
    if rule_key in portals or any((url_key(r.from_prefix), url_key(r.to_prefix)) == rule_key for r in st.portals):
        return None
    portals.add(rule_key)
    return AppendRequest(ev.portal_stream(url_key(from_url)), [ev.PortalRelocated(
        from_prefix=from_url, to_prefix=to_url, source=digest, keep_path=False)])


def _tags(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for t in tags:
        t = normalize_tag(t)[:TAG_MAX_CHARS]
        if t and t not in out:
            out.append(t)
    return out
