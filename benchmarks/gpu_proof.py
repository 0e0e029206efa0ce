"""Proof on a real NVIDIA GPU: sample while bf16 matrix products keep it busy, then report.

    python benchmarks/gpu_proof.py [--seconds 8] [--interval 0.5] [--size 8192]

Uses the collectors directly (not ``runview.init``). Prints the GPUs found, every ``gpu/*`` metric
recorded with its last value and min/max, the metrics that are absent with the reason for each,
and the sampler's own CPU overhead. Without a GPU (no CUDA torch, no NVIDIA driver) it says so in
one line and exits 0. Needs torch, psutil and nvidia-ml-py; not textual, plotext, watchdog or
orjson.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import types
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def load_collectors() -> str:
    """Import ``runview.collectors``; where ``import runview`` needs the viewer's dependencies
    (orjson, ...) that this machine lacks, map the package onto the checkout's folders instead."""
    try:
        import runview.collectors.sampler

        return "installed runview"
    except ImportError as exc:
        why = f"{type(exc).__name__}: {exc}"
    for name in [n for n in sys.modules if n == "runview" or n.startswith("runview.")]:
        del sys.modules[name]
    package = types.ModuleType("runview")
    package.__path__ = [str(REPO / "runview")]
    collectors = types.ModuleType("runview.collectors")
    collectors.__path__ = [str(REPO / "collectors")]
    package.collectors = collectors  # type: ignore[attr-defined]
    sys.modules["runview"], sys.modules["runview.collectors"] = package, collectors
    import runview.collectors.sampler  # noqa: F401

    return f"collectors from {REPO / 'collectors'} ({why})"


def fmt(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value:,.0f}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def busy_gpu(torch: Any, seconds: float, size: int) -> tuple[int, float]:
    """bf16 matrix products for ``seconds``; returns (products, seconds taken)."""
    a = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b  # warm up cuBLAS
    torch.cuda.synchronize()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            c = a @ b
        torch.cuda.synchronize()
        count += 20
    del c
    return count, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--size", type=int, default=8192)
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.node()}; {load_collectors()}")
    from runview.collectors.sampler import SystemSampler

    try:
        import torch
    except ImportError:
        torch = None
    records: list[dict[str, Any]] = []
    sampler = SystemSampler(records.append, interval=args.interval)
    if sampler.gpu_reason is not None or torch is None or not torch.cuda.is_available():
        why = sampler.gpu_reason or (
            "torch is not installed" if torch is None else "torch sees no CUDA device"
        )
        print(f"no GPU: {why}; nothing to prove here")
        return 0

    print(
        f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
        f"device 0: {torch.cuda.get_device_name(0)}"
    )
    print("devices found by NVML:")
    for device in sampler.gpu_devices:
        print(
            f"  [{device['index']}] {device['name']}  uuid {device['uuid']}  "
            f"memory {device['memory_total'] / 2**30:.1f} GiB"
        )

    sampler.start()
    time.sleep(1.0)  # a second of idle first, so the records show the change
    count, took = busy_gpu(torch, args.seconds, args.size)
    reserved = torch.cuda.memory_reserved()
    time.sleep(args.interval * 1.5)
    sampler.stop()
    wall = time.monotonic() - sampler._started
    print(
        f"\nwork: {count} bf16 {args.size}^3 products in {took:.1f} s = "
        f"{2 * args.size**3 * count / took / 1e12:.0f} TFLOP/s; "
        f"torch reserved {reserved / 2**30:.2f} GiB"
    )
    print(
        f"sampler: {sampler.samples} records at {args.interval:g} s over {wall:.1f} s, "
        f"{sampler.skipped} skipped, {sampler.failures} failed"
        + (f" (last error: {sampler.last_error})" if sampler.last_error else "")
    )

    print("\ngpu metrics recorded (last, min, max, samples):")
    keys = sorted({k for r in records for k in r if k.startswith("gpu/")})
    for key in keys:
        values = [r[key] for r in records if key in r]
        print(
            f"  {key:<24} last {fmt(values[-1]):>16}  min {fmt(min(values)):>16}  "
            f"max {fmt(max(values)):>16}  n={len(values)}"
        )
    if not keys:
        print("  (none)")

    described = sampler.gpu.describe()
    print("\ngpu metrics absent, and why:")
    for key, why in described["absent"].items():
        print(f"  {key:<24} {why}")
    if not described["absent"]:
        print("  (none: every metric was recorded)")
    for key, note in described["notes"].items():
        print(f"note {key}: {note}")

    print("\nsystem metrics in the last record:")
    last = records[-1] if records else {}
    for key in (
        "cpu/percent",
        "proc/cpu_percent",
        "proc/rss",
        "mem/percent",
        "disk/used_percent",
        "net/recv_bps",
    ):
        if key in last:
            print(f"  {key:<24} {fmt(last[key])}")

    gpu_costs = []
    pids = sampler.system.last_pids
    for _ in range(50):
        start = time.thread_time()
        sampler.gpu.sample(pids)
        gpu_costs.append(time.thread_time() - start)
        time.sleep(0.06)
    per_sample = sampler.cpu_seconds / max(sampler.samples, 1)
    print(
        f"\nsampler overhead: thread CPU {sampler.cpu_seconds * 1000:.1f} ms over {wall:.1f} s = "
        f"{100 * sampler.cpu_seconds / wall:.3f}% of one core at {args.interval:g} s; "
        f"{per_sample * 1000:.2f} ms per sample, "
        f"so {100 * per_sample / 2.0:.3f}% at the default 2 s "
        f"(budget 1%)"
    )
    print(
        f"  of which NVML, all GPUs: {1000 * sum(gpu_costs) / len(gpu_costs):.3f} ms CPU per sample"
    )
    sampler.gpu.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
