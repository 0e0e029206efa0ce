"""Asked for many times, done once: a callback scheduled at most once until it has run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Coalesced:
    """Calling it schedules ``callback`` with ``schedule`` (``call_later``,
    ``call_after_refresh``), unless a call is already scheduled: however often it is asked for
    before then (a smooth scroll at every frame, charts resized together, bindings changed at each
    key), the callback runs once."""

    def __init__(
        self, schedule: Callable[[Callable[[], Any]], object], callback: Callable[[], Any]
    ) -> None:
        self._schedule = schedule
        self._callback = callback
        self._pending = False

    @property
    def pending(self) -> bool:
        """Scheduled, and not run yet."""
        return self._pending

    def __call__(self) -> None:
        if not self._pending:
            self._pending = True
            self._schedule(self._run)

    def _run(self) -> Any:
        self._pending = False
        return self._callback()  # an awaitable is awaited by Textual's scheduling
