"""Counts drawn as text (`archivist.charts`) and `archivist stats`'s bars through the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from archivist.archive import Archive
from archivist.charts import bar, histogram, share


def test_bars_are_scaled_to_the_peak_in_eighths() -> None:
    assert bar(4, 4, 8) == "████████"
    assert bar(2, 4, 8) == "████    "
    assert bar(1, 16, 4) == "▎   "  # 1/16 of 4 cells: 2 eighths of a cell
    assert bar(1, 1000, 5) == "▏    "  # a count above 0 is never drawn as nothing
    assert bar(0, 10, 3) == "   " and bar(3, 0, 3) == "   " and bar(5, 5, 0) == ""


def test_histogram_columns_rise_from_the_bottom() -> None:
    assert histogram([2, 1, 0], height=2) == ["█  ", "██ "]
    assert histogram([8, 1], height=1, column=2, gap=1) == ["██ ▁▁"]
    assert histogram([], height=3) == ["", "", ""]


def test_shares_are_whole_percentages() -> None:
    assert [share(1, 3), share(2, 3), share(1, 500), share(0, 5), share(3, 0)] == ["33 %", "67 %", "<1 %", "0 %",
                                                                                    "0 %"]


def test_stats_draws_years_and_publishers_as_plain_bars_when_piped(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    with Archive.open(archive_dir, actor="test") as a:
        for i, (year, publisher) in enumerate([(2015, "MSWiA"), (2015, "MSWiA"), (2015, "KWP w Łodzi"),
                                               (2017, "MSWiA"), (None, None)]):
            a.publish(title=f"Artykuł {i}", body="treść", published=dt.date(year, 5, 1) if year else None,
                      publisher=publisher)
    r = cli("stats")
    assert r.code == 0 and "\x1b" not in r.out  # not a terminal: no colours, no cursor moves
    lines = r.out.splitlines()
    at = lines.index("Articles per year")
    assert lines[at + 1].split() == ["2015", "█" * 50, "3"]
    assert lines[at + 2].split()[0] == "2017" and lines[at + 2].split()[-1] == "1"
    assert lines[at + 2].count("█") == 16 and "▋" in lines[at + 2]  # a third of 50 cells
    assert "and 1 article without a date" in r.out
    pub = lines.index("Articles per publisher (the 2 largest)")
    assert lines[pub + 1].split()[0] == "MSWiA" and lines[pub + 1].split()[-1] == "3"
    assert "and 1 article from other or unknown publishers" in r.out
    assert cli("stats", "--json").json()["years"] == {"2015": 3, "2017": 1}
