"""Messages that cross widgets and screens (workers report with these, through `post_message`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from textual.message import Message


class ArchiveChanged(Message):
    """The log grew (another process appended, or we did): views re-run what they show."""

    bubble = False  # the app hands it to every screen; a screen's copy must not come back up

    def __init__(self, head: int) -> None:
        super().__init__()
        self.head = head

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ArchiveChanged)


@dataclass
class SearchRequest:
    """Everything one search needs; `seq` orders requests so a stale answer never replaces a newer one."""

    seq: int
    text: str
    sort: str
    filters: dict[str, str]
    include_withdrawn: bool
    limit: int
    as_of: dt.date | None = None  # the archive as it stood at the end of that day (recorded time)


class SearchDone(Message):
    def __init__(self, request: SearchRequest, results: Any | None, error: str | None,
                 empty_archive: bool = False, inbox: str = "", query_error: bool = False) -> None:
        super().__init__()
        self.query_error = query_error
        self.request = request
        self.results = results
        self.error = error
        self.empty_archive = empty_archive
        self.inbox = inbox


class ArticleLoaded(Message):
    def __init__(self, article_id: str, view: Any | None, history: list[Any], resolution: Any | None,
                 resolve_error: str | None, error: str | None, versions: list[Any] | None = None,
                 later: int = 0) -> None:
        super().__init__()
        self.versions = versions or []  # content versions (publication and revisions), oldest first
        self.later = later  # events recorded after the as-of day, left out of `history`
        self.article_id = article_id
        self.view = view
        self.history = history
        self.resolution = resolution
        self.resolve_error = resolve_error
        self.error = error


class ResultsShown(Message):
    """A search's answer is on screen, `latency` seconds after the key that asked for it (bench, tests)."""

    def __init__(self, seq: int, latency: float) -> None:
        super().__init__()
        self.seq = seq
        self.latency = latency


class SavedSearchesLoaded(Message):
    """The archive's saved searches (for the sidebar and the palette)."""

    def __init__(self, saved: list[Any]) -> None:
        super().__init__()
        self.saved = saved
