"""The run table's source: finding runs, rows from the small documents, polls, bad input."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import runview
from runview.store.run_dirs import RunFolders
from runview.store.run_row import STATE_DELETED
from runview.store.run_scan import RunScanner
from tests.handmade_runs import update, write_run

_OPENED: list[str] | None = None  # paths opened while a test records (audit hooks stay forever)


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@contextmanager
def recording_opens() -> Iterator[list[str]]:
    """Every file this process opens inside the block (Python's "open" audit event)."""
    global _OPENED
    _OPENED = opened = []
    try:
        yield opened
    finally:
        _OPENED = None


def scan(target: Path, **kwargs: object) -> dict[str, object]:
    scanner = RunScanner(target, **kwargs)  # type: ignore[arg-type]
    return {row.name: row for row in scanner.read_all()}


def test_a_root_lists_the_runs_of_every_project_newest_first(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    old = write_run(root, "a", "old", started=1_790_000_000)
    new = write_run(root, "b", "new", started=1_790_000_500)
    mid = write_run(root, "a", "mid", started=1_790_000_100)
    (root / ".artifacts" / "x").mkdir(parents=True)  # reserved, never a project
    (root / "a" / "not-a-run").mkdir()  # no marker: not a run
    (root / "a" / ".hidden-run").mkdir()
    (root / "notes.txt").write_text("a file beside the projects")
    candidates = RunFolders(root).list()  # directories only; whether each is a run is read later
    assert [p for p in candidates if p.name[0].isdigit()] == [new, mid, old]
    assert {p.name for p in candidates} == {new.name, mid.name, old.name, "not-a-run"}
    assert list(scan(root)) == ["new", "mid", "old"]
    assert list(scan(root / "a")) == ["mid", "old"]  # a project folder lists its own runs


def test_runs_directly_in_a_root_are_listed_beside_projects(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    write_run(root, ".", "top", dirname="20260101-000000-top")
    write_run(root, "p", "inside")
    assert sorted(scan(root)) == ["inside", "top"]


def test_rows_hold_the_small_documents_and_never_open_a_history(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    run = write_run(
        root,
        "p",
        "sweep-1",
        config={"lr": 0.001, "model": {"depth": 4}, "layers": [1, 2], "big": "x" * 1000},
        summary={
            "loss": {"$float": "nan"},
            "acc": 0.9,
            "_runtime": 3.0,
            "val": {"best": 0.5},
            "samples": {"_type": "images", "items": []},
        },
        tags=["cnn", "sweep"],
        host="gpu-07",
    )
    with recording_opens() as opened:
        row = scan(root)["sweep-1"]
    inside = {Path(p).name for p in opened if str(run) in p}
    assert "history.jsonl" not in inside and "system.jsonl" not in inside
    assert inside <= {"runview.json", "meta.json", "status.json", "summary.json", "config.json"}
    assert row.config["lr"] == 0.001 and row.config["model/depth"] == 4
    assert row.config["layers"] == "[1,2]" and len(row.config["big"]) == 300
    assert math.isnan(row.summary["loss"]) and row.summary["val/best"] == 0.5
    assert "_runtime" not in row.summary and "samples" not in row.summary
    assert row.tags == ("cnn", "sweep") and row.host == "gpu-07" and row.project == "p"
    assert row.state == "finished" and row.runtime() == 60.0 and not row.problems


def test_states_and_reasons_of_real_runs(tmp_path: Path, run_root: Path) -> None:
    finished = runview.init(
        project="p", name="ok", dir=run_root, console=False, system_interval=None
    )
    finished.finish()
    failed = runview.init(
        project="p", name="bad", dir=run_root, console=False, system_interval=None
    )
    failed.finish(exit_code=3)
    live = runview.init(project="p", name="live", dir=run_root, console=False, system_interval=None)
    try:
        write_run(run_root, "p", "lost", state="crashed", started=1_790_000_000.0)
        rows = scan(run_root)
        assert rows["ok"].state == "finished"
        assert rows["bad"].state == "failed" and "exit code 3" in rows["bad"].reason
        assert rows["live"].state == "running" and rows["live"].live
        assert rows["lost"].state == "crashed" and "no heartbeat" in rows["lost"].reason
    finally:
        live.finish()


def test_bad_runs_say_what_is_wrong_and_the_rest_is_listed(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    good = write_run(root, "p", "good")
    half = root / "p" / "20260101-000001-half"  # the logger died right after the marker
    half.mkdir(parents=True)
    (half / "runview.json").write_text('{"format": "runview", "version": 1}')
    torn = write_run(root, "p", "torn")
    (torn / "config.json").write_text('{"lr": 0.1, "bat')  # a foreign writer, mid-write
    newer = write_run(root, "p", "newer")
    update(newer, "runview.json", version=7)
    odd = write_run(root, "p", "odd")
    (odd / "summary.json").unlink()
    (odd / "summary.json").mkdir()  # unreadable as a file, even for root
    loop = root / "p" / "20260101-000002-loop"
    loop.symlink_to(loop)  # a directory that cannot be entered at all
    rows = {row.path.name: row for row in RunScanner(root).read_all()}
    by_name = {row.name: row for row in rows.values()}
    assert by_name["good"].state == "finished" and not by_name["good"].problems
    assert rows[half.name].state == "unknown"
    assert any("half-written" in p for p in rows[half.name].problems)
    assert any("config.json: not valid JSON" in p for p in by_name["torn"].problems)
    assert by_name["torn"].state == "finished"  # what could be read is still shown
    assert any("newer runview (format v7)" in p for p in by_name["newer"].problems)
    assert any(p.startswith("summary.json:") for p in by_name["odd"].problems)
    assert any("unreadable" in p for p in rows[loop.name].problems)
    assert good.name in rows


def test_polls_see_new_changed_finished_and_deleted_runs(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    keep = write_run(root, "p", "keep")
    doomed = write_run(root, "p", "doomed")
    live = write_run(root, "p", "live", state="running", summary={"loss": 1.0})
    scanner = RunScanner(root, cache=False)
    scanner.read_all()
    assert scanner.poll() == ()  # nothing moved: nothing to say
    fresh = write_run(root, "p", "fresh")
    later = write_run(root, "q", "other-project")
    update(live, "summary.json", loss=0.25)
    shutil.rmtree(doomed)
    changed = {row.name: row for row in scanner.poll()}
    assert {"fresh", "other-project", "live", "doomed"} <= set(changed)
    assert changed["live"].summary["loss"] == 0.25
    assert changed["doomed"].state == STATE_DELETED and "deleted" in changed["doomed"].reason
    assert scanner.rows[str(keep)].state == "finished"
    update(live, "status.json", state="finished", ended=1.0, exit_code=0)
    assert {row.name: row.state for row in scanner.poll()} == {"live": "finished"}
    assert str(fresh) in scanner.rows and str(later) in scanner.rows


def test_a_run_being_created_shows_once_its_marker_is_written(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    write_run(root, "p", "first")
    scanner = RunScanner(root, cache=False)
    scanner.read_all()
    early = root / "p" / "20990101-000000-early"
    early.mkdir()  # as claim_run_dir leaves it, before the marker
    assert scanner.poll() == ()
    (early / "runview.json").write_text('{"format": "runview", "version": 1}')
    (early / "meta.json").write_text('{"name": "early"}')
    assert [row.name for row in scanner.poll()] == ["early"]


def test_a_deleted_root_marks_every_row_deleted(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    write_run(root, "p", "a")
    write_run(root, "q", "b")
    scanner = RunScanner(root, cache=False)
    scanner.read_all()
    shutil.rmtree(root)
    assert {row.state for row in scanner.poll()} == {STATE_DELETED}
    assert scanner.problems  # and the listing says it cannot list the root


def inotify_watches() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += "inotify" in os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_polling_a_large_root_holds_no_watch_and_reads_no_settled_run(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for i in range(300):
        write_run(root, f"p{i % 3}", f"r{i}")
    live = write_run(root, "p0", "live", state="running")
    before = inotify_watches()
    scanner = RunScanner(root, cache=False)
    scanner.read_all()
    with open(live / "history.jsonl", "a") as fh:  # a live run logging does not wake the table
        fh.write(json.dumps({"_step": 9, "loss": 0.1}) + "\n")
    with recording_opens() as opened:
        assert scanner.poll() == ()
    assert inotify_watches() == before
    assert not [p for p in opened if "/runs/" in p]  # stat only, no file opened
