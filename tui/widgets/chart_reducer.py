"""One long-lived thread that reduces a board's charts, always the newest request: a newer one
stops the older at its next chart.

A live board asks for a reduction at every update, four times a second. A Textual thread worker
per request cost the UI thread a Worker, a thread-pool hand-off and three state messages each
time, about as much as the reduction of a chart; this thread is started once and woken with the
request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

Task = Callable[[Callable[[], bool]], None]  # called with ``cancelled()``: a newer task waits


class NewestOnlyThread:
    """Runs the tasks given to ``submit`` one at a time on one daemon thread, each only if no
    newer one came before it started; ``on_error(exc)`` hears what a task raised (called on
    that thread)."""

    def __init__(self, name: str, on_error: Callable[[BaseException], None]) -> None:
        self.name = name
        self._on_error = on_error
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._next: Task | None = None
        self._serial = 0  # tasks submitted so far: a running task is cancelled once it moves
        self._running = False
        self._thread: threading.Thread | None = None
        self._generation = 0  # a thread runs while this is the one it was started with

    @property
    def busy(self) -> bool:
        """A task is running or waiting."""
        with self._lock:
            return self._running or self._next is not None

    def submit(self, task: Task) -> None:
        """Run ``task`` next, in place of any task still waiting; one running is cancelled."""
        with self._lock:
            self._next = task
            self._serial += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(self._generation,), name=self.name, daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def stop(self) -> None:
        """Cancel the running task, drop a waiting one, and end the thread (not waiting for it);
        a later ``submit`` starts another."""
        with self._lock:
            self._generation += 1
            self._next, self._thread = None, None
            self._serial += 1
            self._wake.notify_all()

    def _moved_on(self, serial: int) -> bool:
        return self._serial != serial  # a newer task, or a stop, came after it

    def _run(self, generation: int) -> None:
        while True:
            with self._lock:
                while self._next is None and self._generation == generation:
                    self._wake.wait()
                if self._generation != generation:
                    return
                task, self._next, serial = self._next, None, self._serial
                self._running = True
            try:
                task(partial(self._moved_on, serial))
            except BaseException as exc:  # reported, never the end of the thread
                self._on_error(exc)
            finally:
                with self._lock:
                    self._running = False
