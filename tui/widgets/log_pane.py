"""A log pane: the console window's lines, sanitised, drawn a visible row at a time.

Each update sanitises only the lines that are new since the last one (the console snapshot
numbers its lines, so the pane knows which it has); only the visible rows are rendered, from
a cache of strips. While the view is at the bottom it follows new lines; scrolling up, or
moving to a match or a traceback, pauses it; End (or G) resumes. Long lines are cut at the edge
with a marker (and scroll sideways), or wrapped (``w``). A search (``search``) highlights its
matches and moves between them; its matches and the tracebacks are kept by ``LineMarks``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runview.store.console_tail import ConsoleSnapshot
from runview.tui.ansi import sanitize_line
from runview.tui.key_help import PAGE_KEYS, key_group
from runview.tui.log_search import LineMarks, Position

FOLLOW_TIP = "jump to the end and follow new lines again"
CUT_RIGHT, CUT_LEFT = "›", "‹"  # a line goes on past the right (left) edge
MATCH = Binding.Group("Match")
TRACEBACK = Binding.Group("Traceback")


class LogPane(ScrollView, can_focus=True):
    """The last lines of a console log, following the end unless the user scrolled up."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-pane--match",
        "log-pane--match-current",
        "log-pane--cut",
    }
    DEFAULT_CSS = """
    LogPane {
        height: 1fr;
        overflow: auto auto;
    }
    LogPane > .log-pane--match {
        background: $warning 40%;
        text-style: underline;
    }
    LogPane > .log-pane--match-current {
        text-style: bold reverse;
    }
    LogPane > .log-pane--cut {
        color: $text-accent;
        text-style: bold;
    }
    """

    HELP_TITLE = "In the log"
    # ScrollView's own keys are declared again, with what they do here, so that ? lists them.
    BINDINGS: ClassVar[list[BindingType]] = [
        *key_group(
            "Scroll the log (scrolling up pauses following)",
            ("up,k", "scroll_up", "Scroll up"),
            ("down,j", "scroll_down", "Scroll down"),
        ),
        *PAGE_KEYS,
        Binding("end,G", "follow", "Follow", show=False, tooltip=FOLLOW_TIP),
        Binding("home,g", "scroll_home", "Top", show=False, tooltip="the oldest line held"),
        *key_group(
            "Scroll sideways through long lines (when not wrapping)",
            ("left", "scroll_left", "Left"),
            ("right", "scroll_right", "Right"),
        ),
        Binding(
            "w",
            "toggle_wrap",
            "Wrap",
            tooltip=f"long lines wrapped, or cut at the edge with {CUT_RIGHT} (← → scroll)",
        ),
        Binding(
            "n",
            "next_match(1)",
            "Next match",
            group=MATCH,
            tooltip="of the search (/): the next / previous one, wrapping around",
        ),
        Binding("N", "next_match(-1)", "Previous match", group=MATCH),
        Binding("enter", "next_match(1)", "Next match", show=False, group=MATCH),
        Binding("shift+enter", "next_match(-1)", "Previous match", show=False, group=MATCH),
        Binding(
            "t",
            "traceback(1)",
            "Next traceback",
            group=TRACEBACK,
            tooltip="the next (previous) 'Traceback (most recent call last):', at the top",
        ),
        Binding("T", "traceback(-1)", "Previous traceback", show=False, group=TRACEBACK),
    ]

    wrap: var[bool] = var(False, bindings=True)
    has_tracebacks: var[bool] = var(False, bindings=True)
    searching: var[bool] = var(False, bindings=True)

    @dataclass
    class FollowChanged(Message):
        """The pane started or stopped following the end of the log."""

        pane: LogPane
        following: bool

        @property
        def control(self) -> LogPane:
            return self.pane

    @dataclass
    class MatchesChanged(Message):
        """The search's matches, or the match the view is on, changed: ``current`` of ``total``
        (``current`` 0: on none); ``note`` says something worth a glance (it wrapped)."""

        pane: LogPane
        current: int
        total: int
        note: str = ""

        @property
        def control(self) -> LogPane:
            return self.pane

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.following = True
        self._lines: list[Text] = []
        self._widths: list[int] = []
        self._first = 0  # number of self._lines[0] in the console's epoch
        self._epoch: int | None = None
        self._generation: int | None = None
        self._partial = False
        self._width = 0
        self._rows: list[int] = [0]  # when wrapping: the first row of each line, then the total
        self._wrap_width = 0
        self._strips: LRUCache[int, Strip] = LRUCache(1024)
        self._marks = LineMarks()
        self._current: Position | None = None  # the match the user is on
        self._reported: tuple[int, int] | None = None

    @property
    def line_count(self) -> int:
        return len(self._lines)

    @property
    def lines(self) -> list[Text]:
        """The sanitised lines held (a copy), oldest first."""
        return list(self._lines)

    @property
    def top_line(self) -> int:
        """Index (into ``lines``) of the line at the top of the view."""
        return self._line_at_row(round(self.scroll_y))

    def show(self, console: ConsoleSnapshot) -> None:
        """Bring the pane up to ``console``: append what is new, or start over when it moved."""
        if console.generation == self._generation and console.epoch == self._epoch:
            return
        self._generation = console.generation
        held_end = self._first + len(self._lines) - (1 if self._partial else 0)
        anchor = self._view_anchor()
        if (
            console.epoch != self._epoch
            or not console.first_line <= held_end <= console.first_line + len(console.lines)
        ):
            self._lines = [sanitize_line(line) for line in console.lines]
            self._widths = [text.cell_len for text in self._lines]
            self._first = console.first_line
            self._strips.clear()
            self._marks.reset(self._first, [text.plain for text in self._lines])
            self._current = None
        else:
            if self._partial:
                self._lines.pop()
                self._widths.pop()
                self._strips.discard(held_end)
                self._marks.drop_from(held_end)
            new = [sanitize_line(line) for line in console.lines[held_end - console.first_line :]]
            self._lines.extend(new)
            self._widths.extend(text.cell_len for text in new)
            self._marks.add(held_end, [text.plain for text in new])
            dropped = console.first_line - self._first
            if dropped > 0:
                del self._lines[:dropped]
                del self._widths[:dropped]
                self._first = console.first_line
                self._marks.drop_before(self._first)
            if not self._marks.has(self._current):
                self._current = None
        self._width = max(self._widths, default=0)
        self._epoch = console.epoch
        self._partial = console.partial
        self.has_tracebacks = bool(self._marks.tracebacks)
        self._relayout()
        if self.following:
            self._scroll_to_end()
        else:  # keep the line the user is reading where it is
            self._restore_anchor(anchor)
        self._report_matches()
        self.refresh()

    # -- layout ---------------------------------------------------------------------------------
    def _relayout(self) -> None:
        """The virtual size: the longest line by the line count, or the wrapped rows."""
        if self.wrap:
            width = self._wrap_width = max(1, self.scrollable_content_region.width)
            self._rows = [0, *accumulate(max(1, -(-w // width)) for w in self._widths)]
            self.virtual_size = Size(width, self._rows[-1])
        else:
            self.virtual_size = Size(self._width, len(self._lines))

    def _row_of(self, index: int) -> int:
        return self._rows[index] if self.wrap else index

    def _line_at_row(self, row: int) -> int:
        if not self.wrap:
            return row
        return max(0, bisect_right(self._rows, row) - 1)

    def _view_anchor(self) -> tuple[int, int]:
        """(line number, rows into it) at the top of the view, to keep it there."""
        row = round(self.scroll_y)
        index = self._line_at_row(row)
        into = row - self._row_of(index) if index < len(self._lines) else 0
        return self._first + index, into

    def _restore_anchor(self, anchor: tuple[int, int]) -> None:
        number, into = anchor
        index = max(0, number - self._first)
        if index < len(self._lines):
            self._scroll_to_row(self._row_of(index) + into)

    def _scroll_to_row(self, row: int, x: float | None = None) -> None:
        self.scroll_to(x=x, y=row, animate=False, immediate=True)

    def on_resize(self) -> None:
        if self.wrap and self.scrollable_content_region.width != self._wrap_width:
            anchor = self._view_anchor()
            self._relayout()
            if not self.following:
                self.call_after_refresh(self._restore_anchor, anchor)
        if self.following:
            self._scroll_to_end()

    def watch_wrap(self) -> None:
        anchor = self._view_anchor()
        self._relayout()
        self.scroll_to(x=0, animate=False, immediate=True)
        self.refresh()
        if self.following:
            self._scroll_to_end()
        else:  # after the layout that applies the new virtual size
            self.call_after_refresh(self._restore_anchor, anchor)

    # -- following ------------------------------------------------------------------------------
    def action_follow(self) -> None:
        """Jump to the end and follow new lines again."""
        self._set_following(True)
        self._scroll_to_end()

    def _scroll_to_end(self) -> None:
        # Deferred until after the next layout, when max_scroll_y knows the new size.
        self.scroll_end(animate=False, x_axis=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._set_following(round(new_value) >= self.max_scroll_y)

    def _set_following(self, following: bool) -> None:
        if following != self.following:
            self.following = following
            self.post_message(self.FollowChanged(self, following))

    def _pause(self) -> None:
        """Stop following: the line the user moved to stays put as lines arrive."""
        self._set_following(False)

    # -- keys -----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_match":
            return self.searching
        if action == "traceback":
            return self.has_tracebacks
        if action in ("scroll_left", "scroll_right"):
            return not self.wrap
        return True

    def action_scroll_left(self) -> None:
        self._scroll_sideways(-1)

    def action_scroll_right(self) -> None:
        self._scroll_sideways(1)

    def _scroll_sideways(self, direction: int) -> None:
        # A quarter of the width a key: a cell at a time is no way to reach the end of a long line.
        step = max(1, self.scrollable_content_region.width // 4)
        self.scroll_to(x=self.scroll_x + direction * step, animate=False, immediate=True)

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap

    def action_next_match(self, direction: int) -> None:
        forward = direction > 0
        marks = self._marks
        if self._marks.has(self._current) and self._visible(self._current[0]):  # type: ignore[index]
            moved = marks.step(self._current, forward)  # type: ignore[arg-type]
        else:  # from what is on screen
            start = self._first + (self.top_line if forward else self._bottom_line())
            found = marks.nearest(start, forward)
            moved = None if found is None else (found, False)
        if moved is None:
            self._report_matches(force=True)
            return
        position, wrapped = moved
        note = ""
        if wrapped:
            note = "wrapped to the first match" if forward else "wrapped to the last match"
        self._go_to_match(position, note)

    def action_traceback(self, direction: int) -> None:
        forward = direction > 0
        top = self._first + self.top_line
        number = self._marks.traceback_after(top, forward)
        if number is None:
            where = "below" if forward else "above"
            self.notify(f"no traceback {where} in the last {len(self._lines)} lines", timeout=3)
            return
        self._scroll_to_row(self._row_of(number - self._first), x=0)
        self._pause()

    # -- search ---------------------------------------------------------------------------------
    def search(self, pattern: re.Pattern[str] | None, origin: int | None = None) -> None:
        """Highlight ``pattern``'s matches and go to the nearest one, looking up from
        ``origin`` (a line index; default: the bottom of the view); None clears the search."""
        self._marks.set_pattern(pattern, self._first, [text.plain for text in self._lines])
        self._current = None
        self._strips.clear()
        self.searching = pattern is not None
        self.refresh()
        if pattern is not None:
            line = self._first + (self._bottom_line() if origin is None else origin)
            found = self._marks.nearest(line, forward=False)
            if found is not None:
                self._go_to_match(found, explicit=False)
                return
        elif round(self.scroll_y) >= self.max_scroll_y:
            self._set_following(True)  # the search held the view at the end: follow again
        self._report_matches(force=True)

    def _go_to_match(self, position: Position, note: str = "", explicit: bool = True) -> None:
        """Highlight the match at ``position`` and bring it into view. Moving there with a key
        (``explicit``), or scrolling to it, pauses following so that it stays put; a match found
        on screen while typing leaves a followed log following."""
        previous, self._current = self._current, position
        for changed in (previous, position):
            if changed is not None:
                self._strips.discard(changed[0])
        index = position[0] - self._first
        moved = not self._visible(position[0])
        if moved:  # out of view: put it a third of the way down
            self._scroll_to_row(
                max(0, self._row_of(index) - self.scrollable_content_region.height // 3)
            )
        if not self.wrap:
            start, end = self._marks.spans[position[0]][position[1]]
            plain = self._lines[index].plain
            left, right = _cells(plain, start), _cells(plain, end)
            width = self.scrollable_content_region.width
            if left < self.scroll_x or right > self.scroll_x + width - 1:
                self.scroll_to(x=max(0, left - width // 4), animate=False, immediate=True)
                moved = True
        if explicit or moved:
            self._pause()
        self.refresh()
        self._report_matches(note, force=True)

    def _report_matches(self, note: str = "", force: bool = False) -> None:
        marks = self._marks
        current = marks.ordinal(self._current) if self._current is not None else 0
        state = (current, marks.total)
        if marks.pattern is None or (state == self._reported and not force):
            return
        self._reported = state
        self.post_message(self.MatchesChanged(self, current, marks.total, note))

    def _visible(self, number: int) -> bool:
        index = number - self._first
        row = self._row_of(index)
        top = round(self.scroll_y)
        return top <= row < top + self.scrollable_content_region.height

    @property
    def bottom_line(self) -> int:
        """Index (into ``lines``) of the line at the bottom of the view."""
        return self._bottom_line()

    def _bottom_line(self) -> int:
        bottom = round(self.scroll_y) + max(0, self.scrollable_content_region.height - 1)
        return min(len(self._lines) - 1, self._line_at_row(bottom)) if self._lines else 0

    # -- drawing --------------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _strip(self, index: int) -> Strip:
        """The whole of line ``index``, highlighted, cached by its number."""
        number = self._first + index
        strip = self._strips.get(number)
        if strip is None:
            text = self._lines[index]
            spans = self._marks.spans.get(number)
            if spans:
                text = text.copy()
                match = self.get_component_rich_style("log-pane--match", partial=True)
                for start, end in spans:
                    text.stylize(match, start, end)
                if self._current is not None and self._current[0] == number:
                    start, end = spans[self._current[1]]
                    current = self.get_component_rich_style("log-pane--match-current", partial=True)
                    text.stylize(current, start, end)
            strip = Strip(list(text.render(self.app.console)), text.cell_len).apply_style(
                self.rich_style
            )
            self._strips[number] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        style = self.rich_style
        row = scroll_y + y
        index = self._line_at_row(row)
        if index >= len(self._lines) or (self.wrap and row >= self._rows[-1]):
            return Strip.blank(width, style)
        strip = self._strip(index)
        if self.wrap:
            start = (row - self._rows[index]) * self._wrap_width
            return strip.crop_extend(start, start + width, style)
        line_width = self._widths[index]
        cut_left = scroll_x > 0 and line_width > 0
        cut_right = line_width > scroll_x + width
        if not (cut_left or cut_right) or width < 3:
            return strip.crop_extend(scroll_x, scroll_x + width, style)
        marker = self.get_component_rich_style("log-pane--cut", partial=True)
        left = scroll_x + (1 if cut_left else 0)
        right = scroll_x + width - (1 if cut_right else 0)
        parts = [strip.crop_extend(left, right, style)]
        if cut_left:
            parts.insert(0, _mark(CUT_LEFT, style + marker))
        if cut_right:
            parts.append(_mark(CUT_RIGHT, style + marker))
        return Strip.join(parts)


def _mark(glyph: str, style: Style) -> Strip:
    return Strip([Segment(glyph, style)], 1)


def _cells(plain: str, offset: int) -> int:
    """Cells taken by ``plain[:offset]`` (wide characters take two)."""
    return offset if plain.isascii() else cell_len(plain[:offset])
