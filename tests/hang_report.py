"""What a hung test was waiting on, written out before pytest-timeout ends the run.

pytest-timeout prints each thread's stack. In a hung UI test those show the event loop idle in
``select()`` and nothing else: the test's coroutine, and the future it awaits, are on no thread's
stack. ``HangReport`` prints, shortly before the timeout, the await chain of every task of the
running event loops that is not a message pump idle on its queue (a Textual app has hundreds).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType


class HangReport:
    """One daemon thread for the session; ``arm`` before each test, ``disarm`` after."""

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self._armed: tuple[int, str] | None = None  # (which test, its id)
        self._count = 0
        self._changed = threading.Condition()
        threading.Thread(target=self._watch, name="hang-report", daemon=True).start()

    def arm(self, test_id: str) -> None:
        with self._changed:
            self._count += 1
            self._armed = (self._count, test_id)
            self._changed.notify()

    def disarm(self) -> None:
        with self._changed:
            self._armed = None
            self._changed.notify()

    def _watch(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._armed is not None)
                armed = self._armed
                if self._changed.wait_for(self._moved_on(armed), timeout=self.after_s):
                    continue
            sys.stderr.write(f"\n{armed[1]} still running after {self.after_s:g} s; its tasks:\n")
            sys.stderr.write("".join(_pending_tasks()) or "(no event loop running)\n")
            sys.stderr.flush()
            with self._changed:  # once per test
                self._changed.wait_for(self._moved_on(armed))

    def _moved_on(self, armed: tuple[int, str] | None) -> Callable[[], bool]:
        return lambda: self._armed != armed


def _pending_tasks() -> Iterator[str]:
    # The loop runs in the main thread; read from here while it is idle (hung), which is the
    # only time this runs.
    loops = [obj for obj in gc.get_objects() if isinstance(obj, asyncio.AbstractEventLoop)]
    for loop in loops:
        if not loop.is_running():
            continue
        for task in list(asyncio.all_tasks(loop)):
            chain = list(_await_chain(task.get_coro()))
            if task.get_name().startswith("message pump") and any(
                frame.f_code.co_name == "_get_message" for frame in chain
            ):
                continue  # idle, waiting for its next message
            yield f"--- {task.get_name()}\n"
            for frame in chain:
                yield f"    {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}\n"


def _await_chain(coroutine: object) -> Iterator[FrameType]:
    while coroutine is not None:
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
        if frame is not None:
            yield frame
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)
