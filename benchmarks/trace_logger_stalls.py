"""What each ``log()`` call over 1 ms waited for: bench_logger_cost.py's loop under ``perf sched``.

    python benchmarks/trace_logger_stalls.py [--variant runview] [--steps 200000] [--repeat 1]

Runs the benchmark's child (same loop, same defaults) under ``perf sched record`` with the
monotonic clock, so the kernel's scheduling events line up with the child's ``perf_counter_ns``
timestamps of its slow calls. For each call over 1 ms it prints how the training thread spent
that time: on its core, runnable but waiting for one (preempted: ``R``), or asleep (``S``: in
CPython, waiting for the GIL; ``D``: in the kernel, e.g. a write waiting on the filesystem); and
who ran on the machine's cores while it was off its own (runview's threads by name, its helper
processes, other processes by name), and which of runview's own jobs (a flush, the heartbeat, a
system sample, the console flush, the training thread closing a chunk) overlapped the call.
Needs ``perf`` with access to the scheduler's tracepoints (root, or perf_event_paranoid <= 1).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_logger_cost import CHILD  # noqa: E402 - a sibling script, found through the path above
from machine_info import machine  # noqa: E402

ROW = re.compile(
    r"^\s*(?P<time>\d+\.\d+)\s+\[(?P<cpu>\d+)\]\s+(?P<name>.+?)\[(?P<tid>\d+)(?:/(?P<pid>\d+))?\]\s+"
    r"(?P<wait>[\d.]+)\s+(?P<delay>[\d.]+)\s+(?P<run>[\d.]+)\s+(?P<state>\S+)"
)


def schedule(data: Path) -> list[tuple[int, int, float, float, float, str, str]]:
    """perf's timehist rows: (tid, pid, end, run, delay, state, name); times in ns."""
    out = subprocess.run(
        ["perf", "sched", "timehist", "-i", str(data), "--state"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        match = ROW.match(line)
        if match:
            rows.append(
                (
                    int(match["tid"]),
                    int(match["pid"] or match["tid"]),
                    float(match["time"]) * 1e9,
                    float(match["run"]) * 1e6,
                    float(match["delay"]) * 1e6,
                    match["state"],
                    match["name"].strip(),
                )
            )
    return rows


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def attribute(detail: dict, rows: list) -> list[str]:
    """One paragraph per stall."""
    training = detail["pid"]
    threads = {int(tid): name for tid, name in detail["threads"].items()}
    helpers = {pid: name for name, pid in detail["helpers"].items() if pid}

    def who(tid: int, pid: int, name: str) -> str:
        if tid in threads:
            return threads[tid]
        if pid == training:
            return f"a runview thread ({tid})"
        if pid in helpers:
            return helpers[pid]
        return "idle" if tid == 0 else f"other {name}"

    # The training thread's timeline: when it ran, waited for a core, or slept (by state).
    own = sorted((r for r in rows if r[0] == training), key=lambda r: r[2])
    spans: list[tuple[float, float, str]] = []  # (start, end, "run" | "R" | "S" | "D" ...)
    previous_end, previous_state = None, "R"
    for _, _, end, run, delay, state, _ in own:
        # (clamped: the first row's figures reach back before the trace began)
        start = max(end - run, previous_end or 0.0)
        woken = max(start - delay, previous_end or 0.0)
        if previous_end is not None and woken > previous_end:
            spans.append((previous_end, woken, previous_state))  # asleep in that state
        spans.append((woken, start, "R"))  # runnable, not on a core
        spans.append((start, end, "run"))
        previous_end, previous_state = end, state
    others = [
        (end - run, end, who(tid, pid, name))
        for tid, pid, end, run, _, _, name in rows
        if tid != training
    ]
    lines = []
    verdicts = {"runview": 0, "machine": 0, "helper": 0}
    for t0, t1 in detail["stalls"]:
        spent: dict[str, float] = defaultdict(float)
        gaps = []
        for a, b, kind in spans:
            length = overlap(a, b, t0, t1)
            if length:
                spent[kind] += length
                if kind != "run":
                    gaps.append((max(a, t0), min(b, t1)))
        ran: dict[str, float] = defaultdict(float)
        for a, b, name in others:
            for g0, g1 in gaps:
                ran[name] += overlap(a, b, g0, g1)
        jobs = sorted(
            {
                f"{name} ({(b - a) / 1e6:.2f} ms)"
                for a, b, name, _ in detail["busy"]
                if a < t1 and b > t0
            }
        )
        unaccounted = (t1 - t0) - sum(spent.values())
        if unaccounted > 0.1e6:  # perf lost events, or the thread's state was not recorded
            spent["?"] = unaccounted
        states = ", ".join(
            f"{label} {spent[kind] / 1e6:.2f}"
            for kind, label in (
                ("run", "on its core"),
                ("R", "waiting for a core"),
                ("S", "asleep (GIL)"),
                ("D", "in the kernel (D)"),
            )
            if spent.get(kind)
        )
        busiest = ", ".join(
            f"{name} {ms / 1e6:.2f}"
            for name, ms in sorted(ran.items(), key=lambda x: -x[1])[:4]
            if ms
        )
        # Whose was the stall: runview's if its own threads or helpers held the cores (or the
        # GIL, or the call was in the kernel) for most of the time the thread was off its core.
        ours = sum(ms for name, ms in ran.items() if not name.startswith(("other ", "idle")))
        theirs = sum(ms for name, ms in ran.items() if name.startswith("other "))
        verdict = (
            "runview"
            if spent.get("S", 0) + spent.get("D", 0) + ours > theirs
            or spent.get("run", 0) > (t1 - t0) / 2
            else "machine"
        )
        verdicts[verdict] += 1
        # The column helper's core: the thread waited for a core while the helper held one
        # for half that wait or more (column_helper.py rests so that its core goes idle).
        waited = spent.get("R", 0)
        if waited >= 0.5e6 and ran.get("column helper", 0) >= waited / 2:
            verdicts["helper"] += 1
        lines.append(
            f"{(t1 - t0) / 1e6:6.2f} ms, {verdict}'s: {states or 'no scheduling events'} (ms)\n"
            f"           meanwhile on the cores (ms): {busiest or '-'}\n"
            f"           runview's jobs overlapping: {', '.join(jobs) or 'none'}"
        )
    return verdicts, lines


def trace(args: argparse.Namespace, root: Path, variant: str, attempt: int) -> None:
    """One run of the loop under ``perf sched``; prints its calls over 1 ms."""
    base = root / f"{variant}-{attempt}"
    data, detail_path = base.with_suffix(".data"), base.with_suffix(".json")
    env = dict(os.environ, RUNVIEW_BENCH_DETAIL=str(detail_path))
    env.pop("RUNVIEW_QUIET", None)
    command = [sys.executable, "-c", CHILD, str(args.steps), variant, str(root / "runs")]
    out = subprocess.run(
        ["perf", "sched", "record", "-k", "CLOCK_MONOTONIC", "-o", str(data), "--"] + command,
        check=True,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    detail = json.loads(detail_path.read_text())
    verdicts, lines = attribute(detail, schedule(data))
    print(
        f"{variant:12s} p50 {result['p50_us']:5.2f}µ max {result['max_us'] / 1000:6.2f}ms"
        f"  {len(detail['stalls']):3d} calls over 1 ms: {verdicts['runview']} runview's,"
        f" {verdicts['machine']} the machine's; {verdicts['helper']} waited for a core"
        f" the column helper held (load average {os.getloadavg()[0]:.2f})"
    )
    if args.verbose:
        for line in lines:
            print("  " + line)
    shutil.rmtree(root / "runs", ignore_errors=True)  # ~180 MB a run


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", default="baseline,runview,no-console", help="interleaved")
    parser.add_argument("--verbose", action="store_true", help="a paragraph per stall")
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="runview-stalls-"))
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f} at the start")
    try:
        for attempt in range(args.repeat):
            for variant in args.variants.split(","):
                trace(args, root, variant, attempt)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
