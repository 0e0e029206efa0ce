"""Which way of appending history.jsonl keeps ``log()``'s worst call short (issue #9's stalls).

    python benchmarks/bench_history_append.py [--steps 200000] [--repeat 2] [--busy]

Each design runs in a fresh subprocess: a tight loop builds a dict of 20 scalars, encodes it with
orjson as ``Run.log`` does and appends the line; only the append design differs, and each call
(encode + append) is timed with ``perf_counter_ns``:

* ``none``: the line is encoded and thrown away (the loop's and the machine's noise);
* ``chunks``: every record queued; a writer thread writes all of it every 50-100 ms with
  ``os.writev`` (runview's design before #9);
* ``producer``: the thread that fills a 128 KiB chunk writes it (``os.write``), the writer thread
  only a chunk left open for an interval (runview's design during #9, until the writer thread
  took every write back);
* ``writer``: ``AppendStream`` as runview uses it now: each full chunk wakes the writer thread,
  which writes the full chunks; everything every 100 ms;
* ``mmap``: the training thread copies each line into a shared ``mmap`` window (4 MiB) of the
  file itself, the file reserved ahead with ``posix_fallocate`` in 4-64 MiB steps; no other
  thread per record; ``mmap-populate``: each new window is faulted in at once
  (``MADV_POPULATE_WRITE``) instead of page by page as lines reach it.

``--busy`` keeps one more process spinning on a core meanwhile (a loaded machine). Printed per
design: p50 / p99 / p99.9 / max of the call, calls over 1 ms, minor page faults and voluntary /
involuntary context switches of the loop, and the file's size afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine_info import machine  # noqa: E402 - a sibling script, found through the path above

CHILD = r"""
import bisect, json, os, resource, sys, threading, time
from array import array
from pathlib import Path
import orjson

steps, design, path = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
keys = [f"train/metric_{j:02d}" for j in range(20)]
timings = array("q", bytes(8 * steps))
clock = time.perf_counter_ns
dumps, OPT = orjson.dumps, orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY
stop = threading.Event()
errors = []

def warn(path, exc):
    errors.append(repr(exc))

if design == "none":
    def append(line):
        pass
    def close():
        pass
elif design == "writer":
    from runview.store.append import AppendStream
    wake = threading.Event()
    stream = AppendStream(path, warn, wake.set)
    append = stream.append
    def writer():  # as RunWriter._run: woken by a full chunk; everything every 100 ms
        next_flush = time.monotonic() + 0.1
        while not stop.is_set():
            wait = next_flush - time.monotonic()
            if wait > 0 and wake.wait(wait):
                wake.clear()
                stream.flush(everything=False)
                continue
            next_flush = time.monotonic() + 0.1
            stream.flush()
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    def close():
        stop.set(); wake.set(); thread.join(); stream.close()
elif design in ("mmap", "mmap-populate"):
    import mmap
    POPULATE = design == "mmap-populate"
    WINDOW_BYTES = 4 << 20  # mapped at once: what the mapping adds to the training process's RSS
    MIN_RESERVE_BYTES = 4 << 20  # the file grows in steps of at least this, reserved ahead
    MAX_RESERVE_BYTES = 64 << 20
    GRANULE = mmap.ALLOCATIONGRANULARITY


    class MappedAppend:
        # Appends records to one file through a window of it mapped shared.

        def __init__(self, path, fd, start, on_error):
            self.path = path
            self.dropped = 0
            self._on_error = on_error
            self._fd = fd
            self._lock = threading.Lock()
            self._map = None
            self._base = 0  # file offset of the window's first byte
            self.at = start  # next write, relative to _base
            self.room = 0  # the window's length: a record that ends past it needs the next window
            self._reserved = os.fstat(fd).st_size

        @classmethod
        def open(cls, path, on_error):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError:
                return None
            stream = cls(path, fd, 0, on_error)
            return stream

        def append(self, line):
            with self._lock:
                at = self.at
                end = at + len(line)
                if end <= self.room:
                    self._map[at:end] = line  # type: ignore[index]
                    self.at = end
                else:
                    self._next_window(line)

        def _next_window(self, line):
            position = self._base + self.at
            base = position - position % GRANULE
            length = max(WINDOW_BYTES, -(-(position - base + len(line)) // GRANULE) * GRANULE)
            need = base + length
            if need > self._reserved:
                step = min(MAX_RESERVE_BYTES, max(MIN_RESERVE_BYTES, need // 8))
                target = -(-(need + step) // GRANULE) * GRANULE
                os.posix_fallocate(self._fd, self._reserved, target - self._reserved)
                self._reserved = target
            mapping = mmap.mmap(self._fd, length, offset=base)
            if POPULATE:  # every page of the window faulted in at once (MADV_POPULATE_WRITE)
                mapping.madvise(23)
            old, self._map = self._map, mapping
            if old is not None:
                old.close()
            self._base, self.room = base, length
            at = position - base
            end = at + len(line)
            mapping[at:end] = line
            self.at = end

        def service(self):
            return 0

        def close(self):
            with self._lock:
                end = self._base + self.at
                if self._map is not None:
                    self._map.close()
                    self._map = None
                self.room = 0
                try:
                    os.ftruncate(self._fd, end)
                except OSError as exc:
                    self._on_error(self.path, exc)
                os.close(self._fd)
                self._fd = -1


    stream = MappedAppend.open(path, warn)
    assert stream is not None, "mmap not available here"
    append = stream.append
    def flusher():
        while not stop.wait(0.1):
            stream.service()
    thread = threading.Thread(target=flusher, daemon=True)
    thread.start()
    def close():
        stop.set(); thread.join(); stream.close()
elif design in ("producer", "chunks"):
    # Standalone copies of runview's earlier designs. producer: the thread that fills a 128 KiB
    # chunk writes it; the writer thread writes a chunk left open for an interval. chunks: every
    # record queued, the writer thread writes all of it every 50-100 ms.
    CHUNK = 128 * 1024
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    state = {"chunk": bytearray(), "since": time.monotonic(), "queued": []}
    def append(line):
        chunk = state["chunk"]
        chunk += line
        if len(chunk) >= CHUNK:
            state["chunk"] = bytearray()
            state["since"] = time.monotonic()
            if design == "producer":
                os.write(fd, chunk)
            else:
                state["queued"].append(chunk)
    def write_queued():
        queued, state["queued"] = state["queued"], []
        chunk = state["chunk"]
        state["chunk"] = bytearray()
        state["since"] = time.monotonic()
        os.writev(fd, queued + [chunk])
        return sum(map(len, queued)) + len(chunk)
    def flusher():
        interval = 0.1
        while not stop.wait(interval):
            if design == "chunks":
                interval = 0.05 if write_queued() >= 1 << 20 else 0.1
            elif time.monotonic() - state["since"] > 0.1:
                write_queued()
    thread = threading.Thread(target=flusher, daemon=True)
    thread.start()
    def close():
        stop.set(); thread.join(); write_queued(); os.close(fd)

usage = resource.getrusage(resource.RUSAGE_THREAD)
for step in range(steps):
    base = step * 1e-6
    row = {key: base + j for j, key in enumerate(keys)}
    t0 = clock()
    row["_step"] = step
    row["_time"] = 0.0
    line = dumps(row, option=OPT)
    append(line)
    timings[step] = clock() - t0
after = resource.getrusage(resource.RUSAGE_THREAD)
close()
ordered = sorted(timings)
pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000
print(json.dumps({
    "p50": pick(0.5), "p99": pick(0.99), "p999": pick(0.999), "max": ordered[-1] / 1000,
    "over_1ms": len(ordered) - bisect.bisect_right(ordered, 1_000_000),
    "minflt": after.ru_minflt - usage.ru_minflt,
    "switches": [after.ru_nvcsw - usage.ru_nvcsw, after.ru_nivcsw - usage.ru_nivcsw],
    "bytes": path.stat().st_size if path.exists() else 0,
    "errors": errors[:3],
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--designs", default="none,chunks,producer,writer,mmap,mmap-populate")
    parser.add_argument("--busy", action="store_true", help="spin one more process meanwhile")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="runview-append-"))
    spinner = None
    if args.busy:
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"{args.steps:,} steps x 20 scalars, busy core: {'yes' if args.busy else 'no'}")
    print(
        f"{'design':8s} {'p50':>7s} {'p99':>7s} {'p99.9':>8s} {'max':>9s} {'>1ms':>5s}"
        f" {'minflt':>7s} {'vol/invol':>10s} {'MB':>6s}"
    )
    try:
        for attempt in range(args.repeat):
            for design in args.designs.split(","):
                path = root / f"{design}-{attempt}.jsonl"
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(args.steps), design, str(path)],
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                if out.returncode:
                    print(f"{design}: failed\n{out.stderr}")
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{design:8s} {r['p50']:6.2f}µ {r['p99']:6.2f}µ {r['p999']:7.1f}µ"
                    f" {r['max'] / 1000:7.2f}ms {r['over_1ms']:5d} {r['minflt']:7d}"
                    f" {'/'.join(map(str, r['switches'])):>10s} {r['bytes'] / 1e6:6.1f}"
                    + (f"  errors: {r['errors']}" if r["errors"] else "")
                )
                path.unlink(missing_ok=True)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
        shutil.rmtree(root, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
