"""The table of runs as a user sees it: launch to first rows and to the full table, idle cost, and
how soon a new run shows.

    python benchmarks/bench_table.py [--sizes 1000 10000] [--repeat 3] [--idle 10]

For each size, a root of that many finished runs (2 projects, 12 config keys, 20 summary
metrics, tags; written once to /tmp/runview-bench-table/<size>) is opened with ``runview ROOT`` in
a fresh process in a real pty at 160x48, with the defaults a user gets:

* cold: an empty runview cache (the row cache is written as the table reads);
* warm: the cache that the cold launches left.

Timed from the fork until the newest run's name is on the terminal (first rows) and until the
header says ``N runs`` (every run read: it says ``reading i of N`` until then). A bare Textual app
painting one word is timed in the same session as the baseline. Then, with the table open and
every run read: CPU of the viewer over ``--idle`` seconds on the quiet root, and the time from a
new run's directory being written until its name is on the terminal. Last, the scan alone
(``RunScanner.read_all`` in this process), cold and warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from bench_viewer import drain, stop  # noqa: E402 - a sibling script
from machine_info import machine  # noqa: E402

BASE = Path("/tmp/runview-bench-table")
BARE = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("bare-app-painted")

Bare().run()
"""
START = 1_790_000_000.0


def write_run(project: Path, number: int, started: float, name: str) -> Path:
    """One finished run as the logger leaves it (documents and a short history)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    run = project / f"{stamp}-b{number:07d}"
    run.mkdir()
    documents = {
        "runview.json": {"format": "runview", "version": 1},
        "meta.json": {
            "id": f"b{number:07d}",
            "name": name,
            "project": project.name,
            "start_time": started,
            "host": f"gpu-{number % 4:02d}",
            "tags": ["sweep", f"group-{number % 5}"],
            "argv": ["train.py", "--lr", "0.001"],
            "python": "3.11.7",
        },
        "config": {
            "lr": 10 ** -(1 + number % 4),
            "seed": number % 3,
            "batch": 64,
            "optimizer": "adam" if number % 2 else "sgd",
            "model": {"depth": 2 + number % 4, "width": 256, "dropout": 0.1},
            "data": {"path": "/data/imagenet", "workers": 8},
            "epochs": 90,
            "warmup": 5,
            "schedule": "cosine",
        },
        "summary": {f"train/metric_{k:02d}": (number * 7 + k) % 1000 / 1000 for k in range(20)},
        "status": {
            "state": "finished",
            "started": started,
            "heartbeat": started + 600,
            "ended": started + 600,
            "exit_code": 0,
            "heartbeat_interval": 2.0,
        },
    }
    for name_, document in documents.items():
        filename = name_ if name_.endswith(".json") else f"{name_}.json"
        (run / filename).write_text(json.dumps(document))
    (run / "history.jsonl").write_text('{"_step": 0, "_time": 1.0, "loss": 1.0}\n')
    return run


def make_root(size: int) -> tuple[Path, str]:
    """The root of ``size`` runs (kept between sessions) and the newest run's name."""
    root = BASE / str(size)
    newest = f"bench-{size - 1:06d}"
    if (root / ".complete").exists():
        return root, newest
    shutil.rmtree(root, ignore_errors=True)
    for project in ("alpha", "beta"):
        (root / project).mkdir(parents=True)
    print(f"  writing {size:,} runs to {root} ...", flush=True)
    for number in range(size):
        project = root / ("alpha" if number % 2 else "beta")
        write_run(project, number, START + number * 60, f"bench-{number:06d}")
    (root / ".complete").write_text("")
    return root, newest


class Viewer:
    """``runview ROOT`` in a pty at 160x48; the clock starts at the fork."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.started = time.monotonic()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ.clear()
            os.environ.update(env)
            os.execv(argv[0], argv)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        self.buffer = b""

    def until(self, needle: bytes, timeout: float = 120.0) -> float:
        """Seconds since launch when ``needle`` reached the terminal."""
        import select

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.buffer:
                self.buffer = self.buffer[self.buffer.index(needle) :]
                return time.monotonic() - self.started
            ready, _, _ = select.select([self.fd], [], [], 0.02)
            if ready:
                try:
                    self.buffer = (self.buffer + os.read(self.fd, 65536))[-262144:]
                except OSError:
                    break
        raise SystemExit(f"{needle!r} never reached the terminal")

    def close(self) -> None:
        stop(self.pid, self.fd)


def launch(root: Path, newest: str, size: int, cache: Path) -> tuple[float, float]:
    env = dict(os.environ, TERM="xterm-256color", RUNVIEW_CACHE_DIR=str(cache))
    env["RUNVIEW_STATE_DIR"] = str(cache.parent / "state")
    viewer = Viewer([sys.executable, "-m", "runview", str(root)], env)
    try:
        first = viewer.until(newest.encode())
        full = viewer.until(f"{size:,} runs".encode())
    finally:
        viewer.close()
    return first, full


def bare_paint(repeat: int) -> float:
    script = Path(tempfile.mkdtemp(prefix="runview-bench-bare-")) / "bare.py"
    script.write_text(BARE)
    times = []
    for _ in range(repeat):
        viewer = Viewer([sys.executable, str(script)], dict(os.environ, TERM="xterm-256color"))
        times.append(viewer.until(b"bare-app-painted"))
        viewer.close()
    return statistics.median(times)


def idle_and_latency(root: Path, newest: str, size: int, cache: Path, seconds: float) -> None:
    env = dict(os.environ, TERM="xterm-256color", RUNVIEW_CACHE_DIR=str(cache))
    env["RUNVIEW_STATE_DIR"] = str(cache.parent / "state")
    viewer = Viewer([sys.executable, "-m", "runview", str(root)], env)
    added: list[Path] = []
    try:
        viewer.until(f"{size:,} runs".encode())
        drain(viewer.fd, 2.0)  # settle: the last batch drawn, the cache written
        proc = psutil.Process(viewer.pid)
        cpu0 = sum(proc.cpu_times()[:2])
        sent, _ = drain(viewer.fd, seconds)
        cpu = sum(proc.cpu_times()[:2]) - cpu0
        print(
            f"    idle, table open on the quiet root: CPU {100 * cpu / seconds:.2f}% of a core, "
            f"{sent / seconds:.0f} bytes/s to the terminal"
        )
        delays = []
        for trial in range(5):
            number = size + trial
            name = f"arrival-{trial}"
            viewer.buffer = b""
            written = time.monotonic()
            added.append(write_run(root / "alpha", number, START + number * 60 + 3600, name))
            seen = viewer.until(name.encode(), timeout=30)
            delays.append(seen - (written - viewer.started))
            drain(viewer.fd, 0.5)
        print(
            f"    a new run written to its name on screen, 5 trials: median "
            f"{statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms"
        )
    finally:
        viewer.close()
        for run in added:
            shutil.rmtree(run, ignore_errors=True)


def headless(root: Path, work: Path) -> None:
    """What the scan itself costs, without a UI: every row read, cold cache then warm."""
    from runview.store.cache import Cache
    from runview.store.row_cache import RowCache
    from runview.store.run_scan import RunScanner

    cache = RowCache(Cache(work / "headless-cache"))
    figures = []
    for _ in ("cold", "warm"):
        started = time.perf_counter()
        RunScanner(root, cache, keep_cache=True).read_all()
        figures.append(time.perf_counter() - started)
    print(
        f"    headless, every row read (RunScanner.read_all): cold cache {figures[0]:.2f} s, "
        f"warm {figures[1]:.2f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"machine: {machine()} · load average {load} (other work on the machine)")
    print(f"bare Textual app, first paint: median {bare_paint(args.repeat) * 1000:.0f} ms")
    for size in args.sizes:
        root, newest = make_root(size)
        work = Path(tempfile.mkdtemp(prefix="runview-bench-table-"))
        cache = work / "cache"
        print(f"{size:,} runs, runview ROOT at 160x48 (median of {args.repeat}):")
        for label in ("cold", "warm"):
            firsts, fulls = [], []
            for _ in range(args.repeat):
                if label == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                first, full = launch(root, newest, size, cache)
                firsts.append(first)
                fulls.append(full)
            print(
                f"    {label} cache: first rows {statistics.median(firsts):.2f} s "
                f"({min(firsts):.2f}-{max(firsts):.2f}), full table "
                f"{statistics.median(fulls):.2f} s ({min(fulls):.2f}-{max(fulls):.2f})"
            )
        idle_and_latency(root, newest, size, cache, args.idle)
        headless(root, work)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
