"""Running a query: filters, the current or as-of view, sorting, facets, snippets and suggestions."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence

import msgspec
from whoosh import highlight, sorting
from whoosh import query as Q

from index.analysis import is_stopword, query_words
from index.projection import SearchIndex
from index.query import STATUSES, QueryError, parse_query, phrase_query

SORTS = ("relevance", "date", "oldest")
FACETS = {"status": "status", "year": "year", "publisher": "publisher_facet"}
SNIPPET_CHARS = 240


class SearchHit(msgspec.Struct, kw_only=True):
    id: str
    title: str
    url: str | None
    published: dt.date | None
    status: str
    publisher: str | None
    score: float
    snippet: str
    marks: list[tuple[int, int]] = []  # [start, end) of each highlighted match in `snippet`
    tags: list[str] = []
    title_marks: list[tuple[int, int]] = []


class SearchResults(msgspec.Struct, kw_only=True):
    query: str
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = {}
    suggestion: str | None = None
    sort: str = "relevance"
    as_of: dt.date | None = None
    took_ms: float = 0.0


class _Marker(highlight.Formatter):
    """Keeps matches as offsets instead of markup, so callers render them (TUI) or ship them (JSON)."""

    between = " … "

    def format_token(self, text, token, replace=False):  # type: ignore[no-untyped-def]
        return "\ue000" + highlight.get_text(text, token, replace) + "\ue001"


def _split_marks(marked: str) -> tuple[str, list[tuple[int, int]]]:
    out: list[str] = []
    marks: list[tuple[int, int]] = []
    pos = 0
    start = 0
    for part in re.split("([\ue000\ue001])", re.sub(r"\s+", " ", marked).strip()):
        if part == "\ue000":
            start = pos
        elif part == "\ue001":
            marks.append((start, pos))
        else:
            out.append(part)
            pos += len(part)
    return "".join(out), marks


def end_of_day(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, 23, 59, 59, 999999)


def search(
    index: SearchIndex,
    text: str,
    *,
    body_of: Callable[[int], str],
    limit: int = 10,
    offset: int = 0,
    status: Sequence[str] | str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    publisher: str | None = None,
    tag: Sequence[str] | str | None = None,
    as_of: dt.date | None = None,
    sort: str = "relevance",
    include_withdrawn: bool = False,
    facets: bool = True,
    snippets: bool = True,
) -> SearchResults:
    """Search the index; `body_of(position)` reads an article body from the log for its snippet."""
    t0 = time.perf_counter()
    if sort not in SORTS:
        raise QueryError(f"sort is one of {', '.join(SORTS)}, not {sort!r}")
    if limit < 0 or offset < 0:
        raise QueryError("limit and offset cannot be negative")
    if text.strip():
        q, wants_withdrawn = parse_query(text)
    else:
        q, wants_withdrawn = Q.Every(), False

    filters: list[Q.Query] = []
    if as_of is None:
        filters.append(Q.Term("current", "1"))
    else:
        moment = end_of_day(as_of)
        filters.append(Q.DateRange("valid_from", None, moment))
        filters.append(Q.DateRange("valid_to", moment + dt.timedelta(microseconds=1), None))
    statuses = [status] if isinstance(status, str) else list(status or [])
    for s in statuses:
        if s not in STATUSES:
            raise QueryError(f"status is one of {', '.join(STATUSES)}, not {s!r}")
    if statuses:
        filters.append(Q.Or([Q.Term("status", s) for s in statuses]))
    if since or until:
        if since and until and since > until:
            raise QueryError(f"--since {since} is after --until {until}")
        filters.append(Q.DateRange("published", dt.datetime(since.year, since.month, since.day) if since else None,
                                   end_of_day(until) if until else None))
    if publisher and publisher.strip():
        filters.append(phrase_query(publisher, ("publisher",)))
    tags = [tag] if isinstance(tag, str) else list(tag or [])
    for t in tags:
        filters.append(Q.Term("tag", " ".join(t.lower().split())))
    show_withdrawn = include_withdrawn or wants_withdrawn or "withdrawn" in statuses
    mask = None if show_withdrawn else Q.Term("status", "withdrawn")

    s = index.searcher()
    kwargs: dict = {"filter": Q.And(filters) if len(filters) > 1 else filters[0], "mask": mask,
                    "limit": offset + limit if limit else 1}
    if sort != "relevance":
        kwargs["sortedby"] = sorting.FieldFacet("event_date", reverse=(sort == "date"))
    if facets:
        kwargs["groupedby"] = {name: sorting.FieldFacet(field) for name, field in FACETS.items()}
        kwargs["maptype"] = sorting.Count
    results = s.search(q, **kwargs)
    total = len(results)

    facet_counts: dict[str, dict[str, int]] = {}
    if facets:
        for name in FACETS:
            groups = results.groups(name)
            counts = {str(k): int(v) for k, v in groups.items() if k not in (None, "", b"")}
            facet_counts[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20])
            if name == "year":
                facet_counts[name] = dict(sorted(counts.items(), reverse=True))

    hits: list[SearchHit] = []
    if limit:
        results.fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
        results.formatter = _Marker()
        for hit in results[offset: offset + limit]:
            f = hit.fields()
            body = body_of(f["content_position"]) if snippets else ""
            snippet, marks = "", []
            if snippets:
                marked = hit.highlights("body", text=body, top=2) if not isinstance(q, Q.Every) else ""
                snippet, marks = _split_marks(marked) if marked else (_lead(body), [])
            title_marked = hit.highlights("title", text=f.get("title", ""), minscore=0) \
                if snippets and not isinstance(q, Q.Every) else ""
            title_marks = _split_marks(title_marked)[1] if title_marked and \
                _split_marks(title_marked)[0] == f.get("title", "") else []
            pub = f.get("published")
            hits.append(SearchHit(
                id=f["id"], title=f.get("title", ""), url=f.get("url_current"),
                published=pub.date() if pub else None, status=f.get("status", "live"),
                publisher=f.get("publisher") or None, score=round(float(hit.score or 0.0), 4),
                snippet=snippet, marks=marks, tags=[t for t in (f.get("tag") or "").split(",") if t],
                title_marks=title_marks,
            ))
    suggestion = suggest(index, text) if total < 3 and text.strip() else None
    return SearchResults(query=text, total=total, hits=hits, facets=facet_counts, suggestion=suggestion,
                         sort=sort, as_of=as_of, took_ms=round((time.perf_counter() - t0) * 1000, 2))


def _lead(body: str) -> str:
    text = " ".join(body.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text.rfind(" ", 0, SNIPPET_CHARS)
    return text[: cut if cut > 0 else SNIPPET_CHARS] + " …"


_PLAIN_WORD = re.compile(r"^[^\W\d_]{3,}$")


def suggest(index: SearchIndex, text: str) -> str | None:
    """"Did you mean": replace each unknown plain word with the closest title word the archive knows."""
    s = index.searcher()
    reader = s.reader()
    changed = False
    out: list[str] = []
    for part in re.split(r"(\s+)", text):
        word = part.strip()
        if not _PLAIN_WORD.match(word) or is_stopword(word):
            out.append(part)
            continue
        known = False
        for w in query_words(word):
            for t in (*w.alternatives, *w.folded):
                if reader.doc_frequency("body", t) or reader.doc_frequency("title", t):
                    known = True
                    break
        if known:
            out.append(part)
            continue
        best = s.corrector("spell").suggest(word.lower(), limit=1, maxdist=2, prefix=1)
        if best:
            out.append(best[0])
            changed = True
        else:
            out.append(part)
    return "".join(out) if changed else None
