"""The System tab on real run directories with a real (GPU-shaped) system.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import runview
from runview.tui.app import RunviewApp
from runview.tui.run_page import RunPage
from runview.tui.widgets.chart import Chart
from runview.tui.widgets.chart_board import ChartBoard
from tests.pilot import wait_for


def make_run(root: Path, samples: int, gpu: dict | None = None) -> Path:
    run = runview.init(project="t", dir=root, console=False, system_interval=None)
    run.log({"loss": 1.0})
    run.finish()
    path = Path(run.dir)
    meta = json.loads((path / "meta.json").read_text())
    start = meta["start_time"]
    if gpu is not None:
        meta["gpu"] = gpu
        (path / "meta.json").write_text(json.dumps(meta))
    with open(path / "system.jsonl", "w") as fh:
        for i in range(samples):
            row = {"_time": start + 2.0 * i, "cpu/percent": 50 + i % 7, "cpu/core/0": 40.0, "cpu/core/1": 60.0,
                   "mem/used": 3 * 2**30, "mem/percent": 20.0, "proc/rss": 200 * 2**20, "proc/cpu_percent": 99.0}
            for index in (0, 1):
                row |= {f"gpu/{index}/util": 90 + index + (i % 3), f"gpu/{index}/mem_percent": 30.0 + index,
                        f"gpu/{index}/temp": 70 + index, f"gpu/{index}/power_w": 650.0 + index}
            fh.write(json.dumps(row) + "\n")
    return path


def board(app: RunviewApp) -> ChartBoard:
    assert isinstance(app.screen, RunPage)
    return app.screen.query_one(".system-board", ChartBoard)


GPUS = {"reason": None, "devices": [{"index": 0, "name": "H100"}, {"index": 1, "name": "H200"}]}


async def test_gpu_metrics_overlay_one_series_per_device_with_legend(run_root: Path) -> None:
    path = make_run(run_root, samples=30, gpu=GPUS)
    app = RunviewApp(path, tab="system")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunPage) and "gpu/util" in board(app).charts)
        b = board(app)
        util = b.charts["gpu/util"]
        await wait_for(pilot, lambda: util.data is not None)
        assert [s.label for s in util.data.series] == ["0 H100", "1 H200"]
        assert float(util.data.series[0].x[0]) == 0.0 and float(util.data.series[0].x[-1]) == 58.0  # seconds since start
        text = str(util.render())
        assert "0 H100" in text and "1 H200" in text
        assert list(b.charts)[:4] == ["gpu/mem_percent", "gpu/power_w", "gpu/temp", "gpu/util"]
        assert "cpu/core" in b.charts and b.charts["cpu/core"].border_title == "cpu/core (2 cores)"
        header = str(app.screen.query_one(".system-header").render())
        for part in ("CPU 51%", "mem 3.0 GiB (20%)", "GPU0", "H100", "util 92%", "71°C", "651 W", "GPU1"):
            assert part in header, (part, header)
        # The same keys as Charts: move, maximise, restore.
        assert isinstance(app.focused, Chart) and app.focused.chart_id == "gpu/mem_percent"
        await pilot.press("l", "enter")
        assert b.maximised == "gpu/power_w"
        await pilot.press("escape")
        assert b.maximised is None and b.focused_chart_id == "gpu/power_w"


async def test_no_samples_says_so_with_the_gpu_reason(run_root: Path) -> None:
    path = make_run(run_root, samples=0, gpu={"reason": "NVML: driver library not found", "devices": []})
    app = RunviewApp(path, tab="system")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunPage) and app.screen.snapshot is not None)
        await pilot.pause(0.2)
        header = str(app.screen.query_one(".system-header").render())
        assert "NVML: driver library not found" in header
        empty = board(app).query_one(".board-empty")
        assert empty.display and "no system samples yet" in str(empty.render())
        assert "no system samples" not in header  # said once, not twice
