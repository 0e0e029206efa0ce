"""The System tab on real run directories with a real (GPU-shaped) system.jsonl."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import Collapsible, Input, OptionList, Select

import runview
from runview.tui.app import RunviewApp
from runview.tui.help_screen import HelpScreen
from runview.tui.run_page import RunPage
from runview.tui.tabs.system import SystemChartEditScreen
from runview.tui.view_state import state_path
from runview.tui.widgets.chart import Chart
from runview.tui.widgets.chart_board import ChartBoard
from tests.pilot import page, screen_text, wait_for
from tests.test_chart_ticks import y_labels


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Saved view state goes to the test's own directory, never the user's."""
    path = tmp_path / "state"
    monkeypatch.setenv("RUNVIEW_STATE_DIR", str(path))
    return path


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
            row = {
                "_time": start + 2.0 * i,
                "cpu/percent": 50 + i % 7,
                "cpu/core/0": 40.0,
                "cpu/core/1": 60.0,
                "mem/used": 3 * 2**30,
                "mem/percent": 20.0,
                "proc/rss": 200 * 2**20,
                "proc/cpu_percent": 99.0,
            }
            for index in (0, 1):
                row |= {
                    f"gpu/{index}/util": 90 + index + (i % 3),
                    f"gpu/{index}/mem_percent": 30.0 + index,
                    f"gpu/{index}/temp": 70 + index,
                    f"gpu/{index}/power_w": 650.0 + index,
                }
            fh.write(json.dumps(row) + "\n")
    return path


def laid_out(app: RunviewApp) -> bool:
    """The System tab has laid out its first snapshot (its charts mounted in their sections)."""
    return isinstance(app.screen, RunPage) and system_tab(app).settled


def board(app: RunviewApp) -> ChartBoard:
    assert isinstance(app.screen, RunPage)
    return app.screen.query_one(".system-board", ChartBoard)


GPUS = {"reason": None, "devices": [{"index": 0, "name": "H100"}, {"index": 1, "name": "H200"}]}


async def test_gpu_metrics_overlay_one_series_per_device_with_legend(run_root: Path) -> None:
    path = make_run(run_root, samples=30, gpu=GPUS)
    app = RunviewApp(path, tab="system")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, RunPage) and "gpu/util" in board(app).charts
        )
        b = board(app)
        util = b.charts["gpu/util"]
        await wait_for(pilot, lambda: util.data is not None)
        assert [s.label for s in util.data.series] == ["0 H100", "1 H200"]
        # seconds since start
        assert float(util.data.series[0].x[0]) == 0.0 and float(util.data.series[0].x[-1]) == 58.0
        text = str(util.render())
        assert "0 H100" in text and "1 H200" in text
        # the overview first: GPU util, memory, temperature, power, each saying its unit
        assert list(b.charts)[:4] == ["gpu/util", "gpu/mem_percent", "gpu/temp", "gpu/power_w"]
        titles = [str(b.charts[c].border_title) for c in list(b.charts)[:4]]
        assert titles == ["GPU util (%)", "GPU memory (%)", "GPU temperature (°C)", "GPU power (W)"]
        assert b.charts["cpu/core"].border_title == "cpu/core (%, 2 cores)"
        header = str(app.screen.query_one(".system-header").render())
        for part in (
            "CPU 51%",
            "mem 3.0 GiB (20%)",
            "GPU0",
            "H100",
            "util 92%",
            "71°C",
            "651 W",
            "GPU1",
        ):
            assert part in header, (part, header)
        # The same keys as Charts: move, maximise, restore.
        # the first chart takes the focus once the board is laid out
        await wait_for(pilot, lambda: isinstance(app.focused, Chart))
        assert app.focused.chart_id == "gpu/util"
        await pilot.press("l", "enter")
        assert b.maximised == "gpu/mem_percent"
        await pilot.press("escape")
        assert b.maximised is None and b.focused_chart_id == "gpu/mem_percent"


async def test_no_samples_says_so_with_the_gpu_reason(run_root: Path) -> None:
    path = make_run(
        run_root, samples=0, gpu={"reason": "NVML: driver library not found", "devices": []}
    )
    app = RunviewApp(path, tab="system")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, RunPage) and app.screen.snapshot is not None
        )
        await pilot.pause(0.2)
        header = str(app.screen.query_one(".system-header").render())
        assert "NVML: driver library not found" in header
        empty = board(app).query_one(".board-empty")
        assert empty.display and "no system samples yet" in str(empty.render())
        assert "no system samples" not in header  # said once, not twice


def system_tab(app: RunviewApp):
    return page(app).query_one("#pane-system")


def shown(b: ChartBoard) -> list[str]:
    return [cid for cid, chart in b.charts.items() if chart.display]


def sections(b: ChartBoard) -> list[str]:
    return [str(c.title) for c in b.query(Collapsible) if c.display]


async def open_system(pilot, app: RunviewApp) -> ChartBoard:
    await wait_for(
        pilot, lambda: isinstance(app.screen, RunPage) and "gpu/util" in board(app).charts
    )
    await wait_for(pilot, lambda: isinstance(app.focused, Chart))
    return board(app)


async def test_system_has_the_charts_keys_and_lists_them_under_help(run_root: Path) -> None:
    path = make_run(run_root, samples=30, gpu=GPUS)
    app = RunviewApp(path, tab="system")
    async with app.run_test(size=(80, 24)) as pilot:
        b = await open_system(pilot, app)
        # The footer is composed again when the focus moves: wait for it, then read it.
        await wait_for(pilot, lambda: "q Quit" in screen_text(app).splitlines()[-1])
        footer = screen_text(app).splitlines()[-1]
        assert "q Quit" in footer and "? Help" in footer and "/ Search" in footer
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        # the tab's own keys, and the board's (they work on a chart)
        listed = app.screen.keys("System tab") | app.screen.keys("On a chart")
        for key in ("/", "s / S", "c", "p", "e", "z", "enter"):
            assert key in listed, key
        assert "seconds since start" in listed["e"] and "/ " in screen_text(app)
        await pilot.press("escape")

        await pilot.press("slash", *"GPU/U")  # case-insensitive regex
        search = app.screen.query_one("#system-search", Input)
        assert shown(b) == ["gpu/util"]
        await pilot.press("(")
        # the last valid filter stays
        assert search.has_class("-invalid") and shown(b) == ["gpu/util"]
        assert "invalid regex" in screen_text(app)
        await pilot.press("escape")
        assert search.value == "" and len(shown(b)) == len(b.charts)

        await pilot.press("s", "s", "c")
        assert b.smoothing == 0.8 and b.columns == 1
        await wait_for(pilot, lambda: "smoothing 0.8" in screen_text(app))  # painted next
        assert "columns 1" in screen_text(app)
        await pilot.press("S")
        assert b.smoothing == 0.6

        b.charts["cpu/percent"].focus()
        await pilot.press("p")
        await wait_for(pilot, lambda: sections(b)[:1] == ["pinned"])
        assert list(b.charts)[0] == "cpu/percent" and b.focused_chart_id == "cpu/percent"


async def test_system_editor_offers_seconds_or_a_metric_and_keeps_the_gpu_overlay(
    run_root: Path,
) -> None:
    path = make_run(run_root, samples=30, gpu=GPUS)
    app = RunviewApp(path, tab="system")
    async with app.run_test(size=(80, 24)) as pilot:
        b = await open_system(pilot, app)
        b.charts["gpu/util"].focus()
        await pilot.press("e")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, SystemChartEditScreen) and app.screen.query_one("#edit-x")
            ),
        )
        select = app.screen.query_one("#edit-x", Select)
        menu = select.query_one("SelectOverlay", OptionList)  # the drop-down's options
        prompts = [str(option.prompt) for option in menu.options]
        assert prompts[0] == "seconds since start" and select.value == ("relative", "")
        assert "seconds since start" in screen_text(app)  # the field shows the new option's name
        assert (
            not any(p in ("step", "wall time") for p in prompts)
            and "metric: gpu/0/power_w" in prompts
        )
        await pilot.press("ctrl+u", *"GPU busy", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RunPage) and "gpu/util" in system_tab(app).view.charts,
        )
        util = b.charts["gpu/util"]
        assert str(util.border_title) == "GPU busy"
        await wait_for(
            pilot,
            lambda: (
                util.data is not None
                and [s.label for s in util.data.series] == ["0 H100", "1 H200"]
            ),
        )
        assert util.data.x_label == "seconds" and float(util.data.series[0].x[-1]) == 58.0

        util.focus()
        await pilot.press("e")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, SystemChartEditScreen) and app.screen.query_one("#edit-x")
            ),
        )
        app.screen.query_one("#edit-x", Select).value = ("metric", "gpu/0/power_w")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: util.data is not None and util.data.x_label == "gpu/0/power_w"
        )
        # same samples joined
        assert util.data.points == 60 and float(util.data.series[0].x.max()) == 650.0

        util.focus()
        await pilot.press("e")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, SystemChartEditScreen) and app.screen.query_one("#edit-x")
            ),
        )
        assert app.screen.query_one("#edit-x", Select).value == ("metric", "gpu/0/power_w")
        await pilot.press("ctrl+r")  # reset: the chart as drawn unedited
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, RunPage) and "gpu/util" not in system_tab(app).view.charts
            ),
        )
        await wait_for(pilot, lambda: util.data is not None and util.data.x_label == "seconds")
        assert str(util.border_title) == "GPU util (%)"


async def test_system_layout_is_saved_apart_from_the_charts_layout(
    run_root: Path, state_dir: Path
) -> None:
    path = make_run(run_root, samples=30, gpu=GPUS)
    app = RunviewApp(path, tab="system")
    async with app.run_test(size=(80, 24)) as pilot:
        b = await open_system(pilot, app)
        b.charts["cpu/percent"].focus()
        await pilot.press("p", "c", "c", "s")
        await wait_for(pilot, lambda: sections(b)[:1] == ["pinned"])
        keeper = system_tab(app).keeper
        await wait_for(pilot, lambda: keeper.writer.writes >= 1 and not keeper.pending)
    saved = json.loads(state_path("t").read_text())
    assert saved["system"]["pinned"] == ["cpu/percent"] and saved["system"]["columns"] == 2
    assert saved["system"]["smoothing"] == 0.6
    assert saved.get("columns") is None and not saved.get("pinned")  # Charts' layout untouched

    # Charts keeps its own layout, and saving it keeps System's
    app = RunviewApp(path, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        charts = page(app)
        await wait_for(
            pilot, lambda: charts.query("#pane-charts") and charts.query_one("#pane-charts").ready
        )
        charts_board = charts.query_one(".charts-board", ChartBoard)
        assert charts_board.columns is None and charts_board.smoothing == 0.0
        await wait_for(pilot, lambda: "loss" in charts_board.charts)
        await pilot.press("c")
        keeper = charts.query_one("#pane-charts").keeper
        await wait_for(pilot, lambda: keeper.writer.writes >= 1 and not keeper.pending)
    saved = json.loads(state_path("t").read_text())
    assert saved["columns"] == 1 and saved["system"]["pinned"] == ["cpu/percent"]

    app = RunviewApp(path, tab="system")
    async with app.run_test(size=(80, 24)) as pilot:
        b = await open_system(pilot, app)
        assert sections(b)[0] == "pinned" and list(b.charts)[0] == "cpu/percent"
        assert b.columns == 2 and b.smoothing == 0.6


def cpu_only_run(root: Path, samples: int = 4) -> Path:
    """A run whose system.jsonl holds what the real collector records on this (GPU-less) box."""
    from runview.collectors.system import MIN_RATE_WINDOW, SystemCollector

    run = runview.init(project="t", dir=root, console=False, system_interval=None)
    run.log({"loss": 1.0})
    run.finish()
    path = Path(run.dir)
    start = json.loads((path / "meta.json").read_text())["start_time"]
    collector = SystemCollector(pid=os.getpid(), disk_path=path)
    collector.sample()  # rates and CPU percentages are differences: they start from the second
    with open(path / "system.jsonl", "w") as fh:
        for i in range(samples):
            time.sleep(MIN_RATE_WINDOW)  # the collector's shortest window for a rate
            row = collector.sample()
            # counts that move, and free space that moves by a few MB: the cases to read
            row |= {"proc/count": 3 + i % 2, "disk/free": 78.27 * 2**30 + i * 2**20}
            fh.write(json.dumps({"_time": start + 2.0 * i, **row}) + "\n")
    return path


async def test_a_cpu_only_box_shows_the_overview_first_and_folds_the_rest(
    run_root: Path, state_dir: Path
) -> None:
    path = cpu_only_run(run_root)
    app = RunviewApp(path, tab="system")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: laid_out(app) and "cpu/percent" in board(app).charts)
        b = board(app)
        # The board knows its charts before their sections have mounted them.
        await wait_for(pilot, lambda: all(chart.is_mounted for chart in b.charts.values()))
        boxes = {str(c.title): c for c in b.query(Collapsible)}
        assert list(boxes) == ["host", "more"]
        assert not boxes["host"].collapsed and boxes["more"].collapsed
        overview = [cid for cid, chart in b.charts.items() if chart in boxes["host"].query(Chart)]
        assert overview == ["cpu/percent", "mem/used", "disk/io", "net/io"]
        assert len(b.charts) > 12  # the rest is there, folded
        assert [s for s, _ in b.spec("disk/io").series] == ["disk/read_bps", "disk/write_bps"]
        # every chart says its unit
        for chart_id, chart in b.charts.items():
            assert b.spec(chart_id).unit, chart_id
            assert f"({b.spec(chart_id).unit}" in str(chart.border_title), chart.border_title
        # bytes in the unit the value reads best in (this machine's memory: GiB, or MiB when low)
        title = str(b.charts["mem/used"].border_title)
        mem_title = re.fullmatch(r"memory used \((GiB|MiB)\)", title)
        assert mem_title, title
        mem_unit = mem_title.group(1)
        assert str(b.charts["proc/count"].border_title) == "proc/count (processes)"
        # each chart's latest values, each with its unit
        io = b.charts["disk/io"]
        await wait_for(pilot, lambda: io.data is not None)
        latest_io = Text.from_markup(str(io.border_subtitle)).plain
        assert re.fullmatch(r"last read \S+ MiB/s · write \S+ MiB/s", latest_io), latest_io
        # the header's memory is the chart's: same unit, same figure
        mem = b.charts["mem/used"]
        await wait_for(pilot, lambda: mem.data is not None)
        latest = float(mem.data.series[0].y[-1])
        header = str(app.screen.query_one(".system-header").render())
        assert f"mem {latest:.1f} {mem_unit}" in header, (latest, header)

        # open the rest: the keyboard reaches the folded section's title
        for _ in range(4):
            await pilot.press("j")
        assert "more" in str(app.focused.parent.title)  # the section's title bar
        await pilot.press("enter")
        await wait_for(pilot, lambda: not boxes["more"].collapsed)
        # down from the title of the section just opened: its first chart
        await pilot.press("j")
        assert b.focused_chart_id == "cpu/core"
        free, count = b.charts["disk/free"], b.charts["proc/count"]

        def drawn_in_view(chart: Chart, text: str = "") -> bool:
            # Asked again until it holds: a scroll the focus change above deferred may still
            # take the view elsewhere on a loaded machine, and a chart off screen is not drawn.
            if chart.data is None or text not in str(chart.render()):
                chart.scroll_visible(animate=False)
                return False
            return True

        await wait_for(pilot, lambda: drawn_in_view(free, "78.27"))  # GiB
        labels = y_labels(str(free.render()))
        assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
        await wait_for(pilot, lambda: drawn_in_view(count))
        labels = y_labels(str(count.render()))
        assert labels and all(label.isdigit() for label in labels), labels
        keeper = system_tab(app).keeper
        await wait_for(pilot, lambda: keeper.writer.writes >= 1 and not keeper.pending)
    assert "more" not in json.loads(state_path("t").read_text())["system"]["folded"]

    # opened once, it stays open for the project
    app = RunviewApp(path, tab="system")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: laid_out(app) and "cpu/percent" in board(app).charts)
        boxes = {str(c.title): c for c in board(app).query(Collapsible)}
        assert not boxes["more"].collapsed
