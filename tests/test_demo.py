"""``runview demo``: a job that cannot start says why; the job fills every tab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from runview.store.artifact_reader import read_run_artifacts


def test_a_job_that_fails_to_start_shows_its_error(tmp_path: Path) -> None:
    # A folder named runview/ holding only an __init__.py shadows the package for the job, as an
    # old checkout's facade once did: the job dies on import, before its run exists.
    shadow = tmp_path / "work"
    (shadow / "runview").mkdir(parents=True)
    (shadow / "runview" / "__init__.py").write_text("")
    code = "from runview.tui.cli import main; raise SystemExit(main(['demo', '--dir', 'runs']))"
    # -P: the viewer itself imports the real runview; the job it starts sees the shadow.
    result = subprocess.run(
        [sys.executable, "-P", "-c", code], cwd=shadow, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "the training job did not start" in result.stderr
    # What the job printed before it died comes with it (which error depends on the install).
    said = result.stderr.split("its error output:", 1)[-1]
    assert "Traceback" in said and "Error" in said.strip().splitlines()[-1]


def _train(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), RUNVIEW_QUIET="1")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "runview.examples.spirals",
            "--steps",
            "260",
            "--pace",
            "0",
            "--dir",
            str(tmp_path / "runs"),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_the_demo_job_fills_the_files_and_artifacts_tabs(tmp_path: Path) -> None:
    # A new user pressing 6 and 7 in the demo sees what run.save and log_artifact make, not an
    # empty tab: the checkpoint kept current in files/, the data and each checkpoint as versions.
    result = _train(tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs" / "demo").iterdir()
    saved = json.loads((run_dir / "files.json").read_text())["files"]
    assert [(f["path"], f["state"]) for f in saved] == [("model.npz", "saved")]
    with np.load(run_dir / "files" / "model.npz") as weights:
        assert sorted(weights) == ["b1", "b2", "b3", "w1", "w2", "w3"]
    found = read_run_artifacts(run_dir)
    assert not found.problems
    rows = [(r.direction, r.name, r.type, r.version, r.aliases) for r in found.rows]
    # checkpoints at steps 0, 250 and 259 (the last); "best" moves to the best so far
    assert rows[0] == ("output", "spirals", "dataset", 0, ("latest",))
    models = [row for row in rows if row[1] == "spirals-mlp"]
    assert [row[3] for row in models] == [0, 1, 2]
    assert "latest" in models[-1][4] and sum("best" in row[4] for row in models) == 1
    # the job's own temporary folder for them is gone
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_demo_data_is_one_version_however_often_the_demo_runs(tmp_path: Path) -> None:
    for _ in range(2):
        assert _train(tmp_path, "--checkpoints", str(tmp_path / "ck")).returncode == 0
    versions = [
        (row.name, row.version)
        for run_dir in sorted((tmp_path / "runs" / "demo").iterdir())
        for row in read_run_artifacts(run_dir).rows
    ]
    # the same seed trains the same weights: both runs hold the same versions, stored once
    assert versions[: len(versions) // 2] == versions[len(versions) // 2 :]
    assert ("spirals", 0) in versions and ("spirals", 1) not in versions
    assert (tmp_path / "ck" / "model.npz").is_file()  # a folder given is the caller's to remove
