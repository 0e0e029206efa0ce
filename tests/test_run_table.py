"""The table of runs, driven by Pilot on real run directories: sort, filter, open, back, live."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual import events

from runview.tui.app import RunviewApp
from runview.tui.help_screen import HelpScreen
from runview.tui.run_page import RunPage
from runview.tui.run_table_page import RunTablePage
from runview.tui.widgets.run_table import RunTable
from tests.handmade_runs import update, write_run
from tests.pilot import footer_has, footer_text, screen_text, wait_for


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    runs = [
        ("base", {"lr": 0.1, "seed": 0}, {"val/acc": 0.5}, ["cnn"], "finished"),
        ("wide", {"lr": 0.001, "seed": 1}, {"val/acc": 0.9}, ["cnn", "keep"], "finished"),
        ("deep", {"lr": 0.01, "seed": 2}, {"val/acc": 0.7}, [], "failed"),
        ("tiny", {"lr": 0.003, "seed": 3}, {"val/acc": 0.2}, ["keep"], "crashed"),
    ]
    for i, (name, config, summary, tags, state) in enumerate(runs):
        write_run(
            root,
            "mnist",
            name,
            config=config,
            summary=summary,
            tags=tags,
            state=state,
            started=1_790_000_000 + i * 100,
        )
    return root


def table_of(app: RunviewApp) -> RunTable:
    page = next(s for s in app.screen_stack if isinstance(s, RunTablePage))
    return page.query_one(RunTable)


def shown_names(app: RunviewApp) -> list[str]:
    table = table_of(app)
    return [table.rows[key].name for key in table.shown]


async def loaded(pilot, app: RunviewApp, count: int) -> None:
    await wait_for(pilot, lambda: len(table_of(app).shown) == count)


async def test_rows_newest_first_with_automatic_columns(root: Path) -> None:
    app = RunviewApp(table=root)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app, 4)
        assert shown_names(app) == ["tiny", "deep", "wide", "base"]
        ids = [c.id for c in table_of(app).columns]
        assert ids[:4] == ["name", "state", "start", "runtime"]
        assert {"config:lr", "config:seed", "summary:val/acc", "tags"} <= set(ids)
        expected = ("✘ failed", "✘ crashed", "✔ finished", "val/acc", "4 runs")
        await wait_for(pilot, lambda: all(text in screen_text(app) for text in expected))


async def test_sort_by_any_column_and_reverse(root: Path) -> None:
    app = RunviewApp(table=root)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app, 4)
        table = table_of(app)
        target = [c.id for c in table.columns].index("summary:val/acc")
        await pilot.press(*["right"] * target)
        assert table.selected_column.id == "summary:val/acc"
        await pilot.press("s")  # a metric sorts best-first: descending
        assert shown_names(app) == ["wide", "deep", "base", "tiny"]
        await pilot.press("s")
        assert shown_names(app) == ["tiny", "base", "deep", "wide"]
        await pilot.press(*["left"] * target)
        assert table.selected_column.id == "name"
        await pilot.press("s")  # names sort A to Z first
        assert shown_names(app) == ["base", "deep", "tiny", "wide"]


async def test_filter_terms_errors_and_escape(root: Path) -> None:
    app = RunviewApp(table=root)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app, 4)
        await pilot.press("slash", *"lr<0.05 tag:keep")
        assert sorted(shown_names(app)) == ["tiny", "wide"]
        await pilot.press(*" state:failed,crashed")
        assert shown_names(app) == ["tiny"]
        page = app.screen
        await pilot.press(*" seed>=")  # half typed: the last valid filter stays, the box says so
        assert shown_names(app) == []  # the last valid one: "seed" as a word, on names and tags
        assert page.query_one("#run-filter").has_class("-invalid")
        assert "a value is missing after >=" in screen_text(app)
        await pilot.press("3")
        assert shown_names(app) == ["tiny"]
        assert not page.query_one("#run-filter").has_class("-invalid")
        await pilot.press("enter")  # back to the table
        assert app.focused is table_of(app)
        await pilot.press("escape")  # clears the filter
        assert len(shown_names(app)) == 4 and page.query_one("#run-filter").value == ""
        await pilot.press("slash", *"^(wi|de)")
        assert sorted(shown_names(app)) == ["deep", "wide"]
        await pilot.press("escape", "slash", *"val/acc>0.6")  # a "/" in the filter is text
        assert page.query_one("#run-filter").value == "val/acc>0.6"
        assert shown_names(app) == ["deep", "wide"]


async def test_the_footer_offers_enter_and_esc_while_they_work(root: Path) -> None:
    app = RunviewApp(table=root)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app, 4)
        footer = footer_text(app)
        assert "Clear filter" not in footer and "Back to the table" not in footer
        await pilot.press("slash", *"wide")  # in the box: its text takes / s ? q
        await wait_for(pilot, lambda: footer_has(app, "Back to the table", "Clear filter"))
        assert "Help" not in footer_text(app)
        await pilot.press("enter")  # the filter set: esc clears it
        await wait_for(pilot, lambda: footer_has(app, "Clear filter", "Help"))
        assert "Back to the table" not in footer_text(app)
        await pilot.press("escape")  # cleared: esc does nothing now
        await wait_for(pilot, lambda: footer_has(app, "Help") and "Clear" not in footer_text(app))


async def test_open_a_run_and_come_back_with_backspace(root: Path) -> None:
    app = RunviewApp(table=root)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app, 4)
        assert not app.can_go_back
        assert "⌫" not in screen_text(app)  # nowhere to go back to: the key is not offered
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunPage))
        await wait_for(pilot, lambda: app.screen.snapshot is not None)
        assert app.screen.snapshot.name == "deep" and app.can_go_back
        await wait_for(pilot, lambda: "Back" in screen_text(app))
        await pilot.press("2", "slash", "x", "backspace")  # in a text box it deletes, no more
        assert isinstance(app.screen, RunPage)
        await pilot.press("escape", "backspace")
        await wait_for(pilot, lambda: isinstance(app.screen, RunTablePage))
        assert table_of(app).cursor_row.name == "deep"  # where the user left it
        await pilot.press("backspace")  # the first page: nothing underneath, nothing happens
        assert isinstance(app.screen, RunTablePage)


async def test_enter_twice_in_one_burst_leaves_the_filter_then_opens_the_run(root: Path) -> None:
    """Enter in the filter goes back to the table; a second Enter read in the same burst opens
    the run the filter shows: not lost (the filter box still thought it had the focus, and took
    it as "back to the table" again), nor the run the cursor was on before the letters were in."""
    app = RunviewApp(table=root)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app, 4)
        for key in ("slash", *"deep", "enter", "enter"):  # at once, as the driver posts a burst
            app.post_message(events.Key(key, key if len(key) == 1 else "\r"))
        await wait_for(pilot, lambda: isinstance(app.screen, RunPage))
        await wait_for(pilot, lambda: app.screen.snapshot is not None)
        assert app.screen.snapshot.name == "deep"


async def test_a_new_run_arriving_and_a_running_run_moving(root: Path) -> None:
    live = write_run(root, "mnist", "live", state="running", summary={"val/acc": 0.1})
    app = RunviewApp(table=root)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app, 5)
        write_run(root, "mnist", "fresh", started=1_790_009_000, summary={"val/acc": 0.3})
        write_run(root, "cifar", "elsewhere", started=1_790_009_500)  # a new project folder too
        await wait_for(pilot, lambda: {"fresh", "elsewhere"} <= set(shown_names(app)))
        assert shown_names(app)[0] == "elsewhere"  # newest first, where it belongs
        update(live, "summary.json", **{"val/acc": 0.8})
        update(live, "status.json", heartbeat=time.time())
        table = table_of(app)
        await wait_for(pilot, lambda: table.rows[str(live)].summary["val/acc"] == 0.8)
        update(live, "status.json", state="finished", exit_code=0, ended=1_790_000_999.0)
        await wait_for(pilot, lambda: table.rows[str(live)].state == "finished")


async def test_a_run_deleted_while_open_says_so_and_the_rest_works(root: Path) -> None:
    app = RunviewApp(table=root)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app, 4)
        table = table_of(app)
        doomed = next(row for row in table.rows.values() if row.name == "deep")
        shutil.rmtree(doomed.path)
        await wait_for(pilot, lambda: table.rows[doomed.key].state == "deleted")
        await pilot.pause(0.1)
        assert "✖ deleted" in screen_text(app)
        table._set_cursor(table.shown.index(doomed.key))
        await pilot.press("enter")  # a deleted run cannot open: said, and nothing breaks
        await pilot.pause(0.1)
        assert isinstance(app.screen, RunTablePage)
        await pilot.press("slash", *"state:finished", "enter", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunPage))


async def test_columns_are_kept_per_project(root: Path) -> None:
    app = RunviewApp(table=root / "mnist")
    async with app.run_test(size=(160, 30)) as pilot:
        await loaded(pilot, app, 4)
        table = table_of(app)
        target = [c.id for c in table.columns].index("config:seed")
        await pilot.press(*["right"] * target, "x")  # hide seed
        assert "config:seed" not in [c.id for c in table.columns]
        await pilot.press(*["left"] * (target - [c.id for c in table.columns].index("config:lr")))
        assert table.selected_column.id == "config:lr"
        await pilot.press("s")  # sort by lr
        await pilot.pause(0.8)  # the debounced save
    again = RunviewApp(table=root / "mnist")
    async with again.run_test(size=(160, 30)) as pilot:
        await loaded(pilot, again, 4)
        table = table_of(again)
        await wait_for(pilot, lambda: table.sort_id == "config:lr")
        assert "config:seed" not in [c.id for c in table.columns]
        assert shown_names(again) == ["base", "deep", "tiny", "wide"]  # lr, largest first


async def test_column_picker_adds_a_column_and_resets_to_automatic(root: Path) -> None:
    app = RunviewApp(table=root)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 4)
        await pilot.press("o")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ColumnPicker")
        await pilot.press(*"^id$")  # search: the list narrows to the run id field
        await pilot.press("tab", "space", "enter")
        table = table_of(app)
        await wait_for(pilot, lambda: "id" in [c.id for c in table.columns])
        await pilot.press("o", "ctrl+r")
        await wait_for(pilot, lambda: "id" not in [c.id for c in table.columns])


async def test_marks_number_runs_in_the_order_marked(root: Path) -> None:
    app = RunviewApp(table=root)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app, 4)
        table = table_of(app)
        await pilot.press("down", "space", "up", "up", "space")
        names = {table.rows[k].name: n for k, n in table.marked.items()}
        assert names == {"deep": 0, "tiny": 1}
        await pilot.press("u")
        assert table.marked == {}
        await pilot.press("slash", *"tag:keep", "enter", "M")  # all the filter shows
        assert sorted(table.rows[k].name for k in table.marked) == ["tiny", "wide"]
        await wait_for(pilot, lambda: "2 marked" in screen_text(app))  # painted next


async def test_help_lists_the_table_keys_and_back_only_where_it_works(root: Path) -> None:
    app = RunviewApp(table=root)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, 4)
        await wait_for(pilot, lambda: "Sort" in screen_text(app).splitlines()[-1])  # drawn
        assert "⌫" not in screen_text(app).splitlines()[-1]  # nowhere to go back to: not offered
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        page_keys = app.screen.keys("Table of runs")
        assert "KEY OP VALUE" in page_keys["/"] and "state:X" in page_keys["/"]
        assert page_keys["s"].startswith("Sort") and "shift+←" in " ".join(page_keys)
        table_keys = app.screen.keys("In the table")
        assert table_keys["enter"].startswith("Open") and "space" in table_keys
        assert "to the page this was opened from" in app.screen.keys("Everywhere")["⌫"]
        await pilot.press("escape", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunPage))
        await wait_for(pilot, lambda: "⌫ Back" in screen_text(app).splitlines()[-1])
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("backspace")  # a dialog is not a page: backspace leaves it alone
        assert isinstance(app.screen, HelpScreen)


async def test_a_bad_run_is_marked_and_its_problem_said_and_the_rest_works(root: Path) -> None:
    torn = write_run(root, "mnist", "torn", started=1_790_005_000)
    (torn / "config.json").write_text('{"lr": 0.1, "se')  # a foreign writer, mid-write
    newer = write_run(root, "mnist", "newer", started=1_790_004_000)
    update(newer, "runview.json", version=9)
    half = root / "mnist" / "20991231-000000-half"
    half.mkdir()
    (half / "runview.json").write_text('{"format": "runview", "version": 1}')
    app = RunviewApp(table=root)
    async with app.run_test(size=(140, 30)) as pilot:
        await loaded(pilot, app, 7)
        await pilot.pause(0.1)
        lines = screen_text(app).splitlines()
        marked = [line for line in lines if line.startswith(" ! ")]
        assert len(marked) == 3 and any("? unknown" in line for line in marked)
        assert not any("base" in line for line in marked)
        names = shown_names(app)
        assert names[:2] == ["torn", "newer"]
        assert names[-1] == half.name  # no start time yet: last, named by its folder
        # The cursor stays on the run it was on while rows arrived: to the top, the torn run.
        await pilot.press("home")
        await wait_for(pilot, lambda: "config.json: not valid JSON" in screen_text(app))
        await pilot.press("down")
        await wait_for(pilot, lambda: "newer runview (format v9)" in screen_text(app))
        await pilot.press("end")
        await wait_for(pilot, lambda: "half-written: no meta.json" in screen_text(app))
        await pilot.press("home", "down", "down", "enter")  # a good run still opens
        await wait_for(pilot, lambda: isinstance(app.screen, RunPage))


async def test_two_roots_of_the_same_name_keep_their_own_columns(tmp_path: Path) -> None:
    roots = [tmp_path / "a" / "runs", tmp_path / "b" / "runs"]  # most roots are called runs
    for root in roots:
        write_run(root, "p", "one", config={"lr": 0.1, "seed": 1})
        write_run(root, "q", "two", config={"lr": 0.2, "seed": 2})
    app = RunviewApp(table=roots[0])
    async with app.run_test(size=(160, 30)) as pilot:
        await loaded(pilot, app, 2)
        table = table_of(app)
        await wait_for(pilot, lambda: "config:seed" in [c.id for c in table.columns])
        await pilot.press(*["right"] * [c.id for c in table.columns].index("config:seed"), "x")
        await pilot.pause(0.8)  # the debounced save
    other = RunviewApp(table=roots[1])
    async with other.run_test(size=(160, 30)) as pilot:
        await loaded(pilot, other, 2)
        await wait_for(pilot, lambda: "config:seed" in [c.id for c in table_of(other).columns])
    again = RunviewApp(table=roots[0])
    async with again.run_test(size=(160, 30)) as pilot:
        await loaded(pilot, again, 2)
        await pilot.pause(0.3)
        assert "config:seed" not in [c.id for c in table_of(again).columns]


def test_the_table_starts_without_the_run_pages_imports() -> None:
    """``runview ROOT``'s start-up stays light: no numpy, reader or plotext until a run opens."""
    code = (
        "import sys, runview.tui.cli, runview.tui.app, runview.tui.run_table_page; "
        "print(sorted(m for m in ('numpy', 'plotext', 'runview.store.reader') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr
