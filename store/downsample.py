"""Reduce a series to what a chart of a given width can show, keeping every spike; EMA smoothing.

Both run in O(n) vectorised numpy, off the UI thread. Only the reduced points reach the plotter,
so drawing a chart costs the same for a thousand points as for a million.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

_EMPTY = np.empty(0, dtype=np.float64)


def reduce_minmax(
    x: np.ndarray,
    y: np.ndarray,
    buckets: int,
    x_range: tuple[float, float] | None = None,
    span: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``2 * buckets + 2`` points of (x, y), in x order, keeping each bucket's min and max.

    Buckets split the x range into equal widths (a point on an edge belongs to the upper bucket).
    Non-finite y values are skipped in the min/max; a bucket holding only non-finite values gives
    one NaN point, which a chart draws as a gap. The first and last points are always kept.
    ``x_range`` (lo, hi) reduces only the points inside it, for a zoomed view. ``span`` (lo, hi)
    fixes the buckets' edges (the chart's x axis) instead of the data's extent: a point added
    at the end then changes only the last bucket, and every other stays exactly as it was.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    buckets = max(1, int(buckets))
    if x.size and not np.isfinite(x).all():
        keep = np.isfinite(x)
        x, y = x[keep], y[keep]
    if x.size > 1 and not (x[1:] >= x[:-1]).all():
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    if x_range is not None:
        lo, hi = x_range
        i0, i1 = np.searchsorted(x, lo, "left"), np.searchsorted(x, hi, "right")
        x, y = x[i0:i1], y[i0:i1]
    n = x.size
    if n == 0:
        return _EMPTY, _EMPTY
    if n <= 2 * buckets:
        return x.copy(), np.where(np.isfinite(y), y, np.nan)
    starts = bucket_starts(x, buckets, span)
    finite = np.isfinite(y)
    low = np.where(finite, y, np.inf)
    high = np.where(finite, y, -np.inf)
    ends = np.append(starts[1:], n)
    # The first index in each bucket that holds the bucket's min (max); a bucket of only
    # non-finite values gives its first index, whose y is non-finite: a gap. A loop over the
    # buckets (a chart's width of them) with argmin inside: two passes over the data, where a
    # vectorised reduceat-and-repeat took eight (twice as slow at 100k and at 1M points).
    i_min = np.empty(starts.size, dtype=np.intp)
    i_max = np.empty(starts.size, dtype=np.intp)
    for bucket, (start, end) in enumerate(zip(starts.tolist(), ends.tolist())):
        i_min[bucket] = start + int(low[start:end].argmin())
        i_max[bucket] = start + int(high[start:end].argmax())
    chosen = _distinct(np.sort(np.concatenate((i_min, i_max, [0, n - 1]))))
    out_y = y[chosen]
    return x[chosen], np.where(np.isfinite(out_y), out_y, np.nan)


def bucket_starts(
    x: np.ndarray, buckets: int, span: tuple[float, float] | None = None
) -> np.ndarray:
    """Start index of each non-empty bucket of sorted ``x`` cut into ``buckets`` equal widths of
    ``span`` (default: from the first x to the last)."""
    edges = bucket_edges((float(x[0]), float(x[-1])) if span is None else span, buckets)
    if edges is None:
        return np.zeros(1, dtype=np.intp)
    starts = _distinct(np.concatenate(([0], np.searchsorted(x, edges, "left"))))  # ascending
    return starts[starts < x.size]  # buckets past the data (a span reaching ahead) hold nothing


def _distinct(ascending: np.ndarray) -> np.ndarray:
    """``np.unique`` of an array already in ascending order. (``np.unique`` itself imports
    ``numpy.ma`` on its first call, ~30 ms in the middle of a long run's first charts.)"""
    if ascending.size < 2:
        return ascending
    keep = np.empty(ascending.size, dtype=bool)
    keep[0] = True
    np.not_equal(ascending[1:], ascending[:-1], out=keep[1:])
    return ascending[keep]


def bucket_edges(span: tuple[float, float], buckets: int) -> np.ndarray | None:
    """The ``buckets - 1`` inner edges cutting ``span`` into equal widths; None when the span is
    empty or not finite (one bucket holds everything). A point on an edge belongs to the upper
    bucket, so a point's bucket is ``searchsorted(edges, x, "right")``."""
    x0, x1 = span
    if not (math.isfinite(x0) and math.isfinite(x1) and x1 > x0):
        return None
    return x0 + (x1 - x0) * (np.arange(1, buckets, dtype=np.float64) / buckets)


def ema(y: np.ndarray, alpha: float) -> np.ndarray:
    """Debiased exponential moving average, as TensorBoard and W&B draw it.

    ``s_t = alpha * s_{t-1} + (1 - alpha) * y_t`` from ``s_0 = 0``, divided by ``1 - alpha**t``.
    Non-finite values are not samples: they stay NaN in the output and do not move the average.
    """
    y = np.asarray(y, dtype=np.float64)
    if not 0.0 < alpha < 1.0:
        return np.where(np.isfinite(y), y, np.nan)
    out = np.full(y.size, np.nan)
    finite = np.isfinite(y)
    values = y[finite]
    m = values.size
    if m == 0:
        return out
    out[finite], _states = ema_values(values, alpha, min(m, ema_block(alpha)))
    return out


def ema_block(alpha: float) -> int:
    """The EMA's block length: ``alpha**-block`` stays below 1e3 (see ``_ema_undebiased``)."""
    return max(1, int(math.log(1e3) / -math.log(alpha)))


def ema_values(
    values: np.ndarray,
    alpha: float,
    block: int,
    start: tuple[int, float, float, float] | None = None,
) -> tuple[np.ndarray, list[float]]:
    """The debiased EMA of finite ``values``, and its undebiased state at the end of each block.

    ``start`` (count, state, low, high) continues after ``count`` earlier values (a multiple of
    ``block``) whose undebiased state, min and max these were: the result is then bit for bit
    what one pass over all the values gives, which a chart kept between updates relies on.
    """
    count, state, low, high = start if start is not None else (0, None, math.inf, -math.inf)
    m = values.size
    raw, states = _ema_undebiased(values, alpha, block, state)
    with np.errstate(under="ignore"):
        debias = -np.expm1(np.arange(count + 1, count + m + 1, dtype=np.float64) * math.log(alpha))
    lows, highs = np.minimum.accumulate(values), np.maximum.accumulate(values)
    if start is not None:
        lows, highs = np.minimum(lows, low), np.maximum(highs, high)
    # A weighted mean of the values so far never leaves their range; rounding could step out
    # (a constant came back as c * (1 +- 1e-16), which a chart then drew as full-height noise).
    return np.clip(raw / debias, lows, highs), states


def _ema_undebiased(
    v: np.ndarray, alpha: float, block: int, state: float | None = None
) -> tuple[np.ndarray, list[float]]:
    """The recurrence in blocks: closed form inside a block, a short scan over block ends.

    Inside a block of length B, ``s_j = (1-a) * a^j * cumsum(v_i * a^-i)``; B is chosen so
    ``a^-B`` stays below 1e3, which keeps the closed form accurate to about 1e-13. ``state``:
    the undebiased value before ``v`` (whose blocks then line up with those before). Returns the
    values and the state at the end of each block (the last one's only if it is full).
    """
    m = v.size
    nblocks = -(-m // block)
    padded = np.zeros(nblocks * block)
    padded[:m] = v
    grid = padded.reshape(nblocks, block)
    j = np.arange(block, dtype=np.float64)
    with np.errstate(under="ignore"):
        grow = alpha**-j
        decay = alpha**j
        local = (1.0 - alpha) * np.cumsum(grid * grow, axis=1) * decay
        carry_factor = alpha**block
        ends = local[:, -1].tolist()
        if state is None:
            states = list(accumulate(ends, lambda s, e: carry_factor * s + e))
        else:
            states = list(accumulate(ends, lambda s, e: carry_factor * s + e, initial=state))[1:]
        before = np.array([0.0 if state is None else state, *states[:-1]])
        full = local + before[:, None] * (alpha * decay)
    return full.ravel()[:m], states


def reduce_band(
    series: Sequence[tuple[np.ndarray, np.ndarray]],
    buckets: int,
    x_range: tuple[float, float] | None = None,
    span: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Several series of one metric (runs that differ only in a seed) as a mean and a min-max band.

    The x range any series covers is cut into ``buckets`` equal buckets. In each, every series
    that has finite values there gives its mean; the mean line is the mean of those, the band
    the lowest and the highest value any series has in the bucket. Returns (bucket centres,
    mean, low, high), only for buckets some series reaches. ``x_range`` (lo, hi) keeps only the
    points inside it; ``span`` (lo, hi), when it covers the data, fixes the buckets' edges (the
    chart's x axis), so a point added at the end changes only the last bucket.
    """
    buckets = max(1, int(buckets))
    clean: list[tuple[np.ndarray, np.ndarray]] = []
    for x, y in series:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        keep = np.isfinite(x)
        if x_range is not None:
            keep &= (x >= x_range[0]) & (x <= x_range[1])
        if not keep.all():
            x, y = x[keep], y[keep]
        if x.size > 1 and not (x[1:] >= x[:-1]).all():
            order = np.argsort(x, kind="stable")
            x, y = x[order], y[order]
        if x.size:
            clean.append((x, y))
    if not clean:
        return _EMPTY, _EMPTY, _EMPTY, _EMPTY
    lo = min(float(x[0]) for x, _ in clean)
    hi = max(float(x[-1]) for x, _ in clean)
    if span is not None and span[0] <= lo and hi <= span[1]:
        lo, hi = span
    if not hi > lo:
        buckets = 1
    edges = lo + (hi - lo) * (np.arange(buckets + 1, dtype=np.float64) / buckets)
    means = np.full((len(clean), buckets), np.nan)
    low = np.full(buckets, np.inf)
    high = np.full(buckets, -np.inf)
    for row, (x, y) in enumerate(clean):
        bounds = np.searchsorted(x, edges, "left")
        bounds[-1] = x.size  # the last edge belongs to the last bucket
        filled = np.diff(bounds) > 0
        starts = bounds[:-1][filled]
        finite = np.isfinite(y)
        counts = np.add.reduceat(finite.astype(np.int64), starts)
        sums = np.add.reduceat(np.where(finite, y, 0.0), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[row, filled] = np.where(counts > 0, sums / counts, np.nan)
        low[filled] = np.minimum(
            low[filled], np.minimum.reduceat(np.where(finite, y, np.inf), starts)
        )
        high[filled] = np.maximum(
            high[filled], np.maximum.reduceat(np.where(finite, y, -np.inf), starts)
        )
    present = np.isfinite(means).any(axis=0)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(
            np.where(np.isfinite(means[:, present]), means[:, present], np.nan), axis=0
        )
    centres = (edges[:-1] + edges[1:])[present] / 2.0
    return centres, mean, low[present], high[present]
