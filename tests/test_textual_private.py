"""The private Textual API runview relies on, all in ``runview.tui.textual_private``: a Textual
upgrade that moves any of it fails here, by name, instead of slowing or breaking the app."""

from __future__ import annotations

import re
from pathlib import Path

from rich.text import Text
from textual import events, messages
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Static

from runview.tui.textual_private import (
    BulkTree,
    forget_shown,
    frames_written,
    keys_read_from,
    message_clock,
    next_update,
    only_row_dirty,
    read_escape_then_a_key_as_two_keys,
    repaint_quietly,
    screen_strips,
    send_changed_cells_only,
    set_border_subtitle_quietly,
)
from runview.tui.widgets.kv_table import KeyValueTable
from tests.pilot import screen_text, wait_for
from tests.test_app import OneTable

REPO = Path(__file__).resolve().parents[1]
PRIVATE_IMPORT = re.compile(
    r"^\s*(from|import)\s+textual\S*\._|^\s*from\s+textual\S*\s+import\s.*\b_\w"
)


class CountingTree(BulkTree[int]):
    """Records every Tree._invalidate call, and whether a bulk add was under way."""

    calls: list[bool]

    def _invalidate(self) -> None:
        self.calls.append(self._adding_many)
        super()._invalidate()


class TreeApp(App[None]):
    def compose(self) -> ComposeResult:
        tree = CountingTree("root", data=0)
        tree.calls = []
        yield tree


async def test_every_added_node_still_invalidates_the_tree_and_a_bulk_add_invalidates_once() -> (
    None
):
    app = TreeApp()
    async with app.run_test() as pilot:
        tree = app.query_one(CountingTree)
        tree.root.expand()
        tree.calls.clear()
        tree.root.add("one", data=1)
        # If this fails, Textual no longer routes TreeNode.add through Tree._invalidate: BulkTree's
        # override is dead code, and the layer tree builds 60% slower. Find the new hook.
        assert tree.calls == [False], tree.calls
        tree.calls.clear()
        with tree.adding_many():
            for n in range(50):
                tree.root.add(str(n), data=n)
        assert tree.calls == [True] * 50 + [False]  # 50 suppressed, one at the end
        await pilot.pause()
        assert tree.last_line == 51  # the root and its 51 children are on the tree's lines


class TextApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("hello, strips")


async def test_screen_strips_are_the_rows_the_terminal_shows() -> None:
    app = TextApp()
    async with app.run_test(size=(30, 4)) as pilot:
        await pilot.pause()
        strips = screen_strips(app.screen)
        assert len(strips) == 4 and all(strip.cell_length == 30 for strip in strips)
        assert "".join(segment.text for segment in strips[0]).startswith("hello, strips")


def test_no_other_module_imports_a_private_textual_name() -> None:
    allowed = REPO / "tui" / "textual_private.py"
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for folder in ("tui", "tests", "runview", "benchmarks")
        for path in sorted((REPO / folder).rglob("*.py"))
        if path != allowed
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE_IMPORT.search(line)
    ]
    assert not found, "private Textual names go through runview.tui.textual_private:\n" + "\n".join(
        found
    )


class ValuesApp(App[None]):
    """One Static of ``text``, its updates sent as runview sends them (changed cells only)."""

    def __init__(self, text: str = "loss     1.2345\nacc      0.5000\nsteps    1200") -> None:
        super().__init__()
        self.text = text
        send_changed_cells_only()  # as RunviewApp does

    def compose(self) -> ComposeResult:
        yield Static(self.text, id="values")


async def test_a_widget_repainted_whole_sends_only_the_cells_that_differ_from_the_screen() -> None:
    app = ValuesApp()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        full = next_update(app.screen, full=True)  # what the terminal shows from here
        assert "1.2345" in full and "1200" in full
        values = app.query_one("#values", Static)
        values.update("loss     1.2346\nacc      0.5000\nsteps    1201")
        sent = next_update(app.screen, values)  # Textual repaints all three rows of the widget
        # If this fails, Textual no longer writes partial updates through
        # ChopsUpdate.render_segments, and every repaint resends whole widgets.
        plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", sent)
        assert plain.split() == ["6", "1"], repr(sent)  # the two changed digits, nothing else
        assert "0.5000" not in sent and "loss" not in sent
        assert next_update(app.screen, values) == ""  # nothing pending: nothing sent


async def test_wide_and_combining_characters_are_sent_whole_and_compared_by_cell() -> None:
    # Text measured character by character: wide (two cells), combining (no cell of its own).
    app = ValuesApp("名前 loss 1.2345\nre\u0301sume\u0301 7")
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        full = next_update(app.screen, full=True)
        assert "名前" in full and "re\u0301sume\u0301" in full
        values = app.query_one("#values", Static)
        values.update("名前 loss 1.2346\nre\u0301sume\u0301 8")
        sent = next_update(app.screen, values)
        plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", sent)
        # Columns after the wide characters and the combining marks: one cell each.
        assert plain.split() == ["6", "8"], repr(sent)
        values.update("氏前 loss 1.2346\nre\u0301sumo 8")
        sent = next_update(app.screen, values)
        plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", sent)
        # A changed wide character goes whole; a mark's removal resends its cell.
        assert plain.split() == ["氏", "o"], repr(sent)


async def test_frames_written_are_what_each_screen_update_sends() -> None:
    app = ValuesApp()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        next_update(app.screen, full=True)  # what the terminal shows from here
        values = app.query_one("#values", Static)
        with frames_written(app) as frames:
            values.update("loss     1.2346\nacc      0.5000\nsteps    1201")
            await wait_for(pilot, lambda: frames)
        # If this fails, Textual no longer hands its frames to App._display.
        plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", "".join(frames))
        assert plain.split() == ["6", "1"], frames
        with frames_written(app) as later:  # a frame written after the first block ...
            values.update("loss     1.2347")
            await wait_for(pilot, lambda: later)
        assert len(frames) == 1  # ... is not in its list


class SecondPage(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static("second page")


async def test_a_page_is_written_once_not_again_when_it_repaints_itself_whole() -> None:
    app = ValuesApp()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        with frames_written(app) as frames:
            app.push_screen(SecondPage())
            # Textual paints a page it shows, then repaints it whole (a resumed screen refreshes
            # itself): the terminal shows all of it already the second time.
            await wait_for(pilot, lambda: len(frames) >= 2)
        written = "".join(frames)
        # If this fails, Textual no longer writes whole screens through
        # LayoutUpdate.render_segments, and each page shown is sent twice.
        assert written.count("second page") == 1, frames
        assert "1.2345" not in written  # nor the cells of the page under it


async def test_a_whole_screen_sends_only_what_differs_until_the_terminal_is_not_known() -> None:
    app = ValuesApp()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        assert "1.2345" in next_update(app.screen, full=True)
        assert next_update(app.screen, full=True) == ""  # the terminal shows it all
        app.query_one("#values", Static).update("loss     1.2346\nacc      0.5000\nsteps    1201")
        plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", next_update(app.screen, full=True))
        assert plain.split() == ["6", "1"]
        forget_shown(app.console)  # a pager drew over it, or ctrl+l
        assert "1.2346" in next_update(app.screen, full=True)
        await pilot.resize_terminal(41, 6)  # a resized terminal may have reflowed or cleared
        await wait_for(pilot, lambda: app.screen.size.width == 41)
        assert "1.2346" in next_update(app.screen, full=True)


class OneStatic(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("value")


async def test_a_border_subtitle_set_quietly_marks_nothing_dirty() -> None:
    app = OneStatic()
    async with app.run_test(size=(40, 6)) as pilot:
        static = app.query_one(Static)
        static.styles.border = ("round", "white")
        await pilot.pause()
        set_border_subtitle_quietly(static, Text("last 0.5"))
        assert static.border_subtitle == "last 0.5"
        assert not static._repaint_required  # the setter's own refresh was swallowed
        static.refresh()
        await pilot.pause()
        assert "last 0.5" in "\n".join(
            "".join(segment.text for segment in strip) for strip in screen_strips(app.screen)
        )


async def test_a_region_repainted_quietly_is_painted_in_the_next_frame_without_messages() -> None:
    posted: list[object] = []
    app = OneStatic()
    async with app.run_test(size=(40, 6), message_hook=posted.append) as pilot:
        static = app.query_one(Static)
        static.styles.border = ("round", "white")
        await pilot.pause()
        set_border_subtitle_quietly(static, Text("last 0.5"))
        posted.clear()
        width, height = static.content_size
        repaint_quietly(static, Region(0, height, width, 1))  # the bottom border row
        assert static in app.screen._dirty_widgets
        await wait_for(pilot, lambda: static not in app.screen._dirty_widgets)
        assert "last 0.5" in screen_text(app)
        assert not [m for m in posted if isinstance(m, messages.Update)]


async def test_only_row_dirty_tells_a_row_marked_alone_from_a_widget_to_draw_again() -> None:
    app = OneStatic()
    async with app.run_test(size=(40, 6)) as pilot:
        static = app.query_one(Static)
        static.styles.border = ("round", "white")
        await wait_for(pilot, lambda: only_row_dirty(static, -1))  # painted: nothing to draw
        width, height = static.content_size
        repaint_quietly(static, Region(0, height, width, 1))  # the bottom border row
        assert only_row_dirty(static, height + 1)  # in the widget's rows, under its top border
        assert not only_row_dirty(static, 0)
        static.refresh()  # every row: what Textual kept is dropped
        assert not only_row_dirty(static, height + 1)
        await wait_for(pilot, lambda: only_row_dirty(static, -1))


class CountingBox(Vertical):
    """A container that counts the rows the compositor asks it for."""

    asked: list[int]

    def render_lines(self, crop: Region) -> list[Strip]:
        self.asked.append(crop.height)
        return super().render_lines(crop)


class TwoRowsApp(App[None]):
    """Two one-row Statics 21 rows apart in a box: ``narrow``, the box shows beside them."""

    def __init__(self, narrow: bool = True) -> None:
        super().__init__()
        self.narrow = narrow
        send_changed_cells_only()  # as RunviewApp does

    def compose(self) -> ComposeResult:
        box = CountingBox(id="box")
        box.asked = []
        width = {"width": 12} if self.narrow else {}
        with box:
            yield Static("top 1", id="top").set_styles(**width)
            yield Static("\n" * 20)
            yield Static("bottom 1", id="bottom").set_styles(**width)


async def update_two_rows(narrow: bool, box_too: bool = False) -> list[int]:
    """Change the top and bottom Statics of a ``TwoRowsApp`` (``box_too``: and the box's own
    cells in their rows); the rows the box behind them was asked for, after checking what the
    terminal was sent and what the screen shows."""
    app = TwoRowsApp(narrow=narrow)
    async with app.run_test(size=(30, 24)) as pilot:
        await pilot.pause()
        next_update(app.screen, full=True)
        box = app.query_one(CountingBox)
        box.asked.clear()
        top, bottom = app.query_one("#top", Static), app.query_one("#bottom", Static)
        top.update("top 2")
        bottom.update("bottom 2")  # two rows 21 apart: Textual's box around them is 22 rows
        if box_too:
            box.refresh(Region(0, 0, 30, 1), Region(0, bottom.region.y - box.region.y, 30, 1))
        sent = next_update(app.screen, top, bottom, *([box] if box_too else []))
        asked = list(box.asked)  # before the whole screen is read back below
        plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", sent)
        assert plain.split() == ["2", "2"], repr(sent)
        shown = ["".join(seg.text for seg in strip) for strip in screen_strips(app.screen)]
        assert shown[0].startswith("top 2")
        assert [row.strip() for row in shown if row.startswith("bottom")] == ["bottom 2"]
        return asked


async def test_an_update_asks_widgets_for_the_rows_it_repaints_not_the_box_around_them() -> None:
    asked = await update_two_rows(narrow=True, box_too=True)
    # If this fails, Compositor._render_chops is no longer where Textual renders a partial
    # update, and every container under it renders all of its rows again.
    assert asked and sum(asked) == 2, asked


async def test_a_row_is_not_asked_of_a_box_that_shows_in_it_only_where_nothing_changed() -> None:
    """Charts side by side: the grid behind them shows in the gaps and beside them, but their
    latest values change inside them; the grid is not rendered for those rows."""
    asked = await update_two_rows(narrow=True)
    # If this fails, Compositor.render_partial_update no longer hands its spans over as before.
    assert asked == [], asked


async def test_a_row_the_widgets_in_front_cover_is_not_asked_of_the_box_behind_them() -> None:
    """A chart's border row, as wide as the chart: the grid behind it is not rendered for it."""
    asked = await update_two_rows(narrow=False)
    assert asked == [], asked  # the Statics fill both rows: nothing of the box shows


def test_esc_and_any_key_typed_with_it_are_read_as_alt_and_that_key() -> None:
    read_escape_then_a_key_as_two_keys()
    read = {
        sequence: [(key.key, key.character) for key in keys_read_from(sequence)]
        for sequence in ("\x1b/", "\x1b5", "\x1bz", "\x1b.", "\x1b ")
    }
    # If this fails, XTermParser._sequence_to_key_events or Textual's key table moved, and Esc
    # typed with a key is lost or read as another character (HoldsKeys splits alt+ keys).
    assert read == {
        "\x1b/": [("alt+slash", "/")],
        "\x1b5": [("alt+5", "5")],
        "\x1bz": [("alt+z", "z")],
        "\x1b.": [("alt+full_stop", ".")],
        "\x1b ": [("alt+space", " ")],
    }


def test_the_message_clock_is_the_one_that_stamps_a_key() -> None:
    """The run page tells keys typed before it was ready by their ``time``."""
    before = message_clock()
    key = events.Key("a", "a")
    assert before <= key.time <= message_clock()


async def test_a_summary_value_set_in_place_renders_its_row_alone() -> None:
    """A live summary changes a few values four times a second: the other rows come from the
    table's caches (Textual's ``update_cell`` made every row render again, through Rich)."""
    app = OneTable()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(KeyValueTable)
        table.set_data({"a": 1.5, "b": 2.5, "c": 3.5})
        await pilot.pause()
        table.move_cursor(row=2)
        await pilot.pause()
        rendered: list[str | None] = []
        render_row = table._render_line_in_row

        def counting(row_key, *args, **kwargs):  # type: ignore[no-untyped-def]
            rendered.append(row_key.value)
            return render_row(row_key, *args, **kwargs)

        table._render_line_in_row = counting  # type: ignore[method-assign]
        table.set_data({"a": 1.5, "b": 9.5, "c": 3.5})
        await wait_for(pilot, lambda: "9.5" in screen_text(app))
        assert set(rendered) == {"b"}, rendered
        assert table.cursor_row == 2
        table.set_data({"a": 1.5, "b": 123456.789, "c": 3.5})  # wider: the column grows
        await wait_for(pilot, lambda: "123457" in screen_text(app))
        for value in ("223457", "7.25"):  # in place again, after the table was drawn anew
            table.set_data({"a": 1.5, "b": float(value), "c": 3.5})
            await wait_for(pilot, lambda shown=f" {value} ": shown in screen_text(app))
