"""SVG snapshots of every tab of a fixed, finished run: layout regressions show as pictures.

A failing snapshot writes ``snapshot_report.html`` with the old and new pictures side by side.
After a deliberate change to the layout, look at the pictures, then accept them with
``python -m pytest tests/test_snapshots.py --snapshot-update`` and commit the new SVGs under
``tests/__snapshots__/``. The pictures depend on the pinned Textual and Rich (constraints.txt).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from runview.tui.app import RunviewApp
from runview.tui.tabs.chart_tab import ChartTab
from runview.tui.widgets.chart import Chart
from runview.tui.widgets.layer_tree import LayerTree
from tests.fixed_run import write_fixed_run
from tests.pilot import page, screen_text, wait_for

Snap = Callable[..., bool]


@pytest.fixture
def fixed_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fixed run, its path relative to the working directory, clock times in UTC, colour on."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield write_fixed_run(tmp_path)
    monkeypatch.undo()
    time.tzset()


def viewer(run: Path, tab: str) -> RunviewApp:
    app = RunviewApp(run, tab=tab)
    app.animation_level = "none"  # the tab underline would be caught mid-slide
    return app


def drawn(chart: Chart) -> bool:
    """The chart holds data reduced for the width it has now (nothing left to redraw)."""
    data = chart.data
    return (
        data is not None
        and data.stamp is not None
        and data.stamp[1] == max(8, chart.content_size.width)
    )


def settled(app: RunviewApp, tab: str) -> bool:
    """The tab shows the whole run: what each tab waits for before it is pictured."""
    run_page = page(app)
    current = run_page.current_tab
    if run_page.snapshot is None or current is None or current.tab_name != tab:
        return False
    if "q Quit" not in screen_text(app).splitlines()[-1]:
        return False  # the footer is composed again after the focus settles
    if isinstance(current, ChartTab):
        board = current.board
        visible = board.visible_charts()
        busy = board.reducing
        own = board.maximised is None or not board.max_chart.provisional
        return (
            current.ready
            and bool(visible)
            and not busy
            and own
            and all(drawn(c) for _, c in visible)
        )
    if tab == "model":
        return current.query_one(LayerTree).model is not None
    if tab == "logs":
        return "done in 10m 00s" in screen_text(app)
    if tab == "overview":
        # A table measures its columns once idle: on a loaded machine, a frame or more after
        # its rows are on screen (values cut short until then).
        tables = current.query(DataTable)
        measured = all(not table._require_update_dimensions for table in tables)
        # and drawn at that width: the summary's last value whole, not cut short ("2.7e-")
        shown = screen_text(app)
        return measured and "trainer-01" in shown and "train/loss" in shown and "2.7e-07" in shown
    return True


def waiting_for(tab: str, *keys: str) -> Callable[[Any], Any]:
    async def run_before(pilot: Any) -> None:
        await wait_for(pilot, lambda: settled(pilot.app, tab))
        if keys:
            await pilot.press(*keys)
            await wait_for(pilot, lambda: settled(pilot.app, tab))

    return run_before


@pytest.mark.parametrize(
    "tab", ["overview", "charts", "system", "model", "logs", "files", "artifacts"]
)
def test_each_tab_at_80x24(tab: str, fixed_run: Path, snap_compare: Snap) -> None:
    assert snap_compare(viewer(fixed_run, tab), terminal_size=(80, 24), run_before=waiting_for(tab))


def test_charts_at_160x48(fixed_run: Path, snap_compare: Snap) -> None:
    """Three columns and two rows of charts: the page's size breakpoints."""
    app = viewer(fixed_run, "charts")
    assert snap_compare(app, terminal_size=(160, 48), run_before=waiting_for("charts"))


def test_a_maximised_chart(fixed_run: Path, snap_compare: Snap) -> None:
    """With its cursor moved back from the latest point: the line and the readout under it."""
    app = viewer(fixed_run, "charts")
    run_before = waiting_for("charts", "l", "enter", "left", "pageup")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_help_on_the_charts_tab(fixed_run: Path, snap_compare: Snap) -> None:
    async def run_before(pilot: Any) -> None:
        await waiting_for("charts")(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: "Charts tab" in screen_text(pilot.app))
        # The dialog draws the page behind it from what the page last rendered; keys sent as fast
        # as Pilot sends them can open it before then (a real terminal keeps showing the page).
        pilot.app.screen.refresh()
        await wait_for(pilot, lambda: "finished" in pilot.app.export_screenshot())

    app = viewer(fixed_run, "charts")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
