"""Saved view state: where it lives, its format, atomic ordered writes, and a real app across
restarts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from textual.widgets import Select
from textual.worker import Worker

import runview
from runview.tui import chart_state
from runview.tui.app import RunviewApp
from runview.tui.chart_edit import ChartEditScreen
from runview.tui.run_page import RunPage
from runview.tui.view_state import (
    ChartEdit,
    StateWriter,
    ViewState,
    load_view_state,
    state_dir,
    state_from_json,
    state_path,
)
from tests.pilot import Notices
from tests.test_charts_tab import open_charts, section_titles, wait_for


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("RUNVIEW_STATE_DIR", str(path))
    return path


def make_run(root: Path, project: str = "t") -> Path:
    run = runview.init(project=project, dir=root, console=False, system_interval=None)
    for step in range(30):
        run.log(
            {
                "train/loss": 1 / (step + 1),
                "train/acc": step / 30,
                "val/loss": 2 / (step + 1),
                "lr": 0.1,
            }
        )
    run.finish()
    return Path(run.dir)


def listing(run_dir: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(run_dir)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(run_dir.rglob("*"))
    }


def tab(app: RunviewApp):
    return next(s for s in app.screen_stack if isinstance(s, RunPage)).query_one("#pane-charts")


def test_location_follows_override_then_xdg_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNVIEW_STATE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    assert state_dir() == tmp_path / "home" / ".local" / "state" / "runview"
    # the XDG spec: relative paths are invalid
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    assert state_dir() == tmp_path / "home" / ".local" / "state" / "runview"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "runview"
    monkeypatch.setenv("RUNVIEW_STATE_DIR", str(tmp_path / "mine"))
    assert state_dir() == tmp_path / "mine"


def test_project_names_map_to_distinct_safe_files(state: Path) -> None:
    names = ["t", "T", "a/b", "a_b", "../../etc", "", "ünï cödé", "x" * 300]
    paths = [state_path(n) for n in names]
    assert len(set(paths)) == len(names)
    for path in paths:
        assert (
            path.parent == state / "projects"
            and "/" not in path.name
            and not path.name.startswith(".")
        )
        assert len(path.name) < 100


def test_round_trip_and_lenient_parsing(state: Path) -> None:
    edit = ChartEdit(
        title="L",
        x_axis="metric",
        x_key="lr",
        y_keys=("a", "b"),
        x_range=(1.0, None),
        y_range=(None, 2.0),
        log_y=True,
        legend=False,
        colors=(("a", "red+"),),
    )
    saved = ViewState(columns=3, smoothing=0.9, pinned={"a"}, folded={"val"}, charts={"a": edit})
    writer = StateWriter("t")
    writer.save(saved.to_json("t"), 1)
    loaded, problem = load_view_state("t")
    assert problem is None and loaded == saved
    text = json.loads(state_path("t").read_text())
    assert (
        text["version"] == 1
        and text["project"] == "t"
        and text["charts"]["a"]["x_range"] == [1.0, None]
    )
    # Wrong types are dropped field by field; the rest survives.
    odd = state_from_json(
        {
            "columns": "3",
            "smoothing": 7,
            "pinned": "a",
            "folded": ["x", 1],
            "charts": {
                "a": {"x_axis": "sideways", "x_range": [5, 1], "log_y": "yes", "y_keys": [1, "b"]},
                "b": 3,
            },
        }
    )
    assert odd == ViewState(folded={"x"}, charts={"a": ChartEdit(y_keys=("b",))})


def test_writes_are_atomic_and_ordered(state: Path) -> None:
    writer = StateWriter("t")
    writer.save({"n": 2}, 2)
    writer.save({"n": 1}, 1)  # an older save finishing late is dropped
    assert json.loads(state_path("t").read_text()) == {"n": 2} and writer.writes == 1
    assert os.listdir(state_path("t").parent) == [state_path("t").name]  # no temp files left
    with pytest.raises(TypeError):
        writer.save({"bad": object()}, 3)
    # the old file survives a failed write
    assert json.loads(state_path("t").read_text()) == {"n": 2}
    assert os.listdir(state_path("t").parent) == [state_path("t").name]


def test_unreadable_file_gives_defaults_and_a_reason(state: Path) -> None:
    path = state_path("t")
    path.parent.mkdir(parents=True)
    for content in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        path.write_bytes(content)
        loaded, problem = load_view_state("t")
        assert loaded == ViewState() and problem and str(path) in problem


async def test_view_persists_across_runs_of_a_project_only(state: Path, run_root: Path) -> None:
    first = make_run(run_root / "a")
    before = listing(first)
    app = RunviewApp(first, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        await pilot.press("j", "p")  # pin val/loss
        await wait_for(pilot, lambda: section_titles(b)[:1] == ["pinned"])
        await pilot.press("c", "c", "s", "s")  # columns 2, smoothing 0.8
        await pilot.press("l")  # train/acc (first chart of the train section, right of val/loss)
        await pilot.press("e")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ChartEditScreen) and app.screen.query_one("#edit-x"),
        )
        app.screen.query_one("#edit-x", Select).value = ("relative", "")
        await pilot.press("ctrl+u", *"accuracy", "enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, RunPage) and "train/acc" in tab(app).view.charts
        )
        lr = b.charts["lr"]
        lr.focus()
        await pilot.press("z")  # fold "other"
        await wait_for(pilot, lambda: "other" in b.folded)
        writer = tab(app).keeper.writer
        await wait_for(pilot, lambda: writer.writes >= 1 and not tab(app).keeper.pending)
    saved = json.loads(state_path("t").read_text())
    assert saved["pinned"] == ["val/loss"] and saved["columns"] == 2 and saved["smoothing"] == 0.8
    assert saved["folded"] == ["other"] and saved["charts"]["train/acc"]["title"] == "accuracy"
    assert listing(first) == before  # nothing written into the run directory
    assert not any(state_path("t").parent.glob(".tmp-*"))

    second = make_run(run_root / "b")  # another run of the same project opens the same way
    app = RunviewApp(second, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        assert section_titles(b) == ["pinned", "train", "other"]
        assert list(b.charts)[0] == "val/loss" and b.columns == 2 and b.smoothing == 0.8
        assert b.folded == {"other"} and b._sections["other"].collapsed
        assert str(b.charts["train/acc"].border_title) == "accuracy"
        await wait_for(
            pilot,
            lambda: (
                b.charts["train/acc"].data is not None
                and b.charts["train/acc"].data.x_label == "seconds since start"
            ),
        )
        assert "columns 2" in str(app.screen.query_one(".charts-status").render())
        assert "smoothing 0.8" in str(app.screen.query_one(".charts-status").render())

    other = make_run(run_root / "c", project="elsewhere")  # another project: defaults
    app = RunviewApp(other, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        assert (
            section_titles(b) == ["train", "val", "other"]
            and b.columns is None
            and b.smoothing == 0.0
        )
        assert str(b.charts["train/acc"].border_title) == "train/acc"
    assert not state_path("elsewhere").exists()  # nothing changed, nothing written


async def test_a_burst_of_keys_is_written_once(
    state: Path, run_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A burst is keys closer together than the debounce. Five presses can take longer than the
    # half second a user gets on a machine as loaded as the test machines: the test's debounce is
    # longer than any of them, and the burst's one write comes when the app quits.
    monkeypatch.setattr(chart_state, "SAVE_DELAY_S", 60.0)
    run_dir = make_run(run_root)
    app = RunviewApp(run_dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_charts(pilot, app)
        await pilot.press("s", "s", "s", "S", "c")
        keeper = tab(app).keeper
        writer = keeper.writer
        assert keeper.pending and writer.writes == 0
    assert writer.writes == 1
    saved = json.loads(state_path("t").read_text())
    assert saved["smoothing"] == 0.8 and saved["columns"] == 1


async def test_quitting_inside_the_debounce_still_saves(
    state: Path, run_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A debounce no loaded machine outlasts between the key and the quit.
    monkeypatch.setattr(chart_state, "SAVE_DELAY_S", 60.0)
    run_dir = make_run(run_root)
    app = RunviewApp(run_dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_charts(pilot, app)
        await pilot.press("c")
        assert tab(app).keeper.pending
    assert json.loads(state_path("t").read_text())["columns"] == 1


async def test_corrupt_state_file_is_ignored_with_a_notice(state: Path, run_root: Path) -> None:
    run_dir = make_run(run_root)
    path = state_path("t")
    path.parent.mkdir(parents=True)
    path.write_text('{"columns": 3, "pinned": ["lr"]')  # cut short
    app = RunviewApp(run_dir, tab="charts")
    shown = Notices()
    async with app.run_test(size=(120, 40), message_hook=shown.hook) as pilot:
        b = await open_charts(pilot, app)
        assert section_titles(b) == ["train", "val", "other"] and b.columns is None
        notices = shown.messages
        assert any("view settings ignored" in m and str(path) in m for m in notices), notices
        await pilot.press("p")  # still usable; the next change replaces the bad file
        await wait_for(pilot, lambda: tab(app).keeper.writer.writes == 1)
    assert json.loads(path.read_text())["pinned"] == ["train/acc"]


def test_system_section_is_nested_and_saves_keep_the_other_section(state: Path) -> None:
    StateWriter("t").save(ViewState(columns=3, pinned={"loss"}).to_json("t"), 1)
    StateWriter("t", "system").save(ViewState(columns=2, smoothing=0.6).to_json("t"), 1)
    saved = json.loads(state_path("t").read_text())
    assert (
        saved["columns"] == 3
        and saved["system"]["columns"] == 2
        and "version" not in saved["system"]
    )
    assert load_view_state("t") == (ViewState(columns=3, pinned={"loss"}), None)
    assert load_view_state("t", "system") == (ViewState(columns=2, smoothing=0.6), None)
    StateWriter("t").save(ViewState(columns=1).to_json("t"), 2)  # Charts saves again: System stays
    assert load_view_state("t", "system")[0].columns == 2 and load_view_state("t")[0] == ViewState(
        columns=1
    )
    assert load_view_state("new", "system") == (ViewState(), None)


def test_one_filter_rule() -> None:
    from runview.tui.text_filter import compile_filter, literal_filter

    assert compile_filter("  ") == (None, True)
    pattern, valid = compile_filter(" LOSS$ ")
    assert (
        valid
        and pattern is not None
        and pattern.search("train/loss")
        and not pattern.search("loss/x")
    )
    assert compile_filter("conv(") == (None, False)
    assert literal_filter("conv(").search("Conv(3)") and literal_filter("") is None


async def test_the_first_tab_gets_its_saved_layout_with_the_run(
    state: Path, run_root: Path
) -> None:
    # Read by the page's reader thread with the first snapshot (``RunTab.prefetch``): the tab
    # lays the charts out as soon as it has them, not after a worker of its own has read the
    # file and come back through the busy UI thread (a frame or two later on a long run).
    run_dir = make_run(run_root)
    path = state_path("t")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"columns": 2, "pinned": ["lr"]}))
    load_workers = []

    def hook(message: object) -> None:
        worker = getattr(message, "worker", None)
        if isinstance(message, Worker.StateChanged) and worker.group.startswith("view-state"):
            load_workers.append(worker.group)

    app = RunviewApp(run_dir, tab="charts")
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        b = await open_charts(pilot, app)
        assert section_titles(b) == ["pinned", "train", "val"] and b.columns == 2
        await pilot.press("3")  # the System tab, built later, reads its own section as before
        await wait_for(pilot, lambda: "view-state-load-system" in load_workers)
    assert "view-state-load-charts" not in load_workers, load_workers
