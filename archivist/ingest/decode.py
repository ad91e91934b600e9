"""Bytes to text for Polish sources: UTF-8 (with or without BOM), else Windows-1250 or ISO-8859-2.

The two legacy code pages agree on most Polish letters but not on ą Ą ś Ś ź Ź (and Windows-1250 uses
0x80-0x9F for letters and punctuation where ISO-8859-2 has control codes), so each candidate decoding is
scored: Polish letters count for it, controls and rarely used symbols against it.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from .model import Rejected

POLISH_LETTERS = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
# Non-ASCII characters ordinary Polish text uses besides its letters.
_TYPOGRAPHY = frozenset("\u00a0\u00ad„”“‘’‚–—…«»°§•·×é€")
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
_LEGACY = ("cp1250", "iso-8859-2")
_NAMES = {"cp1250": "Windows-1250", "iso-8859-2": "ISO-8859-2"}


def reject_binary(data: bytes) -> None:
    if b"\x00" in data:
        raise Rejected("binary file (it contains NUL bytes), not text")
    sample = data[:65536]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 11))
    if controls > max(8, len(sample) // 20):
        raise Rejected("binary file (mostly control characters), not text")


def _bad(ch: str) -> bool:
    if ch < "\x80":
        return ch < " " and ch not in _ALLOWED_CONTROLS or ch == "\x7f"
    return unicodedata.category(ch) in ("Cc", "Co", "Cn", "Cs")


def _score(text: str) -> int:
    score = 0
    for ch in text:
        if ch < "\x80":
            continue
        if ch in POLISH_LETTERS:
            score += 2
        elif ch in _TYPOGRAPHY:
            score += 1
        elif unicodedata.category(ch) in ("Cc", "Co", "Cn", "Cs"):
            score -= 6
        else:
            score -= 2
    return score


_ASCII_BAD = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _plausible(text: str) -> bool:
    """Reject decodings that are mostly nonsense symbols: random bytes decode under ISO-8859-2 too."""
    non_ascii = _NON_ASCII.findall(text)  # only these need a closer look; Polish prose is mostly ASCII
    bad = len(_ASCII_BAD.findall(text)) + sum(1 for ch in non_ascii if _bad(ch))
    if bad > max(4, len(text) // 50):
        return False
    if not non_ascii:
        return True
    good = sum(1 for ch in non_ascii if ch in POLISH_LETTERS or ch in _TYPOGRAPHY or ch.isalpha())
    return good * 10 >= len(non_ascii) * 7


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode `data`, honouring a BOM, then a declared charset (HTML), then UTF-8, then the best legacy page.

    Raises Rejected for binary or undecodable bytes. The BOM is removed; line ends are left alone.
    """
    if data.startswith(codecs.BOM_UTF8):
        reject_binary(data[3:])
        try:
            return _checked(data[3:], "utf-8")
        except UnicodeDecodeError:
            raise Rejected("not valid UTF-8 text despite its byte-order mark") from None
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                text = data[2:].decode(enc)
            except UnicodeDecodeError:
                raise Rejected("not valid UTF-16 text despite its byte-order mark") from None
            if not _plausible(text):
                raise Rejected("binary file (mostly control characters), not text")
            return text
    reject_binary(data)
    try:
        return _checked(data, "utf-8")
    except UnicodeDecodeError as exc:
        # Valid UTF-8 cut inside its last character (an interrupted download): still UTF-8, minus the stub.
        if exc.reason == "unexpected end of data" and exc.end == len(data) and len(data) - exc.start < 4:
            try:
                return _checked(data[:exc.start], "utf-8")
            except UnicodeDecodeError:
                pass
    if declared:
        try:
            enc = codecs.lookup(declared).name
        except LookupError:
            enc = ""
        if enc and enc not in ("utf-8", "latin-1", "iso8859-1", "cp1252", "ascii"):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                pass
            else:
                if _plausible(text):
                    return text
    best: tuple[int, str] | None = None
    for enc in _LEGACY:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        score = _score(text)
        if best is None or score > best[0]:
            best = (score, text)
    if best is None or not _plausible(best[1]):
        raise Rejected("not UTF-8, Windows-1250 or ISO-8859-2 text")
    return best[1]


def _checked(data: bytes, enc: str) -> str:
    text = data.decode(enc)  # UnicodeDecodeError is the caller's cue to try another encoding
    if not _plausible(text):
        raise Rejected("binary file (mostly control characters), not text")
    return text
