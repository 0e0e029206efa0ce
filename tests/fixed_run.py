"""A finished run with every file, written byte for byte the same on every machine and every day.

For the SVG snapshots: fixed names, host, paths and times, values from formulas (no randomness),
and nothing that depends on the clock (the run is finished, so no runtime ticks). The viewer is
given the run's path relative to the working directory, so the Overview shows the same
``directory`` wherever the test runs.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from runview.collectors.model import summary_from_rows

START = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
STEPS = 300
STEP_SECONDS = 2.0
END = START + STEPS * STEP_SECONDS
RUN = Path("runs") / "mnist" / "20260101-000000-snap0001"  # relative to the working directory

META = {
    "format": 1,
    "id": "snap0001",
    "name": "baseline",
    "project": "mnist",
    "notes": "a fixed run for the snapshot tests",
    "tags": ["cnn", "snapshot"],
    "host": "trainer-01",
    "os": "Linux-6.1.0-x86_64-with-glibc2.36",
    "python": "3.11.9",
    "executable": "/usr/bin/python3",
    "argv": ["train.py", "--lr", "0.01", "--epochs", "3"],
    "cwd": "/home/ada/mnist",
    "pid": 4242,
    "start_time": START,
    "git": {
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "branch": "main",
        "remote": "https://example.com/ada/mnist.git",
        "dirty": False,
    },
    "gpu": {"reason": None, "devices": [{"index": 0, "name": "NVIDIA H100 80GB HBM3"}]},
}
CONFIG = {"lr": 0.01, "batch_size": 64, "optimizer": "adam", "model": {"depth": 4, "width": 128}}
LAYERS = [
    {"name": "features.0", "type": "Conv2d", "output_shape": [64, 16, 28, 28], "params": 160},
    {"name": "features.1", "type": "ReLU", "output_shape": [64, 16, 28, 28]},
    {"name": "features.2", "type": "MaxPool2d", "output_shape": [64, 16, 14, 14]},
    {"name": "features.3", "type": "Conv2d", "output_shape": [64, 32, 14, 14], "params": 4640},
    {"name": "features.4", "type": "ReLU", "output_shape": [64, 32, 14, 14]},
    {"name": "classifier.0", "type": "Flatten", "output_shape": [64, 6272]},
    {"name": "classifier.1", "type": "Linear", "output_shape": [64, 128], "params": 802_944},
    {"name": "classifier.2", "type": "Linear", "output_shape": [64, 10], "params": 1290},
]


def history_row(step: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "_step": step,
        "_time": START + step * STEP_SECONDS,
        "train/loss": round(2.0 * math.exp(-step / 60) + 0.1 + 0.04 * math.sin(step / 2), 6),
        "train/acc": round(0.98 - 0.88 * math.exp(-step / 50), 6),
        "lr": round(0.01 * 0.5 * (1 + math.cos(math.pi * step / STEPS)), 8),
    }
    if step % 10 == 0:
        row["val/loss"] = round(2.1 * math.exp(-step / 70) + 0.15, 6)
        row["val/acc"] = round(0.97 - 0.85 * math.exp(-step / 60), 6)
    return row


def system_row(index: int) -> dict[str, Any]:
    wave = math.sin(index / 4)
    return {
        "_time": START + 5.0 * index,
        "cpu/percent": round(55 + 20 * wave, 1),
        "mem/used": 12 * 2**30 + index * 2**24,
        "mem/percent": round(37.5 + index / 10, 2),
        "proc/rss": 3 * 2**30 + index * 2**22,
        "proc/cpu_percent": round(98 + 2 * wave, 1),
        "gpu/0/util": round(90 + 8 * wave, 1),
        "gpu/0/mem_percent": round(60 + index / 5, 2),
        "gpu/0/temp": 70 + index % 5,
        "gpu/0/power_w": round(650 + 40 * wave, 1),
    }


def console() -> bytes:
    lines = [b"loading MNIST from /home/ada/data (60000 train, 10000 test)\n"]
    for step in range(0, STEPS, 10):
        row = history_row(step)
        lines.append(
            b"step %4d  loss \x1b[32m%.4f\x1b[0m  acc %.3f\n"
            % (step, row["train/loss"], row["train/acc"])
        )
    lines.append(b"\x1b[33mwarning:\x1b[0m lr schedule reached its floor\n")
    lines.append(b"done in 10m 00s\n")
    return b"".join(lines)


def write_fixed_run(root: Path) -> Path:
    """Write the run under ``root``; returns its path relative to ``root``."""
    run = root / RUN
    run.mkdir(parents=True)
    history = [history_row(step) for step in range(STEPS)]
    last = {key: value for row in history for key, value in row.items() if not key.startswith("_")}
    documents = {
        "runview.json": {"format": "runview", "version": 1},
        "meta.json": META,
        "config.json": CONFIG,
        "summary.json": last,
        "status.json": {
            "state": "finished",
            "started": START,
            "heartbeat": END,
            "heartbeat_interval": 2.0,
            "ended": END,
            "exit_code": 0,
            "hostname": "trainer-01",
            "pid": 4242,
        },
        "model.json": summary_from_rows(LAYERS),
    }
    for name, document in documents.items():
        (run / name).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    (run / "history.jsonl").write_text("".join(json.dumps(row) + "\n" for row in history))
    (run / "system.jsonl").write_text(
        "".join(json.dumps(system_row(i)) + "\n" for i in range(int((END - START) / 5)))
    )
    (run / "console.log").write_bytes(console())
    for path in (run, *run.iterdir()):  # the Files tab shows modification times
        os.utime(path, (END, END))
    return RUN
