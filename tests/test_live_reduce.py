"""A growing series reduced from its new points only gives the full reduction, every time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from runview.store.downsample import ema, reduce_minmax
from runview.store.live_reduce import LiveSeries
from runview.store.series import SeriesTable
from runview.tui.widgets.chart_spec import ChartMemory, ChartSpec, prepare_chart, x_axis_of


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """The same array, bit for bit (NaN included)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def appended(rng: np.random.Generator, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` new points after ``x``: noise, NaN and inf values, repeated and non-finite x."""
    start = x[-1] if x.size and np.isfinite(x[-1]) else 0.0
    xs = start + np.cumsum(rng.choice([0.0, 1.0, 1.0, 1.0, 0.5, 3.0], size=k))
    ys = rng.normal(0, 1, k) * rng.choice([1e-9, 1.0, 1e9])
    r = rng.random(k)
    ys[r < 0.05] = np.nan
    ys[(r >= 0.05) & (r < 0.08)] = np.inf
    ys[(r >= 0.08) & (r < 0.1)] = -np.inf
    r = rng.random(k)
    xs[r < 0.02] = np.nan
    xs[(r >= 0.02) & (r < 0.03)] = np.inf
    xs[(r >= 0.03) & (r < 0.035)] = -np.inf
    return xs, ys


@pytest.mark.parametrize("seed", range(12))
def test_growing_series_reduces_as_the_whole_at_every_step(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = np.empty(0), np.empty(0)
    state, width, alpha, wanted, offset = None, 20, 0.0, (None, None), 0.0
    kept, axes = 0, set()
    for step in range(300):
        xs, ys = appended(rng, x, int(rng.choice([0, 1, 1, 2, 5, 30, 300])))
        if x.size and rng.random() < 0.1:
            y = y.copy()
            y[-1] = rng.normal()  # the same step logged again replaces the newest value
        x, y = np.concatenate((x, xs)), np.concatenate((y, ys))
        event = rng.random()
        if event < 0.03:
            width = int(rng.integers(1, 60))
        elif event < 0.06:
            alpha = float(rng.choice([0.0, 0.5, 0.9, 0.99]))
        elif event < 0.08:
            wanted = (None, None)
        elif event < 0.09:
            wanted = (float(x.size) / 4, None)
        elif event < 0.10:
            wanted = (5.0, 60.0)  # a zoom: the edges follow the data inside it
        elif event < 0.11:
            wanted = (None, 100.0)
        elif event < 0.12:
            offset = float(rng.choice([0.0, 7.5]))
        elif event < 0.13:
            y = rng.normal(0, 1, y.size)  # the history rewritten: same length, other values
        if not x.size:
            continue
        xo = x - offset if offset else x
        lo, hi = wanted
        x_range = (
            None
            if lo is None and hi is None
            else (-math.inf if lo is None else lo, math.inf if hi is None else hi)
        )
        axis = x_axis_of(wanted, [(xo, y)])
        live = LiveSeries(x, y, offset, state)
        kept += live.previous is not None
        finite = xo[np.isfinite(xo)]
        assert live.extent() == ((finite.min(), finite.max()) if finite.size else None)
        for smoothing in (0.0, alpha) if alpha else (0.0,):
            got = live.reduce(width, x_range, axis, smoothing)
            want = reduce_minmax(xo, ema(y, smoothing) if smoothing else y, width, x_range, axis)
            assert same(got[0], want[0]) and same(got[1], want[1]), (step, smoothing, width)
        state = live.state()
        axes.add(axis)
    assert kept > 250, "most updates start from the state the last one left"
    assert len(axes) > 5, "the axis extended (and changed with the range) along the way"


def test_a_state_is_not_used_on_other_data() -> None:
    x = np.arange(5000, dtype=np.float64)
    y = np.sin(x)
    live = LiveSeries(x, y, 0.0, None)
    live.reduce(40, None, (0.0, 6000.0), 0.9)
    state = live.state()
    other = y.copy()
    other[::7] += 1.0  # another run's values at the same steps
    x2 = np.arange(5100, dtype=np.float64)
    for values in (np.concatenate((other, np.zeros(100))), np.concatenate((y, np.zeros(100)))):
        again = LiveSeries(x2, values, 0.0, state)
        assert (again.previous is not None) == (values[7] == y[7])
        got = again.reduce(40, None, (0.0, 6000.0), 0.9)
        want = reduce_minmax(x2, ema(values, 0.9), 40, None, (0.0, 6000.0))
        assert same(got[0], want[0]) and same(got[1], want[1])
    assert LiveSeries(x[:4000], y[:4000], 0.0, state).previous is None, "a shorter series"


def test_update_reads_only_the_new_points() -> None:
    """The second update's arrays hold the points since the first, not the whole series."""
    x = np.arange(1_000_000, dtype=np.float64)
    y = np.cos(x / 1000)
    live = LiveSeries(x, y, 0.0, None)
    live.reduce(50, None, (0.0, 1_200_000.0), 0.99)
    x2 = np.arange(1_000_010, dtype=np.float64)
    y2 = np.cos(x2 / 1000)
    again = LiveSeries(x2, y2, 0.0, live.state())
    assert again.tail_x.size == 11, "the newest point of the last update and the ten since"
    smoothed = again._smoothed_from(again.base, 0.99)
    assert smoothed.size == 11
    assert again._ema is not None and again.n - again._ema.raw < 2 * 700, "within a block"


def test_charts_of_a_live_table_match_the_full_reduction() -> None:
    """Through the reader's own buffers (shared x, grown in place, a step logged twice)."""
    rng = np.random.default_rng(7)
    table = SeriesTable("_step")
    specs = [
        ChartSpec("loss", "loss", "s", (("loss", "loss"), ("acc", "acc"))),
        ChartSpec("lr", "lr", "s", (("lr", "lr"),), x_range=(50, None)),
        ChartSpec("zoom", "zoom", "s", (("loss", "loss"),), x_range=(100, 400)),
        ChartSpec("sys", "sys", "s", (("acc", "acc"),), x_offset=3.0, y_scale=2.0),
    ]
    memories = {spec.chart_id: ChartMemory() for spec in specs}
    step = 0
    for update in range(120):
        rows = []
        for _ in range(int(rng.choice([1, 3, 20, 400]))):
            row = {"_step": step, "loss": float(rng.normal()), "acc": float(rng.random())}
            if step % 3 == 0:
                row["lr"] = float(rng.choice([rng.random(), math.nan, math.inf]))
            rows.append(row)
            step += int(rng.choice([0, 1, 1, 2]))  # the same step twice: the later row wins
        table.add_rows(rows)
        snapshot = table.snapshot()
        width = 30 if update < 60 else 45
        smoothing = 0.0 if update % 40 < 20 else 0.95
        for spec in specs:
            want = prepare_chart(spec, snapshot, width, smoothing)
            got = prepare_chart(spec, snapshot, width, smoothing, memory=memories[spec.chart_id])
            assert got.x_span == want.x_span and got.points == want.points
            assert got.note == want.note
            assert len(got.series) == len(want.series)
            for a, b in zip(got.series, want.series):
                assert (a.label, a.faint, a.index, a.color) == (b.label, b.faint, b.index, b.color)
                assert same(a.x, b.x) and same(a.y, b.y), (update, spec.chart_id)
    assert all(memory.states for memory in memories.values())
