"""Worker errors become a message to the run page, which reports them, instead of an app crash.

Textual posts ``Worker.StateChanged`` to the widget that started the worker, and it does not
bubble. A widget that runs workers mixes in ``ReportsWorkerFailures`` (every RunTab does) and
starts them with ``thread_worker`` (``exit_on_error=False``); an error the worker did not handle
itself is then re-posted as ``WorkerFailed``, which bubbles up to the run page's one handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from textual import work
from textual.message import Message
from textual.worker import Worker, WorkerState


def thread_worker(group: str, description: str) -> Callable[[Any], Any]:
    """``@work`` for a method that reads or parses off the UI thread: exclusive in its ``group``
    (a newer call cancels the older), and an error it does not handle is reported, not raised."""
    return work(
        thread=True, exclusive=True, group=group, description=description, exit_on_error=False
    )


class Failure(Protocol):
    """What failed: a Textual ``Worker``, or a ``TaskFailure`` from a thread of our own."""

    @property
    def error(self) -> BaseException | None: ...
    @property
    def description(self) -> str: ...
    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class TaskFailure:
    """The error of work a long-lived thread of our own did (``chart_reducer``), reported as a
    worker's."""

    description: str
    error: BaseException
    name: str = ""


@dataclass
class WorkerFailed(Message):
    """A worker (or a thread's task) ended with an error it did not handle."""

    worker: Failure

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
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.worker_ended_unanswered(event.worker)

    def worker_ended_unanswered(self, worker: Worker[Any]) -> None:
        """``worker`` failed or was cancelled, so it posted no answer: override to let what
        waited for one go again (a "busy" flag) and to say in place what is missing."""
