"""The run's column helper: a small process, started by ``init``, that builds ``columns/``.

Why a process (docs/run-format.md, "Loading long runs fast"): parsing the JSONL back into columns
costs ~5 µs of CPU per row, far more than ``log()`` itself; inside the training process it would
take the GIL from training and its memory would count against it. The helper tails
``history.jsonl`` by offset as the training process's writer thread flushes it, and writes
``columns/`` beside it.

Its lifetime is tied to the run:

* The training process holds the write end of a pipe whose read end only the helper has. End of
  file on it (``finish()`` closes it; the kernel closes it when the process dies, SIGKILL
  included) or the helper's parent changing (the process is gone even though a forked child still
  holds the pipe) means the run has ended: the helper catches up with everything on disk, writes
  the final index and exits — within ``CATCH_UP_MAX_S`` at most. ``finish()`` never waits for it.
* It sits in its own process group and ignores INT, HUP, TERM and QUIT, so the terminal's Ctrl-C
  or hang-up, which end the training process, do not cut the catching up short. (Not in its own
  session: see ``_spawn``.)
* It stops at once, writing nothing more, when history.jsonl or ``columns/`` is removed or
  replaced (the run directory deleted or reused); all its writes go through the descriptor of
  the ``columns/`` folder it created.
* It runs in the idle scheduling class (else at nice 10): on a busy machine training comes first.
  Once the run has ended it catches up at nice 10, where the system lets it leave the idle class.
* While the run lives it uses at most about a twentieth of a core, in bursts of under a millisecond:
  it parses 16 KiB of history, then rests nineteen times as long as that took (``SLICE_BYTES``,
  ``REST_PER_WORK``). The idle class alone did not keep it out of training's way on a small machine.
  Linux (6.x, lazy preemption) lets a thread woken onto a core wait until the task running there
  sleeps or the next tick comes (4 ms at HZ=250), idle class or not, and at times gives an
  idle-class task a whole tick on training's own core: a training thread waiting for the GIL or a
  core waited as long as the helper's burst (a mean of 2.2-2.4 ms, some a whole tick, when it parsed
  1 MiB at a time). Short bursts bound that wait; the rest keeps the helper's core free most of the
  time (``benchmarks/bench_logger_cost.py``, ``trace_logger_stalls.py``; docs/benchmarks.md). A
  twentieth of a core parses thousands of rows of 20 scalars a second (``bench_load.py`` prints the
  helper's CPU per row), more than training logs; a run that logs faster is caught up with once it
  ends, without rests.

The helper runs ``python -I`` with the training process's ``sys.path`` handed over, so it imports
this very runview, numpy and orjson, unaffected by ``PYTHON*`` variables.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and the parser load in the helper only, never in training
    from runview.store.column_writer import ColumnWriter

POLL_S = 0.2  # how often a caught-up helper looks for new lines (the end wakes it at once)
SLICE_BYTES = 16 * 1024  # history parsed at a time while the run lives (a short burst)
REST_PER_WORK = 19  # ... then a rest this many times as long as the slice took
CATCH_UP_MAX_S = 600.0  # after the run ends: the reader parses whatever is left beyond this
NICE = 10
_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from runview.store.column_helper import main; sys.exit(main(sys.argv[2:]))"
)
_started: list[ColumnHelper] = []  # polled at each start, so that ended helpers are reaped


class ColumnHelper:
    """The training process's handle on its helper: the pipe's write end, and the process."""

    def __init__(self, pid: int, liveness_fd: int, stderr_fd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._liveness_fd = liveness_fd
        self._stderr_fd = stderr_fd
        self._said = b""  # what it wrote on stderr, read once it has exited

    def release(self) -> None:
        """The run ended: the helper catches up and exits on its own (never waited for)."""
        self.disown()
        self.poll()

    def disown(self) -> None:
        """In a forked child: hold the pipe no longer (only the parent's end may signal the end).

        Called with one thread left after a fork: closes a descriptor and takes no lock.
        """
        fd, self._liveness_fd = self._liveness_fd, -1
        _close(fd)

    def poll(self) -> int | None:
        """The helper's exit code once it has exited (and is reaped), else None."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else (SIGCHLD ignored, os.wait())
                pid, status = self.pid, 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                self._said = _read_all(self._stderr_fd)
                _close(self._stderr_fd)
                self._stderr_fd = -1
                if self in _started:
                    _started.remove(self)
        return self.returncode

    def failure(self) -> str | None:
        """Why the helper stopped early (its last line on stderr), or None while all is well."""
        code = self.poll()
        if code in (None, 0):
            return None
        lines = self._said.decode("utf-8", "replace").strip().splitlines()
        if lines:
            return lines[-1]
        return f"signal {-code}" if code < 0 else f"exit status {code}"


def start(run_dir: Path) -> ColumnHelper:
    """Start the helper for ``run_dir``; OSError when no process could be started.

    ``posix_spawn`` (a vfork underneath, so a large training process is not copied) with the
    helper's fds set up explicitly: /dev/null in, out; its own pipe for stderr (never the user's:
    a pipeline such as ``python train.py | tee`` must not wait for the helper); the liveness pipe
    as fd 3; any other inheritable descriptor of the training process closed.
    """
    for helper in list(_started):
        helper.poll()
    if not sys.executable:
        raise OSError("sys.executable is empty")
    path = [p or os.getcwd() for p in sys.path]  # "" (the working directory) made explicit
    fds = [*os.pipe(), *os.pipe(), os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)]
    try:
        # Everything handed over is first moved above the standard descriptors, so that one
        # dup2 can never overwrite another's source.
        for i, fd in enumerate(fds):
            fds[i] = _high(fd)
        liveness_r, liveness_w, stderr_r, stderr_w, devnull = fds
        actions = [
            (os.POSIX_SPAWN_DUP2, devnull, 0),
            (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_DUP2, stderr_w, 2),
            (os.POSIX_SPAWN_DUP2, liveness_r, 3),
        ]
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds() if fd > 3]
        argv = [sys.executable, "-I", "-c", _BOOT, json.dumps(path), str(run_dir), "3"]
        argv.append(str(os.getpid()))
        pid = _spawn(argv, actions)
    except BaseException:
        for fd in fds:
            _close(fd)
        raise
    for fd in (liveness_r, stderr_w, devnull):
        _close(fd)
    os.set_blocking(stderr_r, False)
    helper = ColumnHelper(pid, liveness_w, stderr_r)
    _started.append(helper)
    return helper


def _spawn(argv: list[str], actions: list[tuple[int, ...]]) -> int:
    """posix_spawn the helper in its own process group of this session, in the idle class.

    Not its own session: on Linux each session is an autogroup, and the scheduler shares a core
    between autogroups before it looks at a task's class or nice value, so a helper in its own
    session took time slices from training as if it were an equal (measured: a third of a busy
    core, in slices of 4 ms). The idle class from the start, so its imports do not compete with
    training's ``init`` either.
    """
    options: dict[str, object] = {"file_actions": actions, "setpgroup": 0, "setsigmask": ()}
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is not None:
        try:
            scheduler = (idle, os.sched_param(0))
            return os.posix_spawn(sys.executable, argv, os.environ, scheduler=scheduler, **options)
        except OSError:
            pass  # the class refused: the helper steps aside itself (_step_aside)
    return os.posix_spawn(sys.executable, argv, os.environ, **options)


def _high(fd: int) -> int:
    """``fd`` moved to a number of 10 or more (close-on-exec), the old number closed."""
    if fd >= 10:
        return fd
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


def _inheritable_fds() -> list[int]:
    """Descriptors a spawned process would inherit (Python opens its own non-inheritable)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return []
    found = []
    for name in names:
        try:
            fd = int(name)
            if os.get_inheritable(fd):
                found.append(fd)
        except (ValueError, OSError):
            continue
    return found


def _read_all(fd: int) -> bytes:
    """What is left in a non-blocking pipe, at most 64 KiB."""
    try:
        return os.read(fd, 1 << 16)
    except OSError:
        return b""


def _close(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)


def main(argv: list[str]) -> int:
    """The helper process: ``RUN_DIR LIVENESS_FD PARENT_PID``."""
    for name in ("SIGINT", "SIGHUP", "SIGTERM", "SIGQUIT", "SIGTSTP", "SIGTTIN", "SIGTTOU"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    _step_aside()
    run_dir, liveness, parent = Path(argv[0]), int(argv[1]), int(argv[2])
    started = time.process_time()
    if os.getppid() != parent or _ended(liveness, 0):
        _run_ended()  # a short run, over already: its imports need not wait for idle time either
    try:
        from runview.store.column_writer import ColumnWriter

        writer = ColumnWriter(run_dir)
    except Exception as exc:
        print(f"columns/ not written: {exc!r}", file=sys.stderr)
        return 2
    try:
        return _follow(writer, liveness, parent, started)
    except Exception as exc:
        writer.abandon()
        print(f"columns/ stopped: {exc!r}", file=sys.stderr)
        return 1
    finally:
        writer.close()


def _follow(writer: ColumnWriter, liveness: int, parent: int, started: float) -> int:
    ended_at: float | None = None
    while True:
        if writer.orphaned():
            return 0  # the run directory is gone or someone else's now: write nothing more
        if ended_at is None and (os.getppid() != parent or _ended(liveness, 0)):
            ended_at = _run_ended()
        if ended_at is None:  # a slice, then a rest (or a poll, caught up); the end wakes it
            working = time.process_time()
            writer.tick(SLICE_BYTES)
            rest = (time.process_time() - working) * REST_PER_WORK
            if _ended(liveness, POLL_S if writer.at_end else rest):
                ended_at = _run_ended()
            continue
        consumed = writer.tick()  # the run has ended: catch up without rests
        if not consumed or time.monotonic() - ended_at > CATCH_UP_MAX_S:
            writer.finish(cpu_seconds=round(time.process_time() - started, 3))
            return 0


def _run_ended() -> float:
    """The run has ended: catch up at nice 10 rather than on idle time only, where allowed.

    Training no longer needs protecting (a process that goes on to another run shares a core with
    a nice-10 helper for the seconds of catching up at most), and a viewer opened now waits for
    these columns: on a machine whose cores stay busy, the idle class gets almost no CPU and the
    catching up took minutes. Linux lets an unprivileged process leave the idle class only within
    its RLIMIT_NICE (usually 0): it then stays where it is.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # keeps its nice of 10
    except (AttributeError, OSError):
        pass
    return time.monotonic()


def _step_aside() -> None:
    """Run on CPU time nobody else wants (SCHED_IDLE), else at nice 10: never preempt training.

    On a machine whose cores are all busy, a helper at normal priority takes time slices from the
    training thread (and a Python thread that loses its core can hold the GIL all the while).
    """
    try:
        os.nice(NICE)  # where the idle class is refused, and once it is left
    except OSError:
        pass
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass


def _ended(fd: int, timeout: float) -> bool:
    """End of file on the liveness pipe within ``timeout`` seconds: the run has ended."""
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable) and not os.read(fd, 64)
    except OSError:
        return True
