"""The tailing reader on real files: torn, corrupt and missing data, incremental, read-only."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import runview
from runview.store.reader import NotARunError, RunReader, check_run_dir
from tests.conftest import final_index


def make_run(run_root: Path) -> Path:
    run = runview.init(project="p", dir=run_root, console=False, system_interval=None)
    run.log({"loss": 1.0})
    run.finish()
    return run.dir


def tree_state(path: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(path.rglob("*"))
    }


def test_torn_last_line_waits_until_complete(run_root: Path) -> None:
    run_dir = make_run(run_root)
    reader = RunReader(run_dir)
    assert reader.refresh().history.rows == 1
    with open(run_dir / "history.jsonl", "ab") as fh:
        fh.write(b'{"_step": 1, "loss": 0.')
    snapshot = reader.refresh()
    assert snapshot.history.rows == 1 and not snapshot.problems
    with open(run_dir / "history.jsonl", "ab") as fh:
        fh.write(b"5}\n")
    snapshot = reader.refresh()
    assert snapshot.history.rows == 2
    assert list(snapshot.history.series["loss"][1]) == [1.0, 0.5]


def test_corrupt_lines_are_skipped_and_counted(run_root: Path) -> None:
    run_dir = make_run(run_root)
    with open(run_dir / "history.jsonl", "ab") as fh:
        fh.write(b'\x00\xff garbage\n[1, 2]\n{"no_step": 1}\n{"_step": 3, "loss": 0.25}\n')
    snapshot = RunReader(run_dir).refresh()
    assert list(snapshot.history.series["loss"][1]) == [1.0, 0.25]
    problems = " ".join(snapshot.problems)
    assert "skipped 2 corrupt line(s)" in problems
    assert "skipped 1 row(s) without a numeric _step" in problems


def test_refresh_reads_only_appended_bytes(run_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = make_run(run_root)
    reader = RunReader(run_dir)
    reader.refresh()
    line = b'{"_step": 1, "loss": 0.5}\n'
    with open(run_dir / "history.jsonl", "ab") as fh:
        fh.write(line)
    got: list[int] = []
    real_open = open

    def counting_open(*args, **kwargs):  # count the bytes the tail really reads
        fh = real_open(*args, **kwargs)
        read = fh.read

        def counted(*a):
            data = read(*a)
            got.append(len(data))
            return data

        fh.read = counted
        return fh

    import runview.store.tail as tail_module

    monkeypatch.setattr(tail_module, "open", counting_open, raising=False)
    reader.refresh()
    assert sum(got) == len(line)


def test_missing_and_corrupt_documents(run_root: Path) -> None:
    run_dir = make_run(run_root)
    (run_dir / "summary.json").unlink()
    (run_dir / "config.json").write_text("{not json")
    (run_dir / "history.jsonl").unlink()
    snapshot = RunReader(run_dir).refresh()
    assert snapshot.history.rows == 0 and snapshot.summary == {}
    assert any("config.json: not valid JSON" in p for p in snapshot.problems)
    assert snapshot.liveness.state == "finished"


def test_corrupt_document_keeps_last_good_version(run_root: Path) -> None:
    run_dir = make_run(run_root)
    reader = RunReader(run_dir)
    assert reader.refresh().config == {}
    (run_dir / "config.json").write_text('{"lr": 0.1}')
    assert reader.refresh().config == {"lr": 0.1}
    (run_dir / "config.json").write_text('{"lr": ')
    snapshot = reader.refresh()
    assert snapshot.config == {"lr": 0.1} and any("last good" in p for p in snapshot.problems)


def test_truncated_history_is_read_again(run_root: Path) -> None:
    run_dir = make_run(run_root)
    reader = RunReader(run_dir)
    reader.refresh()
    (run_dir / "history.jsonl").write_bytes(b'{"_step": 0, "other": 2}\n')
    snapshot = reader.refresh()
    assert any("truncated or replaced" in p for p in snapshot.problems)
    assert "other" in snapshot.history.series


def test_reader_never_writes_inside_the_run(run_root: Path) -> None:
    run_dir = make_run(run_root)
    before = tree_state(run_dir)
    reader = RunReader(run_dir)
    for _ in range(3):
        reader.refresh()
    assert tree_state(run_dir) == before


def test_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(NotARunError, match="no such file"):
        check_run_dir(tmp_path / "missing")
    with pytest.raises(NotARunError, match="not a runview run"):
        check_run_dir(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotARunError, match="not a directory"):
        check_run_dir(tmp_path / "file")


def test_newer_format_version_is_said(run_root: Path) -> None:
    run_dir = make_run(run_root)
    (run_dir / "runview.json").write_text(json.dumps({"format": "runview", "version": 2}))
    assert any("newer runview" in p for p in RunReader(run_dir).refresh().problems)


def test_unreadable_history_is_said(run_root: Path) -> None:
    run_dir = make_run(run_root)
    (run_dir / "history.jsonl").unlink()
    (run_dir / "history.jsonl").mkdir()  # unreadable as a file even for root
    snapshot = RunReader(run_dir).refresh()
    assert any("history.jsonl: Is a directory" in p for p in snapshot.problems)
    assert snapshot.liveness.state == "finished"  # the rest of the run still shows


def test_nonfinite_config_values_round_trip(run_root: Path) -> None:
    import math

    run = runview.init(
        project="p",
        dir=run_root,
        console=False,
        system_interval=None,
        config={"lr": float("nan"), "net": {"clip": float("inf"), "sizes": [1, float("-inf")]}},
    )
    run.finish()
    config = RunReader(run.dir).refresh().config
    assert math.isnan(config["lr"]) and config["net"]["clip"] == math.inf
    assert config["net"]["sizes"][0] == 1 and config["net"]["sizes"][1] == -math.inf


def test_snapshot_reprs_stay_short_for_big_runs(run_root: Path) -> None:
    # Textual describes workers by repr() of their arguments, on the UI thread.
    run = runview.init(project="p", dir=run_root, console=False, system_interval=None)
    for step in range(2000):
        run.log({f"m{i}": float(step) for i in range(50)})
    run.finish()
    snapshot = RunReader(run.dir).refresh()
    assert len(repr(snapshot)) < 200 and len(repr(snapshot.history)) < 300


def replace_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    tmp.replace(path)  # a new inode, as a rotated or rewritten log


def history_lines(*rows: dict) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


@pytest.mark.column_helper  # the old history was read through its columns
@pytest.mark.parametrize("how", ["replace", "truncate"])
def test_replaced_history_shows_only_the_new_file(run_root: Path, how: str) -> None:
    run = runview.init(project="p", dir=run_root, console=False, system_interval=None)
    for step in range(3):
        run.log({"loss": 10.0 + step, "old_only": 1.0})
    run.finish()
    final_index(run.dir)  # the run's column helper has caught up
    reader = RunReader(run.dir, cache=False)
    first = reader.refresh()
    # the old file was loaded through columns/: they must go too
    assert reader._fast.source == "columns"
    assert list(first.history.series["loss"][0]) == [0, 1, 2]
    new = history_lines({"_step": 0, "loss": 0.5}, {"_step": 1, "loss": 0.25})
    history = run.dir / "history.jsonl"
    if how == "replace":
        replace_file(history, new)
    else:
        with open(history, "r+b") as fh:  # same inode, shorter
            fh.truncate(0)
            fh.write(new)
    snapshot = reader.refresh()
    x, y = snapshot.history.series["loss"]
    assert list(x) == [0, 1] and list(y) == [0.5, 0.25]
    assert "old_only" not in snapshot.history.series and "old_only" not in snapshot.history.latest
    assert snapshot.history.rows == 2 and snapshot.history.latest["loss"] == 0.25
    assert any("truncated or replaced" in p for p in snapshot.problems)
    with open(history, "ab") as fh:  # and it goes on tailing the new file
        fh.write(history_lines({"_step": 2, "loss": 0.125}))
    assert list(reader.refresh().history.series["loss"][0]) == [0, 1, 2]


def test_replaced_system_stream_shows_only_the_new_file(run_root: Path) -> None:
    run_dir = make_run(run_root)
    system = run_dir / "system.jsonl"
    system.write_bytes(
        history_lines({"_time": 1.0, "cpu/percent": 1.0}, {"_time": 2.0, "cpu/percent": 2.0})
    )
    reader = RunReader(run_dir, cache=False)
    assert list(reader.refresh().system.series["cpu/percent"][0]) == [1.0, 2.0]
    replace_file(system, history_lines({"_time": 1.5, "cpu/percent": 9.0}))
    snapshot = reader.refresh()
    assert list(snapshot.system.series["cpu/percent"][0]) == [1.5]
    assert list(snapshot.system.series["cpu/percent"][1]) == [9.0]


def test_summary_follows_define_metric(run_root: Path) -> None:
    run = runview.init(project="p", dir=run_root, console=False, system_interval=None)
    run.define_metric("secret", summary="none")
    run.define_metric("acc", summary="min,max")
    run.define_metric("best", summary="max")
    for value in (0.5, 0.9, 0.7):
        run.log({"secret": value, "acc": value, "best": value, "loss": value})
    run.finish()
    summary = RunReader(run.dir, cache=False).refresh().summary
    assert "secret" not in summary and "acc" not in summary
    assert summary["acc.min"] == 0.5 and summary["acc.max"] == 0.9
    assert summary["best"] == 0.9 and summary["loss"] == 0.7
    # before the logger's first summary.json (a live run), the last values still stand in
    (run.dir / "summary.json").unlink()
    summary = RunReader(run.dir, cache=False).refresh().summary
    assert "secret" not in summary and "acc" not in summary and summary["loss"] == 0.7


def test_media_keeps_one_ref_per_step_the_later_one(run_root: Path) -> None:
    run = runview.init(project="p", dir=run_root, console=False, system_interval=None)
    run.log({"preds": runview.Table(columns=["a"], data=[[1]])}, step=0)
    run.log({"preds": runview.Table(columns=["a"], data=[[2], [3]])}, step=0)  # same step: replaces
    run.log({"preds": runview.Table(columns=["a"], data=[[4]])}, step=1)
    run.finish()
    entries = RunReader(run.dir).refresh().history.media["preds"]
    assert [(step, ref["rows"]) for step, ref in entries] == [(0, 2), (1, 1)]


def test_unchanged_documents_stay_the_same_object(run_root: Path) -> None:
    # Viewers skip redrawing a config that did not change by comparing identity.
    run_dir = make_run(run_root)
    (run_dir / "config.json").write_text('{"lr": {"$float": "nan"}}')
    reader = RunReader(run_dir)
    first = reader.refresh().config
    assert first is reader.refresh().config and first["lr"] != first["lr"]  # decoded NaN
    (run_dir / "config.json").write_text('{"lr": 0.5}')
    assert reader.refresh().config == {"lr": 0.5}


def test_a_live_summary_is_as_fresh_as_history_explicit_values_and_aggregates_kept(
    run_root: Path,
) -> None:
    # The heartbeat that rewrites summary.json is an hour away: only history moves meanwhile.
    run = runview.init(
        project="p", dir=run_root, console=False, system_interval=None, heartbeat_interval=3600
    )
    try:
        run.define_metric("acc", summary="max")
        for step in range(40):
            run.log({"loss": 1 / (step + 1), "acc": (step % 10) / 10, "lr": 0.1})
        run.summary["lr"] = 0.5  # set by hand: wins over every logged value
        run._writer.heartbeat()  # what the heartbeat thread does every heartbeat_interval
        written = json.loads((run.dir / "summary.json").read_text())
        assert written["loss"] == 1 / 40 and written["_explicit"] == ["lr"]
        for step in range(40, 80):
            run.log({"loss": 1 / (step + 1), "acc": (step % 10) / 20, "lr": 0.1})
        history = run.dir / "history.jsonl"
        deadline = time.monotonic() + 30
        while b'"_step":79,' not in history.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.02)
        summary = RunReader(run.dir, cache=False).refresh().summary
        assert summary["loss"] == 1 / 80  # history's last value, not the heartbeat's
        assert summary["lr"] == 0.5 and summary["acc"] == 0.9  # explicit; the max so far
        assert not any(key.startswith("_") for key in summary)
    finally:
        run.finish()
    summary = RunReader(run.dir, cache=False).refresh().summary
    assert summary == {"loss": 1 / 80, "lr": 0.5, "acc": 0.9}


def test_a_defined_max_never_shows_a_last_value(run_root: Path) -> None:
    run_dir = make_run(run_root)
    (run_dir / "history.jsonl").write_text(
        '{"_step":0,"acc":0.9,"loss":2}\n{"_step":1,"acc":0.2,"loss":1}\n'
    )
    (run_dir / "metrics.json").write_text('{"acc": {"summary": "max"}}')
    (run_dir / "summary.json").unlink()  # a live run before its first heartbeat
    assert RunReader(run_dir, cache=False).refresh().summary == {"loss": 1}
    # An older logger's summary.json (no _explicit) is laid over history whole.
    (run_dir / "summary.json").write_text('{"acc": 0.9, "loss": 7}')
    assert RunReader(run_dir, cache=False).refresh().summary == {"acc": 0.9, "loss": 7}
