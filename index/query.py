"""The archive's query language, parsed into Whoosh queries with Polish analysis.

    handel ludźmi                words (diacritics optional; inflection-aware)
    "handel ludźmi"  "…"~3       phrases (with slop)
    title: body: url: publisher: tag: status: id: year:   fields
    published:2015..2017  published:[2015-01-01 TO 2016-06-30]  published:2017-06   dates
    AND  OR  NOT  -word  +word  ( … )                      boolean
    handl*   ludzmi~  ludzmi~2                             prefix and fuzzy

Whoosh's own parser would analyse each word with the field's analyzer and AND the two tokens the Polish
analyzer puts at one position (exact and folded); here each word becomes an OR of its alternatives, the
folded ones weighted as `index.analysis` measured. Words side by side form the default group: an OR whose
documents that match every word get an extra boost, so the more words match the better and an article
matching all of them ranks first, while questions written in full still find answers.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass

from whoosh import query as Q

from index.analysis import FOLD_PREFIX, QueryWord, fold, prefix_terms, query_terms, query_words, word_terms
from store import days
from store.article import STATUSES, WITHDRAWN, normalize_tag

TEXT_FIELDS = ("title", "body")
ANALYSED_FIELDS = {"title", "body", "url", "publisher"}
KEYWORD_FIELDS = {"tag", "status", "id", "year"}
DATE_FIELDS = {"published"}
FIELDS = ANALYSED_FIELDS | KEYWORD_FIELDS | DATE_FIELDS
FIELD_ALIASES = {"tytul": "title", "tytuł": "title", "tresc": "body", "treść": "body", "adres": "url",
                 "wydawca": "publisher", "tagi": "tag", "status": "status", "data": "published",
                 "date": "published", "rok": "year", "tags": "tag"}
ALL_WORDS_BOOST = 0.5  # the default group's bonus (x their BM25 sum) for documents that match every word
NEAR_SLOP = 2  # two query words "stand together" when the second follows the first within this many positions
NEAR_BOOST = 0.25  # the bonus (x the pair's BM25 sum) for each pair of neighbouring query words standing together
NEAR_WORDS = 3  # proximity for keyword queries: groups of at most this many plain words (not typed questions)
MODES = ("rank", "all", "near")


# Whoosh swaps in an ArrayUnionMatcher for an Or of 3+ clauses on small indexes; its max_quality() is the best
# single clause, not the sum, so top-k searches beside an And drop good documents. The default matcher is right.
Q.Or.matcher_type = Q.Or.DEFAULT_MATCHER  # type: ignore[attr-defined]


class QueryError(ValueError):
    """A malformed query; the message is one line meant for the person who typed it."""


@dataclass
class Token:
    kind: str  # WORD PHRASE FIELD LPAREN RPAREN AND OR NOT MINUS PLUS RANGE
    text: str
    pos: int
    slop: int = 1


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<phrase>"(?P<ptext>[^"]*)"(?:~(?P<slop>\d+))?)
  | (?P<open_phrase>"[^"]*$)
  | (?P<range>\[(?P<rtext>[^\]]*)\])
  | (?P<open_range>\[[^\]]*$)
  | (?P<minus>-(?=[^\s-]))
  | (?P<plus>\+(?=\S))
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<field>[^\W\d_][\w]*):(?=\S)
  | (?P<word>[^\s()"]+)
""", re.VERBOSE)


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "ws":
            continue
        if kind in ("open_phrase", "open_range"):
            raise QueryError(f"unclosed {'quote' if kind == 'open_phrase' else 'bracket'} at character "
                             f"{m.start() + 1}")
        if kind in ("ptext", "slop", "rtext"):
            continue
        if kind == "phrase":
            out.append(Token("PHRASE", m.group("ptext"), m.start(), int(m.group("slop") or 1)))
        elif kind == "range":
            out.append(Token("RANGE", m.group("rtext"), m.start()))
        elif kind == "minus":
            out.append(Token("MINUS", "-", m.start()))
        elif kind == "plus":
            out.append(Token("PLUS", "+", m.start()))
        elif kind == "lparen":
            out.append(Token("LPAREN", "(", m.start()))
        elif kind == "rparen":
            out.append(Token("RPAREN", ")", m.start()))
        elif kind == "field":
            out.append(Token("FIELD", m.group()[:-1], m.start()))
        else:
            w = m.group()
            if w in ("AND", "&&"):
                out.append(Token("AND", w, m.start()))
            elif w in ("OR", "||"):
                out.append(Token("OR", w, m.start()))
            elif w == "NOT":
                out.append(Token("NOT", w, m.start()))
            else:
                out.append(Token("WORD", w, m.start()))
    return out


@dataclass
class Clause:
    query: Q.Query
    mode: str = "should"  # should / must / filter / not
    words: int = 0  # plain words it stands for (stopwords dropped count 0)
    stop: bool = False  # only stopwords: dropped when the group has anything else
    near: tuple[tuple[QueryWord, tuple[str, ...]], ...] = ()  # its plain words and fields, for proximity


class Parser:
    """Recursive descent: or_expr := and_expr (OR and_expr)*; and_expr := unary+ with optional AND."""

    def __init__(self, text: str, fields: tuple[str, ...] = TEXT_FIELDS, mode: str = "rank") -> None:
        if mode not in MODES:
            raise ValueError(f"mode is one of {MODES}, not {mode!r}")
        self.mode = mode
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.default_fields = fields
        self.mentions_withdrawn = False

    def parse(self) -> Q.Query:
        if not self.tokens:
            raise QueryError("empty query")
        q = self._or()
        if self.i < len(self.tokens):
            t = self.tokens[self.i]
            raise QueryError(f"unexpected {t.text!r} at character {t.pos + 1}")
        return q

    def _peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def _or(self) -> Q.Query:
        parts = [self._and()]
        while (t := self._peek()) is not None and t.kind == "OR":
            self._take()
            if self._peek() is None or self._peek().kind in ("RPAREN", "OR", "AND"):  # type: ignore[union-attr]
                raise QueryError(f"OR at character {t.pos + 1} needs something after it")
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else Q.Or(parts)

    def _and(self) -> Q.Query:
        clauses: list[Clause] = []
        explicit_and = False
        while (t := self._peek()) is not None and t.kind not in ("OR", "RPAREN"):
            if t.kind == "AND":
                self._take()
                if not clauses or self._peek() is None or self._peek().kind in ("RPAREN", "OR", "AND"):  # type: ignore[union-attr]
                    raise QueryError(f"AND at character {t.pos + 1} needs something on both sides")
                explicit_and = True
                continue
            clause = self._unary()
            if clause is not None:
                clauses.append(clause)
        if any(not c.stop for c in clauses):
            clauses = [c for c in clauses if not c.stop]
        if not clauses:
            t = self._peek()
            where = f" before {t.text!r} at character {t.pos + 1}" if t else ""
            raise QueryError(f"nothing to search for{where}")
        return combine(clauses, explicit_and, self.mode)

    def _unary(self) -> Clause | None:
        t = self._take()
        if t.kind in ("NOT", "MINUS"):
            if self._peek() is None or self._peek().kind in ("RPAREN", "OR", "AND"):  # type: ignore[union-attr]
                raise QueryError(f"{t.text} at character {t.pos + 1} needs a word after it")
            inner = self._unary()
            return Clause(inner.query, "not") if inner else None
        if t.kind == "PLUS":
            inner = self._unary()
            return Clause(inner.query, "must", inner.words) if inner else None  # +word: even a stopword
        if t.kind == "LPAREN":
            if self._peek() is not None and self._peek().kind == "RPAREN":  # type: ignore[union-attr]
                raise QueryError(f"empty parentheses at character {t.pos + 1}")
            q = self._or()
            close = self._peek()
            if close is None or close.kind != "RPAREN":
                raise QueryError(f"unclosed parenthesis at character {t.pos + 1}")
            self._take()
            return Clause(q, "should", 1)
        if t.kind == "RPAREN":
            raise QueryError(f"unexpected ')' at character {t.pos + 1}")
        if t.kind == "FIELD":
            return self._field(t)
        if t.kind == "PHRASE":
            return Clause(phrase_query(t.text, self.default_fields, t.slop), "should", 1)
        if t.kind == "RANGE":
            raise QueryError(f"a range needs a field, e.g. published:[2015-01-01 TO 2016-06-30] "
                             f"(character {t.pos + 1})")
        return self._word(t.text, self.default_fields, t.pos)

    def _word(self, text: str, fields: tuple[str, ...], pos: int) -> Clause | None:
        if text.endswith("*") and len(text.rstrip("*")) >= 1:
            stem = text.rstrip("*")
            if len(stem) < 2:
                raise QueryError(f"a prefix needs at least 2 letters: {text!r} (character {pos + 1})")
            return Clause(prefix_query(stem, fields), "should", 1)
        m = re.fullmatch(r"(.+?)~(\d?)", text)
        if m and m.group(1):
            dist = int(m.group(2) or 1)
            if dist > 2:
                raise QueryError(f"fuzzy distance is at most 2: {text!r}")
            return Clause(fuzzy_query(m.group(1), fields, dist), "should", 1)
        words = query_words(text)
        if not words:
            return None  # punctuation only
        content = [w for w in words if not w.stop]
        if not content:
            # a stopword alone still means something when the user insists (+, phrases, or only stopwords)
            return Clause(Q.Or([word_query(w, fields) for w in words]), "should", 0, stop=True)
        qs = [word_query(w, fields) for w in content]
        return Clause(qs[0] if len(qs) == 1 else Q.And(qs), "should", len(qs),
                      near=tuple((w, fields) for w in content))

    def _field(self, t: Token) -> Clause | None:
        name = FIELD_ALIASES.get(t.text.lower(), t.text.lower())
        if name not in FIELDS:
            near = difflib.get_close_matches(name, sorted(FIELDS | set(FIELD_ALIASES)), n=1, cutoff=0.75)
            if near:
                raise QueryError(f"unknown field {t.text + ':'!r} at character {t.pos + 1}; did you mean "
                                 f"{FIELD_ALIASES.get(near[0], near[0])}:? Fields are "
                                 + ", ".join(sorted(f + ":" for f in FIELDS)))
            # Not a field at all ("Client:123", "Uwaga: …"): people type colons in questions. Plain words.
            v = self._peek()
            text = t.text + (" " + v.text if v is not None and v.kind == "WORD" and v.pos == t.pos + len(t.text) + 1
                             else "")
            if text != t.text:
                self._take()
            return self._word(text, self.default_fields, t.pos)
        v = self._peek()
        if v is None or v.kind not in ("WORD", "PHRASE", "RANGE", "LPAREN"):
            raise QueryError(f"{t.text}: needs a value (character {t.pos + 1})")
        if name in DATE_FIELDS:
            self._take()
            return Clause(date_query(name, v.text, v.kind), "filter", 0)
        if v.kind == "LPAREN":
            self._take()
            saved = self.default_fields
            self.default_fields = (name,) if name in ANALYSED_FIELDS else saved
            try:
                if name in KEYWORD_FIELDS:
                    values = []
                    while (x := self._peek()) is not None and x.kind in ("WORD", "PHRASE", "OR"):
                        self._take()
                        if x.kind != "OR":
                            values.append(self._keyword(name, x.text))
                    q = Q.Or(values) if values else None
                else:
                    q = self._or()
                close = self._peek()
                if close is None or close.kind != "RPAREN":
                    raise QueryError(f"unclosed parenthesis after {t.text}:")
                self._take()
            finally:
                self.default_fields = saved
            if q is None:
                raise QueryError(f"{t.text}: needs a value")
            return Clause(q, "should", 1)
        self._take()
        if v.kind == "RANGE":
            raise QueryError(f"{t.text}: takes no range (only published: does)")
        if name in KEYWORD_FIELDS:
            return Clause(self._keyword(name, v.text), "filter", 0)  # narrows; does not rank
        if v.kind == "PHRASE":
            return Clause(phrase_query(v.text, (name,), v.slop), "should", 1)
        return self._word(v.text, (name,), v.pos)

    def _keyword(self, name: str, value: str) -> Q.Query:
        value = value.strip()
        if name == "status":
            value = value.lower()
            if value not in STATUSES:
                raise QueryError(f"status is one of {', '.join(STATUSES)}, not {value!r}")
            if value == WITHDRAWN:
                self.mentions_withdrawn = True
            return Q.Term("status", value)
        if name == "tag":
            value = normalize_tag(value)
            if value.endswith("*"):
                return Q.Prefix("tag", value.rstrip("*"))
            return Q.Term("tag", value)
        if name == "year":
            if not re.fullmatch(r"\d{4}", value):
                raise QueryError(f"year: takes four digits, not {value!r}")
            return Q.Term("year", value)
        return Q.Term(name, value)


def combine(clauses: list[Clause], all_required: bool, mode: str = "rank") -> Q.Query:
    """Words rank (the default group); +words and AND are required; field filters narrow; NOT excludes.

    Proximity: in a keyword query (a group of 2..NEAR_WORDS plain words), for each pair of neighbouring
    words, a document where the second follows the first within NEAR_SLOP positions (a phrase, or one word
    between: stopwords are indexed) gains the pair's BM25 sum again x NEAR_BOOST, so `handel ludźmi` ranks
    articles about the trade in people above ones that mention trade here and people there. It is an
    ordinary query node (`Sequence` with slop, in an Or with a boost), so Whoosh's path and the numpy
    engine compute it alike. Typed questions (4+ words) go without: their words follow the question's
    grammar, not the answer's phrasing (bench/relevance.py, allegro-faq: 2-word queries +0.048 nDCG@10
    each, 3-word +0.005, 4+ words -0.002 on average), and each pair costs a positions check.

    `mode` "all" makes the default group's words required; "near" also requires its neighbouring words
    to stand together (date-sorted searches ask for it first: see `index.searching.plan`).

    The default group is the plain OR of its words (BM25F sum) plus, for documents matching every word, that
    sum again x ALL_WORDS_BOOST: a keyword query puts the article with all its words first, a question in
    full sentences still ranks by the words it shares (bench/relevance.py: bonus 0 / 0.25 / 0.5 / 1 / 2 gave
    nDCG@10 0.619 / 0.620 / 0.618 / 0.617 / 0.615 on allegro-faq questions; 0.5 keeps the keyword guarantee).
    Every OR is a `DefaultOr` (a binary tree of union matchers): on indexes under 5,000 documents Whoosh's
    automatic choice preloads an `Or` into an ArrayUnionMatcher, and one of those under a UnionMatcher beside
    the And bonus returned a wrong top 10 (documents scoring 18 missing, ones scoring 10 shown).
    """
    all_required = all_required or mode != "rank"
    filters = [c.query for c in clauses if c.mode == "filter"]
    must = [c.query for c in clauses if c.mode == "must" or (all_required and c.mode == "should")]
    should = [c.query for c in clauses if c.mode == "should" and not all_required]
    nots = [c.query for c in clauses if c.mode == "not"]
    near = near_query([item for c in clauses if c.mode == "should" for item in c.near])
    if near is not None and mode == "near":
        must.append(near)
    if should:
        if len(should) == 1:
            optional: Q.Query = should[0]
        else:
            parts = [Q.DefaultOr(should), Q.And(should, boost=ALL_WORDS_BOOST)]
            if near is not None:
                parts.append(Q.DefaultOr(near.subqueries, boost=NEAR_BOOST))  # type: ignore[attr-defined]
            optional = Q.DefaultOr(parts)
    if must and should:
        positive: Q.Query = Q.AndMaybe(Q.And(must) if len(must) > 1 else must[0], optional)
    elif must:
        positive = Q.And(must) if len(must) > 1 else must[0]
    elif should:
        positive = optional
    else:
        positive = Q.Every()
    if filters:
        positive = Q.And(filters) if isinstance(positive, Q.Every) else Q.And([*filters, positive])
        if isinstance(positive, Q.And) and len(positive.subqueries) == 1:
            positive = positive.subqueries[0]
    if nots:
        return Q.AndNot(positive, Q.DefaultOr(nots) if len(nots) > 1 else nots[0])
    return positive


def near_query(items: list[tuple[QueryWord, tuple[str, ...]]]) -> Q.Query | None:
    """An Or of a `Sequence` (slop NEAR_SLOP) per neighbouring pair of plain words and per field; None when
    the group has no such pair. Hyphenated words, dates and addresses (their own phrases) take no part."""
    if len(items) > NEAR_WORDS:
        return None
    seqs: list[Q.Query] = []
    for (a, fa), (b, fb) in zip(items, items[1:], strict=False):
        if a.parts or b.parts or fa != fb or len(fa) < 2:
            continue  # one field alone would make a one-part Or, whose boost Whoosh ignores
        seqs.extend(Q.Sequence([word_query(a, (f,)), word_query(b, (f,))], slop=NEAR_SLOP) for f in fa)
    return Q.DefaultOr(seqs) if seqs else None


def word_query(w: QueryWord, fields: tuple[str, ...]) -> Q.Query:
    """One word: its exact terms, its folded-space terms (weighted), a compound's parts in sequence.

    A word with several lemmas (``mam``: mieć, mama) has a term for each at its position in the index; a
    query for it weighs each 1/k, so an ambiguous word counts about as much as a plain one instead of k
    times (bench/relevance.py: nDCG@10 0.614 -> 0.628 with Morfeusz's every lemma); so do the folded-space
    terms of a diacritic-free word (``ludzmi`` weighs what ``ludźmi`` does)."""
    per_field: list[Q.Query] = []
    for f in fields:
        share = 1.0 / len(w.alternatives) if len(w.alternatives) > 1 else 1.0  # see word_query's doc
        alts: list[Q.Query] = [Q.Term(f, t, boost=share) for t in w.alternatives]
        alts += [Q.Term(f, t, boost=w.folded_weight / len(w.folded)) for t in w.folded]
        if w.parts:
            alts.append(Q.Sequence([word_query(p, (f,)) for p in w.parts]))
        per_field.extend(alts)
    if not per_field:
        return Q.NullQuery
    return per_field[0] if len(per_field) == 1 else Q.DefaultOr(per_field)  # DefaultOr: see combine()


def phrase_query(text: str, fields: tuple[str, ...], slop: int = 1) -> Q.Query:
    words = query_words(text)
    if not words:
        raise QueryError('empty phrase ""')
    if len(words) == 1:
        return word_query(words[0], fields)
    per_field = [Q.Sequence([word_query(w, (f,)) for w in words], slop=slop) for f in fields]
    return per_field[0] if len(per_field) == 1 else Q.DefaultOr(per_field)


def prefix_query(stem: str, fields: tuple[str, ...]) -> Q.Query:
    """Index terms starting with the prefix, exact and folded, and -- as plain words are widened -- the
    folded-space terms of the dictionary lemmas whose forms start with it (`ludzm*` finds `ludźmi`)."""
    low = stem.lower()
    widened = prefix_terms(low) if low.isalpha() else ()
    qs: list[Q.Query] = []
    for f in fields:
        qs.append(Q.Prefix(f, low))
        qs.append(Q.Prefix(f, FOLD_PREFIX + fold(low)))
        qs.extend(Q.Term(f, t) for t in widened)
    return Q.Or(qs)


def fuzzy_query(word: str, fields: tuple[str, ...], dist: int) -> Q.Query:
    """Terms within `dist` edits of the word's own terms and, as for a plain word, of the folded-space
    terms a diacritic-free word is widened to (`ludzmi~` finds `ludźmi`, whose lemma is `człowiek`)."""
    low = word.lower()
    if low.isalpha():
        exact, folded, weight = query_terms(low)
    else:
        exact, folded, weight = word_terms(low)[:1] or (low,), (), 1.0
    folded = folded or (FOLD_PREFIX + fold(exact[0]),)
    qs: list[Q.Query] = []
    for f in fields:
        qs.extend(Q.FuzzyTerm(f, t, maxdist=dist, prefixlength=1) for t in exact)
        qs.extend(Q.FuzzyTerm(f, t, boost=weight or 1.0, maxdist=dist,
                              prefixlength=2 if t.startswith(FOLD_PREFIX) else 1) for t in folded)
    return Q.Or(qs)


def parse_date_bound(text: str, end: bool) -> dt.datetime:
    """The first instant of the span `text` names, or (`end`) its last (see `store.days`), naive UTC as the
    index stores dates."""
    try:
        first, last = days.day_span(text)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    return days.naive_utc(days.end_of_day(last) if end else days.start_of_day(first))


def date_query(field: str, text: str, kind: str) -> Q.Query:
    if kind == "RANGE":
        m = re.fullmatch(r"\s*(\S*)\s+TO\s+(\S*)\s*", text, re.IGNORECASE)
        if not m:
            raise QueryError(f"a date range reads [2015-01-01 TO 2016-06-30], not [{text}]")
        lo, hi = m.group(1), m.group(2)
    elif ".." in text:
        lo, _, hi = text.partition("..")
    else:
        lo = hi = text
    start = parse_date_bound(lo, False) if lo not in ("", "*") else None
    end = parse_date_bound(hi, True) if hi not in ("", "*") else None
    if start is None and end is None:
        raise QueryError(f"{field}: needs at least one date")
    if start and end and start > end:
        raise QueryError(f"{field}: the range starts after it ends ({lo} > {hi})")
    return Q.DateRange(field, start, end)


def parse_query(text: str, mode: str = "rank") -> tuple[Q.Query, bool]:
    """(Whoosh query, whether the query itself asks for withdrawn articles); `mode`: see `combine`."""
    p = Parser(text, mode=mode)
    q = p.parse()
    return q, p.mentions_withdrawn
