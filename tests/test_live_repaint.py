"""A live chart on a stable axis: a new point changes only the chart's last columns, and only those
cells are sent to the terminal (what a slow SSH link carries)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
from rich.text import Text
from textual import messages
from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.geometry import Region
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from runview.store.downsample import reduce_minmax
from runview.tui.textual_private import (
    next_update,
    only_row_dirty,
    screen_strips,
    send_changed_cells_only,
)
from runview.tui.widgets.chart import Chart, ChartData, ChartSeries, build_chart
from runview.tui.widgets.chart_axes import round_up, stable_x, stable_y
from runview.tui.widgets.chart_diff import changed_spans
from runview.tui.widgets.chart_pace import DrawPacer, same_view
from runview.tui.widgets.chart_raster import NONE, Raster

from .pilot import wait_for

MOVE_TO = re.compile(r"\x1b\[(\d+);(\d+)H")


def test_the_x_axis_ends_on_a_round_number_and_extends_rarely() -> None:
    ends = {stable_x(0.0, float(hi))[1] for hi in range(1000, 10_001)}
    # 1000 to 10000 steps: ten extensions, each about a quarter, never short of the data
    assert sorted(ends) == [1000, 1200, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000]
    assert all(stable_x(0.0, hi)[1] >= hi for hi in (0.3, 7.0, 123.0, 99_999.0))
    assert round_up(0.0123) == 0.015
    start, end = stable_x(1.7e9, 1.7e9 + 130)  # wall time: the span is rounded, not the time
    assert start == 1.7e9 and end == 1.7e9 + 150


def test_the_y_axis_is_rounded_out_to_its_ticks_and_keeps_still_for_values_inside() -> None:
    assert stable_y(0.13, 0.97, 4) == (0.0, 1.0)
    assert stable_y(4901.0, 5099.0, 4) == (4900.0, 5100.0)
    # a value inside the limits does not move them
    assert stable_y(0.13, 0.95, 4) == stable_y(0.13, 0.97, 4)


def test_a_new_point_on_a_fixed_span_changes_only_the_last_bucket() -> None:
    rng = np.random.default_rng(0)
    x, y = np.arange(1000.0), rng.normal(size=1000)
    span = stable_x(0.0, 1000.0)
    before = reduce_minmax(x, y, 60, span=span)
    after = reduce_minmax(np.append(x, 1000.0), np.append(y, 5.0), 60, span=span)
    bucket = (span[1] - span[0]) / 60
    last_start = span[0] + bucket * np.floor(999 / bucket)
    old = before[0] < last_start
    assert old.sum() > 50
    assert np.array_equal(before[0][old], after[0][after[0] < last_start])
    assert np.array_equal(before[1][old], after[1][after[0] < last_start])
    assert after[1][-1] == 5.0  # the spike is kept


def chart_data(steps: int, noise: float = 0.05) -> ChartData:
    """What the board hands a chart: reduced on the stable axis, with the axis as its range."""
    x = np.arange(float(steps))
    y = 2.0 * np.exp(-x / 400) + noise * np.sin(x)
    axis = stable_x(0.0, x[-1])
    rx, ry = reduce_minmax(x, y, 76, span=axis)
    return ChartData((ChartSeries("loss", rx, ry),), x_label="step", x_span=axis)


class OneChart(App[None]):
    def __init__(self) -> None:
        super().__init__()
        send_changed_cells_only()  # as RunviewApp does

    def compose(self) -> ComposeResult:
        yield Static("header")
        yield Chart("train/loss")


async def test_new_points_repaint_and_send_only_the_last_columns() -> None:
    app = OneChart()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(Chart)
        chart.styles.height = 20
        await pilot.pause()
        chart.set_data(chart_data(900))
        await wait_for(pilot, lambda: chart.builds >= 1 and chart.content_size.width > 0)
        await pilot.pause()
        width = chart.content_size.width

        # ten steps: a cell of this chart is about seven steps wide, so the line moves on a cell
        chart.set_data(chart_data(910))
        spans = chart.repainted
        assert spans, "new points repaint something"
        assert all(column >= 0.8 * width for _row, column, _width in spans), spans
        assert len(spans) <= 6, spans  # a few rows, not the whole chart
        sent = next_update(app.screen, chart)
        moves = [(int(row), int(column)) for row, column in MOVE_TO.findall(sent)]
        left = chart.content_region.x
        assert moves and all(column - 1 >= left + 0.8 * width for _row, column in moves), repr(sent)
        assert len(sent.encode()) < 600, len(sent.encode())

        await pilot.pause()
        # what is on screen is the whole new drawing: nothing of the old one is left behind
        shown = [
            "".join(segment.text for segment in chart.render_line(y))
            for y in range(chart.content_size.height)
        ]
        fresh = build_chart(chart.data, width, chart.content_size.height).plain.split("\n")
        assert shown[: len(fresh)] == [line.ljust(width) for line in fresh][: len(shown)]


async def test_data_that_draws_the_same_picture_repaints_nothing() -> None:
    app = OneChart()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(Chart)
        chart.set_data(chart_data(500))
        await wait_for(pilot, lambda: chart.builds >= 1)
        await pilot.pause()
        next_update(app.screen, chart)  # whatever else was pending (the focus)
        builds = chart.builds
        again = chart_data(500)
        chart.set_data(again)
        assert chart.data is again and chart.builds == builds
        assert next_update(app.screen, chart) == ""


def test_changed_spans_cover_exactly_the_cells_that_differ() -> None:
    chars = np.array([list("abcdef"), list("same!!"), list("xyzxyz")], dtype="<U1")
    colors = np.full(chars.shape, NONE, dtype=np.int16)
    old = Raster(chars, colors)
    new_chars, new_colors = chars.copy(), colors.copy()
    new_chars[0, 3] = "X"
    new_colors[2, 1] = 12
    new_chars[2, 4] = "Q"
    # a colour change counts as a change; equal rows are skipped; a span runs first to last
    assert changed_spans(old, Raster(new_chars, new_colors)) == [(0, 3, 1), (2, 1, 4)]
    assert changed_spans(old, Raster(chars.copy(), colors.copy())) == []


async def test_new_steps_that_draw_the_same_picture_repaint_nothing() -> None:
    app = OneChart()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(Chart)
        chart.set_data(chart_data(12_000, noise=0.0))
        await wait_for(pilot, lambda: chart.builds >= 1 and chart.content_size.width > 0)
        await pilot.pause()
        size = tuple(chart.content_size)
        unchanged = 0
        for steps in range(12_001, 12_041):
            before = build_chart(chart.data, *size).plain
            chart.set_data(chart_data(steps, noise=0.0))
            after = build_chart(chart.data, *size).plain
            # nothing repainted exactly when nothing moved
            assert (chart.repainted == []) == (before == after), steps
            unchanged += chart.repainted == []
        assert unchanged > 30, "a new step on a long smooth series usually moves no pixel"


class PacedCharts(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.pacer = DrawPacer(self.set_timer)

    def compose(self) -> ComposeResult:
        yield Chart("train/loss")


def border_text(chart: Chart) -> str:
    return str(chart.border_subtitle or "")


async def test_new_points_are_drawn_once_a_second_and_the_latest_value_at_once() -> None:
    app = PacedCharts()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(Chart)
        first = chart_data(900)
        app.pacer.deliver(chart, first, 1)  # nothing drawn yet: at once
        await wait_for(pilot, lambda: chart.builds >= 1)
        app.pacer.every_s = 60.0  # as if the chart had just been drawn and stays due later
        newer = chart_data(950)
        app.pacer.deliver(chart, newer, 2)
        assert chart.data is first  # the drawing waits ...
        latest = f"{newer.series[0].y[-1]:.4g}"
        assert latest in border_text(chart), border_text(chart)  # ... its latest value does not
        zoomed = replace(chart_data(960), x_range=(100.0, 500.0))
        app.pacer.deliver(chart, zoomed, 3)  # another view (a zoom): drawn at once
        assert chart.data is zoomed
        app.pacer.every_s = 0.2
        later = replace(chart_data(980), x_range=(100.0, 500.0))
        app.pacer.deliver(chart, later, 4)  # just drawn: waits its 0.2 s ...
        assert chart.data is zoomed
        await wait_for(pilot, lambda: chart.data is later)  # ... then drawn without new data


def test_only_new_points_keep_a_view_the_same() -> None:
    base = chart_data(900)
    assert same_view(base, chart_data(1500))  # more points, a longer axis
    assert not same_view(base, replace(base, y_range=(0.0, 1.0)))
    assert not same_view(base, replace(base, log_y=True))
    faint = replace(base.series[0], faint=True)
    assert not same_view(base, replace(base, series=(faint, base.series[0])))


class CountingChart(Chart):
    """A chart that counts how often it looks its drawing up."""

    lookups = 0

    def _drawing(self):  # type: ignore[no-untyped-def]
        self.lookups += 1
        return super()._drawing()


class OneCountingChart(OneChart):
    def compose(self) -> ComposeResult:
        yield Static("header")
        yield CountingChart("train/loss")


async def test_new_latest_values_repaint_the_border_row_without_a_message_per_chart() -> None:
    posted: list[Message] = []
    app = OneCountingChart()
    async with app.run_test(size=(80, 24), message_hook=posted.append) as pilot:
        chart = app.query_one(CountingChart)
        chart.set_data(chart_data(500))
        await wait_for(pilot, lambda: chart.builds >= 1 and chart.content_size.width > 0)
        await pilot.pause()
        bottom = chart.region.bottom - 1
        before = screen_strips(app.screen)[bottom].text
        posted.clear()
        lookups = chart.lookups
        newer = chart_data(600)
        latest = f"{newer.series[0].y[-1]:.4g}"
        assert latest not in before
        by_the_test = 0  # reading the whole screen here looks the drawing up itself

        def painted() -> bool:
            nonlocal by_the_test
            looked = chart.lookups
            shown = latest in screen_strips(app.screen)[bottom].text
            by_the_test += chart.lookups - looked
            return shown

        chart.show_latest(newer)
        await wait_for(pilot, painted)
        await pilot.pause()  # the messages it set off, if any, are handled
        # Four times a second on every chart on screen: marked dirty for the screen's next
        # frame directly, not by a Prompt to the chart that then posts Update to the screen.
        assert not [m for m in posted if isinstance(m, messages.Update) and m.widget is chart]
        # and the frame that paints the border alone does not look the drawing up
        assert chart.lookups - by_the_test == lookups


class FourCharts(App[None]):
    CSS = "Grid { grid-size: 2; }"

    def __init__(self) -> None:
        super().__init__()
        send_changed_cells_only()

    def compose(self) -> ComposeResult:
        with Grid():
            for index in range(4):
                yield Chart(f"chart {index}")


def several(step: int, count: int, unit: str = "") -> ChartData:
    x = np.arange(100.0)
    series = tuple(
        ChartSeries(f"s{k}", x, np.sin(x + step) * (step + 1) + k, index=k) for k in range(count)
    )
    return ChartData(series, x_label="step", unit=unit)


def rows_below_top(chart: Chart) -> Region:
    """The drawing's rows and the bottom border: what new points and latest values repaint."""
    width, height = chart.outer_size
    return Region(0, 1, width, height - 1)


def bottom_row(chart: Chart, rows: Region | None = None) -> list[list[tuple[str, object]]]:
    """The chart's bottom border row (or ``rows``) as the next frame paints it (the chart's own
    path)."""
    width, height = chart.outer_size
    strips = chart.render_lines(rows or Region(0, height - 1, width, 1))
    return [[(char, style) for text, style, _ in strip for char in text] for strip in strips]


def textual_bottom_row(chart: Chart, rows: Region | None = None) -> list[list[tuple[str, object]]]:
    """The same rows drawn by Textual from the widget's styles and border subtitle."""
    width, height = chart.outer_size
    assert chart.border_subtitle is not None  # the latest values, handed to Textual
    chart.refresh()  # all of it drawn again, nothing kept
    strips = Widget.render_lines(chart, rows or Region(0, height - 1, width, 1))
    return [[(char, style) for text, style, _ in strip for char in text] for strip in strips]


async def test_new_latest_values_are_spliced_into_the_border_row_as_textual_draws_it() -> None:
    app = FourCharts()
    async with app.run_test(size=(100, 40)) as pilot:
        charts = list(app.query(Chart))
        counts = (1, 2, 3, 6)  # one value, a few with names (one with a unit), a range
        for chart, count in zip(charts, counts):
            chart.set_data(several(0, count, unit="%" if count == 2 else ""))
        await wait_for(pilot, lambda: all(chart.builds for chart in charts))
        await pilot.pause()
        for step in range(1, 12):
            if step == 6:
                charts[1].focus()  # another border style: Textual draws it, then it is learnt
                await pilot.pause()
            for chart, count in zip(charts, counts):
                chart.show_latest(several(step, count, unit="%" if count == 2 else ""))
                spliced = chart.spliced
                row = bottom_row(chart)
                assert chart.spliced == spliced + 1, (step, chart.title)  # not drawn by Textual
                assert row == textual_bottom_row(chart), (step, chart.title)
            # (drawn whole by Textual for that comparison: painted, and learnt again)
            await wait_for(pilot, lambda: all(only_row_dirty(chart, -1) for chart in charts))
            # New points: the drawing's rows too, between the sides Textual drew last
            for chart, count in zip(charts, counts):
                chart.set_data(several(step, count, unit="%" if count == 2 else ""))
                spliced = chart.spliced
                rows = bottom_row(chart, rows_below_top(chart))
                assert chart.spliced == spliced + 1, (step, chart.title)
                assert rows == textual_bottom_row(chart, rows_below_top(chart)), chart.title
            await wait_for(pilot, lambda: all(only_row_dirty(chart, -1) for chart in charts))
        # What the kept row cannot tell is left to Textual: a style it has not seen ...
        chart = charts[0]
        values = Text("last ", style="dim")
        values.append("0.5", style="italic red")
        chart._show_latest(values)
        spliced = chart.spliced
        assert bottom_row(chart) == textual_bottom_row(chart)
        assert chart.spliced == spliced
        # ... values too long for the border (Textual cuts them short with an ellipsis)
        chart._show_latest(Text("last " + "9" * 200, style="dim"))
        assert bottom_row(chart) == textual_bottom_row(chart)
        assert chart.spliced == spliced


async def test_new_points_and_new_values_asked_for_row_by_row_are_each_spliced() -> None:
    # A frame with new points and new values asks for each changed row in a crop of its own
    # (``textual_private``'s partial updates); the rows still waiting for their crop are the
    # chart's own to splice, so none of them needs Textual to draw it.
    app = FourCharts()
    async with app.run_test(size=(100, 40)) as pilot:
        charts = list(app.query(Chart))
        for chart in charts:
            chart.set_data(several(0, 2))
        await wait_for(pilot, lambda: all(chart.builds for chart in charts))
        await wait_for(pilot, lambda: all(only_row_dirty(chart, -1) for chart in charts))
        chart = charts[0]
        width, height = chart.outer_size
        for step in range(1, 6):
            chart.set_data(several(step, 2))
            assert chart.repainted, "new points repaint some rows"
            rows = sorted({row + 1 for row, _column, _width in chart.repainted} | {height - 1})
            got = []
            for y in rows:
                spliced = chart.spliced
                got.append(bottom_row(chart, Region(0, y, width, 1))[0])
                assert chart.spliced == spliced + 1, (step, y)  # not drawn by Textual
            want = [textual_bottom_row(chart, Region(0, y, width, 1))[0] for y in rows]
            assert got == want, step
            await wait_for(pilot, lambda: only_row_dirty(chart, -1))
