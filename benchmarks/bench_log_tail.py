"""Opening a huge console.log: time and peak memory to get its last 1000 lines, and to follow it.

Writes a log of real lines (a 1 MB block written again and again, with colours and tqdm-style
"\\r" frames) under /tmp, then, each in a fresh child process so peak RSS is its own:

- ``tail``: ``ConsoleTail`` first refresh (scan backwards from the end), then an append refresh;
- ``naive``: the baseline, ``deque(open(path, "rb"), maxlen=1000)``, which reads everything;
- ``sanitise``: turning the 1000 lines into rich Text, as the log pane does on first show.

    python benchmarks/bench_log_tail.py [--gb 2] [--keep]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import machine  # noqa: E402 - benchmarks run as scripts from this folder


def block() -> bytes:
    """About 1 MB of log lines, ending with a newline."""
    out, i = bytearray(), 0
    while len(out) < 1024 * 1024:
        if i % 200 == 0:
            out += (
                b"".join(
                    b"\r epoch %d: %3d%%|%-10s|" % (i, p, b"#" * (p // 10))
                    for p in range(0, 101, 20)
                )
                + b"\n"
            )
        out += b"step %08d loss=\x1b[32m%.5f\x1b[0m lr=3e-4 throughput=%d tok/s\n" % (
            i,
            1 / (i + 1),
            1000 + i % 97,
        )
        i += 1
    return bytes(out)


def create(path: Path, gigabytes: float) -> float:
    data = block()
    count = int(gigabytes * 1024)
    start = time.perf_counter()
    with open(path, "wb") as fh:
        for _ in range(count):
            fh.write(data)
    return time.perf_counter() - start


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB


def measure(kind: str, path: Path) -> dict[str, float | int]:
    base = peak_mb()
    result: dict[str, float | int] = {}
    if kind == "tail":
        from runview.store.console_tail import ConsoleTail

        base = peak_mb()
        tail = ConsoleTail(path, max_lines=1000)
        start = time.perf_counter()
        tail.refresh()
        snap = tail.snapshot()
        result["open_ms"] = (time.perf_counter() - start) * 1e3
        result["lines"] = len(snap.lines)
        result["read_kb"] = tail.bytes_read / 1024
        with open(path, "ab") as fh:
            fh.write(b"".join(b"appended %d\n" % i for i in range(100)))
        read_before = tail.bytes_read
        start = time.perf_counter()
        tail.refresh()
        tail.snapshot()
        result["append_ms"] = (time.perf_counter() - start) * 1e3
        result["append_read_kb"] = (tail.bytes_read - read_before) / 1024
        start = time.perf_counter()
        tail.refresh()
        result["idle_refresh_ms"] = (time.perf_counter() - start) * 1e3
    elif kind == "naive":
        from collections import deque

        start = time.perf_counter()
        with open(path, "rb") as fh:
            last = deque(fh, maxlen=1000)
        result["open_ms"] = (time.perf_counter() - start) * 1e3
        result["lines"] = len(last)
        result["read_kb"] = os.path.getsize(path) / 1024
    elif kind == "sanitise":
        from runview.store.console_tail import ConsoleTail
        from runview.tui.ansi import sanitize_line

        tail = ConsoleTail(path, max_lines=1000)
        tail.refresh()
        lines = tail.snapshot().lines
        base = peak_mb()
        start = time.perf_counter()
        texts = [sanitize_line(line) for line in lines]
        result["open_ms"] = (time.perf_counter() - start) * 1e3
        result["lines"] = len(texts)
    result["peak_rss_mb"] = peak_mb()
    result["peak_rss_growth_mb"] = peak_mb() - base
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--keep", action="store_true", help="leave the log in /tmp")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="runview-bench-tail-", dir="/tmp"))
    atexit.register(shutil.rmtree, tmp, True)  # what it wrote goes with it
    path = tmp / "console.log"
    print(f"machine: {machine()}")
    seconds = create(path, args.gb)
    size = path.stat().st_size
    print(
        f"log: {size / 2**30:.2f} GiB of lines at {path} (written in {seconds:.1f} s; page cache "
        "warm)"
    )
    try:
        for kind in ("tail", "naive", "sanitise"):
            out = subprocess.run(
                [sys.executable, __file__, "--measure", kind, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(out.stdout)
            print(
                f"{kind:9s} "
                + "  ".join(
                    f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v:,}"
                    for k, v in figures.items()
                )
            )
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
            tmp.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
