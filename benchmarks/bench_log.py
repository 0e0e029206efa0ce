"""Logger overhead: cost of one ``run.log()`` of 10 scalars to the training thread.

Side by side in one process: the floor (stdlib ``json.dumps`` + buffered write, and an orjson
line + buffered write), runview, and — when installed — wandb offline, tensorboardX and trackio.
Prints microseconds per call (median of repeats) and the machine.

    python benchmarks/bench_log.py [--calls 200000]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from machine_info import machine  # noqa: E402 - benchmarks run as scripts from this folder


def rows(n: int) -> list[dict[str, float]]:
    return [{f"metric/{k}": (i * 0.001 + k) for k in range(10)} for i in range(n)]


def timed(
    fn: Callable[[dict[str, float]], None], data: list[dict[str, float]], repeats: int
) -> float:
    """Median µs per call over ``repeats`` passes of ``data``."""
    results = []
    for _ in range(repeats):
        start = time.perf_counter()
        for row in data:
            fn(row)
        results.append((time.perf_counter() - start) / len(data) * 1e6)
    return statistics.median(results)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = rows(args.calls)
    tmp = Path(tempfile.mkdtemp(prefix="runview-bench-"))
    atexit.register(shutil.rmtree, tmp, True)  # what it wrote goes with it
    results: list[tuple[str, float]] = []

    with open(tmp / "stdlib.jsonl", "w", buffering=1 << 16) as fh:
        step = [0]

        def stdlib(row: dict[str, float]) -> None:
            step[0] += 1
            fh.write(json.dumps({"_step": step[0], "_time": time.time(), **row}) + "\n")

        results.append(
            ("floor: stdlib json.dumps + buffered write", timed(stdlib, data, args.repeats))
        )

    try:
        import orjson

        with open(tmp / "orjson.jsonl", "wb", buffering=1 << 16) as fb:

            def orj(row: dict[str, float]) -> None:
                step[0] += 1
                fb.write(
                    orjson.dumps(
                        {"_step": step[0], "_time": time.time(), **row},
                        option=orjson.OPT_APPEND_NEWLINE,
                    )
                )

            results.append(("floor: orjson line + buffered write", timed(orj, data, args.repeats)))
    except ImportError:
        pass

    import runview

    run = runview.init(project="bench", dir=tmp, console=False, system_interval=None)
    results.append(("runview run.log", timed(run.log, data, args.repeats)))
    run.finish()
    history = run.dir / "history.jsonl"
    written = sum(1 for _ in open(history, "rb"))

    try:
        from tensorboardX import SummaryWriter

        writer = SummaryWriter(str(tmp / "tbx"))
        step[0] = 0

        def tbx(row: dict[str, float]) -> None:
            step[0] += 1
            for key, value in row.items():
                writer.add_scalar(key, value, step[0])

        results.append(
            ("tensorboardX add_scalar x10", timed(tbx, data[: max(1, args.calls // 20)], 1))
        )
        writer.close()
    except ImportError:
        results.append(("tensorboardX", float("nan")))

    try:
        import wandb

        os.environ["WANDB_MODE"] = "offline"
        wrun = wandb.init(project="bench", dir=str(tmp), settings=wandb.Settings(silent=True))
        results.append(("wandb offline log", timed(wrun.log, data[: max(1, args.calls // 20)], 1)))
        wrun.finish()
    except ImportError:
        results.append(("wandb offline", float("nan")))

    try:
        import trackio

        trackio.init(project="bench")
        results.append(("trackio log", timed(trackio.log, data[: max(1, args.calls // 20)], 1)))
        trackio.finish()
    except ImportError:
        results.append(("trackio", float("nan")))

    print(f"machine: {machine()}")
    print(f"calls: {args.calls} x {args.repeats} repeats, 10 float metrics per call")
    floor = results[0][1]
    for name, micros in results:
        shown = (
            "not installed"
            if micros != micros
            else f"{micros:8.2f} µs/call  ({micros / floor:5.2f}x stdlib floor)"
        )
        print(f"  {name:44s} {shown}")
    expected = args.calls * args.repeats
    print(
        f"runview rows on disk: {written} of {expected} "
        f"({'all' if written == expected else 'MISSING'})"
    )
    return 0 if written == expected else 1


if __name__ == "__main__":
    sys.exit(main())
