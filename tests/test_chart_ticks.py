"""Axis ticks on real plotext output: distinct labels, whole numbers for counts, flat lines."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import runview
from runview.store.downsample import ema
from runview.tui.app import RunviewApp
from runview.tui.run_page import RunPage
from runview.tui.widgets.chart import ChartData, ChartSeries, build_chart
from runview.tui.widgets.chart_board import ChartBoard
from runview.tui.widgets.chart_ticks import format_ticks, nice_ticks
from tests.pilot import wait_for

LABEL = re.compile(r"^\s*(-?[0-9][0-9.]*[kMGT]?)(?=\S|\s|$)")


def y_labels(text: str) -> list[str]:
    """The y tick labels down the left edge of a chart built by ``build_chart``."""
    labels = []
    for line in text.splitlines()[:-2]:  # the last rows are the x ticks and the x label
        match = LABEL.match(line)
        if match:
            labels.append(match.group(1))
    return labels


def plotted_rows(text: str) -> set[int]:
    """Rows holding any of the block characters plotext draws a line with."""
    return {i for i, line in enumerate(text.splitlines()) if re.search("[▀-▟⠁-⣿]", line)}


def chart(y: np.ndarray, x: np.ndarray | None = None, width: int = 60, height: int = 14) -> str:
    x = np.arange(y.size, dtype=np.float64) if x is None else x
    return build_chart(ChartData((ChartSeries("m", x, y),), x_label="step"), width, height).plain


def test_disk_free_in_a_narrow_range_gets_distinct_labels() -> None:
    # 78.27 GB free, moving by a few MB: every label used to read 78.27G
    free = 78.27e9 + np.linspace(0, 4e6, 40)
    labels = y_labels(chart(free))
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    assert all(label.endswith("G") and label.startswith("78.27") for label in labels), labels


def test_labels_stay_short_when_they_already_differ() -> None:
    assert format_ticks([0.0, 2.5, 5.0, 7.5]) == ["0", "2.5", "5", "7.5"]
    assert format_ticks([1000.0, 2000.0]) == ["1k", "2k"]
    # steps deep in a zoomed run: the plain number is shorter than 1.000002M
    ticks = nice_ticks(1_000_000, 1_000_010, 5, integer=True)
    assert format_ticks(ticks) == [str(int(t)) for t in ticks]


def test_counts_get_whole_number_ticks_only() -> None:
    counts = np.array([3, 4, 4, 5, 4, 3, 5, 4] * 5, dtype=np.float64)  # processes in the tree
    labels = y_labels(chart(counts))
    assert labels and all(label.isdigit() for label in labels), labels
    assert nice_ticks(3, 5, 6, integer=True) == [3, 4, 5]
    assert 3.5 in nice_ticks(3, 5, 6)


def test_a_smoothed_constant_is_one_flat_line_mid_chart() -> None:
    lr = np.full(500, 3e-4)
    smoothed = ema(lr, 0.99)
    assert np.array_equal(smoothed, lr)  # no float noise from the moving average
    # and a series that really differs by float noise is drawn flat too, with distinct labels
    noisy = lr * (1 + np.where(np.arange(500) % 2, 1e-16, -1e-16))
    for y in (smoothed, noisy):
        text = chart(y)
        labels = y_labels(text)
        assert len(set(labels)) == len(labels) >= 3, labels
        rows = plotted_rows(text)
        assert len(rows) == 1, text
        assert 4 <= rows.pop() <= 9, text  # the middle of a 14-row chart


def test_a_constant_count_sits_between_whole_ticks() -> None:
    text = chart(np.full(30, 2.0))
    assert y_labels(text) == ["3", "2", "1"], text


async def test_smoothing_a_constant_lr_in_the_app_draws_one_flat_line(
    run_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RUNVIEW_STATE_DIR", str(tmp_path / "state"))
    run = runview.init(project="t", dir=run_root, console=False, system_interval=None)
    for step in range(300):
        run.log({"opt/lr": 3e-4, "loss": 1 / (step + 1)})
    run.finish()
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, RunPage)
                and "opt/lr" in app.screen.query_one(".charts-board", ChartBoard).charts
            ),
        )
        lr = app.screen.query_one(".charts-board", ChartBoard).charts["opt/lr"]
        lr.focus()
        await pilot.press("enter", "s", "s", "s")  # maximised, smoothing 0.9
        b = app.screen.query_one(".charts-board", ChartBoard)
        chart = b.max_chart
        await wait_for(
            pilot, lambda: chart.data is not None and any(s.faint for s in chart.data.series)
        )
        text = chart.render().plain
        labels = y_labels(text)
        assert len(set(labels)) == len(labels) >= 3, text
        assert len(plotted_rows(text)) == 1, text
