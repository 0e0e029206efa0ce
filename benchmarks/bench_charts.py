"""Redraw cost of a screen of 12 charts at 1k vs 1M points per series: reduce (worker) + draw (UI),
the draw by runview's rasteriser and, for comparison, by plotext (the same picture).

Run: .venv/bin/python benchmarks/bench_charts.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np
from machine_info import cpu_model  # noqa: E402 - benchmarks run as scripts from this folder

from runview.store.series import SeriesMap, SeriesSnapshot
from runview.tui.widgets.chart import build_chart, plot_chart
from runview.tui.widgets.chart_spec import ChartSpec, prepare_chart, reduced_size

CHARTS = 12
WIDTH, HEIGHT = 50, 12  # a 3 x 4 grid of charts on a 160 x 48 terminal
REPEATS = 5


def snapshot(points: int) -> SeriesSnapshot:
    rng = np.random.default_rng(0)
    x = np.arange(points, dtype=np.float64)
    series = {}
    for i in range(CHARTS):
        y = np.exp(-x / points * 3) + rng.normal(0, 0.05, points)
        y[rng.integers(0, points)] = 5.0  # a spike the reduction must keep
        series[f"m{i}"] = (x, y)
    return SeriesSnapshot("_step", SeriesMap(series), rows=points)


def measure(points: int, smoothing: float) -> tuple[float, float, float, int]:
    """Median ms for the screen (reduce all 12, draw all 12, the same by plotext) and points
    plotted per chart."""
    source = snapshot(points)
    specs = [ChartSpec(k, k, "s", ((k, k),)) for k in source.series]
    reduce_ms, build_ms, plotext_ms, plotted = [], [], [], 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        datas = [prepare_chart(spec, source, WIDTH, smoothing) for spec in specs]
        reduce_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        for data in datas:
            build_chart(data, WIDTH, HEIGHT)
        build_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        for data in datas:
            plot_chart(data, WIDTH, HEIGHT)
        plotext_ms.append((time.perf_counter() - start) * 1000)
        plotted = reduced_size(datas[0])
    return (
        statistics.median(reduce_ms),
        statistics.median(build_ms),
        statistics.median(plotext_ms),
        plotted,
    )


def main() -> None:
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, numpy "
        f"{np.__version__}"
    )
    print(f"screen: {CHARTS} charts of {WIDTH}x{HEIGHT} cells, median of {REPEATS}")
    print(f"load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(
        f"{'points/series':>14} {'smoothing':>9} {'reduce ms':>10} {'build ms':>9} "
        f"{'total ms':>9} {'plotext ms':>11} {'plotted/chart':>14}"
    )
    for smoothing in (0.0, 0.9):
        for points in (1_000, 1_000_000):
            reduce_ms, build_ms, plotext_ms, plotted = measure(points, smoothing)
            print(
                f"{points:>14,} {smoothing:>9} {reduce_ms:>10.1f} {build_ms:>9.1f} "
                f"{reduce_ms + build_ms:>9.1f} {plotext_ms:>11.1f} {plotted:>14}"
            )
    print(
        "reduce runs in a worker thread; build (runview's rasteriser) runs on the UI thread and "
        "is kept until data or size change; plotext ms: the same drawings by plotext, the "
        "reference the rasteriser matches cell for cell."
    )


if __name__ == "__main__":
    main()
