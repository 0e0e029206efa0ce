"""The tailing reader on real files: torn, corrupt and missing data, incremental reads, read-only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import runview
from runview.store.reader import NotARunError, RunReader, check_run_dir


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
        fh.write(b'5}\n')
    snapshot = reader.refresh()
    assert snapshot.history.rows == 2
    assert list(snapshot.history.series["loss"][1]) == [1.0, 0.5]


def test_corrupt_lines_are_skipped_and_counted(run_root: Path) -> None:
    run_dir = make_run(run_root)
    with open(run_dir / "history.jsonl", "ab") as fh:
        fh.write(b"\x00\xff garbage\n[1, 2]\n{\"no_step\": 1}\n{\"_step\": 3, \"loss\": 0.25}\n")
    snapshot = RunReader(run_dir).refresh()
    assert list(snapshot.history.series["loss"][1]) == [1.0, 0.25]
    problems = " ".join(snapshot.problems)
    assert "skipped 2 corrupt line(s)" in problems
    assert "skipped 1 row(s) without a numeric _step" in problems


def test_refresh_reads_only_appended_bytes(run_root: Path) -> None:
    run_dir = make_run(run_root)
    reader = RunReader(run_dir)
    reader.refresh()
    tail = reader._history_tail
    before = tail.offset
    line = b'{"_step": 1, "loss": 0.5}\n'
    with open(run_dir / "history.jsonl", "ab") as fh:
        fh.write(line)
    reader.refresh()
    assert tail.offset - before == len(line)


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

    run = runview.init(project="p", dir=run_root, console=False, system_interval=None,
                       config={"lr": float("nan"), "net": {"clip": float("inf"), "sizes": [1, float("-inf")]}})
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
