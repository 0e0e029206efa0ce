"""What runview writes to the terminal leaves it showing the screen Textual composed.

runview sends only the cells that differ from what it last sent (``runview.tui.textual_private``:
partial updates cropped to their spans, whole screens compared with what is shown, rows rendered
on demand, border rows spliced). A cell it wrongly takes as unchanged stays stale on the terminal
until something else redraws it. Here every frame the app writes is played back on a terminal
emulator (pyte) through a session of keys, and after each step the emulator's screen must come
to equal what the compositor shows.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pyte
import pytest

from runview.tui.app import RunviewApp
from runview.tui.textual_private import frames_written, screen_strips
from tests.fixed_run import write_fixed_run
from tests.pilot import wait_for

STEPS: list[tuple[str, ...]] = [
    (),  # the page as it opens (the Overview)
    ("2",),  # Charts
    ("j", "l"),  # the focus moves between charts
    ("enter",),  # one chart maximised
    ("escape",),
    ("3",),
    ("4",),
    ("5",),
    ("6",),
    ("7",),
    ("1",),
    ("question_mark",),  # a dialog over the page
    ("escape",),
    ("2", "slash", "l", "o", "s", "s", "enter"),  # charts searched
    ("c",),  # columns
    ("s",),  # smoothing
]


class Terminal:
    """A terminal emulator fed every frame the app writes."""

    def __init__(self, frames: list[str], width: int, height: int) -> None:
        self.frames = frames
        self.fed = 0
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.Stream(self.screen)

    def rows(self) -> list[str]:
        for frame in self.frames[self.fed :]:
            self.stream.feed(frame)
        self.fed = len(self.frames)
        return [row.rstrip() for row in self.screen.display]


def composed_rows(app: RunviewApp) -> list[str]:
    return ["".join(text for text, *_ in strip).rstrip() for strip in screen_strips(app.screen)]


async def until_the_terminal_shows_the_screen(
    pilot: Any, app: RunviewApp, terminal: Terminal, step: tuple[str, ...]
) -> None:
    """The next frames written may still be on their way (a chart drawn in a thread): wait until
    the emulator shows what the compositor does; a cell left stale never gets there."""

    def difference() -> str:
        diff = difflib.unified_diff(
            composed_rows(app), terminal.rows(), "composed", "terminal", n=0, lineterm=""
        )
        return f"after {step}: the terminal shows another screen\n" + "\n".join(diff)

    await wait_for(pilot, lambda: terminal.rows() == composed_rows(app), explain=difference)


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_the_terminal_shows_what_the_compositor_shows_after_every_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    monkeypatch.chdir(tmp_path)
    app = RunviewApp(write_fixed_run(tmp_path))
    with frames_written(app) as frames:
        terminal = Terminal(frames, *size)
        async with app.run_test(size=size) as pilot:
            for step in STEPS:
                await pilot.press(*step)
                await until_the_terminal_shows_the_screen(pilot, app, terminal, step)
            width, height = size[0] + 7, size[1] + 3  # a resized terminal: drawn whole again
            terminal.screen.resize(height, width)
            await pilot.resize_terminal(width, height)
            await until_the_terminal_shows_the_screen(pilot, app, terminal, ("resize",))
        assert len(frames) > len(STEPS)  # frames were written, not one whole screen at the end
