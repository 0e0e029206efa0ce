"""Start-up: launch to first paint of the run page, side by side with a bare Textual app.

    python benchmarks/bench_startup.py [--repeat 7] [--baseline DIR]

Both programs start in a fresh process in a real pty at 160x48 and are timed from ``exec`` until
a known text is on the terminal: the run's name for ``runview RUN``, a fixed word for a bare
Textual app that shows one Static. The difference is what runview adds before the first paint
(imports, the run page, reading the run's name). For ``runview RUN`` the time until the Overview
is filled (a logged metric's name in its summary: the whole tiny run read) is printed as well,
and for each program the bytes it wrote to the terminal until it had been quiet for a second
(over a slow link, what must cross it before the page stands still).
Medians over ``--repeat`` launches, alternating the programs so machine noise hits all alike.

``--baseline DIR`` times another version of runview in the same run: DIR holds a ``runview``
package (put first on its ``PYTHONPATH``), e.g. main's code laid out as installed, as
``bench_live_terminal.py``'s docstring shows, or a checkout. Each runview is byte-compiled first,
as an install leaves it (where ``PYTHONDONTWRITEBYTECODE`` is set, a module edited since its last
compile would otherwise be compiled from source at every launch).
"""

from __future__ import annotations

import argparse
import atexit
import os
import select
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench_load import compiled  # noqa: E402 - a sibling script
from bench_viewer import stop  # noqa: E402 - a sibling script
from machine_info import machine  # noqa: E402 - benchmarks run as scripts from this folder

import runview

QUIET_S = 1.0  # nothing written for this long after the page filled: it stands still

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
    argv: list[str],
    needles: tuple[bytes, ...],
    cols: int = 160,
    rows: int = 48,
    code: str | None = None,
) -> tuple[list[tuple[float, float]], int]:
    """(seconds from fork, CPU seconds used by then) for each of ``needles`` on the terminal (the
    child execs at once; ``code``: a folder put first on its ``PYTHONPATH``), and the bytes
    written to the terminal until it was quiet for ``QUIET_S`` after the last needle. CPU time
    does not grow with the machine's load as wall time does."""
    import fcntl
    import pty
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        if code is not None:
            os.environ["PYTHONPATH"] = code
        os.execv(argv[0], argv)
    start = time.monotonic()
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    seen: dict[bytes, tuple[float, float]] = {}
    screen = b""
    last_read = start
    while time.monotonic() - start < 60:
        if len(seen) == len(needles) and time.monotonic() - last_read >= QUIET_S:
            break  # every needle on the terminal, and nothing written since for QUIET_S
        if select.select([fd], [], [], 0.05)[0]:
            try:
                screen += os.read(fd, 65536)
            except OSError:
                break
            last_read = time.monotonic()
            for needle in needles:
                if needle not in seen and needle in screen:
                    seen[needle] = (last_read - start, cpu_seconds(pid))
    stop(pid, fd)
    missing = [n for n in needles if n not in seen]
    if missing:
        raise SystemExit(f"{missing!r} never reached the terminal from {argv}")
    return [seen[n] for n in needles], len(screen)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline", default=None, help="a folder holding another runview")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="runview-bench-startup-"))
    atexit.register(shutil.rmtree, root, True)  # what it wrote goes with it
    run = runview.init(
        project="bench", name="startup-probe", dir=root, console=False, system_interval=None
    )
    for step in range(100):
        run.log({"loss": 1 / (step + 1), "probe_metric": step})
    run.finish()
    bare = root / "bare.py"
    bare.write_text(BARE)
    runview_argv = [sys.executable, "-m", "runview", str(run.dir)]
    runview_needles = (b"startup-probe", b"probe_metric")
    programs: dict[str, tuple[list[str], tuple[bytes, ...], str | None]] = {
        "bare Textual app": ([sys.executable, str(bare)], (b"bare-app-painted",), None),
        "runview RUN": (runview_argv, runview_needles, None),
    }
    if args.baseline:
        programs["baseline RUN"] = (runview_argv, runview_needles, args.baseline)
    for code in (None, args.baseline) if args.baseline else (None,):
        print(f"  {compiled(code)}")  # as an install leaves it: no open compiles from source
    what = {
        b"bare-app-painted": "first paint",
        b"startup-probe": "the run's name",
        b"probe_metric": "Overview filled",
    }
    times: dict[tuple[str, bytes], list[float]] = {}
    cpu: dict[tuple[str, bytes], list[float]] = {}
    written: dict[str, list[int]] = {}
    for _ in range(args.repeat):
        for program, (argv, needles, code) in programs.items():
            painted, sent = first_paint(argv, needles, code=code)
            written.setdefault(program, []).append(sent)
            for needle, (seen, used) in zip(needles, painted):
                times.setdefault((program, needle), []).append(seen)
                cpu.setdefault((program, needle), []).append(used)
    load = os.getloadavg()
    print(f"  load average before / after: {load_before[0]:.1f} / {load[0]:.1f} (1 min)")
    if args.baseline:
        print(f"  baseline: the runview package in {args.baseline}")
    bare_key = ("bare Textual app", b"bare-app-painted")
    base = statistics.median(times[bare_key])
    base_cpu = statistics.median(cpu[bare_key])
    print(f"  medians of {args.repeat} launches: wall time, and the CPU time the process had used")
    for (program, needle), samples in times.items():
        median, used = statistics.median(samples), statistics.median(cpu[(program, needle)])
        extra = (
            ""
            if (program, needle) == bare_key
            else f"  (+{(median - base) * 1000:.0f} ms; CPU +{(used - base_cpu) * 1000:.0f} ms)"
        )
        label = f"{program}, {what[needle]}"
        print(f"  {label:30s} {median * 1000:5.0f} ms  CPU {used * 1000:4.0f} ms{extra}")
    print(f"  written to the terminal until quiet for {QUIET_S:g} s (median):")
    for program, sizes in written.items():
        print(f"  {program:30s} {statistics.median(sizes) / 1024:5.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
