"""A live chart between two drawings is not reduced: its latest values come from the snapshot's
newest points, exactly as the reduction reads them out, and its reduction, once due, covers every
point since (a spike between two drawings is kept)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from textual.app import App, ComposeResult

from runview.store.series import SeriesTable
from runview.tui.widgets.chart import Chart, series_style
from runview.tui.widgets.chart_pace import DrawPacer
from runview.tui.widgets.chart_spec import ChartSpec, latest_points, prepare_chart
from runview.tui.widgets.chart_values import latest_values
from tests.pilot import wait_for
from tests.test_charts_tab import live_charts, open_charts


def live_table(steps: int, seed: int = 0) -> SeriesTable:
    rng = np.random.default_rng(seed)
    table = SeriesTable("_step")
    table.add_rows(
        {"_step": step, "loss": float(rng.normal()), "acc": step / 10, "gpu": 2.0**30 * step}
        for step in range(steps)
    )
    return table


SPECS = [
    ChartSpec("loss", "loss", "train", (("loss", "loss"),)),
    ChartSpec("two", "two", "train", (("loss", "loss"), ("acc", "acc")), colors=("red", "")),
    ChartSpec("gpu", "gpu", "system", (("gpu", "gpu"),), unit="GiB", y_scale=2.0**30),
    ChartSpec("gone", "gone", "train", (("loss", "loss"), ("missing", "missing"))),
]


@pytest.mark.parametrize("smoothing", [0.0, 0.9])
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.chart_id)
def test_latest_points_read_out_as_the_reduction_does(spec: ChartSpec, smoothing: float) -> None:
    table = live_table(3000)
    for step in range(3000, 3040):
        table.add_rows([{"_step": step, "loss": 10.0 * math.sin(step), "acc": 0.5}])
        snapshot = table.snapshot()
        reduced = prepare_chart(spec, snapshot, 60, smoothing)
        latest = latest_points(spec, snapshot)
        assert latest is not None
        # the same Text: the same numbers, labels, units and colours
        assert latest_values(latest, series_style) == latest_values(reduced, series_style)


def test_latest_points_leave_to_the_reduction_what_they_cannot_tell() -> None:
    table = live_table(100)
    spec = SPECS[0]
    assert latest_points(spec, table.snapshot()) is not None
    assert latest_points(replace(spec, x_range=(0.0, 50.0)), table.snapshot()) is None
    assert latest_points(replace(spec, x_axis="wall"), table.snapshot()) is None
    assert latest_points(replace(spec, members=((0, 1),)), table.snapshot()) is None
    # a last value that is not finite: the reduction reads out the last finite one it keeps
    table.add_rows([{"_step": 100, "loss": math.nan}])
    assert latest_points(spec, table.snapshot()) is None


class HeldChart(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.asked = 0
        self.pacer = DrawPacer(self.set_timer, self.reduce_due)

    def reduce_due(self) -> None:
        self.asked += 1

    def compose(self) -> ComposeResult:
        yield Chart("loss")


async def test_a_held_chart_asks_for_its_reduction_once_due_when_data_stops() -> None:
    app = HeldChart()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(Chart)
        table = live_table(500)
        chart.set_data(prepare_chart(SPECS[0], table.snapshot(), 60, 0.0))
        app.pacer.every_s = 0.3
        table.add_rows([{"_step": 500, "loss": 4.25}])
        app.pacer.hold(chart, latest_points(SPECS[0], table.snapshot()))
        assert "4.25" in str(chart.border_subtitle)  # its newest value at once
        assert app.pacer.waiting == 1 and app.asked == 0
        # no more data comes: the pacer's own timer asks for the reduction once it is due
        await wait_for(pilot, lambda: app.asked >= 1)
        app.pacer.release([chart])  # as the board does when it reduces it
        assert app.pacer.waiting == 0


async def test_a_live_chart_between_drawings_shows_new_values_unreduced_then_every_point(
    run_root: Path,
) -> None:
    async with live_charts(run_root, steps=400) as (run, app, pilot):
        b = await open_charts(pilot, app)
        chart = b.charts["train/loss"]
        await wait_for(pilot, lambda: chart.data.points == 400 and not b.reducing)
        b.pacer.every_s = 3600.0  # just drawn, and not due again while this test runs
        requests, reduced = b.requests, chart.data
        run.log({"train/loss": 77.5})  # a spike between two drawings
        for step in range(401, 420):
            run.log({"train/loss": 0.25 + step / 10_000})
        await wait_for(pilot, lambda: "0.2919" in str(chart.border_subtitle))
        # the newest value is shown, and nothing was reduced for it
        assert chart in b.pacer.held
        assert b.requests == requests and chart.data is reduced
        b.pacer.every_s = 0.0  # due: the next update reduces it, from every point since
        run.log({"train/loss": 0.5})
        await wait_for(pilot, lambda: chart.data.points == 421)
        assert b.requests > requests
        assert float(np.max(chart.data.series[0].y)) == 77.5  # the spike is kept
        subtitle = str(chart.border_subtitle)
        assert "0.5" in subtitle and "0.2919" not in subtitle
