"""The logger API against the files it writes (real run directories in a temp dir)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import runview
from runview.store.reader import RunReader


def history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def start(run_root: Path, **kwargs) -> runview.Run:
    return runview.init(
        project="mnist", dir=run_root, console=False, system_interval=None, **kwargs
    )


def test_init_writes_the_documented_layout(run_root: Path) -> None:
    run = start(
        run_root,
        name="baseline",
        notes="first try",
        tags=["cnn"],
        config={"lr": 1e-3, "model": {"depth": 4}},
    )
    run.finish()
    assert run.dir.parent == (run_root / "mnist").absolute()
    stamp, run_id = run.dir.name.rsplit("-", 1)
    assert run_id == run.id and len(stamp) == len("20260101-000000")
    assert json.loads((run.dir / "runview.json").read_text()) == {"format": "runview", "version": 1}
    meta = json.loads((run.dir / "meta.json").read_text())
    assert (meta["name"], meta["notes"], meta["tags"], meta["project"]) == (
        "baseline",
        "first try",
        ["cnn"],
        "mnist",
    )
    for key in ("host", "os", "python", "executable", "argv", "cwd", "pid", "start_time"):
        assert key in meta, key
    assert json.loads((run.dir / "config.json").read_text()) == {"lr": 1e-3, "model": {"depth": 4}}
    assert json.loads((run.dir / "status.json").read_text())["state"] == "finished"


def test_runview_dir_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNVIEW_DIR", str(tmp_path / "elsewhere"))
    run = runview.init(project="p", console=False, system_interval=None)
    run.finish()
    assert run.dir.is_relative_to(tmp_path / "elsewhere")


def test_config_updates_are_saved(run_root: Path) -> None:
    run = start(run_root, config={"lr": 1e-3})
    run.config.update({"batch": 64})
    run.config["seed"] = 1
    run.config.optimizer = "adam"
    assert run.config.lr == 1e-3
    assert json.loads((run.dir / "config.json").read_text()) == {
        "lr": 1e-3,
        "batch": 64,
        "seed": 1,
        "optimizer": "adam",
    }
    run.finish()


def test_steps_auto_increment_explicit_steps_and_merging(run_root: Path) -> None:
    run = start(run_root)
    run.log({"train/loss": 0.31, "train/acc": 0.91})
    run.log({"train/loss": 0.30})
    run.log({"val/acc": 0.9}, step=100)
    run.log({"val/loss": 0.2}, step=100)  # same step: merges
    run.log({"train/loss": 0.1})  # continues after the explicit step
    run.finish()
    rows = history(run.dir)
    assert [r["_step"] for r in rows] == [0, 1, 100, 100, 101]
    snapshot = RunReader(run.dir).refresh()
    assert snapshot.history.rows == 4  # the two rows at step 100 are one row
    steps, values = snapshot.history.series["train/loss"]
    assert list(steps) == [0, 1, 101] and list(values) == [0.31, 0.30, 0.1]


def test_lower_step_is_dropped_with_one_warning(
    run_root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = start(run_root)
    run.log({"a": 1}, step=10)
    run.log({"a": 2}, step=5)
    run.log({"a": 3}, step=5)
    run.finish()
    assert [r["_step"] for r in history(run.dir)] == [10]
    err = capfd.readouterr().err
    assert err.count("step 5 is lower than the last logged step 10") == 1


def test_commit_false_keeps_the_step(run_root: Path) -> None:
    run = start(run_root)
    run.log({"a": 1}, commit=False)
    run.log({"b": 2})
    run.log({"c": 3})
    run.finish()
    assert [r["_step"] for r in history(run.dir)] == [0, 0, 1]


def test_values_numpy_torch_nested_nonfinite_and_unsupported(
    run_root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    torch = pytest.importorskip("torch")
    run = start(run_root)
    run.log(
        {
            "f32": np.float32(1.5),
            "i64": np.int64(7),
            "t0d": torch.tensor(2.5),
            "flag": True,
            "text": "hello",
            "nested": {"a": 1, "b": {"c": 2.0}},
            "nan": float("nan"),
            "inf": math.inf,
            "ninf": np.float64("-inf"),
            "bad": object(),
        }
    )
    run.log({"bad": object()})
    run.finish()
    line = (run.dir / "history.jsonl").read_text()
    assert '"nan":{"$float":"nan"}' in line and '"ninf":{"$float":"-inf"}' in line
    row = history(run.dir)[0]
    assert row["f32"] == 1.5 and row["i64"] == 7 and row["t0d"] == 2.5 and row["flag"] is True
    assert row["nested/a"] == 1 and row["nested/b/c"] == 2.0 and "bad" not in row
    snapshot = RunReader(run.dir).refresh()
    assert math.isnan(snapshot.summary["nan"]) and snapshot.summary["inf"] == math.inf
    assert capfd.readouterr().err.count("cannot log 'bad'") == 1


def test_rows_of_numbers_only_are_told_plain_or_not_by_their_sum(run_root: Path) -> None:
    """log()'s fast path trusts orjson's line when the values' sum is a finite float: a NaN,
    an infinity or two floats whose sum overflows must not let orjson's ``null`` through."""
    run = start(run_root)
    rows = [
        {"a": 1, "b": True, "c": 2**63},  # ints and bools: their sum is a float
        {"a": 0.5, "b": float("nan")},
        {"a": -math.inf, "b": 2},
        {"a": 1e308, "b": 1e308},  # finite values, an infinite sum: the line's bytes decide
        {"a": np.float64(0.25), "b": np.float64("nan")},
    ]
    for row in rows:
        run.log(row)
    run.finish()
    lines = (run.dir / "history.jsonl").read_text().splitlines()
    assert "null" not in "".join(lines)
    assert '"a":1,"b":true,"c":9223372036854775808,' in lines[0]
    assert '"b":{"$float":"nan"}' in lines[1] and '"a":{"$float":"-inf"}' in lines[2]
    assert '"a":1e+308,"b":1e+308,' in lines[3] and '"b":{"$float":"nan"}' in lines[4]


def test_summary_last_value_explicit_and_defined(run_root: Path) -> None:
    run = start(run_root)
    run.define_metric("val/acc", summary="max")
    run.define_metric("val/loss", summary="min")
    for acc, loss in ((0.5, 1.0), (0.9, 0.2), (0.7, 0.4)):
        run.log({"val/acc": acc, "val/loss": loss, "train/loss": loss})
    run.summary["best/acc"] = 0.97
    assert run.summary["val/acc"] == 0.9
    run.finish()
    summary = json.loads((run.dir / "summary.json").read_text())
    assert summary == {
        "val/acc": 0.9,
        "val/loss": 0.2,
        "train/loss": 0.4,
        "best/acc": 0.97,
        "_explicit": ["best/acc"],  # the format's: which keys a reader never replaces
    }
    assert RunReader(run.dir).refresh().summary["val/acc"] == 0.9


def test_summary_encoded_at_once_is_the_one_built_value_by_value(run_root: Path) -> None:
    """The heartbeat encodes summary.json in one C call while no metric is defined (holding the
    GIL ~20x less than converting each value in Python): it must write the same document."""
    run = start(run_root)
    for step in range(3):
        run.log({f"layer_{i:04d}/norm": step + i / 7 for i in range(3_000)})
    run.log({"f32": np.float32(2.5), "i64": np.int64(7), "flag": True, "name": "text"})
    run.log({"nan": float("nan"), "nested": {"a": 1}, "big": 2**70, "t0d": torch_scalar()})
    run.summary["best"] = Path("/best.pt")  # not JSON: str() as the last resort, both ways
    encoded = run._summaries.encoded()
    assert encoded is not None
    expected = run._summaries.values() | {"_explicit": ["best"]}
    assert json.loads(encoded) == expected and expected["nan"] == {"$float": "nan"}
    run.finish()
    assert json.loads((run.dir / "summary.json").read_text()) == expected
    run.define_metric("f32", summary="max")  # aggregates: only the value-by-value path
    assert run._summaries.encoded() is None


def test_the_heartbeats_python_work_does_not_grow_with_the_number_of_metrics(
    run_root: Path,
) -> None:
    """The heartbeat thread holds the GIL for what it does in Python: writing the summary of
    10,000 metrics must take no more Python calls than writing that of 10 (counted, not timed;
    value-by-value conversion made ~3 calls per metric and held the GIL ~30 ms)."""
    import sys

    def python_calls(metrics: int) -> int:
        run = start(run_root)
        run.log({f"m/{i:05d}": i / 3 for i in range(metrics)})
        run._writer.flush_summary()  # the first write: the version moved
        run.log({"m/00000": 1.0})
        calls = 0

        def count(frame: object, event: str, arg: object) -> None:
            nonlocal calls
            calls += event == "call"

        sys.setprofile(count)
        try:
            run._writer.flush_summary()
        finally:
            sys.setprofile(None)
        run.finish()
        return calls

    few, many = python_calls(10), python_calls(10_000)
    assert 0 < many <= few + 2, (few, many)


def torch_scalar() -> object:
    torch = pytest.importorskip("torch")
    return torch.tensor(1.5)


def test_module_level_api_and_context_manager(run_root: Path) -> None:
    with runview.init(project="p", dir=run_root, console=False, system_interval=None) as run:
        runview.log({"x": 1})
        assert runview.run is run
    assert runview.run is None
    assert json.loads((run.dir / "status.json").read_text())["state"] == "finished"

    with pytest.raises(ZeroDivisionError):
        with runview.init(
            project="p", dir=run_root, console=False, system_interval=None
        ) as failing:
            raise ZeroDivisionError("diverged")
    status = json.loads((failing.dir / "status.json").read_text())
    assert status["state"] == "failed" and status["exit_code"] == 1
    error = status["error"]
    assert error["type"] == "ZeroDivisionError" and error["message"] == "diverged"
    assert 'raise ZeroDivisionError("diverged")' in error["traceback"]


def test_lines_reach_disk_while_the_run_is_open(run_root: Path) -> None:
    # A line in a chunk nobody fills is written by the writer thread's next periodic flush
    # (0.1 s, store/writer.py); the bound here only has to outlast a loaded machine.
    import time

    run = start(run_root)
    run.log({"x": 1.0})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and b'"x"' not in (run.dir / "history.jsonl").read_bytes():
        time.sleep(0.01)
    assert b'"x":1.0' in (run.dir / "history.jsonl").read_bytes()
    run.finish()


def test_log_only_queues_and_the_writer_thread_writes(
    run_root: Path, monkeypatch: pytest.MonkeyPatch, writev_calls: list[tuple[int, int, int]]
) -> None:
    """The training thread formats a line and appends it to a buffer; every write of the history
    happens on the writer thread (issue #9), full chunks as soon as they fill."""
    import threading
    import time

    from runview.store import writer as writer_module
    from runview.store.append import CHUNK_BYTES

    # No periodic flush during the test: only full chunks waking the writer can write them.
    monkeypatch.setattr(writer_module, "FLUSH_INTERVAL_S", 3600.0)
    run = start(run_root)
    history_fd = run._writer.history.fileno()

    def history_writes() -> list[tuple[int, int]]:  # (thread, bytes) of each write of the history
        return [(thread, n) for thread, fd, n in writev_calls if fd == history_fd]

    for i in range(4_000):  # ~2.2 MB of 20-scalar rows: ~16 chunks, well under the queue's bound
        run.log({f"m{k:02d}": i + k / 3 for k in range(20)})
    deadline = time.monotonic() + 60
    while sum(n for _t, n in history_writes()) < 12 * CHUNK_BYTES:
        assert time.monotonic() < deadline, "full chunks were not written without a flush"
        time.sleep(0.01)
    assert threading.get_ident() not in {thread for thread, _n in history_writes()}
    run.finish()  # (finish writes what is left on the thread that calls it)
    assert RunReader(run.dir, cache=False).refresh().history.rows == 4_000


def test_disk_full_never_raises_and_is_counted(
    run_root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = start(run_root)
    run.log({"before": 1})
    # A real ENOSPC: point the history stream at /dev/full, as a full disk would behave.
    stream = run._writer.history
    stream.flush()
    full = os.open("/dev/full", os.O_WRONLY)  # every write to it fails with ENOSPC
    os.dup2(full, stream.fileno())
    os.close(full)
    for i in range(20_000):  # well past the buffer: writes fail
        run.log({"x": float(i), "pad": "y" * 50})
    run.finish()
    status = json.loads((run.dir / "status.json").read_text())
    assert status["state"] == "finished"
    assert status["incomplete"] is True and status["dropped_records"] > 0
    assert capfd.readouterr().err.count("cannot write") == 1
    assert "dropped" in " ".join(RunReader(run.dir).refresh().problems)


def test_run_directory_deleted_mid_run_never_raises(run_root: Path) -> None:
    import shutil

    run = start(run_root)
    run.log({"x": 1})
    shutil.rmtree(run.dir)
    for i in range(1000):
        run.log({"x": i})
    run.config["late"] = 1
    run.summary["s"] = 2
    run.finish()  # nothing raised, and the end of the run is still recorded where a viewer looks
    assert json.loads((run.dir / "status.json").read_text())["state"] == "finished"
    assert json.loads((run.dir / "config.json").read_text())["late"] == 1
    assert json.loads((run.dir / "summary.json").read_text())["s"] == 2


def test_same_id_in_the_same_second_gets_its_own_directory(run_root: Path) -> None:
    for attempt in range(10):  # on a busy machine two inits may straddle a second: try again
        first = start(run_root / str(attempt), id="trial", config={"trial": 0}, save_code=False)
        second = start(run_root / str(attempt), id="trial", config={"trial": 1}, save_code=False)
        first.finish()
        second.finish()
        if int(first.start_time) == int(second.start_time):
            break
    assert first.dir != second.dir and second.dir.name.startswith(first.dir.name)
    assert json.loads((first.dir / "config.json").read_text()) == {"trial": 0}


def test_mean_summary_counts_each_value_once(run_root: Path) -> None:
    run = start(run_root)
    run.define_metric("acc", summary="mean")
    run.log({"acc": 0.0})
    run.log({"acc": 1.0})
    for _ in range(8):
        run.log({"nested": {"x": 1}})  # slow-path rows without acc
    run.finish()
    assert json.loads((run.dir / "summary.json").read_text())["acc"] == 0.5


def test_bad_steps_and_reserved_keys_never_break_the_format(
    run_root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = start(run_root)
    run.log({"a": 1}, step=10)
    for step in range(9, 0, -1):
        run.log({"a": 2}, step=step)
    run.log({"a": 3}, step=-1)
    run.log({"a": 4}, step=2.5)
    run.log({"a": 5, "_step": -7, "_time": "now"})
    run.log({"loss": 0.25, "tokens": 2**70})  # too big for JSON integers: kept as a float
    run.finish()
    rows = history(run.dir)
    assert [r["_step"] for r in rows] == [10, 11, 12]
    assert isinstance(rows[1]["_time"], float) and rows[1]["a"] == 5
    assert rows[2]["loss"] == 0.25 and rows[2]["tokens"] == float(2**70)
    err = capfd.readouterr().err
    assert err.count("is lower than the last logged step") == 1
    assert "not a non-negative integer" in err and "reserves it" in err
    assert json.loads((run.dir / "status.json").read_text())["rows_dropped_for_lower_step"] == 9


def test_config_accepts_namespace_and_pickles_as_a_dict(run_root: Path) -> None:
    import argparse
    import copy
    import pickle

    run = start(run_root, config=argparse.Namespace(lr=0.1, layers=4))
    run.config.update(argparse.Namespace(seed=3))
    assert json.loads((run.dir / "config.json").read_text()) == {"lr": 0.1, "layers": 4, "seed": 3}
    assert pickle.loads(pickle.dumps(run.config)) == {"lr": 0.1, "layers": 4, "seed": 3}
    assert copy.deepcopy(run.config) == {"lr": 0.1, "layers": 4, "seed": 3}
    run.finish()


def test_failed_flush_marks_the_run_incomplete(run_root: Path) -> None:
    run = start(run_root)
    run.log({"x": 1})
    stream = run._writer.history
    stream.flush()
    full = os.open("/dev/full", os.O_WRONLY)  # a real ENOSPC
    os.dup2(full, stream.fileno())
    os.close(full)
    run.log({"x": 2})  # queued: the loss shows only when it is flushed
    run.finish()
    status = json.loads((run.dir / "status.json").read_text())
    assert status["incomplete"] is True and status["write_errors"] >= 1


INIT_AND_FINISH = """
import sys
import runview
quiet = sys.argv[2] == "quiet"
run = runview.init(project="p", name="baseline", dir=sys.argv[1], system_interval=None, quiet=quiet)
run.log({"a": 1})
run.finish()
print(run.dir)
"""


@pytest.mark.parametrize("how", ["default", "quiet", "env"])
def test_init_says_where_the_run_is_and_how_to_view_it(tmp_path: Path, how: str) -> None:
    script = tmp_path / "train.py"
    script.write_text(INIT_AND_FINISH)
    env = dict(os.environ)
    env.pop("RUNVIEW_QUIET", None)
    if how == "env":
        env["RUNVIEW_QUIET"] = "1"
    result = subprocess.run(  # stderr is a pipe here, as under nohup or a job scheduler
        [sys.executable, str(script), "runs", how],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    run_dir = Path(result.stdout.strip())
    lines = [line for line in result.stderr.splitlines() if line.startswith("runview:")]
    if how != "default":
        assert lines == []
        return
    relative = run_dir.relative_to(tmp_path)
    assert lines == [f"runview: run baseline · view it with: runview {relative}"]
    assert "view it with" not in (run_dir / "console.log").read_text()  # for the terminal only


def test_watch_warns_only_when_histograms_are_asked_for(run_root: Path) -> None:
    torch = pytest.importorskip("torch")
    import runview.collectors.model as model_module

    model_module._warned_log = False
    run = start(run_root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.watch(torch.nn.Linear(2, 2))  # as the README shows: nothing to warn about
    assert caught == []
    asks = {
        "gradients": lambda model: run.watch(model, log="gradients"),
        "all": lambda model: runview.watch(model, log="all"),  # the current run's, one frame more
    }
    for log, ask in asks.items():
        model_module._warned_log = False
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ask(torch.nn.Linear(2, 2))
        assert len(caught) == 1 and f"runview.watch(log={log!r})" in str(caught[0].message)
        assert caught[0].filename == __file__  # the caller's line, not runview's
    run.finish()


def test_the_fast_path_writes_only_what_the_format_allows(run_root: Path) -> None:
    """Rows the fast path must hand to the slow one: arrays of one element, NaN among numpy
    values, non-string keys, an int too large for JSON."""
    run = start(run_root)
    run.log({"a": np.array([2.0]), "b": 1.0})
    run.log({"a": np.float32(4.0), "b": float("nan")})
    run.log({"a": 5, "b": True, 3: 1.0})
    run.log({"a": 2**64, "b": -math.inf})
    run.log({"a": 1.0, "b": 2.0})
    run.finish()
    lines = (run.dir / "history.jsonl").read_bytes().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [row["a"] for row in rows] == [2.0, 4.0, 5, float(2**64), 1.0]
    assert rows[1]["b"] == {"$float": "nan"} and rows[3]["b"] == {"$float": "-inf"}
    assert rows[2]["3"] == 1.0 and rows[2]["b"] is True
    assert not any(b"[" in line or b"null" in line for line in lines)


def test_threads_logging_at_once_lose_nothing_and_keep_their_order(run_root: Path) -> None:
    """log() from several threads, each filling and writing chunks (store/append.py) while the
    writer thread flushes: every row whole, once, in its thread's order."""
    import threading

    run = start(run_root)
    rows_each = 6_000  # ~1.5 MB a thread: each fills and writes several 128 KiB chunks

    def logger(name: int) -> None:
        for i in range(rows_each):
            run.log({"thread": name, "i": i, "pad": "p" * 200})

    threads = [threading.Thread(target=logger, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.finish()
    rows = history(run.dir)
    assert len(rows) == 3 * rows_each
    for name in range(3):
        assert [row["i"] for row in rows if row["thread"] == name] == list(range(rows_each))
    assert json.loads((run.dir / "status.json").read_text())["dropped_records"] == 0


def test_summary_is_current_right_after_log_though_rows_merge_in_batches(run_root: Path) -> None:
    """log() only queues each row for the summary's last values (MetricSummaries.pending); every
    reader merges first: run.summary right after a call, the heartbeat's summary.json, finish."""
    run = start(run_root)
    run.define_metric("acc", summary="max")
    metrics = {"loss": 1.0, "acc": 0.1}
    for step in range(5):
        metrics["loss"] = 1.0 / (step + 1)
        metrics["acc"] = [0.1, 0.8, 0.3, 0.5, 0.2][step]
        run.log(metrics)  # the same dict, changed between calls, as training loops do
        assert run._summaries.pending  # queued, not merged (nothing filled a chunk)
        if step % 2:  # left queued at even steps: the caller changes the dict it queued
            assert run.summary["loss"] == 1.0 / (step + 1)
    metrics["loss"] = 99.0  # changed after its last log(): never logged, never the summary's
    assert dict(run.summary) == {"loss": 0.2, "acc": 0.8}  # acc: max, not the last value
    assert "_step" not in run._summaries.last_values()
    run._writer.flush_summary()  # the heartbeat's write
    assert json.loads((run.dir / "summary.json").read_text())["loss"] == 0.2
    run.log({"loss": 0.1, "extra": np.float32(3.0)})
    run.log({"media_free": "text", "loss": 0.05})  # a non-plain row, merged in its order
    run.finish()
    summary = json.loads((run.dir / "summary.json").read_text())
    assert summary == {
        "loss": 0.05,
        "acc": 0.8,
        "extra": 3.0,
        "media_free": "text",
        "_explicit": [],
    }


def test_rows_queued_for_the_summary_stay_bounded(run_root: Path) -> None:
    """A fast logger merges its queued rows each time it fills a 128 KiB chunk; a logger whose
    chunks the writer thread writes (too few rows to fill one) is merged by the writer thread."""
    import time

    from runview._summary import PENDING_MAX

    run = start(run_root, heartbeat_interval=3600.0)  # no heartbeat merges meanwhile
    most = 0
    for i in range(20_000):  # ~9 MB of 20-scalar rows: ~70 chunks
        run.log({f"m{k:02d}": i + k / 3 for k in range(20)})
        most = max(most, len(run._summaries.pending))
    # ~280 rows of this size fill a chunk, and filling one merges. A chunk still open at the
    # writer thread's periodic flush is written by it instead, and its rows wait for the next
    # merge: bounded by the writer's own merge at PENDING_MAX, far below the 20,000 rows logged.
    assert most <= PENDING_MAX + 300, most
    assert run._summaries.last["m00"] >= 20_000 - most  # merged as it went, not only when read
    run._summaries.merge_pending()
    run._writer.flush()  # a fresh chunk: the rows below must not fill the one left open above
    for i in range(PENDING_MAX + 10):  # ~40 bytes a row: far from filling a chunk
        run.log({"a": i})
    deadline = time.monotonic() + 30
    while len(run._summaries.pending) >= PENDING_MAX and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(run._summaries.pending) < PENDING_MAX  # the writer thread merged, nobody reading
    assert run._summaries.last["a"] >= PENDING_MAX - 1
    run.finish()


def test_threads_logging_at_once_leave_each_keys_last_value(run_root: Path) -> None:
    """Rows queued by several threads while the heartbeat and run.summary merge them: every
    thread's last row is in the summary, merged in the order the rows were logged."""
    import threading

    run = start(run_root, heartbeat_interval=0.01)
    rows_each = 5_000
    stop = threading.Event()

    def logger(name: int) -> None:
        for i in range(rows_each):
            run.log({f"t{name}": i, "shared": i, "pad": "p" * 100})

    def reader() -> None:
        while not stop.is_set():
            dict(run.summary)

    threads = [threading.Thread(target=logger, args=(n,)) for n in range(3)]
    readers = [threading.Thread(target=reader)]
    for thread in threads + readers:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    readers[0].join()
    assert dict(run.summary) == {
        "t0": 4999,
        "t1": 4999,
        "t2": 4999,
        "shared": 4999,
        "pad": "p" * 100,
    }
    assert not run._summaries.pending
    run.finish()


def test_a_signal_handler_that_interrupts_a_merge_still_reads_the_summary() -> None:
    """SIGTERM's handler runs finish() on the training thread, which may be inside the summary's
    merge at that moment: reading the summary there must neither deadlock on the merge's lock
    nor lose a value (the full suite hung here once, in test_lifecycle's SIGTERM test)."""
    import threading

    from runview._summary import MetricSummaries

    summaries = MetricSummaries()
    seen: list[dict] = []
    interrupted: list[bool] = []

    class Interrupting(str):
        __hash__ = str.__hash__

        def __eq__(self, other: object) -> bool:  # runs inside dict.update, as a handler may
            if not interrupted:
                interrupted.append(True)
                seen.append(summaries.last_values())
            return str.__eq__(self, other)

    summaries.last["acc"] = 0.1  # a key equal to the row's: update() compares them
    summaries.pending += [{"loss": 2.0, "_step": 0}, {Interrupting("acc"): 0.5, "loss": 1.0}]
    reader = threading.Thread(target=lambda: seen.append(summaries.last_values()), daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "the summary's lock deadlocked"
    assert seen[0] == {"loss": 1.0, "acc": 0.5}
    assert summaries.last_values() == {"loss": 1.0, "acc": 0.5}
