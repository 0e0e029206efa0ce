"""The append-only streams under history.jsonl and system.jsonl: order, whole records, bounded
copies, and what a full or size-limited disk leaves behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runview.store.append import (
    CHUNK_BYTES,
    CHUNK_ROOM,
    QUEUE_MAX_CHUNKS,
    AppendStream,
)

RECORD = b'{"x":' + b"1" * 500 + b"}\n"


def stream_at(path: Path, on_chunk_closed=None) -> tuple[AppendStream, list[OSError]]:
    errors: list[OSError] = []
    stream = AppendStream(path, lambda _path, exc: errors.append(exc), on_chunk_closed)
    return stream, errors


@contextmanager
def writer_thread(path: Path) -> Iterator[tuple[AppendStream, list[OSError], threading.Thread]]:
    """A stream whose full chunks wake a writer thread, as RunWriter's does (without its periodic
    flush); the thread is stopped on the way out."""
    wake, stop = threading.Event(), threading.Event()
    stream, errors = stream_at(path, wake.set)

    def write() -> None:
        while not stop.is_set():
            if wake.wait(0.05):
                wake.clear()
                stream.flush(everything=False)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        yield stream, errors, thread
    finally:
        stop.set()
        thread.join()


def test_records_keep_their_order_across_chunks_and_flushes(tmp_path: Path) -> None:
    stream, errors = stream_at(tmp_path / "h.jsonl")
    expected = []
    for i in range(30_000):  # many chunks; flushes land at every kind of point in between
        record = b'{"i":%d,"pad":"%s"}\n' % (i, b"y" * (i % 97))
        stream.append(record)
        expected.append(record)
        if i % 1_733 == 0:
            stream.flush()
    stream.close()
    assert (tmp_path / "h.jsonl").read_bytes() == b"".join(expected)
    assert not errors and stream.dropped == 0


def test_a_record_larger_than_a_chunk_is_written_whole(tmp_path: Path) -> None:
    stream, _ = stream_at(tmp_path / "h.jsonl")
    big = b'{"big":"' + b"z" * (3 * CHUNK_BYTES) + b'"}\n'
    for record in (RECORD, big, RECORD):
        stream.append(record)
    stream.flush()
    stream.append(big)
    stream.close()
    assert (tmp_path / "h.jsonl").read_bytes() == RECORD + big + RECORD + big


def test_threads_appending_while_another_flushes_lose_nothing(tmp_path: Path) -> None:
    stream, errors = stream_at(tmp_path / "h.jsonl")
    stop = threading.Event()

    def flusher() -> None:
        while not stop.is_set():
            stream.flush()

    def producer(name: int) -> None:
        for i in range(20_000):
            stream.append(b'{"t":%d,"i":%d,"pad":"%s"}\n' % (name, i, b"p" * 300))

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(3)]
    flushing = threading.Thread(target=flusher)
    flushing.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    flushing.join()
    stream.close()
    rows = [json.loads(line) for line in (tmp_path / "h.jsonl").read_bytes().splitlines()]
    for name in range(3):  # every record of each thread, whole and in that thread's order
        assert [row["i"] for row in rows if row["t"] == name] == list(range(20_000))
    assert len(rows) == 60_000 and not errors


def test_no_buffer_grows_past_a_chunk_however_much_is_queued(tmp_path: Path) -> None:
    """While the writer thread is behind, what is queued grows, but no buffer outgrows a chunk's
    room (one buffer copied whole as it grew: the stalls of several milliseconds a single growing
    buffer caused in log()), and a flush copies nothing."""
    stream, _ = stream_at(tmp_path / "h.jsonl")
    records = (QUEUE_MAX_CHUNKS - 4) * CHUNK_BYTES // len(RECORD)  # ~7.5 MB, under the bound
    tracemalloc.start()
    try:
        for _ in range(records):
            stream.append(RECORD)
        blocks = [trace.size for trace in tracemalloc.take_snapshot().traces]
        assert sum(blocks) >= records * len(RECORD)
        assert max(blocks) <= CHUNK_ROOM + 1024
        assert (tmp_path / "h.jsonl").stat().st_size == 0  # nothing written by the producer
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        written = stream.flush()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == records * len(RECORD)
    # The chunks went to writev as they were (views of their buffers): nothing was copied; the
    # flush only opened a new chunk (its zeros, then its buffer).
    assert peak - before <= 2 * CHUNK_ROOM + 64 * 1024
    stream.close()


def test_a_full_chunk_wakes_the_writer_thread_which_writes_it(
    tmp_path: Path, writev_calls: list[tuple[int, int, int]]
) -> None:
    """The training thread only queues: each chunk it fills wakes the writer thread, which
    writes the full chunks, without waiting for its periodic flush."""
    path = tmp_path / "h.jsonl"
    with writer_thread(path) as (stream, errors, thread):
        for _ in range(20_000):  # ~10 MB, about 77 chunks, and no periodic flush
            stream.append(RECORD)
        # Every full chunk reaches the file without a flush of everything; the open one waits.
        deadline = time.monotonic() + 60
        while 20_000 * len(RECORD) - path.stat().st_size > CHUNK_BYTES:
            assert time.monotonic() < deadline, "the writer was not woken by full chunks"
            time.sleep(0.01)
    assert thread.ident in {writer for writer, _fd, _n in writev_calls}
    stream.close()
    assert path.read_bytes() == RECORD * 20_000 and not errors


def test_written_chunks_are_reused(tmp_path: Path) -> None:
    """A writer that keeps up (here: it writes as soon as it is woken, on the producer's
    thread) hands the same few buffers back: logging allocates no chunk after the first ones."""
    path = tmp_path / "h.jsonl"
    stream: AppendStream | None = None

    def write_now() -> None:
        stream.flush(everything=False)

    stream, errors = stream_at(path, write_now)
    for _ in range(2_000):  # warm: the spare chunks exist
        stream.append(RECORD)
    tracemalloc.start()
    try:
        for _ in range(20_000):  # ~10 MB, about 77 chunks
            stream.append(RECORD)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= CHUNK_ROOM // 2  # no new chunk (each is CHUNK_ROOM) was allocated
    stream.close()
    assert path.read_bytes() == RECORD * 22_000 and not errors


def test_flushing_all_or_only_the_full_chunks(tmp_path: Path) -> None:
    """The writer woken by a full chunk writes the full ones and leaves the open chunk to fill;
    its periodic flush writes the open one too (a slow logger's lines wait one interval)."""
    path = tmp_path / "h.jsonl"
    stream, _ = stream_at(path)
    stream.append(RECORD)
    assert stream.flush(everything=False) == 0  # nothing full yet
    assert stream.flush() == len(RECORD)  # the periodic flush
    for _ in range(CHUNK_BYTES // len(RECORD) + 1):  # a chunk fills...
        stream.append(RECORD)
    stream.append(RECORD)  # ... and this one opens the next
    assert stream.flush(everything=False) == (CHUNK_BYTES // len(RECORD) + 1) * len(RECORD)
    assert stream.flush() == len(RECORD)
    stream.close()
    assert path.read_bytes() == RECORD * (CHUNK_BYTES // len(RECORD) + 3)


def test_a_disk_slower_than_the_logging_bounds_the_queue_and_loses_nothing(
    tmp_path: Path, writev_calls: list[tuple[int, int, int]]
) -> None:
    """The writer's writes wait (here on a pipe read slowly, ~13 MB/s, as a slow disk makes them
    wait): the producer queues up to QUEUE_MAX_CHUNKS, then waits for the disk and writes
    itself instead of holding the run's history in memory; every record arrives, in order."""
    reading, writing = os.pipe()  # holds 64 KiB: each write waits for the reader
    received = bytearray()

    def drain() -> None:
        while data := os.read(reading, 64 * 1024):
            received.extend(data)
            time.sleep(0.005)  # far slower than the producer appends, however loaded the machine

    drainer = threading.Thread(target=drain)
    drainer.start()
    # ~20 MB: more than the queue and what the writer took before its write blocked
    records = [b'{"i":%d,"pad":"%s"}\n' % (i, b"s" * 500) for i in range(40_000)]
    most_queued = 0
    try:
        with writer_thread(tmp_path / "h.jsonl") as (stream, errors, _thread):
            os.dup2(writing, stream.fileno())
            os.close(writing)
            for record in records:
                stream.append(record)
                most_queued = max(most_queued, stream.queued_chunks)
    finally:
        stream.close()  # its flush sends the rest; closing the write end ends the drain
        drainer.join(timeout=120)
    writers = {writer for writer, _fd, _n in writev_calls}
    assert threading.get_ident() in writers, "the producer never waited for the disk"
    assert most_queued <= QUEUE_MAX_CHUNKS
    assert bytes(received) == b"".join(records) and not errors


def test_a_full_disk_counts_the_records_it_drops_and_writing_resumes(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    stream, errors = stream_at(path)
    stream.append(b'{"before":1}\n')
    stream.flush()
    good = os.dup(stream.fileno())
    full = os.open("/dev/full", os.O_WRONLY)  # every write fails with ENOSPC
    os.dup2(full, stream.fileno())
    os.close(full)
    for i in range(2_000):  # several chunks and the open one
        stream.append(b'{"lost":%d,"pad":"%s"}\n' % (i, b"q" * 200))
    stream.flush()
    assert stream.dropped == 2_000 and errors and all(e.errno == 28 for e in errors)
    os.dup2(good, stream.fileno())  # space again
    os.close(good)
    stream.append(b'{"after":1}\n')
    stream.close()
    assert path.read_bytes() == b'{"before":1}\n{"after":1}\n'


TORN = textwrap.dedent(
    """
    import os, resource, signal, sys
    from pathlib import Path
    from runview.store.append import AppendStream
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
    path = Path(sys.argv[1])
    errors = []
    stream = AppendStream(path, lambda p, exc: errors.append(exc.errno))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    records = [b'{"i":%d,"pad":"%s"}\\n' % (i, b"w" * 90) for i in range(10)]
    for record in records[:5]:
        stream.append(record)
    resource.setrlimit(resource.RLIMIT_FSIZE, (250, hard))  # the file may not grow past 250 bytes
    stream.flush()  # stops in the middle of the third record
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    for record in records[5:]:
        stream.append(record)
    stream.close()
    print(stream.dropped, errors)
    """
)


def test_a_write_cut_short_leaves_one_corrupt_line_and_counts_the_rest(tmp_path: Path) -> None:
    """A file size limit (RLIMIT_FSIZE) makes the kernel write part of a record, as a disk
    filling up can: the torn record stays one bad line; the next records start on their own."""
    path = tmp_path / "h.jsonl"
    out = subprocess.run(
        [sys.executable, "-c", TORN, str(path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    dropped, errors = out.stdout.split(" ", 1)
    assert int(dropped) == 3 and "27" in errors  # the torn record and the two after it; EFBIG
    lines = path.read_bytes().split(b"\n")
    assert len(lines[2]) < 100 and not lines[2].endswith(b"}")  # the torn one
    whole = [json.loads(line) for index, line in enumerate(lines) if line and index != 2]
    assert [row["i"] for row in whole] == [0, 1, 5, 6, 7, 8, 9]
