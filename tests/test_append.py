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
from pathlib import Path

from runview.store.append import (
    CHUNK_BYTES,
    CHUNK_ROOM,
    SPARE_CHUNKS,
    AppendStream,
    local_filesystem,
)

RECORD = b'{"x":' + b"1" * 500 + b"}\n"


def stream_at(path: Path, producers_write: bool = True) -> tuple[AppendStream, list[OSError]]:
    errors: list[OSError] = []
    stream = AppendStream(path, lambda _path, exc: errors.append(exc), producers_write)
    return stream, errors


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
    """With only the flushing thread writing (a network filesystem), what is queued grows, but
    no buffer outgrows a chunk's room (one buffer copied whole as it grew: the stalls of several
    milliseconds a single growing buffer caused in log()), and a flush copies nothing."""
    stream, _ = stream_at(tmp_path / "h.jsonl", producers_write=False)
    tracemalloc.start()
    try:
        for _ in range(20_000):  # ~10 MB queued, nothing flushed
            stream.append(RECORD)
        blocks = [trace.size for trace in tracemalloc.take_snapshot().traces]
        assert sum(blocks) >= 20_000 * len(RECORD)
        assert max(blocks) <= CHUNK_ROOM + 1024
        assert (tmp_path / "h.jsonl").stat().st_size == 0
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        written = stream.flush()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == 20_000 * len(RECORD)
    # The chunks went to writev as they were (views of their buffers): nothing was copied; the
    # flush only opened a new chunk (its zeros, then its buffer).
    assert peak - before <= 2 * CHUNK_ROOM + 64 * 1024
    stream.close()


def test_the_thread_that_fills_a_chunk_writes_it_and_chunks_are_reused(tmp_path: Path) -> None:
    """The training thread writes each full chunk itself: nothing queues up for another thread
    to copy on the other core, and the chunks' buffers are allocated once."""
    path = tmp_path / "h.jsonl"
    stream, errors = stream_at(path)
    assert stream.producers_write  # a local filesystem
    for _ in range(200):  # warm: the spare chunks exist
        stream.append(RECORD)
    tracemalloc.start()
    try:
        for _ in range(20_000):  # ~10 MB, about 40 chunks, and no flush
            stream.append(RECORD)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    on_disk = path.stat().st_size
    # Every full chunk is in the file already; at most the open one is not.
    assert 20_200 * len(RECORD) - on_disk <= CHUNK_BYTES
    assert peak <= (1 + SPARE_CHUNKS) * (CHUNK_ROOM + 64 * 1024)
    stream.close()
    assert path.read_bytes() == RECORD * 20_200 and not errors


def test_the_periodic_flush_leaves_a_young_chunk_to_its_producer(tmp_path: Path) -> None:
    """A chunk opened since the last periodic flush is left to fill (a fast logger writes it
    when full); one still open at the next flush is written (a slow logger's lines wait at most
    two flush intervals)."""
    path = tmp_path / "h.jsonl"
    stream, _ = stream_at(path)
    stream.flush(everything=False)  # the flusher's first look
    stream.append(RECORD)
    assert stream.flush(everything=False) == len(RECORD)  # open at the last look: slow logger
    for _ in range(CHUNK_BYTES // len(RECORD) + 1):  # a chunk fills: the producer writes it
        stream.append(RECORD)
    stream.append(RECORD)  # ... and this one opens the next chunk
    on_disk = path.stat().st_size
    assert stream.flush(everything=False) == 0  # opened since the last look: left to fill
    assert path.stat().st_size == on_disk
    assert stream.flush(everything=False) > 0  # still open a whole interval later: written
    stream.close()
    assert path.read_bytes() == RECORD * (CHUNK_BYTES // len(RECORD) + 3)


def test_a_producer_writes_at_most_128_kib_at_once(tmp_path: Path) -> None:
    """The training thread's write of a chunk costs it time per new page of the page cache
    (benchmarks/bench_append_write.py: at 256 KiB up to ~1 ms of CPU on a shared VM, a call of
    log() over its 1 ms goal): what one producer's write adds to the file stays under 128 KiB
    and a record."""
    path = tmp_path / "h.jsonl"
    stream, errors = stream_at(path)
    size, growths = 0, []
    for _ in range((1 << 20) // len(RECORD)):  # 1 MiB of records, no flushing thread
        stream.append(RECORD)
        now = path.stat().st_size
        if now != size:
            growths.append(now - size)
            size = now
    stream.close()
    assert len(growths) >= 7 and not errors
    assert max(growths) <= 128 * 1024 + len(RECORD)


def test_a_slow_write_hands_all_writes_to_the_flushing_thread(tmp_path: Path) -> None:
    """A producer's write that waits (here a pipe drained late, as a network filesystem can
    make a write wait on its server) makes every later write the flushing thread's: log() is
    stalled once, not at every chunk."""
    stream, errors = stream_at(tmp_path / "h.jsonl")
    reading, writing = os.pipe()  # holds 64 KiB: a chunk's write waits for the reader
    os.dup2(writing, stream.fileno())
    os.close(writing)
    received = bytearray()

    def drain() -> None:
        while True:
            time.sleep(0.2)  # longer than SLOW_WRITE_S, however loaded the machine
            data = os.read(reading, 1 << 20)
            if not data:
                return
            received.extend(data)

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    sent = 0
    try:
        # A write preempted by the scheduler does not count: chunks until one only waited.
        while stream.producers_write and sent < 40 * CHUNK_BYTES:
            stream.append(RECORD)
            sent += len(RECORD)
        assert not stream.producers_write
        for _ in range(4 * CHUNK_BYTES // len(RECORD)):  # the producer no longer writes...
            stream.append(RECORD)
            sent += len(RECORD)
        assert len(stream._closed) >= 3  # ... its full chunks wait for the flushing thread
    finally:
        stream.close()  # the flushing thread's write (here: close's) sends the rest
    drainer.join(timeout=60)
    assert bytes(received) == RECORD * (sent // len(RECORD)) and not errors


def test_network_filesystems_are_written_by_the_flushing_thread_only(tmp_path: Path) -> None:
    mounts = (
        "/dev/vda / ext4 rw 0 0\n"
        "server:/export /mnt/shared nfs4 rw 0 0\n"
        "host:/home /mnt/my\\040home fuse.sshfs rw 0 0\n"
    )
    assert local_filesystem(Path("/mnt/data/run"), mounts)
    assert not local_filesystem(Path("/mnt/shared/runs/a"), mounts)
    assert not local_filesystem(Path("/mnt/shared"), mounts)
    assert not local_filesystem(Path("/mnt/my home/runs"), mounts)
    assert local_filesystem(Path("/mnt/sharedness"), mounts)
    assert local_filesystem(tmp_path)  # this machine's own mounts


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
