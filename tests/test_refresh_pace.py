"""The live refresh pace follows a real tty's output queue: slower while the terminal is behind,
back to four updates a second once it has caught up, never under one a second."""

from __future__ import annotations

import os
import sys
import time

import pytest

from runview.tui.refresh_pace import FASTEST_S, SLOWEST_S, RefreshPace, terminal_behind

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="ttys and TIOCOUTQ are POSIX")


def test_a_terminal_that_falls_behind_slows_the_updates_and_one_that_catches_up_speeds_them() -> (
    None
):
    reader, writer = os.openpty()  # writer: the app's tty; reader: the terminal (not reading)
    try:
        pace = RefreshPace(writer)
        assert pace.next_interval() == FASTEST_S
        os.set_blocking(writer, False)
        # Filled until the queue stays full: the kernel moves what a pty queued on to the
        # terminal's side in the background (into a buffer nobody reads here), so a queue just
        # found full can take more a moment later, until that side is full too.
        deadline = time.monotonic() + 30
        while fill(writer) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert terminal_behind(writer)
        intervals = [pace.next_interval() for _ in range(5)]
        assert intervals[0] > FASTEST_S
        assert intervals[-1] == SLOWEST_S, "slows down, but never below one update a second"
        os.set_blocking(reader, False)
        try:
            while os.read(reader, 65536):
                pass
        except BlockingIOError:
            pass
        assert terminal_behind(writer) is False
        assert [pace.next_interval() for _ in range(3)][-1] == FASTEST_S
    finally:
        os.close(reader)
        os.close(writer)


def fill(fd: int) -> int:
    """Write to non-blocking ``fd`` until it takes no more; returns the bytes it took."""
    written = 0
    try:
        while written < 1 << 20:
            written += os.write(fd, b"x" * 1024)
    except BlockingIOError:
        pass
    return written


def test_a_file_keeps_the_fastest_pace(tmp_path) -> None:
    with open(tmp_path / "out", "wb") as out:
        assert not terminal_behind(out.fileno())
        assert RefreshPace(out.fileno()).next_interval() == FASTEST_S
