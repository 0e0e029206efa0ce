"""What a chart draws, decided once: its lines, limits, ticks and labels, for either drawer.

``plan_chart`` applies runview's rules (stable axes, a flat line mid-chart, readable ticks,
colours or markers) to a chart's data. The plan is then drawn by plotext (``chart_plotext``,
the reference) or by runview's own rasteriser (``chart_raster``, the fast path), which must
agree cell for cell.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text

from runview.tui.widgets.chart_axes import stable_y
from runview.tui.widgets.chart_ticks import (
    all_integers,
    flat_limits,
    format_tick,
    format_ticks,
    is_flat,
    nice_ticks,
)

if TYPE_CHECKING:
    from runview.tui.widgets.chart import ChartData

# One colour per series (plotext names); raw series behind a smoothed one are drawn in FAINT.
PALETTE = (
    "blue+",
    "orange+",
    "green+",
    "red+",
    "magenta+",
    "cyan+",
    "yellow+",
    "blue",
    "orange",
    "green",
    "red",
    "magenta",
)
FAINT = "gray"
CURSOR = "white"
# plotext 5's named colours and their ANSI codes: the choices a user has per series.
NAMED_COLORS = {
    "blue+": 12,
    "orange+": 11,
    "green+": 10,
    "red+": 9,
    "magenta+": 13,
    "cyan+": 14,
    "white": 15,
    "gray+": 7,
    "blue": 4,
    "orange": 3,
    "green": 2,
    "red": 1,
    "magenta": 5,
    "cyan": 6,
    "gray": 8,
    "black": 0,
}
NO_COLOR = "default"  # plotext's name for "no colour"
# Without colour, series differ by marker instead.
MARKERS = ("hd", "braille", "x", "+", "*", "o", "#", "@")
FAINT_MARKER = "dot"
BAND_MARKER = "braille"  # the thinnest line plotext draws: a band's edges stay behind the mean


@dataclass(frozen=True, eq=False)
class PlanLine:
    """One unbroken stretch of a series, as plotext is asked to draw it."""

    x: np.ndarray
    y: np.ndarray  # as logged: a log scale is applied by the drawer, as plotext does
    color: str | int  # a plotext colour: a name, an xterm-256 code, or NO_COLOR
    marker: str  # a plotext marker name ("hd", "braille", "dot") or a character
    label: str | None  # shown in the legend; the first stretch of a labelled series only


@dataclass(frozen=True, eq=False)
class ChartPlan:
    """Everything a drawer needs; None where plotext is left to choose."""

    width: int
    height: int
    lines: tuple[PlanLine, ...]
    x_lim: tuple[float, float] | None
    x_ticks: list[float]
    x_labels: list[str]
    y_lim: tuple[float, float] | None  # in plotext's terms: exponents on a log scale
    y_ticks: list[float] | None
    y_labels: list[str] | None
    log_y: bool
    cursor: tuple[float, str] | None  # (x, colour) of a vertical line
    x_label: str | None


def plan_chart(
    data: ChartData | None,
    width: int,
    height: int,
    log_y: bool = False,
    colorless: bool = False,
    cursor: float | None = None,
) -> ChartPlan | Text:
    """The plan for drawing ``data`` at ``width`` x ``height`` cells, with a vertical line at
    x = ``cursor``; or a Text saying why there is nothing to draw."""
    if data is None:
        return Text("…", style="dim")
    if width < 12 or height < 4:
        return Text("too small", style="dim")
    labelled = (
        data.legend and sum(bool(s.label) and not s.faint and not s.band for s in data.series) > 1
    )
    lines: list[PlanLine] = []
    drawn_x: list[np.ndarray] = []
    drawn_y: list[np.ndarray] = []
    lo, hi = math.inf, -math.inf
    y_lo, y_hi = math.inf, -math.inf
    for series in data.series:
        y = np.where(series.y > 0, series.y, np.nan) if log_y else series.y
        own = series.color if series.color != "" else PALETTE[series.index % len(PALETTE)]
        if colorless:
            color: str | int = NO_COLOR
            thin = series.faint or series.band
            marker = FAINT_MARKER if thin else MARKERS[series.index % len(MARKERS)]
        else:
            color = FAINT if series.faint else own
            marker = BAND_MARKER if series.band else "hd"
        label = (
            series.label
            if labelled and series.label and not series.faint and not series.band
            else None
        )
        for xs, ys in finite_runs(series.x, y):
            lo, hi = min(lo, float(xs[0])), max(hi, float(xs[-1]))
            y_lo, y_hi = min(y_lo, float(ys.min())), max(y_hi, float(ys.max()))
            lines.append(PlanLine(xs, ys, color, marker, label))
            drawn_x.append(xs)
            drawn_y.append(ys)
            label = None
    if not lines:
        note = data.note or ("no positive values for a log scale" if log_y else "no finite values")
        return Text(note, style="dim")
    if data.x_span is not None:
        lo, hi = data.x_span
    lo, hi = (v if v is not None else auto for v, auto in zip(data.x_range, (lo, hi)))
    x_lim = (lo, hi) if hi > lo else None
    x_count = max(2, width // (14 if data.x_time else 12))
    x_ticks, x_labels = _ticks(lo, hi, x_count, all_integers(drawn_x))
    if data.x_time:
        x_labels = [format_time(t, hi - lo) for t in x_ticks]
    y_lo, y_hi = (v if v is not None else auto for v, auto in zip(data.y_range, (y_lo, y_hi)))
    integer = all_integers(drawn_y)
    y_lim: tuple[float, float] | None = None
    y_ticks: list[float] | None = None
    y_labels: list[str] | None = None
    if log_y:
        if y_hi > y_lo > 0 and data.y_range != (None, None):
            # plotext takes log-scale limits as exponents
            y_lim = (math.log10(y_lo), math.log10(y_hi))
    elif data.y_range == (None, None) and is_flat(y_lo, y_hi):
        # plotext would spread float noise over the full height: the line goes mid-chart
        y_lim = flat_limits((y_lo + y_hi) / 2, integer)
        y_ticks, y_labels = _ticks(*y_lim, max(2, height // 3), integer)
    elif y_hi > y_lo:
        # Rounded out to the tick step where the user set no limit: a new value inside them
        # leaves every row where it was.
        round_lo, round_hi = stable_y(y_lo, y_hi, max(2, height // 3), integer)
        y_lim = (
            y_lo if data.y_range[0] is not None else round_lo,
            y_hi if data.y_range[1] is not None else round_hi,
        )
        y_ticks, y_labels = _ticks(*y_lim, max(2, height // 3), integer)
    return ChartPlan(
        width=width,
        height=height,
        lines=tuple(lines),
        x_lim=x_lim,
        x_ticks=x_ticks,
        x_labels=x_labels,
        y_lim=y_lim,
        y_ticks=y_ticks,
        y_labels=y_labels,
        log_y=log_y,
        cursor=(
            (cursor, NO_COLOR if colorless else CURSOR)
            if cursor is not None and lo <= cursor <= hi
            else None
        ),
        x_label=data.x_label if data.x_label and height >= 12 else None,
    )


@functools.lru_cache(maxsize=1024)
def _ticks(lo: float, hi: float, count: int, integer: bool) -> tuple[list[float], list[str]]:
    """Round ticks over [lo, hi] and their labels: a live chart's stay the same for many
    steps, so they are kept. Callers must not change the lists."""
    ticks = nice_ticks(lo, hi, count, integer)
    return ticks, format_ticks(ticks)


def finite_runs(x: np.ndarray, y: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The stretches of (x, y) between NaN values: each is drawn as one line, NaN leaves a gap."""
    ok = np.isfinite(y)
    if ok.all():
        if y.size:
            yield x, y
        return
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.view(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2]):
        yield x[start:stop], y[start:stop]


def format_time(value: float, span: float) -> str:
    """A unix time as a local clock time; seconds shown only over a short span."""
    try:
        return time.strftime(
            "%H:%M:%S" if span < 600 else "%H:%M" if span < 86400 else "%d %H:%M",
            time.localtime(value),
        )
    except (OverflowError, OSError, ValueError):
        return format_tick(value)
