"""Days as the archive means them, one rule for the CLI, the query language, the as-of views and the UI.

A day typed as `YYYY`, `YYYY-MM` or `YYYY-MM-DD` names a span of days: its first day opens a range
(`--since 2015`, `published:2015..`), its last day closes one (`--until 2015`, `published:..2015-06`).
"As of" a day means the archive at the end of that day, UTC, on the recorded clock (`recorded_at`).
"""

from __future__ import annotations

import datetime as dt
import re

_DAY = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
DAY_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"


def day_span(text: str) -> tuple[dt.date, dt.date]:
    """The first and the last day `text` names; ValueError (a message for people) when it names none."""
    s = text.strip()
    m = _DAY.fullmatch(s)
    if not m:
        raise ValueError(f"not a date: {s!r} (use {DAY_FORMS})")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if month is None:
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        first = dt.date(year, int(month), int(day) if day else 1)
        if day:
            return first, first
        following = dt.date(year + (first.month == 12), first.month % 12 + 1, 1)
        return first, following - dt.timedelta(days=1)
    except ValueError:
        raise ValueError(f"no such day: {s!r} (use {DAY_FORMS})") from None


def first_day(text: str) -> dt.date:
    return day_span(text)[0]


def last_day(text: str) -> dt.date:
    return day_span(text)[1]


def start_of_day(d: dt.date) -> dt.datetime:
    """The first instant of `d`, UTC."""
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


def end_of_day(d: dt.date) -> dt.datetime:
    """The last instant of `d`, UTC: what "as of `d`" and "until `d`" include."""
    return dt.datetime(d.year, d.month, d.day, 23, 59, 59, 999999, tzinfo=dt.UTC)


def naive_utc(t: dt.datetime) -> dt.datetime:
    """`t` as a naive UTC datetime (how the search index stores instants)."""
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t
