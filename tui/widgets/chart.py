"""One chart: already-reduced series drawn with plotext 5 on the UI thread, cached until data or
size move."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotext as plt
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.events import Resize
from textual.geometry import Region
from textual.message import Message
from textual.widget import Widget

from runview.tui.textual_private import set_border_subtitle_quietly
from runview.tui.widgets.chart_axes import stable_y
from runview.tui.widgets.chart_diff import changed_spans, same_drawing, same_pixels
from runview.tui.widgets.chart_ticks import (
    all_integers,
    flat_limits,
    format_tick,
    format_ticks,
    is_flat,
    nice_ticks,
)
from runview.tui.widgets.chart_values import latest_values

# One colour per series (plotext names); raw series behind a smoothed one are drawn in FAINT.
PALETTE = (
    "blue+",
    "orange+",
    "green+",
    "red+",
    "magenta+",
    "cyan+",
    "yellow+",
    "blue",
    "orange",
    "green",
    "red",
    "magenta",
)
FAINT = "gray"
CURSOR = "white"
# plotext 5's named colours and their ANSI codes: the choices a user has per series.
NAMED_COLORS = {
    "blue+": 12,
    "orange+": 11,
    "green+": 10,
    "red+": 9,
    "magenta+": 13,
    "cyan+": 14,
    "white": 15,
    "gray+": 7,
    "blue": 4,
    "orange": 3,
    "green": 2,
    "red": 1,
    "magenta": 5,
    "cyan": 6,
    "gray": 8,
    "black": 0,
}
# Without colour, series differ by marker instead.
MARKERS = ("hd", "braille", "x", "+", "*", "o", "#", "@")
FAINT_MARKER = "dot"
BAND_MARKER = "braille"  # the thinnest line plotext draws: a band's edges stay behind the mean


@dataclass(frozen=True, eq=False)
class ChartSeries:
    """One line of a chart, already reduced to about twice the chart's width."""

    label: str
    x: np.ndarray
    y: np.ndarray  # NaN marks a gap
    index: int = 0  # picks the colour (or marker without colour)
    faint: bool = False  # the raw series drawn behind its smoothed version
    # a plotext colour name chosen by the user, or an xterm-256 code (a compared run's colour);
    # "" takes the palette's
    color: str | int = ""
    band: bool = False  # an edge of a min-max band around a group's mean: thin, never labelled


@dataclass(frozen=True, eq=False)
class ChartData:
    """What a chart draws. ``stamp`` says what it was computed from (source, width, smoothing)."""

    series: tuple[ChartSeries, ...] = ()
    stamp: Hashable = None
    x_label: str = ""
    note: str = ""  # shown when there is nothing to draw
    points: int = 0  # raw points behind the reduced ones
    x_range: tuple[float | None, float | None] = (None, None)  # axis limits; None: follow the data
    # the x axis drawn where x_range is None: the data's start to a round end (``chart_axes``)
    x_span: tuple[float, float] | None = None
    y_range: tuple[float | None, float | None] = (None, None)
    log_y: bool = False
    legend: bool = True  # label the series when there are two or more
    x_time: bool = False  # x is unix time: ticks read as clock times
    unit: str = ""  # what y is in ("GiB", "%"), for the values a chart reads out


def no_color() -> bool:
    """https://no-color.org: any non-empty NO_COLOR turns colour off."""
    return bool(os.environ.get("NO_COLOR"))


class Chart(Widget, can_focus=True):
    """A focusable chart. Builds plotext output only in ``render`` (UI thread, visible only),
    cached."""

    class Resized(Message):
        """The chart got a new size (first layout included): its data may need reducing again."""

    DEFAULT_CSS = """
    Chart {
        height: 14;
        border: round $panel-lighten-2;
        border-title-color: $text;
        padding: 0;
    }
    Chart:focus {
        border: heavy $accent;
        border-title-style: bold;
    }
    """

    def __init__(
        self,
        title: str = "",
        *,
        chart_id: str = "",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.chart_id = chart_id
        self.title = title
        self.border_title = Text(title)
        self.data: ChartData | None = None
        self.applied_seq = -1  # the request that produced ``data`` (older results are dropped)
        self._version = 0
        self._cache_key: tuple[object, ...] | None = None
        self._cache: Text = Text("")
        self._lines: list[str] | None = None  # the cached drawing's lines, as plotext wrote them
        self.builds = 0  # plotext builds so far (tests and benchmarks read it)
        # (row, column, width) of the cells the last new data repainted; None: all of them
        self.repainted: list[tuple[int, int, int]] | None = None
        self.cursor: float | None = None  # x of a cursor line (a maximised chart's)
        self._subtitle: Text | None = None  # the latest values shown in the bottom border

    def set_title(self, title: str) -> None:
        """Titles come from metric names and user input: set as Text, never parsed as markup."""
        if title != self.title:
            self.title = title
            self.border_title = Text(title)

    def set_data(self, data: ChartData | None, seq: int = 0) -> None:
        """Show ``data``; a result from an older request than the one shown is ignored."""
        if seq < self.applied_seq:
            return
        self.applied_seq = seq
        if data is self.data:
            return
        # The latest values change with every step, even when the drawing does not.
        self._show_latest(latest_values(data, series_style))
        if same_drawing(self.data, data) or (
            self._lines is not None
            and self._cache_key is not None
            and self._cache_key[1:3] == tuple(self.content_size)
            and same_pixels(self.data, data, *self.content_size, no_color())
        ):
            self.data = data  # more points that draw exactly the same picture: nothing to do
            return
        self.data = data
        self._version += 1
        self._repaint()

    def _show_latest(self, subtitle: Text | None) -> None:
        """The latest values in the bottom border, repainting that row alone."""
        if subtitle == self._subtitle:
            return
        old, self._subtitle = self._subtitle, subtitle
        # Setting border_subtitle repaints the whole widget (and, over a slow link, resends it):
        # set without that refresh, and only the border row is marked instead.
        set_border_subtitle_quietly(self, subtitle)
        # Right-aligned in the border: the cells from the longer one's start to the corner.
        longest = max(old.cell_len if old else 0, subtitle.cell_len if subtitle else 0)
        width, height = self.content_size
        start = max(-1, width - longest - 4)
        self.refresh(Region(start, height, width + 1 - start, 1))

    def _repaint(self) -> None:
        """Repaint only the cells the new data changes: over a slow link, that is what is sent.

        The drawing is built now, not on the next paint, so it can be compared with the one on
        screen. On a stable axis (``chart_axes``) a live run's new point changes only the last
        columns of a few rows; the app's partial updates then send only those cells
        (``send_changed_cells_only``).
        """
        old = self._lines
        width, height = self.content_size
        self.repainted = None
        if old is None or self._cache_key is None or self._cache_key[1:3] != (width, height):
            self.refresh()
            return
        self.render()
        new = self._lines
        if new is None or len(new) != len(old):
            self.refresh()
            return
        spans = self.repainted = changed_spans(old, new)
        if spans:
            self.refresh(*(Region(x, y, span, 1) for y, x, span in spans))

    def on_resize(self, event: Resize) -> None:
        self.post_message(self.Resized())

    def render(self) -> Text:
        width, height = self.content_size
        log_y = self.data is not None and self.data.log_y
        key = (self._version, width, height, log_y, no_color())
        if key != self._cache_key:
            self._cache_key = key
            drawn = plot_chart(self.data, width, height, log_y, key[-1], self.cursor)
            self._lines = None if isinstance(drawn, Text) else drawn.split("\n")
            self._cache = drawn if isinstance(drawn, Text) else Text.from_ansi(drawn, no_wrap=True)
            self.builds += 1
        return self._cache


def build_chart(data: ChartData | None, width: int, height: int, *options: Any) -> Text:
    """``plot_chart`` as rich Text (its options: log_y, colorless, cursor)."""
    drawn = plot_chart(data, width, height, *options)
    return drawn if isinstance(drawn, Text) else Text.from_ansi(drawn, no_wrap=True)


def plot_chart(
    data: ChartData | None,
    width: int,
    height: int,
    log_y: bool = False,
    colorless: bool = False,
    cursor: float | None = None,
) -> str | Text:
    """plotext's drawing of ``data`` at ``width`` x ``height`` cells (text with ANSI styles), with a
    vertical line at x = ``cursor``, or a Text saying why there is none. Uses plotext's global
    figure: UI thread only."""
    if data is None:
        return Text("…", style="dim")
    if width < 12 or height < 4:
        return Text("too small", style="dim")
    plt.clf()
    plt.theme("clear")
    plt.frame(False)  # the widget's border is the frame
    plt.plotsize(width, height)
    labelled = (
        data.legend and sum(bool(s.label) and not s.faint and not s.band for s in data.series) > 1
    )
    drawn = 0
    drawn_x: list[np.ndarray] = []
    drawn_y: list[np.ndarray] = []
    lo, hi = math.inf, -math.inf
    y_lo, y_hi = math.inf, -math.inf
    for series in data.series:
        y = np.where(series.y > 0, series.y, np.nan) if log_y else series.y
        own = series.color if series.color != "" else PALETTE[series.index % len(PALETTE)]
        if colorless:
            color, marker = (
                "default",
                FAINT_MARKER
                if series.faint or series.band
                else MARKERS[series.index % len(MARKERS)],
            )
        else:
            color = FAINT if series.faint else own
            marker = BAND_MARKER if series.band else "hd"
        label = (
            series.label
            if labelled and series.label and not series.faint and not series.band
            else None
        )
        for xs, ys in finite_runs(series.x, y):
            lo, hi = min(lo, float(xs[0])), max(hi, float(xs[-1]))
            y_lo, y_hi = min(y_lo, float(ys.min())), max(y_hi, float(ys.max()))
            plt.plot(xs.tolist(), ys.tolist(), color=color, marker=marker, label=label)
            drawn_x.append(xs)
            drawn_y.append(ys)
            label = None
            drawn += 1
    if not drawn:
        note = data.note or ("no positive values for a log scale" if log_y else "no finite values")
        return Text(note, style="dim")
    if data.x_span is not None:
        lo, hi = data.x_span
    lo, hi = (v if v is not None else auto for v, auto in zip(data.x_range, (lo, hi)))
    if hi > lo:
        plt.xlim(lo, hi)
    ticks = nice_ticks(lo, hi, max(2, width // (14 if data.x_time else 12)), all_integers(drawn_x))
    plt.xticks(
        ticks, [format_time(t, hi - lo) for t in ticks] if data.x_time else format_ticks(ticks)
    )
    y_lo, y_hi = (v if v is not None else auto for v, auto in zip(data.y_range, (y_lo, y_hi)))
    integer = all_integers(drawn_y)
    if log_y:
        plt.yscale("log")
        if y_hi > y_lo > 0 and data.y_range != (None, None):
            # plotext takes log-scale limits as exponents
            plt.ylim(math.log10(y_lo), math.log10(y_hi))
    elif data.y_range == (None, None) and is_flat(y_lo, y_hi):
        # plotext would spread float noise over the full height: the line goes mid-chart
        y_lo, y_hi = flat_limits((y_lo + y_hi) / 2, integer)
        plt.ylim(y_lo, y_hi)
        ticks = nice_ticks(y_lo, y_hi, max(2, height // 3), integer)
        plt.yticks(ticks, format_ticks(ticks))
    elif y_hi > y_lo:
        # Rounded out to the tick step where the user set no limit: a new value inside them
        # leaves every row where it was.
        round_lo, round_hi = stable_y(y_lo, y_hi, max(2, height // 3), integer)
        y_lo = y_lo if data.y_range[0] is not None else round_lo
        y_hi = y_hi if data.y_range[1] is not None else round_hi
        plt.ylim(y_lo, y_hi)
        ticks = nice_ticks(y_lo, y_hi, max(2, height // 3), integer)
        plt.yticks(ticks, format_ticks(ticks))
    if cursor is not None and lo <= cursor <= hi:
        plt.vline(cursor, "default" if colorless else CURSOR)
    if data.x_label and height >= 12:
        plt.xlabel(data.x_label)
    try:
        return plt.build()
    except Exception as exc:  # plotext has corner cases; a chart must never take the app down
        return Text(f"cannot draw this chart: {exc}", style="dim")


def series_style(series: ChartSeries) -> Style:
    """The colour a series is drawn in, for text that names it (its latest value, a readout)."""
    color = series.color if series.color != "" else PALETTE[series.index % len(PALETTE)]
    code = color if isinstance(color, int) else NAMED_COLORS.get(color)
    return Style(color=Color.from_ansi(code)) if code is not None else Style()


def finite_runs(x: np.ndarray, y: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The stretches of (x, y) between NaN values: each is drawn as one line, NaN leaves a gap."""
    ok = np.isfinite(y)
    if ok.all():
        if y.size:
            yield x, y
        return
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.view(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2]):
        yield x[start:stop], y[start:stop]


def format_time(value: float, span: float) -> str:
    """A unix time as a local clock time; seconds shown only over a short span."""
    try:
        return time.strftime(
            "%H:%M:%S" if span < 600 else "%H:%M" if span < 86400 else "%d %H:%M",
            time.localtime(value),
        )
    except (OverflowError, OSError, ValueError):
        return format_tick(value)
