"""Bytes a live viewer sends to its terminal, and the CPU it takes, as over a slow SSH link.

    python benchmarks/bench_live_terminal.py [--seconds 10] [--tabs charts overview system]

A training process logs 8 metrics at 20 steps a second (system metrics at the default 2 s);
the viewer runs in a real pty at 160x48 and at 80x24, on each tab in turn, and everything it
writes to the terminal is counted over ``--seconds`` after the first paint. Alongside: the
viewer's CPU (user + system) over the same window.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
from bench_viewer import drain, spawn_viewer, stop  # noqa: E402 - a sibling script
from machine_info import machine  # noqa: E402 - benchmarks run as scripts from this folder

TRAIN = textwrap.dedent(
    """
    import math, sys, time, runview
    run = runview.init(project="live", name="live-bench", dir=sys.argv[1])
    history = int(sys.argv[2])  # steps logged at once first: a run that has trained a while
    step = 0
    start = time.monotonic()
    while True:
        t = step / 20
        run.log({
            "train/loss": 2.0 * math.exp(-t / 60) + 0.05 * math.sin(step),
            "train/acc": 1 - math.exp(-t / 40),
            "train/lr": 1e-3 * (0.5 + 0.5 * math.cos(t / 300)),
            "train/grad_norm": 1.0 + 0.3 * math.sin(step / 7),
            "val/loss": 2.1 * math.exp(-t / 60),
            "val/acc": 0.98 - math.exp(-t / 45),
            "perf/samples_per_s": 5000 + 100 * math.sin(step / 13),
            "perf/step_ms": 48 + 2 * math.cos(step / 5),
        })
        step += 1
        if step == history:
            open(sys.argv[1] + ".live", "w").close()  # the history is in: live from here
            start = time.monotonic() - step / 20
        if step >= history:
            time.sleep(max(0.0, start + step / 20 - time.monotonic()))
    """
)


def start_training(root: Path, history: int = 0) -> tuple[subprocess.Popen[bytes], Path]:
    script = root / "train.py"
    script.write_text(TRAIN)
    process = subprocess.Popen(
        [sys.executable, str(script), str(root / "runs"), str(history)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list((root / "runs").glob("live/*/runview.json"))
        if found and (history == 0 or (root / "runs.live").exists()):
            return process, found[0].parent
        time.sleep(0.05)
    process.kill()
    raise SystemExit("the training process did not start")


def measure(run_dir: Path, tab: str, cols: int, rows: int, seconds: float) -> tuple[float, float]:
    """(bytes per second to the terminal, % of one core) over ``seconds`` after start-up."""
    pid, fd = spawn_viewer(run_dir, tab, cols, rows)
    try:
        drain(fd, 4.0)  # start-up, first paint, the first refreshes
        process = psutil.Process(pid)
        cpu0 = sum(process.cpu_times()[:2])
        sent, _ = drain(fd, seconds)
        cpu = sum(process.cpu_times()[:2]) - cpu0
    finally:
        stop(pid, fd)
    return sent / seconds, 100 * cpu / seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tabs", nargs="+", default=["charts", "overview", "system"])
    parser.add_argument("--sizes", nargs="+", default=["160x48", "80x24"])
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print("live run: 8 metrics at 20 steps/s, system metrics every 2 s")
    root = Path(tempfile.mkdtemp(prefix="runview-bench-live-"))
    process, run_dir = start_training(root)
    try:
        print(f"{'tab':10s} {'size':>7s} {'KiB/s to terminal':>18s} {'viewer CPU':>11s}")
        for size in args.sizes:
            cols, rows = (int(n) for n in size.split("x"))
            for tab in args.tabs:
                rate, cpu = measure(run_dir, tab, cols, rows, args.seconds)
                print(f"{tab:10s} {size:>7s} {rate / 1024:18.2f} {cpu:10.1f}%")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    if os.environ.get("RUNVIEW_BENCH_KEEP") != "1":
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
