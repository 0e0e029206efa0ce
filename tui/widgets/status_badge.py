"""A badge with the run's state and runtime; ticks once a second only while the run is running."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from runview.store import format as fmt
from runview.tui.format import format_duration

if TYPE_CHECKING:
    from runview.store.reader import RunSnapshot

_SYMBOLS = {
    fmt.STATE_RUNNING: "●",
    fmt.STATE_FINISHED: "✔",
    fmt.STATE_FAILED: "✘",
    fmt.STATE_CRASHED: "✘",
}


class StatusBadge(Static):
    """``● running 3m 02s``; the state is also a CSS class (-running, -failed ...)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self._snapshot: RunSnapshot | None = None
        self._timer = None
        self._label = ""

    def show(self, snapshot: RunSnapshot) -> None:
        self._snapshot = snapshot
        state = snapshot.liveness.state
        for name in (
            fmt.STATE_RUNNING,
            fmt.STATE_FINISHED,
            fmt.STATE_FAILED,
            fmt.STATE_CRASHED,
            "unknown",
        ):
            self.set_class(state == name, f"-{name}")
        running = state == fmt.STATE_RUNNING
        if running and self._timer is None:
            self._timer = self.set_interval(1.0, self._tick)
        elif not running and self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._tick()

    def _tick(self) -> None:
        snapshot = self._snapshot
        if snapshot is None:
            return
        state = snapshot.liveness.state
        runtime = snapshot.runtime
        if state == fmt.STATE_RUNNING and runtime is not None:
            runtime += time.time() - snapshot.taken_at
        label = f" {_SYMBOLS.get(state, '?')} {state} "
        clock = f" {format_duration(runtime)} "
        if label + clock != self._label:  # a snapshot between two ticks changes nothing shown
            # The same length: the same size, so no layout of the whole screen (every second).
            same_size = len(label + clock) == len(self._label)
            self._label = label + clock
            self.update(Text(label).append(clock), layout=not same_size)
