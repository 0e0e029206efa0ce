"""Axis limits that stay put while a live run grows, so a new point redraws only a chart's end.

Limits that followed the data exactly would move with every step: every point would shift a
little, every cell of the chart would change, and a live chart would resend the whole of itself
to the terminal several times a second (over a slow SSH link, the bottleneck). Instead the x
axis ends on the next round number past the data, as people draw charts by hand, and grows in
steps of about a quarter; the y axis is rounded outward to its tick step. Both are pure
functions of the data's extent, which a growing series only widens, so they change rarely.
"""

from __future__ import annotations

import math

from runview.tui.widgets.chart_ticks import tick_step

# Round axis ends (times a power of ten): each about a quarter past the one before, so the data
# fills at least three quarters of the width and the axis extends about every fifth of the
# run's age.
ROUND_ENDS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def round_up(span: float) -> float:
    """The smallest round number (``ROUND_ENDS`` times a power of ten) at least ``span``."""
    if not (math.isfinite(span) and span > 0):
        return span
    power = 10.0 ** math.floor(math.log10(span))
    for multiple in ROUND_ENDS:
        end = multiple * power
        # 1e-9: a span already round (after float noise) stays itself
        if end >= span * (1 - 1e-9):
            return end
    return 10.0 * power  # pragma: no cover - ROUND_ENDS ends at 10


def stable_x(lo: float, hi: float) -> tuple[float, float]:
    """The x axis for data from ``lo`` to ``hi``: starts at ``lo``, ends at a round span after."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return lo, hi
    return lo, lo + round_up(hi - lo)


def stable_y(lo: float, hi: float, count: int, integer: bool = False) -> tuple[float, float]:
    """The y axis for values from ``lo`` to ``hi``, rounded outward to its tick step.

    A new value inside the limits leaves them, and so every row of the chart, where they were.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return lo, hi
    step = tick_step(lo, hi, count, integer)
    # Rounding outward can widen the span past another step size: settle on the wider one.
    for _ in range(2):
        out_lo = math.floor(lo / step + 1e-9) * step
        out_hi = math.ceil(hi / step - 1e-9) * step
        wider = tick_step(out_lo, out_hi, count, integer)
        if wider <= step:
            break
        step = wider
    return out_lo, out_hi
