"""Artifacts: what ``log_artifact`` costs the training thread, and how fast the background
stores a file compared with hashing it alone.

For files of growing size, in one process, with the defaults a user gets:
* ``add_file(policy="immutable")`` + ``log_artifact``: time on the calling thread (goal < 1 ms
  whatever the size; nothing is read);
* ``add_file(policy="mutable")``: the staging copy it pays on the calling thread;
* ingest: from ``log_artifact`` to ``art.wait()`` for new content (hash + copy into the store),
  against ``hashlib.sha256`` of the same file read in 1 MiB chunks (goal: within 1.5x);
* a re-log of unchanged content, and ``finish()`` with nothing pending.

    python benchmarks/bench_artifacts.py [--sizes 1,64,512] [--repeats 3] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from machine_info import machine  # noqa: E402 - benchmarks run as scripts from this folder

import runview
from runview.store.blob_io import copy_fd

MB = 1024 * 1024


def make_file(path: Path, size: int, seed: int) -> None:
    block = os.urandom(MB)
    with open(path, "wb") as fh:
        fh.write(seed.to_bytes(8, "little"))  # distinct content per file
        left = size - 8
        while left > 0:
            fh.write(block[: min(MB, left)])
            left -= MB


def sha256_alone(path: Path) -> float:
    start = time.perf_counter()
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        buffer = bytearray(MB)
        while n := fh.readinto(buffer):
            digest.update(memoryview(buffer)[:n])
    return time.perf_counter() - start


def copy_method(folder: Path) -> str:
    src, dst = folder / "probe-src", folder / "probe-dst"
    src.write_bytes(b"x" * 4096)
    with open(src, "rb") as a, open(dst, "wb") as b:
        method = copy_fd(a.fileno(), b.fileno(), 4096)
    src.unlink()
    dst.unlink()
    return method


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,64,512", help="file sizes in MiB")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write (default: system temp)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="runview-bench-art-", dir=args.dir))
    print(f"machine: {machine()}")
    print(f"folder: {work} · copy method: {copy_method(work)}")
    print(
        f"{'size':>8} {'immutable log':>14} {'mutable add':>12} {'ingest':>9} "
        f"{'sha256 alone':>13} {'ratio':>6} {'re-log':>9}"
    )
    run = runview.init(
        project="bench", dir=work / "runs", console=False, system_interval=None, save_code=False
    )
    seed = 0
    try:
        for size_mb in sizes:
            logs, adds, ingests, hashes, relogs = [], [], [], [], []
            for _ in range(args.repeats):
                seed += 1
                source = work / f"f{seed}.bin"
                make_file(source, size_mb * MB, seed)
                hashes.append(sha256_alone(source))

                art = runview.Artifact("immutable", type="model")
                start = time.perf_counter()
                art.add_file(source, policy="immutable")
                run.log_artifact(art)
                logged = time.perf_counter()
                art.wait()
                done = time.perf_counter()
                assert art.state == "committed", art.error
                logs.append(logged - start)
                ingests.append(done - logged)

                again = runview.Artifact("immutable", type="model")
                start = time.perf_counter()
                again.add_file(source, policy="immutable")
                run.log_artifact(again).wait()
                relogs.append(time.perf_counter() - start)
                assert again.version == art.version

                mutable = runview.Artifact("mutable", type="model")
                start = time.perf_counter()
                mutable.add_file(source)  # the staging copy, on this thread
                adds.append(time.perf_counter() - start)
                run.log_artifact(mutable).wait()
                source.unlink()
            ingest, alone = statistics.median(ingests), statistics.median(hashes)
            print(
                f"{size_mb:>5} MiB {statistics.median(logs) * 1e6:>11.0f} µs "
                f"{statistics.median(adds) * 1e3:>9.1f} ms {ingest * 1e3:>6.0f} ms "
                f"{alone * 1e3:>10.0f} ms {ingest / alone:>5.2f}x "
                f"{statistics.median(relogs) * 1e3:>6.1f} ms"
            )
            print(
                f"{'':>8} throughput: ingest {size_mb / ingest:,.0f} MiB/s, "
                f"sha256 alone {size_mb / alone:,.0f} MiB/s, "
                f"staging copy {size_mb / statistics.median(adds):,.0f} MiB/s"
            )
    finally:
        run.finish()
    idle = runview.init(
        project="bench", dir=work / "runs", console=False, system_interval=None, save_code=False
    )
    art = runview.Artifact("tiny", type="model")
    (work / "tiny.txt").write_text("x")
    art.add_file(work / "tiny.txt")
    idle.log_artifact(art).wait()
    start = time.perf_counter()
    idle.finish()
    print(
        f"finish() with nothing pending (after one committed artifact): "
        f"{(time.perf_counter() - start) * 1e3:.1f} ms"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
