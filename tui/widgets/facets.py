"""Facet counts to filter by, and the chips showing the filters in force."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, OptionList
from textual.widgets.option_list import Option

from archivist.charts import bar
from tui.render import lit

FACET_TITLES = {"status": "Status", "publisher": "Publisher", "year": "Year"}
SAVED = "saved"  # the sidebar's group of saved searches (not a facet: choosing one runs it)
SEP = "\x1f"
YEAR_BAR = 10  # cells of the longest bar in the year facet
AS_OF = "as of"  # the chip of the as-of date (not a facet: removing it returns to now)


def facet_option_id(facet: str, value: str) -> str:
    return f"{facet}{SEP}{value}"


def parse_facet_option_id(option_id: str) -> tuple[str, str]:
    facet, _, value = option_id.partition(SEP)
    return facet, value


class FacetList(OptionList):
    """Headed groups of `value  count`; choosing one adds the filter (or, if in force, removes it). Above them,
    the saved searches (`@name`): choosing one runs it."""

    facets: dict[str, dict[str, int]] = {}
    active: dict[str, str] = {}
    saved: list[str] = []  # names of the saved searches
    running: str = ""  # the query on screen: `@name` marks that saved search as the one running

    def show(self, facets: dict[str, dict[str, int]], active: dict[str, str]) -> None:
        self.facets, self.active = facets, dict(active)
        self._render_options()

    def show_saved(self, names: list[str], query: str) -> None:
        if (names, query) != (self.saved, self.running):
            self.saved, self.running = list(names), query
            self._render_options()

    def _render_options(self) -> None:
        facets, active = self.facets, self.active
        keep = None
        if self.highlighted is not None and self.option_count:
            keep = self.get_option_at_index(self.highlighted).id
        options: list[Option] = []
        if self.saved:
            options.append(Option(Text("Saved searches", style="bold underline"), disabled=True))
            for name in self.saved:
                on = self.running.strip().lower() == f"@{name}"
                line = Text("✓ " if on else "  ")
                line.append_text(lit(f"@{name}", "bold" if on else ""))
                options.append(Option(line, id=facet_option_id(SAVED, name)))
        for facet, title in FACET_TITLES.items():
            counts = facets.get(facet) or {}
            if not counts:
                continue
            options.append(Option(Text(title, style="bold underline"), disabled=True))
            peak = max(counts.values())
            for value, count in counts.items():
                on = active.get(facet) == value
                line = Text("✓ " if on else "  ")
                line.append_text(lit(value, "bold" if on else ""))
                if facet == "year":  # the years as a small bar chart
                    line.append(" " + bar(count, peak, YEAR_BAR), style="cyan")
                line.append(f"  {count}" if facet != "year" else f" {count}", style="dim")
                options.append(Option(line, id=facet_option_id(facet, value)))
        self.clear_options()
        self.add_options(options)
        ids = [o.id for o in options]
        if keep in ids:
            self.highlighted = ids.index(keep)


class Chip(Button):
    """One filter in force; pressing it removes the filter."""

    def __init__(self, facet: str, value: str) -> None:
        label = Text(f"{facet}: ")
        label.append_text(lit(value))
        label.append(" ✕")
        super().__init__(label, classes="chip", compact=True)
        self.facet = facet
        self.value = value


class AsOfChip(Chip):
    """The day the archive is shown as of; pressing it returns to now."""

    def __init__(self, day: dt.date) -> None:
        Button.__init__(self, Text(f"as of {day.isoformat()} ✕"), classes="chip asof-chip", compact=True)
        self.facet = AS_OF
        self.value = day.isoformat()


class FilterChips(Horizontal):
    """The filters in force (and the as-of day, first), each a removable chip."""

    class Removed(Message):
        def __init__(self, facet: str) -> None:
            super().__init__()
            self.facet = facet

    shown: tuple[dict[str, str], dt.date | None] = ({}, None)

    def show(self, filters: dict[str, str], as_of: dt.date | None = None) -> None:
        if (filters, as_of) == self.shown:
            return
        self.shown = (dict(filters), as_of)
        self.remove_children()
        chips: list[Chip] = [AsOfChip(as_of)] if as_of else []
        self.mount_all(chips + [Chip(f, v) for f, v in filters.items()])
        self.display = bool(chips or filters)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if isinstance(event.button, Chip):
            event.stop()
            self.post_message(self.Removed(event.button.facet))


def search_options(filters: dict[str, str]) -> dict[str, Any]:
    """Search options for the chosen facet values."""
    import datetime as dt

    options: dict[str, Any] = {}
    if "status" in filters:
        options["status"] = filters["status"]
    if "year" in filters and filters["year"].isdigit():
        y = int(filters["year"])
        options["since"], options["until"] = dt.date(y, 1, 1), dt.date(y, 12, 31)
    if "publisher" in filters:
        options["publisher"] = filters["publisher"]
    return options
