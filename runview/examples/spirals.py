"""The demo's training job: a small numpy MLP learning two interleaved spirals, logged with runview.

Runs as its own process (``python -m runview.examples.spirals``); it never imports the viewer.
Besides its metrics it uses what fills the other tabs: a model summary, console output, media, a
checkpoint kept current with ``run.save`` (Files), and its dataset and model checkpoints logged
as versioned artifacts (Artifacts).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import runview


def spirals(n: int, rng: np.random.Generator, noise: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    t = np.sqrt(rng.uniform(0.05, 1.0, n)) * 3.5 * np.pi
    label = rng.integers(0, 2, n)
    sign = np.where(label == 1, 1.0, -1.0)
    x = np.stack([sign * t * np.cos(t), sign * t * np.sin(t)], axis=1) / 10.0
    return x + rng.normal(0, noise / 10.0, x.shape), label


def decision_map(forward, size: int = 48) -> np.ndarray:  # type: ignore[no-untyped-def]
    """What the model predicts over the plane, as an RGB image: blue for class 0, orange for 1."""
    axis = np.linspace(-1.2, 1.2, size)
    grid = np.stack(np.meshgrid(axis, -axis), axis=-1).reshape(-1, 2)
    p1 = forward(grid)[2][:, 1].reshape(size, size, 1)
    blue, orange = np.array([40, 90, 200]), np.array([240, 140, 30])
    return ((1 - p1) * blue + p1 * orange).astype(np.uint8)


def sample_predictions(forward, x_val, y_val, pv) -> dict:  # type: ignore[no-untyped-def]
    """Media for the Charts tab's media panel (m): the decision map and a table of predictions."""
    rows = [
        [
            round(float(x), 3),
            round(float(y), 3),
            int(label),
            int(p.argmax()),
            round(float(p.max()), 3),
        ]
        for (x, y), label, p in zip(x_val[:12], y_val[:12], pv[:12])
    ]
    return {
        "val/decision_map": runview.Image(
            decision_map(forward), caption="p(class 1) over the plane"
        ),
        "val/predictions": runview.Table(
            columns=["x", "y", "label", "pred", "confidence"], data=rows
        ),
    }


def log_dataset(run: runview.Run, folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """The data as an artifact: logged again by the next demo, it is the same version (v0)."""
    path = folder / "spirals.npz"
    np.savez(path, **arrays)
    dataset = runview.Artifact(
        "spirals",
        type="dataset",
        description="two interleaved spirals, 2-d points with a 0/1 label",
        metadata={name: len(values) for name, values in arrays.items() if name.startswith("x")},
    )
    dataset.add_file(path)  # copied now: the file may change or go afterwards
    run.log_artifact(dataset)


def save_checkpoint(
    run: runview.Run,
    path: Path,
    weights: dict[str, np.ndarray],
    step: int,
    val_acc: float,
    best: bool,
) -> None:
    """Overwrite the checkpoint (``run.save`` keeps files/ current) and log it as a new version."""
    with open(path, "wb") as fh:
        np.savez(fh, **weights)
    model = runview.Artifact(
        "spirals-mlp", type="model", metadata={"step": step, "val/acc": round(val_acc, 4)}
    )
    model.add_file(path)
    run.log_artifact(model, aliases=["best"] if best else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="runview-demo-train")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--id", default=None)
    parser.add_argument(
        "--pace", type=float, default=0.03, help="seconds per step, so the demo is watchable"
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="folder for its data and checkpoint files (default: a temporary one, removed after)",
    )
    args = parser.parse_args(argv)
    if args.checkpoints is not None:
        args.checkpoints.mkdir(parents=True, exist_ok=True)
        return train(args, args.checkpoints)
    with tempfile.TemporaryDirectory(prefix="runview-demo-") as folder:
        return train(args, Path(folder))


def train(args: argparse.Namespace, folder: Path) -> int:
    """Train, logging to a new run; ``folder`` takes the data and checkpoint files."""
    config = {
        "lr": 0.3,
        "batch_size": 128,
        "model": {"hidden": 64, "depth": 2, "act": "tanh"},
        "seed": 0,
    }
    run = runview.init(
        project="demo",
        name="spirals-mlp",
        notes="runview demo: a numpy MLP on two spirals",
        tags=["demo", "numpy"],
        config=config,
        dir=args.dir,
        id=args.id,
        system_interval=1.0,
    )
    rng = np.random.default_rng(config["seed"])
    x_train, y_train = spirals(4096, rng)
    x_val, y_val = spirals(1024, rng)
    log_dataset(
        run, folder, {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val}
    )
    checkpoint = folder / "model.npz"
    run.save(checkpoint, policy="live")  # copied into files/ whenever it has changed and settled
    hidden = config["model"]["hidden"]
    w1 = rng.normal(0, 1.0, (2, hidden))
    b1 = np.zeros(hidden)
    w2 = rng.normal(0, 1.0 / np.sqrt(hidden), (hidden, hidden))
    b2 = np.zeros(hidden)
    w3 = rng.normal(0, 1.0 / np.sqrt(hidden), (hidden, 2))
    b3 = np.zeros(2)
    run.log_model_summary(
        [
            {"name": "", "type": "MLP", "output_shape": [None, 2], "params": 0},
            {
                "name": "fc1",
                "type": "Linear",
                "output_shape": [None, hidden],
                "params": w1.size + b1.size,
            },
            {"name": "act1", "type": "Tanh", "output_shape": [None, hidden], "params": 0},
            {
                "name": "fc2",
                "type": "Linear",
                "output_shape": [None, hidden],
                "params": w2.size + b2.size,
            },
            {"name": "act2", "type": "Tanh", "output_shape": [None, hidden], "params": 0},
            {
                "name": "head",
                "type": "Linear",
                "output_shape": [None, 2],
                "params": w3.size + b3.size,
            },
        ]
    )
    run.define_metric("val/acc", summary="max")
    run.define_metric("val/loss", summary="min")

    def forward(x: np.ndarray) -> tuple[np.ndarray, ...]:
        h1 = np.tanh(x @ w1 + b1)
        h2 = np.tanh(h1 @ w2 + b2)
        logits = h2 @ w3 + b3
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        return h1, h2, p

    print(f"\x1b[1mtraining\x1b[0m spirals-mlp for {args.steps} steps", flush=True)
    lr = config["lr"]
    best_acc = -1.0
    for step in range(args.steps):
        idx = rng.integers(0, len(x_train), config["batch_size"])
        x, y = x_train[idx], y_train[idx]
        h1, h2, p = forward(x)
        loss = float(-np.log(p[np.arange(len(y)), y] + 1e-9).mean())
        grad = p.copy()
        grad[np.arange(len(y)), y] -= 1
        grad /= len(y)
        g3 = h2.T @ grad
        d2 = (grad @ w3.T) * (1 - h2**2)
        g2 = h1.T @ d2
        d1 = (d2 @ w2.T) * (1 - h1**2)
        g1 = x.T @ d1
        grad_norm = float(np.sqrt(sum((g**2).sum() for g in (g1, g2, g3))))
        lr = config["lr"] * 0.5 * (1 + np.cos(np.pi * step / args.steps))
        for param, g in (
            (w1, g1),
            (b1, d1.sum(0)),
            (w2, g2),
            (b2, d2.sum(0)),
            (w3, g3),
            (b3, grad.sum(0)),
        ):
            param -= lr * g
        acc = float((p.argmax(1) == y).mean())
        run.log(
            {"train/loss": loss, "train/acc": acc, "train/grad_norm": grad_norm, "train/lr": lr}
        )
        if step % 50 == 0 or step == args.steps - 1:
            _, _, pv = forward(x_val)
            val_loss = float(-np.log(pv[np.arange(len(y_val)), y_val] + 1e-9).mean())
            val_acc = float((pv.argmax(1) == y_val).mean())
            run.log({"val/loss": val_loss, "val/acc": val_acc}, step=step)
            if step % 250 == 0 or step == args.steps - 1:
                run.log(sample_predictions(forward, x_val, y_val, pv), step=step)
                weights = {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "w3": w3, "b3": b3}
                save_checkpoint(run, checkpoint, weights, step, val_acc, val_acc > best_acc)
                best_acc = max(best_acc, val_acc)
            colour = "32" if val_acc > 0.9 else "33"
            print(
                f"\rstep {step:5d}  loss {loss:.4f}  \x1b[{colour}mval/acc {val_acc:.3f}\x1b[0m",
                flush=True,
            )
        if step % 10 == 0:
            sys.stdout.write(f"\r  progress {100 * (step + 1) // args.steps:3d}%")
            sys.stdout.flush()
        time.sleep(args.pace)
    print("\ndone", flush=True)
    run.finish()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
