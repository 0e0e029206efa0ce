"""``run.log()`` beside a process that spins on a core: this tree against another commit.

With the training loop, its column helper and one spinning process, more tasks are runnable
than a 2-core machine has cores: what the training thread waits for a core shows in its calls
over 1 ms, and what the helper was held back shows in when the columns are complete after
``finish()``. One fresh process per tree and round, interleaved; prints the machine, the load
average and one line per process.

    python benchmarks/bench_log_busy.py [--against main] [--rounds 3] [--calls 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_log_trees import REPO, export, layout, short_rev  # noqa: E402 - run as scripts from this folder
from machine_info import machine  # noqa: E402

CHILD = r"""
import json, os, subprocess, sys, tempfile, time
import runview
calls = int(sys.argv[1])
rows = [{f"metric/{k:02d}": i * 0.001 + k for k in range(20)} for i in range(calls)]
spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
try:
    with tempfile.TemporaryDirectory() as root:
        run = runview.init(project="b", dir=root, console=False, system_interval=None, quiet=True)
        time.sleep(0.5)  # the helper's imports
        clock = time.perf_counter_ns
        log = run.log
        each = []
        for row in rows:
            t0 = clock()
            log(row)
            each.append(clock() - t0)
        run.finish()
        finished = time.time()
        index = os.path.join(run.dir, "columns", "index.json")
        while True:
            try:
                with open(index) as fh:
                    if json.load(fh).get("final"):
                        break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        done = time.time() - finished
finally:
    spinner.kill()
    spinner.wait()
each.sort()
print(json.dumps({
    "p50": each[len(each) // 2] / 1e3, "p99": each[int(len(each) * 0.99)] / 1e3,
    "max": each[-1] / 1e6, "over1": sum(x > 1e6 for x in each), "over2": sum(x > 2e6 for x in each),
    "done": done, "file": runview.__file__,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", default="main")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    rev = short_rev(args.against)
    print(f"{machine()}, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"run.log() of 20 scalars beside a spinning process, {args.calls:,} calls, vs {rev}")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {
            rev: export(args.against, Path(tmp) / "other"),
            "tree": layout(REPO, Path(tmp) / "tree"),
        }
        print(f"{'tree':<9} {'p50':>6} {'p99':>7} {'max':>8} {'>1ms':>5} {'>2ms':>5}  columns")
        for _ in range(args.rounds):
            for name, path in trees.items():
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(args.calls)],
                    env=dict(os.environ, PYTHONPATH=str(path)),
                    cwd=path,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                got = json.loads(out.strip().splitlines()[-1])
                assert got["file"].startswith(str(path)), got["file"]
                print(
                    f"{name:<9} {got['p50']:5.2f}µ {got['p99']:6.2f}µ {got['max']:6.2f}ms"
                    f" {got['over1']:5d} {got['over2']:5d}  complete {got['done']:4.1f} s after"
                    f" finish (load average {os.getloadavg()[0]:.2f})"
                )


if __name__ == "__main__":
    main()
