"""Redirect maps: two columns, old address -> new address. A trailing `*` on the old address makes the row
a prefix rule (every address under it moved under the new one: PortalRelocated).

Both sides go through `normalize_url`: a bare host gets https://, an explicit http:// is kept as written.
"""

from __future__ import annotations

import csv
import io

from .model import ParsedRelocation, Rejected
from .records import header_key
from .urls import normalize_url

_PAIRS = {
    ("old_url", "new_url"), ("from", "to"), ("from_url", "to_url"), ("old", "new"), ("source", "target"),
    ("stary", "nowy"), ("z", "do"),
}
REDIRECT_SUFFIXES = (".redirects.csv", ".redirects.tsv")


def redirect_columns(header: list[str]) -> tuple[int, int] | None:
    """Indexes of the (old, new) columns when `header` is a redirect map's header, else None."""
    keys = [header_key(h) for h in header]
    for old, new in _PAIRS:
        if old in keys and new in keys:
            return keys.index(old), keys.index(new)
    return None


def parse_redirects(text: str, delimiter: str) -> list[ParsedRelocation]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[ParsedRelocation] = []
    try:
        first = next(rows, None)
        if first is None:
            raise Rejected("redirect map is empty")
        cols = redirect_columns(first)
        pending = [] if cols else [(1, first)]  # no header: the first row is already a redirect
        cols = cols or (0, 1)
        for n, row in [*pending, *((i, r) for i, r in enumerate(rows, 2))]:
            if not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
                continue
            if len(row) <= max(cols):
                raise Rejected(f"redirect row {n} does not have both an old and a new address")
            old, new = row[cols[0]].strip(), row[cols[1]].strip()
            prefix = old.endswith("*")
            old = old.rstrip("*")
            try:
                out.append(ParsedRelocation(normalize_url(old), normalize_url(new.rstrip("*")), prefix))
            except ValueError as e:
                raise Rejected(f"redirect row {n}: {e}") from None
    except csv.Error as e:
        raise Rejected(f"malformed redirect map: {e}") from None
    if not out:
        raise Rejected("redirect map holds no redirects")
    return out
