"""Parsers for dropped files: bytes in, `ParseResult` out, or `Rejected` with a reason. No I/O, no events.

The parsers (HTML, text, records) load on first use: a search imports `archivist.ingest.model` through
the facade and should not pay for them."""

from __future__ import annotations

import importlib
from typing import Any

from .model import ParsedArticle, ParsedRelocation, ParseResult, Rejected

_LAZY = {"SUPPORTED_SUFFIXES": ".registry", "parse": ".registry", "normalize_url": ".urls"}

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ParseResult",
    "ParsedArticle",
    "ParsedRelocation",
    "Rejected",
    "normalize_url",
    "parse",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
