"""run.save on real files: the three policies, stability before a copy, globs that match later."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

import runview
from runview.store import format as fmt


def start(root: Path) -> runview.Run:
    return runview.init(project="p", dir=root, console=False, system_interval=None, save_code=False)


def wait_until(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    assert predicate(), "condition not met in time"  # type: ignore[operator]


def index(run: runview.Run) -> dict[str, dict]:
    document = json.loads((run.dir / fmt.FILES_INDEX).read_text())
    return {entry["path"]: entry for entry in document["files"]}


def test_live_keeps_a_file_current_and_picks_up_files_created_later(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.log").write_text("first")
    run = start(tmp_path / "runs")
    run.save(str(out / "*.log"))  # policy="live"
    saved = run.dir / "files"
    wait_until(lambda: (saved / "a.log").exists())
    assert (saved / "a.log").read_text() == "first"
    (out / "a.log").write_text("second version")
    (out / "b.log").write_text("made after save()")
    wait_until(lambda: (saved / "a.log").read_text() == "second version")
    wait_until(lambda: (saved / "b.log").exists())
    assert (saved / "b.log").read_text() == "made after save()"
    run.finish()
    entries = index(run)
    assert entries["a.log"]["copies"] == 2 and entries["a.log"]["state"] == "saved"
    assert entries["a.log"]["source"] == str(out / "a.log")
    assert not list(saved.glob(".*.tmp"))


def test_now_copies_once_and_end_copies_at_finish(tmp_path: Path) -> None:
    (tmp_path / "once.txt").write_text("v1")
    (tmp_path / "last.txt").write_text("early")
    run = start(tmp_path / "runs")
    run.save(tmp_path / "once.txt", policy="now")
    run.save(tmp_path / "last.txt", policy="end")
    saved = run.dir / "files"
    wait_until(lambda: (saved / "once.txt").exists())
    (tmp_path / "once.txt").write_text("v2 is not copied: now means once")
    (tmp_path / "last.txt").write_text("final")
    time.sleep(0.1)
    assert not (saved / "last.txt").exists()
    run.finish()
    assert (saved / "once.txt").read_text() == "v1"
    assert (saved / "last.txt").read_text() == "final"
    assert index(run)["once.txt"]["copies"] == 1


def test_base_path_keeps_the_layout(tmp_path: Path) -> None:
    ckpt = tmp_path / "out" / "ckpt"
    ckpt.mkdir(parents=True)
    (ckpt / "e1.pt").write_bytes(b"one")
    (ckpt / "e2.pt").write_bytes(b"two")
    (ckpt / "notes.txt").write_text("not matched")
    run = start(tmp_path / "runs")
    run.save(str(ckpt / "*.pt"), base_path=str(tmp_path / "out"), policy="end")
    run.save(str(tmp_path / "out" / "**" / "*.txt"), policy="end")
    run.finish()
    files = run.dir / "files"
    found = sorted(p.relative_to(files).as_posix() for p in files.rglob("*") if p.is_file())
    assert found == ["ckpt/e1.pt", "ckpt/e2.pt", "ckpt/notes.txt"]


def test_bad_arguments_raise_at_once(tmp_path: Path) -> None:
    run = start(tmp_path / "runs")
    with pytest.raises(ValueError, match="policy"):
        run.save("*.txt", policy="sometimes")
    with pytest.raises(ValueError, match="does not contain"):
        run.save(str(tmp_path / "a" / "*.pt"), base_path=str(tmp_path / "b"))
    run.finish()


def test_a_file_still_being_written_is_never_copied_torn(tmp_path: Path) -> None:
    """A checkpoint written in pieces is copied only once it has held still for 2 s."""
    target = tmp_path / "ckpt.pt"
    run = start(tmp_path / "runs")
    run.save(str(target))
    copy = run.dir / "files" / "ckpt.pt"
    done = threading.Event()
    seen: list[bytes] = []

    def write() -> None:
        with open(target, "wb") as fh:
            fh.write(b"HEAD")
            for _ in range(12):  # 3.6 s of writing, never 2 s still
                fh.write(b"x" * 4096)
                fh.flush()
                time.sleep(0.3)
            fh.write(b"END")
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    while not done.is_set():
        if copy.exists():
            seen.append(copy.read_bytes())
        time.sleep(0.05)
    writer.join()
    assert seen == []  # nothing was copied while it changed
    wait_until(lambda: copy.exists())
    assert copy.read_bytes().endswith(b"END")
    run.finish()


def test_finish_copies_pending_files_at_once_and_records_what_it_could_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = start(tmp_path / "runs")
    run.save(str(tmp_path / "fresh.txt"))
    (tmp_path / "fresh.txt").write_text("written just now")  # never still before finish()
    run.finish()
    assert (run.dir / "files" / "fresh.txt").read_text() == "written just now"

    monkeypatch.setenv("RUNVIEW_SAVE_FINISH_S", "0")
    other = start(tmp_path / "runs2")
    other.save(str(tmp_path / "fresh.txt"))
    other.finish()
    entry = index(other)["fresh.txt"]
    assert entry["state"] == "incomplete" and "at most 0 s" in entry["incomplete"]


def test_a_copy_that_fails_is_recorded_and_training_goes_on(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.txt").write_text("x")
    run = start(tmp_path / "runs")
    (run.dir / "files").write_text("a file where the folder should be")
    run.save(str(tmp_path / "x.txt"), policy="end")
    run.log({"loss": 1.0})
    run.finish()  # no exception
    entry = index(run)["x.txt"]
    assert entry["state"] == "error" and entry["error"]
    assert "run.save: cannot copy" in capfd.readouterr().err


def test_files_inside_the_run_are_not_saved_into_itself(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    run = start(root)
    run.save(str(tmp_path / "**" / "*.json"), policy="end")
    (tmp_path / "real.json").write_text("{}")
    run.finish()
    files = run.dir / "files"
    found = sorted(p.relative_to(files).as_posix() for p in files.rglob("*") if p.is_file())
    assert found == ["real.json"]
