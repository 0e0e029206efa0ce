"""How much CPU the system sampler costs the training process, against a bare psutil baseline.

    python benchmarks/bench_sampler.py        # 200 timed samples + 20 s of the live thread
    python benchmarks/bench_sampler.py --seconds 60 --workers 8

Two measurements, both in CPU time of the sampling thread (``time.thread_time``), so other load on
the machine does not inflate them:

1. per sample: ``SystemSampler.sample()`` called directly, beside a bare psutil reading of the same
   sources (the baseline) in the same run; overhead at the interval = CPU per sample / interval.
2. live: the real background thread at the default interval for ``--seconds``, emit included.

The process tree gets ``--workers`` idle children, as a data loader would have.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import psutil
from machine_info import cpu_model  # noqa: E402 - benchmarks run as scripts from this folder

from runview.collectors.sampler import SystemSampler


def cpu_costs(fn: Callable[[], object], count: int) -> list[float]:
    """CPU seconds of each of ``count`` calls, spaced a little so rates have a window."""
    costs = []
    for _ in range(count):
        time.sleep(0.02)
        start = time.thread_time()
        fn()
        costs.append(time.thread_time() - start)
    return costs


def bare_psutil() -> None:
    """The baseline: one plain reading of the same psutil sources, no bookkeeping."""
    psutil.cpu_times(percpu=True)
    psutil.virtual_memory()
    psutil.disk_usage(".")
    psutil.disk_io_counters()
    psutil.net_io_counters(pernic=True)
    proc = psutil.Process()
    with proc.oneshot():
        proc.cpu_times()
        proc.memory_info()
    for child in proc.children(recursive=True):
        child.cpu_times()
        child.memory_info()


def describe(costs: list[float]) -> str:
    ms = sorted(c * 1000 for c in costs)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return (
        f"mean {statistics.fmean(ms):.3f} ms  p50 {statistics.median(ms):.3f} ms  p95 {p95:.3f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="live run length (0 to skip)")
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=4, help="idle child processes in the tree")
    args = parser.parse_args()

    print(
        f"machine: {cpu_model()}, {psutil.cpu_count(logical=False)} cores / "
        f"{psutil.cpu_count()} threads, "
        f"{platform.system()} {platform.release()}"
    )
    print(
        f"python {platform.python_version()} ({sys.executable}), psutil {psutil.__version__}, "
        f"{len(psutil.pids())} processes on the machine, load average {os.getloadavg()[0]:.2f}"
    )

    workers = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        for _ in range(args.workers)
    ]
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            sampler = SystemSampler(lambda record: None, interval=args.interval, disk_path=run_dir)
            print(f"gpu: {sampler.gpu_reason or sampler.gpu_devices}")
            record = sampler.sample()
            time.sleep(0.05)
            record = sampler.sample()
            print(
                f"record: {len(record)} keys, {len(json.dumps(record))} bytes as JSON, "
                f"{record.get('proc/count', 0)} processes in the tree"
            )

            bare = cpu_costs(bare_psutil, args.samples)
            ours = cpu_costs(sampler.sample, args.samples)
            print(f"\nper sample, CPU time of the calling thread ({args.samples} samples each):")
            print(f"  baseline, bare psutil reading: {describe(bare)}")
            print(f"  SystemSampler.sample():        {describe(ours)}")
            mean = statistics.fmean(ours)
            print(
                f"  => at a {args.interval:g} s interval: "
                f"{100 * mean / args.interval:.4f}% of one core "
                f"(budget 1%: "
                f"{0.01 * args.interval / mean:.0f}x headroom)"
            )

            if args.seconds > 0:
                emitted: list[int] = []
                live = SystemSampler(
                    lambda r: emitted.append(len(r)), interval=args.interval, disk_path=run_dir
                )
                wall = time.monotonic()
                live.start()
                time.sleep(args.seconds)
                live.stop()
                wall = time.monotonic() - wall
                print(
                    f"\nlive thread at {args.interval:g} s for {wall:.1f} s: "
                    f"{live.samples} samples, "
                    f"{live.skipped} skipped, {live.failures} failed"
                )
                print(
                    f"  sampler thread CPU {live.cpu_seconds * 1000:.1f} ms = "
                    f"{100 * live.cpu_seconds / wall:.4f}% of one core (budget 1%)"
                )
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
