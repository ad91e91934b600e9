"""Saved searches (notmuch's named queries): `@name` inside any query stands for a saved query AND its filters.

A saved search is an event in the log (`SearchSaved`, folded into `ArchiveState.saved`), so it travels with
export and import and a team shares it. Here: what a name may be, and the expansion of `@name` into the query
language itself, so that everything that takes a query (search, the actions on a query, the TUI) understands
it and a search's cache key is the expanded text (a saved search changed is a different question).

`@name` expands to `+( +(QUERY) FILTERS )`: a required clause, like `+word` — it must match, while the rest of
the query keeps its meaning (words rank, field filters narrow). Preceded by `-` or `+` it is `-( … )` or
`+( … )`. The filters are written in the query language with the same meaning as the search options:
`--status a,b` is `+status:(a OR b)`, `--tag t` is `tag:"t"`, `--since/--until` is `published:A..B`,
`--publisher p` is `+publisher:"p"` (the phrase the option matches).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

from archivist import errors
from archivist.state import SavedSearch

NAME = re.compile(r"[^\W_][\w-]{0,63}")
NAME_RULE = ("a saved search's name is one simple word of at most 64 letters, digits, - and _ (e.g. archiwalne, "
             "stare-portale)")
# a phrase or a range (never expanded inside), or @name where a word may start
_REFERENCE = re.compile(r'("[^"]*"|\[[^\]]*\])|(?<![^\s(+\-])@([^\W_][\w-]*)')


def check_name(name: str) -> str:
    """The name as stored (lower case): names are simple words, `@Archiwalne` is `@archiwalne`."""
    if not NAME.fullmatch(name):
        raise errors.UsageError(f"{NAME_RULE}, not {name!r}")
    return name.lower()


def check_tag(tag: str) -> str:
    if '"' in tag or tag.endswith("*"):
        raise errors.UsageError(f"a saved search cannot keep the tag {tag!r} (a double quote, or a * at the end, "
                                "would change its meaning in a query)")
    return tag


def references(text: str) -> list[str]:
    """The saved searches `text` names (`@name`), in order, lower case."""
    return [m.group(2).lower() for m in _REFERENCE.finditer(text) if m.group(2)]


def closest(name: str, names: Sequence[str]) -> str:
    """`; did you mean @x?` for the closest saved name, or a pointer to the list."""
    near = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return f"; did you mean @{near[0]}?" if near else \
        " (`archivist saved list` shows them)" if names else " (there are no saved searches yet: `archivist saved add`)"


def expand(text: str, saved: Mapping[str, SavedSearch], _through: tuple[str, ...] = ()) -> str:
    """`text` with every `@name` replaced by its saved query and filters (recursively). An unknown name or a
    saved search that refers to itself is a query error."""
    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1)
        name = m.group(2).lower()
        if name in _through:
            cycle = " → ".join(f"@{n}" for n in (*_through[_through.index(name):], name))
            raise errors.QueryError(f"the saved search @{name} refers to itself ({cycle})")
        s = saved.get(name)
        if s is None:
            raise errors.QueryError(f"no saved search @{name}{closest(name, sorted(saved))}")
        body = clauses(s, expand(s.query, saved, (*_through, name)))
        before = m.string[m.start() - 1] if m.start() else ""
        return f"({body})" if before in "+-" and before else f"+({body})"
    return _REFERENCE.sub(one, text)


def filters(s: SavedSearch) -> list[tuple[str, str]]:
    """Its filters as (field, value): status (comma-separated), tag, published (A..B), publisher."""
    out = [("status", ",".join(s.statuses))] if s.statuses else []
    out += [("tag", t) for t in s.tags]
    if s.since or s.until:
        out.append(("published", f"{s.since or ''}..{s.until or ''}"))
    if s.publisher:
        out.append(("publisher", s.publisher))
    return out


def describe(s: SavedSearch) -> str:
    """Its filters, for people."""
    return " · ".join(f"{field} {value}" for field, value in filters(s))


def clauses(s: SavedSearch, query: str) -> str:
    """The saved search (its query already expanded) as one group of the query language."""
    parts = [f"+({query})"] if query.strip() else []
    for field, value in filters(s):
        if field == "status":
            parts.append(f"+status:({' OR '.join(value.split(','))})")
        elif field == "tag":
            parts.append(f'tag:"{value}"')
        elif field == "published":
            parts.append(f"published:{value}")
        else:
            parts.append(f'+publisher:"{value.replace(chr(34), " ")}"')
    return " ".join(parts)
