"""Running a query: filters, the current or as-of view, sorting, facets, snippets and suggestions."""

from __future__ import annotations

import bisect
import copy
import datetime as dt
import functools
import itertools
import os
import re
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import cast

import msgspec
import numpy as np
from whoosh import collectors, highlight, matching, searching
from whoosh import columns as whoosh_columns
from whoosh import query as Q
from whoosh.analysis import Token
from whoosh.fields import DATETIME
from whoosh.util.numeric import to_sortable

from index.analysis import (
    _JOINERS_RE,
    _TLDS,
    _TOKEN_RE,
    _WORD,
    compound_spans,
    fold,
    is_stopword,
    polish_analyzer,
    query_words,
    restorations,
    word_terms,
)
from index.engine import Executor
from index.projection import SearchIndex, leaf_column, segment_codes
from index.query import QueryError, parse_query, phrase_query
from index.schema import CHECKPOINT_DOC, FACETS, split_tags
from index.spelling import best_correction, start_variants
from store import days
from store.article import LIVE, STATUSES, WITHDRAWN, normalize_tag


def _and_not_find_first(self) -> None:  # type: ignore[no-untyped-def]
    """Whoosh's `AndNotMatcher` skips the excluded matcher forward only when both start on the same
    document: when the excluded one starts earlier, the first document of the positive side is never
    excluded (`-handlowi ludźmi` listed an article with both words). `_find_next` skips it correctly."""
    if self.a.is_active() and self.b.is_active():
        self._find_next()


_and_not_find_next = matching.AndNotMatcher._find_next


def _and_not_find_next_guarded(self):  # type: ignore[no-untyped-def]
    """… and its `skip_to` looks for the next document after the positive side ran out: IndexError (a
    traceback for `(+published:[2011-01-01 TO 2013-06-30] NOT handel handel) published:2011 handel`)."""
    if not self.a.is_active():
        return False
    return _and_not_find_next(self)


matching.AndNotMatcher._find_first = _and_not_find_first  # type: ignore[method-assign]
matching.AndNotMatcher._find_next = _and_not_find_next_guarded  # type: ignore[method-assign]


def _and_maybe_skip_to(self, id):  # type: ignore[no-untyped-def]
    """Whoosh's `AndMaybeMatcher.skip_to` moves the optional side to the asked id, not to where the required
    side landed (past it, when it lacks that id): inside an And, a document that has the optional words
    then misses their score (`+ludzmi handel +(handel +na)` scored an article 7.42 instead of 9.38)."""
    if not self.a.is_active():
        raise matching.ReadTooFar
    ra = self.a.skip_to(id)
    rb = False
    if self.a.is_active() and self.b.is_active():
        rb = self.b.skip_to(self.a.id())
    return ra or rb


matching.AndMaybeMatcher.skip_to = _and_maybe_skip_to  # type: ignore[method-assign]

SORTS = ("relevance", "date", "oldest")
ENGINES = ("numpy", "whoosh")
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

    def __init__(self, words: dict | None = None, **kw) -> None:  # type: ignore[no-untyped-def, type-arg]
        super().__init__(**kw)
        self._words: dict = {} if words is None else words  # type: ignore[type-arg]
        self._own: dict = {}  # type: ignore[type-arg]

    def highlight_hit(self, hitobj, fieldname, text=None, top=3, minscore=1, strict_phrase=False):  # type: ignore[no-untyped-def]
        results = hitobj.results
        field = results.searcher.schema[fieldname]
        if strict_phrase or text is None or field.analyzer != _ANALYZER:
            return super().highlight_hit(hitobj, fieldname, text, top, minscore, strict_phrase)
        key: object = (results.q, fieldname)
        cache = self._words
        try:
            hash(key)
        except TypeError:  # an unhashable query: remembered for this search only
            key, cache = fieldname, self._own
        words = cache.get(key)
        if words is None:
            words = cache[key] = frozenset(
                field.from_bytes(t[1]) for t in results.query_terms(expand=True, fieldname=fieldname))
        fr = self.fragmenter
        if type(fr) is highlight.ContextFragmenter and fr.charlimit and len(text) <= fr.charlimit:
            fragments = context_fragments(text, words, fr.maxchars, fr.surround)
        else:
            fragments = fr.fragment_tokens(text, self._merge_matched_tokens(highlight_tokens(text, words)))
        fragments = highlight.top_fragments(fragments, top, self.scorer, self.order, minscore=minscore)
        return self.formatter.format(fragments)


_ANALYZER = polish_analyzer()


def highlight_tokens(value: str, words: frozenset[str]) -> Iterator[Token]:
    """The tokens `polish_analyzer()` yields for `value` in index mode (text and character span), each
    marked `matched` when its term is in `words`; one Token object reused, as Whoosh's analyzers do.
    The reference `context_fragments` is tested against; used as is where that cannot run."""
    t = Token(positions=False, chars=True, removestops=False, mode="index")
    for m in _TOKEN_RE.finditer(value):
        text = m.group()
        if m.lastgroup == "word" and not _JOINERS_RE.search(text):
            start, end = m.span()
            spans: Iterable[tuple[int, int, tuple[str, ...]]] = ((start, end, _plain_terms(text)),)
        else:
            spans = _compound_terms(value, m)
        for s, e, terms in spans:
            for term in terms:
                t.text = term
                t.startchar = s
                t.endchar = e
                t.matched = term in words
                yield t


_TERMS: dict[str, tuple[str, ...]] = {}


def _plain_terms(text: str) -> tuple[str, ...]:
    """Index terms of one plain word as the tokenizer matched it (no joiners), remembered (bounded)."""
    terms = _TERMS.get(text)
    if terms is None:
        terms = word_terms(text.lower()) if text.isalpha() else (fold(text.lower()),)
        if len(_TERMS) >= 100_000:
            _TERMS.clear()
        _TERMS[text] = terms
    return terms


def _compound_terms(value: str, m: re.Match[str]) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, index terms) of each span of a hyphenated word, number, URL or e-mail match."""
    return [(s, e, word_terms(word.lower()) if kind == _WORD else (word,))
            for s, e, kind, word, _ in compound_spans(value, m)]


# Where the tokenizer can match more than a run of word characters (URL, e-mail, number with separators,
# hyphenated or apostrophed word): every `_TOKEN_RE` match of those kinds contains one of these; written to
# start with its separator character so the regex engine skips to candidates (a false alarm only sends a
# chunk through `_TOKEN_RE`, a miss is impossible).
_SPECIAL_RE = re.compile(
    r"[-\u2010'\u2019.,:/@]"
    r"(?:(?<=\w[-\u2010'\u2019])(?=\w)"  # hyphenated or apostrophed word
    r"|(?<=\d[.,:/])(?=\d)"  # number with separators
    r"|(?<=@)"  # e-mail
    r"|(?i:(?<=https:)|(?<=http:)|(?<=www\.))"  # URL with a scheme or www.
    r"|(?i:(?<=[a-z0-9]\.)(?:" + _TLDS + r"))\b)"  # bare host name
)
_RUN_RE = re.compile(r"\w+")
_NONSPACE_RE = re.compile(r"\S*")


def _special_chunks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each whitespace-delimited chunk where `_SPECIAL_RE` occurs, in order: the only places
    the tokenizer can match more than a run of word characters (no token contains whitespace)."""
    out: list[tuple[int, int]] = []
    pos = 0
    for sm in _SPECIAL_RE.finditer(text):
        a = sm.start()
        if a < pos:
            continue
        while a > pos and not text[a - 1].isspace():
            a -= 1
        pos = _NONSPACE_RE.match(text, sm.end()).end()  # type: ignore[union-attr]
        out.append((a, pos))
    return out


def _chunk_terms(text: str, a: int, b: int) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, index terms) of every span `highlight_tokens` yields inside special chunk [a, b)."""
    out: list[tuple[int, int, tuple[str, ...]]] = []
    get = _TERMS.get
    for m in _TOKEN_RE.finditer(text, a, b):
        w = m.group()
        if m.lastgroup == "word" and not _JOINERS_RE.search(w):
            out.append((m.start(), m.end(), get(w) or _plain_terms(w)))
        else:
            out.extend(_compound_terms(text, m))
    return out


def _token_terms(text: str, chunks: list[tuple[int, int]], pos: int = 0) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    """(start, end, index terms) of every span `highlight_tokens` yields, in its order, from `pos` on -- a
    clean restart point: 0 or just after whitespace. `chunks` are the text's `_special_chunks`: they go through
    `_TOKEN_RE`; between them a token is just a run of word characters (found by a much cheaper regex)."""
    get = _TERMS.get
    for a, b in chunks[bisect.bisect_left(chunks, (pos, pos)):]:
        for m in _RUN_RE.finditer(text, pos, a):
            w = m.group()
            yield m.start(), m.end(), get(w) or _plain_terms(w)
        yield from _chunk_terms(text, a, b)
        pos = b
    for m in _RUN_RE.finditer(text, pos):
        w = m.group()
        yield m.start(), m.end(), get(w) or _plain_terms(w)


_SURFACE: dict[frozenset[str], tuple[set[str], set[str]]] = {}  # per query's terms: its matching words, the rest


@functools.lru_cache(maxsize=256)
def _words_regex(words: frozenset[str]) -> re.Pattern[str]:
    """Finds each of `words` where it stands as a whole run of word characters."""
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")(?!\w)")


def _hot_starts(text: str, words: frozenset[str], chunks: list[tuple[int, int]], most: int) -> list[int] | None:
    """Where tokens that match `words` may start, ascending: every run of word characters whose terms match
    (wherever it stands; inside a special chunk that is only a may) and every matching token of a special
    chunk; None when there are more than `most`. A query's verdict on each surface word is remembered, so
    the hits after the first mostly cost set operations and one regex scan."""
    known = _SURFACE.get(words)
    if known is None:
        if len(_SURFACE) >= 16:
            _SURFACE.clear()
        known = _SURFACE[words] = (set(), set())
    hot_words, cold_words = known
    present = set(_RUN_RE.findall(text))
    new = present - hot_words - cold_words
    if new:
        if len(cold_words) > 200_000:
            cold_words.clear()
        get = _TERMS.get
        for w in new:
            (cold_words if words.isdisjoint(get(w) or _plain_terms(w)) else hot_words).add(w)
    here = present & hot_words
    hot = [m.start() for m in _words_regex(frozenset(here)).finditer(text)] if here else []
    if len(hot) > most:
        return None
    hot += [ts for a, b in chunks for ts, _, t in _chunk_terms(text, a, b) if not words.isdisjoint(t)]
    hot.sort()
    return hot


_END = ((-1, -1, None),)  # ends the token stream of `context_fragments`


def context_fragments(text: str, words: frozenset[str], maxchars: int, surround: int, *,
                      skip: bool = True) -> list[highlight.Fragment]:
    """What Whoosh's `ContextFragmenter(maxchars, surround).fragment_tokens` yields for the token stream
    `Highlighter._merge_matched_tokens(highlight_tokens(text, words))` -- the same fragments, matches,
    spans and merged texts -- in one loop over plain tuples instead of three generators of Token objects
    (~5x cheaper a snippet). Only for texts within the fragmenter's `charlimit` (callers check: past it
    Whoosh stops mid-stream). tests/test_snippets.py proves it equal to that stream over random texts.

    With `skip`, only the text around matches is tokenised. Far from a match the fragmenter is idle and
    its only state is `firsts` (the recent tokens a fragment would start from), so the stream may jump ahead
    to a clean restart point `p0` (after whitespace) with `firsts` emptied, provided that before the next
    match some token ends at or past `p0 + surround`: by then Whoosh would have dropped every token before
    `p0` from `firsts` too. Where that does not hold, the whole text is tokenised instead."""
    chunks = _special_chunks(text)
    window = surround + 40  # start this far before a match: plenty of tokens to satisfy the guard
    # where matches stand everywhere there is nothing to skip
    hot = _hot_starts(text, words, chunks, len(text) // (2 * (window + surround))) if skip else None
    if hot is None:
        skip, hot = False, [0]
    elif not hot:
        return []
    frags: list[highlight.Fragment] = []
    first: int | None = None
    firsts: deque[int] = deque()
    countdown = -1
    tks: list[Token] = []
    currentlen = 0
    e = 0
    pend: str | None = None  # consecutive matched tokens being merged: text, start, end
    ps = pe = 0
    guard = -1  # after a jump: the end some idle token must reach before the next match (-1: none due)
    h = 0  # index into hot of the next match to come
    c = 0  # index into chunks of the next special chunk
    pos = 0  # where the stream (re)starts
    merged: Sequence[tuple[int, int, str | None]]
    while True:
        jumped = False
        for s, e0, terms in itertools.chain(_token_terms(text, chunks, pos), _END):
            # 1. consecutive matched tokens merged (Highlighter._merge_matched_tokens): (start, end, None)
            #    for a token that did not match, (start, end, text) for one that did
            if terms is None:  # the end: the token being merged is the last
                merged = [(ps, pe, pend)] if pend is not None else []
                pend = None
            elif pend is None and len(terms) == 1 and terms[0] not in words:
                merged = ((s, e0, None),)
            else:
                out: list[tuple[int, int, str | None]] = []
                merged = out
                for term in terms:
                    if term not in words:
                        if pend is not None:
                            out.append((ps, pe, pend))
                            pend = None
                        out.append((s, e0, None))
                    elif pend is None:
                        pend, ps, pe = term, s, e0
                    elif s <= pe:
                        if e0 > pe:
                            pend += term[pe - e0:]
                            pe = e0
                    else:
                        out.append((ps, pe, pend))
                        pend = None
                        out.append((s, e0, term))
            # 2. ContextFragmenter.fragment_tokens over them
            for ts, e, mt in merged:
                tlength = e - ts
                if countdown < 0 and mt is None:
                    firsts.append(ts)
                    while firsts and e - firsts[0] > surround:
                        firsts.popleft()
                    if e >= guard:
                        guard = -1
                    continue
                if guard >= 0:  # a match too soon after a jump: `firsts` may differ from Whoosh's
                    return context_fragments(text, words, maxchars, surround, skip=False)
                if currentlen + tlength > maxchars:
                    countdown = 0
                elif mt is not None:
                    countdown = surround
                    if first is None:
                        if firsts:
                            first = firsts[0]
                        else:
                            first = ts
                            countdown += surround
                    tks.append(Token(text=mt, startchar=ts, endchar=e, matched=True))
                if countdown >= 0:
                    currentlen += tlength
                    countdown -= tlength
                    if countdown <= 0:
                        frags.append(highlight.mkfrag(text, tks, startchar=first, endchar=e))
                        tks = []
                        firsts = deque()
                        first = None
                        currentlen = 0
            # 3. idle, between chunks (a special chunk's tokens do not come in order of their starts) and the
            #    next match far ahead: jump to just before it
            if countdown < 0 and pend is None and skip and terms is not None:
                while c < len(chunks) and chunks[c][1] <= s:
                    c += 1
                if c < len(chunks) and chunks[c][0] <= s:
                    continue
                while h < len(hot) and hot[h] < e0:
                    h += 1
                if h == len(hot):
                    return frags  # no match ahead: the rest of the stream changes nothing
                cut = hot[h] - window
                if cut > e0:
                    p0 = max(text.rfind(" ", e0, cut), text.rfind("\n", e0, cut)) + 1
                    if p0 > e0:
                        pos, guard, firsts, jumped = p0, p0 + surround, deque(), True
                        break
        if not jumped:
            break
    if tks:
        frags.append(highlight.mkfrag(text, tks, startchar=first, endchar=e))
    return frags


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
    engine: str | None = None,
) -> SearchResults:
    """Search the index; `body_of(position)` reads an article body from the log for its snippet.

    `suggest=False` skips "did you mean" (search-as-you-type asks for it separately, once typing settles).
    `engine`: "numpy" (the default; `index.engine` over decoded postings) or "whoosh" (Whoosh's own
    exhaustive search, the reference the numpy path is tested against); env `ARCHIVIST_SEARCH_ENGINE`.

    Answers are cached per index generation (the index is immutable between commits, and the log a
    snippet is read from is append-only): the same search twice costs a dictionary lookup.
    """
    t0 = time.perf_counter()
    if limit < 0 or offset < 0:
        raise QueryError("limit and offset cannot be negative")
    statuses, tags, engine = _checked(sort, status, since, until, tag, engine)
    key = (engine, text, limit, offset, tuple(statuses), since, until, (publisher or "").strip(), tuple(tags), as_of,
           sort, include_withdrawn, facets, snippets, suggest)
    res = index.cached(key, lambda: _search(index, text, body_of, limit, offset, statuses, since, until,
                                            publisher, tags, as_of, sort, include_withdrawn, facets, snippets,
                                            suggest, engine))
    return msgspec.structs.replace(res, took_ms=round((time.perf_counter() - t0) * 1000, 2))


def _checked(sort: str, status: Sequence[str] | str | None, since: dt.date | None, until: dt.date | None,
             tag: Sequence[str] | str | None, engine: str | None) -> tuple[list[str], list[str], str]:
    """The options every search shares, checked: (statuses, tags, engine)."""
    if sort not in SORTS:
        raise QueryError(f"sort is one of {', '.join(SORTS)}, not {sort!r}")
    statuses = [status] if isinstance(status, str) else list(status or [])
    for st in statuses:
        if st not in STATUSES:
            raise QueryError(f"status is one of {', '.join(STATUSES)}, not {st!r}")
    if since and until and since > until:
        raise QueryError(f"--since {since} is after --until {until}")
    tags = [tag] if isinstance(tag, str) else list(tag or [])
    engine = engine or os.environ.get("ARCHIVIST_SEARCH_ENGINE") or "numpy"
    if engine not in ENGINES:
        raise QueryError(f"engine is one of {', '.join(ENGINES)}, not {engine!r}")
    return statuses, tags, engine


def search_all(
    index: SearchIndex,
    text: str,
    *,
    body_of: Callable[[int], str],
    status: Sequence[str] | str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    publisher: str | None = None,
    tag: Sequence[str] | str | None = None,
    as_of: dt.date | None = None,
    sort: str = "relevance",
    include_withdrawn: bool = False,
    snippets: bool = False,
    engine: str | None = None,
    offset: int = 0,
    limit: int | None = None,
    page: int = 500,
) -> tuple[int, Iterator[SearchHit]]:
    """Every match of a search, in `search`'s order: (how many match, the hits one by one -- past `offset`,
    at most `limit` of them).

    The query runs once, up front (a malformed one raises here, before anything is read): every matching
    docnum in order, by the numpy engine or Whoosh's collector (`engine`, as in `search`). The hits are then
    built `page` at a time from the stored fields (snippets too when asked), from the searcher the query ran
    on: what is streamed is the index as it was when the query ran. Read them before this process reopens the
    index (a search after a commit does, and closes the segments the commit replaced)."""
    statuses, tags, engine = _checked(sort, status, since, until, tag, engine)
    if offset < 0 or (limit is not None and limit < 0):
        raise QueryError("limit and offset cannot be negative")
    q, views = plan(text, statuses, since, until, publisher, tags, as_of, include_withdrawn)
    s = index.searcher()
    queries = date_sorted_queries(text, q) if sort != "relevance" else [q]  # as `search` does
    q, matched, top = execute_first(index, s, queries, views, sort, max(s.doc_count_all(), 1), engine)
    top = top[offset:] if limit is None else top[offset: offset + limit]

    def hits() -> Iterator[SearchHit]:
        words = index.view(("highlight words",), lambda s: {}, s)
        for start in range(0, len(top), page):
            yield from _hits(s, q, top[start:start + page], body_of, snippets, words)
    return len(matched), hits()


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


def range_docs(searcher, q: Q.DateRange) -> array:  # type: ignore[no-untyped-def, type-arg]
    """The live documents of one segment's searcher in a date range, computed once per segment and kept on
    the segment's reader (which lives as long as the segment and its deletions are unchanged). Whoosh
    compiles a numeric range into an Or of trie terms per segment on every search: ~10-40 ms for
    `published:2015..2017`."""
    reader = searcher.reader()
    cache = reader.__dict__.setdefault("_archivist_ranges", {})
    key = (q.fieldname, q.start, q.end, q.startexcl, q.endexcl)
    docs = cache.get(key)
    if docs is None:
        values = _date_column(reader, q.fieldname)
        if values is not None:
            ids: Iterable[int] = _column_range(reader.schema[q.fieldname], values, q).tolist()
        else:
            m = q._compile_query(reader).matcher(searcher, searcher.boolean_context())
            ids = m.all_ids() if m.is_active() else ()
        if reader.has_deletions():
            ids = (d for d in ids if not reader.is_deleted(d))
        docs = cache[key] = array("I", ids)
        if len(cache) > 256:
            cache.pop(next(iter(cache)))
    return docs


def _date_column(reader, fieldname: str) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    """A DATETIME field's column of one segment (each document's date as Whoosh's long, 2**64-1 where it
    has none), or None when the field has no such column. Cached on the segment's reader."""
    field = reader.schema[fieldname]
    if not (type(field) is DATETIME and field.bits == 64 and field.signed
            and type(field.column_type) is whoosh_columns.NumericColumn and reader.has_column(fieldname)):
        return None
    cache = reader.__dict__.setdefault("_archivist_dates", {})
    values = cache.get(fieldname)
    if values is None:
        values = cache[fieldname] = np.array(leaf_column(reader, fieldname), dtype=np.uint64)
    return values  # type: ignore[no-any-return]


def _column_range(field, values: np.ndarray, q: Q.NumericRange) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The documents Whoosh's `NumericRange` matches, from the column: one comparison per document instead
    of reading hundreds of trie terms' postings (1-3 s for a new range at 20k articles). The terms cover
    exactly the sortable values (the long + 2**63) from `start` to `end` (`whoosh.util.numeric.
    tiered_ranges`); the column holds the long itself, and a document without a date has no terms and
    2**64-1 in the column, past any bound."""
    lo, hi = 0, 2 ** 64 - 1
    if q.start is not None:
        lo = to_sortable(int, 64, True, field.prepare_number(q.start)) + (1 if q.startexcl else 0)
    if q.end is not None:
        hi = to_sortable(int, 64, True, field.prepare_number(q.end)) - (1 if q.endexcl else 0)
    lo, hi = max(lo - 2 ** 63, 0), hi - 2 ** 63  # the longs of dates are never negative
    if lo > hi:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((values >= np.uint64(lo)) & (values <= np.uint64(hi)))


class _CachedRange(Q.DateRange):
    """A date range whose documents come from `range_docs` (Whoosh's path; the numpy path asks it too)."""

    def matcher(self, searcher, context=None):  # type: ignore[no-untyped-def]
        docs = range_docs(searcher, self)
        if not docs:
            return matching.NullMatcher()
        return matching.ListMatcher(list(docs), all_weights=self.boost)


def _cache_ranges(q: Q.Query) -> Q.Query:
    if type(q) is Q.DateRange:
        c = copy.copy(q)
        c.__class__ = _CachedRange
        return c
    if q.is_leaf() or not any(isinstance(leaf, Q.DateRange) for leaf in q.leaves()):
        return q  # `apply` rebuilds a node from its parts and boost only: a phrase would lose its slop
    return q.apply(_cache_ranges)


def _docs(s, q: Q.Query) -> set[int]:  # type: ignore[no-untyped-def]
    return set(s.docs_for_query(q))


ViewPart = tuple[object, Q.Query]


def _view_spec(as_of: dt.date | None, show_withdrawn: bool, statuses: list[str], since: dt.date | None,
               until: dt.date | None, publisher: str | None, tags: list[str]
               ) -> tuple[list[ViewPart], list[ViewPart]]:
    """The current or as-of view and the filters: (parts that hide documents, parts that every shown
    document must match), each a (cache key, query) pair."""
    hidden: list[ViewPart] = [(("q", CHECKPOINT_DOC), Q.Term("docid", CHECKPOINT_DOC))]
    allow: list[ViewPart] = []
    if as_of is None:
        # most documents are current: hide the few closed versions instead of allowing all the others
        hidden.append((("q", "closed"), Q.Term("current", "0")))
    else:
        moment = days.naive_utc(days.end_of_day(as_of))
        allow.append((("as_of", as_of), Q.And([
            Q.DateRange("valid_from", None, moment),
            Q.DateRange("valid_to", moment + dt.timedelta(microseconds=1), None)])))
    if not show_withdrawn:
        hidden.append((("q", WITHDRAWN), Q.Term("status", WITHDRAWN)))
    if statuses:
        allow.append((("status", tuple(sorted(statuses))), Q.Or([Q.Term("status", st) for st in statuses])))
    if since or until:
        lo = dt.datetime(since.year, since.month, since.day) if since else None
        hi = days.naive_utc(days.end_of_day(until)) if until else None
        allow.append((("published", lo, hi), Q.DateRange("published", lo, hi)))
    if publisher and publisher.strip():
        allow.append((("publisher", publisher.strip()), phrase_query(publisher, ("publisher",))))
    for t in tags:
        term = normalize_tag(t)
        allow.append((("tag", term), Q.Term("tag", term)))
    return hidden, allow


def _view_sets(index: SearchIndex, s, hidden_parts: list[ViewPart], allow_parts: list[ViewPart]  # type: ignore[no-untyped-def]
               ) -> tuple[set[int] | None, set[int]]:
    """Whoosh's path: (allowed docnums or None for all, hidden docnums), each part computed once per
    searcher and reused (filter sets were rebuilt by Whoosh for every search)."""
    hidden = [index.view(k, lambda s, q=q: _docs(s, q), s) for k, q in hidden_parts]
    allowed = [index.view(k, lambda s, q=q: _docs(s, q), s) for k, q in allow_parts]
    allow: set[int] | None = None
    for part in sorted(allowed, key=len):
        allow = set(part) if allow is None else allow & part
    return allow, (hidden[0] if len(hidden) == 1 else set().union(*hidden))


def _executor(index: SearchIndex, s) -> Executor:  # type: ignore[no-untyped-def]
    return index.view(("executor",), lambda s: Executor(s, range_docs), s)


def _view_mask(index: SearchIndex, s, ex: Executor, hidden_parts: list[ViewPart],  # type: ignore[no-untyped-def]
               allow_parts: list[ViewPart]) -> np.ndarray:
    """The numpy path: the documents a search may show, as one mask (each part cached per searcher)."""
    def part(key: object, q: Q.Query) -> np.ndarray:
        return index.view(("mask", key), lambda s: ex.run(q)[0], s)  # type: ignore[no-any-return]
    mask = ex.alive.copy()
    for k, q in allow_parts:
        mask &= part(k, q)
    for k, q in hidden_parts:
        mask &= ~part(k, q)
    return mask


def _top_by_score(docs: np.ndarray, scores: np.ndarray, want: int) -> list[tuple[float, int]]:
    """Whoosh's TopCollector order: score descending, then docnum ascending; the first `want`."""
    if not len(docs) or not want:
        return []
    if len(docs) > want:
        kth = np.partition(scores, len(scores) - want)[len(scores) - want]
        keep = scores >= kth
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores))[:want]
    return [(float(scores[i]), int(docs[i])) for i in order]


def _date_keys(index: SearchIndex, s) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(undated, date) per document: `event_date` is the published date, or the recorded time when the
    article has none; undated articles sort after every dated one, whichever way dates go."""
    def compute(s) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
        pub = index.column("published", s)
        ev_ = index.column("event_date", s)
        undated = np.fromiter((v is None or v >= _NO_VALUE for v in pub), dtype=bool, count=len(pub))
        dates = np.fromiter((0 if v is None else v for v in ev_), dtype=np.uint64, count=len(ev_))
        return undated, dates
    return index.view(("date_keys",), compute, s)  # type: ignore[no-any-return]


_NO_VALUE = 2 ** 64 - 1  # a sortable numeric column's value for a document without one


def _by_date(index: SearchIndex, s, docs: np.ndarray, sort: str, want: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Newest (`date`) or oldest first, ties by docnum; undated articles last either way."""
    undated, dates = _date_keys(index, s)
    d = dates[docs]
    key = (np.uint64(_NO_VALUE) - d) if sort == "date" else d
    order = np.lexsort((docs, key, undated[docs]))[:want]
    return [int(x) for x in docs[order]]


def _facet_codes(index: SearchIndex, s, fieldname: str) -> tuple[list[str], np.ndarray]:  # type: ignore[no-untyped-def]
    """(distinct values as text, each document's index into them) over every segment of `s`: the segments'
    own codes (`segment_codes`, kept beside each segment), renumbered into one list."""
    def compute(s) -> tuple[list[str], np.ndarray]:  # type: ignore[no-untyped-def]
        number: dict[str, int] = {}
        parts = []
        for reader, _offset in s.reader().leaf_readers():
            if not reader.doc_count_all():  # (an empty index's reader has no segment)
                continue
            values, codes = segment_codes(reader, fieldname)
            remap = np.fromiter((number.setdefault(v, len(number)) for v in values), dtype=np.int64,
                                count=len(values))
            parts.append(remap[codes] if len(codes) else np.zeros(0, dtype=np.int64))
        return list(number), np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return index.view(("facet", fieldname), compute, s)  # type: ignore[no-any-return]


def _facets(index: SearchIndex, s, docs: np.ndarray) -> dict[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    out: dict[str, dict[str, int]] = {}
    for name, fieldname in FACETS.items():
        values, codes = _facet_codes(index, s, fieldname)
        n = np.bincount(codes[docs], minlength=len(values)) if len(docs) else np.zeros(len(values), np.int64)
        counts: dict[str, int] = {}
        for v, c in zip(values, n.tolist(), strict=True):
            if c and v:
                counts[v] = counts.get(v, 0) + c
        if name == "year":
            out[name] = dict(sorted(counts.items(), reverse=True))
        else:
            out[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20])
    return out


def plan(text: str, statuses: list[str], since: dt.date | None, until: dt.date | None, publisher: str | None,
         tags: list[str], as_of: dt.date | None, include_withdrawn: bool
         ) -> tuple[Q.Query, tuple[list[ViewPart], list[ViewPart]]]:
    """The query tree and the view parts of one search."""
    if text.strip():
        q, wants_withdrawn = parse_query(text)
    else:
        q, wants_withdrawn = Q.Every(), False
    show_withdrawn = include_withdrawn or wants_withdrawn or WITHDRAWN in statuses
    return _cache_ranges(q), _view_spec(as_of, show_withdrawn, statuses, since, until, publisher, tags)


def date_sorted_queries(text: str, q: Q.Query) -> list[Q.Query]:
    """The queries a date-sorted search tries in turn, the first that matches anything winning: its words
    standing together, then all its words, then `q` (the ranking query). A list in date order has no
    ranking to put the articles about `handel ludźmi` first, so it lists them only, not every article that
    mentions people somewhere: relevance is the filter there."""
    if not text.strip():
        return [q]
    out: list[Q.Query] = []
    for mode in ("near", "all"):
        strict = _cache_ranges(parse_query(text, mode)[0])
        if strict != q and strict not in out:
            out.append(strict)
    return [*out, q]


def execute_first(index: SearchIndex, s, queries: list[Q.Query],  # type: ignore[no-untyped-def]
                  views: tuple[list[ViewPart], list[ViewPart]], sort: str, want: int, engine: str = "numpy"
                  ) -> tuple[Q.Query, np.ndarray, list[tuple[float | None, int]]]:
    """`execute` of the first of `queries` that matches a document shown by the views (else of the last)."""
    for q in queries[:-1]:
        matched, top = execute(index, s, q, views, sort, want, engine)
        if len(matched):
            return q, matched, top
    return queries[-1], *execute(index, s, queries[-1], views, sort, want, engine)


def execute(index: SearchIndex, s, q: Q.Query, views: tuple[list[ViewPart], list[ViewPart]], sort: str,  # type: ignore[no-untyped-def]
            want: int, engine: str = "numpy") -> tuple[np.ndarray, list[tuple[float | None, int]]]:
    """(every matching docnum shown by the views, ascending; the first `want` as (score, docnum) in order)
    by the numpy engine or by Whoosh's own collector: the two give the same answers
    (tests/test_fast_sameness.py)."""
    hidden_parts, allow_parts = views
    ex = _executor(index, s) if engine == "numpy" else None
    top: list[tuple[float | None, int]] = []
    if ex is not None and ex.supported:
        shown = _view_mask(index, s, ex, hidden_parts, allow_parts)
        mask, scores = ex.run(q, shown) if shown.any() else (shown, np.zeros(len(shown)))
        matched = np.flatnonzero(mask & shown)
        if sort == "relevance":
            top = list(_top_by_score(matched, scores[matched], want))
    else:
        allow, hidden = _view_sets(index, s, hidden_parts, allow_parts)
        found: list[int] = []
        if allow is None or allow:
            child: collectors.Collector = _Top(want) if sort == "relevance" else collectors.UnsortedCollector()
            s.search_with_collector(q, collectors.FilterCollector(child, allow, hidden or None))
            if sort == "relevance":
                found = child.matched  # type: ignore[attr-defined]
                top = child.results().top_n
            else:
                found = [d for _, d in child.items]  # type: ignore[attr-defined]
        matched = np.asarray(sorted(found), dtype=np.int64)
    if sort != "relevance":
        top = [(None, d) for d in _by_date(index, s, matched, sort, want)]
    return matched, top


def _search(index: SearchIndex, text: str, body_of: Callable[[int], str], limit: int, offset: int,
            statuses: list[str], since: dt.date | None, until: dt.date | None, publisher: str | None,
            tags: list[str], as_of: dt.date | None, sort: str, include_withdrawn: bool, facets: bool,
            snippets: bool, want_suggestion: bool = True, engine: str = "numpy") -> SearchResults:
    t0 = time.perf_counter()
    q, views = plan(text, statuses, since, until, publisher, tags, as_of, include_withdrawn)
    s = index.searcher()
    want = offset + limit if limit else 1
    queries = date_sorted_queries(text, q) if sort != "relevance" else [q]
    q, matched, top = execute_first(index, s, queries, views, sort, want, engine)
    # a query's expanded terms per field, once per index generation (Whoosh looks each up in every segment)
    words = index.view(("highlight words",), lambda s: {}, s)
    total = len(matched)
    facet_counts = _facets(index, s, matched) if facets else {}
    hits = list(_hits(s, q, top[offset: offset + limit], body_of, snippets, words)) if limit else []
    suggestion = suggest(index, text) if want_suggestion and total < 3 and text.strip() else None
    return SearchResults(query=text, total=total, hits=hits, facets=facet_counts, suggestion=suggestion,
                         sort=sort, as_of=as_of, took_ms=round((time.perf_counter() - t0) * 1000, 2))


def _hits(s, q: Q.Query, top: list[tuple[float | None, int]], body_of: Callable[[int], str],  # type: ignore[no-untyped-def]
          snippets: bool, words: dict) -> Iterator[SearchHit]:  # type: ignore[type-arg]
    """The hits of ranked (score, docnum) pairs, from their stored fields; with snippets, from their bodies
    in the log. `words`: the per-generation memo of each query's expanded terms (see `_Highlighter`)."""
    if len(words) > 1000:
        words.clear()
    results = searching.Results(s, q, top, docset=None, highlighter=_Highlighter(words))
    results.fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
    results.formatter = _Marker()
    stored = _stored_fields(s)
    for hit in results[0: len(top)]:
        f = stored(hit.docnum)
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
        yield SearchHit(
            id=f["id"], title=f.get("title", ""), url=f.get("url_current"),
            published=pub.date() if pub else None, status=f.get("status", LIVE),
            publisher=f.get("publisher") or None, score=round(float(hit.score or 0.0), 4),
            snippet=snippet, marks=marks, tags=split_tags(f.get("tag")),
            title_marks=title_marks,
        )


def _stored_fields(s) -> Callable[[int], dict]:  # type: ignore[no-untyped-def, type-arg]
    """`s.stored_fields` without Whoosh's per-call filter of every stored field against the schema (the
    index's own schema wrote them): a quarter of the cost of reading a page of hits."""
    leaves = [(r, off) for r, off in s.reader().leaf_readers() if hasattr(r, "_perdoc")]
    if len(leaves) != len(s.reader().leaf_readers()):
        return s.stored_fields  # type: ignore[no-any-return]
    offsets = [off for _, off in leaves]

    def read(docnum: int) -> dict:  # type: ignore[type-arg]
        r, off = leaves[bisect.bisect_right(offsets, docnum) - 1]
        return r._perdoc.stored_fields(docnum - off) or {}  # type: ignore[no-any-return]
    return read


def _lead(body: str) -> str:
    text = " ".join(body.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text.rfind(" ", 0, SNIPPET_CHARS)
    return text[: cut if cut > 0 else SNIPPET_CHARS] + " …"


_PLAIN_WORD = re.compile(r"^[^\W\d_]{3,}$")


def _spell_candidates(reader, low: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Words of the `spell` field (surface words of titles and leads) a typo of `low` may stand for, with
    their document frequencies: those within two plain edits with the same first letter, and the spellings
    with Polish letters of the diacritic-free word (`zrodlo` -> `źródło`, whose first letter differs)."""
    words = set(reader.terms_within("spell", low, 1 if len(low) <= 5 else 2, prefix=1))  # max_cost's reach
    for variant in start_variants(low):
        words.update(reader.terms_within("spell", variant, 1, prefix=1))
    folded = fold(low)
    if folded.isalpha():
        words.update(w for w in restorations(folded) if (("spell", w) in reader))
    return {w: reader.doc_frequency("spell", w) for w in words}


def suggest(index: SearchIndex, text: str) -> str | None:
    """"Did you mean": replace each unknown plain word with the archive's word a Polish typist most likely
    meant (`index.spelling`: weighted edits, the first letter kept, frequent words preferred)."""
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
        best = best_correction(word, _spell_candidates(reader, word.lower()))
        if best:
            out.append(best.capitalize() if word[:1].isupper() else best)
            changed = True
        else:
            out.append(part)
    return "".join(out) if changed else None
