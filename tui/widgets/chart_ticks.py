"""Axis ticks people can read: round steps, labels that differ from each other, a sensible range
around a flat line, whole numbers for series that only hold whole numbers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
# A range this small next to its values is float noise (a smoothed constant): drawn as flat.
FLAT = 1e-9
FLAT_PAD = 0.05  # a flat line sits mid-chart, the range 5% of its value to either side


def tick_step(lo: float, hi: float, count: int, integer: bool = False) -> float:
    """The round step (1, 2, 2.5 or 5 times a power of ten) closest to ``count`` ticks over
    [lo, hi] (``hi > lo``); ``integer``: whole-number steps only (a count of processes has no
    tick at 2.5)."""
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    choices = [m * power for m in (1, 2, 2.5, 5, 10)]
    if integer:
        choices = [c for c in choices if c >= 1 and float(c).is_integer()] or [1.0]
    return min(choices, key=lambda v: abs(math.log(v / raw)))


def nice_ticks(lo: float, hi: float, count: int, integer: bool = False) -> list[float]:
    """About ``count`` round ticks (``tick_step``) inside [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    step = tick_step(lo, hi, count, integer)
    # k * step rather than a running sum: 0 stays exactly 0, and errors do not add up.
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [k * step for k in range(first, last + 1)]


def format_tick(value: float) -> str:
    """A short label: 1500 -> 1.5k, 2000000 -> 2M, 0.25 -> 0.25."""
    magnitude = abs(value)
    for limit, suffix in SUFFIXES:
        if magnitude >= limit:
            return f"{value / limit:.4g}{suffix}"
    return f"{value:.4g}"


def format_ticks(ticks: Sequence[float]) -> list[str]:
    """Labels for ``ticks``, all different: short ones when they differ (``format_tick``), else as
    many decimals as the step between ticks needs, under one suffix (78.270G, 78.275G) or none
    (1000002), whichever is shorter."""
    labels = [format_tick(t) for t in ticks]
    if len(set(labels)) == len(labels) or len(ticks) < 2:
        return labels
    magnitude = max(abs(t) for t in ticks)
    scaled = next(((lim, s) for lim, s in SUFFIXES if magnitude >= lim), None)
    candidates = [_fixed(ticks, 1.0, "")]
    if scaled is not None:
        candidates.append(_fixed(ticks, *scaled))
    return min(candidates, key=lambda labels: max(map(len, labels)))


def _fixed(ticks: Sequence[float], limit: float, suffix: str) -> list[str]:
    """Ticks divided by ``limit``, with the decimals their step needs."""
    step = min(abs(b - a) for a, b in zip(ticks, ticks[1:]) if b != a) / limit
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    # one more where the step needs it (2.5, 0.25)
    while decimals < 15 and any(
        abs(round(t / limit, decimals) - t / limit) > step * 1e-6 for t in ticks
    ):
        decimals += 1
    return [f"{t / limit:.{decimals}f}{suffix}" for t in ticks]


def is_flat(lo: float, hi: float) -> bool:
    """No visible change between ``lo`` and ``hi``: equal, or apart by float noise only."""
    return hi - lo <= FLAT * max(abs(lo), abs(hi))


def flat_limits(value: float, integer: bool = False) -> tuple[float, float]:
    """A y range that shows a constant ``value`` as a line across the middle of the chart."""
    pad = abs(value) * FLAT_PAD or 1.0
    if integer:
        pad = max(1.0, math.ceil(pad))
    # zero stays the floor of a series that never went below it (an idle network is not -1 B/s)
    return max(value - pad, 0.0) if value >= 0 else value - pad, value + pad


def all_integers(arrays: Iterable[np.ndarray]) -> bool:
    """Every finite value is a whole number (counts: processes, threads, items)."""
    seen = False
    for y in arrays:
        finite = y[np.isfinite(y)]
        if finite.size:
            seen = True
            if not np.array_equal(finite, np.round(finite)):
                return False
    return seen
