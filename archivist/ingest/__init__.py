"""Parsers for dropped files: bytes in, `ParseResult` out, or `Rejected` with a reason. No I/O, no events."""

from .model import ParsedArticle, ParsedRelocation, ParseResult, Rejected
from .registry import SUPPORTED_SUFFIXES, parse
from .urls import normalize_url

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ParseResult",
    "ParsedArticle",
    "ParsedRelocation",
    "Rejected",
    "normalize_url",
    "parse",
]
