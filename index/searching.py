"""Running a query: filters, the current or as-of view, sorting, facets, snippets and suggestions."""

from __future__ import annotations

import copy
import datetime as dt
import heapq
import re
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import cast

import msgspec
from whoosh import collectors, highlight, matching, searching
from whoosh import query as Q
from whoosh.analysis import Token

from index.analysis import (
    _EXACT,
    _JOINERS_RE,
    _TOKEN_RE,
    _WORD,
    compound_spans,
    fold,
    is_stopword,
    polish_analyzer,
    query_words,
    word_terms,
)
from index.projection import SearchIndex
from index.query import QueryError, parse_query, phrase_query
from index.schema import CHECKPOINT_DOC, split_tags
from store import days
from store.article import LIVE, STATUSES, WITHDRAWN, normalize_tag

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


class _Highlighter(highlight.Highlighter):
    """Whoosh's highlighter, re-tokenising a snippet's text with a lean copy of the Polish analyzer's
    token stream (same terms, same character spans; the analyzer runs each token through a generator
    pipeline, ~4x slower, and Whoosh recomputes the query's terms for every hit)."""

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self._words: dict[str, frozenset[str]] = {}

    def highlight_hit(self, hitobj, fieldname, text=None, top=3, minscore=1, strict_phrase=False):  # type: ignore[no-untyped-def]
        results = hitobj.results
        field = results.searcher.schema[fieldname]
        if strict_phrase or text is None or field.analyzer != _ANALYZER:
            return super().highlight_hit(hitobj, fieldname, text, top, minscore, strict_phrase)
        words = self._words.get(fieldname)
        if words is None:
            words = self._words[fieldname] = frozenset(
                field.from_bytes(t[1]) for t in results.query_terms(expand=True, fieldname=fieldname))
        tokens = self._merge_matched_tokens(highlight_tokens(text, words))
        fragments = self.fragmenter.fragment_tokens(text, tokens)
        fragments = highlight.top_fragments(fragments, top, self.scorer, self.order, minscore=minscore)
        return self.formatter.format(fragments)


_ANALYZER = polish_analyzer()


def highlight_tokens(value: str, words: frozenset[str]) -> Iterator[Token]:
    """The tokens `polish_analyzer()` yields for `value` in index mode (text and character span), each
    marked `matched` when its term is in `words`; one Token object reused, as Whoosh's analyzers do."""
    t = Token(positions=False, chars=True, removestops=False, mode="index")
    for m in _TOKEN_RE.finditer(value):
        start, end = m.span()
        text = m.group()
        if m.lastgroup == "word" and not _JOINERS_RE.search(text):
            spans: Iterable[tuple] = ((start, end, _WORD if text.isalpha() else _EXACT,  # type: ignore[type-arg]
                                       text if text.isalpha() else fold(text.lower())),)
        else:
            spans = compound_spans(value, m)
        for sp in spans:
            s, e, kind, word = sp[0], sp[1], sp[2], sp[3]
            for term in (word_terms(word.lower()) if kind == _WORD else (word,)):
                t.text = term
                t.startchar = s
                t.endchar = e
                t.matched = term in words
                yield t


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
    suggest: bool = True,
) -> SearchResults:
    """Search the index; `body_of(position)` reads an article body from the log for its snippet.

    `suggest=False` skips "did you mean" (search-as-you-type asks for it separately, once typing settles).

    Answers are cached per index generation (the index is immutable between commits, and the log a
    snippet is read from is append-only): the same search twice costs a dictionary lookup.
    """
    t0 = time.perf_counter()
    if sort not in SORTS:
        raise QueryError(f"sort is one of {', '.join(SORTS)}, not {sort!r}")
    if limit < 0 or offset < 0:
        raise QueryError("limit and offset cannot be negative")
    statuses = [status] if isinstance(status, str) else list(status or [])
    for st in statuses:
        if st not in STATUSES:
            raise QueryError(f"status is one of {', '.join(STATUSES)}, not {st!r}")
    if since and until and since > until:
        raise QueryError(f"--since {since} is after --until {until}")
    tags = [tag] if isinstance(tag, str) else list(tag or [])
    key = (text, limit, offset, tuple(statuses), since, until, (publisher or "").strip(), tuple(tags), as_of,
           sort, include_withdrawn, facets, snippets, suggest)
    res = index.cached(key, lambda: _search(index, text, body_of, limit, offset, statuses, since, until,
                                            publisher, tags, as_of, sort, include_withdrawn, facets, snippets,
                                            suggest))
    return msgspec.structs.replace(res, took_ms=round((time.perf_counter() - t0) * 1000, 2))


class _Top(collectors.TopCollector):
    """Top N by score that also keeps every matching docnum (for the total and the facet counts).

    Block-quality skipping is off: it skips few documents here (NOTES-performance: ~9 %) and, when it
    engages, Whoosh counts the total by running the query a second time. Matcher replacement is off too:
    it drops sub-queries that cannot reach the top N, which makes the total (and facets) inexact."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit=limit, usequality=False, replace=0)
        self.matched: list[int] = []

    def _collect(self, global_docnum, score):  # type: ignore[no-untyped-def]
        self.matched.append(global_docnum)
        return super()._collect(global_docnum, score)


class _CachedRange(Q.DateRange):
    """A date range whose matching documents are computed once per segment and kept on the segment's
    reader (which lives as long as the segment and its deletions are unchanged). Whoosh compiles a numeric
    range into an Or of trie terms per segment on every search: ~10-40 ms for `published:2015..2017`."""

    def matcher(self, searcher, context=None):  # type: ignore[no-untyped-def]
        reader = searcher.reader()
        cache = reader.__dict__.setdefault("_archivist_ranges", {})
        key = (self.fieldname, self.start, self.end, self.startexcl, self.endexcl)
        docs = cache.get(key)
        if docs is None:
            m = self._compile_query(reader).matcher(searcher, searcher.boolean_context())
            ids = m.all_ids() if m.is_active() else ()
            if reader.has_deletions():
                ids = (d for d in ids if not reader.is_deleted(d))
            docs = cache[key] = array("I", ids)
            if len(cache) > 256:
                cache.pop(next(iter(cache)))
        if not docs:
            return matching.NullMatcher()
        return matching.ListMatcher(list(docs), all_weights=self.boost)


def _cache_ranges(q: Q.Query) -> Q.Query:
    if type(q) is Q.DateRange:
        c = copy.copy(q)
        c.__class__ = _CachedRange
        return c
    if q.is_leaf():
        return q
    return q.apply(_cache_ranges)


def _docs(s, q: Q.Query) -> set[int]:  # type: ignore[no-untyped-def]
    return set(s.docs_for_query(q))


def _view_sets(index: SearchIndex, s, as_of: dt.date | None, show_withdrawn: bool,  # type: ignore[no-untyped-def]
               statuses: list[str], since: dt.date | None, until: dt.date | None, publisher: str | None,
               tags: list[str]) -> tuple[set[int] | None, set[int]]:
    """(allowed docnums or None for all, hidden docnums): the current or as-of view and the filters, each
    part computed once per searcher and reused (filter sets were rebuilt by Whoosh for every search)."""
    hidden_parts: list[set[int]] = [index.view(("q", CHECKPOINT_DOC), lambda s: _docs(s, Q.Term("docid", CHECKPOINT_DOC)), s)]
    allow_parts: list[set[int]] = []
    if as_of is None:
        # most documents are current: hide the few closed versions instead of allowing all the others
        hidden_parts.append(index.view(("q", "closed"), lambda s: _docs(s, Q.Term("current", "0")), s))
    else:
        moment = days.naive_utc(days.end_of_day(as_of))
        allow_parts.append(index.view(("as_of", as_of), lambda s: _docs(s, Q.And([
            Q.DateRange("valid_from", None, moment),
            Q.DateRange("valid_to", moment + dt.timedelta(microseconds=1), None)])), s))
    if not show_withdrawn:
        hidden_parts.append(index.view(("q", WITHDRAWN), lambda s: _docs(s, Q.Term("status", WITHDRAWN)), s))
    if statuses:
        allow_parts.append(index.view(("status", tuple(sorted(statuses))), lambda s: _docs(
            s, Q.Or([Q.Term("status", st) for st in statuses])), s))
    if since or until:
        lo = dt.datetime(since.year, since.month, since.day) if since else None
        hi = days.naive_utc(days.end_of_day(until)) if until else None
        allow_parts.append(index.view(("published", lo, hi), lambda s: _docs(s, Q.DateRange("published", lo, hi)), s))
    if publisher and publisher.strip():
        pq = phrase_query(publisher, ("publisher",))
        allow_parts.append(index.view(("publisher", publisher.strip()), lambda s: _docs(s, pq), s))
    for t in tags:
        term = normalize_tag(t)
        allow_parts.append(index.view(("tag", term), lambda s, term=term: _docs(s, Q.Term("tag", term)), s))
    allow: set[int] | None = None
    for part in sorted(allow_parts, key=len):
        allow = set(part) if allow is None else allow & part
    hidden = hidden_parts[0] if len(hidden_parts) == 1 else set().union(*hidden_parts)
    return allow, hidden


def _search(index: SearchIndex, text: str, body_of: Callable[[int], str], limit: int, offset: int,
            statuses: list[str], since: dt.date | None, until: dt.date | None, publisher: str | None,
            tags: list[str], as_of: dt.date | None, sort: str, include_withdrawn: bool, facets: bool,
            snippets: bool, want_suggestion: bool = True) -> SearchResults:
    t0 = time.perf_counter()
    if text.strip():
        q, wants_withdrawn = parse_query(text)
    else:
        q, wants_withdrawn = Q.Every(), False
    q = _cache_ranges(q)
    show_withdrawn = include_withdrawn or wants_withdrawn or WITHDRAWN in statuses

    s = index.searcher()
    allow, hidden = _view_sets(index, s, as_of, show_withdrawn, statuses, since, until, publisher, tags)
    want = offset + limit if limit else 1
    matched: list[int] = []
    top: list[tuple[float | None, int]] = []
    if allow is None or allow:
        if sort == "relevance":
            child: collectors.Collector = _Top(want)
        else:
            child = collectors.UnsortedCollector()
        fc = collectors.FilterCollector(child, allow, hidden or None)
        s.search_with_collector(q, fc)
        if sort == "relevance":
            matched = child.matched  # type: ignore[attr-defined]
            top = child.results().top_n
        else:
            matched = [d for _, d in child.items]  # type: ignore[attr-defined]
            dates = index.column("event_date", s)
            if sort == "date":
                best = heapq.nsmallest(want, matched, key=lambda d: (-dates[d], d))
            else:
                best = heapq.nsmallest(want, matched, key=lambda d: (dates[d], d))
            top = [(None, d) for d in best]
    results = searching.Results(s, q, top, docset=None, highlighter=_Highlighter())
    total = len(matched)

    facet_counts: dict[str, dict[str, int]] = {}
    if facets:
        for name, fieldname in FACETS.items():
            col = index.column(fieldname, s)
            counts = {str(k): v for k, v in Counter(map(col.__getitem__, matched)).items()
                      if k not in (None, "", b"")}
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
            snippet, marks = "", cast(list[tuple[int, int]], [])
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
                published=pub.date() if pub else None, status=f.get("status", LIVE),
                publisher=f.get("publisher") or None, score=round(float(hit.score or 0.0), 4),
                snippet=snippet, marks=marks, tags=split_tags(f.get("tag")),
                title_marks=title_marks,
            ))
    suggestion = suggest(index, text) if want_suggestion and total < 3 and text.strip() else None
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
        # two edits only for longer words: "lodz" → "lecz" helps nobody
        best = s.corrector("spell").suggest(word.lower(), limit=1, maxdist=1 if len(word) <= 5 else 2, prefix=1)
        if best:
            out.append(best[0])
            changed = True
        else:
            out.append(part)
    return "".join(out) if changed else None
