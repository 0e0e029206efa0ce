"""How often a live page updates the screen: four times a second, slower while the terminal is
behind.

Over a slow SSH link the terminal can take less than the app writes. What it has not taken waits
in the tty: in its output queue (``TIOCOUTQ``, on a serial line), or, on the pseudo-terminal sshd
holds, in a buffer that fills until the tty is no longer writable. Frames queued behind it only
make the screen later, so while the terminal is behind the page updates less often, down to once
a second, and speeds up again once it has caught up. A value logged is then on screen within
about a second however slow the link.
"""

from __future__ import annotations

import select
import sys

try:  # not on Windows: there the pace stays at its fastest
    import fcntl
    import termios

    _TIOCOUTQ: int | None = getattr(termios, "TIOCOUTQ", None)
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    _TIOCOUTQ = None

FASTEST_S = 0.25  # at most four screen updates a second, however often the logger flushes
SLOWEST_S = 1.0  # never less than one a second for the newest value
BACKLOG_BYTES = 4096  # queued output that says the terminal is not keeping up


def queued_output(fd: int) -> int | None:
    """Bytes written to the terminal on ``fd`` that it has not taken yet; None: not a tty."""
    if fcntl is None or _TIOCOUTQ is None:
        return None
    try:
        raw = fcntl.ioctl(fd, _TIOCOUTQ, b"\0\0\0\0")
    except (OSError, ValueError):
        return None
    return int.from_bytes(raw, sys.byteorder, signed=True)


def terminal_behind(fd: int) -> bool | None:
    """Whether the terminal on ``fd`` has fallen behind what was written to it; None: unknown."""
    queued = queued_output(fd)
    if queued is not None and queued > BACKLOG_BYTES:
        return True
    try:
        # A pty passes output on at once (TIOCOUTQ stays 0) until the reader stops taking it;
        # then its buffer fills and it is no longer writable.
        _, writable, _ = select.select([], [fd], [], 0)
    except (OSError, ValueError):
        return None
    return not writable


def terminal_fd() -> int | None:
    """The descriptor the app's screen is written to: Textual's driver writes to the real
    stderr (one tty with stdout in a terminal, so either tells the same queue)."""
    for stream in (sys.__stderr__, sys.__stdout__):
        try:
            if stream is not None:
                return stream.fileno()
        except (OSError, ValueError):
            continue
    return None


class RefreshPace:
    """The wait before the next screen update: doubles while output is backed up, halves once
    the terminal has taken it all. Called from a worker thread: only reads the tty."""

    def __init__(self, fd: int | None = None) -> None:
        self.fd = terminal_fd() if fd is None else fd
        self.interval = FASTEST_S

    def next_interval(self) -> float:
        behind = None if self.fd is None else terminal_behind(self.fd)
        if behind:
            self.interval = min(SLOWEST_S, self.interval * 2)
        elif behind is not None:
            self.interval = max(FASTEST_S, self.interval / 2)
        return self.interval
