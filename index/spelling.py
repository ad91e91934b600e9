""""Did you mean": the archive's word a Polish typist most likely meant.

Whoosh's corrector ranks every word within the edit limit by frequency alone (its score ignores the
distance), so `Szczcin` became `szczycie` (two edits, but a frequent word) rather than `Szczecin` (one).
Here each candidate is scored by a weighted edit distance shaped by how Polish is mistyped, minus a bonus
for how common the word is in the archive:

* a missing or wrong diacritic (a/ą, c/ć, e/ę, l/ł, n/ń, o/ó, s/ś, z/ż/ź) costs 0.2; the spelling
  confusions every Pole knows (ó/u, ż/rz, h/ch) 0.5;
* a doubled or dropped repeat of a letter (`komunikkat`) 0.4; an added letter from a neighbouring key
  (`ptrokuratura`) 0.6; any other dropped or added letter 0.8;
* a neighbouring key (QWERTY, as Polish keyboards are; Polish letters sit on their base letter's key) 0.6,
  two swapped letters 0.6, any other substitution 1.0;
* the first letter is kept (up to its diacritic or a confusion: rzaba -> żaba): people rarely get it wrong, and a changed first letter
  makes another word (`lodz` -> `lecz` helps nobody).

Pure functions of strings and counts: `suggest` in index/searching.py gathers the candidates from the
index (the `spell` field's words, with their document frequencies).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from index.analysis import fold

__all__ = ["typo_cost", "best_correction", "max_cost", "same_start", "start_variants"]

DIACRITIC = 0.2
CONFUSION = 0.5
REPEAT = 0.4
INDEL = 0.8
NEIGHBOUR = 0.6
SWAP = 0.6
SUBSTITUTE = 1.0
FREQUENCY_BONUS = 0.1  # per natural-log unit of document frequency: 1 vs 100 documents is ~0.46

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_OFFSETS = (0.0, 0.25, 0.75)
_KEY = {c: (r, i + _OFFSETS[r]) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}
_CONFUSIONS = {("ó", "u"), ("u", "ó"), ("ż", "rz"), ("rz", "ż"), ("h", "ch"), ("ch", "h")}


def _base(c: str) -> str:
    return fold(c)


def _neighbours(a: str, b: str) -> bool:
    ka, kb = _KEY.get(_base(a)), _KEY.get(_base(b))
    if ka is None or kb is None or ka == kb:
        return False
    return abs(ka[0] - kb[0]) <= 1 and abs(ka[1] - kb[1]) <= 1.0


def _substitution(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if _base(a) == _base(b):
        return DIACRITIC
    if (a, b) in _CONFUSIONS:
        return CONFUSION
    if _neighbours(a, b):
        return NEIGHBOUR
    return SUBSTITUTE


def typo_cost(typed: str, word: str) -> float:
    """The weighted edit distance from what was meant (`word`) to what was typed (both lowercase)."""
    n, m = len(typed), len(word)
    inf = float("inf")
    d = [[inf] * (m + 1) for _ in range(n + 1)]
    d[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            cur = d[i][j]
            if cur == inf:
                continue
            if i < n and j < m:
                c = cur + _substitution(typed[i], word[j])
                if c < d[i + 1][j + 1]:
                    d[i + 1][j + 1] = c
            if i < n:  # a letter typed that the word lacks: a repeat, a brushed neighbouring key, any other
                extra = REPEAT if (i and typed[i] == typed[i - 1]) or (i + 1 < n and typed[i] == typed[i + 1]) \
                    else NEIGHBOUR if (i and _neighbours(typed[i], typed[i - 1])) or (
                        i + 1 < n and _neighbours(typed[i], typed[i + 1])) else INDEL
                if cur + extra < d[i + 1][j]:
                    d[i + 1][j] = cur + extra
            if j < m:  # a letter of the word not typed
                dropped = REPEAT if (j and word[j] == word[j - 1]) or (j + 1 < m and word[j] == word[j + 1]) \
                    else INDEL
                if cur + dropped < d[i][j + 1]:
                    d[i][j + 1] = cur + dropped
            if i + 1 < n and j + 1 < m and typed[i] != typed[i + 1] and _base(typed[i]) == _base(word[j + 1]) \
                    and _base(typed[i + 1]) == _base(word[j]):
                c = cur + SWAP + (DIACRITIC if typed[i] + typed[i + 1] != word[j + 1] + word[j] else 0.0)
                if c < d[i + 2][j + 2]:
                    d[i + 2][j + 2] = c
            for x, y in _CONFUSIONS:  # one letter for two: ż typed as rz, h as ch, and back
                if typed.startswith(x, i) and word.startswith(y, j) and len(x) != len(y):
                    c = cur + CONFUSION
                    if c < d[i + len(x)][j + len(y)]:
                        d[i + len(x)][j + len(y)] = c
    return d[n][m]


def same_start(typed: str, word: str) -> bool:
    """The first letter kept, up to its diacritic or a spelling confusion (rzaba -> żaba, hoinka -> choinka)."""
    return fold(word[:1]) == fold(typed[:1]) or any(
        typed.startswith(x) and word.startswith(y) for x, y in _CONFUSIONS)


def start_variants(typed: str) -> list[str]:
    """`typed` with its opening letters swapped for their spelling confusions (rz -> ż, h -> ch, ...)."""
    return [y + typed[len(x):] for x, y in _CONFUSIONS if typed.startswith(x)]


def max_cost(word: str) -> float:
    """How far a correction may be: about one plain typo for short words, two for longer ones."""
    return 1.0 if len(word) <= 5 else 2.0


def best_correction(typed: str, candidates: Mapping[str, int]) -> str | None:
    """The candidate (word -> how many documents have it) a typist most likely meant by `typed`, or None.

    Same first letter up to diacritics; cost within `max_cost`; the lowest cost minus the frequency bonus
    wins, ties by the word."""
    low = typed.lower()
    if not low:
        return None
    limit = max_cost(low)
    best: tuple[float, str] | None = None
    for word, df in candidates.items():
        if word == low or not word or not same_start(low, word):
            continue
        cost = typo_cost(low, word)
        if cost > limit:
            continue
        score = (cost - FREQUENCY_BONUS * math.log1p(max(df, 0)), word)
        if best is None or score < best:
            best = score
    return best[1] if best else None
