"""What an action records for an article, and actions on every result of a query.

`action_events` is the one rule of what tagging, untagging, archiving, restoring and withdrawing record — and
when there is nothing to record (already archived, already tagged). The single-article commands and the
batches over a query's results both ask it. A batch is planned against the article state (each article with
the stream version it was read at) and appended in one atomic append by the facade (`Archive.apply_batch`):
a concurrent change to any of its articles is a conflict for the whole batch, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from archivist import errors
from store import events as ev
from store.article import ARCHIVED, LIVE, WITHDRAWN, Article

ACTIONS = ("tag", "untag", "archive", "restore", "withdraw")
PAST = {"tag": "tagged", "untag": "untagged", "archive": "archived", "restore": "restored",
        "withdraw": "withdrawn"}


def action_events(action: str, a: Article, *, tags: Sequence[str] = (), reason: str = "",
                  source: str | None = None) -> list[ev.Event]:
    """The events `action` records for article `a`: none when it is already so. `tags` are clean (see
    `Archive`); a withdrawal's reason is checked by the caller."""
    match action:
        case "archive":
            return [] if a.status == ARCHIVED else [ev.ArticleArchived(reason=reason, source=source)]
        case "restore":
            return [] if a.status == LIVE else [ev.ArticleRestored(reason=reason)]
        case "withdraw":
            return [] if a.status == WITHDRAWN else [ev.ArticleWithdrawn(reason=reason)]
        case "tag":
            return [ev.ArticleTagged(tag=t) for t in tags if t not in a.tags]
        case "untag":
            return [ev.ArticleUntagged(tag=t) for t in tags if t in a.tags]
    raise errors.UsageError(f"the action is one of {', '.join(ACTIONS)}, not {action!r}")


class BatchArticle(msgspec.Struct, kw_only=True):
    id: str
    title: str
    status: str


class BatchResult(msgspec.Struct, kw_only=True):
    """What an action on a query's results did (or, `dry_run`, would do)."""

    action: str
    query: str
    tags: list[str] = []
    reason: str = ""
    dry_run: bool = False
    matched: int = 0  # articles the query found
    changed: list[BatchArticle] = []  # recorded (or would be)
    unchanged: list[BatchArticle] = []  # already so: counted and skipped
    first_position: int | None = None  # the log positions the batch took (None: nothing recorded)
    last_position: int | None = None


class BatchItem(NamedTuple):
    article_id: str
    version: int  # the stream version the article was read at: the append expects it
    events: tuple[ev.Event, ...]


class BatchPlan(msgspec.Struct, kw_only=True):
    """A planned batch: what to show before asking (`result`) and what to append (`items`)."""

    result: BatchResult
    items: list[BatchItem]


def plan(action: str, query: str, articles: Sequence[Article], *, tags: Sequence[str] = (),
         reason: str = "") -> BatchPlan:
    """The batch for `action` on `articles` (the query's results, as the state holds them now)."""
    result = BatchResult(action=action, query=query, tags=list(tags), reason=reason, matched=len(articles))
    items: list[BatchItem] = []
    for a in articles:
        events = action_events(action, a, tags=tags, reason=reason)
        (result.changed if events else result.unchanged).append(
            BatchArticle(id=a.id, title=a.title, status=a.status))
        if events:
            items.append(BatchItem(a.id, a.version, tuple(events)))
    return BatchPlan(result=result, items=items)
