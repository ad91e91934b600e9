"""Polish analysis for the archive's full-text index (Whoosh idiom: ``PolishTokenizer() | PolishFilter()``).

Why it is built this way (figures measured on this 2-core machine; commands in bench/relevance_analyzer.py):

* One analysed field, two term spaces. Each word yields ``stem(lemma(word))`` (simplemma Polish lemma, then
  PyStemmer's Snowball "polish") -- the *exact* term -- and, at the same position and with the same
  character offsets, ``"~" + fold(that term)`` only when folding changes it. A query word typed with Polish
  letters looks up the exact term only, so correctly typed queries keep their precision and idf; a word typed
  without them (``ludzmi``, ``lodz``) also looks up the ``~`` terms of every lemma whose inflected forms fold
  to it (a fold table built from simplemma's dictionary), so ``ludzmi`` finds ``ludźmi`` (lemma
  ``człowiek``!) and ``handlu ludzmi`` finds ``handel ludźmi``. The ``~`` prefix keeps the folded space
  apart: ``sad`` is its own term, ``sąd`` folded is ``~sad``, each with its own idf.
* Stopwords are indexed (they cost ~10 % of index time) and dropped on the query side only, so phrases
  ("handel z ludźmi") match exactly, and question words (jak, czy, gdzie, co ...) never dilute a ranking.
* Hyphenated words are indexed as their parts (own positions, each lemmatised) plus the whole, folded
  (``polsko-ukrainska``) at the first part's position; numbers and dates stay whole (``29.06.2017``) plus
  the year; a URL yields its host and parent domains (``www.gov.pl`` -> ``gov.pl``), its host labels and
  its path words, so ``gov.pl``, ``handel-ludzmi`` and ``handel`` all find ``www.gov.pl/web/handel-ludzmi``.
* simplemma's Polish dictionary costs 3.5 s and ~400 MB per process as shipped. It is compiled once into a
  DAWG (package ``dawg2``; ~6 MB with the fold table) in the cache dir (``$ARCHIVIST_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/archivist``, else ``~/.cache/archivist``), built under a file lock into a temp file
  and renamed, and plugged into simplemma as its dictionary: identical lemmas (the DAWG is only a store;
  simplemma's rules run as usual), a fresh process lemmatises its first word in tens of milliseconds.
* Everything heavy (DAWG, stemmer, caches) is created lazily at module level: the analyzer is pickled
  into the index schema and PyStemmer objects cannot be pickled; importing this module loads nothing.

Measured (bench/relevance_analyzer.py; allegro-faq test-A, one field, BM25F K1=1.2 B=0.75, OR of words):
  nDCG@10 0.620 typed queries / 0.616 the same queries with diacritics stripped (lowercase baseline
  0.392 there); without the ~ twins 0.624 / 0.548; full-weight widening of known words 0.608 / 0.602;
  keeping stopwords in queries 0.589. Lemma table: one-time build ~31 s (peak RSS 1.6 GB), 20.5 MB;
  fresh process import + first lemma 0.37 s / 46 MB (simplemma as shipped 5.4 s / 426 MB); agreement
  1.000000 on 275k forms; uncached lookups 282k/s (dict 290k/s). Analyzer 334k tokens/s cold, 504k
  warm on polsatnews (~1,300 2.3-KB articles/s); Whoosh indexing with it ~200 docs/s (Whoosh-bound).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from whoosh.analysis import Filter, Tokenizer
from whoosh.analysis.acore import Token

__all__ = [
    "STOPWORDS",
    "QUESTION_FILLERS",
    "FOLD_PREFIX",
    "PolishTokenizer",
    "PolishFilter",
    "QueryWord",
    "polish_analyzer",
    "fold",
    "has_polish_letters",
    "is_stopword",
    "lemmatize",
    "word_terms",
    "query_terms",
    "query_words",
    "prefix_terms",
    "cache_dir",
    "lemma_table_path",
    "ensure_lemma_table",
]

FOLD_PREFIX = "~"

# Function words of Polish: prepositions, conjunctions, particles, pronouns, forms of "być", and the
# question words that open most typed questions. Matched on the folded lowercase form ("sie" == "się").
STOPWORDS: frozenset[str] = frozenset(
    ["a", "aby", "ach", "albo", "ale", "ani", "aż", "bo", "by", "byli", "bym", "byś", "być", "był", "była", "były", "było", "będzie", "będą", "będę", "będziemy", "chociaż", "choć", "ci", "cię", "ciebie", "co", "coś", "czy", "czyli", "dla", "do", "dlaczego", "dlatego", "gdy", "gdyż", "gdzie", "go", "i", "ich", "im", "innych", "iż", "ja", "ją", "jak", "jaka", "jakie", "jaki", "jakiego", "jakim", "jako", "je", "jego", "jej", "jemu", "jest", "jestem", "jesteś", "jesteśmy", "już", "jeśli", "jeżeli", "kiedy", "kto", "ktoś", "która", "które", "którego", "której", "który", "których", "którym", "którzy", "ku", "lecz", "lub", "ma", "mi", "mną", "mnie", "my", "na", "nad", "nam", "nas", "nasz", "nasza", "nasze", "nią", "nich", "nie", "niech", "niego", "niej", "niemu", "nim", "nimi", "no", "o", "od", "oraz", "on", "ona", "one", "oni", "ono", "po", "pod", "ponieważ", "przed", "przez", "przy", "się", "sobie", "są", "ta", "tak", "taka", "takie", "taki", "tam", "te", "tego", "tej", "tem", "ten", "to", "tobie", "tu", "tutaj", "twój", "ty", "tych", "tylko", "tym", "u", "w", "we", "wie", "więc", "wy", "z", "za", "ze", "że", "żeby", "ów", "oto", "zaś", "bowiem", "także", "też", "również", "czyż", "czym", "kim", "kogo", "komu", "mu", "ów", "toteż", "tę", "tą", "temu"]
)

# Words that carry the *form* of a typed question or request, not its topic: question words in more cases,
# modal and light verbs (mogę, można, muszę, trzeba, mam, zrobić), possessives (mój, swój) and fillers.
# Dropped from free-text queries only (phrases, +word and all-stopword queries keep them; the index keeps
# every word). Not "mają": folded it is "maja" (3 maja). bench/relevance.py, allegro-faq questions: +0.007 nDCG@10 (0.618 -> 0.625), each group
# helping on its own (question +0.0015, modal +0.003, mieć/zrobić +0.0015, possessive +0.003, fillers +0.0015).
QUESTION_FILLERS: frozenset[str] = frozenset(
    ["ile", "jakich", "jaką", "jakiej", "jakimi", "jakiś", "jakaś", "jakieś", "czemu", "skąd", "dokąd", "którą",
     "któremu", "którymi", "czego", "gdzież",
     "mogę", "może", "można", "możesz", "możemy", "mogą", "mógł", "mogła", "mogłem", "mogłam", "mógłbym",
     "mogłabym", "musi", "muszę", "musisz", "musimy", "muszą", "trzeba", "należy", "powinienem", "powinnam",
     "powinien", "powinna", "chcę", "chcesz", "chce", "chciałbym", "chciałabym", "chcemy",
     "mam", "masz", "mamy", "mieć", "zrobić", "robić", "zrobię", "robię",
     "mój", "moja", "moje", "mojego", "mojej", "moim", "moich", "moją", "moimi", "twój", "twoja", "twoje",
     "twojego", "twojej", "twoim", "twoich", "swój", "swoja", "swoje", "swojego", "swojej", "swoim", "swoich",
     "swoją", "swoimi",
     "proszę", "jeszcze", "bardzo", "właśnie", "np", "itp", "itd", "jednak", "natomiast", "sam", "sama", "samo"]
)
STOPWORDS = STOPWORDS | QUESTION_FILLERS

_POLISH_LETTERS = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
_FOLD_EXTRA = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss"})


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Remove diacritics, ł -> l included (it has no Unicode decomposition)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def has_polish_letters(word: str) -> bool:
    return not word.isascii() and any(c in _POLISH_LETTERS for c in word)


_STOP_FOLDED = frozenset(fold(w) for w in STOPWORDS)


def is_stopword(word: str) -> bool:
    """Case- and diacritics-insensitive stopword test."""
    return fold(word.lower()) in _STOP_FOLDED


# --------------------------------------------------------------------------------------------------------
# The compact lemma table


_TABLE_FORMAT = 2
_FOLD_KEY = "\x02"  # fold-table keys: "\x02" + fold(lower(form)) -> every lemma of those forms
_META_KEY = "\x03archivist"


def cache_dir() -> Path:
    explicit = os.environ.get("ARCHIVIST_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "archivist"


def lemma_table_path() -> Path:
    import simplemma

    return cache_dir() / f"simplemma-{simplemma.__version__}-pl-v{_TABLE_FORMAT}.dawg"


def _build_table(path: Path) -> None:
    import dawg
    from simplemma.strategies.dictionaries.dictionary_factory import _load_dictionary_from_disk

    raw = _load_dictionary_from_disk("pl")

    def pairs() -> Iterator[tuple[str, bytes]]:
        folded: dict[str, set[str]] = {}
        for key, value in raw.items():
            form = key.decode()
            lemma = value.decode()
            yield form, _encode(form, lemma)
            low = form.lower()
            if not low.isascii():
                f = fold(low)
                if f != low:
                    folded.setdefault(f, set()).add(lemma)
        for f, lemmas in folded.items():
            for lemma in sorted(lemmas):
                yield _FOLD_KEY + f, _encode(f, lemma)
        yield _META_KEY, str(len(raw)).encode()

    table = dawg.BytesDAWG(pairs())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as out:
            table.write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _encode(form: str, lemma: str) -> bytes:
    """The lemma as an edit of the form: chars to cut from the end, then the suffix to add.

    Most forms share their value ("1a": cut one char, add "a"), which lets the DAWG merge them: the
    table is ~20x smaller than with whole lemmas as values.
    """
    common = 0
    for a, b in zip(form, lemma, strict=False):
        if a != b:
            break
        common += 1
    return f"{len(form) - common}|{lemma[common:]}".encode()


def _decode(form: str, value: bytes) -> str:
    cut, _, suffix = value.decode().partition("|")
    n = int(cut)
    return (form[:-n] if n else form) + suffix


def _load_table(path: Path):  # -> dawg.BytesDAWG | None
    import dawg

    try:
        table = dawg.BytesDAWG().load(str(path))
    except (OSError, ValueError, MemoryError, Exception):
        return None
    return table if table.get(_META_KEY) else None


def ensure_lemma_table(path: Path | None = None):  # -> dawg.BytesDAWG
    """Open the lemma table, building it once (~30 s) if missing or unreadable.

    Concurrent builders serialise on a lock file; the table appears by an atomic rename, so a reader
    never sees a partial file.
    """
    path = path or lemma_table_path()
    table = _load_table(path) if path.exists() else None
    if table is not None:
        return table
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        table = _load_table(path) if path.exists() else None
        if table is None:
            _build_table(path)
            table = _load_table(path)
    if table is None:
        raise RuntimeError(f"cannot open the lemma table at {path}")
    return table


class _DawgMapping(Mapping[str, str]):
    """simplemma's dictionary interface (``get``) over the DAWG; fold-table keys are invisible."""

    __slots__ = ("_table",)

    def __init__(self, table) -> None:
        self._table = table

    def get(self, key, default=None):  # type: ignore[override]
        if key[:1] in (_FOLD_KEY, "\x03"):
            return default
        value = self._table.get(key)
        return _decode(key, value[0]) if value else default

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        for key in self._table.iterkeys():
            if key[:1] not in (_FOLD_KEY, "\x03"):
                yield key

    def __len__(self) -> int:
        return int(self._table.get(_META_KEY)[0])


class _DawgFactory:
    """A simplemma DictionaryFactory serving Polish from the DAWG."""

    def __init__(self, table) -> None:
        self._mapping = _DawgMapping(table)

    def get_dictionary(self, lang: str) -> Mapping[str, str]:
        if lang != "pl":
            raise ValueError(f"only Polish is compiled: {lang}")
        return self._mapping


_lock = threading.Lock()
_state: dict[str, object] = {}


def _lemma_backend():
    """(simplemma Lemmatizer over the DAWG, the DAWG); created on first use."""
    backend = _state.get("backend")
    if backend is None:
        with _lock:
            backend = _state.get("backend")
            if backend is None:
                from simplemma import Lemmatizer
                from simplemma.strategies import DefaultStrategy

                table = ensure_lemma_table()
                lemmatizer = Lemmatizer(
                    cache_max_size=0,
                    lemmatization_strategy=DefaultStrategy(dictionary_factory=_DawgFactory(table)),
                )
                backend = _state["backend"] = (lemmatizer, table)
    return backend


def _stemmer():
    stemmer = _state.get("stemmer")
    if stemmer is None:
        import Stemmer

        stemmer = _state["stemmer"] = Stemmer.Stemmer("polish", 0)
    return stemmer


@functools.lru_cache(maxsize=262144)
def lemmatize(word: str) -> str:
    """simplemma's Polish lemma of ``word`` (identical results, from the compact table)."""
    return _lemma_backend()[0].lemmatize(word, "pl")


def _fold_lemmas(folded_word: str) -> list[str]:
    """Every dictionary lemma of the forms that fold to ``folded_word`` (lowercase, diacritic-free)."""
    values = _lemma_backend()[1].get(_FOLD_KEY + folded_word)
    return [_decode(folded_word, v) for v in values] if values else []


@functools.lru_cache(maxsize=262144)
def word_terms(low: str) -> tuple[str, ...]:
    """Index terms of one lowercase word: (exact,) or (exact, "~" + folded) at one position."""
    if not low.isalpha():  # numbers, codes like a4 or mp3: kept as typed, folded
        return (fold(low),)
    exact = _stemmer().stemWord(lemmatize(low).lower())
    folded = fold(exact)
    if folded != exact:
        return (exact, FOLD_PREFIX + folded)
    return (exact,)


KNOWN_WORD_FOLD_WEIGHT = 0.2


@functools.lru_cache(maxsize=65536)
def query_terms(word: str) -> tuple[tuple[str, ...], tuple[str, ...], float]:
    """(exact terms, folded-space terms, weight for the folded ones) for one plain query word.

    A word typed with Polish letters (or not a letter word) has no folded terms. A diacritic-free word is
    widened to the ``~`` terms of every lemma whose forms fold to it (``ludzmi`` -> ``~czlowiek``) and to
    ``~`` + its own term. When the word is itself a valid Polish form (``sad``, ``zwrot``) the user most
    likely typed what they meant, so the widening gets a low weight (0.2; full weight cost 0.016 nDCG on
    correctly typed queries, see bench/relevance_analyzer.py); unknown words (``ludzmi``) get 1.0.
    """
    low = word.lower()
    terms = word_terms(low)
    exact = terms[:1]
    if not low.isalpha() or not low.isascii():
        return exact, (), 0.0
    folded: list[str] = []
    for lemma in _fold_lemmas(low):
        term = _folded_space_term(lemma)
        if term not in exact and term not in folded:
            folded.append(term)
    own = FOLD_PREFIX + fold(exact[0])
    if own not in folded:
        folded.append(own)
    known = _lemma_backend()[1].get(low) is not None
    return exact, tuple(folded), KNOWN_WORD_FOLD_WEIGHT if known else 1.0


def _folded_space_term(lemma: str) -> str:
    """The term a lemma's forms carry in the folded space: ``~`` + its folded term, or the term itself when
    folding does not change it (the index adds no ``~`` twin then)."""
    term = _stemmer().stemWord(lemma.lower())
    f = fold(term)
    return FOLD_PREFIX + f if f != term else term


PREFIX_FORMS = 3000  # a prefix naming more dictionary forms than this is not widened (`handl*` names ~500)


@functools.lru_cache(maxsize=4096)
def prefix_terms(prefix: str) -> tuple[str, ...]:
    """Folded-space terms of every dictionary lemma one of whose forms, folded, starts with ``fold(prefix)``
    (``ludzm`` -> ``~czlowiek``, as ``ludzmi`` finds ``ludźmi``): the index holds lemma stems, so a prefix
    of a surface form must be widened through the dictionary as plain words are. Empty when the prefix names
    more than PREFIX_FORMS forms (a very short prefix): then only index terms with that prefix match."""
    key = _FOLD_KEY + fold(prefix.lower())
    out: dict[str, None] = {}
    for n, (form_key, value) in enumerate(_lemma_backend()[1].iteritems(key)):
        if n >= PREFIX_FORMS:
            return ()
        out[_folded_space_term(_decode(form_key[1:], value))] = None
    return tuple(out)


# --------------------------------------------------------------------------------------------------------
# Tokenizer and filter

_WORD, _EXACT = 0, 1

_URL_CHARS = r"[^\s<>\"'()\[\]{}|\\^`]"
_TLDS = r"pl|com|eu|org|net|gov|edu|info|io|int|de|uk|ua|ru|fr|cz|sk|lt|by|us"
_TOKEN_RE = re.compile(
    r"(?P<url>(?i:https?://|www\.)" + _URL_CHARS + r"+"
    r"|(?i:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?i:" + _TLDS + r")\b(?:/" + _URL_CHARS + r"*)?)"
    r"|(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<num>\d+(?:[.,:/]\d+)+)"
    r"|(?P<word>\w+(?:[-\u2010'\u2019]\w+)*)"
)
_INNER_RE = re.compile(r"\d+(?:[.,:]\d+)+|\w+(?:[-\u2010'\u2019]\w+)*")
_JOINERS_RE = re.compile(r"[-\u2010'\u2019]")
_YEAR_RE = re.compile(r"(?<!\d)(1[89]\d\d|2\d\d\d)(?!\d)")
_URL_TRAILING = ".,;:!?)]}'\""
_TLD_SET = frozenset(_TLDS.split("|"))
_PART_RE = re.compile(r"\w+")


class PolishTokenizer(Tokenizer):
    """Words, hyphenated words (parts + whole), numbers and dates, URLs and e-mail addresses.

    Sets ``token.kind``: plain words go through the PolishFilter's lemma/stem/fold; the rest are final.
    """

    def __eq__(self, other):
        return other is not None and self.__class__ is other.__class__

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        t.boost = 1.0
        if not tokenize:
            t.original = value
            t.kind = _WORD if value.isalpha() else _EXACT
            t.text = value if t.kind == _WORD else fold(value.lower())
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return

        pos = start_pos
        for m in _TOKEN_RE.finditer(value):
            start, end = m.span()
            if m.lastgroup == "word":
                text = m.group()
                if not _JOINERS_RE.search(text):
                    t.kind = _WORD if text.isalpha() else _EXACT
                    t.text = text if t.kind == _WORD else fold(text.lower())
                    t.stopped = False
                    if keeporiginal:
                        t.original = text
                    if positions:
                        t.pos = pos
                    if chars:
                        t.startchar = start_char + start
                        t.endchar = start_char + end
                    yield t
                    pos += 1
                    continue
            last = 0
            for s, e, k, text, rel in compound_spans(value, m):
                t.kind = k
                t.text = text
                t.stopped = False
                if keeporiginal:
                    t.original = value[s:e]
                if positions:
                    t.pos = pos + rel
                if chars:
                    t.startchar = start_char + s
                    t.endchar = start_char + e
                last = rel
                yield t
            pos += last + 1


Span = tuple[int, int, int, str, int]  # start, end, kind, text, position relative to the compound's first


def compound_spans(value: str, m: re.Match) -> list[Span]:
    """The tokens of one non-plain match: the whole (exact, folded) at relative position 0, then its parts."""
    start, end = m.span()
    kind = m.lastgroup
    if kind == "word":
        return _hyphenated(value, start, end, 0)
    if kind == "num":
        text = m.group()
        out: list[Span] = [(start, end, _EXACT, text, 0)]
        y = _YEAR_RE.search(text)
        if y:
            out.append((start, end, _EXACT, y.group(), 0))
        return out
    while end > start and value[end - 1] in _URL_TRAILING:
        end -= 1
    text = value[start:end]
    out = []
    if kind == "email":
        local, _, host = text.partition("@")
        out.append((start, end, _EXACT, fold(text.lower()), 0))
        host_start = start + len(local) + 1
        host_end = end
        inner_from = start
    else:
        scheme = re.match(r"(?i:https?://)?", text)
        host_start = start + (scheme.end() if scheme else 0)
        slash = value.find("/", host_start, end)
        host_end = slash if slash >= 0 else end
        value[host_start:host_end]
        inner_from = host_start
    labels = fold(value[host_start:host_end].lower()).split(":")[0].split(".")
    if labels and labels[0] == "www":
        labels = labels[1:]
    for i in range(len(labels) - 1):
        out.append((host_start, host_end, _EXACT, ".".join(labels[i:]), 0))
    rel = 0
    for p in _INNER_RE.finditer(value, inner_from, end):
        ptext = p.group()
        low = ptext.lower()
        if host_start <= p.start() < host_end and (low == "www" or (p.end() == host_end and low in _TLD_SET)):
            continue
        if _JOINERS_RE.search(ptext):
            spans = _hyphenated(value, p.start(), p.end(), rel)
            out.extend(spans)
            rel = spans[-1][4] + 1
        else:
            out.append(_part(value, p.start(), p.end(), rel))
            rel += 1
    return out


def _part(value: str, s: int, e: int, rel: int) -> Span:
    text = value[s:e]
    if text.isalpha():
        return (s, e, _WORD, text, rel)
    return (s, e, _EXACT, fold(text.lower()), rel)


def _hyphenated(value: str, start: int, end: int, rel: int) -> list[Span]:
    out: list[Span] = [(start, end, _EXACT, fold(value[start:end].lower()), rel)]
    for i, p in enumerate(_PART_RE.finditer(value, start, end)):
        out.append(_part(value, p.start(), p.end(), rel + i))
    return out


class PolishFilter(Filter):
    """Lowercase, stopwords, simplemma lemma -> Snowball stem, and the ``~``-folded twin token.

    ``index_stops``: stopwords are kept in the index (phrases stay exact); with ``removestops=True``
    passed by the caller (Whoosh's query mode default) they are dropped.
    """

    def __init__(self, index_stops: bool = True, fold_twins: bool = True):
        self.index_stops = index_stops
        self.fold_twins = fold_twins

    def __eq__(self, other):
        return (other is not None and self.__class__ is other.__class__
                and self.__dict__ == other.__dict__)

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        terms_of = word_terms
        stops = _STOP_FOLDED
        index_stops = self.index_stops
        twins = self.fold_twins
        for t in tokens:
            if t.kind != _WORD:
                yield t
                continue
            low = t.text.lower()
            if (low in stops or fold(low) in stops) and (not index_stops or (t.removestops and t.mode == "query")):
                t.stopped = True
                if not t.removestops:
                    t.text = low
                    yield t
                continue
            terms = terms_of(low)
            t.text = terms[0]
            yield t
            if twins and len(terms) > 1:
                t.text = terms[1]
                yield t


def polish_analyzer(index_stops: bool = True, fold_twins: bool = True):
    """The analyzer of the archive's text fields (picklable: the heavy objects are module-level and lazy)."""
    return PolishTokenizer() | PolishFilter(index_stops=index_stops, fold_twins=fold_twins)


_COMPOUND: tuple[str, ...] = ()  # marks a word match with joiners (hyphen, apostrophe): split by compound_spans
_surface_cache: dict[str, tuple[str, ...]] = {}
_SURFACE_CACHE_MAX = 1 << 20


def _surface_terms(text: str) -> tuple[str, ...]:
    """The index terms one plain word match yields, as the tokenizer and filter (index mode) yield them."""
    if _JOINERS_RE.search(text):
        return _COMPOUND
    if text.isalpha():
        terms = word_terms(text.lower())
        return terms if len(terms) == 1 else terms[:2]
    return (fold(text.lower()),)


def surface_terms_since(n: int) -> dict[str, tuple[str, ...]]:
    """The per-word cache entries added after the first `n` (a writer process hands them to its parent, so the
    next writer processes fork with them)."""
    items = list(_surface_cache.items())
    return dict(items[n:] if n <= len(items) else items)


def remember_surface_terms(entries: dict[str, tuple[str, ...]]) -> None:
    if len(_surface_cache) + len(entries) <= _SURFACE_CACHE_MAX:
        _surface_cache.update(entries)


def index_positions(value: str) -> dict[str, list[int]]:
    """Each term of ``value`` with its positions: what ``polish_analyzer()`` yields in index mode (stopwords
    kept, ``~`` twins on), gathered as Whoosh's Positions format gathers it, without a Token per word.

    A word's terms depend on the word alone, so they are looked up once per distinct surface form (the
    index writer's hot loop: ~2x the analyzer's speed). tests/test_analysis.py proves both give the same.
    """
    out: dict[str, list[int]] = {}
    cache = _surface_cache
    if len(cache) > _SURFACE_CACHE_MAX:
        cache.clear()
    pos = 0
    for m in _TOKEN_RE.finditer(value):
        if m.lastgroup == "word":
            text = m.group()
            terms = cache.get(text)
            if terms is None:
                terms = cache[text] = _surface_terms(text)
            if terms:
                for term in terms:
                    poses = out.get(term)
                    if poses is None:
                        out[term] = [pos]
                    else:
                        poses.append(pos)
                pos += 1
                continue
        last = 0
        for _s, _e, kind, text, rel in compound_spans(value, m):
            terms = word_terms(text.lower()) if kind == _WORD else (text,)
            for term in terms[:2]:
                out.setdefault(term, []).append(pos + rel)
            last = rel
        pos += last + 1
    return out


# --------------------------------------------------------------------------------------------------------
# Query side


@dataclass(frozen=True)
class QueryWord:
    """One word of a query, analysed for the index.

    ``alternatives``: index terms any of which matches the word (OR them). ``folded``: the ``~`` terms a
    diacritic-free word also matches, to be OR-ed with boost ``folded_weight``. ``parts``: for a hyphenated
    word, URL or date, the sub-words that should match in sequence (a phrase, or AND when positions are
    off) as an alternative to the whole. ``stop``: a stopword (drop it outside phrases, unless every word of
    the query is one).
    """

    text: str
    startchar: int
    endchar: int
    alternatives: tuple[str, ...]
    parts: tuple[QueryWord, ...] = ()
    stop: bool = False
    folded: tuple[str, ...] = ()
    folded_weight: float = 0.0


def query_words(text: str) -> list[QueryWord]:
    """Analyse free query text into words, with diacritic-free words widened to the folded space.

    Splits exactly as the index does (hyphenated words, dates, URLs), so each compound's ``alternatives``
    hold its whole exact token and ``parts`` its sub-words in order.
    """
    out: list[QueryWord] = []
    for m in _TOKEN_RE.finditer(text):
        s, e = m.span()
        word = m.group()
        if m.lastgroup == "word" and not _JOINERS_RE.search(word):
            out.append(_plain_word(word, s, e))
            continue
        spans = compound_spans(text, m)
        e = max(sp[1] for sp in spans)
        head = [sp for sp in spans if sp[2] == _EXACT and sp[4] == 0 and "." in sp[3]
                or (sp[0], sp[1]) == (s, e) and sp[2] == _EXACT]
        # the whole token (hyphenated word, date, e-mail) or else the host: the extras (year, parent
        # domains) are index-side widenings, not query alternatives
        alternatives = (head[0][3],) if head else ()
        rest = [sp for sp in spans if sp not in head]
        out.append(QueryWord(text[s:e], s, e, alternatives, tuple(_nest(text, rest))))
    return out


def _nest(text: str, spans: list[Span]) -> Iterator[QueryWord]:
    i = 0
    while i < len(spans):
        s, e, kind, term, _ = spans[i]
        inner = []
        j = i + 1
        while kind == _EXACT and j < len(spans) and spans[j][0] >= s and spans[j][1] <= e:
            inner.append(spans[j])
            j += 1
        if inner:
            yield QueryWord(text[s:e], s, e, (term,), tuple(_nest(text, inner)))
        elif kind == _WORD:
            yield _plain_word(text[s:e], s, e)
        else:
            yield QueryWord(text[s:e], s, e, (term,))
        i = j


def _plain_word(word: str, s: int, e: int) -> QueryWord:
    if not word.isalpha():
        return QueryWord(word, s, e, (fold(word.lower()),))
    exact, folded, weight = query_terms(word)
    return QueryWord(word, s, e, exact, stop=is_stopword(word), folded=folded, folded_weight=weight)
