"""Showing article text literally: no markup interpreted, no terminal control sequence passed through."""

from __future__ import annotations

import re

from index.analysis import fold

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Control characters (ESC of an ANSI sequence among them) become visible `\\x1b`-style escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def folded(word: str) -> str:
    """Lower case without diacritics (the search index's `fold`): what the UI compares words by."""
    return fold(word.lower())


_IRREGULAR = {"match": "matches", "copy": "copies", "entry": "entries", "this": "these"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 article`, `2 articles`, `0 articles`: the one way counts are written, in the CLI and the UI (never
    "article(s)"). `many` when the plural is irregular and not listed here."""
    return f"{n} {word if n == 1 else many or _IRREGULAR.get(word) or word + 's'}"


# The three numbers an article carries, named the same in the CLI and the UI (and explained in both).
VERSION_WORDS = (
    "revision N of M: the article's text — revision 1 as first published, then one per change of title or "
    "text.  event N: the article's own count of recorded events (published, archived, tagged…); "
    "`--expect-version N` checks it.  log #P: an event's position in the whole archive's log."
)


def revision(n: int, of: int) -> str:
    return f"revision {n} of {of}"


def crawl_report(pages: int, new: int, revised: int, relocations: int, duplicates: int,
                 skipped: dict[str, int]) -> str:
    """What a WARC crawl gave, one line for `ingest` and `watch`: `12 pages (10 new, 1 revised),
    2 relocations, 3 duplicates; skipped 40 image, 12 request`."""
    line = plural(pages, "page") + (f" ({new} new, {revised} revised)" if pages else "")
    line += f", {plural(relocations, 'relocation')}, {plural(duplicates, 'duplicate')}"
    if skipped:
        line += "; skipped " + ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items(), key=lambda kv: -kv[1]))
    return line
