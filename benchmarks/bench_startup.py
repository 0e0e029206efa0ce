"""Start-up: launch to first paint of the run page, side by side with a bare Textual app.

    python benchmarks/bench_startup.py [--repeat 7]

Both programs start in a fresh process in a real pty at 160x48 and are timed from ``exec`` until
a known text is on the terminal: the run's name for ``runview RUN``, a fixed word for a bare
Textual app that shows one Static. The difference is what runview adds before the first paint
(imports, the run page, the first read of a tiny run). Medians over ``--repeat`` launches,
alternating the two so machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

from bench_viewer import drain, stop  # noqa: E402 - a sibling script
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


def first_paint(argv: list[str], needle: bytes, cols: int = 160, rows: int = 48) -> float:
    """Seconds from fork to ``needle`` on the terminal (the child execs at once)."""
    import fcntl
    import pty
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    _, seen = drain(fd, float("inf"), needle)
    stop(pid, fd)
    if seen is None:
        raise SystemExit(f"{needle!r} never reached the terminal from {argv}")
    return seen  # drain's clock starts right after the fork


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    root = Path(tempfile.mkdtemp(prefix="runview-bench-startup-"))
    run = runview.init(
        project="bench", name="startup-probe", dir=root, console=False, system_interval=None
    )
    for step in range(100):
        run.log({"loss": 1 / (step + 1)})
    run.finish()
    bare = root / "bare.py"
    bare.write_text(BARE)
    programs = {
        "bare Textual app": ([sys.executable, str(bare)], b"bare-app-painted"),
        "runview RUN (Overview)": (
            [sys.executable, "-m", "runview", str(run.dir)],
            b"startup-probe",
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(args.repeat):
        for name, (argv, needle) in programs.items():
            times[name].append(first_paint(argv, needle))
    base = statistics.median(times["bare Textual app"])
    for name, samples in times.items():
        median = statistics.median(samples)
        extra = "" if name.startswith("bare") else f"  (+{(median - base) * 1000:.0f} ms)"
        print(f"  {name:24s} first paint median {median * 1000:5.0f} ms{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
