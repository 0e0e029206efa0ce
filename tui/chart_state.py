"""Load and save a chart tab's view state off the UI thread: read in a worker, writes debounced then
done by a worker."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.timer import Timer
from textual.widget import Widget

from runview.tui.view_state import CHARTS, StateWriter, ViewState, load_view_state

SAVE_DELAY_S = 0.5  # a burst of keys (s s s, c c c) writes the state file once


class ViewStateKeeper:
    """``owner``'s section of one project's state file: ``load`` once, ``changed`` on every change,
    ``close`` at the end."""

    def __init__(
        self,
        owner: Widget,
        project: str,
        loaded: Callable[[ViewState, str | None], None],
        section: str = CHARTS,
        default: ViewState | None = None,
    ) -> None:
        self.owner = owner
        self.default = default  # before anything was saved (load_view_state)
        self.writer = StateWriter(project, section)
        self._loaded = loaded
        self._saved: dict[str, Any] | None = None  # the last state handed to the writer
        self._seq = 0
        self._timer: Timer | None = None

    @property
    def project(self) -> str:
        return self.writer.project

    @property
    def pending(self) -> bool:
        """A save is waiting for its debounce timer."""
        return self._timer is not None

    def load(self) -> None:
        self.owner.run_worker(
            self._load,
            thread=True,
            exclusive=True,
            group=f"view-state-load-{self.writer.section}",
            description="load the view settings",
            exit_on_error=False,
        )

    def _load(self) -> None:
        state, problem = load_view_state(self.project, self.writer.section, self.default)
        self.owner.app.call_from_thread(self._loaded, state, problem)

    def loaded_as(self, state: dict[str, Any]) -> None:
        """What was loaded, in JSON form: saving it again would change nothing."""
        self._saved = state

    def changed(self, state: dict[str, Any]) -> None:
        """Save ``state`` soon, unless it is what is saved already (UI thread)."""
        if state == self._saved:
            return
        self._saved = state
        self._seq += 1
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.owner.set_timer(SAVE_DELAY_S, self._flush)

    def _flush(self) -> None:
        self._timer = None
        if self._saved is not None:
            self.owner.run_worker(
                partial(self._write, self._saved, self._seq),
                thread=True,
                group="view-state-save",
                description="save the view settings",
                exit_on_error=False,
            )

    def _write(self, state: dict[str, Any], seq: int) -> None:
        try:
            self.writer.save(state, seq)
        except OSError as exc:
            self.owner.app.call_from_thread(
                self.owner.notify, f"view settings not saved: {exc}", severity="error", markup=False
            )

    def close(self) -> None:
        """Quitting inside the debounce window: write now, on this thread (a tiny file, once, at
        exit)."""
        if self._timer is None or self._saved is None:
            return
        self._timer.stop()
        self._timer = None
        try:
            self.writer.save(self._saved, self._seq)
        except OSError:
            pass  # the app is going away: nowhere left to report it
