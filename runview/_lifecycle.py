"""Tie a run to its process: exit codes, uncaught exceptions and SIGTERM end it as they should.

Installed once, on the first ``init``. Every hook chains to what was there before, so other
libraries' hooks keep working.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from typing import Any

_current: list[Any] = []  # the active runs, newest last
_installed = False
# sys.exit codes with each run's progress then
_exit_requests: list[tuple[int, dict[int, int]]] = []
_fatal_signals: list[int] = []
_original_exit = sys.exit


def current() -> Any | None:
    return _current[-1] if _current else None


def adopt(run: Any) -> None:
    _install()
    _current.append(run)


def forget(run: Any) -> None:
    if run in _current:
        _current.remove(run)


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(_at_exit)
    os.register_at_fork(after_in_child=_after_fork_in_child)
    previous_hook = sys.excepthook

    def excepthook(exc_type: Any, exc: BaseException, tb: Any) -> None:
        for run in list(_current):
            signal_name = "SIGINT" if isinstance(exc, KeyboardInterrupt) else None
            run.mark_failed(exc, signal_name=signal_name, exit_code=130 if signal_name else 1)
        previous_hook(exc_type, exc, tb)

    sys.excepthook = excepthook

    def exit_hook(code: Any = None) -> None:
        # Remember the code and how far each run had got: if a run logs again afterwards, the
        # SystemExit was caught and the program went on, so the code no longer applies.
        if threading.current_thread() is threading.main_thread():
            _exit_requests.append((exit_code_of(code), {id(r): r._version for r in _current}))
        _original_exit(code)

    sys.exit = exit_hook
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            try:
                if signal.getsignal(signum) in (signal.SIG_DFL, None):
                    signal.signal(signum, _on_fatal_signal)
            except (ValueError, OSError):
                pass


def _after_fork_in_child() -> None:
    # Runs in a forked child with one thread: take no locks, start nothing.
    for run in list(_current):
        try:
            run._after_fork_in_child()
        except Exception:
            pass
    _current.clear()
    _exit_requests.clear()
    _fatal_signals.clear()


def exit_code_of(code: Any) -> int:
    """The process exit status ``sys.exit(code)`` gives."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1  # sys.exit("message") prints it and exits 1


def _on_fatal_signal(signum: int, frame: Any) -> None:
    # Record why, then unwind the main thread like an exception: `with` blocks, `finally`
    # clauses and atexit finish the run on a consistent stack (finishing here, in the middle of
    # whatever the main thread was doing, can meet a half-done write). _at_exit then dies of the
    # signal, so the parent still sees the process killed by it.
    name = signal.Signals(signum).name
    for run in list(_current):
        try:
            run.mark_failed(signal_name=name, exit_code=128 + signum)
        except Exception:
            pass
    _fatal_signals.append(signum)
    # a second signal kills at once, even if this is swallowed
    signal.signal(signum, signal.SIG_DFL)
    raise SystemExit(128 + signum)


def _at_exit() -> None:
    # Set for an uncaught exception even when someone replaced sys.excepthook; but interactive
    # shells set it for every error shown, which did not end the program.
    interactive = hasattr(sys, "ps1") or "IPython" in sys.modules
    uncaught = None if interactive else getattr(sys, "last_value", None)
    requested, versions = _exit_requests[-1] if _exit_requests else (0, {})
    for run in list(reversed(_current)):
        try:
            if uncaught is not None and not isinstance(uncaught, SystemExit) and run._error is None:
                run.mark_failed(uncaught, exit_code=1)
            code = requested if versions.get(id(run)) == run._version else 0
            if run._error is not None and not code:
                code = run._exit_code or 1
            run._end(code)
        except Exception:
            pass
    if _fatal_signals:
        signum = _fatal_signals[-1]
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
