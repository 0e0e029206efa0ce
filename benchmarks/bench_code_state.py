"""The code state: what capturing it adds to ``runview.init`` in a real git checkout.

Runs ``init`` + ``finish`` with ``save_code=True`` and ``save_code=False`` alternately in the
repository given (default: this one), and times the capture on its own, phase by phase being
git calls, the patch and the package list. Prints medians and the machine.

    python benchmarks/bench_code_state.py [--repo PATH] [--repeats 7]
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from machine_info import machine  # noqa: E402 - benchmarks run as scripts from this folder

import runview
from runview.collectors.code_state import capture


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    repo = Path(args.repo).resolve()
    os.chdir(repo)
    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True).stdout.count("\n")
    status = subprocess.run(
        ["git", "status", "--porcelain"],
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
    ).stdout
    print(f"machine: {machine()}")
    print(
        f"repository: {repo} · {files} tracked files · {status.count(chr(10))} changed or untracked"
    )
    out = Path(tempfile.mkdtemp(prefix="runview-bench-code-"))
    atexit.register(shutil.rmtree, out, True)  # what it wrote goes with it
    with_code, without, alone = [], [], []
    state = None
    for i in range(args.repeats):
        for save_code, bucket in ((True, with_code), (False, without)):
            start = time.perf_counter()
            run = runview.init(
                project="bench",
                dir=out,
                console=False,
                system_interval=None,
                save_code=save_code,
            )
            bucket.append(time.perf_counter() - start)
            run.finish()
        start = time.perf_counter()
        state = capture(out / f"alone-{i}" / "code")
        alone.append(time.perf_counter() - start)
    assert state is not None
    added = statistics.median(with_code) - statistics.median(without)
    print(f"init with save_code=True:  {statistics.median(with_code) * 1e3:7.1f} ms (median)")
    print(f"init with save_code=False: {statistics.median(without) * 1e3:7.1f} ms")
    print(f"added to init by the code state: {added * 1e3:.1f} ms (init waits at most 1 s)")
    print(f"capture alone: {statistics.median(alone) * 1e3:.1f} ms (median of {args.repeats})")
    diff = (out / "alone-0" / "code" / "diff.patch").stat().st_size if state.diff else 0
    print(
        f"captured: diff.patch {diff:,} bytes, upstream patch: {state.upstream or 'none'}, "
        f"{state.package_count} packages, {len(state.skipped)} skipped, errors: "
        f"{state.errors or 'none'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
