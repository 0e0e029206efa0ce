"""``runview demo``: start the demo training job in a subprocess and open the viewer on it live."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from runview._run import new_run_id


def start_training(
    root: Path, steps: int, pace: float, errors: IO[bytes], checkpoints: Path
) -> tuple[subprocess.Popen[bytes], Path | None]:
    """Start the job; its output goes to its run (console.log), never onto the viewer's screen.

    The job's stderr also goes to ``errors``, so that a job that dies before its run exists (a
    broken install, a missing module) can say why. Its data and checkpoint files go to
    ``checkpoints``, a folder the caller removes once the job has ended (the job is stopped with
    SIGTERM, which leaves it no time to clean up).
    """
    run_id = new_run_id()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runview.examples.spirals",
            "--dir",
            str(root),
            "--id",
            run_id,
            "--steps",
            str(steps),
            "--pace",
            str(pace),
            "--checkpoints",
            str(checkpoints),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=errors,
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


def _tail(errors: IO[bytes], limit: int = 4000) -> str:
    """The last ``limit`` bytes the job wrote to stderr, as text."""
    errors.flush()
    errors.seek(0, os.SEEK_END)
    errors.seek(max(0, errors.tell() - limit))
    return errors.read().decode("utf-8", "replace").strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="runview demo", description="Train a small numpy model and watch it live."
    )
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--pace", type=float, default=0.03, help="seconds per step")
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("RUNVIEW_DIR", "runs")))
    parser.add_argument("--tab", default="overview")
    options = parser.parse_args(argv)
    print("runview demo: starting a training run ...", file=sys.stderr)
    checkpoints = Path(tempfile.mkdtemp(prefix="runview-demo-"))
    try:
        with tempfile.TemporaryFile(prefix="runview-demo-") as errors:
            process, run_dir = start_training(
                options.dir, options.steps, options.pace, errors, checkpoints
            )
            if run_dir is None:
                process.kill()
                process.wait()
                said = _tail(errors)
                print("runview demo: the training job did not start", file=sys.stderr)
                if said:
                    print(f"its error output:\n{said}", file=sys.stderr)
                return 1
            return _watch(process, run_dir, options.tab)
    finally:
        shutil.rmtree(checkpoints, ignore_errors=True)


def _watch(process: subprocess.Popen[bytes], run_dir: Path, tab: str) -> int:
    from runview.tui.app import RunviewApp
    from runview.tui.terminal import follow_the_real_terminal_size

    follow_the_real_terminal_size()
    app = RunviewApp(run_dir, tab=tab)
    try:
        app.run()
    finally:
        if process.poll() is None:
            process.terminate()
            print(
                "runview demo: stopped the training job (it shows as failed: SIGTERM).",
                file=sys.stderr,
            )
        try:  # its files are removed next: it must have stopped writing them
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    print(
        f"runview demo: the run is in {run_dir}\n  reopen it with: runview {run_dir}",
        file=sys.stderr,
    )
    return app.return_code or 0
