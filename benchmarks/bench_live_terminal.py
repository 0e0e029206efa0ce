"""Bytes a live viewer sends to its terminal, its CPU, and how soon a new value shows, as over a
slow SSH link.

    python benchmarks/bench_live_terminal.py [--seconds 10] [--tabs charts overview system]
        [--sizes 160x48 80x24] [--history 12000] [--probes 20] [--baseline DIR]

A training process logs 8 metrics at 20 steps a second (system metrics at the default 2 s),
after ``--history`` steps logged at once (a run that has trained a while: 12000 steps is ten
minutes). The viewer runs in a real pty at each size, on each tab in turn; everything it writes
to the terminal is counted over ``--seconds`` once its first paint has settled. Alongside: the
viewer's CPU (user + system) over the same window.

Newest value on screen, at the first size: on request the training process logs a value and
notes when ``log()`` returned; the latency is until the terminal, as modelled from what the
viewer wrote to it, shows it. A new value of ``a/probe``: in the Overview's summary table, and
in its chart's border on the Charts tab (``last 7.001k``). Then a new metric ``a/pNNN`` on the
Charts tab, until its chart's title shows (each sorts first, at the top of the tab; a new chart
is laid out, the heavier path). ``--probes`` trials each, p50 / p95 / max.

``--baseline DIR`` measures another version of the viewer in the same run, for comparison: DIR
holds a ``runview`` package, e.g. main's code laid out as installed::

    git archive main | tar -x -C /tmp/base && mkdir /tmp/base-pkg && cp -r /tmp/base/runview \
        /tmp/base-pkg/ && for d in tui store collectors; do ln -s /tmp/base/$d \
        /tmp/base-pkg/runview/$d; done     # then: --baseline /tmp/base-pkg
"""

from __future__ import annotations

import argparse
import codecs
import itertools
import os
import re
import select
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

from runview.tui.widgets.chart_ticks import format_tick  # noqa: E402 - as the border shows it

TRAIN = textwrap.dedent(
    """
    import math, os, sys, time, runview
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
        probe = sys.argv[1] + ".probe"
        if os.path.exists(probe):  # the benchmark asks for a new metric: log it now
            name, value = open(probe).read().split()
            os.remove(probe)
            run.log({name: float(value)})
            with open(probe + ".logged", "a") as out:
                out.write(f"{name} {time.monotonic()}\\n")
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


def settle(fd: int, limit: float = 60.0) -> None:
    """Read until the first paint is over: a full screen's worth, then a second with under 8 KiB
    (on a loaded machine the first paint can take many seconds)."""
    deadline = time.monotonic() + limit
    total = 0
    while time.monotonic() < deadline:
        sent, _ = drain(fd, 1.0)
        total += sent
        if total >= 16 * 1024 and sent < 8 * 1024:
            return


def measure(
    run_dir: Path, tab: str, cols: int, rows: int, seconds: float, code: str | None
) -> tuple[float, float]:
    """(bytes per second to the terminal, % of one core) over ``seconds`` after start-up."""
    pid, fd = spawn_viewer(run_dir, tab, cols, rows, code)
    try:
        settle(fd)
        process = psutil.Process(pid)
        cpu0 = sum(process.cpu_times()[:2])
        sent, _ = drain(fd, seconds)
        cpu = sum(process.cpu_times()[:2]) - cpu0
    finally:
        stop(pid, fd)
    return sent / seconds, 100 * cpu / seconds


TOKEN = re.compile(
    r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.|[\r\n]|[^\x1b\r\n]+"
)


COMPLETE_ESCAPE = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[^\[\]])")


class Screen:
    """The characters a terminal shows, from what was written to it: enough of a terminal for
    Textual's output (cursor moves, text, clears). The viewer writes only the cells that change,
    so a word on screen need not appear whole in the bytes: it is looked for here."""

    def __init__(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        self.cells = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = ""  # an escape sequence cut off by the end of a read, completed by the next

    def feed(self, data: bytes) -> None:
        written = self.pending + self.decoder.decode(data)
        cut = written.rfind("\x1b")
        if cut >= 0 and not COMPLETE_ESCAPE.match(written, cut):
            written, self.pending = written[:cut], written[cut:]
        else:
            self.pending = ""
        for match in TOKEN.finditer(written):
            text = match.group(0)
            if match.group(2) == "H":
                row, _, col = (match.group(1) or "1;1").partition(";")
                self.row, self.col = int(row or 1) - 1, int(col or 1) - 1
            elif match.group(2) == "J" and match.group(1) in ("2", "3"):
                self.cells = [[" "] * self.cols for _ in range(self.rows)]
            elif text == "\r":
                self.col = 0
            elif text == "\n":
                self.row += 1
            elif not text.startswith("\x1b"):
                for char in text:
                    if 0 <= self.row < self.rows and 0 <= self.col < self.cols:
                        self.cells[self.row][self.col] = char
                    self.col += 1

    def shows(self, needle: str) -> bool:
        return any(needle in "".join(row) for row in self.cells)


def shown_at(fd: int, screen: Screen, needle: str, timeout: float) -> float | None:
    """When ``needle`` was first on the screen (monotonic), reading the terminal until then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.01)
        if ready:
            try:
                screen.feed(os.read(fd, 65536))
            except OSError:
                return None
            if screen.shows(needle):
                return time.monotonic()
    return None


def feed_for(fd: int, screen: Screen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                screen.feed(os.read(fd, 65536))
            except OSError:
                return


PROBE_NAMES = itertools.count(999, -1)  # new metrics' numbers, counting down across viewers


def probe_latency(
    root: Path,
    run_dir: Path,
    tab: str,
    kind: str,
    size: tuple[int, int],
    trials: int,
    code: str | None,
) -> list[float]:
    """Seconds from ``log()`` to the value on screen. ``kind`` "value": a metric's newest value
    (``a/probe``, a new number each trial), in the Overview's summary table or in its chart's
    border on the Charts tab (``last 7.001k``; its chart sorts first, at the top of the tab).
    "chart" (Charts): a new metric's chart (its title), the heavier path of a new chart laid
    out; each sorts first too."""
    request = root / "runs.probe"
    logged = root / "runs.probe.logged"
    pid, fd = spawn_viewer(run_dir, tab, *size, code)
    screen = Screen(*size)
    results = []
    try:
        feed_for(fd, screen, 4.0)
        ready = "step" if tab == "charts" else "train/loss"
        deadline = time.monotonic() + 60
        while not screen.shows(ready) and time.monotonic() < deadline:  # the first paint is in
            feed_for(fd, screen, 1.0)
        feed_for(fd, screen, 2.0)
        for trial in range(trials):
            if kind == "chart":
                # Each sorts before every earlier one, the other viewer's too: at the top.
                name = f"a/p{next(PROBE_NAMES):03d}"
                value, needle = 1.0, name
            elif tab == "charts":
                name = "a/probe"
                value = 7001.0 + trial + 500 * (code is not None)
                needle = f"last {format_tick(value)}"
            else:
                name = "a/probe"
                value = 31415.9 + 100 * (trial + 1) + 1000 * (code is not None)
                needle = f"{value:.6g}"
            request.write_text(f"{name} {value!r}")
            seen = shown_at(fd, screen, needle, 5.0)
            lines = logged.read_text().splitlines() if logged.exists() else []
            at = next((float(t) for n, t in (ln.split() for ln in lines) if n == name), None)
            logged.unlink(missing_ok=True)
            if at is None:
                continue  # the training process never logged it: nothing to time
            results.append((time.monotonic() if seen is None else seen) - at)
            feed_for(fd, screen, 0.5)
    finally:
        stop(pid, fd)
    return sorted(results)


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tabs", nargs="+", default=["charts", "overview", "system"])
    parser.add_argument("--sizes", nargs="+", default=["160x48", "80x24"])
    parser.add_argument("--history", type=int, default=12_000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--baseline", default=None, help="a folder holding another runview")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"load average at start: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(
        f"live run: 8 metrics at 20 steps/s after {args.history} steps of history, "
        "system metrics every 2 s"
    )
    versions: list[tuple[str, str | None]] = [("this tree", None)]
    if args.baseline:
        versions.append(("baseline", args.baseline))
    root = Path(tempfile.mkdtemp(prefix="runview-bench-live-"))
    # The viewers run ``python -m runview`` from here: from a checkout's root, its ``runview/``
    # folder would shadow the baseline's (PYTHONPATH comes after the working directory).
    os.chdir(root)
    process, run_dir = start_training(root, args.history)
    try:
        print(
            f"{'viewer':10s} {'tab':9s} {'size':>7s} {'KiB/s to terminal':>18s} {'viewer CPU':>11s}"
        )
        for size in args.sizes:
            cols, rows = (int(n) for n in size.split("x"))
            for tab in args.tabs:
                for name, code in versions:
                    rate, cpu = measure(run_dir, tab, cols, rows, args.seconds, code)
                    print(
                        f"{name:10s} {tab:9s} {size:>7s} {rate / 1024:18.2f} {cpu:10.1f}%",
                        flush=True,
                    )
        if args.probes:
            cols, rows = (int(n) for n in args.sizes[0].split("x"))
            probes = (
                ("overview", "value", "newest value"),
                ("charts", "value", "newest value"),
                ("charts", "chart", "a new metric's chart"),
            )
            for tab, kind, what in probes:
                for name, code in versions:
                    found = probe_latency(root, run_dir, tab, kind, (cols, rows), args.probes, code)
                    if not found:
                        print(f"{name:10s} {tab}: no probe was logged")
                        continue
                    print(
                        f"{name:10s} {tab:9s} {args.sizes[0]:>7s} log() to {what} on screen, "
                        f"{len(found)} probes: p50 {percentile(found, 0.5) * 1000:.0f} ms, "
                        f"p95 {percentile(found, 0.95) * 1000:.0f} ms, "
                        f"max {found[-1] * 1000:.0f} ms",
                        flush=True,
                    )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    print(f"load average at end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if os.environ.get("RUNVIEW_BENCH_KEEP") != "1":
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
