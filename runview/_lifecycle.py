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
_exit_code: list[int] = []
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
        _exit_code.append(_code_of(code))
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
    for run in list(_current):
        try:
            run._after_fork_in_child()
        except Exception:
            pass
    _current.clear()


def _code_of(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1  # sys.exit("message") prints it and exits 1


def _on_fatal_signal(signum: int, frame: Any) -> None:
    name = signal.Signals(signum).name
    for run in list(_current):
        try:
            run.mark_failed(signal_name=name, exit_code=128 + signum)
            run._end(128 + signum)
        except Exception:
            pass
    # Die of the signal as the process would have without us, so the parent sees it.
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


def _at_exit() -> None:
    code = _exit_code[-1] if _exit_code else 0
    for run in list(reversed(_current)):
        try:
            failed = getattr(run, "_error", None) is not None
            run._end(code if code or not failed else (getattr(run, "_exit_code", None) or 1))
        except Exception:
            pass
