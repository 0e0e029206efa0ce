"""Real training processes: finished, failed with an exit code, killed by signals, crashed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runview.store.reader import RunReader
from tests.conftest import only_run_dir, run_script, write_script

TRAIN = """
import signal, sys, time
# A foreground job's Ctrl-C, whatever the test runner inherited (nohup, a background shell).
signal.signal(signal.SIGINT, signal.default_int_handler)
import runview
run = runview.init(project="life", dir=sys.argv[1], system_interval=None, heartbeat_interval=0.5)
for step in range(5):
    run.log({{"loss": 1.0 / (step + 1)}})
print("trained", flush=True)
{ending}
"""


def status_of(root: Path) -> dict:
    return json.loads((only_run_dir(root) / "status.json").read_text())


def test_clean_exit_is_finished(tmp_path: Path, run_root: Path) -> None:
    script = write_script(tmp_path / "train.py", TRAIN.format(ending="run.finish()"))
    result = run_script(script, str(run_root))
    assert result.returncode == 0, result.stderr
    assert RunReader(only_run_dir(run_root)).refresh().liveness.state == "finished"


def test_exit_without_finish_is_finished(tmp_path: Path, run_root: Path) -> None:
    script = write_script(tmp_path / "train.py", TRAIN.format(ending=""))
    assert run_script(script, str(run_root)).returncode == 0
    assert status_of(run_root)["state"] == "finished"


def test_uncaught_exception_is_failed_with_traceback(tmp_path: Path, run_root: Path) -> None:
    script = write_script(
        tmp_path / "train.py", TRAIN.format(ending="raise ValueError('diverged')")
    )
    result = run_script(script, str(run_root))
    assert result.returncode == 1 and "ValueError: diverged" in result.stderr
    status = status_of(run_root)
    assert status["state"] == "failed" and status["exit_code"] == 1
    assert "diverged" in status["error"]["traceback"]
    liveness = RunReader(only_run_dir(run_root)).refresh().liveness
    assert liveness.state == "failed" and "ValueError: diverged" in liveness.reason


def test_nonzero_exit_is_failed_with_its_code(tmp_path: Path, run_root: Path) -> None:
    script = write_script(tmp_path / "train.py", TRAIN.format(ending="sys.exit(3)"))
    assert run_script(script, str(run_root)).returncode == 3
    status = status_of(run_root)
    assert status["state"] == "failed" and status["exit_code"] == 3


def _start_and_wait(tmp_path: Path, run_root: Path, ending: str) -> subprocess.Popen[str]:
    script = write_script(tmp_path / "train.py", TRAIN.format(ending=ending))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(run_root)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "trained"
    return proc


def test_sigterm_is_failed_with_the_signal_named(tmp_path: Path, run_root: Path) -> None:
    proc = _start_and_wait(tmp_path, run_root, "time.sleep(60)")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == -signal.SIGTERM  # still dies of the signal
    status = status_of(run_root)
    assert status["state"] == "failed" and status["error"]["signal"] == "SIGTERM"
    assert "SIGTERM" in RunReader(only_run_dir(run_root)).refresh().liveness.reason


def test_ctrl_c_is_failed(tmp_path: Path, run_root: Path) -> None:
    proc = _start_and_wait(tmp_path, run_root, "time.sleep(60)")
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    status = status_of(run_root)
    assert status["state"] == "failed" and status["error"]["signal"] == "SIGINT"


def test_sigkill_is_crashed_at_once(tmp_path: Path, run_root: Path) -> None:
    proc = _start_and_wait(tmp_path, run_root, "time.sleep(60)")
    run_dir = only_run_dir(run_root)
    assert RunReader(run_dir).refresh().liveness.state == "running"
    time.sleep(0.5)  # the logger promises rows on disk within 0.2 s
    proc.kill()
    proc.wait(timeout=10)
    liveness = RunReader(run_dir).refresh().liveness
    assert liveness.state == "crashed" and "gone" in liveness.reason
    # Nothing logged more than 0.2 s before the kill was lost.
    assert RunReader(run_dir).refresh().history.rows == 5


def test_stale_heartbeat_without_a_provable_process_is_crashed(
    tmp_path: Path, run_root: Path
) -> None:
    proc = _start_and_wait(tmp_path, run_root, "time.sleep(60)")
    proc.kill()
    proc.wait(timeout=10)
    run_dir = only_run_dir(run_root)
    status = json.loads((run_dir / "status.json").read_text())
    # As seen from another machine: the pid proves nothing there, only the heartbeat's age does.
    status["hostname"] = "another-host"
    (run_dir / "status.json").write_text(json.dumps(status))
    from runview.store.liveness import judge

    assert judge(status, time.time()).state == "running"
    stale = judge(status, status["heartbeat"] + 60)
    assert stale.state == "crashed" and "no heartbeat" in stale.reason


def test_forked_children_neither_duplicate_nor_finish_the_run(
    tmp_path: Path, run_root: Path
) -> None:
    script = write_script(
        tmp_path / "train.py",
        """
import os, sys, time, runview
run = runview.init(project="fork", dir=sys.argv[1], console=False, system_interval=None)
for step in range(100):
    run.log({"loss": float(step)})           # still in the parent's buffer when it forks
pid = os.fork()
if pid == 0:                                 # a data-loader worker
    run.log({"from_child": 1.0})
    sys.exit(0)                              # a normal exit: atexit runs, buffers are finalised
os.waitpid(pid, 0)
time.sleep(0.3)
assert runview.run is run
for step in range(100, 110):
    run.log({"loss": float(step)})
run.finish()
""",
    )
    result = run_script(script, str(run_root))
    assert result.returncode == 0, result.stderr
    assert "forked child" in result.stderr
    snapshot = RunReader(only_run_dir(run_root)).refresh()
    steps, _ = snapshot.history.series["loss"]
    assert list(steps) == list(range(110))  # each row once: the child wrote nothing
    assert "from_child" not in snapshot.history.series
    assert snapshot.liveness.state == "finished"


def test_sigterm_while_logging_always_records_the_signal(tmp_path: Path, run_root: Path) -> None:
    # The signal lands inside log()'s buffered write most of the time: the run must still end
    # failed with the signal, every time, and the process must still die of SIGTERM.
    script = write_script(
        tmp_path / "busy.py",
        """
import sys, runview
run = runview.init(project="term", dir=sys.argv[1], system_interval=None, console=False)
print("ready", flush=True)
step = 0
while True:
    run.log({"loss": 1.0 / (step + 1), "pad": "x" * 200})
    step += 1
""",
    )
    for attempt in range(4):
        root = run_root / f"try{attempt}"
        proc = subprocess.Popen(
            [sys.executable, str(script), str(root)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == -signal.SIGTERM
        status = json.loads((only_run_dir(root) / "status.json").read_text())
        assert status["state"] == "failed" and status["error"]["signal"] == "SIGTERM", status
        assert RunReader(only_run_dir(root)).refresh().history.rows > 0


@pytest.mark.parametrize(
    ("ending", "returncode", "state", "exit_code"),
    [
        (
            "with runview.init(project='x', dir=sys.argv[1], system_interval=None) as r:\n    "
            "r.log({'a': 1})\n    sys.exit(0)",
            0,
            "finished",
            0,
        ),
        (
            "with runview.init(project='x', dir=sys.argv[1], system_interval=None) as r:\n    "
            "sys.exit(4)",
            4,
            "failed",
            4,
        ),
        (
            "run = runview.init(project='x', dir=sys.argv[1], system_interval=None)\n"
            "try:\n    sys.exit(1)\nexcept SystemExit:\n    pass\nrun.log({'a': 1})",
            0,
            "finished",
            0,
        ),
        (
            "run = runview.init(project='x', dir=sys.argv[1], system_interval=None)\n"
            "sys.excepthook = lambda *a: None\n1 / 0",
            1,
            "failed",
            1,
        ),
    ],
    ids=["with-sys-exit-0", "with-sys-exit-4", "caught-sys-exit", "replaced-excepthook"],
)
def test_exit_paths_record_the_right_state(
    tmp_path: Path, run_root: Path, ending: str, returncode: int, state: str, exit_code: int
) -> None:
    script = write_script(tmp_path / "train.py", "import sys, runview\n" + ending + "\n")
    assert run_script(script, str(run_root)).returncode == returncode
    status = status_of(run_root)
    assert (status["state"], status["exit_code"]) == (state, exit_code)


def test_forked_child_cannot_rewrite_the_parents_documents(tmp_path: Path, run_root: Path) -> None:
    script = write_script(
        tmp_path / "train.py",
        """
import os, sys, runview
run = runview.init(project="fork", dir=sys.argv[1], console=False, system_interval=None,
                   config={"lr": 0.1})
pid = os.fork()
if pid == 0:
    run.config["child"] = os.getpid()
    run.define_metric("x", summary="max")
    os._exit(0)
os.waitpid(pid, 0)
run.finish()
""",
    )
    assert run_script(script, str(run_root)).returncode == 0
    run_dir = only_run_dir(run_root)
    assert json.loads((run_dir / "config.json").read_text()) == {"lr": 0.1}
    assert not (run_dir / "metrics.json").exists()
