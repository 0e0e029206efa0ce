"""Start-up: launch to first paint of the run page, side by side with a bare Textual app.

    python benchmarks/bench_startup.py [--repeat 7]

Both programs start in a fresh process in a real pty at 160x48 and are timed from ``exec`` until
a known text is on the terminal: the run's name for ``runview RUN``, a fixed word for a bare
Textual app that shows one Static. The difference is what runview adds before the first paint
(imports, the run page, reading the run's name). For ``runview RUN`` the time until the Overview
is filled (a logged metric's name in its summary: the whole tiny run read) is printed as well.
Medians over ``--repeat`` launches, alternating the programs so machine noise hits all alike.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench_viewer import stop  # noqa: E402 - a sibling script
from machine_info import machine  # noqa: E402 - benchmarks run as scripts from this folder

import runview

BARE = textwrap.dedent(
    """
    from textual.app import App
    from textual.widgets import Static

    class Bare(App):
        def compose(self):
            yield Static("bare-app-painted")

    Bare().run()
    """
)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) the process has used so far."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        fields = fh.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_paint(
    argv: list[str], needles: tuple[bytes, ...], cols: int = 160, rows: int = 48
) -> list[tuple[float, float]]:
    """(seconds from fork, CPU seconds used by then) for each of ``needles`` on the terminal (the
    child execs at once). CPU time does not grow with the machine's load as wall time does."""
    import fcntl
    import pty
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execv(argv[0], argv)
    start = time.monotonic()
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    seen: dict[bytes, tuple[float, float]] = {}
    screen = b""
    while len(seen) < len(needles) and time.monotonic() - start < 60:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                screen += os.read(fd, 65536)
            except OSError:
                break
            for needle in needles:
                if needle not in seen and needle in screen:
                    seen[needle] = (time.monotonic() - start, cpu_seconds(pid))
    stop(pid, fd)
    missing = [n for n in needles if n not in seen]
    if missing:
        raise SystemExit(f"{missing!r} never reached the terminal from {argv}")
    return [seen[n] for n in needles]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="runview-bench-startup-"))
    run = runview.init(
        project="bench", name="startup-probe", dir=root, console=False, system_interval=None
    )
    for step in range(100):
        run.log({"loss": 1 / (step + 1), "probe_metric": step})
    run.finish()
    bare = root / "bare.py"
    bare.write_text(BARE)
    programs = {
        "bare Textual app": ([sys.executable, str(bare)], (b"bare-app-painted",)),
        "runview RUN": (
            [sys.executable, "-m", "runview", str(run.dir)],
            (b"startup-probe", b"probe_metric"),
        ),
    }
    labels = {
        b"bare-app-painted": "bare Textual app, first paint",
        b"startup-probe": "runview RUN, the run's name",
        b"probe_metric": "runview RUN, Overview filled",
    }
    times: dict[bytes, list[float]] = {needle: [] for needle in labels}
    cpu: dict[bytes, list[float]] = {needle: [] for needle in labels}
    for _ in range(args.repeat):
        for argv, needles in programs.values():
            for needle, (seen, used) in zip(needles, first_paint(argv, needles)):
                times[needle].append(seen)
                cpu[needle].append(used)
    load = os.getloadavg()
    print(f"  load average before / after: {load_before[0]:.1f} / {load[0]:.1f} (1 min)")
    base = statistics.median(times[b"bare-app-painted"])
    base_cpu = statistics.median(cpu[b"bare-app-painted"])
    print(f"  medians of {args.repeat} launches: wall time, and the CPU time the process had used")
    for needle, samples in times.items():
        median, used = statistics.median(samples), statistics.median(cpu[needle])
        extra = (
            ""
            if needle == b"bare-app-painted"
            else f"  (+{(median - base) * 1000:.0f} ms; CPU +{(used - base_cpu) * 1000:.0f} ms)"
        )
        print(f"  {labels[needle]:30s} {median * 1000:5.0f} ms  CPU {used * 1000:4.0f} ms{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
