"""What the logger costs a training process: a tight loop of 20 scalars x N steps, with and without
runview, each in a fresh subprocess of the same run on the same machine.

    python benchmarks/bench_logger_cost.py [--steps 200000] [--repeat 2]

Each child builds the same dict per step and times one call per step with ``perf_counter_ns``:
``log`` is a no-op in the baseline, ``run.log`` otherwise (``runview.init`` with its defaults:
console capture and system sampler on; ``no-console``: ``console=False``; ``no-columns``:
``RUNVIEW_COLUMNS=0``, no column helper process, to show what it costs the loop). ``threads-only``
starts runview but times the no-op call: what runview's background threads cost a loop that does
not log (their GIL holds show in its tail; ten passes, the worst pass's figures). Printed per
variant: peak RSS of the training process (``ru_maxrss``, imports included) and its excess over
the baseline, the call's p50 / p99 / p99.9 / max and how many calls took over 1 ms (``ours/all``:
of the calls over 1 ms in the whole loop, all ten passes for threads-only, how many overlapped
runview's own work — a flush, the heartbeat, a system sample, the console flush, or the training
thread closing a chunk it filled (it wakes the writer; past 8 MiB queued it writes); the others
came while runview's threads were asleep, the machine taking the core), the loop's wall time
(``loop``: all ten passes for threads-only), how long the training thread was off its core
during the loop (wall minus its CPU time: preempted, or
waiting for the GIL) with its voluntary / involuntary context switches (waits / preemptions; all
ten passes for threads-only), the garbage collections (per generation) during the loop,
``init()`` and ``finish()`` times, whether ``columns/`` covered all
of history.jsonl when ``finish()`` returned and how long after it the column helper finished,
and the helper's CPU seconds, and its mean burst on a CPU while the run lived (CPU time over
times scheduled, ``/proc/PID/schedstat``, from when it began to the loop's end). The
baseline's own figures show the timer's and the machine's noise: a baseline preempted for
milliseconds means other processes wanted both cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine_info import machine  # noqa: E402 - a sibling script, found through the path above

CHILD = r"""
import bisect, gc, json, os, resource, sys, threading, time
from array import array

steps, variant, root = int(sys.argv[1]), sys.argv[2], sys.argv[3]
keys = [f"train/metric_{j:02d}" for j in range(20)]
timings = array("q", bytes(8 * steps))
clock = time.perf_counter_ns
result = {}
def nothing(row):
    pass
if variant == "baseline":
    log = nothing
else:
    started = clock()
    if variant == "no-columns":  # what the column helper process costs the training loop
        os.environ["RUNVIEW_COLUMNS"] = "0"
    import runview
    run = runview.init(project="bench", dir=root, quiet=True, console=variant != "no-console")
    result["init_s"] = (clock() - started) / 1e9
    # "threads-only": runview's background threads run, the loop logs nothing; stalls of the
    # no-op call are then the GIL held by those threads (sampler, heartbeat, console flusher).
    log = nothing if variant == "threads-only" else run.log
# When runview's background threads were at work (flushing, the heartbeat, a system sample, the
# console flush), to tell the loop's stalls they overlap (the GIL was theirs, or their wake-up)
# from the others (the machine took the core).
busy = []
if variant != "baseline":
    from runview.collectors import console as console_module
    from runview.collectors.sampler import SystemSampler
    from runview.store.append import AppendStream
    from runview.store.writer import RunWriter
    def timed(owner, name):
        inner = getattr(owner, name)
        def wrapper(*args, **kwargs):
            started = clock()
            try:
                return inner(*args, **kwargs)
            finally:
                busy.append((started, clock(), name, threading.get_native_id()))
        setattr(owner, name, wrapper)
    # AppendStream.close_chunk: the training thread closing a chunk (waking the writer thread)
    for owner, name in ((RunWriter, "flush"), (RunWriter, "heartbeat"),
                        (SystemSampler, "sample"), (console_module, "_flush_std"),
                        (AppendStream, "close_chunk")):
        timed(owner, name)
stalls = []  # (start, end) of calls over 1 ms
# The column helper's bursts on a CPU while the run lives (its CPU time over the times it was
# scheduled, /proc/PID/schedstat), from when it has imported and begun (its index exists) to the
# loop's end: a thread woken onto its core waits until a burst ends.
helper = None if variant == "baseline" else getattr(run._writer, "columns_helper", None)
helper_stat = f"/proc/{helper.pid}/schedstat" if helper is not None else None
def schedstat():
    try:
        ran, _wait, runs = open(helper_stat).read().split()
        return int(ran), int(runs)
    except (OSError, TypeError, ValueError):
        return None
bursts_from = None
loop_started = clock()
# How long the training thread was off its core (preempted, or waiting for the GIL) during the
# loop, and its context switches: voluntary ones are waits (the GIL), involuntary ones are the
# scheduler giving the core to another thread or process.
cpu_started = time.thread_time_ns()
usage = resource.getrusage(resource.RUSAGE_THREAD)
# Garbage collections during the loop (any thread's allocations can start one on the training
# thread): a full collection of a large heap is a stall of its own.
gc_before = [g["collections"] for g in gc.get_stats()]
# threads-only: ten passes, several seconds, so the sampler's and heartbeat's turns fall inside;
# each figure is the worst pass's.
passes = 10 if variant == "threads-only" else 1
worst = {}
def percentiles():
    ordered = sorted(timings)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000
    over_1ms = len(ordered) - bisect.bisect_right(ordered, 1_000_000)
    for name, value in (("p50_us", pick(0.5)), ("p99_us", pick(0.99)),
                        ("p999_us", pick(0.999)), ("max_us", ordered[-1] / 1000),
                        ("over_1ms", over_1ms)):
        worst[name] = max(worst.get(name, 0), value)
for done in range(passes):
    if done:
        percentiles()
    for step in range(steps):
        base = step * 1e-6
        row = {key: base + j for j, key in enumerate(keys)}
        t0 = clock()
        log(row)
        t1 = clock()
        timings[step] = t1 - t0
        if t1 - t0 > 1_000_000:
            stalls.append((t0, t1))
        if helper_stat and bursts_from is None and step % 10_000 == 0:  # outside the timed call
            if os.path.exists(os.path.join(run.dir, "columns", "index.json")):
                bursts_from = schedstat()
bursts_to = schedstat() if bursts_from is not None else None
if bursts_from and bursts_to and bursts_to[1] > bursts_from[1]:
    ran, runs = bursts_to[0] - bursts_from[0], bursts_to[1] - bursts_from[1]
    result["helper_burst_ms"] = ran / runs / 1e6
result["loop_s"] = (clock() - loop_started) / 1e9
result["gc"] = [g["collections"] - b for g, b in zip(gc.get_stats(), gc_before)]
result["off_cpu_ms"] = ((clock() - loop_started) - (time.thread_time_ns() - cpu_started)) / 1e6
after = resource.getrusage(resource.RUSAGE_THREAD)
result["switches"] = (after.ru_nvcsw - usage.ru_nvcsw, after.ru_nivcsw - usage.ru_nivcsw)
# (named before finish() ends runview's threads)
threads = {t.native_id: t.name for t in threading.enumerate()}
threads[threading.get_native_id()] = "training"
if variant != "baseline":
    started = clock()
    run.finish()
    result["finish_s"] = (clock() - started) / 1e9
    result["finished_at"] = time.time()
    result["run"] = str(run.dir)
    history = run.dir / "history.jsonl"
    result["history_bytes"] = history.stat().st_size
    try:
        index = json.loads((run.dir / "columns" / "index.json").read_bytes())
        result["covered_at_finish"] = index["source_offset"]
    except (OSError, ValueError, KeyError):
        result["covered_at_finish"] = 0
result["stalls_ours"] = sum(any(a < t1 and b > t0 for a, b, *_ in busy) for t0, t1 in stalls)
# benchmarks/trace_logger_stalls.py: each stall, runview's work and its threads, for perf's trace
if os.environ.get("RUNVIEW_BENCH_DETAIL"):
    helpers = {}
    if variant != "baseline":
        helpers["column helper"] = getattr(run._writer.columns_helper, "pid", None)
        helpers["console tee"] = run._console.helper_pid if run._console is not None else None
    with open(os.environ["RUNVIEW_BENCH_DETAIL"], "w") as fh:
        json.dump({"stalls": stalls, "busy": busy, "threads": threads, "helpers": helpers,
                   "pid": os.getpid()}, fh)
result["stalls"] = len(stalls)
# peak RSS before the percentiles' sorted copy of the timings (threads-only: after a pass's)
result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
percentiles()
result.update(worst)
print(json.dumps(result))
"""


def run_child(steps: int, variant: str, root: Path) -> dict:
    env = dict(os.environ)
    env.pop("RUNVIEW_QUIET", None)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(steps), variant, str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    if out.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def wait_for_columns(result: dict, timeout: float = 600.0) -> None:
    """Poll until the column helper has written its final index; note when and what it cost."""
    index_path = Path(result["run"]) / "columns" / "index.json"
    deadline = time.monotonic() + timeout
    result["helper_done_after_s"] = None
    last_change, last = time.monotonic(), None
    while time.monotonic() < deadline:
        try:
            index = json.loads(index_path.read_bytes())
        except (OSError, ValueError):
            index = {}
        if index.get("source_offset") != last:
            last_change, last = time.monotonic(), index.get("source_offset")
        elif time.monotonic() - last_change > 10:  # a writer that has stopped without finishing
            result["covered_final"] = last
            return
        if index.get("final"):
            result["helper_done_after_s"] = (
                index.get("written_at", time.time()) - result["finished_at"]
            )
            result["helper_cpu_s"] = index.get("cpu_seconds")
            result["covered_final"] = index.get("source_offset")
            return
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--variants", default="baseline,runview,no-console,threads-only", help="comma-separated"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="runview-cost-"))
    variants = args.variants.split(",")
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"{args.steps:,} steps x 20 scalars, tight loop, fresh process per line")
    results: dict[str, list[dict]] = {v: [] for v in variants}
    try:
        for _ in range(args.repeat):
            for variant in variants:  # interleaved, so drift on a shared machine hits all alike
                result = run_child(args.steps, variant, root / variant)
                if "run" in result and variant != "no-columns":
                    wait_for_columns(result)
                results[variant].append(result)
                # Each run is ~180 MB on disk (history and columns): measured, it goes.
                shutil.rmtree(root / variant, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    base_rss = min(r["rss_mb"] for r in results.get("baseline", [])) if "baseline" in results else 0
    print(
        f"{'variant':12s} {'peak RSS':>9s} {'+RSS':>7s} {'p50':>6s} {'p99':>6s} {'p99.9':>7s} "
        f"{'max':>8s} {'>1ms':>5s} {'ours/all':>8s} {'loop':>7s} {'off-CPU':>8s} {'vol/invol':>10s}"
        f" {'gc 0/1/2':>9s}"
        f"  {'init':>6s} {'finish':>7s}"
        "  columns at finish / helper done after / CPU / mean burst while live"
    )
    for variant in variants:
        for r in results[variant]:
            line = (
                f"{variant:12s} {r['rss_mb']:7.1f}MB {r['rss_mb'] - base_rss:+6.1f} "
                f"{r['p50_us']:5.2f}µ {r['p99_us']:5.2f}µ {r['p999_us']:6.1f}µ "
                f"{r['max_us'] / 1000:6.2f}ms {r['over_1ms']:5d} "
                f"{r['stalls_ours']:>4d}/{r['stalls']:<3d} "
                f"{r['loop_s'] * 1000:5.0f}ms {r['off_cpu_ms']:6.0f}ms "
                f"{'/'.join(map(str, r['switches'])):>10s} {'/'.join(map(str, r['gc'])):>9s}"
            )
            if "run" in r and variant == "no-columns":
                line += f"  {r['init_s'] * 1000:4.0f}ms {r['finish_s'] * 1000:5.0f}ms  (no columns)"
            elif "run" in r and variant != "threads-only":
                covered = r["covered_at_finish"] / max(1, r["history_bytes"])
                done = r.get("helper_done_after_s")
                final = r.get("covered_final")
                complete = final == r["history_bytes"]
                line += (
                    f"  {r['init_s'] * 1000:4.0f}ms {r['finish_s'] * 1000:5.0f}ms  {covered:4.0%}"
                    f" / {'never' if done is None else f'{done:.2f} s'}"
                    f"{'' if complete or done is None else ' (INCOMPLETE)'}"
                    f" / {r.get('helper_cpu_s') or 0:.2f} s"
                )
                if "helper_burst_ms" in r:
                    line += f" / {r['helper_burst_ms']:.2f} ms"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
