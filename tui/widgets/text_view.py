"""A read-only view of prepared lines of text, drawn a visible line at a time.

The lines arrive built (highlighted, sanitised) from a worker; drawing a frame renders only the
rows on screen, from a cache of strips, so a 20,000-line preview scrolls as fast as a short one.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runview.tui.key_help import PAGE_KEYS, key_group


class TextView(ScrollView, can_focus=True):
    """Lines of rich Text, scrollable both ways."""

    DEFAULT_CSS = """
    TextView {
        height: 1fr;
        overflow: auto auto;
    }
    """

    HELP_TITLE = "In the preview"
    # ScrollView's own keys are declared again, with what they do here, so that ? lists them.
    BINDINGS: ClassVar[list[BindingType]] = [
        *key_group(
            "Scroll",
            ("up,k", "scroll_up", "Up"),
            ("down,j", "scroll_down", "Down"),
            ("left", "scroll_left", "Left"),
            ("right", "scroll_right", "Right"),
        ),
        *PAGE_KEYS,
        *key_group(
            "Top / bottom", ("home,g", "scroll_home", "Top"), ("end,G", "scroll_end", "Bottom")
        ),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[Text] = []
        self._strips: LRUCache[int, Strip] = LRUCache(1024)

    @property
    def lines(self) -> list[Text]:
        return self._lines

    def show(self, lines: list[Text], width: int | None = None) -> None:
        """Replace the content; ``width`` (the widest line, in cells) when already known."""
        self._lines = lines
        self._strips.clear()
        if width is None:
            width = max((line.cell_len for line in lines), default=0)
        self.virtual_size = Size(width, len(lines))
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

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
        strip = self._strips.get(index)
        if strip is None:
            text = self._lines[index]
            console = self.app.console
            segments = list(text.render(console))
            if text.style:  # Text.render leaves the whole-line style to its caller
                segments = list(Segment.apply_style(segments, console.get_style(text.style)))
            strip = Strip(segments, text.cell_len).apply_style(style)
            self._strips[index] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, style)
