"""The chart editor (`e`) on real runs: x axis, y metrics, ranges, log scale, title, legend,
colours, live."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Checkbox, Input, Select

import runview
from runview.tui.app import RunviewApp
from runview.tui.chart_edit import ChartEditScreen, MetricList, parse_range
from runview.tui.run_page import RunPage
from runview.tui.view_state import ChartEdit
from runview.tui.widgets.chart import Chart
from runview.tui.widgets.chart_board import ChartBoard
from tests.pilot import screen_text
from tests.test_charts_tab import live_charts, make_run, open_charts, wait_for


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("RUNVIEW_STATE_DIR", str(path))
    return path


def board(app: RunviewApp) -> ChartBoard:
    """The Charts board of the run page, also while the editor is open over it."""
    page = next(s for s in app.screen_stack if isinstance(s, RunPage))
    return page.query_one(".charts-board", ChartBoard)


def editor(app: RunviewApp) -> ChartEditScreen:
    assert isinstance(app.screen, ChartEditScreen), app.screen
    return app.screen


async def open_editor(pilot, app: RunviewApp, moves: tuple[str, ...] = ("l",)) -> ChartEditScreen:
    """Focus a chart (default: train/loss, right of train/acc) and press e."""
    await open_charts(pilot, app)
    await pilot.press(*moves, "e")
    await wait_for(pilot, lambda: isinstance(app.screen, ChartEditScreen))
    await pilot.pause(0.05)
    return editor(app)


async def type_into(pilot, screen: ChartEditScreen, selector: str, text: str) -> None:
    field = screen.query_one(selector, Input)
    field.focus()
    field.value = ""
    await pilot.press(*text) if text else None
    await pilot.pause()


async def apply(pilot, app: RunviewApp, chart_id: str = "train/loss") -> Chart:
    """Enter, back on the run page, the chart redrawn from the edited spec."""
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunPage))
    chart = board(app).charts[chart_id]
    spec = board(app).spec(chart_id)
    await wait_for(
        pilot,
        lambda: (
            chart.data is not None and chart.data.stamp is not None and chart.data.stamp[-1] == spec
        ),
    )
    return chart


async def pick_x(pilot, screen: ChartEditScreen, downs: int) -> None:
    """Open the x-axis drop-down with the keyboard, move ``downs`` options, enter picks."""
    screen.query_one("#edit-x", Select).focus()
    await pilot.press("down")  # opens the menu
    await pilot.pause()
    await pilot.press(*(["down"] * downs), "enter")
    await pilot.pause()
    await pilot.press("tab")  # enter on the drop-down opens it again: apply from the next field
    await pilot.pause()


def test_parse_range() -> None:
    assert parse_range("", "", "x") == (None, None)
    assert parse_range(" 1 ", "2e3", "x") == (1.0, 2000.0)
    for lo, hi, message in (
        ("a", "", "x min is not a number"),
        ("", "nan", "x max must be finite"),
        ("3", "3", "x min must be below x max"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_range(lo, hi, "x")


async def test_editor_fits_80x24_and_escape_cancels(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot, app, moves=())
        dialog = screen.query_one("#edit-dialog")
        assert dialog.region.right <= 80 and dialog.region.bottom <= 24
        for selector in (
            "#edit-title",
            "#edit-x",
            "#edit-xmin",
            "#edit-ymax",
            "#edit-log",
            "#edit-legend",
            "#edit-filter",
            "#edit-hint",
        ):
            widget = screen.query_one(selector)
            assert widget.region.area and dialog.region.contains_region(widget.region), selector
        metrics = screen.query_one(MetricList)
        assert metrics.region.height >= 4 and metrics.option_count == 4
        assert (
            screen.query_one("#edit-title", Input).value == "train/acc"
            and screen.query_one("#edit-title").has_focus
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunPage))
        assert board(app).focused_chart_id == "train/acc"
        # q outside a text field closes the editor; it does not quit runview.
        screen = await open_editor(pilot, app, moves=())
        screen.query_one(MetricList).focus()
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, RunPage))
        assert app.is_running


async def test_x_axis_another_metric_then_relative_time(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_editor(pilot, app)
        # step, wall, relative, then metric: lr, metric: train/acc
        await pick_x(pilot, screen, downs=4)
        assert screen.query_one("#edit-x", Select).value == ("metric", "train/acc")
        chart = await apply(pilot, app)
        x = chart.data.series[0].x
        assert chart.data.x_label == "train/acc"
        # train/acc = step / 50, joined on step
        assert x.min() == 0 and x.max() == pytest.approx(49 / 50)
        assert chart.data.points == 50

        screen = await open_editor(pilot, app, moves=())
        screen.query_one("#edit-x", Select).value = ("relative", "")
        chart = await apply(pilot, app)
        x = chart.data.series[0].x
        start = app.screen.snapshot.meta["start_time"]
        times = app.screen.snapshot.history.series["_time"][1]
        assert chart.data.x_label == "seconds since start"
        assert x.min() == pytest.approx(times[0] - start) and 0 <= x.min() <= x.max() < 60


async def test_wall_time_x_has_clock_ticks(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_editor(pilot, app)
        await pick_x(pilot, screen, downs=1)
        chart = await apply(pilot, app)
        assert chart.data.x_time and chart.data.series[0].x.min() > 1e9
        lines = str(chart.render()).splitlines()
        # HH:MM:SS ticks, not 1.7G
        assert lines[-1].strip() == "time" and lines[-2].count(":") >= 4, lines[-2:]


async def test_second_y_metric_shows_a_legend_and_legend_off_hides_it(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_editor(pilot, app)
        assert "val/loss" not in str(board(app).charts["train/loss"].render())
        await type_into(pilot, screen, "#edit-filter", "^val")
        metrics = screen.query_one(MetricList)
        assert [metrics.get_option_at_index(i).value for i in range(metrics.option_count)] == [
            "val/loss"
        ]
        await pilot.press("tab", "space")  # to the list, toggle val/loss on
        assert screen.selected == ["train/loss", "val/loss"]
        chart = await apply(pilot, app)
        assert [s.label for s in chart.data.series] == ["train/loss", "val/loss"]
        assert "val/loss" in str(chart.render())  # the legend names both
        assert str(chart.border_title) == "train/loss"  # identity and title kept

        screen = await open_editor(pilot, app, moves=())
        screen.query_one("#edit-legend", Checkbox).focus()
        await pilot.press("space")
        chart = await apply(pilot, app)
        assert len(chart.data.series) == 2 and not chart.data.legend
        assert "val/loss" not in str(chart.render())


async def test_log_scale_title_and_colour(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_charts(pilot, app)
        before = str(board(app).charts["val/loss"].render())
        # val/loss: 2 / (step + 1), all positive
        screen = await open_editor(pilot, app, moves=("j",))
        await pilot.press("ctrl+u", *"val loss (log)")
        screen.query_one("#edit-log", Checkbox).focus()
        await pilot.press("space")
        screen.query_one(MetricList).focus()
        await pilot.press("c", "c")  # auto -> blue+ -> orange+
        assert "orange+" in str(screen.query_one(MetricList).get_option_at_index(0).prompt)
        chart = await apply(pilot, app, "val/loss")
        assert chart.data.log_y and chart.data.series[0].color == "orange+"
        assert str(chart.border_title) == "val loss (log)"
        rendered = chart.render()
        assert any(
            span.style.color and span.style.color.number == 11
            for span in rendered.spans
            if not isinstance(span.style, str)
        )
        assert str(rendered) != before
        board(app).action_toggle_maximise()
        await pilot.pause()
        assert board(app).max_chart.border_title == "val loss (log)"


async def test_x_and_y_ranges_and_invalid_input_shown_not_applied(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_editor(pilot, app)
        await type_into(pilot, screen, "#edit-xmin", "abc")
        error = screen.query_one("#edit-error")
        assert "x min is not a number" in str(error.render()) and screen.query_one(
            "#edit-xmin"
        ).has_class("-invalid")
        await pilot.press("enter")  # refused: still editing
        assert isinstance(app.screen, ChartEditScreen)
        await type_into(pilot, screen, "#edit-xmin", "30")
        await type_into(pilot, screen, "#edit-xmax", "10")
        assert "x min must be below x max" in str(error.render())
        await pilot.press("enter")
        assert isinstance(app.screen, ChartEditScreen)
        await type_into(pilot, screen, "#edit-xmax", "40")
        await type_into(pilot, screen, "#edit-ymin", "0")
        await type_into(pilot, screen, "#edit-ymax", "0.5")
        assert not error.display and not screen.query(".-invalid")
        chart = await apply(pilot, app)
        x = chart.data.series[0].x
        assert x.min() >= 30 and x.max() <= 40 and chart.data.points == 50
        assert chart.data.x_range == (30.0, 40.0) and chart.data.y_range == (0.0, 0.5)
        assert board(app).charts["train/acc"].data.x_range == (None, None)  # other charts untouched

        screen = await open_editor(pilot, app, moves=())
        screen.query_one("#edit-log", Checkbox).value = True
        await pilot.pause()
        assert "log scale needs y min above 0" in str(screen.query_one("#edit-error").render())
        await pilot.press("escape")


async def test_edit_keeps_identity_and_follows_a_live_run(run_root: Path) -> None:
    async with live_charts(run_root) as (run, app, pilot):
        screen = await open_editor(pilot, app)
        screen.query_one("#edit-x", Select).value = ("metric", "train/acc")
        chart = await apply(pilot, app)
        assert chart.data.points == 20
        for step in range(20, 40):
            run.log({"train/loss": 1 / (step + 1), "train/acc": step / 40, "train/new": 1})
        await wait_for(
            pilot,
            lambda: (
                "train/new" in board(app).charts
                and board(app).charts["train/loss"].data.points == 40
            ),
        )
        data = board(app).charts["train/loss"].data
        assert data.x_label == "train/acc" and float(data.series[0].x.max()) == pytest.approx(
            39 / 40
        )
        assert board(app).focused_chart_id == "train/loss"
        # ctrl+r in the editor resets the chart to what it was.
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ChartEditScreen))
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: board(app).spec("train/loss").x_label == "step")
        assert app.screen.query_one("#pane-charts").view.charts == {}


async def test_an_x_metric_without_common_steps_says_so(run_root: Path) -> None:
    run = runview.init(project="t", dir=run_root, console=False, system_interval=None)
    for step in range(10):
        run.log({"a": step} if step % 2 else {"b": step})
    run.finish()
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_editor(pilot, app, moves=())
        screen.query_one("#edit-x", Select).value = ("metric", "b")
        chart = await apply(pilot, app, "a")
        assert "no steps where a and b meet" in str(chart.render())
        assert (
            np.size(chart.data.series) == 0
            and ChartEdit() != app.screen.query_one("#pane-charts").view.charts["a"]
        )


async def test_enter_on_the_x_axis_drop_down_opens_and_picks_without_applying(
    run_root: Path,
) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot, app)
        x_axis = screen.query_one("#edit-x", Select)
        x_axis.focus()
        await pilot.pause()
        await pilot.press("enter")  # opens the drop-down; the editor stays open
        await wait_for(pilot, lambda: x_axis.expanded)
        assert app.screen is screen
        overlay = x_axis.query_one("SelectOverlay")
        await wait_for(pilot, lambda: overlay.region.height > 0)
        # framed, and ending above the metric list rather than drawn over it
        assert overlay.styles.border_top[0] == "round"
        assert not overlay.region.overlaps(screen.query_one(MetricList).region)
        await pilot.press("down", "enter")  # picks wall time, and only that
        await wait_for(pilot, lambda: not x_axis.expanded)
        assert app.screen is screen and x_axis.value == ("wall", "")
        await pilot.press("enter")  # on the (closed) drop-down again: opens it, applies nothing
        await wait_for(pilot, lambda: x_axis.expanded)
        assert app.screen is screen
        await pilot.press("escape", "tab")
        await wait_for(pilot, lambda: not x_axis.expanded and not x_axis.has_focus)
        chart = await apply(pilot, app)  # enter from any other field applies
        assert chart.data.x_time


async def test_ticked_boxes_are_visible_without_colour(
    run_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot, app)
        rows = screen_text(app).splitlines()
        ticked = next(row for row in rows if "train/loss" in row and "▌" in row)
        unticked = next(row for row in rows if "val/loss" in row and "▌" in row)
        assert "✓" in ticked and "✓" not in unticked
        log_row = next(row for row in rows if "log y" in row)
        assert "✓" not in log_row.split("log y")[0].split("to")[-1]
        screen.query_one("#edit-log", Checkbox).focus()
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.query_one("#edit-log", Checkbox).value)
        await pilot.pause()
        log_row = next(row for row in screen_text(app).splitlines() if "log y" in row)
        assert "▐✓▌ log y" in log_row
        screen.query_one(MetricList).focus()
        await pilot.press("down", "space")  # tick the next metric: its box shows it
        await wait_for(pilot, lambda: len(screen.selected) == 2)
        await pilot.pause()
        ticks = [row for row in screen_text(app).splitlines() if "▐✓▌" in row]
        assert len(ticks) == 3  # two metrics and log y
