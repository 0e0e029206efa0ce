"""The viewer shell and Overview, driven by Pilot on real run directories."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Static

import runview
from runview.store.reader import RunReader, RunSnapshot
from runview.tui import chart_state
from runview.tui.app import RunviewApp
from runview.tui.run_page import RunPage
from runview.tui.tabs import chart_tab
from runview.tui.textual_private import screen_strips
from runview.tui.widgets.kv_table import KeyValueTable
from tests.pilot import Notices, page, screen_text, wait_for


def make_run(run_root: Path, finish: bool = True) -> runview.Run:
    run = runview.init(
        project="mnist",
        name="baseline",
        notes="first try",
        tags=["cnn", "[bold]x"],
        config={"lr": 1e-3, "model": {"depth": 4}, "optimizer": "adam"},
        dir=run_root,
        console=False,
        system_interval=None,
    )
    for step in range(10):
        run.log({"train/loss": 1 / (step + 1), "val/acc": step / 10})
    if finish:
        run.finish()
    return run


def tab_name(app: RunviewApp) -> str | None:
    tab = page(app).current_tab
    return tab.tab_name if tab is not None else None


async def test_overview_shows_identity_status_config_and_summary(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir)
    async with app.run_test(size=(80, 24)) as pilot:
        expected = ("baseline", "first try", "cnn, [bold]x", "finished")
        # a tag's markup is shown as typed, not obeyed
        await wait_for(pilot, lambda: all(text in screen_text(app) for text in expected))
        # further down the facts (how far depends on the command line that made the run, this
        # test runner's, which wraps): in the block the keyboard scrolls
        facts = app.screen.query_one("#facts", Static)
        lines = facts.render_lines(Region(0, 0, facts.size.width, facts.size.height))
        text = "".join(segment.text for strip in lines for segment in strip)
        assert "Python" in text and "10 steps" in text
        config = app.screen.query_one("#config-table", KeyValueTable)
        summary = app.screen.query_one("#summary-table", KeyValueTable)
        assert config.shown_keys == ["lr", "model/depth", "optimizer"]
        assert summary.shown_keys == ["train/loss", "val/acc"]
        badge = app.screen.query_one("#badge")
        assert badge.has_class("-finished")
        assert "finished" in str(badge.render())
        assert "mnist / baseline" in str(app.screen.query_one("#run-title").render())


async def test_config_filter_regex_and_invalid_pattern(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: page(app).snapshot is not None)
        await pilot.press("slash")  # shows and focuses the filter
        await pilot.press(*"^model|loss")
        config = app.screen.query_one("#config-table", KeyValueTable)
        summary = app.screen.query_one("#summary-table", KeyValueTable)
        assert config.shown_keys == ["model/depth"] and summary.shown_keys == ["train/loss"]
        await pilot.press("(")  # "^model|loss(" is not a regex: marked, nothing crashes
        assert app.screen.query_one("#kv-filter").has_class("-invalid")
        assert config.shown_keys == ["model/depth"]
        await pilot.press("escape")  # clears and hides
        assert not app.screen.query_one("#kv-filter").display
        assert config.shown_keys == ["lr", "model/depth", "optimizer"]


async def test_number_keys_brackets_help_and_quit(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: page(app).snapshot is not None)
        for key, name in (
            ("2", "charts"),
            ("3", "system"),
            ("4", "model"),
            ("5", "logs"),
            ("6", "files"),
            ("7", "artifacts"),
            ("1", "overview"),
        ):
            await pilot.press(key)
            await wait_for(pilot, lambda name=name: tab_name(app) == name)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: tab_name(app) == "charts")
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_for(pilot, lambda: tab_name(app) == "artifacts")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        await pilot.press("escape")
        assert isinstance(app.screen, RunPage)
        await pilot.press("q")
    assert app.return_code == 0


async def test_opens_on_the_requested_tab(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: tab_name(app) == "logs")


async def test_live_run_updates_while_open(run_root: Path) -> None:
    run = make_run(run_root, finish=False)
    app = RunviewApp(run.dir)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: page(app).snapshot is not None)
            assert page(app).snapshot.liveness.state == "running"
            assert app.screen.query_one("#badge").has_class("-running")
            run.log({"train/new_metric": 42.0})
            summary = app.screen.query_one("#summary-table", KeyValueTable)
            await wait_for(pilot, lambda: "train/new_metric" in summary.shown_keys)
            run.finish()
            await wait_for(pilot, lambda: app.screen.query_one("#badge").has_class("-finished"))
    finally:
        run.finish()


async def test_problems_line_says_what_was_skipped(run_root: Path) -> None:
    run = make_run(run_root)
    with open(run.dir / "history.jsonl", "ab") as fh:
        fh.write(b"\x1b]0;pwned\x07 not json\n")
    app = RunviewApp(run.dir)
    async with app.run_test(size=(80, 24)) as pilot:
        problems = app.screen.query_one("#problems")
        await wait_for(
            pilot,
            lambda: problems.display and "skipped 1 corrupt line" in str(problems.render()),
        )


async def test_no_color_is_honoured_and_state_stays_readable(run_root: Path, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    run = make_run(run_root, finish=False)  # a running badge is green when colours are on
    app = RunviewApp(run.dir)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: page(app).snapshot is not None)
            assert app.no_color
            # The state is in words, not only in colour.
            assert "running" in str(app.screen.query_one("#badge").render())
            assert "#4ebf71" not in app.export_screenshot()  # the theme's success green
    finally:
        run.finish()


async def test_large_history_shows_rows_read_while_loading(run_root: Path, monkeypatch) -> None:
    monkeypatch.setenv("RUNVIEW_COLUMNS", "0")  # the slow path: parse the JSONL
    run = runview.init(project="big", dir=run_root, console=False, system_interval=None)
    for step in range(20_000):
        run.log({"train/loss": 1 / (step + 1), "train/acc": step / 20_000})
    run.finish()
    monkeypatch.setattr(RunPage, "load_chunk", 64 * 1024)
    seen: list[tuple[int, int, int]] = []
    shown = threading.Event()
    shown.set()

    def hook(message) -> None:
        if type(message).__name__ == "LoadProgressed":
            seen.append((message.done, message.total, message.rows))
            shown.set()

    # Progress messages replace each other when the screen lags behind the reader (a loaded
    # machine): the next slice is read once the last progress reached the page, as on an idle one.
    read = RunReader.refresh

    def paced(self: RunReader, max_bytes: int | None = None) -> RunSnapshot:
        if max_bytes is not None:
            shown.wait(timeout=10)
            shown.clear()
        return read(self, max_bytes)

    monkeypatch.setattr(RunReader, "refresh", paced)

    app = RunviewApp(run.dir)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        # the first rows are shown while the rest loads, marked partial
        await wait_for(pilot, lambda: page(app).snapshot is not None)
        first = page(app).snapshot
        assert first.loading is not None and 0 < first.loading < 1
        assert 0 < first.history.rows < 20_000
        # The progress row is on screen, not covered by Textual's loading spinner (which a
        # widget's own reactive named ``loading`` would switch on).
        await wait_for(pilot, lambda: app.screen.query_one("#load-progress").region.height)
        assert "rows read" in str(app.screen.query_one("#load-label").render())
        assert not app.screen.query(".-textual-loading-indicator")
        await wait_for(pilot, lambda: page(app).snapshot.loading is None, timeout=60)
        assert page(app).snapshot.history.rows == 20_000
        # gone once loaded
        await wait_for(pilot, lambda: not app.screen.query_one("#load-progress").display)
    partial = [rows for done, total, rows in seen if done < total]
    assert len(partial) >= 5 and partial == sorted(partial) and 0 < partial[0] < 20_000


async def test_media_in_the_summary_is_described_not_dumped(run_root: Path) -> None:
    import numpy as np

    run = runview.init(project="media", dir=run_root, console=False, system_interval=None)
    run.log(
        {
            "val/examples": [runview.Image(np.zeros((4, 4, 3), dtype=np.uint8)) for _ in range(3)],
            "val/preds": runview.Table(columns=["a", "b"], data=[[1, 2], [3, 4]]),
        }
    )
    run.finish()
    app = RunviewApp(run.dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: page(app).snapshot is not None)
        summary = app.screen.query_one("#summary-table", KeyValueTable)
        assert summary.shown_keys == ["val/examples", "val/preds"]
        cells = [str(summary.get_row(key)[1]) for key in summary.shown_keys]
        assert cells == ["3 images (Charts, m)", "table 2×2 (Charts, m)"]


async def test_a_failing_reader_is_a_notification_and_a_log_line_not_a_crash(
    run_root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    run = make_run(run_root)

    def refresh(self: RunReader, max_bytes: int | None = None) -> None:
        raise OSError("the disk went away")  # a fault at the boundary, inside the reader worker

    monkeypatch.setattr(RunReader, "refresh", refresh)
    app = RunviewApp(run.dir)
    notices = Notices()
    async with app.run_test(size=(80, 24), message_hook=notices.hook) as pilot:
        await wait_for(pilot, lambda: notices.shown)
        [notice] = notices.shown
        assert notice.severity == "error"
        assert notice.message == "read the run failed: OSError: the disk went away"
        assert any(
            record.levelname == "ERROR" and "read the run failed" in record.getMessage()
            for record in caplog.records
        )
        await pilot.press("2")  # the page goes on: other tabs open, keys work
        await wait_for(pilot, lambda: page(app).current_tab.tab_name == "charts")
        assert app.is_running
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_tab_widgets_worker_error_reaches_the_page(
    run_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Charts tab's worker that loads the saved view state fails in a way it does not handle.
    # (Opened from another tab: the tab a page opens on gets its state with the run instead, and
    # the same failure there leaves the tab to read it itself, as here.)
    def load_view_state(*args: object) -> None:
        raise RuntimeError("state store exploded")

    monkeypatch.setattr(chart_state, "load_view_state", load_view_state)
    monkeypatch.setattr(chart_tab, "load_view_state", load_view_state)
    run = make_run(run_root)
    for first in ("overview", "charts"):
        await _a_view_state_failure_is_reported(run, first)


async def _a_view_state_failure_is_reported(run: runview.Run, first: str) -> None:
    app = RunviewApp(run.dir, tab=first)
    notices = Notices()
    async with app.run_test(size=(80, 24), message_hook=notices.hook) as pilot:
        if first == "overview":
            await wait_for(pilot, lambda: page(app).snapshot is not None)
            await pilot.press("2")
        await wait_for(pilot, lambda: notices.shown)
        assert [n.message for n in notices.shown] == [
            "load the view settings failed: RuntimeError: state store exploded"
        ]
        await pilot.press("1")
        await wait_for(pilot, lambda: "baseline" in screen_text(app))
        assert app.is_running


async def test_no_control_character_reaches_the_terminal_even_from_unsanitised_text(
    run_root: Path,
) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: page(app).snapshot is not None)
        # A widget that forgot safe_text: the app's line filter is the net under it.
        await page(app).mount(Static(Text("bell\x07 title\x1b]0;PWNED\x07 clear\x1b[2J end")))
        await wait_for(pilot, lambda: "bell title" in screen_text(app))
        text = screen_text(app)
        assert "bell title]0;PWNED clear[2J end" in text
        assert not any(
            re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", segment.text)
            for strip in screen_strips(app.screen)
            for segment in strip
            if not segment.control
        )


async def test_a_tab_with_nothing_to_focus_leaves_no_other_tabs_keys(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "Filter" in screen_text(app).splitlines()[-1])
        await pilot.press("4")  # no model summary in this run: nothing to focus
        await wait_for(pilot, lambda: "no model summary" in screen_text(app))
        # the footer is composed again once it has looked at the keys (a frame or more later)
        await wait_for(
            pilot,
            lambda: (
                "Filter" not in (footer := screen_text(app).splitlines()[-1]) and "q Quit" in footer
            ),
        )
        assert app.focused is None
        await pilot.press("slash")  # the Overview's key, from a tab that is not shown
        await pilot.press("1")
        await wait_for(pilot, lambda: page(app).current_tab.tab_name == "overview")
        assert not app.screen.query_one("#kv-filter").display


async def test_at_80x24_the_keyboard_reaches_every_fact(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import sys, runview\n"
        "run = runview.init(project='p', name='long', dir=sys.argv[1], console=False,\n"
        "                   system_interval=None, notes='a note ' * 40, tags=['t'] * 30)\n"
        "def step():\n"
        "    raise ValueError('diverged')\n"
        "step()\n"
    )
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, str(script), str(tmp_path / "runs"), *["--flag"] * 40],
        capture_output=True,
        timeout=60,
    )
    run_dir = next((tmp_path / "runs" / "p").iterdir())
    app = RunviewApp(run_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "raised at" in screen_text(app))
        # Where the failed run raised (a long path folds over lines: read it joined).
        joined = re.sub(r"\s*\n\s*", "", screen_text(app))
        assert "train.py:5 in step" in joined
        assert "directory" not in screen_text(app)  # below the facts' share of the screen
        facts = app.screen.query_one("#facts-scroll")
        while app.focused is not facts:  # tab reaches the facts
            await pilot.press("tab")
        await pilot.press("end")
        await wait_for(pilot, lambda: "directory" in screen_text(app))


async def test_ctrl_c_quits_from_a_focused_text_box_where_q_is_typed(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: page(app).snapshot is not None)
        await pilot.press("slash", "q")  # q in a text box is a letter, not Quit
        box = app.screen.query_one("#kv-filter")
        await wait_for(pilot, lambda: box.has_focus and box.value == "q")
        assert app.is_running
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_code == 0


async def test_the_runs_name_is_on_screen_before_the_run_is_read(
    run_root: Path, monkeypatch
) -> None:
    """Start-up: the page is headed with the run's name (meta.json alone) while the reader still
    reads; the rest follows when it is done."""
    run = make_run(run_root)
    release = threading.Event()
    read = RunReader.refresh

    def held(self: RunReader, max_bytes: int | None = None) -> RunSnapshot:
        release.wait(timeout=30)
        return read(self, max_bytes)

    monkeypatch.setattr(RunReader, "refresh", held)
    app = RunviewApp(run.dir)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: "mnist / baseline" in screen_text(app))
            assert page(app).snapshot is None  # nothing read yet but the name
            release.set()
            await wait_for(pilot, lambda: page(app).snapshot is not None)
    finally:
        release.set()


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyValueTable()


async def test_new_values_of_the_same_keys_change_those_cells_in_place() -> None:
    """A live summary changes its values four times a second: the reader's row stays under the
    cursor, and the rows are not cleared and added again (that laid out the whole page)."""
    app = OneTable()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(KeyValueTable)
        table.set_data({"a": 1, "b": 2, "c": 3})
        await pilot.pause()
        table.move_cursor(row=2)
        rows_before = list(table.rows)
        table.set_data({"a": 1, "b": 5.5, "c": 3})
        await pilot.pause()
        assert table.cursor_row == 2 and list(table.rows) == rows_before
        assert str(table.get_cell("b", "value")) == "5.5"
        table.set_data({"a": 1, "d": 4})  # other keys: the rows are rebuilt
        await pilot.pause()
        assert table.shown_keys == ["a", "d"] and str(table.get_cell("d", "value")) == "4"
