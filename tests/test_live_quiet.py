"""A live page does only the work its screen needs: an update that changes no size lays out
nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.app import App, ComposeResult

import runview
from runview.store.reader import RunReader
from runview.tui.app import RunviewApp
from runview.tui.tabs.overview import OverviewTab
from tests.pilot import page, screen_text, wait_for


class OverviewApp(App[None]):
    def compose(self) -> ComposeResult:
        yield OverviewTab(id="pane-overview")


async def test_facts_whose_digits_change_are_repainted_without_laying_out_the_page(
    tmp_path: Path,
) -> None:
    """The step count of a live run changes at every update: the facts keep their height, so
    the page is not laid out again; a count one digit longer may wrap, and is laid out."""
    run = runview.init(project="p", dir=tmp_path, console=False, system_interval=None)
    for step in range(10):
        run.log({"loss": 1 / (step + 1)})
    run.finish()
    first = RunReader(run.dir).refresh()
    assert first.history.rows == 10
    app = OverviewApp()
    async with app.run_test(size=(100, 30)) as pilot:
        tab = app.query_one(OverviewTab)
        tab.show_snapshot(first)
        await wait_for(pilot, lambda: "10 steps" in screen_text(app))
        layouts: list[object] = []
        app.screen.screen_layout_refresh_signal.subscribe(tab, layouts.append)
        tab.show_snapshot(replace(first, history=replace(first.history, rows=11)))
        await wait_for(pilot, lambda: "11 steps" in screen_text(app))
        await pilot.pause()
        assert layouts == []
        tab.show_snapshot(replace(first, history=replace(first.history, rows=100)))
        await wait_for(pilot, lambda: "100 steps" in screen_text(app) and bool(layouts))


async def test_a_snapshot_reaches_the_tab_on_show_without_a_query_of_the_page(
    tmp_path: Path,
) -> None:
    """Four times a second the page hands its snapshot to the tab on show: finding it must not
    walk every widget of the page (a Charts tab's charts included)."""
    run = runview.init(project="p", dir=tmp_path, console=False, system_interval=None)
    run.log({"loss": 1.0})
    app = RunviewApp(run.dir, tab="charts")
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: page(app).current_tab is not None)
            run_page = page(app)
            queries: list[object] = []
            query = run_page.query

            def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
                queries.append(args)
                return query(*args, **kwargs)

            run_page.query = counting  # type: ignore[method-assign]
            for _ in range(3):
                assert run_page.current_tab is not None
                assert run_page.current_tab.tab_name == "charts"
            assert queries == []
            await pilot.press("1")  # the page's switcher, kept, still says which tab is on show
            await wait_for(pilot, lambda: run_page.current_tab.tab_name == "overview")
    finally:
        run.finish()
