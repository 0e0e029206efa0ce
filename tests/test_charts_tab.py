"""The Charts tab on real run directories: sections, search, keys, maximise, pins, smoothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Collapsible, Input

import runview
from runview.tui.app import RunviewApp
from runview.tui.run_page import RunPage
from runview.tui.textual_private import frames_written, next_update
from runview.tui.widgets.chart import Chart
from runview.tui.widgets.chart_board import ChartBoard
from runview.tui.widgets.chart_spec import reduced_size
from runview.tui.widgets.page_footer import PageFooter
from tests.conftest import final_index
from tests.pilot import page, settle, wait_for

KEYS = ("train/loss", "train/acc", "val/loss", "lr")


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Saved view state goes to the test's own directory, never the user's."""
    path = tmp_path / "state"
    monkeypatch.setenv("RUNVIEW_STATE_DIR", str(path))
    return path


def make_run(root: Path, steps: int = 50, finish: bool = True) -> runview.Run:
    run = runview.init(project="t", dir=root, console=False, system_interval=None)
    rng = np.random.default_rng(0)
    for step in range(steps):
        run.log(
            {
                "train/loss": 1 / (step + 1) + rng.normal(0, 0.1),
                "train/acc": step / steps,
                "val/loss": 2 / (step + 1),
                "lr": 0.1,
            }
        )
    if finish:
        run.finish()
    return run


@asynccontextmanager
async def live_charts(
    run_root: Path, steps: int = 20
) -> AsyncIterator[tuple[runview.Run, RunviewApp, Pilot]]:
    """A run still logging (``steps`` rows in), and the viewer on its Charts tab at 120×40; the
    run is finished on the way out."""
    run = make_run(run_root, steps=steps, finish=False)
    try:
        app = RunviewApp(run.dir, tab="charts")
        async with app.run_test(size=(120, 40)) as pilot:
            yield run, app, pilot
    finally:
        run.finish()


def board(app: RunviewApp) -> ChartBoard:
    assert isinstance(app.screen, RunPage)
    return app.screen.query_one(".charts-board", ChartBoard)


def drawn(app: RunviewApp) -> bool:
    b = board(app)
    visible = b.visible_charts()
    return bool(visible) and all(chart.data is not None for _key, chart in visible)


async def open_charts(pilot, app: RunviewApp) -> ChartBoard:
    await wait_for(
        pilot, lambda: isinstance(app.screen, RunPage) and board(app).charts and drawn(app)
    )
    await pilot.pause(0.1)
    return board(app)


def section_titles(b: ChartBoard) -> list[str]:
    return [str(c.title) for c in b.query(Collapsible) if c.display]


def shown(b: ChartBoard) -> list[str]:
    return [cid for cid, chart in b.charts.items() if chart.display]


async def test_sections_group_by_prefix_other_last_and_internal_keys_skipped(
    run_root: Path,
) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        assert section_titles(b) == ["train", "val", "other"]
        assert list(b.charts) == ["train/acc", "train/loss", "val/loss", "lr"]
        assert not any(k.startswith("_") for k in b.charts)
        assert isinstance(app.focused, Chart) and app.focused.chart_id == "train/acc"
        first = b.charts["train/acc"]
        assert first.builds >= 1 and "train/acc" in str(first.border_title)


async def test_regex_search_invalid_pattern_and_escape(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        await pilot.press("slash")
        search = app.screen.query_one("#charts-search", Input)
        assert search.has_focus
        await pilot.press(*"LOSS$")  # case-insensitive re.search on the full key
        assert shown(b) == ["train/loss", "val/loss"]
        assert section_titles(b) == ["train", "val"]
        await pilot.press("(")  # "LOSS$(" is not a regex: marked, last filter stays
        assert search.has_class("-invalid")
        assert shown(b) == ["train/loss", "val/loss"]
        assert "invalid" in str(app.screen.query_one(".charts-status").render())
        await pilot.press("escape")
        assert search.value == "" and not search.has_class("-invalid")
        assert shown(b) == list(KEYS[:2][::-1]) + ["val/loss", "lr"]
        assert isinstance(app.focused, Chart)


async def test_hjkl_and_arrows_move_between_charts(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:  # 120 columns: a 2-column grid
        b = await open_charts(pilot, app)
        assert b.effective_columns == 2
        moves = [
            ("l", "train/loss"),
            ("h", "train/acc"),
            ("j", "val/loss"),
            ("k", "train/acc"),
            ("right", "train/loss"),
            ("down", "val/loss"),
            ("down", "lr"),
            ("up", "val/loss"),
            ("left", "train/loss"),
        ]
        for key, expected in moves:
            await pilot.press(key)
            assert b.focused_chart_id == expected, (key, b.focused_chart_id)


async def test_moving_between_charts_sends_the_two_borders_not_the_screen(run_root: Path) -> None:
    """Over a slow link, a key that moves the focus costs the borders it changes. (Textual repaints
    a whole screen when its focus moves, and tints the section holding the focus: a frame the
    size of the screen for each move into another section.)"""
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(160, 48)) as pilot:
        b = await open_charts(pilot, app)
        assert b.focused_chart_id == "train/acc"
        whole = len(next_update(app.screen, full=True).encode())  # also: what the terminal shows
        with frames_written(app) as frames:
            await pilot.press("j")  # down, into the next section
            # the chart left gets its rounded border back, the chart reached a heavy one
            await wait_for(pilot, lambda: "╭" in "".join(frames) and "┏" in "".join(frames))
            await settle(pilot)
        assert b.focused_chart_id == "val/loss"
        sent = sum(len(frame.encode()) for frame in frames)
        assert sent < whole / 4, (sent, whole)


async def test_enter_maximises_and_escape_restores(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        await pilot.press("l", "enter")
        assert b.maximised == "train/loss"
        await wait_for(
            pilot, lambda: b.max_chart.data is not None and b.max_chart.region.width > 100
        )
        assert not b.grid.display and b.max_chart.border_title == "train/loss"
        assert b.max_chart.data.series[0].label == "train/loss"
        await pilot.press("escape")
        assert b.maximised is None and b.grid.display and not b.max_chart.display
        assert b.focused_chart_id == "train/loss"


async def test_columns_follow_width_and_c_cycles(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        b = await open_charts(pilot, app)
        grid = b.query(".board-section-grid").first()
        assert b.effective_columns == 1 and grid.styles.grid_size_columns == 1
        await pilot.press("c", "c")  # auto -> 1 -> 2
        assert b.columns == 2 and grid.styles.grid_size_columns == 2
        assert "columns 2" in str(app.screen.query_one(".charts-status").render())
        await pilot.press("c", "c", "c")  # 3, 4, back to auto
        assert b.columns is None and b.effective_columns == 1


async def test_pin_moves_the_focused_chart_to_the_top(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        await pilot.press("j")
        assert b.focused_chart_id == "val/loss"
        await pilot.press("p")
        await wait_for(pilot, lambda: section_titles(b)[:1] == ["pinned"])
        assert section_titles(b) == ["pinned", "train", "other"]
        assert list(b.charts)[0] == "val/loss" and b.focused_chart_id == "val/loss"
        await pilot.press("p")
        await wait_for(pilot, lambda: section_titles(b) == ["train", "val", "other"])


async def test_smoothing_draws_smoothed_over_faint_raw(run_root: Path) -> None:
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        chart = b.charts["train/loss"]
        raw = chart.data.series
        assert len(raw) == 1 and not raw[0].faint
        before = chart.render()
        await pilot.press("s", "s", "s")  # 0.6, 0.8, 0.9
        await wait_for(pilot, lambda: len(chart.data.series) == 2)
        faint, smooth = chart.data.series
        assert faint.faint and not smooth.faint
        np.testing.assert_array_equal(faint.y, raw[0].y)
        assert not np.allclose(smooth.y, raw[0].y)
        assert str(chart.render()) != str(before)
        assert "smoothing 0.9" in str(app.screen.query_one(".charts-status").render())
        await pilot.press("S", "S", "S")
        await wait_for(pilot, lambda: len(chart.data.series) == 1)


async def test_live_run_extends_charts_and_idle_costs_nothing(run_root: Path) -> None:
    async with live_charts(run_root) as (run, app, pilot):
        b = await open_charts(pilot, app)
        chart = b.charts["train/loss"]
        assert chart.data.points == 20
        for step in range(20, 60):
            run.log({"train/loss": 1 / (step + 1), "train/new": step})
        # A new key rebuilds the grid (new widgets); the data follows the chart id.
        await wait_for(
            pilot, lambda: "train/new" in b.charts and b.charts["train/loss"].data.points == 60
        )
        assert float(b.charts["train/loss"].data.series[0].x[-1]) == 59
        # Nothing was drawn from samples: no reduction waits for such a paint (each live
        # update's waited half a second when the board began as if one were pending).
        assert not b.samples_unpainted
        # Idle: no new rows, the page keeps polling a live run, but nothing is reduced or drawn.
        await wait_for(pilot, lambda: drawn(app) and not b.pacer.waiting)
        await pilot.pause(0.5)
        requests, builds = b.requests, {k: c.builds for k, c in b.charts.items()}
        await pilot.pause(1.5)
        assert b.requests == requests
        assert {k: c.builds for k, c in b.charts.items()} == builds


async def test_200k_points_reach_plotext_reduced(run_root: Path) -> None:
    run = runview.init(project="t", dir=run_root, console=False, system_interval=None)
    run.finish()
    lines = "".join(f'{{"_step":{i},"big":{np.sin(i / 1000):.4f}}}\n' for i in range(200_000))
    with open(Path(run.dir) / "history.jsonl", "a") as fh:
        fh.write(lines)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        chart = b.charts["big"]
        # The rows read first are drawn while the rest loads (marked partial), then all of them.
        await wait_for(pilot, lambda: chart.data.points == 200_000)
        assert reduced_size(chart.data) <= 2 * chart.content_size.width + 2


async def test_no_history_says_how_to_add_charts(run_root: Path) -> None:
    run = runview.init(project="t", dir=run_root, console=False, system_interval=None)
    run.finish()
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, RunPage) and app.screen.snapshot is not None
        )
        empty = board(app).query_one(".board-empty")
        await wait_for(
            pilot,
            lambda: (
                empty.display
                and "no metrics logged yet — run.log({...}) adds charts here" in str(empty.render())
            ),
        )
        # nothing to act on: the keys change only what they can (smoothing, columns, the search)
        await pilot.press("j", "enter", "p", "s", "c", "slash", "x", "escape")
        status = str(app.screen.query_one(".charts-status").render())
        assert status == "0 charts · columns 1 · smoothing 0.6" and empty.display
        assert board(app).maximised is None and not board(app).view.pinned


async def test_footer_keeps_quit_and_help_at_80_columns_with_media(run_root: Path) -> None:
    from tests.pilot import screen_text
    from tests.test_media_panel import make_media_run

    run = make_media_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_charts(pilot, app)
        await wait_for(pilot, lambda: "m Media" in screen_text(app).splitlines()[-1])
        footer = screen_text(app).splitlines()[-1]
        assert "q Quit" in footer and "? Help" in footer and "e Edit" in footer
        await pilot.press("m")  # the media panel's own keys must not push them out either
        charts_tab = page(app).query_one("#pane-charts")
        await wait_for(
            pilot,
            lambda: (
                charts_tab.showing_media
                and "q Quit" in screen_text(app).splitlines()[-1]
                and "? Help" in screen_text(app).splitlines()[-1]
            ),
        )


async def test_the_footer_is_built_again_only_when_its_keys_change(run_root: Path) -> None:
    """Moving between charts keeps the footer's keys (each rebuild is a layout and a paint of the
    screen); maximising a chart changes them, and the footer follows."""
    from tests.pilot import screen_text

    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        footer = app.screen.query_one(PageFooter)

        def looked() -> bool:  # the footer has compared its keys since the last change
            return not footer._look_again.pending

        await wait_for(pilot, looked)
        keys = set(app.screen.query("FooterKey"))
        assert keys
        for key, chart_id in (("l", "train/loss"), ("h", "train/acc")) * 2:
            await pilot.press(key)
            await wait_for(pilot, lambda: b.focused_chart_id == chart_id)  # noqa: B023
            await wait_for(pilot, looked)
        assert set(app.screen.query("FooterKey")) == keys
        await pilot.press("slash")  # the search box: its own keys
        await wait_for(pilot, lambda: set(app.screen.query("FooterKey")) != keys)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "e Edit" in screen_text(app).splitlines()[-1])
        assert b.focused_chart_id is not None


async def test_keys_that_arrive_together_go_where_the_user_means(run_root: Path) -> None:
    """A burst (a held key, keys batched by a slow SSH link) is handled as if typed slowly."""
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:  # one column: l goes down the list
        b = await open_charts(pilot, app)
        assert b.focused_chart_id == "train/acc"

        def burst(*keys: str) -> None:  # posted at once, as the driver posts what it read
            for key in keys:
                app.post_message(events.Key(key, key if len(key) == 1 else None))

        burst("l", "l", "l")
        await wait_for(pilot, lambda: b.focused_chart_id == "lr")  # three charts on, not one
        burst("slash", "l", "o", "s", "s")
        search = app.screen.query_one("#charts-search", Input)
        await wait_for(pilot, lambda: search.value == "loss")  # typed into the search box
        assert shown(b) == ["train/loss", "val/loss"] and b.smoothing == 0.0


async def test_a_key_typed_right_behind_a_tab_digit_reaches_the_new_tab(run_root: Path) -> None:
    """ "2" then Enter, as fast as people type: Enter maximises the Charts tab's chart, not
    whatever had the focus on the tab left behind."""
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        await pilot.press("1")
        await wait_for(pilot, lambda: getattr(page(app).current_tab, "tab_name", "") == "overview")
        for key in ("2", "enter"):  # posted at once, as the driver posts what it read
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await wait_for(pilot, lambda: b.maximised == "train/acc")
        await pilot.press("escape", "1", "slash")  # in a text box a digit is text
        await pilot.press("2")
        assert page(app).current_tab.tab_name == "overview"
        assert app.screen.query_one("#kv-filter", Input).value == "2"


async def test_keys_typed_behind_the_digit_that_builds_a_tab_wait_for_it(run_root: Path) -> None:
    """The Charts tab's first visit: "2", Enter and an arrow, as fast as people type, maximise
    its first chart and show the cursor, though the charts are laid out only once the tab's
    first snapshot is (Enter used to reach a board with no charts yet, and was lost)."""
    run = make_run(run_root)
    app = RunviewApp(run.dir, tab="overview")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: page(app).ready and page(app).snapshot is not None)
        assert not app.screen.query("#pane-charts")  # not built yet
        for key in ("2", "enter", "left"):  # posted at once, as the driver posts what it read
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await wait_for(pilot, lambda: board(app).maximised == "train/acc")
        await wait_for(pilot, lambda: board(app).max_chart.cursor is not None)
        assert page(app).ready


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 40,000-step run with its final columns, for the tests of reading them (which only
    read it: its helper is the slow part, tens of seconds while other processes keep the cores
    busy)."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv("RUNVIEW_COLUMNS", raising=False)
        root = tmp_path_factory.mktemp("long")
        run = runview.init(project="t", dir=root, console=False, system_interval=None)
        for step in range(40_000):
            run.log({"train/loss": 1 / (step + 1), "train/acc": step / 40_000, "val/loss": 0.5})
        run.finish()
        final_index(run.dir)
        return run.dir


@pytest.mark.column_helper
async def test_a_long_run_shows_sampled_charts_at_once_marked_partial_then_whole(
    long_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Columns not read yet: every chart on screen is drawn at once from a sample and marked
    partial (the status line says how far loading is), then drawn from all its points; charts
    made whole stay on screen beside those still sampled."""
    import json
    import threading

    from runview.store.column_reader import LazyColumn
    from runview.tui.widgets import chart_board

    index = json.loads((long_run / "columns" / "index.json").read_bytes())
    val_file = index["keys"]["val/loss"]["file"]
    # Reading a whole column waits for the test: what is on screen meanwhile is the sample.
    release_train, release_val = threading.Event(), threading.Event()
    read = LazyColumn._read

    def held_read(self: LazyColumn):
        if self.index_x is not None:  # a metric's column (the steps are read at open)
            (release_val if self.name == val_file else release_train).wait(timeout=60)
        return read(self)

    monkeypatch.setattr(LazyColumn, "_read", held_read)
    # here: 120,000 unread points, sampled before any is read; each whole chart posted at once
    monkeypatch.setattr(chart_board, "SAMPLE_ABOVE", 50_000)
    monkeypatch.setattr(chart_board, "POST_EVERY_S", 0.0)
    app = RunviewApp(long_run, tab="charts")

    def status() -> str:
        return str(app.screen.query_one(".charts-status").render())

    try:
        async with app.run_test(size=(160, 48)) as pilot:
            b = await open_charts(pilot, app)
            visible = {key for key, _chart in b.visible_charts()}
            assert visible == {"train/acc", "train/loss", "val/loss"}
            assert b.partial_charts == visible
            assert all(0 < c.data.points < 40_000 for _key, c in b.visible_charts())
            await wait_for(pilot, lambda: "partial · loading 0%" in status())
            release_train.set()
            await wait_for(pilot, lambda: "partial · loading 67%" in status())
            assert b.partial_charts == {"val/loss"}
            assert b.charts["train/loss"].data.points == 40_000
            # On screen, not covered by Textual's loading spinner (which a widget's own reactive
            # named ``loading`` switches on for any true value).
            await wait_for(
                pilot, lambda: all(key in app.export_screenshot() for key in visible)
            )  # the charts' titles
            release_val.set()
            await wait_for(
                pilot,
                lambda: (
                    b.whole_share is None
                    and not b.partial_charts
                    and all(c.data.points == 40_000 for _key, c in b.visible_charts())
                ),
                timeout=30,
            )
            await wait_for(pilot, lambda: "partial" not in status())
    finally:
        release_train.set()
        release_val.set()


@pytest.mark.column_helper
async def test_whole_columns_are_read_once_the_sampled_charts_are_painted(
    long_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker waits for the first picture (the charts drawn from samples) before it reads
    whole columns: drawing and painting it would otherwise share the interpreter with that
    reading."""
    from runview.store.column_reader import LazyColumn
    from runview.tui.widgets import chart_board

    app = RunviewApp(long_run, tab="charts")
    painted_at_first_read: list[bool] = []
    read = LazyColumn._read

    def painted(chart) -> bool:
        # the chart's drawing on screen is of its current data, and that data is a sample
        data, key = chart.data, chart._cache_key
        sampled = data is not None and data.stamp[0] == chart_board.SAMPLED
        return sampled and key is not None and key[0] == chart._version

    def watched_read(self: LazyColumn):
        if self.index_x is not None and not painted_at_first_read:  # a metric's column
            board = app.screen.query_one(ChartBoard)
            painted_at_first_read.append(all(painted(c) for _k, c in board.visible_charts()))
        return read(self)

    monkeypatch.setattr(LazyColumn, "_read", watched_read)
    monkeypatch.setattr(chart_board, "SAMPLE_ABOVE", 50_000)  # 120,000 unread points: sampled
    # The wait's bound (a paint that never comes) is not what is tested: on a loaded machine the
    # sampled charts can take longer than it to be painted.
    monkeypatch.setattr(chart_board, "PREVIEW_PAINT_WAIT_S", 600.0)
    async with app.run_test(size=(160, 48)) as pilot:
        b = await open_charts(pilot, app)
        await wait_for(
            pilot,
            lambda: (
                b.whole_share is None
                and all(c.data.points == 40_000 for _key, c in b.visible_charts())
            ),
            timeout=30,
        )
    assert painted_at_first_read == [True]


async def test_charts_scrolled_into_view_of_a_finished_run_are_drawn(run_root: Path) -> None:
    # A finished run sends no more snapshots: scrolling alone must draw what comes into view.
    run = runview.init(project="t", dir=run_root, console=False, system_interval=None)
    for step in range(30):
        run.log({f"m/metric_{j:02d}": step * j for j in range(40)})
    run.finish()
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        b = await open_charts(pilot, app)
        last = b.charts["m/metric_39"]
        assert last.data is None  # far below the view: not drawn yet
        b.grid.scroll_end(animate=False)
        await wait_for(pilot, lambda: last.region.overlaps(b.grid.region))
        await wait_for(pilot, lambda: last.data is not None and drawn(app))


async def test_new_charts_sorting_first_keep_a_board_at_home_at_its_top(run_root: Path) -> None:
    async with live_charts(run_root) as (run, app, pilot):
        b = await open_charts(pilot, app)
        # home: the first chart focused, the board at its top
        await wait_for(pilot, lambda: b.focused_chart_id == "train/acc")
        # More new charts than a screen holds, each sorting first: the focus takes the first
        # place each time and the view stays at the top (before, it followed train/acc down
        # and the new charts were scrolled off).
        for n in range(12):
            run.log({f"a/new_{99 - n:02d}": 1.0})
            await wait_for(pilot, lambda n=n: f"a/new_{99 - n:02d}" in b.charts)
            await wait_for(pilot, lambda n=n: b.focused_chart_id == f"a/new_{99 - n:02d}")
        await settle(pilot)
        assert b.grid.scroll_y == 0
        newest = b.charts["a/new_88"]
        assert newest.region.overlaps(b.grid.region)
        # Away from home, the focus stays on its chart, and the view follows it.
        await pilot.press("j", "j")
        away = b.focused_chart_id
        assert away is not None and away.startswith("a/new_")
        run.log({"a/new_00": 1.0})
        await wait_for(pilot, lambda: "a/new_00" in b.charts)
        await settle(pilot)
        assert b.focused_chart_id == away


async def test_a_new_metric_mounts_its_chart_and_leaves_the_others_as_drawn(
    run_root: Path,
) -> None:
    """The charts already on the board stay the same widgets, with their drawings; only the new
    metric's chart (and a new prefix's section) is mounted, in the board's order."""
    async with live_charts(run_root) as (run, app, pilot):
        b = await open_charts(pilot, app)
        before = dict(b.charts)
        sections_before = dict(b._sections)
        run.log({"train/zeta": 1.0, "aux/beta": 2.0})  # one in a section there, one in a new one
        await wait_for(pilot, lambda: {"train/zeta", "aux/beta"} <= b.charts.keys())
        await wait_for(pilot, lambda: b.charts["aux/beta"].data is not None)
        assert all(b.charts[key] is chart for key, chart in before.items())
        assert all(b._sections[title] is box for title, box in sections_before.items())
        assert list(b.charts) == [c for _s, ids in b._layout for c in ids]  # the board's order
        assert section_titles(b)[0] == "aux"
