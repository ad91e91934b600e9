"""Turning article strings into Rich `Text`, literally.

Every string that comes from an article (title, body, publisher, tags, addresses, reasons, actors, file
names) goes through `lit`: `Text(printable(s))` never interprets `[bold]`-style markup, and `printable`
turns control characters (ESC among them) into visible `\\x1b` escapes, so nothing reaches the terminal
but text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text

from archivist.archive import ARCHIVED, LIVE, WITHDRAWN, first_day
from archivist.textutil import folded, printable

MATCH_STYLE = "bold reverse"
STATUS_STYLES = {LIVE: "bold black on green", ARCHIVED: "bold black on yellow",
                 WITHDRAWN: "bold white on red"}
TimeFormat = Callable[[dt.datetime], str]


def lit(value: object, style: str = "") -> Text:
    return Text(printable("" if value is None else str(value)), style=style)


def marked(text: str, marks: Iterable[tuple[int, int]], style: str = MATCH_STYLE, base: str = "") -> Text:
    """`text` with the search's match offsets styled (offsets only hold when nothing had to be escaped)."""
    out = lit(text, base)
    if printable(text) == text:
        for start, end in marks:
            out.stylize(style, start, end)
    return out


def badge(status: str) -> Text:
    return Text(f" {status.upper()} ", style=STATUS_STYLES.get(status, "reverse"))


def local_time(t: dt.datetime) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M")


def window(text: str, marks: list[tuple[int, int]], width: int) -> tuple[str, list[tuple[int, int]]]:
    """At most `width` characters of a snippet, around its first match, with the marks shifted to fit; cut
    at spaces, never inside a word (unless one word is longer than half the window)."""
    if len(text) <= width:
        return text, marks
    start = 0
    if marks and marks[0][1] > width:
        start = max(0, marks[0][0] - width // 4)
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < marks[0][0] else start
    end = min(len(text), start + width)
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", start, end)
        if space > start + width // 2:
            end = space
    piece = text[start:end].rstrip()
    end = start + len(piece)
    shifted = [(a - start, min(b, end) - start) for a, b in marks if a >= start and a < end]
    prefix = "… " if start else ""
    suffix = " …" if end < len(text) else ""
    return prefix + piece + suffix, [(a + len(prefix), b + len(prefix)) for a, b in shifted]


# --- highlighting the query's words in a full article -------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)
_OPERATORS = {"and", "or", "not", "to"}
_FIELD = re.compile(r"\b\w+:")


def query_stems(query: str) -> list[str]:
    """Folded stems of the query's words: enough of each word to catch its Polish inflections.

    Field names (`title:`), operators and words of one or two letters are left out; a stem keeps all but the
    last two letters of a long word (`handlu` → `hand`, matching `handel`, `handlowi`).
    """
    stems: list[str] = []
    for raw in _WORD.findall(_FIELD.sub(" ", query)):
        if raw.isdigit() and len(raw) < 4:
            continue
        w = folded(raw)
        if len(w) < 3 or w in _OPERATORS:
            continue
        stem = w if len(w) <= 4 else w[: max(4, len(w) - 2)]
        if stem not in stems:
            stems.append(stem)
    return stems


def highlight_words(text: Text, stems: list[str], style: str = MATCH_STYLE) -> int:
    """Style every word of `text` that starts with one of `stems`; returns how many were styled."""
    if not stems:
        return 0
    n = 0
    for m in _WORD.finditer(text.plain):
        w = folded(m.group())
        if any(w.startswith(s) for s in stems):
            text.stylize(style, m.start(), m.end())
            n += 1
    return n


# --- dates and differences ------------------------------------------------------------------------------------

DELETE_STYLE = "strike red"
INSERT_STYLE = "bold green"


def parse_day(text: str, *, today: dt.date | None = None) -> dt.date:
    """YYYY-MM-DD, or YYYY-MM / YYYY meaning its first day. Raises ValueError with a message for people."""
    try:
        day = first_day(text)
    except ValueError as exc:
        raise ValueError(f"{printable(str(exc))}; YYYY-MM and YYYY mean their first day") from None
    if day > (today or dt.datetime.now(dt.UTC).date()):
        raise ValueError(f"{day} has not come yet; clear the field to see the archive as it is now")
    return day


def diff_text(ops: Iterable[Any], base: str = "") -> Text:
    """A word diff as Rich Text, literally: deletions struck through in red, insertions in green."""
    out = Text(style=base)
    previous = ("", "")
    for op in ops:
        kind, text = op.op, op.text
        if previous[0] == "delete" and kind == "insert" and not previous[1][-1:].isspace():
            out.append(" ")  # `Stary` then `Nowy`, not `StaryNowy` (a gap for the eye, not in either text)
        style = DELETE_STYLE if kind == "delete" else INSERT_STYLE if kind == "insert" else ""
        out.append_text(lit(text, style))
        previous = (kind, text)
    return out


def typed_tags(text: str) -> list[str]:
    """Tags typed into a dialog, comma-separated."""
    return [t.strip() for t in text.split(",") if t.strip()]
