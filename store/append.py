"""An append-only file the training thread writes to without a system call.

A record costs its producer one ``bytearray.extend``: a copy of its bytes into the stream's
buffer, no lock, no syscall. (A list of the encoded records would be as cheap to append to, but
each orjson line keeps its encoder's ~8 KiB output buffer alive: 10,000 queued lines held ~90 MB,
and their later release churned the allocator under the training thread.) The writer's
background thread calls ``flush``, which takes the buffer's contents from the front in pieces of
at most ``PIECE_BYTES`` and writes each with ``os.write``, which releases the GIL for the system
call; the GIL is held only to copy one piece out (~0.1 ms), however fast training logs.

Taking bytes from the front never races with appending at the back: ``extend``, slicing and
deleting a prefix are each one atomic operation under the GIL, and only the flushing thread
removes bytes. Write errors (disk full, EIO) never propagate: the records that did not reach the
file are dropped and counted one by one, and writing resumes when the disk accepts data again.
A write cut short mid-record is finished with a newline before the next one, so a torn record
stays one corrupt line instead of spoiling the next.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

PIECE_BYTES = 2 << 20  # copied out under the GIL per write: ~0.1-0.2 ms


class AppendStream:
    """Appends to one file: records queued by any thread, written by the flushing thread."""

    def __init__(self, path: Path, on_error: Callable[[Path, OSError], None]) -> None:
        self.path = path
        self.dropped = 0
        self._on_error = on_error
        self._flush_lock = threading.Lock()  # flush runs in the writer thread, and at close
        self._torn = False  # the last write stopped mid-record
        self._fd = -1
        self._reset_queue()
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            on_error(path, exc)

    def _reset_queue(self) -> None:
        self._queue = bytearray()
        # The whole cost of a record to the thread that logs it.
        self.append: Callable[[bytes], None] = self._queue.extend

    def fileno(self) -> int:
        return self._fd

    def flush(self) -> int:
        """Write every queued record; returns the bytes written. Never raises."""
        with self._flush_lock:
            queue = self._queue
            left = len(queue)  # what is queued now; later records wait for the next flush
            written = 0
            while left:
                cut = left if left <= PIECE_BYTES else queue.rfind(b"\n", 0, PIECE_BYTES) + 1
                if cut <= 0:  # one record larger than a piece
                    cut = queue.find(b"\n", PIECE_BYTES) + 1 or left
                piece = queue[:cut]
                del queue[:cut]  # only these bytes: others may have been appended meanwhile
                left -= cut
                if self._fd < 0:
                    self.dropped += piece.count(b"\n")
                else:
                    written += self._write(piece)
            return written

    def _write(self, piece: bytearray) -> int:
        if self._torn:
            piece[:0] = b"\n"
        done = 0
        try:
            while done < len(piece):
                done += os.write(self._fd, memoryview(piece)[done:])
        except OSError as exc:
            start = 1 if self._torn else 0
            if done:
                self._torn = piece[done - 1] != 0x0A
            self.dropped += piece.count(b"\n", max(done, start))  # records not written whole
            self._on_error(self.path, exc)
            return done
        self._torn = False
        return done

    def disown(self) -> None:
        """In a forked child: never write the parent's queued records a second time.

        Called from an at-fork hook with one thread left: the queue is this process's copy, so
        replacing it drops nothing of the parent's; the descriptor is left to the parent.
        """
        self._reset_queue()
        self._fd = -1
        self._flush_lock = threading.Lock()

    def close(self) -> None:
        """Write what is queued, then close the file (records appended later are dropped)."""
        self.flush()
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError as exc:
                self._on_error(self.path, exc)
