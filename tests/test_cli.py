"""The command line without a UI: info, errors, help and version."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import runview
from runview.tui.cli import pause_gc


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


def test_what_cannot_be_opened_is_one_line_and_exit_2(tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("not a run")
    for args in (
        (str(tmp_path / "missing"),),
        (str(afile),),
        ("info", str(tmp_path / "missing")),
        (str(tmp_path), str(afile)),  # several paths are compared: each must be a run
    ):
        result = cli(*args)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("runview: ")


def test_runview_where_there_are_no_runs_says_where_it_looked_and_what_to_try(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RUNVIEW_DIR"}
    result = subprocess.run(
        [sys.executable, "-m", "runview"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("runview: no runs here: runs does not exist")
    assert result.stderr.count("\n") == 1 and "runview demo" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "runview"],
        cwd=tmp_path,
        env={**env, "RUNVIEW_DIR": str(tmp_path / "elsewhere")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"{tmp_path / 'elsewhere'} does not exist" in result.stderr


def test_help_and_version() -> None:
    assert "runview demo" in cli("--help").stdout
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("runview ")
    assert cli("somewhere", "--tab", "nope").returncode == 2


def test_info_on_a_root_or_project_lists_its_runs_for_scripts(run_root: Path) -> None:
    quiet = {"dir": run_root, "console": False, "system_interval": None}
    first = runview.init(project="p", name="first", config={"lr": 0.1}, tags=["a"], **quiet)
    first.log({"loss": 0.5})
    first.finish()
    second = runview.init(project="q", name="second", config={"lr": 0.2}, **quiet)
    second.finish(exit_code=1)
    document = json.loads(cli("info", str(run_root), "--json").stdout)
    assert document["path"] == str(run_root.resolve()) and document["problems"] == []
    runs = {run["name"]: run for run in document["runs"]}
    assert set(runs) == {"first", "second"}
    row = runs["first"]
    assert row["path"] == str(first.dir.resolve()) and row["project"] == "p"
    assert row["status"] == "finished" and row["live"] is False and row["tags"] == ["a"]
    assert row["config"] == {"lr": 0.1} and row["summary"]["loss"] == 0.5
    assert isinstance(row["started"], float) and row["runtime"] >= 0
    assert runs["second"]["status"] == "failed" and "exit code 1" in runs["second"]["reason"]
    project = json.loads(cli("info", str(run_root / "q"), "--json").stdout)
    assert [run["name"] for run in project["runs"]] == ["second"]
    text = cli("info", str(run_root)).stdout  # plain text: one line per run, whole lines
    assert "first" in text and "second" in text and "failed" in text
    assert all(line == line.rstrip() for line in text.splitlines())


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


def test_pause_gc_pauses_the_collector_and_then_resumes_it() -> None:
    """The viewer's start pauses the cyclic collector this way (nothing to collect while Textual
    and the page are built); it must come back, or a long session would never free a cycle."""
    assert gc.isenabled()
    try:
        pause_gc(0.2)
        assert not gc.isenabled()
        deadline = time.monotonic() + 30
        while not gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gc.isenabled()
    finally:
        gc.enable()
