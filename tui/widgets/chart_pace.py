"""How often a live chart is reduced and drawn again: its new points at most once a second, its
latest values (in its border) at every update.

A noisy metric changes its drawing at nearly every update, and each drawing is cells sent over
the link; a curve's shape needs no more than one new drawing a second to be watched, while the
numbers in its border are what people read for "now". Between two drawings a chart is not
reduced at all: it is *held*, its latest values read from the snapshot's newest points, and
reduced again once due (the reduction then covers every point since the last, so no spike is
lost). A chart whose view changes (a new size, an edit, smoothing, zoom, a sampled chart made
whole) is reduced and drawn at once: only new points of the same view wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from runview.tui.widgets.chart import Chart, ChartData, ChartSeries

DRAW_EVERY_S = 1.0
# While data keeps coming (four updates a second), a waiting drawing goes out with the update after
# it is due, in the frame that update paints anyway; the timer is for data that stopped coming.
FALLBACK_S = 0.3


def same_view(old: ChartData, new: ChartData) -> bool:
    """Whether ``new`` differs from ``old`` only by its points (and the axis they stretch)."""
    return (
        old.x_label == new.x_label
        and old.note == new.note
        and old.x_range == new.x_range
        and old.y_range == new.y_range
        and old.log_y == new.log_y
        and old.legend == new.legend
        and old.x_time == new.x_time
        and old.unit == new.unit
        and [_look(s) for s in old.series] == [_look(s) for s in new.series]
    )


def _look(series: ChartSeries) -> tuple[object, ...]:
    return (series.label, series.index, series.faint, series.color, series.band)


class DrawPacer:
    """Holds each chart's newest data, or only its newest values, until it may be drawn;
    ``schedule(delay, callback)`` is the app's timer (``Widget.set_timer``), ``reduce_due()``
    asks for the reduction of held charts that are due (once data stops coming: while it comes,
    the update after a chart is due reduces it)."""

    def __init__(
        self,
        schedule: Callable[[float, Callable[[], None]], object],
        reduce_due: Callable[[], None] = lambda: None,
    ) -> None:
        self.every_s = DRAW_EVERY_S
        self._schedule = schedule
        self._reduce_due = reduce_due
        self._waiting: dict[Chart, tuple[ChartData, int]] = {}
        self._held: set[Chart] = set()  # newest points not reduced yet, their values shown
        self._armed_for: float | None = None  # when the timer set last fires

    @property
    def waiting(self) -> int:
        """Charts whose newest data is not drawn yet (reduced or not)."""
        return len(self._waiting) + len(self._held)

    def due(self, chart: Chart) -> bool:
        """Whether ``chart``'s new points are to be reduced now: its data is ``every_s`` old."""
        return chart.data_at + self.every_s <= time.monotonic()

    def hold(self, chart: Chart, latest: ChartData) -> None:
        """Show the values of ``latest`` (each series' newest point, ``latest_points``) in
        ``chart``'s border now, and have its new points reduced once it is due."""
        chart.show_latest(latest)
        self._held.add(chart)
        self._arm(chart.data_at + self.every_s + FALLBACK_S)

    def release(self, charts: Iterable[Chart]) -> None:
        """``charts`` are no longer held: being reduced, or off screen (reduced when back)."""
        self._held.difference_update(charts)

    @property
    def held(self) -> frozenset[Chart]:
        return frozenset(self._held)

    def latest(self, chart: Chart) -> ChartData | None:
        """The newest data given to ``chart``, drawn or still waiting."""
        waiting = self._waiting.get(chart)
        return waiting[0] if waiting is not None else chart.data

    def deliver(self, chart: Chart, data: ChartData, seq: int, paced: bool = True) -> None:
        """Show ``data`` on ``chart`` now, or its latest values now and its drawing once the
        chart's last drawing is ``every_s`` old."""
        self._held.discard(chart)
        due = chart.drawn_at + self.every_s
        if not paced or chart.data is None or not same_view(chart.data, data):
            due = 0.0
        if due <= time.monotonic():
            self._waiting.pop(chart, None)
            chart.set_data(data, seq)
            return
        chart.show_latest(data)
        self._waiting[chart] = (data, seq)
        self._arm(due + FALLBACK_S)

    def _arm(self, when: float) -> None:
        if self._armed_for is None or when < self._armed_for:
            self._armed_for = when
            self._schedule(max(0.0, when - time.monotonic()), self._draw_due)

    def _draw_due(self) -> None:
        self._armed_for = None
        now = time.monotonic()
        for chart, (data, seq) in list(self._waiting.items()):
            if chart.drawn_at + self.every_s <= now or not chart.is_mounted:
                del self._waiting[chart]
                if chart.is_mounted:
                    chart.set_data(data, seq)
        self._held = {chart for chart in self._held if chart.is_mounted}
        if any(chart.data_at + self.every_s <= now for chart in self._held):
            self._reduce_due()  # releases the charts it reduces
        later = [chart.drawn_at + self.every_s for chart in self._waiting]
        # Held charts not due yet; one due but still held (off screen) arms no timer.
        later += [at for c in self._held if (at := c.data_at + self.every_s) > now]
        if later:
            self._arm(min(later) + FALLBACK_S)
