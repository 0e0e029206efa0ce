"""Keys typed in one burst around a tab's text box go where they would go typed slowly: the
letters into the box, enter and esc back out of it, the keys behind them to what has the focus."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from runview.tui.app import RunviewApp
from tests.fixed_run import write_fixed_run
from tests.pilot import footer_text, page, screen_text, settle, wait_for

# A tab, and a search in it that finds something in the fixed run.
TABS = [
    ("overview", "lr"),
    ("charts", "loss"),
    ("system", "cpu"),
    ("logs", "epoch"),
    ("model", "conv"),
]


def burst(app: RunviewApp, *keys: str) -> None:
    """Posted at once, as the driver posts what it read in one go (a paste, a slow SSH link)."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


def settled_on(app: RunviewApp, tab: str) -> bool:
    current = page(app).current_tab
    return (
        current is not None
        and current.tab_name == tab
        and current.settled
        and app.focused is not None
        and not isinstance(app.focused, Input)
    )


@pytest.mark.parametrize(("tab", "text"), TABS)
async def test_enter_and_esc_typed_in_a_burst(tab: str, text: str, tmp_path: Path) -> None:
    run = tmp_path / write_fixed_run(tmp_path)
    app = RunviewApp(run, tab=tab)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: settled_on(app, tab))
        box = page(app).current_tab.query(Input).first()
        # enter leaves the box with what was typed; the key behind it is not text
        burst(app, "slash", *text, "enter", "j")
        await settle(pilot)
        assert box.value == text
        # on what the search shows (a chart the letters hid would have lost the focus)
        assert app.focused is not None and not isinstance(app.focused, Input)
        assert app.focused.styles.display != "none"
        # esc right behind the letters: the box ends empty, not refilled by letters still queued
        burst(app, "slash", *"zz", "escape")
        await settle(pilot)
        assert box.value == "" and not isinstance(app.focused, Input)


async def test_keys_behind_enter_act_on_what_the_search_shows(tmp_path: Path) -> None:
    """``/loss`` enter ``j``: j moves from the first loss chart to the second, as typed slowly
    (handled before the letters were in, it moved among all the charts)."""
    run = tmp_path / write_fixed_run(tmp_path)
    app = RunviewApp(run, tab="charts")
    async with app.run_test(size=(80, 40)) as pilot:  # one column: j goes down the list
        await wait_for(pilot, lambda: settled_on(app, "charts"))
        board = page(app).current_tab.board
        burst(app, "slash", *"loss", "enter", "j")

        def shown() -> list[str]:
            return [chart_id for chart_id, _ in board.visible_charts()]

        # The filtered board is laid out in a frame of its own: wait for it, not for the queues.
        await wait_for(pilot, lambda: len(shown()) >= 2 and all("loss" in c for c in shown()))
        await settle(pilot)
        assert board.focused_chart_id == shown()[1], (board.focused_chart_id, shown())


@pytest.mark.parametrize(
    ("digit", "tab", "text"),
    [("5", "logs", "step"), ("4", "model", "conv"), ("2", "charts", "loss")],
)
async def test_a_search_typed_right_behind_a_tab_digit(
    digit: str, tab: str, text: str, tmp_path: Path
) -> None:
    """``5/step`` enter in one burst searches the Logs tab: until the tab being opened has the
    focus, the keys wait (the Overview kept it, and its own "/" opened the Overview's filter,
    out of sight)."""
    run = tmp_path / write_fixed_run(tmp_path)
    app = RunviewApp(run, tab="overview")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: settled_on(app, "overview"))
        overview_box = page(app).current_tab.query(Input).first()
        burst(app, digit, "slash", *text, "enter")
        await wait_for(pilot, lambda: settled_on(app, tab))
        await settle(pilot)
        box = page(app).current_tab.query(Input).first()
        assert box.value == text and overview_box.value == ""
        assert app.focused is not None and not isinstance(app.focused, Input)


async def test_keys_behind_q_are_not_handled_while_the_app_closes(tmp_path: Path) -> None:
    """``q`` then ``e`` in one burst (typed on, or batched by SSH): the viewer quits cleanly. The
    ``e`` opened the chart editor while the app closed, and its failing mount was the last thing
    on the terminal."""
    run = tmp_path / write_fixed_run(tmp_path)
    app = RunviewApp(run, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: settled_on(app, "charts"))
        burst(app, "q", "e", "question_mark")
        await wait_for(pilot, lambda: app.return_code is not None)
        await settle(pilot)
    # (run_test raises what failed in the app on the way out: the editor's mount did.)
    assert app.return_code == 0


@pytest.mark.parametrize("behind", ["enter", "o", "c"])
async def test_keys_behind_q_in_the_table_of_runs_open_nothing(tmp_path: Path, behind: str) -> None:
    """``q`` then a key that opens a page or a dialog (a priority key, handled as it is read):
    q is one too, so it is handled first and the key behind it is dropped."""
    write_fixed_run(tmp_path)  # under tmp_path/runs
    app = RunviewApp(table=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "1 run" in screen_text(app))
        await settle(pilot)
        burst(app, "q", behind)
        await wait_for(pilot, lambda: app.return_code is not None)
        await settle(pilot)
        assert len(app.screen_stack) <= 2  # no page nor dialog pushed on the way out
    assert app.return_code == 0


async def test_esc_and_a_key_read_as_one_alt_key_are_the_two_keys(tmp_path: Path) -> None:
    """A terminal sends Alt and a key as Esc and that key: Esc and a digit typed fast reach the
    app as ``alt+3``. runview binds no alt keys: it is Esc (the search box left, its text
    cleared) and ``3`` (System), not a ``3`` typed into the box."""
    run = tmp_path / write_fixed_run(tmp_path)
    app = RunviewApp(run, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: settled_on(app, "charts"))
        box = page(app).current_tab.query(Input).first()
        burst(app, "slash", *"zz")
        app.post_message(events.Key("alt+3", "3"))
        await wait_for(pilot, lambda: settled_on(app, "system"))
        assert box.value == ""


@pytest.mark.parametrize("tab", [tab for tab, _ in TABS])
async def test_the_footer_shows_how_to_leave_a_text_box(tab: str, tmp_path: Path) -> None:
    # In the box its text takes every key the footer showed (/ ? q): it lists enter and esc.
    run = tmp_path / write_fixed_run(tmp_path)
    app = RunviewApp(run, tab=tab)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: settled_on(app, tab))
        await wait_for(pilot, lambda: "? Help" in footer_text(app))
        await pilot.press("slash")
        await wait_for(pilot, lambda: "Leave the box" in footer_text(app))
        assert "? Help" not in footer_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "? Help" in footer_text(app))
        assert "Leave the box" not in footer_text(app)
