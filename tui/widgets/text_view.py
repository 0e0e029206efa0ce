"""A read-only view of prepared lines of text, drawn a visible line at a time.

The lines arrive built (highlighted, sanitised) from a worker; drawing a frame renders only the
rows on screen, from a cache of strips, so a 20,000-line preview scrolls as fast as a short one.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class TextView(ScrollView, can_focus=True):
    """Lines of rich Text, scrollable both ways."""

    DEFAULT_CSS = """
    TextView {
        height: 1fr;
        overflow: auto auto;
    }
    """

    BINDINGS = [
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
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
