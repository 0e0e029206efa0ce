"""How a run table cell reads: status with its live mark, times, durations, numbers; always Text."""

from __future__ import annotations

import math
import time
from typing import Any

from rich.text import Text

from runview.store import format as fmt
from runview.store.run_columns import Column
from runview.store.run_row import STATE_DELETED, RunRow
from runview.tui.format import format_duration
from runview.tui.safe_text import visible

STATE_MARKS = {
    fmt.STATE_RUNNING: ("●", "bold green"),
    fmt.STATE_FINISHED: ("✔", "blue"),
    fmt.STATE_FAILED: ("✘", "bold red"),
    fmt.STATE_CRASHED: ("✘", "red"),
    "unknown": ("?", "yellow"),
    STATE_DELETED: ("✖", "dim"),
}


def format_runtime(seconds: float | None) -> str:
    """Two units at most (``3h 02m``), so the column stays narrow; empty when unknown."""
    return "" if seconds is None else format_duration(seconds, units=2)


def format_start(started: float | None, now: float | None = None) -> str:
    """``12-03 05:46`` this year, ``2025-12-03`` before: a column people scan, kept narrow."""
    if started is None:
        return ""
    try:
        when = time.localtime(started)
        this_year = time.localtime(now or time.time()).tm_year == when.tm_year
        return time.strftime("%m-%d %H:%M" if this_year else "%Y-%m-%d", when)
    except (OverflowError, OSError, ValueError):
        return ""


def format_number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def format_cell_value(value: Any) -> str:
    """A config or summary value in a cell: short numbers, text as it is (made visible)."""
    if value is None:
        return ""
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) in (int, float):
        return format_number(float(value))
    return visible(value)


def is_numeric(value: Any) -> bool:
    return type(value) in (int, float)


def cell_parts(column: Column, row: RunRow, now: float) -> tuple[str, str]:
    """(text, style) of the cell of ``row`` in ``column``; the text made visible, never markup."""
    if column.kind == "field":
        key = column.key
        if key == "state":
            mark, style = STATE_MARKS.get(row.state, ("?", ""))
            return f"{mark} {row.state}", style
        if key == "start":
            return format_start(row.started, now), ""
        if key == "runtime":
            return format_runtime(row.runtime(now)), ""
        style = "dim strike" if key == "name" and row.state == STATE_DELETED else ""
        return visible(column.value(row, now)), style
    return format_cell_value(column.value(row, now)), ""


def cell_text(column: Column, row: RunRow, now: float) -> Text:
    """The cell of ``row`` in ``column`` as Text (``runview info``'s table)."""
    text, style = cell_parts(column, row, now)
    return Text(text, style=style)
