"""One chart: reduced series drawn on the UI thread (``draw_chart``), kept until data or size move,
painted again only where the drawing changed."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.events import Resize
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget

from runview.tui.textual_private import (
    drawn_elsewhere,
    drawn_row,
    only_rows_dirty,
    repaint_quietly,
    set_border_subtitle_quietly,
)
from runview.tui.widgets.chart_border import BorderRow, SideBorders
from runview.tui.widgets.chart_diff import changed_spans, same_drawing
from runview.tui.widgets.chart_plan import (  # noqa: F401 - re-exported: the chart's vocabulary
    BAND_MARKER,
    CURSOR,
    FAINT,
    FAINT_MARKER,
    MARKERS,
    NAMED_COLORS,
    PALETTE,
    finite_runs,
    format_time,
    plan_chart,
)
from runview.tui.widgets.chart_plotext import plotext_draw
from runview.tui.widgets.chart_raster import Raster, color_style, raster_draw
from runview.tui.widgets.chart_values import latest_values


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
    """A focusable chart, drawn on the UI thread when its data or size change, and then only
    the rows and cells that changed are painted again."""

    ALLOW_SELECT = False  # a drawing: its characters are not text to copy

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
        self._drawn: Raster | Text = Text("")
        self._strips: dict[int, Strip] = {}  # rows of ``_drawn`` painted so far
        self._styles: dict[int, Style] = {}  # a cell colour's style, over the widget's own
        self._styles_for: object = None  # the widget style ``_styles`` were made for
        self.builds = 0  # drawings made so far (tests and benchmarks read it)
        self.spliced = 0  # border rows of new latest values spliced, not drawn by Textual
        # (row, column, width) of the cells the last new data repainted; None: all of them
        self.repainted: list[tuple[int, int, int]] | None = None
        self.cursor: float | None = None  # x of a cursor line (a maximised chart's)
        self._subtitle: Text | None = None  # the latest values shown in the bottom border
        self._subtitle_handed = True  # whether Textual's border_subtitle shows them yet
        self._border_row = BorderRow()  # that row as Textual drew it last, to splice new values in
        self._sides = SideBorders()  # the border either side of the drawing's rows, likewise
        # Rows this chart marked to repaint (new values, new points) and not painted yet: rows
        # it splices itself. A frame may ask for a row of new points while the border row of
        # new values waits for the next crop; neither then needs Textual to draw it.
        self._own_rows: set[int] = set()
        self.drawn_at = -math.inf  # when new data last changed the drawing (``chart_pace``)
        self._when_drawn: list[Callable[[Chart], None]] = []  # told once the data is drawn
        self.data_at = -math.inf  # when new data last reached it, drawn or not (``chart_pace``)

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
        self.data_at = time.monotonic()
        # The latest values change with every step, even when the drawing does not.
        self._show_latest(latest_values(data, series_style))
        if same_drawing(self.data, data):
            self.data = data  # the same points and options: nothing to draw
            return
        self.data = data
        self._version += 1
        self.drawn_at = time.monotonic()
        self._repaint()

    def when_drawn(self, callback: Callable[[Chart], None]) -> None:
        """Call ``callback(self)`` once its current data is drawn (now, if it is): when the chart
        is rendered, or at once where new data repaints an earlier drawing of the same size."""
        if self._cache_key is not None and self._cache_key[0] == self._version:
            callback(self)
        else:
            self._when_drawn.append(callback)

    def show_latest(self, data: ChartData) -> None:
        """The latest values of ``data`` in the border, ahead of its drawing (``chart_pace``)."""
        self._show_latest(latest_values(data, series_style))

    def _show_latest(self, subtitle: Text | None) -> None:
        """The latest values in the bottom border, repainting that row alone."""
        if subtitle == self._subtitle:
            return
        old, self._subtitle = self._subtitle, subtitle
        # Handed to Textual only when Textual draws the row (``render_lines``): most new values
        # are spliced into the row it drew last, and its setter converts the Text to Content.
        self._subtitle_handed = False
        # Right-aligned in the border: the cells from the longer one's start to the corner.
        longest = max(old.cell_len if old else 0, subtitle.cell_len if subtitle else 0)
        # From the widget's own size, not ``content_size`` (that asks the compositor).
        width, height = self.outer_size - self.styles.gutter.totals
        start = max(-1, width - longest - 4)
        repaint_quietly(self, Region(start, height, width + 1 - start, 1))
        self._own_rows.add(height + self.styles.gutter.top)

    def _hand_subtitle(self) -> None:
        """Give Textual the latest values, for a row it draws or for someone reading them."""
        if not self._subtitle_handed:
            self._subtitle_handed = True
            # Setting border_subtitle repaints the whole widget (and, over a slow link, resends
            # it): set without that refresh; ``_show_latest`` marked the border row.
            set_border_subtitle_quietly(self, self._subtitle)

    @property  # type: ignore[override]
    def border_subtitle(self) -> str | None:
        """Textual's border subtitle: the latest values, as console markup."""
        self._hand_subtitle()
        return _BORDER_SUBTITLE.__get__(self, type(self))

    @border_subtitle.setter
    def border_subtitle(self, subtitle: Text | str | None) -> None:
        self._subtitle_handed = True  # set by hand: Textual's own, shown as set
        _BORDER_SUBTITLE.__set__(self, subtitle)

    def _repaint(self) -> None:
        """Repaint only the cells the new data changes: over a slow link, that is what is sent.

        The drawing is made now, not on the next paint, so it can be compared with the one on
        screen, cell by cell. On a stable axis (``chart_axes``) a live run's new point changes
        only the last columns of a few rows, or nothing (more points on the same pixels); the
        app's partial updates then send only those cells (``send_changed_cells_only``).
        """
        old, old_key = self._drawn, self._cache_key
        width, height = self.content_size
        self.repainted = None
        if not isinstance(old, Raster) or old_key is None or old_key[1:3] != (width, height):
            self.refresh()
            return
        new = self._drawing()
        if not isinstance(new, Raster) or new.size != old.size:
            self.refresh()
            return
        spans = self.repainted = changed_spans(old, new)
        if spans:
            repaint_quietly(self, *(Region(x, y, span, 1) for y, x, span in spans))
            top = self.styles.gutter.top
            self._own_rows.update(y + top for y, _x, _span in spans)

    def on_resize(self, event: Resize) -> None:
        self.post_message(self.Resized())

    def _drawing(self) -> Raster | Text:
        """The drawing for the data, size and options now: made when one of them moved."""
        width, height = self.content_size
        log_y = self.data is not None and self.data.log_y
        key = (self._version, width, height, log_y, no_color())
        if key != self._cache_key:
            self._cache_key = key
            self._drawn = draw_chart(self.data, width, height, log_y, key[-1], self.cursor)
            self._strips = {}
            self.builds += 1
            if self._when_drawn:
                told, self._when_drawn = self._when_drawn, []
                for callback in told:
                    callback(self)
        return self._drawn

    def render(self) -> Text:
        drawn = self._drawing()
        return drawn.to_text() if isinstance(drawn, Raster) else drawn

    def render_lines(self, crop: Region) -> list[Strip]:
        width, height = self.outer_size
        gutter = self.styles.gutter
        # Once a frame, not once a row; and not for a frame that repaints the borders alone (the
        # latest values, at every update): finding the content's size asks the compositor.
        if crop.y < height - gutter.bottom and crop.bottom > gutter.top:
            self._drawing()
        if self.visual_style is not self._styles_for:  # a new theme, or focus: new styles
            self._styles, self._styles_for, self._strips = {}, self.visual_style, {}
        context = (self.outer_size, self.visual_style)
        filters = tuple(self.app.get_line_filters())
        own = self._own_rows
        own.difference_update(crop.line_range)  # painted now, one way or the other
        if crop.y >= gutter.top and only_rows_dirty(self, crop.y, crop.bottom, own):
            # New latest values (four times a second) or new points (once a second), nothing
            # else about the widget moved: its rows are spliced from the border Textual drew last
            # and the drawing's own rows, not drawn by Textual from the whole style context.
            rows = self._spliced_rows(crop, context, filters)
            if rows is not None:
                drawn_elsewhere(self, crop.y, crop.bottom)
                self.spliced += 1
                if crop.width != width:
                    rows = [row.crop(crop.x, crop.right) for row in rows]
                return rows
        self._hand_subtitle()
        strips = super().render_lines(crop)
        if crop.x == 0 and crop.width == width:
            self._learn(crop, strips, context, filters)
        return strips

    def _spliced_rows(
        self, crop: Region, context: object, filters: tuple[object, ...]
    ) -> list[Strip] | None:
        bottom, top = self.outer_size.height - 1, self.styles.gutter.top
        rows: list[Strip] = []
        for y in crop.line_range:
            if y == bottom:
                if self._subtitle is None:
                    return None
                row = self._border_row.draw(self._subtitle, context)
            elif y > bottom or not isinstance(self._drawn, Raster):
                return None
            else:
                row = self._sides.row(self.render_line(y - top), context, filters)
            if row is None:
                return None
            rows.append(row)
        return rows

    def _learn(
        self, crop: Region, strips: list[Strip], context: object, filters: tuple[object, ...]
    ) -> None:
        """Learn the border from rows Textual drew (``chart_border``)."""
        bottom, top = self.outer_size.height - 1, self.styles.gutter.top
        if crop.y <= bottom < crop.bottom:
            self._border_row.learn(strips[bottom - crop.y], self._subtitle, context)
        first = max(crop.y, top)
        drawn = drawn_row(self, first) if first < min(crop.bottom, bottom) else None
        if drawn is not None and isinstance(self._drawn, Raster):
            background = self.background_colors[1]
            self._sides.learn(drawn, self.render_line(first - top), context, filters, background)

    def render_line(self, y: int) -> Strip:
        """A row of the drawing as segments straight from its cells (a note or plotext's
        drawing goes through ``render``)."""
        drawn = self._drawn if self._cache_key is not None else self._drawing()
        if not isinstance(drawn, Raster):
            return super().render_line(y)
        strip = self._strips.get(y)
        if strip is None:
            width, height = drawn.size
            if 0 <= y < height:
                segments = [Segment(text, self._style(code)) for text, code in drawn.runs(y)]
                strip = self._strips[y] = Strip(segments, width)
            else:
                strip = Strip.blank(width, self.visual_style.rich_style)
        return strip

    def _style(self, code: int) -> Style:
        """The style of a cell of colour ``code`` (or none): what Textual makes of such a cell
        of Text in this widget (it turns 256-colour codes into RGB, keeps the 16 ANSI ones),
        found once per colour by painting one."""
        base = self.visual_style
        if base is not self._styles_for:
            self._styles, self._styles_for, self._strips = {}, base, {}
        style = self._styles.get(code)
        if style is None:
            cell = Text(" ")
            cell.stylize(color_style(code) or "", 0, 1)
            strip = Visual.to_strips(self, visualize(self, cell), 1, 1, base)[0]
            painted = next((segment.style for segment in strip if segment.text), None)
            style = self._styles[code] = (painted or base.rich_style).clear_meta_and_links()
        return style


# Textual's descriptor behind ``Widget.border_subtitle``, which ``Chart`` wraps.
_BORDER_SUBTITLE = Widget.__dict__["border_subtitle"]


def draw_chart(
    data: ChartData | None,
    width: int,
    height: int,
    log_y: bool = False,
    colorless: bool = False,
    cursor: float | None = None,
) -> Raster | Text:
    """``data`` drawn at ``width`` x ``height`` cells with a vertical line at x = ``cursor``:
    by the rasteriser, or by plotext where the rasteriser cannot (the same picture either way);
    or a Text saying why there is nothing to draw."""
    plan = plan_chart(data, width, height, log_y, colorless, cursor)
    if isinstance(plan, Text):
        return plan
    raster = raster_draw(plan)
    if raster is not None:
        return raster
    drawn = plotext_draw(plan)
    return drawn if isinstance(drawn, Text) else Text.from_ansi(drawn, no_wrap=True)


def build_chart(data: ChartData | None, width: int, height: int, *options: Any) -> Text:
    """``draw_chart`` as rich Text (its options: log_y, colorless, cursor)."""
    drawn = draw_chart(data, width, height, *options)
    return drawn.to_text() if isinstance(drawn, Raster) else drawn


def plot_chart(
    data: ChartData | None,
    width: int,
    height: int,
    log_y: bool = False,
    colorless: bool = False,
    cursor: float | None = None,
) -> str | Text:
    """plotext's drawing of ``data`` (text with ANSI styles), the reference ``draw_chart``
    matches; or a Text saying why there is none. Uses plotext's global figure: UI thread only."""
    plan = plan_chart(data, width, height, log_y, colorless, cursor)
    return plan if isinstance(plan, Text) else plotext_draw(plan)


def series_style(series: ChartSeries) -> Style:
    """The colour a series is drawn in, for text that names it (its latest value, a readout)."""
    color = series.color if series.color != "" else PALETTE[series.index % len(PALETTE)]
    code = color if isinstance(color, int) else NAMED_COLORS.get(color)
    return Style(color=Color.from_ansi(code)) if code is not None else Style()
