"""Counts as pictures that fit the space they are given: a column histogram and horizontal bars with shares
(the drawing itself is `archivist.charts`, shared with `archivist stats`)."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from archivist.charts import bar, histogram, share
from tui.render import lit

HIST_ROWS = 6


class Histogram(Widget):
    """One column per labelled count, left to right, as wide as the widget allows; the labels below."""

    DEFAULT_CSS = "Histogram { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.counts: list[tuple[str, int]] = []

    def show(self, counts: list[tuple[str, int]]) -> None:
        self.counts = counts
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return HIST_ROWS + 2 if self.counts else 1

    def render(self) -> RenderableType:
        if not self.counts:
            return Text("no dated articles", style="dim")
        n = len(self.counts)
        width = max(self.size.width, n * 2)
        column = max(1, min(4, width // n - 1))  # cells a column, a one-cell gap between
        values = [c for _, c in self.counts]
        out = Text()
        for row in histogram(values, HIST_ROWS, column=column, gap=1):
            out.append(row + "\n", style="cyan")
        out.append_text(self._labels(column))
        peak_label, peak = max(self.counts, key=lambda kv: kv[1])
        out.append(f"\nmost: {peak_label} ({peak}) · {sum(values)} dated articles", style="dim")
        return out

    def _labels(self, column: int) -> Text:
        """Each column's label when it fits (`2015`, or `15` in narrow columns), else only every few."""
        keys = [k for k, _ in self.counts]
        if column >= max(len(k) for k in keys):
            return Text(" ".join(k.ljust(column) for k in keys))
        short = [k[-2:] for k in keys]
        if column >= 2:
            return Text(" ".join(k.ljust(column) for k in short))
        line = [" "] * (len(keys) * (column + 1))
        for i, k in enumerate(keys):
            at = i * (column + 1)
            if i % 5 == 0 and at + len(k) <= len(line):
                line[at:at + len(k)] = list(k)
        return Text("".join(line))


class Shares(Widget):
    """Rows of `label  bar  count  share`, the bars scaled to the largest count and the widget's width."""

    DEFAULT_CSS = "Shares { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[tuple[str, int]] = []
        self.total = 0

    def show(self, rows: list[tuple[str, int]], total: int) -> None:
        self.rows, self.total = rows, total
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return max(len(self.rows), 1)

    def render(self) -> RenderableType:
        if not self.rows:
            return Text("none", style="dim")
        peak = max(n for _, n in self.rows)
        label_w = min(max(len(k) for k, _ in self.rows), 32)
        count_w = len(str(peak))
        bar_w = min(max(self.size.width - label_w - count_w - 10, 4), 50)
        out = Text()
        for i, (key, n) in enumerate(self.rows):
            label = lit(key[:label_w - 1] + "…" if len(key) > label_w else key.ljust(label_w))
            out.append_text(label)
            out.append(" " + bar(n, peak, bar_w) + " ", style="cyan")
            out.append(f"{n:>{count_w}} {share(n, self.total):>5}")
            if i < len(self.rows) - 1:
                out.append("\n")
        return out
