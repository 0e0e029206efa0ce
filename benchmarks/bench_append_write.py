"""What one append of a chunk to a file costs the thread that makes it, by chunk size.

    python benchmarks/bench_append_write.py [--megabytes 200] [--repeat 2] [--sizes 256,128,64]

Appends ``--megabytes`` to a fresh file in the temp folder in writes of each size (KiB), a
0.3 ms pause between writes (as a training loop spaces them), the sizes interleaved. Printed per
size: the write's wall time and the CPU time of the writing thread (``thread_time``: the kernel's
work for that thread, preemption excluded) at p50 / p99 / max, and the writes over 1 ms. An
append allocates and fills new pages of the page cache; rewriting a region already cached costs a
fraction of that (``--overwrite`` shows it).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine_info import machine  # noqa: E402 - a sibling script, found through the path above


def measure(folder: str, size: int, total: int, overwrite: bool) -> str:
    path = os.path.join(folder, f"append-{size}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (0 if overwrite else os.O_APPEND), 0o644)
    data = b"x" * (size - 1) + b"\n"
    walls, cpus = [], []
    try:
        for index in range(max(1, total // size)):
            cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
            if overwrite:
                os.pwrite(fd, data, (index % 4) * size)
            else:
                os.write(fd, data)
            walls.append(time.perf_counter_ns() - wall)
            cpus.append(time.thread_time_ns() - cpu)
            time.sleep(0.0003)
    finally:
        os.close(fd)
        os.unlink(path)
    cells = []
    for values in (walls, cpus):
        values.sort()
        p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
        over = sum(v > 1_000_000 for v in values)
        cells.append(
            f"{values[len(values) // 2] / 1e3:6.0f}µ {p99 / 1e3:6.0f}µ {values[-1] / 1e3:7.0f}µ"
            f" {over:5d}"
        )
    return f"{size // 1024:4d} KiB {len(walls):7d}   " + "   ".join(cells)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--sizes", default="256,128,64", help="KiB, comma-separated")
    parser.add_argument("--overwrite", action="store_true", help="rewrite 4 chunks in place")
    args = parser.parse_args()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f} at the start")
    folder = tempfile.mkdtemp(prefix="runview-write-")
    atexit.register(shutil.rmtree, folder, True)  # what it wrote goes with it
    print(f"{args.megabytes} MB per size, {'overwriting' if args.overwrite else 'appending'}")
    print(
        f"{'size':>8s} {'writes':>7s}   {'wall p50':>7s} {'p99':>7s} {'max':>8s} {'>1ms':>5s}"
        f"   {'CPU p50':>7s} {'p99':>7s} {'max':>8s} {'>1ms':>5s}"
    )
    for _ in range(args.repeat):
        for size in args.sizes.split(","):
            print(measure(folder, int(size) * 1024, args.megabytes << 20, args.overwrite))
    os.rmdir(folder)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
