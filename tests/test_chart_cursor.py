"""Reading charts: the latest value on every chart, and the cursor, zoom and pan of a maximised
chart, on a real run driven by Pilot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rich.text import Text

import runview
from runview.tui.app import RunviewApp
from runview.tui.help_screen import HelpScreen
from runview.tui.run_page import RunPage
from runview.tui.view_state import ChartEdit
from runview.tui.widgets.chart import Chart
from runview.tui.widgets.chart_board import ChartBoard
from runview.tui.widgets.chart_cursor import CursorChart, cursor_points, panned, zoomed
from tests.pilot import screen_text, wait_for

STEPS = 200


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("RUNVIEW_STATE_DIR", str(path))
    return path


def make_run(root: Path) -> Path:
    run = runview.init(project="t", dir=root, console=False, system_interval=None)
    for step in range(STEPS):
        row = {"a/loss": 1000 + step, "a/acc": step / 1000}
        if step % 10 == 0:
            row["a/val"] = 5000 + step
        run.log(row, step=step)
    run.finish()
    return Path(run.dir)


def board(app: RunviewApp) -> ChartBoard:
    assert isinstance(app.screen, RunPage)
    return app.screen.query_one(".charts-board", ChartBoard)


def subtitle(chart: Chart) -> str:
    """The chart's bottom border text (Textual keeps it as markup)."""
    return Text.from_markup(str(chart.border_subtitle)).plain


def readout(app: RunviewApp) -> str:
    return str(board(app).query_one(".board-readout").render())


async def maximised(pilot, app: RunviewApp, chart_id: str) -> CursorChart:
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, RunPage)
            and chart_id in board(app).charts
            and board(app).charts[chart_id].data is not None
        ),
    )
    b = board(app)
    b.charts[chart_id].focus()
    await pilot.press("enter")
    chart = b.max_chart
    await wait_for(
        pilot,
        lambda: not chart.provisional and chart.data is not None and chart.region.width > 100,
    )
    # Drawn at the maximised chart's own width: every step is a point the cursor stops at (a
    # reduction asked for before the chart was laid out wide keeps fewer, e.g. 190 and 199 only).
    await wait_for(pilot, lambda: cursor_points(chart.data).size == STEPS)
    return chart


async def test_every_chart_shows_its_latest_value(run_root: Path) -> None:
    app = RunviewApp(make_run(run_root), tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, RunPage)
                and board(app).charts
                and board(app).charts["a/loss"].data is not None
            ),
        )
        chart = board(app).charts["a/loss"]
        assert subtitle(chart) == "last 1.199k"
        await wait_for(pilot, lambda: "last 1.199k" in screen_text(app))
        # smoothing changes the line, not the value that was logged last
        await pilot.press("s", "s")
        await wait_for(pilot, lambda: any(s.faint for s in chart.data.series))
        assert subtitle(chart) == "last 1.199k"


async def test_cursor_reads_every_series_at_a_step(run_root: Path) -> None:
    app = RunviewApp(make_run(run_root), tab="charts")
    async with app.run_test(size=(160, 48)) as pilot:
        chart = await maximised(pilot, app, "a/loss")
        b = board(app)
        assert chart.cursor is None and "←→ cursor" in readout(app)
        await pilot.press("left")  # the first press shows the cursor on the latest point
        assert chart.cursor == STEPS - 1
        assert readout(app) == "step 199 · a/loss 1.199k"
        await pilot.press("left", "left", "h")
        assert chart.cursor == 196 and readout(app) == "step 196 · a/loss 1.196k"
        await pilot.press("shift+left")
        assert chart.cursor == 186
        await pilot.press("home")
        assert chart.cursor == 0 and readout(app) == "step 0 · a/loss 1k"
        await pilot.press("right", "l", "end")
        assert chart.cursor == STEPS - 1
        await pilot.press("pageup")
        assert chart.cursor == STEPS - 1 - 20
        # drawn: the frame changes with the cursor (moved far enough to leave its column)
        before = str(chart.render())
        await pilot.press("home")
        assert str(chart.render()) != before
        await pilot.press("end", "pageup", "left")
        # smoothed: the line's value, and the raw value logged there
        await pilot.press("s")
        await wait_for(pilot, lambda: any(s.faint for s in chart.data.series))
        assert chart.cursor == STEPS - 1 - 21
        await wait_for(pilot, lambda: "(raw 1.178k)" in readout(app))
        assert readout(app).startswith("step 178 · a/loss 1.17")
        # the board's own arrows do not move the focus away from a maximised chart
        await pilot.press("down", "up", "z")
        assert b.maximised == "a/loss" and app.focused is chart


async def test_keys_typed_with_enter_wait_for_the_maximised_chart_s_own_points(
    run_root: Path,
) -> None:
    """Enter then Left, typed together, land where they would typed slowly: on the step before
    the last, not among the few points of the small chart shown until the maximised one's own
    reduction arrives."""
    app = RunviewApp(make_run(run_root), tab="charts")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(
            pilot,
            lambda: "a/loss" in board(app).charts and board(app).charts["a/loss"].data is not None,
        )
        b = board(app)
        b.charts["a/loss"].focus()
        reduce = b.request_reduction
        b.request_reduction = lambda *args, **kwargs: None  # the reduction is late this time
        await pilot.press("enter", "left", "left")
        chart = b.max_chart
        assert chart.provisional and chart.cursor is None  # held, not applied
        b.request_reduction = reduce
        reduce()
        await wait_for(pilot, lambda: not chart.provisional and chart.data.points == STEPS)
        assert chart.cursor == STEPS - 2 and readout(app) == "step 198 · a/loss 1.198k"


async def test_cursor_on_a_chart_of_several_series_reads_each(run_root: Path) -> None:
    app = RunviewApp(make_run(run_root), tab="charts")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(
            pilot, lambda: "a/loss" in board(app).charts and board(app).charts["a/loss"].data
        )
        b = board(app)
        # a/val added to the chart as the editor does it (tests/test_chart_edit.py drives the
        # dialog): the chart draws both
        tab = app.screen.query_one("#pane-charts")
        tab.view = tab.view.with_edit("a/loss", ChartEdit(y_keys=("a/loss", "a/val")))
        await wait_for(
            pilot,
            lambda: (
                b.charts["a/loss"].data is not None and len(b.charts["a/loss"].data.series) == 2
            ),
        )
        text = subtitle(b.charts["a/loss"])
        assert text == "last a/loss 1.199k · a/val 5.19k", text
        chart = await maximised(pilot, app, "a/loss")
        await pilot.press("end", "left")
        assert chart.cursor == 198
        # a/val is logged every 10 steps: its value holds until the next one
        assert readout(app) == "step 198 · a/loss 1.198k · a/val 5.19k"


async def test_zoom_pan_and_reset_the_x_range(run_root: Path) -> None:
    app = RunviewApp(make_run(run_root), tab="charts")
    async with app.run_test(size=(160, 48)) as pilot:
        chart = await maximised(pilot, app, "a/loss")
        # nothing to pan or reset before zooming: the keys are off, and not in the footer
        assert not chart.check_action("pan", (1,)) and not chart.check_action("reset_zoom", ())
        await pilot.press("home")
        await pilot.press("plus")
        assert chart.zoom == (0.0, 99.5)
        await wait_for(pilot, lambda: chart.data.x_range == chart.zoom)
        xs = chart.data.series[0].x
        assert xs.min() >= 0 and xs.max() <= 99.5 and xs.size == 100  # every point in range
        await wait_for(pilot, lambda: "zoomed" in readout(app))  # the readout follows the data
        await pilot.press("plus", "plus")
        assert chart.zoom == (0.0, 24.875)
        await pilot.press("right_square_bracket")
        lo, hi = chart.zoom
        assert lo == pytest.approx(24.875 / 4) and hi - lo == pytest.approx(24.875)
        await wait_for(pilot, lambda: chart.data.x_range == chart.zoom)
        # the cursor stays on the points shown
        assert lo <= chart.cursor <= hi
        await pilot.press("minus")
        assert chart.zoom is not None and chart.zoom[1] - chart.zoom[0] == pytest.approx(49.75)
        await pilot.press("0")
        assert chart.zoom is None
        await wait_for(pilot, lambda: chart.data.x_range == (None, None))
        assert chart.data.series[0].x.max() == STEPS - 1
        # zooming out all the way is the whole range
        await pilot.press("plus", "minus")
        assert chart.zoom is None
        # leaving and maximising again starts afresh
        await pilot.press("plus", "escape", "enter")
        assert chart.zoom is None and chart.cursor is None


async def test_maximised_chart_keys_are_listed_under_help(run_root: Path) -> None:
    app = RunviewApp(make_run(run_root), tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        await maximised(pilot, app, "a/loss")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = app.screen.keys("On a maximised chart")
        for keys in ("← h / → l", "+ = / -", "[ / ]", "0", "home / end", "pgup / pgdn"):
            assert any(keys in row for row in listed), (keys, listed)


def test_zoom_and_pan_stay_inside_the_data() -> None:
    assert zoomed((0, 100), (0, 100), 100, 0.5) == (50, 100)
    assert zoomed((0, 100), (0, 100), 50, 0.5) == (25, 75)
    assert zoomed((25, 75), (0, 100), 50, 2.0) is None
    assert panned((80, 90), (0, 100), 1) == (82.5, 92.5)
    assert panned((90, 100), (0, 100), 1) == (90, 100)
    assert panned((0, 10), (0, 100), -1) == (0, 10)
    assert np.isclose(zoomed((0, 10), (0, 100), 0, 2.0)[1], 20)
