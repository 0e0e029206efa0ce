"""The table of runs: a Line API widget that draws only the rows on screen, at any number of runs.

It holds every row it was given and shows them filtered and sorted; sorting and filtering
recompute an ordered list of keys, drawing costs only the visible lines. The mark and name
columns stay in place while the others scroll sideways. Marked runs carry a number and a colour,
the ones their series get in a comparison.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runview.store.run_columns import Column, column, sort_key
from runview.store.run_filter import RunFilter
from runview.store.run_row import STATE_DELETED, RunRow
from runview.tui.key_help import key_group
from runview.tui.key_hold import hold_keys_until_a_page_opens
from runview.tui.run_cells import cell_parts, is_numeric
from runview.tui.run_colors import run_style
from runview.tui.safe_text import visible

NAME = Column("name", "field", "name")
DEFAULT_SORT = "start"
MARK_WIDTH = 3
GAP = 2
SAMPLE_ROWS = 300  # rows measured for column widths (the visible ones widen them as they show)
MAX_WIDTH = {"name": 36, "tags": 24, "host": 16, "notes": 30, "id": 12, "project": 20}
MAX_CONFIG_WIDTH = 18
MAX_SUMMARY_WIDTH = 12
MAX_MARKED = 99


class RunTable(ScrollView, can_focus=True):
    """Rows of runs under a header; a row cursor and a column cursor (which sorts and hides)."""

    COMPONENT_CLASSES = {
        "run-table--header",
        "run-table--column-cursor",
        "run-table--cursor",
        "run-table--deleted",
        "run-table--problem",
    }
    HELP_TITLE = "In the table"
    BINDINGS: ClassVar[list[BindingType]] = [
        *key_group(
            "Move between runs",
            ("up,k", "move(-1)", "Up"),
            ("down,j", "move(1)", "Down"),
            compact=True,
        ),
        *key_group("Scroll a page", ("pageup", "page(-1)", "Up"), ("pagedown", "page(1)", "Down")),
        *key_group(
            "First / last run",
            ("home,g", "edge(-1)", "First"),
            ("end,G", "edge(1)", "Last"),
        ),
        *key_group(
            "Choose a column (its header lights up; a click on a header sorts by it)",
            ("left,h", "column(-1)", "Column left"),
            ("right,l", "column(1)", "Column right"),
            compact=True,
        ),
        # A priority key, and the keys read behind it wait for the page it opens: they are for
        # that page ("5": its Logs tab), not for this table.
        Binding(
            "enter", "open", "Open", tooltip="the run's page; backspace comes back", priority=True
        ),
        Binding(
            "space",
            "mark",
            "Mark",
            tooltip="for comparison: the number and colour it gets are its lines' there",
        ),
    ]

    @dataclass
    class Opened(Message):
        """Enter (or a double click) on a row: open its run."""

        row: RunRow

    @dataclass
    class Changed(Message):
        """What is shown, marked or sorted changed (the page's status line follows)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: dict[str, RunRow] = {}
        self._columns: list[Column] = []  # scrolling sideways; NAME is always first and fixed
        self._order: list[str] = []
        self._filter = RunFilter()
        self.sort_id = DEFAULT_SORT
        self.descending = True
        self.marked: dict[str, int] = {}  # key -> number (from 0), in the order marked
        self._cursor = 0
        self._cursor_key: str | None = None
        self.column_cursor = 0  # 0 is the name; 1.. the scrolling columns
        self._widths: dict[str, int] = {}
        self._numeric: set[str] = set()
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._drawn = 0  # bumps when anything that changes every line changes

    @property
    def rows(self) -> dict[str, RunRow]:
        return self._rows

    @property
    def shown(self) -> list[str]:
        """Keys of the rows shown, in order."""
        return self._order

    @property
    def columns(self) -> list[Column]:
        return [NAME, *self._columns]

    @property
    def cursor_row(self) -> RunRow | None:
        if 0 <= self._cursor < len(self._order):
            return self._rows[self._order[self._cursor]]
        return None

    def set_rows(self, rows: Iterable[RunRow]) -> None:
        """Add rows, or replace the rows with the same keys (a run that changed)."""
        first = not self._rows
        for row in rows:
            self._rows[row.key] = row
        self._reorder()
        if first and self._rows:
            self._measure()  # later rows widen their columns as they come on screen

    def set_columns(self, ids: Sequence[str]) -> None:
        """Show these columns after the name, in this order (unknown ids are skipped)."""
        chosen = [c for c in (column(i) for i in ids if i != NAME.id) if c is not None]
        if chosen == self._columns:
            return
        current = self.selected_column.id
        self._columns = chosen
        ids_now = [c.id for c in self.columns]
        # The same column if it is still shown; else the one that took its place.
        at = ids_now.index(current) if current in ids_now else self.column_cursor
        self.column_cursor = max(0, min(at, len(ids_now) - 1))
        self._measure()
        self._reorder()

    def set_sort(self, column_id: str, descending: bool) -> None:
        self.sort_id, self.descending = column_id, descending
        self._reorder()

    def set_filter(self, chosen: RunFilter) -> None:
        self._filter = chosen
        self._reorder()

    def _reorder(self) -> None:
        """Filter and sort again, keeping the cursor on the same run."""
        now = time.time()
        sort_column = column(self.sort_id) or column(DEFAULT_SORT)
        assert sort_column is not None
        keep = self._filter.matches if self._filter else None
        ranked: list[tuple[tuple[int, object], str]] = []
        tail: list[tuple[tuple[int, object], str]] = []
        for key, row in self._rows.items():
            if keep is not None and not keep(row):
                continue
            value = sort_key(sort_column.value(row, now))
            (ranked if value[0] < 2 else tail).append((value, key))
        ranked.sort(reverse=self.descending)
        tail.sort()  # NaN and missing values last, whichever the direction
        self._order = [key for _value, key in ranked] + [key for _value, key in tail]
        if self._cursor_key in self._rows and self._cursor_key in set(self._order):
            self._cursor = self._order.index(self._cursor_key)
        self._cursor = max(0, min(self._cursor, len(self._order) - 1))
        self._cursor_key = self._order[self._cursor] if self._order else None
        self._redraw()
        self.post_message(self.Changed())

    def toggle_mark(self, keys: Sequence[str]) -> None:
        """Mark these runs, or unmark them all if all are marked already; numbers stay compact."""
        if keys and all(k in self.marked for k in keys):
            for key in keys:
                self.marked.pop(key, None)
        else:
            for key in keys:
                if key not in self.marked and len(self.marked) < MAX_MARKED:
                    self.marked[key] = len(self.marked)
        self.marked = {key: number for number, key in enumerate(self.marked)}
        self._redraw()
        self.post_message(self.Changed())

    def clear_marks(self) -> None:
        self.marked = {}
        self._redraw()
        self.post_message(self.Changed())

    def _measure(self) -> None:
        """Column widths from the header and a sample of rows, each under its cap."""
        now = time.time()
        sample = [self._rows[k] for k in self._order[:SAMPLE_ROWS]] or list(self._rows.values())[
            :SAMPLE_ROWS
        ]
        self._numeric = set()
        for col in self.columns:
            width = cell_len(col.title) + 2  # room for the sort arrow
            numbers = 0
            for row in sample:
                width = max(width, cell_len(cell_parts(col, row, now)[0]))
                numbers += is_numeric(col.value(row, now))
            if col.kind != "field" and sample and numbers >= len(sample) / 2:
                self._numeric.add(col.id)
            self._widths[col.id] = max(4, min(width, _cap(col)))
        self._redraw()

    def _widen(self, col: Column, width: int) -> None:
        """A cell on screen needs more room than measured: give it, within the cap."""
        width = min(width, _cap(col))
        if width > self._widths.get(col.id, 0):
            self._widths[col.id] = width
            self.call_later(self._redraw)

    @property
    def _fixed_width(self) -> int:
        return MARK_WIDTH + self._widths.get(NAME.id, 8) + GAP

    def _column_offsets(self) -> list[tuple[int, int]]:
        """(start, end) of each scrolling column within the scrolling part."""
        offsets, x = [], 0
        for col in self._columns:
            width = self._widths.get(col.id, 8)
            offsets.append((x, x + width))
            x += width + GAP
        return offsets

    def _redraw(self) -> None:
        self._drawn += 1
        offsets = self._column_offsets()
        scroll_width = offsets[-1][1] if offsets else 0
        self.virtual_size = Size(self._fixed_width + scroll_width, len(self._order) + 1)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._header(width, base)
        index = round(self.scroll_y) + y - 1
        if index >= len(self._order):
            return Strip.blank(width, base)
        key = self._order[index]
        row = self._rows[key]
        cursor = index == self._cursor
        style = base
        if row.state == STATE_DELETED:
            style += self.get_component_rich_style("run-table--deleted")
        if cursor:
            style += self.get_component_rich_style("run-table--cursor")
            if not self.has_focus:
                style += Style(bold=False, dim=False)
        fixed, moving = self._row_strips(row, cursor, style)
        return self._join(fixed, moving, width, style)

    def _join(self, fixed: Strip, moving: Strip, width: int, style: Style) -> Strip:
        scroll_x = round(self.scroll_x)
        room = max(0, width - fixed.cell_length)
        moving = moving.crop_extend(scroll_x, scroll_x + room, style)
        return Strip.join([fixed, moving]).crop_extend(0, width, style)

    def _row_strips(self, row: RunRow, cursor: bool, style: Style) -> tuple[Strip, Strip]:
        live = row.live  # its runtime moves every second: never cached
        cache_key = (id(row), cursor, self.marked.get(row.key), self._drawn, self.has_focus)
        if not live and cache_key in self._strips:
            return self._strips[cache_key]  # type: ignore[return-value]
        now = time.time()
        number = self.marked.get(row.key)
        mark = Segment(" " * MARK_WIDTH, style)
        if number is not None:
            mark = Segment(f"{number + 1:>2} ", style + _style(run_style(number)))
        elif row.problems:  # half-written, unreadable, newer, deleted: the status line says what
            mark = Segment(" ! ", style + self.get_component_rich_style("run-table--problem"))
        gap = Segment(" " * GAP, style)
        fixed = [mark, self._cell(NAME, row, now, style), gap]
        moving: list[Segment] = []
        for col in self._columns:
            moving += (self._cell(col, row, now, style), gap)
        strips = (Strip(fixed), Strip(moving))
        if not live:
            self._strips[cache_key] = strips
        return strips

    def _cell(self, col: Column, row: RunRow, now: float, base: Style) -> Segment:
        width = self._widths.get(col.id, 8)
        text, style = cell_parts(col, row, now)
        length = cell_len(text)
        if length > width:
            self._widen(col, length)
            text = set_cell_size(text, width - 1) + "…"
        elif col.id in self._numeric or col.key == "runtime":
            text = " " * (width - length) + text
        else:
            text += " " * (width - length)
        return Segment(text, base + _style(style) if style else base)

    def _header(self, width: int, base: Style) -> Strip:
        style = base + self.get_component_rich_style("run-table--header")
        selected = self.get_component_rich_style("run-table--column-cursor")
        cells: list[Segment] = []
        for index, col in enumerate(self.columns):
            title = visible(col.title)
            if col.id == self.sort_id:
                title += " ▼" if self.descending else " ▲"
            cell_width = self._widths.get(col.id, 8)
            if cell_len(title) > cell_width:
                title = set_cell_size(title, cell_width - 1) + "…"
            elif col.id in self._numeric or col.key == "runtime":
                title = title.rjust(cell_width)
            else:
                title = set_cell_size(title, cell_width)
            cell_style = style + Style(italic=True) if col.kind == "config" else style
            if index == self.column_cursor and self.has_focus:
                cell_style += selected
            cells.append(Segment(title, cell_style))
        gap = Segment(" " * GAP, style)
        fixed = [Segment(" " * MARK_WIDTH, style), cells[0], gap]
        moving: list[Segment] = []
        for cell in cells[1:]:
            moving += (cell, gap)
        return self._join(Strip(fixed), Strip(moving), width, style)

    def on_focus(self) -> None:
        self._redraw()

    def on_blur(self) -> None:
        self._redraw()

    def on_resize(self) -> None:
        self._show_cursor()

    def on_mount(self) -> None:
        # A running run's runtime moves every second; a table with none on screen does nothing.
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        top = round(self.scroll_y)
        visible = self._order[top : top + self.size.height]
        if any(self._rows[key].live for key in visible):
            self.refresh()

    def _set_cursor(self, index: int) -> None:
        if not self._order:
            return
        index = max(0, min(index, len(self._order) - 1))
        if index != self._cursor:
            self._cursor = index
            self._cursor_key = self._order[index]
            self._drawn += 1
            self.refresh()
            self.post_message(self.Changed())
        self._show_cursor()

    def _show_cursor(self) -> None:
        rows = max(1, self.size.height - 1)
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + rows:
            self.scroll_to(y=self._cursor - rows + 1, animate=False)

    def action_move(self, delta: int) -> None:
        self._set_cursor(self._cursor + delta)

    def action_page(self, delta: int) -> None:
        self._set_cursor(self._cursor + delta * max(1, self.size.height - 2))

    def action_edge(self, direction: int) -> None:
        self._set_cursor(0 if direction < 0 else len(self._order) - 1)

    def action_column(self, delta: int) -> None:
        self.column_cursor = max(0, min(self.column_cursor + delta, len(self._columns)))
        if self.column_cursor > 0:
            start, end = self._column_offsets()[self.column_cursor - 1]
            room = max(1, self.size.width - self._fixed_width)
            scroll_x = round(self.scroll_x)
            if start < scroll_x:
                self.scroll_to(x=start, animate=False)
            elif end > scroll_x + room:
                self.scroll_to(x=end - room, animate=False)
        else:
            self.scroll_to(x=0, animate=False)
        self._redraw()

    def action_open(self) -> None:
        row = self.cursor_row
        if row is not None:
            hold_keys_until_a_page_opens(self.app)
            self.post_message(self.Opened(row))

    def action_mark(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.toggle_mark([row.key])
            self._set_cursor(self._cursor + 1)

    @property
    def selected_column(self) -> Column:
        return self.columns[min(self.column_cursor, len(self._columns))]

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            self._click_header(offset.x)
            return
        self._set_cursor(round(self.scroll_y) + offset.y - 1)
        if event.chain >= 2:
            self.action_open()

    def _click_header(self, x: int) -> None:
        if x < self._fixed_width:
            chosen = 0
        else:
            inside = x - self._fixed_width + round(self.scroll_x)
            chosen = next(
                (i + 1 for i, (s, e) in enumerate(self._column_offsets()) if s <= inside < e + GAP),
                None,
            )
            if chosen is None:
                return
        self.column_cursor = chosen
        col = self.selected_column
        self.set_sort(col.id, not self.descending if col.id == self.sort_id else True)


def _cap(col: Column) -> int:
    if col.kind == "config":
        return MAX_CONFIG_WIDTH
    if col.kind == "summary":
        return MAX_SUMMARY_WIDTH
    return MAX_WIDTH.get(col.key, 18)


@lru_cache(maxsize=256)
def _style(name: str) -> Style:
    return Style.parse(name)
