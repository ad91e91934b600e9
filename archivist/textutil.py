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
