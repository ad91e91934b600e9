"""Bytes to text for Polish sources: UTF-8 (with or without BOM), UTF-16 (LE or BE, with or without BOM),
else Windows-1250 or ISO-8859-2.

The two legacy code pages agree on most Polish letters but not on ą Ą ś Ś ź Ź (and Windows-1250 uses
0x80-0x9F for letters and punctuation where ISO-8859-2 has control codes), so each candidate decoding is
scored: Polish letters count for it, controls and rarely used symbols against it.

Whatever the encoding, a decoding is only accepted when it reads as text Polish sources hold (`_implausible`):
random bytes after a UTF-16 byte-order mark decode without error — into CJK and Hangul syllables.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata

from .model import Rejected

POLISH_LETTERS = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
# Non-ASCII characters ordinary Polish text uses besides its letters.
_TYPOGRAPHY = frozenset("\u00a0\u00ad„”“‘’‚–—…«»°§•·×é€")
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
_LEGACY = ("cp1250", "iso-8859-2")
_ONE_BYTE = frozenset({"cp1250", "iso8859-2"})  # codec names as `codecs.lookup` spells them
_NAME_LETTERS = frozenset("áäčďéěíöřšťúůüýžÁÄČĎÉĚÍÖŘŠŤÚŮÜÝŽ")  # Czech, Slovak, German names


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
_SPACE = re.compile(r"\s")
_WORD = re.compile(r"[^\W\d_]{2,}")


@functools.lru_cache(maxsize=8192)
def _ordinary(ch: str) -> bool:
    """Could a Polish source hold this non-ASCII character? Polish letters and typography; letters of the
    Latin, Greek and Cyrillic scripts (names, quotations); punctuation, symbols and spaces of Latin-1, General
    Punctuation up to the geometric shapes and dingbats (arrows, bullets); emoji."""
    if ch in POLISH_LETTERS or ch in _TYPOGRAPHY:
        return True
    cat = unicodedata.category(ch)
    if cat[0] == "L" or cat == "Mn":
        return ch < "\u0530" or "\u1e00" <= ch < "\u2000"
    if cat[0] in "PSZN":
        return ch < "\u0100" or "\u2000" <= ch < "\u2c00" or "\U0001f000" <= ch < "\U0001fb00"
    return False


def _implausible(text: str, encoding: str) -> str | None:
    """Why `text` cannot be what the bytes meant under `encoding` (a reason for the archivist), or None.
    Random bytes decode under ISO-8859-2 and, after a byte-order mark, under UTF-16 too. Under a one-byte
    code page every byte is some letter, so there only Polish letters, typography and the foreign letters of
    names count for a decoding."""
    non_ascii = _NON_ASCII.findall(text)  # only these need a closer look; Polish prose is mostly ASCII
    bad = len(_ASCII_BAD.findall(text)) + sum(1 for ch in non_ascii if _bad(ch))
    if bad > max(4, len(text) // 50):
        return "binary file (mostly control characters), not text"
    if codecs.lookup(encoding).name in _ONE_BYTE:
        good = sum(1 for ch in non_ascii if ch in POLISH_LETTERS or ch in _TYPOGRAPHY or ch in _NAME_LETTERS)
        visible = len(text) - len(_SPACE.findall(text))
        if non_ascii and sum(map(len, _WORD.findall(text))) * 2 < visible:
            good = 0  # letters strewn among symbols, not words: what random bytes look like
    else:
        good = sum(1 for ch in non_ascii if _ordinary(ch))
    if good * 10 < len(non_ascii) * 7:
        return (f"not text: read as {_LABELS.get(encoding, encoding)} it is mostly characters that Polish sources "
                "do not use")
    return None


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
                return _checked(data[2:], enc)
            except UnicodeDecodeError:
                raise Rejected("not valid UTF-16 text despite its byte-order mark") from None
    if (enc16 := _utf16_byte_order(data)) is not None:
        try:
            return _checked(data, enc16)
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: NUL bytes, so binary
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
                if _implausible(text, enc) is None:
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
    if best is None or _implausible(best[1], "cp1250") is not None:
        raise Rejected("not UTF-8, UTF-16, Windows-1250 or ISO-8859-2 text")
    return best[1]


def _utf16_byte_order(data: bytes) -> str | None:
    """UTF-16 without a byte-order mark, told by where its NUL bytes fall: Polish text is mostly ASCII,
    whose characters have a zero high byte (odd offsets in little-endian, even ones in big-endian)."""
    sample = data[:8192]
    if len(sample) < 4 or len(data) % 2:
        return None
    half = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd * 3 >= half and even * 50 <= half:
        return "utf-16-le"
    if even * 3 >= half and odd * 50 <= half:
        return "utf-16-be"
    return None


_LABELS = {"utf-8": "UTF-8", "utf-16-le": "UTF-16 (little-endian)", "utf-16-be": "UTF-16 (big-endian)",
           "cp1250": "Windows-1250", "iso-8859-2": "ISO-8859-2"}


def _checked(data: bytes, enc: str) -> str:
    text = data.decode(enc)  # UnicodeDecodeError is the caller's cue to try another encoding
    problem = _implausible(text, enc)
    if problem is not None:
        raise Rejected(problem)
    return text
