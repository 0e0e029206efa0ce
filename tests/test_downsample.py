"""Min/max reduction keeps every spike; EMA matches the textbook recurrence."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from runview.store.downsample import ema, reduce_minmax

values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.just(math.nan),
    st.just(math.inf),
    st.just(-math.inf),
)


@st.composite
def series(draw):
    n = draw(st.integers(1, 400))
    steps = draw(arrays(np.float64, n, elements=st.floats(0, 10, allow_nan=False)))
    x = np.cumsum(steps)  # sorted, with repeats allowed
    y = draw(arrays(np.float64, n, elements=values))
    return x, y


def buckets_of(x: np.ndarray, buckets: int) -> np.ndarray:
    """The bucket of each point, defined independently of the implementation: equal x widths."""
    if x[-1] <= x[0]:
        return np.zeros(x.size, dtype=int)
    edges = x[0] + (x[-1] - x[0]) * (np.arange(1, buckets) / buckets)
    return np.searchsorted(edges, x, "right")


def pairs(x: np.ndarray, y: np.ndarray) -> set[tuple[float, float]]:
    return {(float(a), float(b)) for a, b in zip(x, y) if math.isfinite(b)}


@settings(max_examples=300, deadline=None)
@given(series(), st.integers(1, 60))
def test_each_bucket_keeps_its_min_and_max(data, buckets) -> None:
    x, y = data
    rx, ry = reduce_minmax(x, y, buckets)
    assert rx.size <= max(x.size, 2 * buckets + 2)
    assert np.all(np.diff(rx) >= 0), "points come back in x order"
    assert rx[0] == x[0] and rx[-1] == x[-1], "first and last x are kept"
    kept = pairs(rx, ry)
    assert not np.isinf(ry).any(), "non-finite values become NaN gaps, never inf"
    if x.size <= 2 * buckets:
        return
    which = buckets_of(x, buckets)
    for b in np.unique(which):
        ys = y[which == b]
        finite = ys[np.isfinite(ys)]
        xs = x[which == b]
        if finite.size:
            lo, hi = finite.min(), finite.max()
            assert any(v == lo and a in xs for a, v in kept), f"bucket {b} lost its min"
            assert any(v == hi and a in xs for a, v in kept), f"bucket {b} lost its max"
        else:
            in_bucket = (rx >= xs.min()) & (rx <= xs.max())
            assert np.isnan(ry[in_bucket]).any(), f"bucket {b} of only NaN/inf must leave a gap"


def test_spike_survives_a_million_points() -> None:
    x = np.arange(1_000_000, dtype=np.float64)
    y = np.zeros_like(x)
    y[654_321] = 1e9
    y[123_456] = -5.0
    y[200_000:200_010] = np.nan
    rx, ry = reduce_minmax(x, y, 100)
    assert rx.size <= 202
    assert 1e9 in ry and -5.0 in ry
    assert rx[0] == 0 and rx[-1] == 999_999


def test_all_nan_series_is_a_gap_not_a_crash() -> None:
    x = np.arange(1000, dtype=np.float64)
    rx, ry = reduce_minmax(x, np.full(1000, np.nan), 10)
    assert rx.size and np.isnan(ry).all()
    assert reduce_minmax(np.empty(0), np.empty(0), 10)[0].size == 0


def test_x_range_reduces_only_the_zoomed_part() -> None:
    x = np.arange(10_000, dtype=np.float64)
    y = np.sin(x)
    y[5000] = 99.0
    y[100] = 77.0
    rx, ry = reduce_minmax(x, y, 20, x_range=(4000, 6000))
    assert rx.min() >= 4000 and rx.max() <= 6000
    assert 99.0 in ry and 77.0 not in ry
    assert rx[0] == 4000 and rx[-1] == 6000


def test_unsorted_x_is_sorted_first() -> None:
    x = np.array([3.0, 1.0, 2.0, 0.0] * 50)
    y = x * 10 + 1  # each y is tied to its x: sorting must move them together
    rx, ry = reduce_minmax(x, y, 2)
    assert np.all(np.diff(rx) >= 0)
    assert np.array_equal(ry, rx * 10 + 1)


def naive_ema(y: np.ndarray, alpha: float) -> np.ndarray:
    out, s, t = [], 0.0, 0
    for v in y:
        if not math.isfinite(v):
            out.append(math.nan)
            continue
        t += 1
        s = alpha * s + (1 - alpha) * v
        out.append(s / (1 - alpha**t))
    return np.array(out)


@settings(max_examples=200, deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(1, 3000),
        elements=st.one_of(st.floats(-1e3, 1e3, allow_nan=False), st.just(math.nan)),
    ),
    st.sampled_from([0.6, 0.8, 0.9, 0.95, 0.99, 0.999]),
)
def test_ema_matches_the_debiased_recurrence(y, alpha) -> None:
    got, want = ema(y, alpha), naive_ema(y, alpha)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9, atol=1e-9)


def test_ema_first_value_is_unbiased_and_zero_alpha_is_identity() -> None:
    y = np.array([10.0, 10.0, 10.0])
    assert np.allclose(ema(y, 0.99), 10.0), "debiasing removes the pull towards 0"
    assert np.array_equal(ema(y, 0.0), y)


def test_reducing_does_not_import_numpy_ma():
    # np.unique imports numpy.ma on its first call: ~30 ms inside a long run's first charts.
    code = (
        "import sys, numpy as np\n"
        "from runview.store.downsample import reduce_minmax\n"
        "x = np.arange(10_000, dtype=float)\n"
        "rx, ry = reduce_minmax(x, np.sin(x), 50)\n"
        "assert rx.size <= 102 and (np.diff(rx) > 0).all(), rx\n"
        "print('numpy.ma' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
