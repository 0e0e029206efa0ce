"""Every use of Textual's private API, in one module: only what has no public way.

``tests/test_textual_private.py`` exercises each one, so a Textual upgrade that moves a private
name fails there, loudly, instead of slowing or breaking the app somewhere else. Before adding
to this module, look for a public way (a method meant to be overridden, a message, a CSS rule);
when Textual grows one, move to it and delete the entry here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.control import Control
from textual._compositor import ChopsUpdate
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Tree

NodeData = TypeVar("NodeData")


class BulkTree(Tree[NodeData]):
    """A Tree that adds many nodes at the cost of one invalidation.

    ``TreeNode.add`` calls ``Tree._invalidate`` (clear the line cache, schedule a layout) for
    every node; building 16k layers that way takes 60% longer than with one call at the end,
    and there is no public batch API.
    """

    _adding_many = False

    @contextmanager
    def adding_many(self) -> Iterator[None]:
        """Add nodes inside this block; the tree is invalidated once, when it ends."""
        self._adding_many = True
        try:
            yield
        finally:
            self._adding_many = False
            self._invalidate()

    def _invalidate(self) -> None:
        if not self._adding_many:
            super()._invalidate()


def screen_strips(screen: Screen[object]) -> list[Strip]:
    """The screen as drawn: one Strip per terminal row (tests read what a user reads).

    Textual's own ``export_screenshot`` reads the compositor the same way; the only public
    output is that SVG.
    """
    return screen._compositor.render_strips()


def _changed_cells_only(self: ChopsUpdate, console: Console) -> str:
    """``ChopsUpdate.render_segments`` cropped on both sides of each span, not only the right.

    Textual sends a partial repaint from the left edge of the widget it falls in (its "TODO:
    crop to x extents"): a chart whose last three columns changed resent its whole width.
    """
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops, chop_ends = self.chops, self.chop_ends
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        for end, (x, strip) in zip(chop_ends[y], chops[y].items()):
            if strip is None or x >= x2 or end <= x1:
                continue
            start, stop = max(x, x1), min(end, x2)
            if start > x or stop < end:
                strip = strip.crop(start - x, stop - x)
            append(move_to(start, y).segment.text)
            append(strip.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def send_changed_cells_only() -> None:
    """Make every partial screen update send only the cells it repaints (over a slow SSH link,
    every byte counts). Idempotent."""
    ChopsUpdate.render_segments = _changed_cells_only  # type: ignore[method-assign]


def next_update(screen: Screen[object], *widgets: Widget) -> str:
    """What the next screen update would write to the terminal for ``widgets``' pending repaints
    (tests read it: there is no public view of it, and a headless app writes nothing)."""
    compositor = screen._compositor
    compositor.update_widgets(set(widgets))
    update = compositor.render_update()
    return "" if update is None else update.render_segments(screen.app.console)
