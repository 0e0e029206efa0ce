"""An append-only file: the training thread queues records, the writer thread writes them.

Records go into chunks: ``append`` writes the record into the open chunk (one
``BytesIO.write``, atomic under the GIL) and, once it holds ``CHUNK_BYTES``, closes it, opens
another and wakes the writer thread (``on_chunk_closed``), which writes the closed chunks with
one ``os.writev``; its periodic flush also writes the open chunk, so a slow logger's lines reach
the file within one flush interval. Written chunks are reused: their buffers are allocated once,
at full size, and a few spares are kept, so the producer never allocates one while the writer
keeps up.

Why the writer thread writes (issue #9): an append costs the kernel per new page of the page
cache it allocates and fills, and at times much more: reclaim, or writeback throttling while the
disk is behind (a checkpoint being saved) can hold a write for milliseconds or longer. When the
training thread wrote the chunks it filled (the design before this one), each such write was a
call of ``log()`` that long: on the shared 2-core VM where runview is measured, 0.05-0.4 ms per
128 KiB chunk and a few times a run 1-4.6 ms (``benchmarks/trace_logger_stalls.py``). On the
writer thread the kernel's time is that thread's (``writev`` releases the GIL); the training
thread pays for the GIL's hand-over when the writer takes it back, at most once per switch
interval (5 ms; ``bench_history_append.py``'s ``writer`` design: p99.9 19-33 µs, with the
encoding): ``log()``'s p99.9 was lower in every alternated
pair of ``benchmarks/bench_logger_cost.py`` runs (docs/benchmarks.md). Waking the
writer per chunk, not every 50-100 ms (the design before that), keeps each write small and what
is queued bounded by the disk's pace (``benchmarks/bench_history_append.py`` compares the
designs, a shared ``mmap`` among them).

Why a bound on the queue: a disk slower than the logging (or a filesystem that stalls) would
otherwise queue the run's history in the training process's memory. Past ``QUEUE_MAX_CHUNKS``
closed chunks the producer that closes one waits for the writer and writes what is queued
itself: training slows to the disk's pace instead of running out of memory.

Why chunks allocated at full size: a growing ``bytearray`` reallocated and copied up to a chunk
in 1-2% of ``log()`` calls (its p99). Why chunks at all: one growing buffer made producers copy
the whole queue when it outgrew its allocation; what a producer may copy is now bounded by one
record. (A list of the encoded records would be as cheap to append to, but each orjson line
keeps its encoder's ~8 KiB output buffer alive: 10,000 queued lines held ~90 MB.)

Order: chunks are written in the order they were opened, by whichever thread holds the write
lock; a chunk is closed by making another one the open chunk *before* it joins the queue of
closed chunks, so whatever a writer sees as closed can no longer grow. Write errors (disk full,
EIO) never propagate: the records that did not reach the file are dropped and counted one by
one, and writing resumes when the disk accepts data again. A write cut short mid-record is
finished with a newline before the next one, so a torn record stays one corrupt line instead of
spoiling the next.
"""

from __future__ import annotations

import errno
import io
import os
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

CHUNK_BYTES = 128 * 1024  # a chunk this full is closed and handed to the writer thread
CHUNK_ROOM = CHUNK_BYTES + 64 * 1024  # allocated up front: records up to 64 KiB never grow it
# Written chunks kept for reuse (3 MiB): a producer logging as fast as it can fills ~12 chunks
# while the writer waits its turn for the GIL (one switch interval, 5 ms), and a chunk allocated
# anew costs the producer its zeroing and page faults.
SPARE_CHUNKS = 16
# Closed chunks queued (8 MiB) past which the producer writes them itself: a disk slower than
# the logging slows the training down instead of filling its memory.
QUEUE_MAX_CHUNKS = 64
IOV_MAX = 512  # buffers per writev (Linux allows 1024)


def new_chunk() -> io.BytesIO:
    """An empty chunk whose buffer already holds ``CHUNK_ROOM`` bytes."""
    chunk = io.BytesIO()
    chunk.write(bytes(CHUNK_ROOM))
    chunk.seek(0)
    return chunk


class AppendStream:
    """Appends to one file: records queued by any thread, written by the writer thread (or by a
    producer, once the queue is full)."""

    def __init__(
        self,
        path: Path,
        on_error: Callable[[Path, OSError], None],
        on_chunk_closed: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self.dropped = 0
        self._on_error = on_error
        # Wakes the writer thread: called by the producer that closed a chunk, never waits.
        self._on_chunk_closed = on_chunk_closed or _nothing
        self._torn = False  # the last write stopped mid-record
        self._fd = -1
        self._reset_queue(new_chunk())
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            on_error(path, exc)

    def _reset_queue(self, open_chunk: io.BytesIO) -> None:
        self.open_chunk = open_chunk  # producers write to it (``append``)
        self._closed: deque[io.BytesIO] = deque()  # full chunks, oldest first
        self._spare: list[io.BytesIO] = []  # written chunks, emptied
        self._flush_lock = threading.Lock()  # held by whichever thread writes
        self._close_lock = threading.Lock()  # two producers may fill the same chunk

    def append(self, record: bytes) -> None:
        """Queue one record (bytes ending in a newline); safe from any thread, never waits.

        ``Run.log`` inlines these lines. Reading ``open_chunk`` and writing to it have no point
        between them where CPython switches threads (the switch is checked after a call, not
        before it), so a producer never writes to a chunk that was closed after it looked.
        """
        chunk = self.open_chunk
        chunk.write(record)
        if chunk.tell() >= CHUNK_BYTES:
            self.close_chunk(chunk)

    def close_chunk(self, chunk: io.BytesIO) -> None:
        """Queue ``chunk`` for writing and open another, unless another producer did it; then
        wake the writer thread, or, with ``QUEUE_MAX_CHUNKS`` queued already, write them."""
        with self._close_lock:
            if chunk is self.open_chunk:
                self._open_next()
                self._closed.append(chunk)
            backlog = len(self._closed)
        if backlog <= QUEUE_MAX_CHUNKS:
            self._on_chunk_closed()
            return
        with self._flush_lock:  # the disk takes less than is logged: wait for it
            self._write_queued(take_open=False)

    def _open_next(self) -> None:
        """A new open chunk (the caller holds the close lock): what a writer finds closed can
        no longer grow."""
        self.open_chunk = self._spare.pop() if self._spare else new_chunk()

    def fileno(self) -> int:
        return self._fd

    @property
    def queued_chunks(self) -> int:
        """Closed chunks waiting for the writer."""
        return len(self._closed)

    def flush(self, everything: bool = True) -> int:
        """Write the queued records; returns the bytes written. Never raises.

        ``everything=False`` (the writer thread woken by a closed chunk) writes the closed
        chunks and leaves the open one to the producer filling it.
        """
        with self._flush_lock:
            return self._write_queued(take_open=everything)

    def _write_queued(self, take_open: bool) -> int:
        """Write the closed chunks, and the open one if ``take_open``; the caller holds the
        flush lock."""
        with self._close_lock:
            closed = self._closed
            chunks = [closed.popleft() for _ in range(len(closed))]
            if take_open and self.open_chunk.tell():
                chunks.append(self.open_chunk)
                self._open_next()
        written = 0
        for start in range(0, len(chunks), IOV_MAX):
            batch = chunks[start : start + IOV_MAX]
            views = [_written_part(chunk) for chunk in batch]
            try:
                if self._fd < 0:
                    self.dropped += sum(_newlines(view, 0) for view in views)
                else:
                    written += self._write(list(views))
            finally:
                for view in views:
                    try:
                        view.release()
                    except BufferError:  # a slice of it lives on: the chunk is not reused
                        pass
            for chunk in batch:
                self._recycle(chunk)
        return written

    def _recycle(self, chunk: io.BytesIO) -> None:
        """Keep a written chunk for reuse, unless a view of it is still alive (an error's
        traceback can hold one) or a huge record grew its buffer."""
        try:
            chunk.write(b"")  # raises while any view of the buffer exists
        except BufferError:
            return
        if chunk.seek(0, io.SEEK_END) <= CHUNK_ROOM and len(self._spare) < SPARE_CHUNKS:
            chunk.seek(0)
            self._spare.append(chunk)

    def _write(self, pieces: list[memoryview]) -> int:
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
        self._reset_queue(io.BytesIO())
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


def _written_part(chunk: io.BytesIO) -> memoryview:
    """A view of what was written to ``chunk`` (its buffer is longer); release it when done."""
    whole = chunk.getbuffer()
    try:
        return whole[: chunk.tell()]
    finally:
        whole.release()


def _nothing() -> None:
    pass


def _after(pieces: list[memoryview], offset: int) -> list[memoryview]:
    """``pieces`` without their first ``offset`` bytes (after a short write)."""
    if not offset:
        return pieces
    for index, piece in enumerate(pieces):
        if offset < len(piece):
            return [piece[offset:], *pieces[index + 1 :]]
        offset -= len(piece)
    return []


def _byte_at(pieces: list[memoryview], offset: int) -> int:
    for piece in pieces:
        if offset < len(piece):
            return piece[offset]
        offset -= len(piece)
    raise IndexError(offset)


def _newlines(piece: memoryview, start: int) -> int:
    """Newlines in ``piece`` from ``start`` on."""
    return bytes(piece[start:]).count(b"\n")


def _newlines_after(pieces: list[memoryview], offset: int) -> int:
    count = 0
    for piece in pieces:
        if offset < len(piece):
            count += _newlines(piece, max(offset, 0))
        offset -= len(piece)
    return count
