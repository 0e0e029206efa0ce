"""What a chart reads out in words: its latest values, and every series' value at a cursor."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from rich.style import Style
from rich.text import Text

from runview.tui.widgets.chart_ticks import format_tick

if TYPE_CHECKING:
    from runview.tui.widgets.chart import ChartData, ChartSeries

MANY = 4  # more series than this read out as a range (16 cores), not one by one
StyleOf = Callable[["ChartSeries"], Style]


def with_unit(number: str, unit: str) -> str:
    """``51%``, ``71°C``, ``3.02 GiB``."""
    if not unit:
        return number
    return f"{number}{unit}" if unit in ("%", "°C") else f"{number} {unit}"


def lines(data: ChartData) -> list[tuple[ChartSeries, ChartSeries]]:
    """Each drawn line (a band's mean included) and the series its raw values are in: the faint
    raw line behind it when smoothed, else itself."""
    raw = {s.index: s for s in data.series if s.faint}
    return [(s, raw.get(s.index, s)) for s in data.series if not s.faint and not s.band]


def last_finite(y: np.ndarray) -> float | None:
    finite = np.flatnonzero(np.isfinite(y))
    return float(y[finite[-1]]) if finite.size else None


def value_at(series: ChartSeries, x: float) -> float | None:
    """The series' value at ``x``: its last point at or before ``x`` (a value holds until the
    next one is logged), else None."""
    i = int(np.searchsorted(series.x, x, side="right")) - 1
    while i >= 0 and not np.isfinite(series.y[i]):
        i -= 1
    return float(series.y[i]) if i >= 0 else None


def latest_values(data: ChartData | None, style_of: StyleOf) -> Text:
    """``last 0.5235``; ``last read 1.2 MiB/s · write 0.3 MiB/s`` for a few series; a range for
    many.

    Raw values (smoothing changes the line, not what was logged), in the series' colours."""
    if data is None:
        return Text()
    found = [(line, v) for line, raw in lines(data) if (v := last_finite(raw.y)) is not None]
    if not found:
        return Text()
    out = Text("last ", style="dim")
    if len(found) > MANY:
        values = [v for _line, v in found]
        out.append(f"{format_tick(min(values))}–{with_unit(format_tick(max(values)), data.unit)}")
        out.append(f" over {len(found)}", style="dim")
        return out
    for i, (line, value) in enumerate(found):
        if i:
            out.append(" · ", style="dim")
        if len(found) > 1 and line.label:
            out.append(f"{line.label} ", style=style_of(line))
        out.append(
            with_unit(format_tick(value), data.unit), style=style_of(line) + Style(bold=True)
        )
    return out


def format_x(value: float, data: ChartData) -> str:
    """A cursor's x in full (step 123456, not 123.5k): clock time when x is time."""
    if data.x_time:
        try:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
        except (OverflowError, OSError, ValueError):
            pass
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.6g}"


def values_at(data: ChartData, x: float, style_of: StyleOf) -> Text:
    """``step 1200 · train/loss 0.5235 (raw 0.61) · val/loss 0.6``: every line's value at x."""
    out = Text()
    out.append(f"{data.x_label or 'x'} ", style="dim")
    out.append(format_x(x, data), style="bold")
    for line, raw in lines(data):
        out.append(" · ", style="dim")
        if line.label:
            out.append(f"{line.label} ", style=style_of(line))
        value = value_at(line, x)
        out.append(
            with_unit(format_tick(value), data.unit) if value is not None else "–",
            style=style_of(line) + Style(bold=True),
        )
        if raw is not line and (raw_value := value_at(raw, x)) is not None:
            out.append(f" (raw {format_tick(raw_value)})", style="dim")
    return out
