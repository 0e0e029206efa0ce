"""What changed between two drawings of a chart: the cells to send, and data that draws the same."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
from rich.cells import cell_len

if TYPE_CHECKING:
    from runview.tui.widgets.chart import ChartData

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
        if (a.label, a.index, a.faint, a.color, a.band) != (
            b.label,
            b.index,
            b.faint,
            b.color,
            b.band,
        ):
            return False
        if not (np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y, equal_nan=True)):
            return False
    return True


def _options(data: ChartData) -> tuple[object, ...]:
    return (
        data.x_label,
        data.note,
        data.x_range,
        data.y_range,
        data.log_y,
        data.legend,
        data.x_time,
    )
