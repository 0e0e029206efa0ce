"""Per-update cost of reducing a live chart: the whole series each time vs from the points added
since the last update (``prepare_chart(memory=...)``), at 12k, 100k and 1M points.

A run's table (the reader's own ``SeriesTable``) holds 8 metrics at N steps; each update adds 5
steps (20 steps/s, four updates a second), then reduces one chart of a 50-cell-wide plot from a
fresh snapshot, both ways, alternately, so both see the same machine. Median and p90 of the
updates; the two results are checked equal on every update.

Run: .venv/bin/python benchmarks/bench_reduce.py [--updates 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
from machine_info import cpu_model  # noqa: E402 - benchmarks run as scripts from this folder

from runview.store.series import SeriesTable
from runview.tui.widgets.chart_spec import ChartMemory, ChartSpec, prepare_chart

METRICS = 8
WIDTH = 50  # a chart of a 3 x 4 grid on a 160 x 48 terminal
STEPS_PER_UPDATE = 5
SIZES = (12_000, 100_000, 1_000_000)
SMOOTHING = (0.0, 0.9, 0.99)
CHARTS, UPDATES_PER_S = 6, 4  # what a live Charts tab at 160x48 reduces


def columns(rng: np.random.Generator, start: int, count: int) -> dict:
    steps = np.arange(start, start + count, dtype=np.float64)
    out = {"_step": (steps, steps)}
    for i in range(METRICS):
        y = np.exp(-steps / 3e5) + rng.normal(0, 0.05, count)
        out[f"m{i}"] = (steps, y)
    return out


def measure(points: int, smoothing: float, updates: int) -> tuple[list[float], list[float]]:
    """Per-update ms of the whole reduction and of the kept one, on the same snapshots."""
    rng = np.random.default_rng(0)
    table = SeriesTable("_step")
    table.extend_columns(columns(rng, 0, points))
    spec = ChartSpec("m0", "m0", "s", (("m0", "m0"),))
    memory = ChartMemory()
    prepare_chart(spec, table.snapshot(), WIDTH, smoothing, memory=memory)  # the first look
    whole, kept = [], []
    step = points
    for _ in range(updates):
        table.extend_columns(columns(rng, step, STEPS_PER_UPDATE))
        step += STEPS_PER_UPDATE
        snapshot = table.snapshot()
        start = time.perf_counter()
        want = prepare_chart(spec, snapshot, WIDTH, smoothing)
        whole.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        got = prepare_chart(spec, snapshot, WIDTH, smoothing, memory=memory)
        kept.append((time.perf_counter() - start) * 1000)
        for a, b in zip(got.series, want.series):
            if a.x.tobytes() != b.x.tobytes() or a.y.tobytes() != b.y.tobytes():
                raise SystemExit(f"kept reduction differs from the whole at {step} steps")
    return whole, kept


def p90(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.9)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=200)
    args = parser.parse_args()
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, numpy "
        f"{np.__version__}"
    )
    print(f"load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(
        f"one chart {WIDTH} cells wide, {STEPS_PER_UPDATE} steps added per update, "
        f"{args.updates} updates; ms per update, median (p90)"
    )
    print(
        f"{'points':>10} {'smoothing':>9} {'whole ms':>16} {'kept ms':>16} {'faster':>7} "
        f"{'tab, whole':>11} {'tab, kept':>10}"
    )
    for smoothing in SMOOTHING:
        for points in SIZES:
            whole, kept = measure(points, smoothing, args.updates)
            w, k = statistics.median(whole), statistics.median(kept)
            # share of a core: CHARTS charts reduced UPDATES_PER_S times a second
            tab_w, tab_k = (v * CHARTS * UPDATES_PER_S / 10 for v in (w, k))
            print(
                f"{points:>10,} {smoothing:>9} {w:>7.3f} ({p90(whole):>6.3f}) "
                f"{k:>7.3f} ({p90(kept):>6.3f}) {w / k:>6.1f}x {tab_w:>10.1f}% {tab_k:>9.2f}%"
            )
    print(
        f"tab: the share of a core {CHARTS} such charts take at {UPDATES_PER_S} updates a "
        "second (the reduction alone, in the worker thread)"
    )


if __name__ == "__main__":
    main()
