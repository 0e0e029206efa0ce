"""Tee the training process's stdout and stderr into the run's console log at the fd level.

Why this design:

- **File-descriptor level.** fds 1 and 2 are replaced (``dup2``) by the write end of a pty, where
  the original was a terminal, or of a pipe otherwise, so output of C extensions and child
  processes is captured along with ``print``. A pty keeps ``isatty()`` true, so progress bars and
  colours look exactly as before; its line discipline is put in raw output mode (no ``\\n`` to
  ``\\r\\n``) so the log holds the program's own bytes; the real terminal still translates.
- **A helper process holds the reading end** (``tee_process.py``, run with ``python -I -S``). It
  copies every chunk with ``os.write`` (no buffering) to the log and to the original fd, so a
  SIGKILL of the training process loses nothing that reached the fd. It sits in its own session
  and ignores INT/TERM/HUP, leaving only at end of file: children that outlive the run keep a
  reader and never get EPIPE. A thread in this process is the fallback when the helper cannot
  start (such children may then get EPIPE once the process is gone), then a Python-level wrap of
  ``sys.stdout``/``sys.stderr`` (``print`` only), then nothing.
- **One pty or pipe per destination.** stdout and stderr get separate ones so stderr stays stderr;
  when both are the same terminal or pipe they share one, which keeps their order exact.
- **stop() waits for an acknowledgement**: after the fds are restored it asks the helper on a
  control pipe to drain; the helper answers once the streams have been quiet for 50 ms (a pty
  hands bytes to its master asynchronously, so "nothing readable right now" is not proof) or
  exits at end of file when no child holds the stream. A chatty child that outlives the run only
  delays the answer until the drain's 1 s cap or ``timeout``.
- A monitor thread flushes ``sys.stdout``/``sys.stderr`` every ``flush_interval`` (a piped stdout
  is block-buffered, and a crash would otherwise lose the whole buffer) and restores the original
  fds should the helper die, so the training loop never writes into a stream nobody reads.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from runview.collectors.tee_process import Pump

_HELPER = Path(__file__).with_name("tee_process.py")
_READY_TIMEOUT = 5.0
METHODS = ("auto", "thread", "python", "off")


class _Stream:
    """One pty or pipe standing in for fds ``fds`` (``[1]``, ``[2]`` or ``[1, 2]``)."""

    def __init__(self, fds: list[int], saved: dict[int, int]) -> None:
        self.fds = fds
        self.saved = saved  # this process's copies of the original fds, restored by stop()
        self.is_pty = os.isatty(saved[fds[0]])
        if self.is_pty:
            self.read, self.write = os.openpty()
            try:
                _copy_terminal(saved[fds[0]], self.write)
            except BaseException:
                _close(self.read, self.write)
                raise
        else:
            self.read, self.write = os.pipe()

    def follow_window_size(self) -> None:
        import fcntl
        import termios

        if self.write < 0:  # stopped: the fd number may belong to someone else by now
            return
        size = fcntl.ioctl(self.saved[self.fds[0]], termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(self.write, termios.TIOCSWINSZ, size)


def _copy_terminal(original: int, slave: int) -> None:
    """Give the pty the terminal's settings and size, minus output post-processing."""
    import fcntl
    import termios

    try:
        attrs = termios.tcgetattr(original)
    except termios.error:
        attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST  # the log keeps raw bytes; the real terminal still does ONLCR
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, fcntl.ioctl(original, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        pass


class _TeeText:
    """A ``sys.stdout`` stand-in that also appends what is written to the log (the last resort)."""

    def __init__(self, inner: Any, log: Any) -> None:
        self._inner = inner
        self._log = log
        self._active = True

    def write(self, text: str) -> int:
        n = self._inner.write(text)
        if self._active:
            try:
                self._log.write(
                    text.encode(getattr(self._inner, "encoding", None) or "utf-8", "replace")
                )
            except Exception:
                pass
        return n

    def flush(self) -> None:
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class ConsoleCapture:
    """Tee fds 1 and 2 into ``log_path`` (raw bytes, both streams in one file, appended).

    ``method`` is ``"auto"`` (helper process, then thread, then Python wrap), ``"thread"`` (skip
    the helper), ``"python"`` (wrap ``sys.stdout``/``sys.stderr`` only) or ``"off"``. After
    ``start()``, ``mode`` says what was chosen: ``"pty"`` (some stream is a terminal), ``"pipe"``,
    ``"python"`` or ``"off"``; ``backend`` says who copies: ``"process"``, ``"thread"``, ``"wrap"``.
    """

    def __init__(
        self, log_path: Path, *, method: str = "auto", flush_interval: float | None = 0.2
    ) -> None:
        self.log_path = Path(log_path)
        self.method = method if method in METHODS else "auto"
        self.flush_interval = flush_interval
        self.mode = "off"
        self.backend: str | None = None
        self.error: str | None = None  # why capture is off or ended early
        self._lock = threading.Lock()
        self._started = self._stopped = False
        self._restored = True
        self._pid = -1
        self._streams: list[_Stream] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._ctl_w = self._ack_r = -1
        self._wrapped: dict[str, _TeeText] = {}
        self._log_file: Any = None
        self._old_winch: Any = None
        self._winch_installed = False
        self._on_winch: Any = None
        self._stop_monitor = threading.Event()
        self._monitor: threading.Thread | None = None

    def start(self) -> bool:
        """Begin the tee; False (fds untouched) when no capture could be set up. Never raises."""
        if self._started:
            return self.mode != "off"
        self._started = True
        self._pid = os.getpid()
        _flush_std()
        attempts = {
            "auto": ("process", "thread", "python"),
            "thread": ("thread", "python"),
            "python": ("python",),
            "off": (),
        }[self.method]
        for backend in attempts:
            try:
                ok = self._start_python() if backend == "python" else self._start_fd(backend)
            except Exception as exc:
                self.error = f"{backend}: {exc!r}"
                ok = False
            if not ok:
                self._release()
            else:
                self.backend = "wrap" if backend == "python" else backend
                self._start_monitor()
                return True
        self.mode = "off"
        return False

    @property
    def helper_pid(self) -> int | None:
        """The tee helper process's pid (not part of training: samplers leave it out)."""
        return self._proc.pid if self._proc is not None else None

    def stop(self, timeout: float = 2.0) -> None:
        """Restore fds 1/2 and wait (up to ``timeout``) until what was written is in the log."""
        if not self._started or self._stopped or self._pid != os.getpid():
            return  # (a forked child leaves the tee alone)
        self._stopped = True
        try:
            self._stop(timeout)
        except Exception as exc:
            self.error = f"stop: {exc!r}"
        finally:
            self._release()

    def _stop(self, timeout: float) -> None:
        self._stop_monitor.set()
        _flush_std()
        self._restore()
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=1.0)
        for stream in self._streams:  # the helper sees end of file unless a child holds one
            _close(stream.write)
            stream.write = -1
        for name, tee in self._wrapped.items():
            tee._active = False
            if getattr(sys, name) is tee:
                setattr(sys, name, tee._inner)
        self._wrapped = {}
        if self._ctl_w >= 0:
            os.write(self._ctl_w, b"s")
            _wait_ack(self._ack_r, timeout)
        if self._proc is not None:
            self._proc.poll()  # reap it if it already left; else it stays with the children

    def _start_fd(self, backend: str) -> bool:
        saved: dict[int, int] = {}
        for fd in (1, 2):
            try:
                os.fstat(fd)
            except OSError:
                continue
            saved[fd] = os.dup(fd)
        if not saved:
            self._close_saved(saved)
            return False
        self._streams = []
        try:
            for fds in _groups(saved):
                self._streams.append(_Stream(fds, saved))
        except BaseException:
            self._close_saved(saved)
            raise
        log_fd = ctl_r = ack_w = -1
        try:
            log_fd = self._open_log()
            ctl_r, self._ctl_w = os.pipe()
            self._ack_r, ack_w = os.pipe()
        except BaseException:
            _close(log_fd, ctl_r, ack_w)
            raise
        # from here on the spawn functions own log_fd, ctl_r and ack_w, failing or not
        spawn = self._spawn if backend == "process" else self._spawn_thread
        if not spawn(log_fd, ctl_r, ack_w):
            return False
        with self._lock:
            for stream in self._streams:
                for fd in stream.fds:
                    os.dup2(stream.write, fd)
            self._restored = False
        self.mode = "pty" if any(s.is_pty for s in self._streams) else "pipe"
        self._install_winch()
        return True

    def _spawn(self, log_fd: int, ctl_r: int, ack_w: int) -> bool:
        args = [
            sys.executable,
            "-I",
            "-S",
            str(_HELPER),
            "--log",
            str(log_fd),
            "--ctl",
            str(ctl_r),
            "--ack",
            str(ack_w),
        ]
        for s in self._streams:
            args += ["--stream", f"{s.read}:{s.saved[s.fds[0]]}:{int(s.is_pty)}"]
        pass_fds = [log_fd, ctl_r, ack_w] + [s.read for s in self._streams]
        pass_fds += [s.saved[s.fds[0]] for s in self._streams]
        try:
            if not sys.executable:
                raise OSError("sys.executable is empty")
            self._proc = subprocess.Popen(
                args,
                pass_fds=pass_fds,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            _close(log_fd, ctl_r, ack_w, *(s.read for s in self._streams))
            for s in self._streams:
                s.read = -1
        if _wait_ack(self._ack_r, _READY_TIMEOUT) != b"r":
            self.error = "process: the helper did not start"
            self._proc.kill()
            self._proc.wait()
            self._proc = None
            self._release()
            return False
        return True

    def _spawn_thread(self, log_fd: int, ctl_r: int, ack_w: int) -> bool:
        streams: dict[int, tuple[int, bool]] = {}
        try:
            for s in self._streams:
                streams[s.read] = (os.dup(s.saved[s.fds[0]]), s.is_pty)
            pump = Pump(streams, log_fd, ctl_r, ack_w)
        except BaseException:
            _close(log_fd, ctl_r, ack_w, *(dest for dest, _ in streams.values()))
            raise
        for s in self._streams:
            s.read = -1  # the pump owns and closes it
        self._thread = threading.Thread(target=pump.run, name="runview-console", daemon=True)
        try:
            self._thread.start()
        except BaseException:
            pump.close_all()
            raise
        return _wait_ack(self._ack_r, _READY_TIMEOUT) == b"r"

    def _start_python(self) -> bool:
        if sys.stdout is None and sys.stderr is None:
            return False
        self._log_file = open(self._open_log(), "ab", closefd=True)  # noqa: SIM115
        for name in ("stdout", "stderr"):
            inner = getattr(sys, name)
            if inner is not None:
                self._wrapped[name] = _TeeText(inner, self._log_file)
                setattr(sys, name, self._wrapped[name])
        self.mode = "python"
        return True

    def _open_log(self) -> int:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def _restore(self) -> None:
        """Put the original fds back (idempotent; also used when the helper dies)."""
        with self._lock:
            if self._restored:
                return
            self._restored = True
            for stream in self._streams:
                for fd in stream.fds:
                    try:
                        os.dup2(stream.saved[fd], fd)
                    except OSError:
                        pass
        self._uninstall_winch()

    def _release(self) -> None:
        """Close everything this process still holds (never the helper's own copies)."""
        self._restore()
        for stream in self._streams:
            _close(stream.read, stream.write)
            self._close_saved(stream.saved)
        self._streams = []
        _close(self._ctl_w, self._ack_r)
        self._ctl_w = self._ack_r = -1
        if self._log_file is not None and not self._wrapped:
            self._log_file.close()
            self._log_file = None

    @staticmethod
    def _close_saved(saved: dict[int, int]) -> None:
        _close(*saved.values())
        saved.clear()

    def _start_monitor(self) -> None:
        if not self.flush_interval or self.flush_interval <= 0:
            return
        self._monitor = threading.Thread(
            target=self._watch, name="runview-console-flush", daemon=True
        )
        self._monitor.start()

    def _watch(self) -> None:
        interval = float(self.flush_interval or 0.2)
        while not self._stop_monitor.wait(interval):
            _flush_std()
            if self._log_file is not None:
                try:
                    self._log_file.flush()
                except Exception:
                    pass
            dead = (self._proc is not None and self._proc.poll() is not None) or (
                self._thread is not None and not self._thread.is_alive()
            )
            if dead and not self._stop_monitor.is_set():
                self.error = f"{self.backend}: the copier ended; output goes straight through now"
                self._restore()
                self.mode = "off"
                return

    def _install_winch(self) -> None:
        """On a resize, copy the terminal's new size onto the pty at once (main thread only)."""
        import signal

        ptys = [s for s in self._streams if s.is_pty]
        if not ptys or threading.current_thread() is not threading.main_thread():
            return  # the helper also polls the size twice a second
        previous = signal.getsignal(signal.SIGWINCH)

        def on_winch(signum: int, frame: Any) -> None:
            for stream in ptys:
                try:
                    stream.follow_window_size()
                except OSError:
                    pass
            if callable(previous):
                previous(signum, frame)

        try:
            signal.signal(signal.SIGWINCH, on_winch)
        except (ValueError, OSError):
            return
        self._old_winch, self._winch_installed = previous, True
        self._on_winch = on_winch

    def _uninstall_winch(self) -> None:
        import signal

        if not self._winch_installed:
            return
        self._winch_installed = False
        try:
            if (
                threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGWINCH) is self._on_winch
            ):
                signal.signal(
                    signal.SIGWINCH,
                    self._old_winch if self._old_winch is not None else signal.SIG_DFL,
                )
        except (ValueError, OSError, TypeError):
            pass


def _groups(saved: dict[int, int]) -> list[list[int]]:
    """fds 1 and 2 share a stream when they reach the same terminal or pipe: order stays exact."""
    if len(saved) == 2:
        a, b = os.fstat(saved[1]), os.fstat(saved[2])
        shareable = stat.S_ISCHR(a.st_mode) or stat.S_ISFIFO(a.st_mode) or stat.S_ISSOCK(a.st_mode)
        if shareable and os.path.samestat(a, b):
            return [[1, 2]]
    return [[fd] for fd in sorted(saved)]


def _wait_ack(fd: int, timeout: float) -> bytes:
    """The helper's next message; b"" at end of file (it exited) or on timeout."""
    import select

    if fd < 0:
        return b""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    try:
        if not poller.poll(max(0.0, timeout) * 1000):
            return b""
        return os.read(fd, 1)
    except OSError:
        return b""


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass


def _close(*fds: int) -> None:
    for fd in fds:
        if fd is not None and fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass
