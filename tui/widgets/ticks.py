"""A checkbox and a checklist whose state is a glyph (✓ or blank), not only a colour.

Textual draws a toggle as ``▐X▌`` with the same X on and off and tells them apart by colour
alone: under ``NO_COLOR`` (or a monochrome terminal) every box looks ticked. These keep Textual's
look and put a ✓ in a ticked box and nothing in an empty one.
"""

from __future__ import annotations

from typing import TypeVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList
from textual.widgets.option_list import OptionDoesNotExist

TICK = "✓"
EMPTY = " "

ValueT = TypeVar("ValueT")


class TickBox(Checkbox):
    """A Checkbox showing ✓ when ticked and an empty box when not."""

    @property  # type: ignore[override]
    def BUTTON_INNER(self) -> str:  # noqa: N802 - Textual's name for the glyph
        return TICK if self.value else EMPTY


class TickList(SelectionList[ValueT]):
    """A SelectionList whose boxes show ✓ for a selected option and nothing otherwise."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        # SelectionList draws BUTTON_LEFT, BUTTON_INNER, BUTTON_RIGHT, a space, then the prompt.
        if len(segments) < 4 or segments[1].text != Checkbox.BUTTON_INNER:
            return strip
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        segments[1] = Segment(TICK if option.value in self.selected else EMPTY, segments[1].style)
        return Strip(segments, strip.cell_length)
