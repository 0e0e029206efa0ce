"""What a chart shows (a ChartSpec) and turning it into reduced ChartData; the second runs in a
worker thread.

A chart draws from one SeriesSnapshot (a run's page) or from several (a comparison: one per run).
Each series of a spec names the sources it is drawn from: one, its own line; several, their mean
with a min-max band. The same spec, reduction and chart serve both.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, replace

import numpy as np

from runview.store.downsample import ema, reduce_band, reduce_minmax
from runview.store.live_reduce import LiveSeries, SeriesState
from runview.store.series import SeriesSnapshot
from runview.tui.view_state import X_METRIC, X_RELATIVE, X_STEP, X_WALL, Bound, ChartEdit
from runview.tui.widgets.chart import ChartData, ChartSeries
from runview.tui.widgets.chart_axes import stable_x

TIME_KEY = "_time"  # (step, unix time) of every history row
_EMPTY = np.empty(0, dtype=np.float64)
Sources = SeriesSnapshot | tuple[SeriesSnapshot, ...]  # one run's series, or one per compared run


@dataclass(frozen=True)
class ChartSpec:
    """One chart: which series of a SeriesSnapshot, under which title and section, drawn how."""

    chart_id: str
    title: str
    section: str
    series: tuple[tuple[str, str], ...]  # (key in the snapshot, legend label)
    # subtracted from x (system charts, relative time: seconds since the run started)
    x_offset: float = 0.0
    x_label: str = ""
    # step: the series' own x; wall/relative: its step's time; metric: x_key at its step
    x_axis: str = X_STEP
    x_key: str = ""
    x_range: tuple[Bound, Bound] = (None, None)
    y_range: tuple[Bound, Bound] = (None, None)
    log_y: bool = False
    legend: bool = True
    colors: tuple[str | int, ...] = ()  # per series, "" for the palette's
    # Per series, the indices of the sources it is drawn from: one index, that source's line;
    # several, their mean with a min-max band. Empty: every series from source 0.
    members: tuple[tuple[int, ...], ...] = ()
    # Per source, what is subtracted from x instead of ``x_offset`` (runs compared on relative
    # time each start at 0). Empty: ``x_offset`` for all.
    x_offsets: tuple[float, ...] = ()
    unit: str = ""  # what y is in, after dividing by ``y_scale`` ("GiB", "%"); "" when unknown
    y_scale: float = 1.0

    def series_members(self, index: int) -> tuple[int, ...]:
        return self.members[index] if index < len(self.members) else (0,)

    def offset_of(self, source: int) -> float:
        return self.x_offsets[source] if source < len(self.x_offsets) else self.x_offset


def as_sources(source: Sources) -> tuple[SeriesSnapshot, ...]:
    return source if isinstance(source, tuple) else (source,)


def apply_edit(spec: ChartSpec, edit: ChartEdit, start_time: float | None) -> ChartSpec:
    """``spec`` as the user edited it; the chart keeps its id and section."""
    y_keys = edit.y_keys or tuple(key for key, _label in spec.series)
    x_axis, x_label, offset = edit.x_axis, "step", 0.0
    if x_axis == X_WALL:
        x_label = "time"
    elif x_axis == X_RELATIVE:
        x_label, offset = "seconds since start", start_time or 0.0
    elif x_axis == X_METRIC:
        x_axis, x_label = (X_METRIC, edit.x_key) if edit.x_key else (X_STEP, "step")
    return replace(
        spec,
        title=edit.title or spec.title,
        series=tuple((key, key) for key in y_keys),
        x_offset=offset,
        x_label=x_label,
        x_axis=x_axis,
        x_key=edit.x_key if x_axis == X_METRIC else "",
        x_range=edit.x_range,
        y_range=edit.y_range,
        log_y=edit.log_y,
        legend=edit.legend,
        colors=tuple(edit.color_of(key) for key in y_keys),
    )


def x_source(spec: ChartSpec) -> str | None:
    """The series that gives x by step, when x is not the series' own."""
    if spec.x_axis in (X_WALL, X_RELATIVE):
        return TIME_KEY
    if spec.x_axis == X_METRIC:
        return spec.x_key
    return None


def source_stamp(spec: ChartSpec, source: Sources) -> Hashable:
    """Cheap fingerprint of a spec's data: series are append-only, so length and last value say
    enough."""
    sources = as_sources(source)
    x_key = x_source(spec)
    stamp = []
    for index, (key, _label) in enumerate(spec.series):
        for member in spec.series_members(index):
            if member >= len(sources):
                stamp.append(None)
                continue
            fingerprint = sources[member].series.fingerprint  # never reads a lazy column
            stamp.append(fingerprint(key))
            if x_key is not None:
                stamp.append(fingerprint(x_key))
    return tuple(stamp)


def unread_columns(spec: ChartSpec, source: Sources) -> int:
    """Points that drawing ``spec`` would read from disk first (a long run's first look)."""
    keys = [key for key, _label in spec.series]
    x_key = x_source(spec)
    if x_key is not None:
        keys.append(x_key)
    return sum(
        len(s.series.raw(key)) for s in as_sources(source) for key in keys if s.series.unread(key)
    )


def sampled(source: Sources, points: int) -> Sources:
    """``source`` with every unread column sampled to about ``points`` points (read at once)."""
    if isinstance(source, tuple):
        return tuple(s.sampled(points) for s in source)
    return source.sampled(points)


def join_on_step(
    steps: np.ndarray, values: np.ndarray, by_steps: np.ndarray, by_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(by_values, values) at the steps both series have, in the order of ``steps``."""
    if steps.size == 0 or by_steps.size == 0:
        return _EMPTY, _EMPTY
    if by_steps.size > 1 and not (by_steps[1:] > by_steps[:-1]).all():
        # Unsorted or repeated steps: the last value logged at a step wins.
        _unique, last = np.unique(by_steps[::-1], return_index=True)
        keep = by_steps.size - 1 - last
        by_steps, by_values = by_steps[keep], by_values[keep]
    index = np.minimum(np.searchsorted(by_steps, steps), by_steps.size - 1)
    hit = by_steps[index] == steps
    return by_values[index[hit]], values[hit]


def series_xy(
    spec: ChartSpec, source: SeriesSnapshot, key: str, offset: float | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """(x, y) of one series on the spec's x axis, or None when the series is not logged.

    ``offset`` (default the spec's ``x_offset``) is subtracted from x."""
    pair = source.series.get(key)
    if pair is None:
        return None
    x, y = pair
    x_key = x_source(spec)
    if x_key is not None:
        by = source.series.get(x_key)
        x, y = join_on_step(x, y, *by) if by is not None else (_EMPTY, _EMPTY)
    offset = spec.x_offset if offset is None else offset
    if offset:
        x = x - offset
    return x, y


class ChartMemory:
    """What one chart's last reduction left per series (``LiveSeries.state``), so the next update
    reduces only the points that arrived since. The board's workers may share it: the states are
    immutable and the mapping is replaced whole."""

    def __init__(self) -> None:
        self.states: dict[Hashable, SeriesState] = {}


def prepare_chart(
    spec: ChartSpec,
    source: Sources,
    width: int,
    smoothing: float,
    stamp: Hashable = None,
    memory: ChartMemory | None = None,
) -> ChartData:
    """Reduce every series of ``spec`` to ``width`` buckets (min and max each); smooth first if
    asked.

    With smoothing the raw series comes back too, marked faint, to be drawn behind the smoothed one.
    A series drawn from several sources comes back as its mean and the two edges of its min-max
    band. Only points inside the spec's x range are reduced. Runs off the UI thread: touches only
    the immutable snapshots' read-only arrays. ``memory`` (kept by the caller from one update of
    the chart to the next) makes the work of an update follow the points added since the last,
    not the series' length, with the same result; a chart of bands or on another series' x
    (wall time, a metric) is reduced whole each time.
    """
    sources = as_sources(source)
    lo, hi = spec.x_range
    x_range = (
        None
        if lo is None and hi is None
        else (-math.inf if lo is None else lo, math.inf if hi is None else hi)
    )
    if (
        memory is not None
        and x_source(spec) is None
        and all(len(spec.series_members(i)) == 1 for i in range(len(spec.series)))
    ):
        out, points, axis = _reduce_live(spec, sources, width, smoothing, x_range, memory)
    else:
        out, points, axis = _reduce_whole(spec, sources, width, smoothing, x_range)
    if spec.y_scale != 1.0:
        out = [replace(s, y=s.y / spec.y_scale) for s in out]
    # Faint raw lines and band edges first, so the lines they belong to are drawn over them.
    out.sort(key=lambda s: not (s.faint or s.band))
    note = (
        "no points in the x range"
        if out and x_range
        else ""
        if out
        else "no data yet"
        if spec.x_axis == X_STEP
        else f"no steps where {', '.join(k for k, _ in spec.series)} and {spec.x_label} meet"
    )
    return ChartData(
        tuple(out),
        stamp=stamp,
        x_label=spec.x_label,
        note=note,
        points=points,
        x_range=spec.x_range,
        x_span=axis,
        y_range=spec.y_range,
        log_y=spec.log_y,
        legend=spec.legend,
        x_time=spec.x_axis == X_WALL,
        unit=spec.unit,
    )


def latest_points(spec: ChartSpec, source: Sources) -> ChartData | None:
    """Each series' newest point, as a chart of one point a line: what ``prepare_chart``'s result
    reads out as its latest values (``latest_values``), from the snapshot alone, for a live chart
    between two reductions (``chart_pace``). Cheap enough for the UI thread: it reads the last
    point of each series and nothing from disk.

    None where it could read out something else than the reduction would: a chart of bands, on
    another series' x, or in an x range; a series not read yet; a newest point whose x is not
    finite or is before the point ahead of it (x out of order: the reduction sorts), or whose y
    is not finite (the reduction then reads out the last finite value among the points it
    keeps).
    """
    if spec.x_range != (None, None) or x_source(spec) is not None:
        return None
    sources = as_sources(source)
    out: list[ChartSeries] = []
    for index, (key, label) in enumerate(spec.series):
        members = spec.series_members(index)
        if len(members) != 1:
            return None
        if members[0] >= len(sources):
            continue
        series = sources[members[0]].series
        if key not in series:
            continue
        if series.unread(key):
            return None
        x, y = series[key]
        if not x.size:
            continue
        last_x, last_y = float(x[-1]), float(y[-1])
        if not (math.isfinite(last_x) and math.isfinite(last_y)):
            return None
        if x.size > 1 and not last_x >= x[-2]:
            return None
        color = spec.colors[index] if index < len(spec.colors) else ""
        value = y[-1:] / spec.y_scale if spec.y_scale != 1.0 else y[-1:]
        out.append(ChartSeries(label, x[-1:], value, index=index, color=color))
    return ChartData(tuple(out), unit=spec.unit)


Reduced = tuple[list[ChartSeries], int, tuple[float, float] | None]


def _reduce_live(
    spec: ChartSpec,
    sources: tuple[SeriesSnapshot, ...],
    width: int,
    smoothing: float,
    x_range: tuple[float, float] | None,
    memory: ChartMemory,
) -> Reduced:
    """``_reduce_whole`` for a chart of single series on their own x, from what ``memory`` kept."""
    kept = memory.states
    lives: list[tuple[int, str, Hashable, LiveSeries]] = []
    for index, (key, label) in enumerate(spec.series):
        member = spec.series_members(index)[0]
        pair = sources[member].series.get(key) if member < len(sources) else None
        if pair is None or not pair[0].size:
            continue
        name = (index, member, key)
        lives.append(
            (index, label, name, LiveSeries(*pair, spec.offset_of(member), kept.get(name)))
        )
    axis = axis_of_extents(spec.x_range, [live.extent() for *_, live in lives])
    out: list[ChartSeries] = []
    for index, label, _name, live in lives:
        color = spec.colors[index] if index < len(spec.colors) else ""
        if smoothing > 0:
            rx, ry = live.reduce(width, x_range, axis)
            out.append(ChartSeries(label, rx, ry, index=index, faint=True))
        rx, ry = live.reduce(width, x_range, axis, smoothing)
        out.append(ChartSeries(label, rx, ry, index=index, color=color))
    memory.states = {name: live.state() for _index, _label, name, live in lives}
    return out, sum(live.n for *_, live in lives), axis


def _reduce_whole(
    spec: ChartSpec,
    sources: tuple[SeriesSnapshot, ...],
    width: int,
    smoothing: float,
    x_range: tuple[float, float] | None,
) -> Reduced:
    """Every series of ``spec`` reduced from all its points."""
    out: list[ChartSeries] = []
    points = 0
    gathered = []
    for index, (key, label) in enumerate(spec.series):
        pairs = []
        for member in spec.series_members(index):
            pair = (
                series_xy(spec, sources[member], key, spec.offset_of(member))
                if member < len(sources)
                else None
            )
            if pair is not None and pair[0].size:
                pairs.append(pair)
        if pairs:
            gathered.append((index, label, pairs))
    axis = x_axis_of(spec.x_range, [pair for *_, pairs in gathered for pair in pairs])
    for index, label, pairs in gathered:
        color = spec.colors[index] if index < len(spec.colors) else ""
        points += sum(x.size for x, _y in pairs)
        if len(spec.series_members(index)) > 1:
            out.extend(_band(pairs, label, index, color, width, smoothing, x_range, axis))
            continue
        x, y = pairs[0]
        if smoothing > 0:
            rx, ry = reduce_minmax(x, y, width, x_range, axis)
            out.append(ChartSeries(label, rx, ry, index=index, faint=True))
            y = ema(y, smoothing)
        rx, ry = reduce_minmax(x, y, width, x_range, axis)
        out.append(ChartSeries(label, rx, ry, index=index, color=color))
    return out, points, axis


def _band(
    pairs: list[tuple[np.ndarray, np.ndarray]],
    label: str,
    index: int,
    color: str | int,
    width: int,
    smoothing: float,
    x_range: tuple[float, float] | None,
    axis: tuple[float, float] | None,
) -> list[ChartSeries]:
    """A group's mean line and the two edges of its min-max band (each member smoothed first)."""
    if smoothing > 0:
        pairs = [(x, ema(y, smoothing)) for x, y in pairs]
    x, mean, low, high = reduce_band(pairs, width, x_range, axis)
    return [
        ChartSeries("", x, low, index=index, color=color, band=True),
        ChartSeries("", x, high, index=index, color=color, band=True),
        ChartSeries(label, x, mean, index=index, color=color),
    ]


def x_axis_of(
    wanted: tuple[Bound, Bound], pairs: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[float, float] | None:
    """The chart's x axis: the user's limits where set, else the data's start and a round end past
    its last x (``stable_x``), so the buckets stay put while a live run grows. None: no data."""
    extents = []
    for x, _y in pairs:
        first, last = float(x.min()), float(x.max())
        if not (math.isfinite(first) and math.isfinite(last)):
            finite = x[np.isfinite(x)]
            if not finite.size:
                continue
            first, last = float(finite.min()), float(finite.max())
        extents.append((first, last))
    return axis_of_extents(wanted, extents)


def axis_of_extents(
    wanted: tuple[Bound, Bound], extents: list[tuple[float, float] | None]
) -> tuple[float, float] | None:
    """``x_axis_of`` from each series' finite x extent (None: it has no finite x)."""
    lo, hi = math.inf, -math.inf
    for extent in extents:
        if extent is not None:
            lo, hi = min(lo, extent[0]), max(hi, extent[1])
    if hi < lo:
        return None
    want_lo, want_hi = wanted
    if want_lo is not None and want_hi is not None:
        return None  # the user's range: nothing to stabilise
    if want_lo is not None:
        lo = want_lo
    start, end = stable_x(lo, hi)
    if want_hi is not None:
        end = want_hi
    return (start, end) if end > start else None


def reduced_size(data: ChartData) -> int:
    """How many points the plotter gets (tests and the benchmark check it stays bounded)."""
    return int(sum(np.size(s.x) for s in data.series))
