"""Comparing runs, driven by Pilot on runs written by the real logger: the overlay and its
legend, grouping over seeds into a mean with a band, the table of what differs, hiding runs."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Input

import runview
from runview.store.downsample import reduce_band
from runview.store.run_compare import config_groups, differing_keys
from runview.tui.app import RunviewApp
from runview.tui.compare_page import ComparePage, RunLegend
from runview.tui.run_colors import run_color
from runview.tui.run_page import RunPage
from runview.tui.run_table_page import RunTablePage
from runview.tui.widgets.chart import Chart
from runview.tui.widgets.run_table import RunTable
from tests.pilot import footer_has, footer_text, screen_text, wait_for


def sweep(root: Path, lrs=(0.1, 0.01), seeds=(0, 1, 2), steps: int = 50) -> list[Path]:
    paths = []
    for lr in lrs:
        for seed in seeds:
            run = runview.init(
                project="sweep",
                name=f"lr{lr}-s{seed}",
                dir=root,
                config={"lr": lr, "seed": seed, "opt": "adam"},
                console=False,
                system_interval=None,
            )
            for step in range(steps):
                run.log({"train/loss": lr * 10 + seed + step * 0.01, "val/acc": seed / 10})
            run.finish()
            paths.append(run.dir)
    return paths


def page_of(app: RunviewApp) -> ComparePage:
    return next(s for s in reversed(app.screen_stack) if isinstance(s, ComparePage))


async def charts_drawn(pilot, app: RunviewApp) -> dict[str, Chart]:
    await wait_for(pilot, lambda: page_of(app).snapshot is not None)
    await pilot.press("2")
    await wait_for(
        pilot,
        lambda: any(
            c.data is not None and c.data.series for c in page_of(app).query(Chart) if c.chart_id
        ),
    )
    return {c.chart_id: c for c in page_of(app).query(Chart) if c.chart_id}


def test_groups_and_differences_in_plain_data() -> None:
    configs = [
        {"lr": 0.1, "seed": 0, "net": {"depth": 2}},
        {"lr": 0.1, "seed": 1, "net": {"depth": 2}},
        {"lr": 0.01, "seed": 0, "net": {"depth": 2}},
        {"lr": 0.1, "seed": 2, "net": {"depth": 4}},
    ]
    assert config_groups(configs, ()) == [(0,), (1,), (2,), (3,)]
    assert config_groups(configs, ("seed",)) == [(0, 1), (2,), (3,)]
    assert config_groups(configs, ("seed", "net/depth")) == [(0, 1, 3), (2,)]
    flat = [{"lr": 0.1, "a": float("nan")}, {"lr": 0.1, "a": float("nan"), "b": 1}]
    assert differing_keys(flat) == ["b"]  # NaN equals NaN here; a missing key differs


def test_a_band_is_the_mean_and_the_extremes_of_its_runs() -> None:
    x = np.arange(100, dtype=np.float64)
    runs = [(x, np.full(100, 1.0)), (x, np.full(100, 3.0)), (x[:50], np.full(50, 8.0))]
    centres, mean, low, high = reduce_band(runs, 10)
    assert len(centres) == 10 and np.all(np.diff(centres) > 0)
    assert mean[0] == pytest.approx(4.0) and mean[-1] == pytest.approx(2.0)  # the third run ends
    assert low.min() == 1.0 and high[0] == 8.0 and high[-1] == 3.0
    nan_run = [(x, np.full(100, math.nan)), (x, np.full(100, 2.0))]
    _c, mean, low, high = reduce_band(nan_run, 5)
    assert np.all(mean == 2.0) and np.all(low == 2.0)  # NaN is a gap, not a value


async def test_charts_overlay_every_run_in_its_colour_with_a_legend(run_root: Path) -> None:
    paths = sweep(run_root, seeds=(0,))  # two runs: a legend inside the chart
    app = RunviewApp(compare=paths)
    async with app.run_test(size=(160, 48)) as pilot:
        charts = await charts_drawn(pilot, app)
        loss = charts["train/loss"]
        await wait_for(pilot, lambda: loss.data is not None and len(loss.data.series) == 2)
        labels = [s.label for s in loss.data.series]
        assert labels == ["1 lr0.1-s0", "2 lr0.01-s0"]  # numbered like the table's marks
        assert [s.color for s in loss.data.series] == [run_color(0), run_color(1)]
        assert loss.data.legend
        assert float(loss.data.series[0].y[0]) == pytest.approx(1.0)  # lr 0.1: 0.1 * 10
        assert float(loss.data.series[1].y[0]) == pytest.approx(0.1)
        # the legend's and the chart's own
        await wait_for(
            pilot, lambda: "1 lr0.1-s0" in screen_text(app) and "2 lr0.01-s0" in screen_text(app)
        )


async def test_twenty_runs_overlaid_and_runs_hidden_from_the_legend(run_root: Path) -> None:
    paths = sweep(run_root, lrs=(0.1, 0.2, 0.3, 0.4), seeds=range(5), steps=10)
    assert len(paths) == 20
    app = RunviewApp(compare=paths)
    async with app.run_test(size=(160, 48)) as pilot:
        charts = await charts_drawn(pilot, app)
        loss = charts["train/loss"]
        await wait_for(pilot, lambda: loss.data is not None and len(loss.data.series) == 20)
        assert not loss.data.legend  # twenty names would cover the chart: the side legend has them
        assert len({s.color for s in loss.data.series}) == 20
        legend = page_of(app).query_one(RunLegend)
        legend.focus()
        await pilot.press("question_mark")  # the legend's keys are listed with the page's
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        assert set(app.screen.keys("Legend")) == {"space", "o"}
        await pilot.press("escape")
        await pilot.press("space")  # hide run 1
        await wait_for(pilot, lambda: len(loss.data.series) == 19)
        assert "1 lr0.1-s0" not in [s.label for s in loss.data.series]
        assert "1 hidden" in screen_text(app)


async def test_runs_that_differ_only_in_seed_group_into_a_mean_and_band(run_root: Path) -> None:
    paths = sweep(run_root)
    app = RunviewApp(compare=paths)
    async with app.run_test(size=(160, 48)) as pilot:
        charts = await charts_drawn(pilot, app)
        await pilot.press("g")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ColumnPicker")
        await pilot.press(*"^seed$", "tab", "space", "enter")
        page = page_of(app)
        await wait_for(pilot, lambda: page.group_by == ("seed",))
        loss = charts["train/loss"]
        # Two means and their bands' four edges (the six runs ungrouped are six series too).
        await wait_for(
            pilot,
            lambda: loss.data is not None and sum(s.band for s in loss.data.series) == 4,
        )
        means = [s for s in loss.data.series if not s.band]
        edges = [s for s in loss.data.series if s.band]
        assert [s.label for s in means] == [
            "1,2,3 lr0.1-s0 (mean of 3)",
            "4,5,6 lr0.01-s0 (mean of 3)",
        ]
        assert len(edges) == 4 and all(s.label == "" for s in edges)
        # seeds 0, 1, 2 add 0, 1, 2 to the loss: mean +1, band from +0 to +2
        first = means[0]
        assert float(first.y[0]) == pytest.approx(2.0, abs=0.02)
        band = sorted(float(s.y[0]) for s in edges if s.color == first.color)
        assert band == [pytest.approx(1.0, abs=0.02), pytest.approx(3.0, abs=0.02)]
        assert "grouped over seed: 2 group(s)" in screen_text(app)
    again = RunviewApp(compare=paths)  # the grouping is kept for the project
    async with again.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: page_of(again).snapshot is not None)
        assert page_of(again).group_by == ("seed",)


async def test_overview_is_a_table_of_the_values_that_differ(run_root: Path) -> None:
    paths = sweep(run_root, lrs=(0.1,), seeds=(0, 1))
    app = RunviewApp(compare=paths)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: page_of(app).snapshot is not None)
        tab = page_of(app).current_tab
        await wait_for(pilot, lambda: tab.shown_keys != [])
        assert tab.shown_keys == ["config:seed", "summary:train/loss", "summary:val/acc"]
        shown = ("1 lr0.1-s0", "2 lr0.1-s1", "config seed")
        await wait_for(pilot, lambda: all(text in screen_text(app) for text in shown))
        assert "config lr" not in screen_text(app)  # the same in both: not a difference
        await pilot.press("a")  # every value
        await wait_for(pilot, lambda: "config:lr" in tab.shown_keys)
        await pilot.press("slash", *"^opt")
        await wait_for(pilot, lambda: tab.shown_keys == ["config:opt"])
        await wait_for(pilot, lambda: footer_has(app, "Back to the table", "Clear filter"))
        await pilot.press("escape")  # cleared, and out of the box: neither key works now
        await wait_for(pilot, lambda: footer_has(app, "Filter") and "Clear" not in footer_text(app))
        assert "Back to the table" not in footer_text(app)


async def test_mark_in_the_table_compare_open_a_run_and_back(run_root: Path) -> None:
    sweep(run_root, seeds=(0, 1))
    app = RunviewApp(table=run_root)
    async with app.run_test(size=(160, 48)) as pilot:
        table_page = app.screen
        assert isinstance(table_page, RunTablePage)
        table = table_page.query_one(RunTable)
        await wait_for(pilot, lambda: len(table.shown) == 4)
        await pilot.press("space", "space", "c")  # the two newest, in the order marked
        await wait_for(pilot, lambda: isinstance(app.screen, ComparePage))
        compare = page_of(app)
        await wait_for(pilot, lambda: compare.snapshot is not None)
        marked = sorted(table.marked, key=table.marked.get)
        assert [str(run.path) for run in compare.snapshot.runs] == marked
        compare.query_one(RunLegend).focus()
        await pilot.press("o")  # the highlighted run's page, over the comparison
        await wait_for(pilot, lambda: isinstance(app.screen, RunPage))
        await pilot.press("backspace")
        await wait_for(pilot, lambda: isinstance(app.screen, ComparePage))
        await pilot.press("backspace")
        await wait_for(pilot, lambda: app.screen is table_page)
        await pilot.press("slash", *"s1", "enter", "u", "c")  # nothing marked: the filter's runs
        await wait_for(pilot, lambda: isinstance(app.screen, ComparePage))
        await wait_for(pilot, lambda: page_of(app).snapshot is not None)
        assert sorted(r.name for r in page_of(app).snapshot.runs) == ["lr0.01-s1", "lr0.1-s1"]


async def test_system_overlays_runs_against_time_since_each_start(run_root: Path) -> None:
    paths = []
    for name in ("early", "late"):
        run = runview.init(
            project="sys", name=name, dir=run_root, console=False, system_interval=0.1
        )
        samples = run.dir / "system.jsonl"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if samples.exists() and samples.read_text().count("\n") >= 3:
                break
            await asyncio.sleep(0.05)
        run.finish()
        paths.append(run.dir)
    app = RunviewApp(compare=paths)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: page_of(app).snapshot is not None)
        await pilot.press("3")
        page = page_of(app)
        await wait_for(
            pilot,
            lambda: any(
                c.data is not None and len(c.data.series) == 2
                for c in page.query(Chart)
                if c.chart_id == "cpu/percent"
            ),
        )
        chart = next(c for c in page.query(Chart) if c.chart_id == "cpu/percent")
        assert [s.label for s in chart.data.series] == ["1 early", "2 late"]
        # each chart names its unit, as on a run's System tab
        assert str(chart.border_title) == "cpu/percent (%)"
        mem = next(c for c in page.query(Chart) if c.chart_id == "mem/used")
        assert str(mem.border_title) in ("mem/used (MiB)", "mem/used (GiB)", "mem/used (TiB)")
        for series in chart.data.series:  # each run's own start is 0: both begin near it
            assert 0.0 <= float(series.x[0]) < 5.0


async def test_l_shows_the_legend_with_a_chart_focused_and_is_text_in_a_search_box(
    run_root: Path,
) -> None:
    # The charts' vim keys move the focus (h j k l), but on the comparison l is the legend the
    # footer offers: it must not move to the next chart instead (it did, once a chart had focus).
    paths = sweep(run_root, seeds=(0,), steps=10)
    app = RunviewApp(compare=paths)
    async with app.run_test(size=(80, 24)) as pilot:
        await charts_drawn(pilot, app)
        page = page_of(app)
        await wait_for(
            pilot, lambda: isinstance(page.focused, Chart), explain=lambda: "no chart focused"
        )
        focused = page.focused
        await wait_for(pilot, lambda: footer_has(app, "l Legend"))
        await pilot.press("l")
        legend = page.query_one(RunLegend)
        await wait_for(pilot, lambda: legend.display and legend.region.height > 0)
        assert page.focused is legend
        await pilot.press("l")  # again: hidden, and the chart has the focus back
        await wait_for(pilot, lambda: not page.legend_shown and focused.has_focus)
        await pilot.press("slash", "l")  # in the search box, l is text
        await wait_for(pilot, lambda: isinstance(page.focused, Input) and page.focused.value == "l")
        assert not page.legend_shown


async def test_the_legend_shows_hidden_runs_without_colour(
    run_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    paths = sweep(run_root, seeds=(0,), steps=10)
    app = RunviewApp(compare=paths)
    async with app.run_test(size=(120, 30)) as pilot:
        await charts_drawn(pilot, app)
        legend = page_of(app).query_one(RunLegend)
        # from 100 columns on, the legend is shown from the start
        await wait_for(pilot, lambda: legend.display and legend.region.height > 0)
        legend.focus()
        await pilot.press("space")  # hide the first run: its box is empty, the other's ticked
        await wait_for(pilot, lambda: "1 hidden" in screen_text(app))

        def legend_row(name: str) -> str:
            rows = screen_text(app).splitlines()
            return next((row for row in rows if "▌" in row and name in row), "")

        await wait_for(
            pilot,
            lambda: "▐ ▌" in legend_row("lr0.1-s0") and "▐✓▌" in legend_row("lr0.01-s0"),
        )
