"""The viewer as a user runs it, in a real pty: idle CPU and terminal traffic, and live latency.

    python benchmarks/bench_viewer.py [--seconds 10]

1. Idle: a finished run is open on each tab in turn, no key pressed; CPU time of the viewer
   process and bytes it writes to the terminal over ``--seconds``.
2. Latency: a live run logs a new metric value; time until it is on the terminal (read from
   the pty), for the summary table on the Overview.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

import psutil
from machine_info import machine  # noqa: E402 - benchmarks run as scripts from this folder

import runview


def spawn_viewer(
    run_dir: Path, tab: str, cols: int = 160, rows: int = 48, code: str | None = None
) -> tuple[int, int]:
    """The viewer in a pty of ``cols`` x ``rows``; ``code``: a folder holding another ``runview``
    package to run instead of the installed one (a baseline)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        if code is not None:
            os.environ["PYTHONPATH"] = code
        os.execv(sys.executable, [sys.executable, "-m", "runview", str(run_dir), "--tab", tab])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd


def drain(fd: int, seconds: float, needle: bytes | None = None) -> tuple[int, float | None]:
    """Read the terminal for ``seconds``; bytes read and when ``needle`` first appeared."""
    total, seen, buffer = 0, None, b""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            total += len(data)
            if needle is not None and seen is None:
                buffer = (buffer + data)[-65536:]
                if needle in buffer:
                    seen = time.monotonic() - start
                    if seconds == float("inf"):
                        break
    return total, seen


def stop(pid: int, fd: int) -> None:
    os.kill(pid, signal.SIGTERM)
    drain(fd, 0.5)
    os.waitpid(pid, 0)
    os.close(fd)


def idle(seconds: float) -> None:
    root = Path(tempfile.mkdtemp(prefix="runview-bench-"))
    run = runview.init(
        project="bench", dir=root, console=False, system_interval=None, config={"lr": 0.1}
    )
    for step in range(10_000):
        run.log({"train/loss": 1 / (step + 1), "val/acc": step / 10_000})
    run.finish()
    print(f"idle viewer on a finished run, {seconds:.0f} s, 160x48:")
    for tab in ("overview", "charts", "system", "model", "logs"):
        pid, fd = spawn_viewer(run.dir, tab)
        drain(fd, 3.0)  # start-up and first paint
        proc = psutil.Process(pid)
        cpu0 = sum(proc.cpu_times()[:2])
        sent, _ = drain(fd, seconds)
        cpu = sum(proc.cpu_times()[:2]) - cpu0
        print(
            f"  {tab:9s} CPU {100 * cpu / seconds:5.2f}% of a core, {sent / seconds:8.1f} bytes/s "
            "to the terminal"
        )
        stop(pid, fd)


def latency(trials: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="runview-bench-"))
    run = runview.init(project="bench", dir=root, console=False, system_interval=None)
    run.log({"warmup": 1.0})
    pid, fd = spawn_viewer(run.dir, "overview")
    drain(fd, 3.0)
    results = []
    for trial in range(trials):
        key = f"metric_{trial:03d}"
        sent_at = time.monotonic()
        run.log({key: 1.0})
        _, seen = drain(fd, 5.0 if trial == trials - 1 else float("inf"), key.encode())
        results.append((time.monotonic() - sent_at) if seen is None else seen)
        drain(fd, 0.3)
    stop(pid, fd)
    run.finish()
    results.sort()
    print(
        f"log() to on-screen latency, {trials} trials: median "
        f"{results[len(results) // 2] * 1000:.0f} ms, "
        f"max {results[-1] * 1000:.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    idle(args.seconds)
    latency(args.trials)
    return 0


if __name__ == "__main__":
    sys.exit(main())
