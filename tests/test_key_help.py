"""``?`` is built from the bindings: its rules, and every tab's help in the real app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import Input

from runview.tui.app import RunviewApp
from runview.tui.compare_page import ComparePage
from runview.tui.help_screen import HelpScreen
from runview.tui.key_help import (
    KeyRow,
    declared_bindings,
    key_rows,
    key_sections,
    priority_keys,
)
from runview.tui.run_page import RunPage
from runview.tui.tabs.base import RunTab
from tests.fixed_run import write_fixed_run
from tests.pilot import page, screen_text, settle, wait_for
from tests.test_compare import charts_drawn, sweep

MOVE = Binding.Group("Move", compact=True)
EDGES = Binding.Group("First / last")


class Base(RunTab):
    BINDINGS = [
        Binding("x", "one", "One", tooltip="the longer story"),
        Binding("y", "two"),  # no description: internal, not listed
        Binding("end,G", "last", "Last"),
    ]


class Sub(Base):
    HELP_TITLE = "Somewhere"
    BINDINGS = [
        Binding("x", "other", "Replaced"),  # the same key: the subclass's binding wins
        Binding("left,h", "go('left')", "Left", group=MOVE),
        Binding("right,l", "go('right')", "Right", group=MOVE),
        Binding("home", "edge(0)", "First", group=EDGES),
        Binding("end", "edge(-1)", "Last", group=EDGES),
    ]


def test_rows_follow_the_bindings() -> None:
    assert key_rows(
        [Binding("a", "x", "Apple", tooltip="red"), Binding("b", "y"), Binding("ctrl+r", "z", "R")]
    ) == [KeyRow("a", "Apple", "red"), KeyRow("ctrl+r", "R")]
    [section] = key_sections([Sub])
    assert section.title == "Somewhere"
    assert [(row.keys, row.text) for row in section.rows] == [
        ("x", "Replaced"),
        ("end / G", "Last"),
        ("←→ / hl", "Move"),
        ("home / end", "First / last"),
    ]
    tabs = [Binding(str(n), f"tab({n})", f"Tab {n}", group=MOVE) for n in range(1, 8)]
    assert key_rows(tabs) == [KeyRow("1–7", "Move")]
    assert key_sections([Base], title="Here")[0].title == "Here"
    assert key_sections([Sub, Base], title="One")[0].rows[0] == KeyRow("x", "Replaced")
    assert [s.title for s in key_sections([Base])] == ["Base"]  # no HELP_TITLE: the class name
    # A key the page takes first (a priority binding) is not the focused widget's to list.
    [shadowed] = key_sections([Sub], shadowed={"l", "x"})
    assert [row.keys for row in shadowed.rows] == ["end / G", "←→ / h", "home / end"]


def test_priority_keys_are_the_keys_a_page_takes_first() -> None:
    assert priority_keys(ComparePage) == {"1", "2", "3", "l", "g"}  # l: the legend, over hjkl
    assert "l" not in priority_keys(RunPage)  # where l moves right, as everywhere else


async def test_on_the_comparison_l_is_the_legend_in_help_not_a_move(run_root: Path) -> None:
    app = RunviewApp(compare=sweep(run_root, seeds=(0,), steps=10))
    async with app.run_test(size=(80, 24)) as pilot:
        await charts_drawn(pilot, app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert "←↓↑→ / hjk" in help_screen.keys("On a chart")
        assert "←↓↑→ / hjkl" not in help_screen.keys("On a chart")
        assert "l" in help_screen.keys("Everywhere")


TABS = {
    # tab: (section, keys that must be listed in it), checked for every tab
    "overview": [("Overview tab", ["/", "esc"]), ("In the config and summary tables", ["↑ / ↓"])],
    "charts": [
        ("Charts tab", ["/", "s / S", "p", "c", "e", "m"]),
        ("On a chart", ["←↓↑→ / hjkl", "enter", "esc", "z"]),
        ("Media panel (m)", [", ← / . →", "home / end"]),
        ("Chart editor (e)", ["enter", "esc / q", "ctrl+r", "space", "c / C"]),
    ],
    "system": [("System tab", ["/", "e"]), ("On a chart", ["enter", "z"])],
    "model": [("Model tab", ["/"]), ("In the layer tree", ["e / E", "→ / l", "enter / space"])],
    "logs": [("Logs tab", ["p"]), ("In the log", ["end / G", "home / g", "↑ k / ↓ j"])],
    "files": [],
    "artifacts": [],
}


@pytest.mark.parametrize("tab", list(TABS))
async def test_every_tab_lists_its_keys_and_the_footers_under_help(
    tab: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = RunviewApp(write_fixed_run(tmp_path), tab=tab)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: page(app).snapshot is not None)
        await wait_for(pilot, lambda: "q Quit" in screen_text(app).splitlines()[-1])
        await pilot.pause(0.2)
        footer = {  # the keys the footer shows now: each must be listed under help
            app.get_key_display(binding)
            for _node, binding, enabled, _tip in app.screen.active_bindings.values()
            if binding.show and enabled
        }
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        for title, keys in TABS[tab] + [("Everywhere", ["1–7", "[ / ]", "tab / shift+tab"])]:
            listed = help_screen.keys(title)
            missing = [key for key in keys if key not in listed]
            assert not missing, (title, missing, listed)
        listed_keys = {
            key
            for section in help_screen.sections
            for row in section.rows
            for key in re.split(r" / | ", row.keys)
        }
        assert footer and footer <= listed_keys, footer - listed_keys
        # It fits the terminal, and scrolls when it is longer.
        body = help_screen.query_one("#help-body")
        assert body.region.right <= 80 and body.region.bottom <= 24
        await pilot.press("pagedown")
        if body.max_scroll_y:
            await wait_for(pilot, lambda: body.scroll_y > 0)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_slash_typed_in_a_search_box_is_text(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = RunviewApp(write_fixed_run(tmp_path), tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "q Quit" in screen_text(app).splitlines()[-1])
        # Typed as the charts are first laid out (the footer shows before the first snapshot):
        # the layout that follows must not take the focus back from the box.
        await pilot.press("slash", *"train", "slash", "l")
        await wait_for(pilot, lambda: page(app).query_one("#pane-charts").board.charts)
        await pilot.pause()
        search = app.screen.query_one("#charts-search", Input)
        assert search.value == "train/l" and search.has_focus


PAGE_TABS = [
    *(("run", tab) for tab in TABS),
    *(("compare", tab) for tab in ("overview", "charts", "system")),
    ("table", ""),
]


@pytest.mark.parametrize(("kind", "tab"), PAGE_TABS)
async def test_the_pages_keys_work_on_every_tab(
    kind: str, tab: str, run_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A page's keys (and the app's) must not be taken by what a tab focuses: on the comparison's
    # Charts tab a focused chart took l (vim's right), and the Legend was gone from the footer.
    monkeypatch.chdir(tmp_path)
    if kind == "run":
        app = RunviewApp(write_fixed_run(tmp_path), tab=tab)
    elif kind == "compare":
        app = RunviewApp(compare=sweep(run_root, seeds=(0,), steps=10), tab=tab)
    else:
        sweep(run_root, seeds=(0,), steps=10)
        app = RunviewApp(table=run_root)
    async with app.run_test(size=(80, 24)) as pilot:
        if kind == "table":
            await wait_for(pilot, lambda: "2 runs" in screen_text(app))
        else:
            await wait_for(pilot, lambda: app.screen.snapshot is not None)
            # ready: the tab shown has settled, its focus given (a tab with nothing to show
            # focuses nothing), and the keys that wait for that (q) are on
            await wait_for(pilot, lambda: app.screen.current_tab is not None and app.screen.ready)
        await settle(pilot)
        screen = app.screen
        active = screen.active_bindings
        checked = []
        for node in (screen, app):
            for binding in declared_bindings(type(node)):
                state = app._check_action_state(binding.action, node)
                if not binding.description or state is False:
                    continue  # internal, or off here (back, with nothing to go back to)
                for key in binding.key.split(","):
                    taken = active.get(key)
                    assert taken is not None and taken.binding.action == binding.action, (
                        f"{key} ({binding.description}) is taken by "
                        f"{taken and taken.node!r}: {taken and taken.binding.action}"
                    )
                    checked.append(key)
        assert {"q", "ctrl+l"} <= set(checked) and len(checked) >= 4, checked
