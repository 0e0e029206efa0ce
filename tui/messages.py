"""Messages that carry reader results from worker threads to the UI thread."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # the app imports these messages before anything heavy (the reader: numpy)
    from runview.store.reader import RunSnapshot


class RunUpdated(Message):
    """A new snapshot of the run was read. Only the newest queued one matters."""

    def __init__(self, snapshot: RunSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunUpdated)


class RunNamed(Message):
    """The run's title was read (meta.json alone), before the rest of the run."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title


class TabPrefetched(Message):
    """What the tab ``name`` reads before its first layout (``RunTab.prefetch``), read ahead."""

    def __init__(self, name: str, value: object) -> None:
        super().__init__()
        self.name = name
        self.value = value


class LoadProgressed(Message):
    """The first read of a large run moved on: ``done`` of ``total`` bytes, ``rows`` steps read."""

    def __init__(self, done: int, total: int, rows: int = 0) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.rows = rows

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LoadProgressed)


class OpenRunRequested(Message):
    """Open another run's page on top of this one (the page's back key returns)."""

    def __init__(self, path: Path, tab: str = "overview") -> None:
        super().__init__()
        self.path = path
        self.tab = tab
