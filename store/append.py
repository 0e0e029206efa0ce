"""An append-only file written from the training thread through a small buffer.

``append`` costs what the floor costs: a copy into a 64 KiB buffer, and one ``write`` syscall
per 64 KiB. A background thread calls ``flush`` a few times a second, so a record reaches the
file within that interval even when the buffer is not full. Handing records to another thread
instead was measured slower: the records then live long enough to fall out of cache.

Write errors (disk full, EIO) never propagate: the failing record is dropped and counted, the
buffer keeps its bounded size, and writing resumes when the disk accepts data again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

BUFFER_BYTES = 64 * 1024
_disowned: list[BinaryIO] = []


class AppendStream:
    """Buffered, thread-safe appends to one file; never raises from its own I/O."""

    def __init__(self, path: Path, on_error: Callable[[Path, OSError], None]) -> None:
        self.path = path
        self.dropped = 0
        self._on_error = on_error
        # only open/close/flush take it; append relies on the file's own
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        self._open()

    def _open(self) -> None:
        try:
            self._file = open(self.path, "ab", buffering=BUFFER_BYTES)  # noqa: SIM115 - lives with the run
        except OSError as exc:
            self._file = None
            self._on_error(self.path, exc)

    def append(self, record: bytes) -> None:
        """Write one complete record (ending in a newline) into the buffer."""
        file = self._file
        if file is None:
            self.dropped += 1
            return
        try:
            file.write(record)
        except (OSError, ValueError) as exc:  # ValueError: closed by a concurrent close()
            self.failed(exc)

    def writer(self) -> Callable[[bytes], object]:
        """The bound ``write`` of the buffer, for a caller that handles OSError via ``failed``."""
        return self._file.write if self._file is not None else self._drop

    def _drop(self, record: bytes) -> None:
        self.dropped += 1

    def failed(self, exc: BaseException) -> None:
        """Count one record lost to a write error (called by fast-path callers too)."""
        self.dropped += 1
        if isinstance(exc, OSError):
            self._on_error(self.path, exc)

    def flush(self) -> bool:
        """Push buffered records to the file; False when the disk refused them (kept for later)."""
        file = self._file
        if file is None:
            return True
        try:
            file.flush()
            return True
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError):
                self._on_error(self.path, exc)
            return False

    def disown(self) -> None:
        """In a forked child: never write the parent's buffered records a second time.

        The child's copy of the buffer may hold records the parent has not flushed yet; the
        child's file descriptor is pointed at /dev/null so no later flush (not even at the
        child's exit) can append them again.
        """
        file, self._file = self._file, None
        if file is None:
            return
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, file.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        # never finalised in the child (a flush would go to /dev/null anyway)
        _disowned.append(file)

    def close(self) -> None:
        with self._lock:
            file, self._file = self._file, None
        if file is None:
            return
        try:
            file.close()
        except OSError as exc:
            self._on_error(self.path, exc)
            try:
                file.close()
            except Exception:
                pass
