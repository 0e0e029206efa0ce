"""runview's own short-lived children (git, the installed-packages lister) while they run.

They are children of the training process, but not training: the system sampler leaves them out
of the process tree it measures, as it leaves out the long-lived helpers (console tee, column
helper) whose pids the run knows.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_running: set[int] = set()


def running() -> frozenset[int]:
    """The pids of runview's own children alive now."""
    with _lock:
        return frozenset(_running)


@contextmanager
def own_child(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """Count ``proc`` as runview's own until the block ends (it should be waited for in it)."""
    with _lock:
        _running.add(proc.pid)
    try:
        yield proc
    finally:
        with _lock:
            _running.discard(proc.pid)


def run_own(
    argv: Sequence[str], *, timeout: float, input: bytes | None = None, **popen: Any
) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run(argv, capture_output=True, input=..., timeout=...)`` for a child of
    runview's own (stdin is /dev/null without ``input``)."""
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    with (
        subprocess.Popen(
            argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen
        ) as proc,
        own_child(proc),
    ):
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
