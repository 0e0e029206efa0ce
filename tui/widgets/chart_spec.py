"""What a chart shows (a ChartSpec) and turning it into reduced ChartData; the second runs in a worker thread."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from runview.store.downsample import ema, reduce_minmax
from runview.store.series import SeriesSnapshot
from runview.tui.widgets.chart import ChartData, ChartSeries


@dataclass(frozen=True)
class ChartSpec:
    """One chart: which series of a SeriesSnapshot, under which title and section."""

    chart_id: str
    title: str
    section: str
    series: tuple[tuple[str, str], ...]  # (key in the snapshot, legend label)
    x_offset: float = 0.0  # subtracted from x (system charts: seconds since the run started)
    x_label: str = ""


def source_stamp(spec: ChartSpec, source: SeriesSnapshot) -> Hashable:
    """Cheap fingerprint of a spec's data: series are append-only, so length and last value say enough."""
    parts: list[object] = []
    for key, _label in spec.series:
        pair = source.series.get(key)
        if pair is None:
            parts.append(None)
        else:
            y = pair[1]
            parts.append((y.size, y[-1:].tobytes()))
    return tuple(parts)


def prepare_chart(spec: ChartSpec, source: SeriesSnapshot, width: int, smoothing: float, stamp: Hashable = None) -> ChartData:
    """Reduce every series of ``spec`` to ``width`` buckets (min and max each); smooth first if asked.

    With smoothing the raw series comes back too, marked faint, to be drawn behind the smoothed one.
    Runs off the UI thread: touches only the immutable snapshot's read-only arrays.
    """
    out: list[ChartSeries] = []
    points = 0
    for index, (key, label) in enumerate(spec.series):
        pair = source.series.get(key)
        if pair is None or pair[0].size == 0:
            continue
        x, y = pair
        points += x.size
        if spec.x_offset:
            x = x - spec.x_offset
        if smoothing > 0:
            rx, ry = reduce_minmax(x, y, width)
            out.append(ChartSeries(label, rx, ry, index=index, faint=True))
            sx, sy = reduce_minmax(x, ema(y, smoothing), width)
            out.append(ChartSeries(label, sx, sy, index=index))
        else:
            rx, ry = reduce_minmax(x, y, width)
            out.append(ChartSeries(label, rx, ry, index=index))
    # Faint raw lines first, so the smoothed ones are drawn over them.
    out.sort(key=lambda s: not s.faint)
    note = "" if out else "no data yet"
    return ChartData(tuple(out), stamp=stamp, x_label=spec.x_label, note=note, points=points)


def reduced_size(data: ChartData) -> int:
    """How many points the plotter gets (tests and the benchmark check it stays bounded)."""
    return int(sum(np.size(s.x) for s in data.series))
