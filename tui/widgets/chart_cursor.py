"""The maximised chart: a keyboard cursor along x that reads out every series there, and zooming
and panning of the x range.

The cursor stops at the points the chart draws (after reduction: each bucket's lowest and highest
value, so a cursor never lands on a value that was not logged). A zoom is an x range the board
reduces the series to again (``ChartBoard.request_reduction``), so a zoomed chart shows every point
the range holds, up to the chart's width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rich.text import Text
from textual.binding import BindingType
from textual.message import Message

from runview.tui.key_help import key_group
from runview.tui.widgets.chart import Chart, ChartData, series_style
from runview.tui.widgets.chart_values import lines, values_at

JUMP = 10  # points a shift+arrow moves the cursor
PAGE = 0.1  # share of the points a page key moves it
ZOOM = 2.0  # each zoom key halves (doubles) the x range
PAN = 0.25  # share of the x range a pan key moves it
MIN_POINTS = 4  # no zooming in further than a view of this many points
HINT = "←→ cursor · shift/pgup/pgdn jump · + - zoom · [ ] pan · 0 reset · esc back"

Range = tuple[float, float]


def cursor_points(data: ChartData | None) -> np.ndarray:
    """The x values a cursor can stop at: every drawn point of every line, sorted, once each."""
    if data is None:
        return np.empty(0)
    xs = [line.x[np.isfinite(line.y)] for line, _raw in lines(data)]
    return np.unique(np.concatenate(xs)) if xs else np.empty(0)


def nearest(points: np.ndarray, x: float) -> int:
    """The index of the point of sorted ``points`` closest to ``x``."""
    i = int(np.clip(np.searchsorted(points, x), 0, points.size - 1))
    return i - 1 if i and abs(points[i - 1] - x) <= abs(points[i] - x) else i


def x_extent(data: ChartData | None) -> Range | None:
    points = cursor_points(data)
    return (float(points[0]), float(points[-1])) if points.size else None


def clamp(view: Range, extent: Range) -> Range:
    """``view`` moved (never shrunk) to lie inside ``extent`` where it fits."""
    lo, hi = view
    span = hi - lo
    if lo < extent[0]:
        lo, hi = extent[0], extent[0] + span
    if hi > extent[1]:
        lo, hi = max(extent[0], extent[1] - span), extent[1]
    return lo, hi


def zoomed(view: Range, extent: Range, centre: float, factor: float) -> Range | None:
    """``view`` scaled by ``factor`` around ``centre`` (which stays where it is on screen), kept
    inside ``extent``; None once it covers the whole extent (zoomed out all the way)."""
    lo, hi = view
    span = (hi - lo) * factor
    if span >= extent[1] - extent[0] or not span > 0:
        return None
    share = (centre - lo) / (hi - lo) if hi > lo else 0.5
    start = centre - share * span
    return clamp((start, start + span), extent)


def panned(view: Range, extent: Range, direction: int) -> Range:
    lo, hi = view
    shift = (hi - lo) * PAN * direction
    return clamp((lo + shift, hi + shift), extent)


HELD_KEYS = 64  # keys held for a chart still waiting for its data (more are dropped)


class CursorChart(Chart):
    """A chart that fills the board: arrows move a cursor along x, + and - zoom, [ and ] pan."""

    HELP_TITLE = "On a maximised chart"
    BINDINGS: ClassVar[list[BindingType]] = [
        *key_group(
            "Cursor along x: a point left / right",
            ("left,h", "cursor(-1)", "Cursor left"),
            ("right,l", "cursor(1)", "Cursor right"),
        ),
        *key_group(
            f"Cursor {JUMP} points left / right",
            ("shift+left,H", f"cursor(-{JUMP})", "Jump left"),
            ("shift+right,L", f"cursor({JUMP})", "Jump right"),
        ),
        *key_group(
            "Cursor a tenth of the points left / right",
            ("pageup", "page(-1)", "Page left"),
            ("pagedown", "page(1)", "Page right"),
        ),
        *key_group(
            "Cursor to the first / last point",
            ("home", "cursor_end(-1)", "First"),
            ("end", "cursor_end(1)", "Last"),
        ),
        *key_group(
            "Zoom the x range in / out (around the cursor)",
            ("plus,equals_sign", "zoom(1)", "Zoom in"),
            ("minus", "zoom(-1)", "Zoom out"),
        ),
        *key_group(
            "Pan the x range left / right",
            ("left_square_bracket", "pan(-1)", "Pan left"),
            ("right_square_bracket", "pan(1)", "Pan right"),
        ),
        *key_group("Reset the zoom (the whole x range)", ("0", "reset_zoom", "Reset zoom")),
    ]

    @dataclass
    class Changed(Message):
        """The cursor moved or the data under it changed: ``readout`` is what to show."""

        readout: Text

    @dataclass
    class Zoomed(Message):
        """The x range changed: the board reduces the series again for it."""

        zoom: Range | None

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.zoom: Range | None = None  # the x range shown; None: all of it
        self.extent: Range | None = None  # every x the series cover, as far as known
        # Cursor and zoom keys pressed before the chart has its own points are held and replayed
        # once they arrive, as if typed slowly: Enter then an arrow, typed together, would move
        # the cursor among the small chart's few points, shown until the maximised chart's
        # reduction (at its own width) arrives a moment later.
        self._held: list[tuple[str, int]] = []
        self._provisional = False  # the data shown is another chart's, until the next set_data

    def reset(self) -> None:
        """A new chart is maximised: no cursor, no zoom."""
        self.zoom = self.extent = None
        self._held = []
        self._provisional = False
        self._set_cursor(None)

    @property
    def provisional(self) -> bool:
        """Whether the data shown is another chart's, this chart's own still to come."""
        return self._provisional

    def show_provisionally(self, data: ChartData | None) -> None:
        """Show another chart's data until this chart's own arrives; keys wait for that."""
        self.set_data(data, self.applied_seq)
        self._provisional = True

    def set_data(self, data: ChartData | None, seq: int = 0) -> None:
        super().set_data(data, seq)
        if self.data is not data:
            return
        self._provisional = False
        extent = x_extent(data)
        if extent is not None:
            if self.zoom is None or self.extent is None:
                self.extent = extent
            else:
                self.extent = (min(self.extent[0], extent[0]), max(self.extent[1], extent[1]))
        if self.cursor is not None and self.zoom is not None:
            lo, hi = self.zoom
            if not lo <= self.cursor <= hi:
                self._snap(min(max(self.cursor, lo), hi))
        self._report()
        held, self._held = self._held, []
        for action, argument in held:
            getattr(self, f"action_{action}")(argument)

    def _hold(self, action: str, argument: int) -> bool:
        """Hold a key's action until the chart has its own data; True when held."""
        if not self._provisional and self.data is not None:
            return False
        if len(self._held) < HELD_KEYS:
            self._held.append((action, argument))
        return True

    # -- the cursor -------------------------------------------------------------------------------
    def _set_cursor(self, x: float | None) -> None:
        if x != self.cursor:
            self.cursor = x
            self._version += 1  # drawn by build_chart: the cached frame is stale
            self.refresh()
        self._report()

    def _snap(self, x: float) -> None:
        points = cursor_points(self.data)
        if points.size:
            self._set_cursor(float(points[nearest(points, x)]))

    def _move(self, delta: int) -> None:
        points = cursor_points(self.data)
        if not points.size:
            return
        if self.cursor is None:
            # an arrow's first press shows the cursor on the latest point; a jump starts there
            i = points.size - 1 + (delta if abs(delta) > 1 else 0)
        else:
            i = nearest(points, self.cursor) + delta
        i = min(max(i, 0), points.size - 1)
        self._set_cursor(float(points[i]))

    def action_cursor(self, delta: int) -> None:
        if not self._hold("cursor", delta):
            self._move(delta)

    def action_page(self, direction: int) -> None:
        if not self._hold("page", direction):
            self._move(direction * max(1, math.ceil(cursor_points(self.data).size * PAGE)))

    def action_cursor_end(self, direction: int) -> None:
        if not self._hold("cursor_end", direction):
            self._move(direction * (cursor_points(self.data).size or 1))

    def _report(self) -> None:
        data = self.data
        if data is None or not data.series or self.cursor is None:
            readout = Text(HINT, style="dim")
        else:
            readout = values_at(data, self.cursor, series_style)
            if self.zoom is not None:
                readout.append("  zoomed", style="dim italic")
        self.post_message(self.Changed(readout))

    # -- the x range ------------------------------------------------------------------------------
    def _view(self) -> Range | None:
        return self.zoom or self.extent

    def _set_zoom(self, zoom: Range | None) -> None:
        if zoom != self.zoom:
            self.zoom = zoom
            self.post_message(self.Zoomed(zoom))

    def action_zoom(self, direction: int) -> None:
        if self._hold("zoom", direction):
            return
        view, extent = self._view(), self.extent
        if view is None or extent is None:
            return
        if direction > 0:
            points = cursor_points(self.data)
            if np.count_nonzero((points >= view[0]) & (points <= view[1])) <= MIN_POINTS:
                return
        centre = self.cursor if self.cursor is not None else (view[0] + view[1]) / 2
        self._set_zoom(zoomed(view, extent, centre, 1 / ZOOM if direction > 0 else ZOOM))

    def action_pan(self, direction: int) -> None:
        if self.zoom is not None and self.extent is not None:
            self._set_zoom(panned(self.zoom, self.extent, direction))

    def action_reset_zoom(self) -> None:
        self._set_zoom(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Pan and reset do something only when zoomed: the footer must not offer them otherwise.
        if action in ("pan", "reset_zoom"):
            return self.zoom is not None
        return True
