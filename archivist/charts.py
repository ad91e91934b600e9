"""Counts drawn as text: horizontal bars and a column histogram of block characters, one eighth of a cell
fine. Plain strings (no styles), shared by `archivist stats` and the TUI, so both draw the same picture."""

from __future__ import annotations

from collections.abc import Sequence

_ACROSS = " ▏▎▍▌▋▊▉█"  # 0..8 eighths of a cell, filled from the left
_UP = " ▁▂▃▄▅▆▇█"  # 0..8 eighths of a cell, filled from the bottom


def bar(value: int, peak: int, width: int) -> str:
    """`value` out of `peak` as a bar `width` cells long at most (padded to `width`); any value above 0 shows
    at least a sliver, so a small count is never drawn as none."""
    if width <= 0:
        return ""
    eighths = 0 if peak <= 0 or value <= 0 else max(1, round(value / peak * width * 8))
    full, part = divmod(min(eighths, width * 8), 8)
    return ("█" * full + (_ACROSS[part] if part else "")).ljust(width)


def histogram(counts: Sequence[int], height: int, column: int = 1, gap: int = 0) -> list[str]:
    """Columns of `counts` (left to right) `height` rows tall, each `column` cells wide with `gap` cells
    between: the rows, top first. The highest count fills the height; a count above 0 shows at least a sliver."""
    peak = max(counts, default=0)
    levels = [0 if peak <= 0 or c <= 0 else max(1, round(c / peak * height * 8)) for c in counts]
    rows = []
    for row in range(height - 1, -1, -1):  # top row first
        cells = []
        for level in levels:
            filled = min(max(level - row * 8, 0), 8)
            cells.append(_UP[filled] * column)
        rows.append((" " * gap).join(cells))
    return rows


def share(value: int, total: int) -> str:
    """A percentage for people: `55 %`, `<1 %` for a small non-zero part, `0 %` for none."""
    if total <= 0 or value <= 0:
        return "0 %"
    pct = value / total * 100
    return "<1 %" if pct < 1 else f"{pct:.0f} %"
