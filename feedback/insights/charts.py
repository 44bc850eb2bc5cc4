"""The page's charts: where every column and bar goes, and the SVG that draws them, written here in Python.

Jinja is slow at arithmetic and loops: each macro call and each `{{ }}` (an escape and a new Markup) costs more
than the sums inside it, and the charts' rectangles are most of the page's expressions. Here the numbers are
formatted once and written straight into the SVG, and only text (titles, descriptions, labels) is escaped. The
template calls `columns_svg`, `stacked_svg`, `bars_svg` and `paired_svg` and gets Markup back. Coordinates are in
percent across (so the text keeps its size on a phone) and in pixels down. A chart has a title and a description
for screen readers; the numbers are always in a table beside or under it; the colours are style.css's .swatch-N
too (no inline styles: the CSP allows none).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

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


def _svg_open(id_: str, title: str, desc: str, height: int | float) -> list[str]:
    key = escape(id_)
    return [
        f'<svg class="chart" width="100%" height="{height}" role="img" aria-labelledby="{key}-title {key}-desc"'
        ' focusable="false">',
        f'<title id="{key}-title">{escape(title)}</title>',
        f'<desc id="{key}-desc">{escape(desc)}</desc>',
    ]


def column_svg(id_: str, title: str, desc: str, chart: ColumnChart) -> Markup:
    """A chart laid out by columns() or stacked(): gridlines, columns, the period before, labels, the legend."""
    out = _svg_open(id_, title, desc, chart.height)
    out.append('<g class="grid" aria-hidden="true">')
    out += [f'<line x1="0" x2="100%" y1="{y}" y2="{y}"></line>' for y in chart.grid]
    out += [f'<text class="axis" x="100%" y="{y}" text-anchor="end">{escape(text)}</text>' for y, text in chart.axis]
    out.append("</g><g>" if chart.legend else '</g><g class="bars">')  # stacked columns keep their own colours
    for x, width, y, h, fill in chart.rects:
        paint = f' fill="{fill}"' if fill else ' rx="2"'
        out.append(f'<rect x="{x}%" width="{width}%" y="{y}" height="{h}"{paint}></rect>')
    out.append("</g>")
    if chart.dots:
        out.append('<g class="previous" aria-hidden="true">')
        out += [f'<line x1="{a}%" x2="{b}%" y1="{c}" y2="{d}"></line>' for a, b, c, d in chart.lines]
        out += [f'<circle cx="{x}%" cy="{y}" r="2.5"></circle>' for x, y in chart.dots]
        out.append("</g>")
    out.append('<g class="x-labels" aria-hidden="true">')
    y = chart.height - 8
    for x, anchor, label in chart.labels:
        out.append(f'<text class="axis" x="{x}%" y="{y}" text-anchor="{anchor}">{escape(label)}</text>')
    out.append("</g></svg>")
    if chart.legend:
        out.append('<ul class="legend">')
        out += [f'<li><span class="swatch swatch-{n}"></span>{escape(label)}</li>' for n, label in chart.legend]
        out.append("</ul>")
    return Markup("\n".join(out))  # noqa: S704 - every text above is escaped; the rest are our own numbers


def columns_svg(
    id_: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[float],
    previous: Sequence[float] | None = None,
    fmt: Callable[[float], str] | None = None,
    height: int = 200,
) -> Markup:
    """Columns per bucket for this period, the period before as a dashed line over them."""
    return column_svg(id_, title, desc, columns(labels, values, previous, fmt, height))


def stacked_svg(
    id_: str, title: str, desc: str, buckets: Sequence[Any], keys: Sequence[str], labels: Sequence[str]
) -> Markup:
    """Stacked columns per bucket, one colour per key; the legend is HTML under it."""
    return column_svg(id_, title, desc, stacked(labels, buckets, keys))


def bars_svg(
    id_: str,
    title: str,
    desc: str,
    shares: Sequence[Any],
    color: int = 0,
    scale: float | None = None,
    labels: dict[str, str] | None = None,
) -> Markup:
    """Horizontal bars, one per share: the label above, count and share at the right (MRR lost is in the table)."""
    rows = bars(shares, scale, labels)
    out = _svg_open(id_, title, desc, 40 * len(rows) + 4)
    fill = PALETTE[color]
    for row in rows:
        y = row.y
        out.append(f'<text class="label" x="0" y="{y + 14}">{escape(row.short_label)}</text>')
        out.append(f'<text class="value" x="100%" y="{y + 14}" text-anchor="end">{escape(row.value)}</text>')
        out.append(f'<rect class="track" x="0" y="{y + 21}" width="100%" height="10" rx="5"></rect>')
        out.append(f'<rect x="0" y="{y + 21}" width="{row.width}%" height="10" rx="5" fill="{fill}"></rect>')
    out.append("</svg>")
    return Markup("\n".join(out))  # noqa: S704 - every text above is escaped; the rest are our own numbers


def paired_svg(id_: str, title: str, desc: str, rows: Sequence[dict[str, Any]]) -> Markup:
    """The customer's reason beside the owner's: two thin bars per reason, 50 px apart."""
    top = max([*(row["customer"] for row in rows), *(row["owner"] for row in rows), 0.0001])
    out = _svg_open(id_, title, desc, 50 * len(rows) + 4)
    for index, row in enumerate(rows):
        y, customer, owner = 50 * index, row["customer"], row["owner"]
        out.append(f'<text class="label" x="0" y="{y + 14}">{escape(shorten(row["label"], 30))}</text>')
        out.append(
            f'<text class="value" x="100%" y="{y + 14}" text-anchor="end">'
            f"{customer * 100:.0f}% · {owner * 100:.0f}%</text>"
        )
        out.append(
            f'<rect x="0" y="{y + 21}" width="{customer / top * 100:.2f}%" height="8" rx="4" fill="{PALETTE[0]}">'
            "</rect>"
        )
        out.append(
            f'<rect x="0" y="{y + 32}" width="{owner / top * 100:.2f}%" height="8" rx="4" fill="{PALETTE[3]}"></rect>'
        )
    out.append("</svg>")
    return Markup("\n".join(out))  # noqa: S704 - every text above is escaped; the rest are our own numbers
