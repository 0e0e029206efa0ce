"""Copy captured stdout/stderr bytes to the original destination and to the run's log file.

Runs as a small helper process (``python -I -S tee_process.py ...``) started by
``runview.collectors.console``, or, as a fallback, as a thread inside the training process. It is
stdlib-only and imports nothing from runview, so ``-I -S`` keeps its start-up cheap and immune to
whatever sits on the user's ``sys.path`` or in ``PYTHON*`` variables.

Protocol on the two control pipes: the helper writes ``r`` on the ack pipe once it is reading; a
``s`` on the control pipe asks it to drain what was written so far and answer ``a``. It exits only
at end of file on every captured stream (every writer closed, children that outlived the run
included), so no writer ever sees EPIPE; signals that would stop it earlier are ignored.
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import signal
import sys
import time

CHUNK = 65536
RESIZE_POLL = 0.5  # seconds between window-size checks of the real terminal
DRAIN_QUIET = 0.05  # a sync request is answered once the streams have been quiet this long
DRAIN_MAX = 1.0  # ... or after this long, when a child keeps writing


def write_all(fd: int, data: bytes) -> None:
    """Write every byte, waiting on a destination someone put in non-blocking mode."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            poller = select.poll()  # poll, not select: fds above FD_SETSIZE are common in training
            poller.register(fd, select.POLLOUT)
            poller.poll()
            continue
        view = view[n:]


class Pump:
    """Copy each readable stream to its destination fd and to the log until every stream ends.

    ``streams`` maps a read fd (pty master or pipe read end) to ``(dest_fd, is_pty)``. The pump owns
    every fd it is given and closes them when it returns. A destination that fails (terminal gone,
    reader of a pipe gone) is dropped and the log keeps being written; after a failed log write the
    next chunk is tried again.
    """

    def __init__(
        self, streams: dict[int, tuple[int, bool]], log_fd: int, ctl_fd: int, ack_fd: int
    ) -> None:
        self.dest = {read: dest for read, (dest, _) in streams.items()}
        self.ptys = {read for read, (_, is_pty) in streams.items() if is_pty}
        self.log_fd = log_fd
        self.ctl_fd = ctl_fd
        self.ack_fd = ack_fd
        self.sel = selectors.DefaultSelector()
        self.winsize: dict[int, bytes] = {}

    def run(self) -> None:
        try:
            for fd in self.dest:
                self.sel.register(fd, selectors.EVENT_READ)
            if self.ctl_fd >= 0:
                self.sel.register(self.ctl_fd, selectors.EVENT_READ)
            self._ack(b"r")
            next_resize = time.monotonic()
            while self.dest:
                timeout = None
                if self.ptys:
                    now = time.monotonic()
                    if now >= next_resize:
                        self._follow_window_size()
                        next_resize = now + RESIZE_POLL
                    timeout = max(0.0, next_resize - now)
                for key, _ in self.sel.select(timeout):
                    if key.fd == self.ctl_fd:
                        self._control()
                    elif key.fd in self.dest:
                        self._copy(key.fd)
        finally:
            self.close_all()

    def _copy(self, fd: int) -> None:
        try:
            data = os.read(fd, CHUNK)
        except OSError:  # EIO from a pty master once every slave is closed
            data = b""
        if not data:
            self._close_stream(fd)
            return
        if self.log_fd >= 0:  # log first: what the terminal shows is never missing from the log
            try:
                write_all(self.log_fd, data)
            except OSError:
                pass
        dest = self.dest[fd]
        if dest >= 0:
            try:
                write_all(dest, data)
            except OSError:
                self._drop_dest(fd)

    def _control(self) -> None:
        if b"s" in self._read_control():
            self._drain()
            self._ack(b"a")

    def _read_control(self) -> bytes:
        try:
            data = os.read(self.ctl_fd, 64)
        except OSError:
            data = b""
        if not data:  # the training process is gone or done asking; keep copying regardless
            self.sel.unregister(self.ctl_fd)
            _close(self.ctl_fd)
            self.ctl_fd = -1
        return data

    def _drain(self) -> None:
        """Read until the streams are quiet a moment: a pty hands bytes over asynchronously."""
        deadline = time.monotonic() + DRAIN_MAX
        while self.dest and time.monotonic() < deadline:
            events = self.sel.select(DRAIN_QUIET)
            if not events:
                return
            for key, _ in events:
                if key.fd == self.ctl_fd:
                    self._read_control()
                elif key.fd in self.dest:
                    self._copy(key.fd)

    def _follow_window_size(self) -> None:
        """Give each pty the real terminal's size (the training process does too, on SIGWINCH)."""
        import fcntl
        import termios

        for fd in list(self.ptys):
            dest = self.dest.get(fd, -1)
            if dest < 0:
                continue
            try:
                size = fcntl.ioctl(dest, termios.TIOCGWINSZ, b"\0" * 8)
                if self.winsize.get(fd) != size:
                    fcntl.ioctl(fd, termios.TIOCSWINSZ, size)
                    self.winsize[fd] = size
            except OSError:
                self.ptys.discard(fd)

    def _ack(self, what: bytes) -> None:
        if self.ack_fd >= 0:
            try:
                os.write(self.ack_fd, what)
            except OSError:
                _close(self.ack_fd)
                self.ack_fd = -1

    def _drop_dest(self, fd: int) -> None:
        dest = self.dest.get(fd, -1)
        if dest >= 0:
            self.dest[fd] = -1
            if dest not in self.dest.values():
                _close(dest)
        self.ptys.discard(fd)

    def _close_stream(self, fd: int) -> None:
        try:
            self.sel.unregister(fd)
        except (KeyError, ValueError):
            pass
        self._drop_dest(fd)
        del self.dest[fd]
        _close(fd)

    def close_all(self) -> None:
        for fd in list(self.dest):
            self._close_stream(fd)
        for fd in (self.log_fd, self.ctl_fd, self.ack_fd):
            _close(fd)
        self.log_fd = self.ctl_fd = self.ack_fd = -1
        self.sel.close()


def _close(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)


def parse_args(argv: list[str]) -> tuple[dict[int, tuple[int, bool]], int, int, int]:
    """``--log FD --ctl FD --ack FD --stream READ:DEST:ISPTY [--stream ...]``."""
    streams: dict[int, tuple[int, bool]] = {}
    fds = {"--log": -1, "--ctl": -1, "--ack": -1}
    it = iter(argv)
    for flag in it:
        value = next(it)
        if flag == "--stream":
            read, dest, is_pty = (int(part) for part in value.split(":"))
            streams[read] = (dest, bool(is_pty))
        elif flag in fds:
            fds[flag] = int(value)
        else:
            raise SystemExit(f"tee_process: unknown argument {flag}")
    return streams, fds["--log"], fds["--ctl"], fds["--ack"]


def main(argv: list[str]) -> int:
    # Ctrl-C, a hang-up or a TERM aimed at the whole job must not end the copy early: the helper
    # leaves at end of file, which comes once the training process and its children are gone.
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGTSTP", "SIGTTOU", "SIGTTIN"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    try:
        Pump(*parse_args(argv)).run()
    except Exception:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
