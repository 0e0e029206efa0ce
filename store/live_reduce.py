"""A growing series reduced again from its new points only: what ``reduce_minmax`` and ``ema`` give
for all of it, bit for bit, at a cost that does not grow with its length.

A chart's buckets are cut from its x axis, which stays put while a run grows (``stable_x``), so
every bucket but the last is settled once points have passed it. ``SeriesState`` keeps, per
series, what the reduction chose in the settled buckets, the running min and max of the open
one, the x extent, and the EMA's state at its last whole block (``ema_values``); the next update
reads only the points after them (the newest point is never settled: the same step logged again
replaces its value). A state is used only on data it describes: the series must be longer and
hold the same values at every point the state kept; anything else (a new axis, width, range or
smoothing; a series rewritten or swapped; unordered x) starts over from the whole series.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from runview.store.downsample import bucket_edges, ema, ema_block, ema_values, reduce_minmax

_EMPTY = np.empty(0, dtype=np.float64)
_NO_INDEX = np.empty(0, dtype=np.int64)

# A point the reduction may keep: (index among the points reduced, index in the raw series, x,
# y as drawn (NaN for a non-finite value), the value its bucket's min/max compares).
Point = tuple[int, int, float, float, float]
Params = tuple[int, tuple[float, float] | None, tuple[float, float] | None, float]


@dataclass(frozen=True)
class _Reduction:
    """``reduce_minmax`` of the settled points, for one (buckets, x range, span, smoothing)."""

    span: tuple[float, float] | None  # the edges' span (a zoom's: its first and last x)
    edges: np.ndarray | None  # None: one bucket
    count: int = 0  # points reduced (finite x inside the range)
    # the closed buckets' mins and maxes: indices among the reduced, raw indices, x, y
    closed: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = (
        _NO_INDEX,
        _NO_INDEX,
        _EMPTY,
        _EMPTY,
    )
    open_bucket: int = -1  # the last non-empty bucket, still taking points
    open_min: Point | None = None
    open_max: Point | None = None
    first: Point | None = None
    last: Point | None = None
    # every reduced point (x, y, raw index) while there are at most 2 * buckets of them, when
    # ``reduce_minmax`` returns them all
    every: tuple[np.ndarray, np.ndarray, np.ndarray] | None = (_EMPTY, _EMPTY, _NO_INDEX)


@dataclass(frozen=True)
class _EmaState:
    alpha: float
    raw: int  # raw points before it
    count: int  # finite values among them: a whole number of blocks
    state: float  # the undebiased average after them
    low: float
    high: float


@dataclass(frozen=True)
class SeriesState:
    """What one update of a series leaves for the next (immutable: workers may share it)."""

    offset: float
    raw: int  # raw points described: all but the newest
    check_at: np.ndarray  # raw indices whose x and y must be unchanged for the state to hold
    check_x: bytes
    check_y: bytes
    lo: float  # finite x extent of the described points, offset subtracted (inf, -inf: none)
    hi: float
    last_x: float  # the last finite x among them (-inf: none)
    ordered: bool  # their finite x never decreases
    reductions: Mapping[Params, _Reduction] = field(default_factory=dict)
    ema: _EmaState | None = None


class LiveSeries:
    """One series (raw x and y, as the snapshot holds them) on one update; ``state()`` for the
    next. ``previous`` is used only if it describes a prefix of these arrays."""

    def __init__(
        self, x: np.ndarray, y: np.ndarray, offset: float, previous: SeriesState | None
    ) -> None:
        self.x, self.y, self.offset = x, y, offset
        self.n = n = x.size
        if previous is not None and not _describes(previous, x, y, offset):
            previous = None
        self.previous = previous
        self.base = base = previous.raw if previous is not None else 0
        self.tail_x = self._x_from(base)
        self._reductions: dict[Params, _Reduction] = {}
        self._ema = previous.ema if previous is not None else None
        # The extent and order of the described points (up to the newest), then of them all.
        lo, hi, last, ordered = (
            (previous.lo, previous.hi, previous.last_x, previous.ordered)
            if previous is not None
            else (math.inf, -math.inf, -math.inf, True)
        )
        self._settled_extent = _extent(self.tail_x[: n - 1 - base], lo, hi, last, ordered)
        self.lo, self.hi, self.last_x, self.ordered = _extent(
            self.tail_x[n - 1 - base :], *self._settled_extent
        )

    def extent(self) -> tuple[float, float] | None:
        """The finite x extent (offset subtracted), as ``x_axis_of`` takes it; None: no finite x."""
        return (self.lo, self.hi) if self.hi >= self.lo else None

    def reduce(
        self,
        buckets: int,
        x_range: tuple[float, float] | None,
        span: tuple[float, float] | None,
        alpha: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``reduce_minmax(x - offset, y or ema(y, alpha), buckets, x_range, span)``."""
        buckets = max(1, int(buckets))
        if not self.ordered:  # sorted again on every update: nothing stays put
            y = ema(self.y, alpha) if alpha > 0 else self.y
            return reduce_minmax(self._x_from(0), y, buckets, x_range, span)
        params: Params = (buckets, x_range, span, alpha)
        kept = self.previous.reductions.get(params) if self.previous is not None else None
        base = self.base if kept is not None else 0
        xs, ys, at = self._reduced_points(base, x_range, alpha)
        if span is None:
            # The edges are cut from the first and last x reduced: a zoom's, which stay put
            # while the run grows past it; anything else starts over.
            first = kept.first if kept is not None and kept.first is not None else None
            x0 = first[2] if first is not None else float(xs[0]) if xs.size else math.nan
            x1 = float(xs[-1]) if xs.size else kept.last[2] if kept and kept.last else math.nan
            if kept is not None and kept.span != (x0, x1):
                kept, base = None, 0
                xs, ys, at = self._reduced_points(0, x_range, alpha)
            edge_span = (x0, x1)
        else:
            edge_span = span
        reduction = kept or _Reduction(edge_span, bucket_edges(edge_span, buckets))
        newest = xs.size > 0 and at[-1] == self.n - 1
        settled = xs.size - 1 if newest else xs.size
        reduction = _advance(reduction, xs[:settled], ys[:settled], at[:settled], buckets)
        self._reductions[params] = reduction
        point = _points(reduction, xs[settled:], ys[settled:], at[settled:])
        return _output(reduction, point[0] if point else None, buckets)

    def state(self) -> SeriesState:
        """What the next update starts from: every point but the newest, described."""
        raw = self.n - 1
        at = [raw - 1, 0] if raw > 0 else []
        for red in self._reductions.values():
            at.extend(red.closed[1].tolist())
            for point in (red.open_min, red.open_max, red.first, red.last):
                if point is not None:
                    at.append(point[1])
            if red.every is not None:
                at.extend(red.every[2].tolist())
        if self._ema is not None and self._ema.raw > 0:
            at.append(self._ema.raw - 1)
        check = np.unique(np.asarray(at, dtype=np.int64))
        return SeriesState(
            self.offset,
            raw,
            check,
            self.x[check].tobytes(),
            self.y[check].tobytes(),
            *self._settled_extent,
            reductions=self._reductions,
            ema=self._ema,
        )

    def _x_from(self, start: int) -> np.ndarray:
        x = self.x[start:]
        return x - self.offset if self.offset else x

    def _reduced_points(
        self, start: int, x_range: tuple[float, float] | None, alpha: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, raw index) of the points from raw index ``start`` that the reduction takes."""
        x = self.tail_x[start - self.base :] if start >= self.base else self._x_from(start)
        y = self._smoothed_from(start, alpha) if alpha > 0 else self.y[start:]
        keep = np.isfinite(x)
        if x_range is not None:
            with np.errstate(invalid="ignore"):
                keep &= (x >= x_range[0]) & (x <= x_range[1])
        if keep.all():
            return x, y, np.arange(start, self.n, dtype=np.int64)
        where = np.flatnonzero(keep)
        return x[where], y[where], where + start

    def _smoothed_from(self, start: int, alpha: float) -> np.ndarray:
        """``ema(y, alpha)[start:]``, from the EMA's state at its last whole block before."""
        if not 0.0 < alpha < 1.0:
            y = self.y[start:]
            return np.where(np.isfinite(y), y, np.nan)
        kept = self._ema
        if kept is not None and (kept.alpha != alpha or kept.raw > start):
            kept = None
        begin = kept.raw if kept is not None else 0
        y = self.y[begin:]
        finite = np.isfinite(y)
        where = np.flatnonzero(finite)
        values = y[where]
        out = np.full(y.size, np.nan)
        block = ema_block(alpha)
        total = (kept.count if kept is not None else 0) + values.size
        if values.size:
            start_state = (
                (kept.count, kept.state, kept.low, kept.high) if kept is not None else None
            )
            out[where], states = ema_values(values, alpha, min(total, block), start_state)
            # Keep the state at the last whole block before the newest point (which can still
            # change). Blocks shorter than ``block`` (fewer values in all) move as values come.
            whole = int(np.searchsorted(where, self.n - 1 - begin)) // block
            if total >= block and whole:
                used = values[: whole * block]
                self._ema = _EmaState(
                    alpha,
                    begin + int(where[whole * block - 1]) + 1,
                    (kept.count if kept is not None else 0) + whole * block,
                    states[whole - 1],
                    min(kept.low if kept else math.inf, float(used.min())),
                    max(kept.high if kept else -math.inf, float(used.max())),
                )
        return out[start - begin :]


def _describes(state: SeriesState, x: np.ndarray, y: np.ndarray, offset: float) -> bool:
    """Whether ``state`` was left by a prefix of this series: longer now, and the same values at
    every point the state kept (a rewritten or swapped series almost surely differs there)."""
    if state.offset != offset or x.size <= state.raw or y.size != x.size:
        return False
    at = state.check_at
    return x[at].tobytes() == state.check_x and y[at].tobytes() == state.check_y


def _extent(
    x: np.ndarray, lo: float, hi: float, last: float, ordered: bool
) -> tuple[float, float, float, bool]:
    """(lo, hi, last, ordered) of earlier points extended by ``x``."""
    if not x.size:
        return lo, hi, last, ordered
    finite = x if np.isfinite(x).all() else x[np.isfinite(x)]
    if not finite.size:
        return lo, hi, last, ordered
    first_x, last_x = float(finite[0]), float(finite[-1])
    ordered = ordered and first_x >= last and bool((finite[1:] >= finite[:-1]).all())
    if ordered:
        return min(lo, first_x), max(hi, last_x), last_x, True
    return min(lo, float(finite.min())), max(hi, float(finite.max())), last_x, False


def _points(
    red: _Reduction, xs: np.ndarray, ys: np.ndarray, at: np.ndarray, kind: int = 0
) -> list[Point]:
    """Each point of a bucket as a Point, comparing y as a min (``kind`` 0) or max (1)."""
    out = []
    for offset, (x, y, raw) in enumerate(zip(xs.tolist(), ys.tolist(), at.tolist())):
        finite = math.isfinite(y)
        value = y if finite else (math.inf if kind == 0 else -math.inf)
        out.append((red.count + offset, raw, x, y if finite else math.nan, value))
    return out


def _bucket_of(red: _Reduction, x: np.ndarray) -> np.ndarray:
    if red.edges is None:
        return np.zeros(x.size, dtype=np.intp)
    return np.searchsorted(red.edges, x, "right")


def _advance(
    red: _Reduction, xs: np.ndarray, ys: np.ndarray, at: np.ndarray, buckets: int
) -> _Reduction:
    """``red`` with the points (x, y, raw index) that follow it folded in."""
    k = xs.size
    if not k:
        return red
    finite = np.isfinite(ys)
    low = np.where(finite, ys, np.inf)
    high = np.where(finite, ys, -np.inf)
    drawn = np.where(finite, ys, np.nan)
    bucket = _bucket_of(red, xs)
    starts = np.flatnonzero(bucket[1:] != bucket[:-1]) + 1
    bounds = [0, *starts.tolist(), k]
    closed: list[Point] = []
    open_bucket, open_min, open_max = red.open_bucket, red.open_min, red.open_max

    def point(i: int, value: float) -> Point:
        return (red.count + i, int(at[i]), float(xs[i]), float(drawn[i]), value)

    for group, (start, end) in enumerate(zip(bounds[:-1], bounds[1:])):
        i_min = start + int(low[start:end].argmin())
        i_max = start + int(high[start:end].argmax())
        new_min, new_max = point(i_min, float(low[i_min])), point(i_max, float(high[i_max]))
        this = int(bucket[start])
        if group == 0 and open_min is not None and this == open_bucket:
            # The open bucket goes on: the earlier point wins a tie, as argmin's first does.
            new_min = open_min if open_min[4] <= new_min[4] else new_min
            new_max = open_max if open_max[4] >= new_max[4] else new_max  # type: ignore[index]
        elif open_min is not None:
            closed.extend((open_min, open_max))  # type: ignore[arg-type]
        open_bucket, open_min, open_max = this, new_min, new_max
    if closed:
        n_idx, raw, cx, cy = red.closed
        red_closed = (
            np.concatenate((n_idx, [p[0] for p in closed])).astype(np.int64),
            np.concatenate((raw, [p[1] for p in closed])).astype(np.int64),
            np.concatenate((cx, [p[2] for p in closed])),
            np.concatenate((cy, [p[3] for p in closed])),
        )
    else:
        red_closed = red.closed
    count = red.count + k
    every = None
    if red.every is not None and count <= 2 * buckets:
        every = (
            np.concatenate((red.every[0], xs)),
            np.concatenate((red.every[1], drawn)),
            np.concatenate((red.every[2], at)),
        )
    return _Reduction(
        red.span,
        red.edges,
        count,
        red_closed,
        open_bucket,
        open_min,
        open_max,
        red.first if red.first is not None else point(0, 0.0),
        point(k - 1, 0.0),
        every,
    )


def _output(red: _Reduction, newest: Point | None, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """What ``reduce_minmax`` returns for the points of ``red`` and the newest one (if taken)."""
    total = red.count + (newest is not None)
    if total == 0:
        return _EMPTY, _EMPTY
    if total <= 2 * buckets and red.every is not None:
        x, y = red.every[0], red.every[1]
        if newest is not None:
            x, y = np.append(x, newest[2]), np.append(y, newest[3])
        return x.copy(), y.copy()
    extra: list[Point] = []
    open_min, open_max = red.open_min, red.open_max
    if newest is not None:
        low = newest[4]
        as_min = newest
        as_max = (*newest[:4], -math.inf if not math.isfinite(newest[3]) else low)
        this = int(_bucket_of(red, np.array([newest[2]]))[0])
        if open_min is not None and this == red.open_bucket:
            open_min = open_min if open_min[4] <= as_min[4] else as_min
            open_max = open_max if open_max[4] >= as_max[4] else as_max  # type: ignore[index]
        else:
            if open_min is not None:
                extra.extend((open_min, open_max))  # type: ignore[arg-type]
            open_min, open_max = as_min, as_max
    for point in (open_min, open_max, red.first, newest if newest is not None else red.last):
        if point is not None:
            extra.append(point)
    n_idx = np.concatenate((red.closed[0], [p[0] for p in extra])).astype(np.int64)
    xs = np.concatenate((red.closed[2], [p[2] for p in extra]))
    ys = np.concatenate((red.closed[3], [p[3] for p in extra]))
    _unique, first = np.unique(n_idx, return_index=True)
    return xs[first], ys[first]
