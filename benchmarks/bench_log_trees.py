"""``run.log()`` of 20 scalars: this working tree against another commit, interleaved.

Each round runs one fresh process per tree (the other tree exported with ``git archive`` and
imported from that export), in alternating order; each process times ``run.log`` per call (p50)
and per batch of 1,000 calls (the mean), with the defaults a user gets (``console=False`` and
no system sampler, so that only ``log()`` and the threads it wakes are measured). Prints the
machine, the load average and one line per process.

    python benchmarks/bench_log_trees.py [--against main] [--rounds 4] [--calls 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from machine_info import machine  # noqa: E402 - benchmarks run as scripts from this folder

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("store", "collectors", "tui")  # runview.<name> lives in <name>/ (pyproject)

CHILD = r"""
import gc, json, statistics, sys, tempfile, time
import runview
calls = int(sys.argv[1])
rows = [{f"metric/{k:02d}": i * 0.001 + k for k in range(20)} for i in range(calls)]
with tempfile.TemporaryDirectory() as root:
    run = runview.init(project="bench", dir=root, console=False, system_interval=None, quiet=True)
    log = run.log
    clock = time.perf_counter_ns
    each = []
    batches = []
    for start in range(0, calls, 1000):
        began = clock()
        for row in rows[start : start + 1000]:
            t0 = clock()
            log(row)
            each.append(clock() - t0)
        batches.append((clock() - began) / 1000)
    run.finish()
each.sort()
print(json.dumps({
    "p50": each[len(each) // 2] / 1000,
    "p99": each[int(len(each) * 0.99)] / 1000,
    "batch_mean": statistics.median(batches) / 1000,
    "file": runview.__file__,
}))
"""


def layout(source: Path, into: Path) -> Path:
    """An importable ``runview`` package from a source tree (the package-dir mapping)."""
    target = into / "runview"
    shutil.copytree(source / "runview", target)
    for name in PACKAGES:
        shutil.copytree(source / name, target / name)
    return into


def export(rev: str, into: Path) -> Path:
    source = into / "src"
    source.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    return layout(source, into / "pkg")


def measure(path: Path, calls: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(path))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(calls)],
        env=env,
        cwd=path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def short_rev(rev: str) -> str:
    """``rev`` (a branch, a tag, a commit) as git's short commit name."""
    return subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", rev],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", default="main")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    rev = short_rev(args.against)
    print(machine())
    print(f"run.log() of 20 scalars, {args.calls:,} calls a process, this tree against {rev}")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {
            rev: export(args.against, Path(tmp) / "other"),
            "tree": layout(REPO, Path(tmp) / "tree"),
        }
        order = list(trees)
        print(f"{'tree':<10} {'p50':>7} {'p99':>7} {'mean':>7}  load")
        for round_ in range(args.rounds):
            for name in order if round_ % 2 == 0 else order[::-1]:
                got = measure(trees[name], args.calls)
                assert got["file"].startswith(str(trees[name])), got["file"]
                load = os.getloadavg()[0]
                print(
                    f"{name:<10} {got['p50']:6.2f}µ {got['p99']:6.2f}µ "
                    f"{got['batch_mean']:6.2f}µ  {load:.2f}"
                )


if __name__ == "__main__":
    main()
