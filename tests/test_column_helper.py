"""The run's column helper: columns complete after every end of a run, however it ended, and the
helper never outlives its bound, never writes into a run that is not its own, never hurts log()."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

import runview
from runview.store import format as fmt
from runview.store.reader import RunReader
from tests.conftest import HELPER_WAIT_S, final_index, lend_cpu
from tests.test_columns import assert_same, jsonl_only

# Every run here has its column helper: the columns are what these tests are about.
pytestmark = pytest.mark.column_helper

FAST_LOGGER = textwrap.dedent(
    """
    import signal, sys, time
    # What a shell gives a foreground job, whatever the test runner inherited (a runner started
    # under nohup, or in the background, ignores HUP or INT, and its children would too).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    import runview
    console = sys.argv[2] == "console"
    run = runview.init(
        project="fast", dir=sys.argv[1], console=console, system_interval=None, quiet=True
    )
    print(run.dir, run._writer.columns_helper.pid, flush=True, file=sys.__stderr__)
    keys = [f"train/metric_{j:02d}" for j in range(20)]
    steps = int(sys.argv[3])
    for step in range(steps if steps else 10**9):
        row = {key: step * 1e-3 + j for j, key in enumerate(keys)}
        if step % 97 == 0:
            row["val/acc"] = step / 1e5
        if step % 50 == 0:
            row["note"] = "text"
        if step == 1234:
            row["train/metric_03"] = float("nan")
        run.log(row, step=step)
        if step % 40 == 0:
            run.log({"train/metric_00": -1.0}, step=step)  # same step: the later line wins
    run.finish()
    """
)


def start_logger(tmp_path: Path, console: bool, steps: int, **popen) -> tuple:
    script = tmp_path / "fast.py"
    script.write_text(FAST_LOGGER)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(tmp_path / "runs"),
            "console" if console else "-",
            str(steps),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    words = proc.stderr.readline().split()
    assert len(words) == 2, proc.communicate(timeout=30)
    return proc, Path(words[0]), int(words[1])


def helper_gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def assert_columns_agree(run_dir: Path, tmp_path: Path) -> None:
    """The final columns cover every whole line of history.jsonl and say exactly what it says."""
    index = final_index(run_dir)
    data = (run_dir / fmt.HISTORY_FILE).read_bytes()
    assert index["source_offset"] == data.rfind(b"\n") + 1
    reader = RunReader(run_dir, cache=False)
    snapshot = reader.refresh()
    assert reader._fast.source == "columns"
    plain = RunReader(jsonl_only(run_dir, tmp_path / "plain"), cache=False).refresh()
    assert_same(snapshot.history, plain.history)
    assert snapshot.history.rows == plain.history.rows


@pytest.mark.parametrize("console", [True, False], ids=["console", "no-console"])
def test_columns_are_complete_after_a_normal_finish_of_fast_logging(
    tmp_path: Path, console: bool
) -> None:
    proc, run_dir, helper = start_logger(tmp_path, console, steps=40_000)
    proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert_columns_agree(run_dir, tmp_path)
    assert snapshot_state(run_dir) == "finished"
    assert helper_gone(helper)


def snapshot_state(run_dir: Path) -> str:
    return RunReader(run_dir, cache=False).refresh().liveness.state


# Moments (seconds after the run started) at which the training process is killed: right at the
# start, and at spread points of fast logging (a fixed list, so a failure can be replayed).
KILL_AFTER = [0.0, 0.05, 0.2, 0.45, 0.8, 1.3]


@pytest.mark.parametrize("delay", KILL_AFTER)
def test_a_run_killed_at_any_moment_stays_readable_and_its_columns_agree(
    tmp_path: Path, delay: float
) -> None:
    proc, run_dir, helper = start_logger(tmp_path, console=True, steps=0)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    # Readable at once, whatever the helper is doing.
    snapshot = RunReader(run_dir, cache=False).refresh()
    assert snapshot.liveness.state == "crashed"
    # The helper notices, catches up with everything on disk and exits.
    assert_columns_agree(run_dir, tmp_path)
    assert helper_gone(helper)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "hangup"])
def test_the_terminals_ctrl_c_or_hangup_does_not_cut_the_helper_short(
    tmp_path: Path, signum: int
) -> None:
    # The training process leads its own process group, as a shell job does; the signal goes to
    # the whole group, as the terminal sends it.
    proc, run_dir, helper = start_logger(tmp_path, False, steps=0, start_new_session=True)
    try:
        deadline = time.monotonic() + HELPER_WAIT_S
        while (run_dir / fmt.HISTORY_FILE).stat().st_size < 4_000_000:
            assert time.monotonic() < deadline, "the logger wrote less than 4 MB"
            time.sleep(0.02)
        os.killpg(proc.pid, signum)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # it logs until stopped: never leave it filling the disk
            proc.kill()
            proc.communicate()
    assert snapshot_state(run_dir) == "failed"
    assert_columns_agree(run_dir, tmp_path)
    assert helper_gone(helper)


HOLDS_THE_PIPE = textwrap.dedent(
    """
    import subprocess, sys
    from pathlib import Path
    from runview.store.writer import RunWriter
    writer = RunWriter(Path(sys.argv[1]))
    helper = writer.columns_helper
    # Something else keeps the write end of the liveness pipe open past our end.
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    keeper = subprocess.Popen(["sleep", "60"], pass_fds=[helper._liveness_fd], **quiet)
    print(helper.pid, keeper.pid, flush=True)
    writer.history.append(b'{"_step":0,"a":1.0}\\n')
    writer.flush()
    """
)


def test_the_helper_ends_with_the_training_process_even_if_its_pipe_lives_on(
    tmp_path: Path,
) -> None:
    script = tmp_path / "holds.py"
    script.write_text(HOLDS_THE_PIPE)
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    helper, keeper = (int(word) for word in out.stdout.split())
    try:
        assert psutil.Process(keeper).is_running()
        index = final_index(tmp_path / "run")  # its parent is gone: the helper finished anyway
        assert index["rows"] == 1 and helper_gone(helper)
    finally:
        os.kill(keeper, signal.SIGKILL)


def test_the_helper_writes_nothing_into_a_run_directory_that_is_not_its_own(
    tmp_path: Path,
) -> None:
    run = runview.init(project="p", dir=tmp_path / "runs", console=False, system_interval=None)
    helper = run._writer.columns_helper
    lend_cpu(helper.pid)
    for step in range(100):
        run.log({"a": float(step)})
    deadline = time.monotonic() + HELPER_WAIT_S
    while not (run.dir / fmt.COLUMNS_INDEX).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    # The directory is removed and another run takes its path, with a history of its own.
    shutil.rmtree(run.dir)
    (run.dir / fmt.COLUMNS_DIR).mkdir(parents=True)
    (run.dir / fmt.HISTORY_FILE).write_bytes(b'{"_step":0,"b":2.0}\n')
    deadline = time.monotonic() + HELPER_WAIT_S
    while helper.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert helper.poll() == 0  # gone on its own, before the old run even finished
    for step in range(100):
        run.log({"a": float(step)})
    run.finish()  # never raises, although the run's directory is someone else's now
    assert os.listdir(run.dir / fmt.COLUMNS_DIR) == []


def test_log_never_raises_when_the_helper_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    run = runview.init(project="p", dir=tmp_path / "runs", console=False, system_interval=None)
    assert run._writer.columns_helper is None
    for step in range(1000):
        run.log({"a": float(step), "b": "text"})
    run.finish()
    assert not (run.dir / fmt.COLUMNS_DIR).exists()
    assert RunReader(run.dir, cache=False).refresh().history.rows == 1000
    assert capfd.readouterr().err.count("columns/ will not be written") == 1


def test_a_helper_that_fails_is_said_once_and_training_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'numpy: no module' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    run = runview.init(project="p", dir=tmp_path / "runs", console=False, system_interval=None)
    helper = run._writer.columns_helper
    deadline = time.monotonic() + HELPER_WAIT_S
    while helper.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    for step in range(1000):
        run.log({"a": float(step)})
    run.finish()
    assert RunReader(run.dir, cache=False).refresh().history.rows == 1000
    err = capfd.readouterr().err
    assert err.count("columns/ not complete (numpy: no module)") == 1


def test_a_forked_child_neither_holds_nor_ends_the_helper(tmp_path: Path) -> None:
    run = runview.init(project="p", dir=tmp_path / "runs", console=False, system_interval=None)
    helper = run._writer.columns_helper
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # a data-loader worker: it exits, and later lives on, without effect
        os.close(reader)
        os.write(writer, str(run._writer.columns_helper).encode())
        os._exit(0)
    os.close(writer)
    assert os.read(reader, 100) == b"None"  # the child let go of the helper at once
    os.close(reader)
    os.waitpid(child, 0)
    run.log({"a": 1.0})
    time.sleep(0.3)
    assert helper.poll() is None  # the child's exit did not end the run for the helper
    run.finish()
    assert final_index(run.dir)["rows"] == 1


def test_the_helper_yields_the_cpu_to_training(tmp_path: Path) -> None:
    """In the idle class, in the training process's session. In a session of its own it would
    be an autogroup of its own, which Linux serves as an equal of training's whatever its class:
    it took time slices of 4 ms from the training thread on a busy machine (bench_logger_cost)."""
    run = runview.init(project="p", dir=tmp_path, console=False, system_interval=None, quiet=True)
    helper = run._writer.columns_helper
    assert helper is not None
    try:
        assert os.getsid(helper.pid) == os.getsid(0)
        assert os.getpgid(helper.pid) == helper.pid  # a group of its own: Ctrl-C is not for it
        if hasattr(os, "SCHED_IDLE"):
            deadline = time.monotonic() + HELPER_WAIT_S  # it may set the class itself once it runs
            while os.sched_getscheduler(helper.pid) != os.SCHED_IDLE:
                assert time.monotonic() < deadline, "the helper never entered the idle class"
                time.sleep(0.05)
    finally:
        run.finish()


def schedstat(pid: int) -> tuple[float, int] | None:
    """(seconds on a CPU, times scheduled onto one) from Linux's /proc/PID/schedstat."""
    try:
        ran_ns, _, runs = Path(f"/proc/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return None
    return int(ran_ns) / 1e9, int(runs)


def test_while_the_run_lives_the_helper_uses_a_fraction_of_a_core_in_short_bursts(
    tmp_path: Path,
) -> None:
    """A run that logs as fast as it can gives the helper more than it can parse; it parses a
    slice, then rests nineteen times as long. Measured against the training process's own CPU
    over the same stretch (two seconds of it, however long the machine takes to give them): on
    a free core a helper that never rests used as much as training, one resting nine times as
    long a tenth. Its bursts on a CPU are short: a thread woken onto its core waits until the
    burst ends (or the next tick). Both failed with the helper that parsed 1 MiB at a time and
    rested nine times as long (bench_logger_cost.py prints the mean burst)."""
    proc, run_dir, pid = start_logger(tmp_path, console=False, steps=0)
    try:
        helper, training = psutil.Process(pid), psutil.Process(proc.pid)
        deadline = time.monotonic() + HELPER_WAIT_S
        while not (run_dir / fmt.COLUMNS_INDEX).exists():  # imported and begun (not counted)
            assert time.monotonic() < deadline, "the helper wrote no index"
            time.sleep(0.05)

        def cpu(process: psutil.Process) -> float:
            return sum(process.cpu_times()[:2])

        helper_before, training_before, bursts_before = cpu(helper), cpu(training), schedstat(pid)
        while cpu(training) - training_before < 2.0:
            assert time.monotonic() < deadline, "training used less than 2 s of CPU"
            time.sleep(0.05)
        helper_used, training_used = cpu(helper) - helper_before, cpu(training) - training_before
        bursts_after = schedstat(pid)
        assert proc.poll() is None  # the run was live all along
    finally:
        proc.kill()
        proc.communicate()
    assert helper_used <= 0.08 * training_used, f"{helper_used:.2f} s against {training_used:.2f} s"
    if bursts_before is not None and bursts_after is not None:  # Linux with schedstat
        ran = bursts_after[0] - bursts_before[0]
        runs = bursts_after[1] - bursts_before[1]
        assert runs and ran / runs < 0.0015, f"{ran * 1000:.0f} ms of CPU in {runs} bursts"


def test_a_line_longer_than_any_slice_is_parsed_whole(tmp_path: Path) -> None:
    """A row with a 10 MB text value: longer than what the helper reads at a time while the run
    lives (16 KiB) or catching up after it (8 MiB); it reads on to the line's end."""
    run = runview.init(project="p", dir=tmp_path / "runs", console=False, system_interval=None)
    run.log({"a": 1.0})
    run.log({"a": 2.0, "blob": "x" * 10_000_000})
    for step in range(2, 100):
        run.log({"a": float(step)})
    run.finish()
    assert_columns_agree(run.dir, tmp_path)


LEAVE_IDLE = (
    "import os; os.nice(10); os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0)); "
    "os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))"
)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling classes")
def test_once_the_run_ends_the_helper_catches_up_out_of_the_idle_class(tmp_path: Path) -> None:
    """On a machine whose cores stay busy the idle class gets almost no CPU: after the run, with
    training no longer there to protect, the helper catches up at nice 10 instead."""
    if subprocess.run([sys.executable, "-c", LEAVE_IDLE], capture_output=True).returncode:
        pytest.skip("this user may not leave the idle class (RLIMIT_NICE)")
    # It logs until stopped: the run is surely still going when the helper is held back (a run
    # of fixed length could end between seeing the helper idle and stopping it).
    proc, run_dir, pid = start_logger(tmp_path, console=False, steps=0)
    try:
        deadline = time.monotonic() + HELPER_WAIT_S
        while os.sched_getscheduler(pid) != os.SCHED_IDLE:  # it sets the class once it runs
            assert time.monotonic() < deadline, "the helper never entered the idle class"
            time.sleep(0.02)
        os.kill(pid, signal.SIGSTOP)  # held back while the run logs: a backlog to catch up on
        while (run_dir / fmt.HISTORY_FILE).stat().st_size < 4_000_000:
            assert time.monotonic() < deadline, "the logger wrote less than 4 MB"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)  # the run ends (failed: interrupted) while it is held
        proc.communicate(timeout=HELPER_WAIT_S)
        assert snapshot_state(run_dir) == "failed"
        # (Not asserted: still idle here. The stopped helper is sometimes continued as the
        # training process exits, and may have left the class by now: what is tested below.)
    finally:
        if proc.poll() is None:  # never leave it filling the disk
            proc.kill()
            proc.communicate()
        os.kill(pid, signal.SIGCONT)
    classes = set()
    deadline = time.monotonic() + HELPER_WAIT_S
    while os.SCHED_OTHER not in classes and time.monotonic() < deadline:
        try:
            classes.add(os.sched_getscheduler(pid))
        except OSError:  # gone (or a zombie) before it was seen out of the idle class
            break
    assert os.SCHED_OTHER in classes, "it caught up in the idle class"
    assert_columns_agree(run_dir, tmp_path)
