"""Proof on a real NVIDIA GPU, end to end: a short training job under ``runview.init``.

    python benchmarks/gpu_run_proof.py [--seconds 8]

Trains a small CNN with ``run.watch`` and keeps the GPU busy with bf16 matrix products for a few
seconds, finishes the run, then reads the run directory back with the viewer's reader and prints
the GPU metrics recorded (last, min, max), the metrics absent with the reason for each, the model
summary's totals against torch's own count, and the run's status. Needs torch with CUDA, psutil,
nvidia-ml-py and numpy; not the viewer's dependencies.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    import torch

    import runview
    from runview.store.reader import RunReader

    if not torch.cuda.is_available():
        print("no GPU: torch.cuda.is_available() is False")
        return 0
    root = Path(args.dir or tempfile.mkdtemp(prefix="runview-gpu-"))
    run = runview.init(
        project="gpu-proof", name="h100", dir=root, system_interval=0.5, config={"size": 8192}
    )
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 10),
    ).cuda()
    run.watch(model, log=None)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    start, step, flops = time.perf_counter(), 0, 0.0
    while time.perf_counter() - start < args.seconds:
        x = torch.randn(64, 3, 32, 32, device="cuda")
        y = torch.randint(0, 10, (64,), device="cuda")
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for _ in range(20):
            a @ b
        flops += 20 * 2 * 8192**3
        run.log({"train/loss": loss, "perf/step": step})  # a 0-d CUDA tensor, as people log it
        step += 1
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    print(f"work: {step} steps, {flops / elapsed / 1e12:.0f} TFLOP/s bf16 over {elapsed:.1f} s")
    run.finish()

    snapshot = RunReader(run.dir).refresh()
    print(f"run: {run.dir}")
    print(
        f"status: {snapshot.liveness.state} (exit code {snapshot.status.get('exit_code')}), "
        f"{snapshot.history.rows} history rows, {snapshot.system.rows} system samples, console: "
        f"{snapshot.meta.get('console')}"
    )
    gpu = snapshot.meta.get("gpu") or {}
    print(f"devices: {json.dumps(gpu.get('devices'))}")
    print(f"gpu reason: {gpu.get('reason')}")
    keys = sorted(k for k in snapshot.system.series if k.startswith("gpu/"))
    print(f"GPU metrics recorded ({len(keys)}):")
    for key in keys:
        _, values = snapshot.system.series[key]
        print(
            f"  {key:24s} last {values[-1]:>14.4g}  min {values.min():>14.4g}  max "
            f"{values.max():>14.4g}  ({len(values)} samples)"
        )
    described = (snapshot.meta.get("system") or {}).get("gpu") or {}
    absent = described.get("absent") or {}
    print(f"GPU metrics absent ({len(absent)}):")
    for key, reason in sorted(absent.items()):
        print(f"  {key}: {reason}")
    for key, note in sorted((described.get("notes") or {}).items()):
        print(f"  note {key}: {note}")
    model_doc = snapshot.model or {}
    unique = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    print(
        f"model: {len(model_doc.get('layers', []))} layers, total {model_doc.get('total_params')} "
        f"(torch unique parameters: {unique}), first output shapes: "
        f"{[layer.get('output_shape') for layer in model_doc.get('layers', [])[:3]]}"
    )
    loss_steps, loss_values = snapshot.history.series["train/loss"]
    print(
        f"train/loss logged from CUDA tensors: {len(loss_values)} points, last "
        f"{loss_values[-1]:.4f}"
    )
    return 0 if keys and snapshot.liveness.state == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
