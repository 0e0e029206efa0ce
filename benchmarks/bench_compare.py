"""Comparing runs as a user sees it: ``runview R1 ... R10 --tab charts`` until the charts are drawn.

    python benchmarks/bench_compare.py [--runs 10] [--rows 100000] [--metrics 20] [--repeat 3]

Generates ``--runs`` runs of ``--rows`` steps x ``--metrics`` metrics with the real logger (kept in
/tmp/runview-bench-compare and reused), then launches the comparison in a fresh process in a real
pty at 160x48, with the defaults a user gets, and reports:

* charts: seconds until the charts' x axis shows the last step (the tick label ``100k``), and
  until the terminal has been quiet for a second after it (every visible chart drawn);
* peak RSS of the viewer (the kernel's high-water mark, from ``wait4``).

The single run's Charts tab (``runview R1 --tab charts``) is measured the same way in the same
session, alternating with the comparison, as the baseline.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import sys
import termios
import time
from pathlib import Path

from bench_viewer import drain  # noqa: E402 - a sibling script
from machine_info import machine  # noqa: E402 - benchmarks run as scripts from this folder

DATA = Path("/tmp/runview-bench-compare")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")


def generate(runs: int, rows: int, metrics: int) -> list[Path]:
    """``runs`` runs (lr and seed differ), reused when already written with these sizes."""
    import numpy as np

    import runview

    done = DATA / "done.json"
    shape = {"runs": runs, "rows": rows, "metrics": metrics}
    if done.exists():
        info = json.loads(done.read_text())
        if info["shape"] == shape:
            return [Path(p) for p in info["paths"]]
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    os.environ["RUNVIEW_COLUMNS_CLOSE_S"] = "600"  # complete columns at the end
    keys = [f"{'train' if j % 2 == 0 else 'val'}/metric_{j:02d}" for j in range(metrics)]
    paths = []
    started = time.perf_counter()
    for number in range(runs):
        run = runview.init(
            project="bench",
            name=f"run-{number:02d}",
            dir=DATA,
            config={"lr": 10 ** -(1 + number % 3), "seed": number},
            console=False,
            system_interval=None,
        )
        rng = np.random.default_rng(number)
        step = 1
        while step <= rows:
            block = min(10_000, rows - step + 1)
            base = np.exp(-np.arange(step, step + block) / rows * (1 + number % 3))[:, None]
            values = (base + rng.random((block, metrics)) * 0.05).tolist()
            for row in values:
                run.log(dict(zip(keys, row)), step=step)
                step += 1
        run.finish()
        paths.append(run.dir)
        elapsed = time.perf_counter() - started
        print(f"  generated {number + 1}/{runs} ({elapsed:.0f} s)", flush=True)
    done.write_text(json.dumps({"shape": shape, "paths": [str(p) for p in paths]}))
    return paths


def open_charts(
    args: list[str], needle: bytes, timeout: float = 120.0
) -> tuple[float, float, float]:
    """(seconds to ``needle``, seconds to a quiet terminal after it, peak RSS in MB)."""
    env = dict(os.environ, TERM="xterm-256color")
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-m", "runview", *args, "--tab", "charts"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    pattern = re.compile(rb"(?<![0-9.])" + re.escape(needle) + rb"(?![0-9])")
    screen, seen, last_output = b"", None, time.monotonic()
    while time.monotonic() - started < timeout:
        ready, _, _ = select.select([fd], [], [], 0.05)
        now = time.monotonic()
        if ready:
            try:
                data = os.read(fd, 1 << 16)
            except OSError:
                break
            last_output = now
            screen = (screen + ANSI.sub(b"", data))[-(1 << 16) :]
            if seen is None and pattern.search(screen):
                seen = now - started
        elif seen is not None and now - last_output >= 1.0:
            break
    quiet = last_output - started
    os.kill(pid, signal.SIGTERM)
    drain(fd, 3.0)  # let it restore the terminal and exit
    _pid, _status, usage = os.wait4(pid, 0)  # its peak RSS, from the kernel
    os.close(fd)
    if seen is None:
        raise SystemExit(f"{needle!r} never reached the terminal")
    return seen, quiet, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"machine: {machine()} · load average {load} (other work on the machine)")
    paths = generate(args.runs, args.rows, args.metrics)
    needle = f"{args.rows // 1000}k".encode() if args.rows % 1000 == 0 else str(args.rows).encode()
    cases = {
        "one run, Charts tab (baseline)": [str(paths[0])],
        f"{len(paths)} runs compared, Charts tab": [str(p) for p in paths],
    }
    print(f"{args.rows:,} steps x {args.metrics} metrics per run, 160x48, median of {args.repeat}:")
    results: dict[str, list[tuple[float, float, float]]] = {label: [] for label in cases}
    for _ in range(args.repeat):  # the cases alternate, so the machine's noise hits both alike
        for label, argv in cases.items():
            results[label].append(open_charts(argv, needle))
    for label, samples in results.items():
        first = statistics.median(r[0] for r in samples)
        quiet = statistics.median(r[1] for r in samples)
        rss = max(r[2] for r in samples)
        print(
            f"    {label}: x axis at {needle.decode()} after {first:.2f} s, every visible chart "
            f"drawn by {quiet:.2f} s, peak RSS {rss:.0f} MB (max of the launches)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
