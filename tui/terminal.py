"""The terminal driver: Textual's own, leaving the terminal exactly as it found it."""

from __future__ import annotations

import os
import sys

from textual.drivers.linux_driver import LinuxDriver


def follow_the_real_terminal_size() -> None:
    """Forget exported ``COLUMNS`` and ``LINES`` when stdout is a terminal.

    Textual sizes the screen with ``shutil.get_terminal_size``, which prefers these variables to
    the terminal itself: exported (some shells and tools do), they pinned the viewer to a size
    and it ignored every resize. Children (the pager) then ask the terminal too.
    """
    if sys.stdout.isatty():
        os.environ.pop("COLUMNS", None)
        os.environ.pop("LINES", None)


class CleanExitDriver(LinuxDriver):
    """Textual's Linux driver, clearing the alternate screen before it leaves it.

    tmux restores a pane that grew while an app was open by pushing the top of the alternate
    screen into the main one: the last frame stayed above the shell prompt after ``q``. The
    alternate screen is discarded on exit anyway, so emptying it first costs nothing.
    """

    def stop_application_mode(self) -> None:
        self.write("\x1b[0m\x1b[H\x1b[2J")
        super().stop_application_mode()
