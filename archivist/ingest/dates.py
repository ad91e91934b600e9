"""Publication dates as Polish pages and feeds write them."""

from __future__ import annotations

import datetime
import email.utils
import re

_MONTHS = {
    "stycz": 1, "luty": 2, "lutego": 2, "marz": 3, "marc": 3, "kwie": 4, "maj": 5, "czerw": 6,
    "lip": 7, "sierp": 8, "wrze": 9, "pazdziernik": 10, "październik": 10, "listopad": 11, "grud": 12,
}
MONTH_WORD = (
    r"(?:stycz(?:eń|en|nia)|lut(?:y|ego)|mar(?:zec|ca)|kwie(?:cień|cien|tnia)|maj(?:a)?|czerw(?:iec|ca)"
    r"|lip(?:iec|ca)|sierp(?:ień|ien|nia)|wrze(?:sień|sien|śnia|snia)|(?:paź|paz)dziernik(?:a)?"
    r"|listopad(?:a)?|grud(?:zień|zien|nia))"
)
# "29.06.2017", "29.06.2017 r.", "2017-06-29", "17 października 2015", "17 października 2015 r."
DATE = (
    r"(?:(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{4})"
    r"|(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})"
    rf"|(?P<wd>\d{{1,2}})\s+(?P<wm>{MONTH_WORD})\s+(?P<wy>\d{{4}}))"
)
_DATE_RE = re.compile(DATE, re.IGNORECASE)


def month_number(word: str) -> int | None:
    w = word.lower()
    for prefix, n in _MONTHS.items():
        if w.startswith(prefix):
            return n
    return None


def _make(y: str, m: str | int | None, d: str) -> datetime.date | None:
    try:
        date = datetime.date(int(y), int(m or 0), int(d))
    except (TypeError, ValueError):
        return None
    return date if 1900 <= date.year <= 2200 else None


def date_from_match(m: re.Match[str]) -> datetime.date | None:
    if m.group("y"):
        return _make(m.group("y"), m.group("m"), m.group("d"))
    if m.group("iy"):
        return _make(m.group("iy"), m.group("im"), m.group("id"))
    return _make(m.group("wy"), month_number(m.group("wm")), m.group("wd"))


def find_date(text: str) -> datetime.date | None:
    m = _DATE_RE.search(text)
    return date_from_match(m) if m else None


def parse_date(value: str) -> datetime.date | None:
    """A date from a structured field: ISO date or datetime, "YYYY-MM-DD HH:MM:SS", RFC 2822, Polish forms.

    The calendar date is taken as written (no time-zone conversion): it is the date the source printed.
    """
    s = value.strip()
    if not s:
        return None
    try:
        return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    if re.match(r"^[A-Za-z]{3},?\s+\d", s) or re.match(r"^\d{1,2}\s+[A-Za-z]{3}\s+\d{4}", s):
        try:
            return email.utils.parsedate_to_datetime(s).date()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    m = _DATE_RE.match(s)
    return date_from_match(m) if m else None
