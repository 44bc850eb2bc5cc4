"""Where every column of the page's column charts goes, worked out in Python so the template only writes it down.

Jinja is slow at arithmetic and loops (each macro call costs more than the sums inside it); the page's charts were
most of its rendering time. Coordinates are in percent across (so the text keeps its size on a phone) and in pixels
down, formatted here once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The colours of stacked columns; also style.css's .swatch-N (no inline styles: the CSP allows none).
PALETTE = ("#0f766e", "#2563eb", "#c2410c", "#7c3aed", "#be123c", "#4d7c0f", "#667085")
STEPS = (2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 100000)
STEPS += (200000, 500000, 1000000, 2000000, 5000000, 10000000)
PLOT_TOP, PLOT_BOTTOM = 18, 26


def nice_max(value: float) -> float:
    """The axis' top: a round number at or above `value`, on a step about a quarter of it."""
    value = value if value > 0 else 1
    step = next((candidate for candidate in STEPS if candidate * 4 >= value), 1)
    return float(step * math.ceil(value / step))


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


@dataclass
class ColumnChart:
    """One column chart's drawing: gridlines, axis labels, the columns' rectangles, the period before, x labels."""

    height: int
    grid: list[float]
    #: (y, text) at the right edge.
    axis: list[tuple[float, str]]
    #: (x %, width %, y, height, fill or "") per rectangle.
    rects: list[tuple[str, str, str, str, str]]
    #: The period before: (x1 %, x2 %, y1, y2) lines and (x %, y) dots.
    lines: list[tuple[str, str, str, str]] = field(default_factory=list)
    dots: list[tuple[str, str]] = field(default_factory=list)
    #: (x %, anchor, text) under the columns.
    labels: list[tuple[str, str, str]] = field(default_factory=list)
    #: The stacked chart's legend: (swatch number, label).
    legend: list[tuple[int, str]] = field(default_factory=list)


def _frame(n: int, height: int, labels: Sequence[str], axis: list[tuple[float, str]]) -> ColumnChart:
    slot = 100.0 / (n or 1)
    plot_h = height - PLOT_TOP - PLOT_BOTTOM
    every = math.ceil(n / 6) if n > 7 else 1
    placed = []
    for index, label in enumerate(labels):
        if index % every:
            continue
        # The first and the last label are kept inside the chart's edges.
        if n > 7 and index == 0:
            placed.append((f"{slot * 0.18:.3f}", "start", label))
        elif n > 7 and index == n - 1:
            placed.append((f"{100 - slot * 0.18:.3f}", "end", label))
        else:
            placed.append((f"{slot * (index + 0.5):.3f}", "middle", label))
    grid = [PLOT_TOP + plot_h * (1 - step) for step in (0, 0.5, 1)]
    return ColumnChart(height=height, grid=grid, axis=axis, rects=[], labels=placed)


def columns(
    labels: Sequence[str],
    values: Sequence[float],
    previous: Sequence[float] | None = None,
    fmt: Callable[[float], str] | None = None,
    height: int = 200,
) -> ColumnChart:
    """Columns per bucket for this period, the period before as a dashed line over them."""
    top = nice_max(max([*values, *(previous or [])], default=0))
    n, slot, plot_h = len(values), 100.0 / (len(values) or 1), height - PLOT_TOP - PLOT_BOTTOM
    axis = [
        (PLOT_TOP - 5, fmt(top) if fmt else str(int(top))),
        (PLOT_TOP + plot_h / 2 - 5, fmt(top / 2) if fmt else f"{top / 2:g}"),
    ]
    chart = _frame(n, height, labels, axis)
    for index, value in enumerate(values):
        h = float(value) / top * plot_h
        x = slot * index + slot * 0.18
        chart.rects.append((f"{x:.3f}", f"{slot * 0.64:.3f}", f"{PLOT_TOP + plot_h - h:.1f}", f"{h:.1f}", ""))
    ys = [PLOT_TOP + plot_h - float(value) / top * plot_h for value in previous or []]
    for index, y in enumerate(ys):
        if index + 1 < len(ys):
            x1, x2 = slot * (index + 0.5), slot * (index + 1.5)
            chart.lines.append((f"{x1:.3f}", f"{x2:.3f}", f"{y:.1f}", f"{ys[index + 1]:.1f}"))
        chart.dots.append((f"{slot * (index + 0.5):.3f}", f"{y:.1f}"))
    return chart


def stacked(labels: Sequence[str], buckets: Sequence[Any], keys: Sequence[str], height: int = 200) -> ColumnChart:
    """Stacked columns per bucket (`bucket.by` counts per key), one colour per key, with the legend's entries."""
    top = nice_max(max((sum(bucket.by.values()) for bucket in buckets), default=0))
    n, slot, plot_h = len(buckets), 100.0 / (len(buckets) or 1), height - PLOT_TOP - PLOT_BOTTOM
    chart = _frame(n, height, labels, [(PLOT_TOP - 5, str(int(top)))])
    width = f"{slot * 0.64:.3f}"
    for index, bucket in enumerate(buckets):
        base, x = PLOT_TOP + plot_h, f"{slot * index + slot * 0.18:.3f}"
        for number, key in enumerate(keys):
            count = bucket.by.get(key, 0)
            if count:
                h = count / top * plot_h
                chart.rects.append((x, width, f"{base - h:.1f}", f"{h:.1f}", PALETTE[number % len(PALETTE)]))
                base -= h
    chart.legend = [(number % len(PALETTE), key) for number, key in enumerate(keys)]
    return chart


def shorten(text: str, length: int) -> str:
    """Jinja's truncate(length, killwords=True, end='…') with its default leeway of 5."""
    return text if len(text) <= length + 5 else text[: length - 1] + "…"


@dataclass
class BarRow:
    """One share as a bar: its label (named by `labels` when given), count and share in words, width in percent."""

    y: int
    label: str
    short_label: str
    count: str
    share: str
    value: str
    width: str
    mrr_lost: Any


def bars(shares: Sequence[Any], scale: float | None = None, labels: dict[str, str] | None = None) -> list[BarRow]:
    """The rows of a bars() chart and of its share_table(), 40 px apart."""
    top = scale or max((share.count for share in shares), default=1)
    rows = []
    for index, share in enumerate(shares):
        label = (labels or {}).get(share.label, share.label)
        count = f"{share.count:,}"
        value = count if share.share is None else f"{count} · {share.share * 100:.0f}%"
        width = f"{(share.count / top * 100) if top else 0:.2f}"
        rows.append(
            BarRow(40 * index, label, shorten(label, 38), count, percent(share.share), value, width, share.mrr_lost)
        )
    return rows
