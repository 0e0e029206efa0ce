"""Shared fixtures: real run directories made by the real logger, and real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest


@pytest.fixture
def run_root(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    return root


def write_script(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


def run_script(
    path: Path, *args: str, timeout: float = 60, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run a training script with this interpreter, as a user would."""
    env = dict(os.environ)
    env.pop("RUNVIEW_DIR", None)
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kwargs,  # type: ignore[arg-type]
    )


def only_run_dir(root: Path) -> Path:
    """The one run directory under ``root`` (project/<time>-<id>)."""
    found = [p for p in root.glob("*/*") if (p / "runview.json").exists()]
    assert len(found) == 1, found
    return found[0]


# The column helper runs in the idle scheduling class while its run lasts: when other processes
# keep every core busy it gets almost no CPU (by design: training comes first), and where it may
# not leave that class after the run either (an unprivileged user), a test waiting on it waits long.
HELPER_WAIT_S = 300.0


def final_index(run_dir: Path, timeout: float = HELPER_WAIT_S) -> dict:
    """The index the column helper writes last, once it has caught up after the run ended."""
    path = run_dir / "columns" / "index.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            index = json.loads(path.read_bytes())
            if index.get("final"):
                return index
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"no final columns index in {timeout} s")


@pytest.fixture(autouse=True)
def private_state_and_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the user's real view state or column cache."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("RUNVIEW_STATE_DIR", str(base / "state"))
    monkeypatch.setenv("RUNVIEW_CACHE_DIR", str(base / "cache"))
