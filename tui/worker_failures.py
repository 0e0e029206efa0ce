"""Worker errors become a message to the run page, which reports them, instead of an app crash.

Textual posts ``Worker.StateChanged`` to the widget that started the worker, and it does not
bubble. A widget that runs workers mixes in ``ReportsWorkerFailures`` (every RunTab does) and
starts them with ``exit_on_error=False``; an error the worker did not handle itself is then
re-posted as ``WorkerFailed``, which bubbles up to the run page's one handler.
"""

from __future__ import annotations

from textual.message import Message
from textual.worker import Worker, WorkerState


class WorkerFailed(Message):
    """A worker ended with an error it did not handle."""

    def __init__(self, worker: Worker[object]) -> None:
        super().__init__()
        self.worker = worker

    @property
    def what(self) -> str:
        """The worker in a few words: its description, else its name."""
        return self.worker.description or self.worker.name or "a background task"


class ReportsWorkerFailures:
    """Mixin for a widget (or screen) that runs workers: their errors are posted as
    ``WorkerFailed``."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.post_message(WorkerFailed(event.worker))  # type: ignore[attr-defined]
