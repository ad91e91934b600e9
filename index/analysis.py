"""Polish analysis for the archive's full-text index (Whoosh idiom: ``PolishTokenizer() | PolishFilter()``).

Why it is built this way (figures measured on this shared 2-core machine; commands in bench/relevance.py):

* One analysed field, two term spaces. Each word yields, at its position, the *exact* term of each of its
  lemmas -- a Morfeusz 2 lemma, or the word's Snowball "polish" stem (PyStemmer) when the dictionary lacks
  it -- and the ``"~" + fold(term)`` twin of each that folding changes. A query word typed
  with Polish letters looks up the exact terms only (each weighted 1/k when it has k), so correctly typed
  queries keep their precision and idf; a word typed without them (``ludzmi``, ``lodz``) also looks up the
  ``~`` terms of the lemmas of every spelling with Polish letters it may stand for (``restorations``:
  ludzmi -> ludźmi -> człowiek), so ``handlu ludzmi`` finds ``handel ludźmi``. The ``~`` prefix keeps the
  folded space apart: ``sad`` is its own term, ``sąd`` folded is ``~sad``, each with its own idf.
* Lemmas: Morfeusz 2 with SGJP (package ``morfeusz2``; the dictionary is in the wheel: a process opens it
  in ~0.1 s, nothing is built on the first run). Every lemma of the word's common readings is indexed at
  its position (names and rare readings are dropped when there is another, case is ignored); a
  suppletive form (``ludźmi`` of człowiek) keeps a term of its own too. Measured against simplemma (one
  lemma a word, the previous source, now ``bench/simplemma_lemmas.py``) and a disambiguated Morfeusz lemma:
  see README's relevance table. Snowball stems of the lemmas too (as simplemma's terms were) measured
  0.004 nDCG@10 lower (recall@10 0.002 higher); Snowball is kept where it helps, for unknown words (names,
  brands, typos, new words: bare, they lost another 0.0025).
* Stopwords are indexed (they cost ~10 % of index time) and dropped on the query side only, so phrases
  ("handel z ludźmi") match exactly, and question words (jak, czy, gdzie, co ...) never dilute a ranking.
* Hyphenated words are indexed as their parts (own positions, each lemmatised) plus the whole, folded
  (``polsko-ukrainska``) at the first part's position; numbers and dates stay whole (``29.06.2017``) plus
  the year; a URL yields its host and parent domains (``www.gov.pl`` -> ``gov.pl``), its host labels and
  its path words, so ``gov.pl``, ``handel-ludzmi`` and ``handel`` all find ``www.gov.pl/web/handel-ludzmi``.
* Everything heavy (Morfeusz, stemmer, caches) is created lazily at module level: the analyzer is pickled
  into the index schema and PyStemmer objects cannot be pickled; importing this module loads nothing.
  Morfeusz costs ~50 us a word uncached, so terms are cached per word (and per surface form on the
  index writer's path).
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

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
    "lemmas",
    "LemmaSource",
    "MorfeuszSource",
    "lemma_source",
    "configure",
    "restorations",
    "word_terms",
    "exact_terms",
    "query_terms",
    "query_words",
    "prefix_terms",
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
# Lemmas


class LemmaSource(Protocol):
    """Where lemmas come from: Morfeusz 2 here; bench/simplemma_lemmas.py plugs in the previous one."""

    name: str

    def lemmas(self, low: str) -> tuple[str, ...]:
        """Lowercase lemmas of a lowercase word, qualifiers stripped; () when the dictionary lacks it."""
        ...

    def known(self, low: str) -> bool: ...

    def fold_lemmas(self, folded_word: str) -> tuple[str, ...]:
        """Lemmas of the dictionary words that fold to `folded_word` (a diacritic-free lowercase word)."""
        ...

    def prefix_lemmas(self, prefix: str) -> tuple[str, ...]:
        """Lemmas of the dictionary words whose folded form starts with the folded prefix (may be ())."""
        ...


# Letters a diacritic-free word may have lost, and where Polish spelling allows them back: ą ę ń never
# open a word; ć ś ź ń never stand before a vowel (written ci si zi ni); z after c r s is a digraph.
_RESTORE = {"a": "ą", "c": "ć", "e": "ę", "l": "ł", "n": "ń", "o": "ó", "s": "ś", "z": "żź"}
_VOWELS = frozenset("aąeęioóuy")
RESTORE_MAX = 512  # spellings tried for one diacritic-free word; a word with more is not widened


def restorations(word: str) -> list[str]:
    """The spellings with Polish letters a diacritic-free lowercase word may stand for (itself excluded)."""
    options: list[str] = []
    count = 1
    for i, c in enumerate(word):
        alts = c
        for d in _RESTORE.get(c, ""):
            nxt = word[i + 1] if i + 1 < len(word) else ""
            if (i == 0 and d in "ąęń") or (d in "ćśźń" and nxt in _VOWELS) or (
                    c == "z" and i and word[i - 1] in "crs"):
                continue
            alts += d
        options.append(alts)
        count *= len(alts)
        if count > RESTORE_MAX:
            return []
    return ["".join(p) for p in itertools.product(*options)][1:]


class MorfeuszSource:
    """Morfeusz 2 with SGJP, the reference dictionary of Polish inflection (~0.1 s to open, no table to
    build). Case is ignored (``szczecinie`` is Szczecin's too), so readings as a surname or first name, and
    archaic, rare or colloquial ones, are dropped when the word has another (``readings="common"``; "every"
    keeps them, a bench variant). ``candidates``: "all" keeps every lemma
    of every reading (as Elasticsearch's morfologik filter does), "one" the one that shares the longest
    prefix with the word (no tagger: Morfeusz does not rank its readings).

    Suppletion: a form none of whose lemmas starts with its own letter (``ludźmi`` -> człowiek, ``lata`` ->
    rok, ``lepszy`` -> dobry) also keeps itself as a lemma, so ``ludźmi`` is not only "a person"."""

    name = "morfeusz"

    def __init__(self, candidates: str = "all", readings: str = "common") -> None:
        if candidates not in ("all", "one") or readings not in ("common", "every"):
            raise ValueError(f"candidates is all or one, readings common or every: {candidates!r} {readings!r}")
        self.candidates = candidates
        self.readings = readings
        self._lock = threading.Lock()
        self._morf = None
        self._raw: _RawMorfeusz | None = None

    def _readings(self, word: str) -> list[tuple[str, str]]:
        """(lemma, tag) of each reading of the word's first segment (zrobiłem = zrobił + em: its lemma is the
        word's), "ign" (unknown) dropped, and with "common" the marked ones (`_marked`) when others remain.

        Read off Morfeusz's interpretation objects directly: `morfeusz2.Morfeusz.analyse` builds a tuple of
        five strings per interpretation (tag, name and labels looked up by id each time), about half of the
        cost of analysing a word; here tag, name and labels are looked up once per id combination.
        tests/test_analysis.py holds both equal."""
        with self._lock:
            if self._morf is None:
                import morfeusz2

                self._morf = morfeusz2.Morfeusz(expand_tags=False, generate=False,
                                                case_handling=morfeusz2.IGNORE_CASE)
                self._raw = _RawMorfeusz(self._morf)
            found = self._raw.first_segment(word)  # type: ignore[union-attr]
        out = [(lemma, info) for lemma, info in found if info[1]]
        if self.readings == "common":
            plain = [r for r in out if not r[1][2]]
            out = plain or out
        return [(lemma, info[0]) for lemma, info in out]

    def _readings_reference(self, word: str) -> list[tuple[str, str]]:
        """`_readings` through morfeusz2's own `analyse` (the reference the fast path is tested against)."""
        self._readings("a")  # opens the dictionary
        with self._lock:
            found = self._morf.analyse(word)  # type: ignore[attr-defined]
        out = [r[2] for r in found if r[0] == 0 and r[2][2] != "ign"]
        if self.readings == "common":
            plain = [r for r in out if not _marked(r)]
            out = plain or out
        return [(r[1], r[2]) for r in out]

    @functools.lru_cache(maxsize=262144)  # noqa: B019 - one source object per process
    def lemmas(self, low: str) -> tuple[str, ...]:
        out = list(dict.fromkeys(lemma.split(":", 1)[0].lower() for lemma, _ in self._readings(low)))
        if not out:
            return ()
        if self.candidates == "one" and len(out) > 1:
            out = [max(out, key=lambda lemma: _common_prefix(lemma, low))]  # first of the longest
        first = fold(low[:1])
        if all(fold(lemma[:1]) != first for lemma in out):
            out.append(low)
        return tuple(out)

    def known(self, low: str) -> bool:
        return bool(self.lemmas(low))

    @functools.lru_cache(maxsize=16384)  # noqa: B019
    def fold_lemmas(self, folded_word: str) -> tuple[str, ...]:
        out: dict[str, None] = {}
        for spelling in restorations(folded_word):
            for lemma in self.lemmas(spelling):
                out[lemma] = None
        return tuple(out)

    def prefix_lemmas(self, prefix: str) -> tuple[str, ...]:
        """Morfeusz looks up whole words only: the prefix completed by each common ending (``handl*`` ->
        handlu, handlem -> handel), and as a diacritic-free word would be (``ludzm*`` -> ludźmi)."""
        out: dict[str, None] = {}
        low = prefix.lower()
        for ending in _ENDINGS:
            word = low + ending
            for lemma in self.lemmas(word):
                out[lemma] = None
            if word.isascii():
                for lemma in self.fold_lemmas(word):
                    out[lemma] = None
        return tuple(out)


class _RawMorfeusz:
    """The first-segment readings of a word from morfeusz2's SWIG layer: (lemma, (tag, not "ign", marked))."""

    def __init__(self, morf) -> None:  # type: ignore[no-untyped-def]
        import _morfeusz2
        import morfeusz2

        self._obj = morf._morfeusz_obj
        self._resolver = self._obj.getIdResolver()
        self._results = morfeusz2.InterpsList
        self._analyse = _morfeusz2._Morfeusz_analyse
        self._start = _morfeusz2.MorphInterpretation_startNode_get
        self._lemma = _morfeusz2.MorphInterpretation__lemma_get
        self._tag = _morfeusz2.MorphInterpretation_tagId_get
        self._name = _morfeusz2.MorphInterpretation_nameId_get
        self._labels = _morfeusz2.MorphInterpretation_labelsId_get
        self._info: dict[tuple[int, int, int], tuple[str, bool, bool]] = {}

    def first_segment(self, word: str) -> list[tuple[str, tuple[str, bool, bool]]]:
        res = self._results()
        self._analyse(self._obj, word, res)
        out = []
        for i in res:
            if self._start(i) != 0:
                continue
            key = (self._tag(i), self._name(i), self._labels(i))
            info = self._info.get(key)
            if info is None:
                tag = self._resolver.getTag(key[0])
                name = self._resolver.getName(key[1])
                labels = list(self._resolver.getLabels(key[2]))
                info = self._info[key] = (tag, tag != "ign",
                                          _marked((None, None, tag, name.split("|") if name else [], labels)))
            out.append((self._lemma(i), info))
        return out


# Endings that complete a prefix into forms of the words it starts: cases of nouns and adjectives, verbs.
_ENDINGS = ("", "a", "e", "i", "y", "u", "o", "em", "om", "ów", "ami", "ach", "ie", "ego", "ych", "ać", "ić", "yć")
_NAMES = frozenset(["nazwisko", "imię"])
_RARE = frozenset(["daw.", "rzad.", "przest.", "arch.", "gwar.", "pot.", "środ.", "wulg.", "posp."])


def _marked(reading) -> bool:  # type: ignore[no-untyped-def]
    """A reading to drop when the word has another: a surname or first name (case is ignored, so every
    ``stanie`` would also be Mr Stania), an archaic, rare or colloquial one, a depreciative form."""
    _form, _lemma, tag, labels, quals = reading
    return bool(_NAMES.intersection(labels) or _RARE.intersection(quals) or tag.startswith("depr"))


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


_lock = threading.Lock()
_state: dict[str, object] = {}
_config: dict[str, object] = {"stem": "unknown", "query": "all"}


def lemma_source() -> LemmaSource:
    source = _state.get("source")
    if source is None:
        with _lock:
            source = _state.get("source")
            if source is None:
                source = _state["source"] = MorfeuszSource()
    return source  # type: ignore[return-value]


def configure(source: LemmaSource | None = None, stem: bool | str = "unknown", query: str = "all") -> None:
    """Bench variants only (an index must be built and searched under one setting): the lemma source,
    Snowball stems of lemmas (True), bare lemmas ("unknown": only words the dictionary lacks are stemmed;
    False: none), and whether a query word asks for all its lemmas or the first."""
    with _lock:
        _state.pop("source", None)
        if source is not None:
            _state["source"] = source
        _config.update(stem=stem, query=query)
    for f in (word_terms, query_terms, prefix_terms, lemmas):
        f.cache_clear()
    _surface_cache.clear()


def _stemmer():  # type: ignore[no-untyped-def]
    stemmer = _state.get("stemmer")
    if stemmer is None:
        import Stemmer

        stemmer = _state["stemmer"] = Stemmer.Stemmer("polish", 0)
    return stemmer


@functools.lru_cache(maxsize=65536)
def lemmas(word: str) -> tuple[str, ...]:
    """The lemmas of `word` (any case) as the index uses them; () for a word the dictionary lacks."""
    return lemma_source().lemmas(word.lower())


def _term(lemma: str, known: bool = True) -> str:
    stem = _config["stem"]
    if stem is True or (stem == "unknown" and not known):
        return _stemmer().stemWord(lemma)  # type: ignore[no-any-return]
    return lemma


@functools.lru_cache(maxsize=262144)
def word_terms(low: str) -> tuple[str, ...]:
    """Index terms of one lowercase word, all at its position: the exact term of each lemma (the word's
    Snowball stem when the dictionary lacks it), then the ``~`` folded twin of each exact term that
    folding changes."""
    if not low.isalpha():  # numbers, codes like a4 or mp3: kept as typed, folded
        return (fold(low),)
    exact = tuple(dict.fromkeys(_term(lemma) for lemma in lemma_source().lemmas(low))) or (_term(low, False),)
    twins = tuple(dict.fromkeys(FOLD_PREFIX + f for t in exact if (f := fold(t)) != t))
    return exact + twins


def exact_terms(low: str) -> tuple[str, ...]:
    return tuple(t for t in word_terms(low) if t[:1] != FOLD_PREFIX)


KNOWN_WORD_FOLD_WEIGHT = 0.2


@functools.lru_cache(maxsize=65536)
def query_terms(word: str) -> tuple[tuple[str, ...], tuple[str, ...], float]:
    """(exact terms, folded-space terms, weight for the folded ones) for one plain query word.

    A word typed with Polish letters (or not a letter word) has no folded terms. A diacritic-free word is
    also looked up in the folded space: its own ``~`` terms (``sad`` -> ``~sad``, which ``sąd`` carries)
    and, when the dictionary does not know it as typed, the ``~`` terms of the lemmas of every spelling
    with Polish letters it may stand for (``ludzmi`` -> ``ludźmi`` -> ``~czlowiek``, ``~ludzm``). A word
    the dictionary knows (``sad``) was most likely typed as meant: its widening gets a low weight (0.2)
    and no spelling search (tens of Morfeusz look-ups: 1.4 -> 0.5 ms CPU a typed question, same nDCG);
    unknown words (``ludzmi``) get 1.0.
    """
    low = word.lower()
    exact = exact_terms(low)
    if _config["query"] == "one":
        exact = exact[:1]
    if not low.isalpha() or not low.isascii():
        return exact, (), 0.0
    source = lemma_source()
    known = source.known(low)
    folded: list[str] = []
    for lemma in () if known else source.fold_lemmas(low):
        term = _folded_space_term(lemma)
        if term not in exact and term not in folded:
            folded.append(term)
    for t in exact:
        own = FOLD_PREFIX + fold(t)
        if own not in folded:
            folded.append(own)
    return exact, tuple(folded), KNOWN_WORD_FOLD_WEIGHT if known else 1.0


def _folded_space_term(lemma: str) -> str:
    """The term a lemma's forms carry in the folded space: ``~`` + its folded term, or the term itself when
    folding does not change it (the index adds no ``~`` twin then)."""
    term = _term(lemma)
    f = fold(term)
    return FOLD_PREFIX + f if f != term else term


@functools.lru_cache(maxsize=4096)
def prefix_terms(prefix: str) -> tuple[str, ...]:
    """Folded-space terms of the dictionary lemmas whose forms start with the prefix, where the lemma source
    can list them (the simplemma table can; Morfeusz cannot, so a prefix matches index terms only)."""
    return tuple(dict.fromkeys(_folded_space_term(lemma) for lemma in lemma_source().prefix_lemmas(prefix)))

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
    """Lowercase, stopwords, lemmas -> Snowball stems, and the ``~``-folded twin tokens.

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
            for term in terms_of(low):
                if twins or term[:1] != FOLD_PREFIX:
                    t.text = term
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
        return word_terms(text.lower())
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
            for term in terms:
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
