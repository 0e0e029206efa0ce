"""An append-only file the training thread writes to with at most one system call per chunk.

Records go into chunks: ``append`` writes the record into the open chunk (one
``BytesIO.write``, atomic under the GIL) and, once it holds ``CHUNK_BYTES``, closes it and opens
another. The producer that closed a chunk then writes the closed chunks itself (``os.writev``
releases the GIL, and the thread keeps its core); the flushing thread only writes a chunk that
stayed open for a whole flush interval, so that a slow logger's lines still reach the file within
two intervals. Written chunks are reused: their buffers are allocated once, at full size.

Why 128 KiB: an append costs the kernel per new page of the page cache it allocates and fills,
so the training thread's write takes time in proportion to the chunk; on the shared 2-core VM
where runview is measured, 256 KiB appends took up to 1.15 ms of CPU (p99 0.6-0.8 ms), 128 KiB
up to 0.76 ms (p99 0.1-0.3 ms; benchmarks/bench_append_write.py), and ``log()``'s calls over
1 ms that were runview's own were such writes (benchmarks/trace_logger_stalls.py). Smaller
still would put a write into more than 1% of the calls of a 20-scalar row (64 KiB: one in ~120)
and so into ``log()``'s p99.

Why the producer writes: when the flushing thread wrote what a fast logger queued (the design
before #9), its ``writev`` copied megabytes into the page cache on the machine's other core and
then took the GIL back; on a loaded 2-core machine the training thread lost its core for
milliseconds at a time. A write of one chunk on the training thread costs ~0.05-0.3 ms once
per 128 KiB (benchmarks/bench_history_append.py compares the designs, a shared ``mmap`` of the
file among them). Where a write can wait on a server (``local_filesystem``), or once one took over
``SLOW_WRITE_S`` without the thread being preempted, every write goes to the flushing thread as
before: a slow filesystem then delays the file, never ``log()``.

Why chunks allocated at full size: a growing ``bytearray`` reallocated and copied up to a chunk
in 1-2% of ``log()`` calls (its p99). Why chunks at all: one growing buffer made producers copy
the whole queue when it outgrew its allocation; what a producer may copy is now bounded by one
record. (A list of the encoded records would be as cheap to append to, but each orjson line
keeps its encoder's ~8 KiB output buffer alive: 10,000 queued lines held ~90 MB.)

Order: chunks are written in the order they were opened, by whichever thread holds the write
lock (a producer that finds it taken leaves its chunk queued, never waits); a chunk is closed by
making another one the open chunk *before* it joins the queue of closed chunks, so whatever a
writer sees as closed can no longer grow. Write errors (disk full, EIO) never propagate: the
records that did not reach the file are dropped and counted one by one, and writing resumes when
the disk accepts data again. A write cut short mid-record is finished with a newline before the
next one, so a torn record stays one corrupt line instead of spoiling the next.
"""

from __future__ import annotations

import errno
import io
import os
import resource
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

CHUNK_BYTES = 128 * 1024  # a chunk this full is written by the producer that filled it
CHUNK_ROOM = CHUNK_BYTES + 64 * 1024  # allocated up front: records up to 64 KiB never grow it
SPARE_CHUNKS = 2  # written chunks kept for reuse
IOV_MAX = 512  # buffers per writev (Linux allows 1024)
SLOW_WRITE_S = 0.05  # a producer's write this slow, not preempted: the filesystem can stall
# Filesystems where a write may wait on a server: producers never write to them.
NETWORK_FILESYSTEMS = frozenset(
    "nfs nfs4 cifs smb3 smbfs 9p ceph glusterfs lustre gpfs beegfs afs davfs ncpfs".split()
)


def new_chunk() -> io.BytesIO:
    """An empty chunk whose buffer already holds ``CHUNK_ROOM`` bytes."""
    chunk = io.BytesIO()
    chunk.write(bytes(CHUNK_ROOM))
    chunk.seek(0)
    return chunk


class AppendStream:
    """Appends to one file: records queued by any thread, written by the thread that fills a
    chunk or by the flushing thread."""

    def __init__(
        self,
        path: Path,
        on_error: Callable[[Path, OSError], None],
        producers_write: bool = True,
    ) -> None:
        self.path = path
        self.dropped = 0
        # False: only the flushing thread writes (a network filesystem, or a write was slow).
        self.producers_write = producers_write and local_filesystem(path.parent)
        self._on_error = on_error
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
        self._opened = 0  # chunks opened so far: tells the flusher whether the open one is new
        self._opened_at_flush = -1

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
        write the closed chunks, unless another thread is writing or producers do not write."""
        with self._close_lock:
            if chunk is self.open_chunk:
                self._open_next()
                self._closed.append(chunk)
        if self.producers_write and self._flush_lock.acquire(blocking=False):
            try:
                started = time.monotonic()
                preempted = _preemptions()
                self._write_queued(take_open=False)
                if time.monotonic() - started > SLOW_WRITE_S and _preemptions() == preempted:
                    self.producers_write = False  # it waited on the filesystem, not for a core
            finally:
                self._flush_lock.release()

    def _open_next(self) -> None:
        """A new open chunk (the caller holds the close lock): what a writer finds closed can
        no longer grow."""
        self.open_chunk = self._spare.pop() if self._spare else new_chunk()
        self._opened += 1

    def fileno(self) -> int:
        return self._fd

    def flush(self, everything: bool = True) -> int:
        """Write the queued records; returns the bytes written. Never raises.

        ``everything=False`` (the flushing thread's periodic call) leaves the open chunk to the
        producers that fill it, unless it was already open at the previous such call (a slow
        logger) or producers do not write.
        """
        with self._flush_lock:
            opened = self._opened
            take_open = everything or not self.producers_write or opened == self._opened_at_flush
            self._opened_at_flush = opened
            return self._write_queued(take_open)

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


def _preemptions() -> int:
    """Times this thread was taken off its core so far."""
    try:
        return resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw
    except (OSError, ValueError, AttributeError):
        return -1


def local_filesystem(folder: Path, mounts: str | None = None) -> bool:
    """Whether ``folder`` is on a filesystem of this machine (not NFS, SMB, ...); True when
    unknown. The mount that holds it is the longest mount point its real path starts with
    (``mounts``: the text of /proc/self/mounts, read when not given)."""
    try:
        target = os.path.realpath(folder)
        if mounts is None:
            with open("/proc/self/mounts", "rb") as fh:
                mounts = fh.read().decode(errors="replace")
    except OSError:
        return True
    best, kind = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind.split(".")[0] not in NETWORK_FILESYSTEMS and not kind.startswith("fuse.sshfs")


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
