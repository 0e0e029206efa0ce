"""Keyboard movement between charts: the scrolling grid, and the chart next in a direction."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget

from runview.tui.key_help import PAGE_KEYS, key_group


class ChartGrid(VerticalScroll, inherit_bindings=False):
    """The scrolling sections of a chart board.

    It keeps only its page keys: arrows and hjkl bubble up to the ChartBoard, which moves the
    focus between charts instead of scrolling.
    """

    HELP_TITLE = "On a chart"
    BINDINGS: ClassVar[list[BindingType]] = [
        *PAGE_KEYS,
        *key_group(
            "First / last chart row",
            ("home", "scroll_home", "Top"),
            ("end", "scroll_end", "Bottom"),
        ),
    ]


def neighbour(targets: list[Widget], index: int, direction: str) -> Widget | None:
    """The target next to ``targets[index]`` on screen in ``direction``."""
    here = targets[index].region
    if direction in ("left", "right"):
        row = [t for t in targets if t.region.y == here.y]
        side = [
            t for t in row if (t.region.x > here.x if direction == "right" else t.region.x < here.x)
        ]
        if side:
            return min(side, key=lambda t: abs(t.region.x - here.x))
        # off the row's end: the next chart in reading order
        step = 1 if direction == "right" else -1
        return targets[index + step] if 0 <= index + step < len(targets) else None
    below = direction == "down"
    side = [t for t in targets if (t.region.y > here.y if below else t.region.y < here.y)]
    if not side:
        return None
    nearest_y = min(abs(t.region.y - here.y) for t in side)
    row = [t for t in side if abs(t.region.y - here.y) == nearest_y]
    return min(row, key=lambda t: abs(t.region.x - here.x))
