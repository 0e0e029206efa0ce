"""The command line without a UI: info, errors, help and version."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import runview


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runview", *args], capture_output=True, text=True, timeout=60
    )


def test_info_json_for_scripts(run_root: Path) -> None:
    run = runview.init(
        project="p",
        name="n",
        dir=run_root,
        config={"lr": 0.1, "net": {"depth": 2}},
        console=False,
        system_interval=None,
    )
    run.log({"loss": 0.5})
    run.summary["best"] = float("nan")
    run.finish(exit_code=2)
    result = cli("info", str(run.dir), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "failed" and document["exit_code"] == 2
    assert document["config"] == {"lr": 0.1, "net": {"depth": 2}}
    assert document["summary"]["loss"] == 0.5 and document["steps"] == 1
    assert document["meta"]["name"] == "n"


def test_info_text(run_root: Path) -> None:
    run = runview.init(
        project="p",
        name="readable",
        dir=run_root,
        config={"lr": 0.1},
        console=False,
        system_interval=None,
    )
    run.finish()
    result = cli("info", str(run.dir))
    assert result.returncode == 0
    assert "readable" in result.stdout and "finished" in result.stdout and "lr" in result.stdout


def test_not_a_run_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for args in ((str(tmp_path),), ("info", str(tmp_path / "missing"))):
        result = cli(*args)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("runview: ")


def test_help_and_version() -> None:
    assert "runview demo" in cli("--help").stdout
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("runview ")
    assert cli("somewhere", "--tab", "nope").returncode == 2


def test_a_project_folder_points_at_its_newest_run(run_root: Path) -> None:
    runs = [
        runview.init(project="p", dir=run_root, console=False, system_interval=None, id=f"r{i}")
        for i in range(2)
    ]
    for run in runs:
        run.finish()
    result = cli(str(run_root / "p"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "holds 2 run(s)" in result.stderr and str(runs[-1].dir.name) in result.stderr


def test_info_into_a_closed_pipe_ends_quietly(run_root: Path) -> None:
    # A config far larger than a pipe's buffer: `head` exits while info is still writing.
    config = {f"key_{i:05d}": "x" * 40 for i in range(5000)}
    run = runview.init(
        project="p", dir=run_root, config=config, console=False, system_interval=None
    )
    run.finish()
    for extra in (["--json"], []):
        command = [sys.executable, "-m", "runview", "info", str(run.dir), *extra]
        result = subprocess.run(
            f"{' '.join(command)} | head -3", shell=True, capture_output=True, text=True, timeout=60
        )
        assert len(result.stdout.splitlines()) == 3
        assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


def test_info_text_into_a_pipe_is_neither_padded_nor_wrapped(run_root: Path) -> None:
    deep = run_root / ("a-rather-long-folder-name-" * 4)
    run = runview.init(
        project="p", dir=deep, config={"lr": 0.1}, console=False, system_interval=None
    )
    run.finish()
    result = cli("info", str(run.dir))  # captured: stdout is a pipe
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines and all(line == line.rstrip() for line in lines)
    assert any(line.endswith(str(run.dir)) for line in lines)  # the long path on one line


def test_info_says_where_a_failed_run_raised(tmp_path: Path, run_root: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import sys, runview\n"
        "run = runview.init(project='p', dir=sys.argv[1], console=False, system_interval=None)\n"
        "def step():\n"
        "    raise ValueError('diverged')\n"
        "step()\n"
    )
    subprocess.run([sys.executable, str(script), str(run_root)], capture_output=True, timeout=60)
    run_dir = next(run_root.glob("p/*"))
    document = json.loads(cli("info", str(run_dir), "--json").stdout)
    assert document["status"] == "failed" and isinstance(document["ended"], float)
    assert document["ended"] >= document["started"]
    error = document["error"]
    assert error["type"] == "ValueError" and error["message"] == "diverged"
    assert error["location"] == f"{script}:4 in step"
    assert "raise ValueError('diverged')" in error["traceback"]
    text = cli("info", str(run_dir)).stdout
    assert f"raised at  {script}:4 in step" in text
