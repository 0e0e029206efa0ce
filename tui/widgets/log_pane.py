"""A log pane: the console window's lines, sanitised, drawn a visible line at a time.

Each update sanitises only the lines that are new since the last one (the console snapshot
numbers its lines, so the pane knows which it has); only the visible rows are rendered, from
a cache of strips. While the view is at the bottom it follows new lines; scrolling up
pauses it, End (or G) resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runview.store.console_tail import ConsoleSnapshot
from runview.tui.ansi import sanitize_line
from runview.tui.key_help import PAGE_KEYS, key_group

FOLLOW_TIP = "jump to the end and follow new lines again"


class LogPane(ScrollView, can_focus=True):
    """The last lines of a console log, following the end unless the user scrolled up."""

    DEFAULT_CSS = """
    LogPane {
        height: 1fr;
        overflow: auto auto;
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
            "Scroll sideways through long lines",
            ("left", "scroll_left", "Left"),
            ("right", "scroll_right", "Right"),
        ),
    ]

    @dataclass
    class FollowChanged(Message):
        """The pane started or stopped following the end of the log."""

        pane: LogPane
        following: bool

        @property
        def control(self) -> LogPane:
            return self.pane

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.following = True
        self._lines: list[Text] = []
        self._first = 0  # number of self._lines[0] in the console's epoch
        self._epoch: int | None = None
        self._generation: int | None = None
        self._partial = False
        self._width = 0
        self._strips: LRUCache[int, Strip] = LRUCache(1024)

    @property
    def line_count(self) -> int:
        return len(self._lines)

    @property
    def lines(self) -> list[Text]:
        """The sanitised lines held (a copy), oldest first."""
        return list(self._lines)

    def show(self, console: ConsoleSnapshot) -> None:
        """Bring the pane up to ``console``: append what is new, or start over when it moved."""
        if console.generation == self._generation and console.epoch == self._epoch:
            return
        self._generation = console.generation
        held_end = self._first + len(self._lines) - (1 if self._partial else 0)
        dropped = 0
        if (
            console.epoch != self._epoch
            or not console.first_line <= held_end <= console.first_line + len(console.lines)
        ):
            self._lines = [sanitize_line(line) for line in console.lines]
            self._first = console.first_line
            self._strips.clear()
            self._width = max((text.cell_len for text in self._lines), default=0)
        else:
            if self._partial:
                self._lines.pop()
                self._strips.discard(held_end)
            new = [sanitize_line(line) for line in console.lines[held_end - console.first_line :]]
            self._lines.extend(new)
            self._width = max(self._width, max((text.cell_len for text in new), default=0))
            dropped = console.first_line - self._first
            if dropped > 0:
                del self._lines[:dropped]
                self._first = console.first_line
        self._epoch = console.epoch
        self._partial = console.partial
        self.virtual_size = Size(self._width, len(self._lines))
        if self.following:
            self._scroll_to_end()
        elif dropped > 0:  # keep the lines the user is reading where they are
            self.scroll_to(y=max(0, self.scroll_y - dropped), animate=False, immediate=True)
        self.refresh()

    def action_follow(self) -> None:
        """Jump to the end and follow new lines again."""
        self._set_following(True)
        self._scroll_to_end()

    def on_resize(self) -> None:
        if self.following:
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

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        style = self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, style)
        number = self._first + index
        strip = self._strips.get(number)
        if strip is None:
            text = self._lines[index]
            strip = Strip(list(text.render(self.app.console)), text.cell_len).apply_style(style)
            self._strips[number] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, style)
