"""``runview demo``: start the demo training job in a subprocess and open the viewer on it live."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from runview._run import new_run_id


def start_training(root: Path, steps: int, pace: float) -> tuple[subprocess.Popen[bytes], Path | None]:
    """Start the job; its output goes to its run (console.log), never onto the viewer's screen."""
    run_id = new_run_id()
    process = subprocess.Popen(
        [sys.executable, "-m", "runview.tui.demo_train", "--dir", str(root), "--id", run_id,
         "--steps", str(steps), "--pace", str(pace)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the viewer must not hit the job
    )
    deadline = time.monotonic() + 20
    project = root / "demo"
    while time.monotonic() < deadline and process.poll() is None:
        found = sorted(project.glob(f"*-{run_id}")) if project.is_dir() else []
        if found and (found[0] / "runview.json").exists():
            return process, found[0]
        time.sleep(0.05)
    return process, None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="runview demo", description="Train a small numpy model and watch it live.")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--pace", type=float, default=0.03, help="seconds per step")
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("RUNVIEW_DIR", "runs")))
    parser.add_argument("--tab", default="overview")
    options = parser.parse_args(argv)
    print("runview demo: starting a training run ...", file=sys.stderr)
    process, run_dir = start_training(options.dir, options.steps, options.pace)
    if run_dir is None:
        process.kill()
        print("runview demo: the training job did not start", file=sys.stderr)
        return 1
    from runview.tui.app import RunviewApp

    try:
        RunviewApp(run_dir, tab=options.tab).run()
    finally:
        if process.poll() is None:
            process.terminate()
            print("runview demo: stopped the training job (it shows as failed: SIGTERM).", file=sys.stderr)
    print(f"runview demo: the run is in {run_dir}\n  reopen it with: runview {run_dir}", file=sys.stderr)
    return 0
