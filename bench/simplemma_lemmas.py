"""simplemma's Polish lemmas as a lemma source for `index.analysis` -- the analyzer before Morfeusz 2, kept
as a bench option (`python -m bench.relevance --lemmas simplemma`) and as the word pool of
`bench/corpus_gen.py`.

simplemma's dictionary costs 3.5 s and ~400 MB per process as shipped. It is compiled once into a DAWG
(package ``dawg2``; ~20 MB with the fold table) in the cache dir (``$ARCHIVIST_CACHE_DIR``, else
``$XDG_CACHE_HOME/archivist``, else ``~/.cache/archivist``), built under a file lock into a temp file and
renamed (~30 s, peak RSS 1.6 GB), and plugged into simplemma as its dictionary: identical lemmas. The fold
table (``"\\x02" + fold(form)`` -> every lemma of those forms) serves diacritic-free query words and
prefixes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from index.analysis import fold

_TABLE_FORMAT = 2
_FOLD_KEY = "\x02"  # fold-table keys: "\x02" + fold(lower(form)) -> every lemma of those forms
_META_KEY = "\x03archivist"
PREFIX_FORMS = 3000  # a prefix naming more dictionary forms than this is not widened (`handl*` names ~500)


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
    """The lemma as an edit of the form: chars to cut from the end, then the suffix to add (most forms share
    their value, which lets the DAWG merge them: ~20x smaller than with whole lemmas as values)."""
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


def _load_table(path: Path):  # type: ignore[no-untyped-def]  # -> dawg.BytesDAWG | None
    import dawg

    try:
        table = dawg.BytesDAWG().load(str(path))
    except Exception:  # noqa: BLE001 - an unreadable table is rebuilt
        return None
    return table if table.get(_META_KEY) else None


def ensure_lemma_table(path: Path | None = None):  # type: ignore[no-untyped-def]  # -> dawg.BytesDAWG
    """Open the lemma table, building it once (~30 s) if missing or unreadable (concurrent builders
    serialise on a lock file; the table appears by an atomic rename)."""
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

    def __init__(self, table) -> None:  # type: ignore[no-untyped-def]
        self._table = table

    def get(self, key, default=None):  # type: ignore[no-untyped-def, override]
        if key[:1] in (_FOLD_KEY, "\x03"):
            return default
        value = self._table.get(key)
        return _decode(key, value[0]) if value else default

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

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

    def __init__(self, table) -> None:  # type: ignore[no-untyped-def]
        self._mapping = _DawgMapping(table)

    def get_dictionary(self, lang: str) -> Mapping[str, str]:
        if lang != "pl":
            raise ValueError(f"only Polish is compiled: {lang}")
        return self._mapping


class SimplemmaSource:
    """The `index.analysis.LemmaSource` of simplemma: one lemma a word (its own rules guess unknown words,
    so every word is "known" to it and gets a lemma); the fold table widens diacritic-free words/prefixes."""

    name = "simplemma"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backend = None

    def _get(self):  # type: ignore[no-untyped-def]
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    from simplemma import Lemmatizer
                    from simplemma.strategies import DefaultStrategy

                    table = ensure_lemma_table()
                    lemmatizer = Lemmatizer(
                        cache_max_size=0,
                        lemmatization_strategy=DefaultStrategy(dictionary_factory=_DawgFactory(table)))
                    self._backend = (lemmatizer, table)  # type: ignore[assignment]
        return self._backend

    @functools.lru_cache(maxsize=262144)  # noqa: B019 - one source object per process
    def lemmas(self, low: str) -> tuple[str, ...]:
        return (self._get()[0].lemmatize(low, "pl").lower(),)

    def known(self, low: str) -> bool:
        return self._get()[1].get(low) is not None

    def fold_lemmas(self, folded_word: str) -> tuple[str, ...]:
        values = self._get()[1].get(_FOLD_KEY + folded_word)
        return tuple(_decode(folded_word, v) for v in values) if values else ()

    def prefix_lemmas(self, prefix: str) -> tuple[str, ...]:
        key = _FOLD_KEY + fold(prefix.lower())
        out: dict[str, None] = {}
        for n, (form_key, value) in enumerate(self._get()[1].iteritems(key)):
            if n >= PREFIX_FORMS:
                return ()
            out[_decode(form_key[1:], value)] = None
        return tuple(out)
