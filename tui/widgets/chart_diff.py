"""What changed between two drawings of a chart: the cells to send, and data that draws the same."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
from rich.cells import cell_len

from runview.tui.widgets.chart_axes import stable_y
from runview.tui.widgets.chart_ticks import all_integers, format_ticks, is_flat, nice_ticks

if TYPE_CHECKING:
    from runview.tui.widgets.chart import ChartData, ChartSeries

_SGR = re.compile(r"(\x1b\[[0-9;]*m)")


def cells(line: str) -> list[tuple[str, str]]:
    """(character, the escape codes in force for it) along one line of ANSI text."""
    out: list[tuple[str, str]] = []
    style = ""
    for part in _SGR.split(line):
        if part.startswith("\x1b["):
            # A reset starts over; anything else adds to what is in force.
            style = "" if part in ("\x1b[0m", "\x1b[m") else style + part
        else:
            out.extend((char, style) for char in part)
    return out


def changed_spans(old: list[str], new: list[str]) -> list[tuple[int, int, int]]:
    """(row, first column, width in columns) of what differs on each row of two drawings of one
    size, from the first differing cell to the last."""
    spans = []
    for y, (before, after) in enumerate(zip(old, new)):
        if before == after:
            continue
        a, b = cells(before), cells(after)
        start = 0
        limit = min(len(a), len(b))
        while start < limit and a[start] == b[start]:
            start += 1
        end_a, end_b = len(a), len(b)
        while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
            end_a -= 1
            end_b -= 1
        if start == len(a) == len(b):
            continue  # the same cells, spelt with other escape codes
        column = cell_len("".join(char for char, _ in b[:start]))
        width = max(
            cell_len("".join(char for char, _ in a[start:end_a])),
            cell_len("".join(char for char, _ in b[start:end_b])),
        )
        spans.append((y, column, max(1, width)))
    return spans


def same_drawing(old: ChartData | None, new: ChartData | None) -> bool:
    """Whether ``new`` draws exactly what ``old`` does: the same options and the same points.

    A live run's new step often lands inside a bucket whose min and max it does not move.
    """
    if old is None or new is None:
        return False
    if _options(old) != _options(new) or len(old.series) != len(new.series):
        return False
    for a, b in zip(old.series, new.series):
        if _looks(a) != _looks(b):
            return False
        if not (np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y, equal_nan=True)):
            return False
    return True


def _looks(series: ChartSeries) -> tuple[object, ...]:
    """What decides how a series is drawn, besides its points."""
    return (series.label, series.index, series.faint, series.color, series.band)


def _options(data: ChartData) -> tuple[object, ...]:
    return (
        data.x_label,
        data.note,
        data.x_range,
        data.x_span,
        data.y_range,
        data.log_y,
        data.legend,
        data.x_time,
    )


def same_pixels(
    old: ChartData | None, new: ChartData | None, width: int, height: int, colorless: bool = False
) -> bool:
    """Whether plotext would draw ``new`` exactly as ``old`` at ``width`` x ``height`` cells.

    plotext draws a series from its points placed on the canvas's pixel grid (``get_matrix_data``)
    and the lines between them, under labels fixed by the axis limits. When the limits are the
    same and every point lands on the same pixel, the drawing is the same, and building it again
    (the costliest part of a live chart) can be skipped. A live run's new point usually moves
    only the last point, by less than a pixel. The canvas is the chart less its y tick labels
    and the x axis rows below: each size it could be is checked, with the pixels per cell of the
    markers drawn (``hd``: 2 x 2, ``braille``: 2 x 4).
    """
    if colorless or old is None or new is None or old.log_y or new.log_y:
        return False
    if _options(old) != _options(new) or len(old.series) != len(new.series):
        return False
    integer = _all_integer_y(old)
    if integer != _all_integer_y(new):
        return False  # the ticks change from whole numbers to fractions, or back
    x_lim, y_lim = _limits_x(old), y_lim_of(old, height, integer)
    if (
        x_lim is None
        or x_lim != _limits_x(new)
        or y_lim is None
        or y_lim != y_lim_of(new, height, integer)
    ):
        return False
    label_width = _y_label_width(y_lim, height, integer)
    canvas_widths = [
        2 * (width - labels) for labels in range(label_width - 1, label_width + 2) if labels < width
    ]
    canvas_heights = [f * h for h in range(max(1, height - 2), height + 1) for f in (2, 4)]
    for a, b in zip(old.series, new.series):
        if _looks(a) != _looks(b) or a.x.shape != b.x.shape:
            return False
        if not np.array_equal(np.isfinite(a.y), np.isfinite(b.y)):
            return False  # a gap opened or closed
        for lim, p, q, bins in (
            *((x_lim, a.x, b.x, bins) for bins in canvas_widths),
            *((y_lim, a.y, b.y, bins) for bins in canvas_heights),
        ):
            if not np.array_equal(_pixels(p, lim, bins), _pixels(q, lim, bins), equal_nan=True):
                return False
    return True


def _all_integer_y(data: ChartData) -> bool:
    return all_integers(s.y[np.isfinite(s.y)] for s in data.series)


def _y_label_width(y_lim: tuple[float, float], height: int, integer: bool) -> int:
    """How wide ``build_chart``'s y tick labels are: the canvas starts right after them."""
    ticks = nice_ticks(y_lim[0], y_lim[1], max(2, height // 3), integer)
    return max((len(label) for label in format_ticks(ticks)), default=0)


def _pixels(values: np.ndarray, lim: tuple[float, float], bins: int) -> np.ndarray:
    """plotext's ``get_matrix_data``: the pixel each value lands on."""
    with np.errstate(invalid="ignore"):
        return np.floor(np.round(0.5 + (bins - 1) * (values - lim[0]) / (lim[1] - lim[0]), 8))


def _limits_x(data: ChartData) -> tuple[float, float] | None:
    """The x limits ``build_chart`` sets: the user's where set, else the stable axis."""
    lo, hi = data.x_span if data.x_span is not None else (None, None)
    lo, hi = (want if want is not None else auto for want, auto in zip(data.x_range, (lo, hi)))
    return None if lo is None or hi is None or not hi > lo else (float(lo), float(hi))


def y_lim_of(data: ChartData, height: int, integer: bool = False) -> tuple[float, float] | None:
    """The y limits ``build_chart`` sets for ``data`` (linear scale), or None where it sets
    none."""
    finite = [s.y[np.isfinite(s.y)] for s in data.series]
    finite = [f for f in finite if f.size]
    if not finite:
        return None
    lo = min(float(f.min()) for f in finite)
    hi = max(float(f.max()) for f in finite)
    want_lo, want_hi = data.y_range
    lo = lo if want_lo is None else want_lo
    hi = hi if want_hi is None else want_hi
    if not hi > lo or (data.y_range == (None, None) and is_flat(lo, hi)):
        return None  # flat: drawn mid-chart (``flat_limits``), rare enough to build again
    round_lo, round_hi = stable_y(lo, hi, max(2, height // 3), integer)
    return (
        lo if want_lo is not None else round_lo,
        hi if want_hi is not None else round_hi,
    )
