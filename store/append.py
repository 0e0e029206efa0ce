"""An append-only file the training thread writes to without a system call.

Records go into chunks: ``append`` extends the open chunk (one ``bytearray +=``, atomic under
the GIL) and, once it holds ``CHUNK_BYTES``, closes it and opens a new one. A closed chunk is
never touched by a producer again, so the flushing thread hands it to ``os.writev`` as it is:
nothing is copied under the GIL, which ``writev`` releases for the system call. What the open
chunk holds is copied out (at most one chunk, ~20 µs) so that a slow logger's lines still reach
the file within one flush interval.

Why chunks: a single growing buffer (the design before) made the training thread reallocate and
copy the whole queue each time it outgrew its allocation, and made the flusher copy megabytes
out of it under the GIL — the millisecond stalls of ``log()``. With chunks, what a producer may
copy is bounded by one chunk, whatever the queue holds. (A list of the encoded records would be
as cheap to append to, but each orjson line keeps its encoder's ~8 KiB output buffer alive:
10,000 queued lines held ~90 MB.)

Order: chunks are written in the order they were opened; a chunk is closed by making another
one the open chunk *before* it joins the queue of closed chunks, so whatever the flusher sees
as closed can no longer grow. Write errors (disk full, EIO) never propagate: the records that
did not reach the file are dropped and counted one by one, and writing resumes when the disk
accepts data again. A write cut short mid-record is finished with a newline before the next
one, so a torn record stays one corrupt line instead of spoiling the next.
"""

from __future__ import annotations

import errno
import os
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

CHUNK_BYTES = 256 * 1024  # the most a producer or the flusher copies under the GIL at once
IOV_MAX = 512  # buffers per writev (Linux allows 1024)


class AppendStream:
    """Appends to one file: records queued by any thread, written by the flushing thread."""

    def __init__(self, path: Path, on_error: Callable[[Path, OSError], None]) -> None:
        self.path = path
        self.dropped = 0
        self._on_error = on_error
        self._torn = False  # the last write stopped mid-record
        self._fd = -1
        self._reset_queue()
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            on_error(path, exc)

    def _reset_queue(self) -> None:
        self.open_chunk = bytearray()  # producers extend it (``append``)
        self._closed: deque[bytearray] = deque()  # full chunks, oldest first
        self._flush_lock = threading.Lock()  # flush runs in the writer thread, and at close
        self._close_lock = threading.Lock()  # two producers may fill the same chunk

    def append(self, record: bytes) -> None:
        """Queue one record (bytes ending in a newline); safe from any thread, never blocks.

        ``Run.log`` inlines these lines. Reading ``open_chunk`` and extending it are two
        bytecodes with no point between them where CPython switches threads (nothing is called),
        so a producer never extends a chunk that was closed after it looked.
        """
        chunk = self.open_chunk
        chunk += record
        if len(chunk) >= CHUNK_BYTES:
            self.close_chunk(chunk)

    def close_chunk(self, chunk: bytearray) -> None:
        """Queue ``chunk`` for writing and open a new one, unless another producer did it."""
        with self._close_lock:
            if chunk is self.open_chunk:
                # A new open chunk first: what the flusher finds closed can no longer grow.
                self.open_chunk = bytearray()
                self._closed.append(chunk)

    def fileno(self) -> int:
        return self._fd

    def flush(self) -> int:
        """Write every queued record; returns the bytes written. Never raises."""
        with self._flush_lock:
            # No chunk closes while the queue is taken, so the open chunk's bytes come after
            # every closed chunk taken with them. Only C-level work here: ~20 µs at most.
            with self._close_lock:
                closed = self._closed
                pieces = [closed.popleft() for _ in range(len(closed))]
                pieces.append(self._take_open())
            written = 0
            for start in range(0, len(pieces), IOV_MAX):
                batch = [piece for piece in pieces[start : start + IOV_MAX] if len(piece)]
                if not batch:
                    continue
                if self._fd < 0:
                    self.dropped += sum(_newlines(piece, 0) for piece in batch)
                else:
                    written += self._write(batch)
            return written

    def _take_open(self) -> bytearray:
        """Copy out what the open chunk holds now (producers may append meanwhile: no view of
        the open chunk may exist, as it would stop them from growing it)."""
        chunk = self.open_chunk
        size = len(chunk)
        copy = chunk[:size]
        del chunk[:size]
        return copy

    def _write(self, pieces: list[bytearray | memoryview]) -> int:
        """writev ``pieces`` whole; on failure count the records not written whole."""
        if self._torn:
            pieces.insert(0, memoryview(b"\n"))
        total = sum(map(len, pieces))
        done = 0
        try:
            while done < total:
                wrote = os.writev(self._fd, _after(pieces, done))
                if wrote <= 0:  # never spin on a file that takes nothing
                    raise OSError(errno.EIO, "write made no progress")
                done += wrote
        except OSError as exc:
            skip = 1 if self._torn else 0  # the newline that finishes an earlier torn record
            if done:
                self._torn = _byte_at(pieces, done - 1) != 0x0A
            self.dropped += _newlines_after(pieces, max(done, skip))
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

    def close(self) -> None:
        """Write what is queued, then close the file (records appended later are dropped)."""
        self.flush()
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError as exc:
                self._on_error(self.path, exc)


def _after(pieces: list[bytearray | memoryview], offset: int) -> list[bytearray | memoryview]:
    """``pieces`` without their first ``offset`` bytes (after a short write)."""
    if not offset:
        return pieces
    for index, piece in enumerate(pieces):
        if offset < len(piece):
            return [memoryview(piece)[offset:], *pieces[index + 1 :]]
        offset -= len(piece)
    return []


def _byte_at(pieces: list[bytearray | memoryview], offset: int) -> int:
    for piece in pieces:
        if offset < len(piece):
            return piece[offset]
        offset -= len(piece)
    raise IndexError(offset)


def _newlines(piece: bytearray | memoryview, start: int) -> int:
    """Newlines in ``piece`` from ``start`` on (views count in the buffer they look into)."""
    if isinstance(piece, memoryview):
        return bytes(piece[start:]).count(b"\n")
    return piece.count(b"\n", start)


def _newlines_after(pieces: list[bytearray | memoryview], offset: int) -> int:
    count = 0
    for piece in pieces:
        if offset < len(piece):
            count += _newlines(piece, max(offset, 0))
        offset -= len(piece)
    return count
