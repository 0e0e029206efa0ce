"""An append-only file fed from any thread, written to disk by whoever calls ``flush``.

``append`` is the training thread's hot path: one deque append, no lock, no syscall. A
background thread calls ``flush`` a few times a second. Write errors (disk full, directory
deleted, EIO) never propagate: the records of a failed flush are dropped and counted, so memory
stays bounded while the disk refuses writes and logging resumes when it accepts them again.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable
from pathlib import Path

# Past this many unflushed records (a flusher stalled on a hung disk) new records are dropped
# and counted instead of growing memory without bound.
MAX_PENDING_RECORDS = 1_000_000


class AppendStream:
    """Buffered, thread-safe appends to one file; never raises from its own I/O."""

    def __init__(self, path: Path, on_error: Callable[[Path, OSError], None]) -> None:
        self.path = path
        self.dropped = 0
        self.written_bytes = 0
        self._pending: collections.deque[bytes] = collections.deque()
        self._on_error = on_error
        self._flush_lock = threading.Lock()
        self._fd: int | None = None
        self._torn = False  # a failed write left part of a record: end that line first
        self._open()

    def _open(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            self._fd = None
            self._on_error(self.path, exc)

    def append(self, record: bytes) -> None:
        """Queue one complete record (ending in a newline) for the next flush."""
        if len(self._pending) >= MAX_PENDING_RECORDS:
            self.dropped += 1
            return
        self._pending.append(record)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> list[bytes]:
        """Write everything queued so far; return the records that reached the file."""
        with self._flush_lock:
            count = len(self._pending)
            if not count:
                return []
            popleft = self._pending.popleft
            records = [popleft() for _ in range(count)]
            if self._fd is None:
                self._open()
            if self._fd is None:
                self.dropped += count
                return []
            data = b"".join(records)
            if self._torn:
                data = b"\n" + data
            view = memoryview(data)
            try:
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except OSError as exc:
                # Part of a record may be on disk: the next flush ends that line so readers
                # skip one corrupt line instead of merging it with the next good record.
                self._torn = self._torn or len(view) < len(data)
                self.dropped += count
                self._on_error(self.path, exc)
                return []
            self._torn = False
            self.written_bytes += len(data)
            return records

    def close(self) -> None:
        self.flush()
        with self._flush_lock:
            if self._fd is not None:
                try:
                    os.close(self._fd)
                except OSError:
                    pass
                self._fd = None
