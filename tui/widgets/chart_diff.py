"""What changed between two drawings of a chart: the cells to send, and data that draws the same."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from runview.tui.widgets.chart import ChartData, ChartSeries
    from runview.tui.widgets.chart_raster import Raster


def changed_spans(old: Raster, new: Raster) -> list[tuple[int, int, int]]:
    """(row, first column, width in columns) of what differs on each row of two drawings of one
    size, from the first differing cell (character or colour) to the last."""
    differs = (old.chars != new.chars) | (old.colors != new.colors)
    spans = []
    for y in np.flatnonzero(differs.any(axis=1)).tolist():
        columns = np.flatnonzero(differs[y])
        spans.append((y, int(columns[0]), int(columns[-1] - columns[0] + 1)))
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
