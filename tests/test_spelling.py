""""Did you mean" (index/spelling.py): the word a Polish typist meant, on realistic misspellings."""

from __future__ import annotations

from pathlib import Path

import pytest

from archivist.archive import Archive
from index.spelling import best_correction, typo_cost

# an archive's words with document frequencies, decoys included: frequent words one or two plain edits
# away from the typo (szczycie, prokuratora, polskie) must not win over the word meant
VOCABULARY = {
    "szczecin": 12, "szczecinie": 9, "szczycie": 80, "warszawa": 40, "warszawie": 60, "prokuratura": 25,
    "prokuratora": 30, "policja": 90, "policji": 120, "polskie": 150, "źródło": 14, "źródła": 10,
    "żaba": 1, "choinka": 3, "rząd": 70, "rządu": 65, "ludźmi": 22, "ludzmi": 0, "gdańsk": 18, "gdańsku": 20,
    "kraków": 16, "krakowie": 30, "łódź": 12, "łodzi": 25, "lecz": 40, "komunikat": 15, "komunikatu": 9,
    "ministerstwo": 20, "ministerstwa": 25, "sąd": 30, "sad": 2, "trump": 30, "zełenski": 25, "ukraina": 40,
    "wojna": 35, "wojny": 30, "bezpieczeństwo": 20, "mieszkańcy": 30, "przestępstwo": 12, "szkoła": 15,
}

MISSPELLINGS = [
    ("szczcin", "szczecin"),  # a dropped letter (the example; not "szczycie")
    ("warszwa", "warszawa"),  # a dropped letter
    ("wrszawa", "warszawa"),
    ("prokuratrua", "prokuratura"),  # two letters swapped
    ("ptrokuratura", "prokuratura"),  # a brushed neighbouring key
    ("pollicja", "policja"),  # a doubled letter
    ("plicja", "policja"),
    ("zrodlo", "źródło"),  # no Polish letters at all, first one included
    ("zrodla", "źródła"),
    ("rzaba", "żaba"),  # rz for ż
    ("hoinka", "choinka"),  # h for ch
    ("rzad", "rząd"),
    ("gdansk", "gdańsk"),
    ("gdnask", "gdańsk"),  # swapped, and the ń without its accent
    ("krakow", "kraków"),
    ("krakuw", "kraków"),  # u for ó
    ("lodz", "łódź"),  # not "lecz"
    ("komunikkat", "komunikat"),
    ("ministerstow", "ministerstwo"),
    ("zelenski", "zełenski"),
    ("ukriana", "ukraina"),
    ("wojan", "wojna"),
    ("bezpieczenstwo", "bezpieczeństwo"),
    ("mieszkancy", "mieszkańcy"),
    ("przestepstwo", "przestępstwo"),
    ("szkola", "szkoła"),
    ("trmp", "trump"),
]


@pytest.mark.parametrize(("typed", "meant"), MISSPELLINGS)
def test_realistic_misspellings(typed: str, meant: str) -> None:
    assert best_correction(typed, VOCABULARY) == meant


def test_nothing_far_is_suggested() -> None:
    assert best_correction("xyzzy", VOCABULARY) is None
    assert best_correction("msza", {"maszyna": 100}) is None  # too many edits for a short word
    assert best_correction("bolicja", VOCABULARY) is None  # the first letter is kept


def test_weights_follow_polish_typing() -> None:
    assert typo_cost("ludzmi", "ludźmi") < typo_cost("ludzmi", "ludomi") < typo_cost("ludzmi", "lupami")
    assert typo_cost("szczcin", "szczecin") < typo_cost("szczcin", "szczycie")
    assert typo_cost("pollicja", "policja") < typo_cost("pokicja", "policja") < typo_cost("pozicja", "policja")


def test_frequent_words_win_among_equally_likely() -> None:
    assert best_correction("sadu", {"sądu": 30, "sady": 2}) == "sądu"
    assert best_correction("sady", {"sądy": 1, "sądu": 40}) == "sądy"  # a cheaper edit beats frequency


def test_did_you_mean_in_an_archive(tmp_path: Path) -> None:
    """The issue's case: `Szczcin` suggested `szczycie` (Whoosh's corrector ranks by frequency alone)."""
    with Archive.open(tmp_path / "a", actor="test:spelling") as a:
        a.publish(title="Szczecin: nowy most", body="W Szczecinie otwarto most.")
        for i in range(5):
            a.publish(title=f"Na szczycie {i}", body="Rozmowy na szczycie w Brukseli, na szczycie NATO.")
        res = a.search("Szczcin")
        assert res.total == 0 and res.suggestion == "Szczecin"
        assert a.search("mosty w Szczcinie").suggestion == "mosty w Szczecinie"
        assert a.search("most").suggestion is None
        a.publish(title="Żaba w ogrodzie", body="Zielona żaba.")
        assert a.search("rzaba").suggestion == "żaba"
