"""Keyboard movement between charts: the scrolling grid's keys, and which chart lies next in a
direction."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget


class ChartGrid(VerticalScroll):
    """The scrolling sections. Arrow keys and hjkl move between charts instead of scrolling."""

    BINDINGS = [
        Binding("left,h", "move('left')", "Left", show=False),
        Binding("right,l", "move('right')", "Right", show=False),
        Binding("up,k", "move('up')", "Up", show=False),
        Binding("down,j", "move('down')", "Down", show=False),
        Binding("z", "fold", "Fold section", show=False),
    ]

    def action_move(self, direction: str) -> None:
        move = getattr(self.parent, "move_focus", None)  # the ChartBoard
        if move is not None:
            move(direction)

    def action_fold(self) -> None:
        fold = getattr(self.parent, "fold_focused_section", None)
        if fold is not None:
            fold()


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
