"""columns/ written by the real logger, loaded by the reader, and the reader's cache outside the
run."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import runview
from runview.store import column_helper
from runview.store import format as fmt
from runview.store.cache import Cache
from runview.store.column_cache import ColumnCache
from runview.store.column_reader import ColumnsUnusable, load_columns, read_index
from runview.store.reader import RunReader
from runview.store.series import SeriesSnapshot
from tests.conftest import final_index, lend_cpu

# Every run here has its column helper: the columns are what these tests are about.
pytestmark = pytest.mark.column_helper


def log_run(root: Path) -> Path:
    """A run with every kind of value: sparse keys, NaN/inf, bools, ints, strings, media, same-step
    merges."""
    run = runview.init(project="cols", dir=root, console=False, system_interval=None)
    for i in range(600):
        row: dict = {"train/loss": 1.0 / (i + 1), "flag": i % 3 == 0, "count": i * 7}
        if i % 50 == 0:
            row["val/acc"] = i / 1000
        if i == 11:
            row["train/loss"] = float("nan")
        if i == 12:
            row["train/loss"] = float("inf")
        if i == 13:
            row["train/loss"] = float("-inf")
        if i == 20:
            row["note"] = "hello"
        if i == 30:
            row["img"] = {"_type": "image", "path": "media/a.png"}
        run.log(row, step=i)
        if i % 40 == 0:
            run.log({"train/loss": -1.0, "late": 5.0}, step=i)  # same step: the later line wins
    run.finish()
    final_index(run.dir)
    return run.dir


def jsonl_only(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of the run without columns/, read by the plain JSONL path."""
    copy = tmp_path / "jsonl-only"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / fmt.COLUMNS_DIR)
    return copy


def assert_same(a: SeriesSnapshot, b: SeriesSnapshot) -> None:
    assert sorted(a.series) == sorted(b.series)
    for key in a.series:
        xa, ya = a.series[key]
        xb, yb = b.series[key]
        assert np.array_equal(xa, xb), key
        assert np.array_equal(ya, yb, equal_nan=True), key
    assert a.rows == b.rows
    assert a.first_index == b.first_index and a.last_index == b.last_index
    latest_a, latest_b = dict(a.latest), dict(b.latest)
    assert latest_a.keys() == latest_b.keys()
    for key in latest_a:
        va, vb = latest_a[key], latest_b[key]
        assert va == vb or (isinstance(va, float) and math.isnan(va) and math.isnan(vb)), key
    assert dict(a.media) == dict(b.media)


def tree(path: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(path.rglob("*"))
    }


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run with its final columns for the whole module, which tests copy, not change: each run's
    helper costs seconds of a core (tens of seconds while other processes keep the cores busy)."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv("RUNVIEW_COLUMNS", raising=False)
        return log_run(tmp_path_factory.mktemp("logged"))


def copy_of(run: Path, where: Path) -> Path:
    """``run`` copied to ``where/<project>/<run name>``; the columns' index names no path, so the
    copy reads as the original does."""
    copy = where / run.parent.name / run.name
    shutil.copytree(run, copy)
    return copy


@pytest.fixture
def run_dir(logged_run: Path, tmp_path: Path) -> Path:
    return copy_of(logged_run, tmp_path / "runs")


def test_columns_match_the_jsonl_exactly(run_dir: Path, tmp_path: Path) -> None:
    index = read_index(run_dir / fmt.COLUMNS_DIR, run_dir / fmt.HISTORY_FILE)
    assert index.source_offset == (run_dir / fmt.HISTORY_FILE).stat().st_size
    loaded = load_columns(index)
    plain = RunReader(jsonl_only(run_dir, tmp_path), cache=False).refresh().history
    for key, (x, y) in plain.series.items():
        lx, ly = loaded.columns[key]
        assert np.array_equal(lx, x) and np.array_equal(ly, y, equal_nan=True), key
    # bools as 0/1, NaN and infinities decoded, sparse keys on their own steps, merges won by the
    # later line
    loss = loaded.columns["train/loss"][1]
    assert math.isnan(loss[11]) and loss[12] == math.inf and loss[13] == -math.inf
    assert loss[40] == -1.0 and loss[41] == 1.0 / 42
    assert list(loaded.columns["flag"][1][:4]) == [1.0, 0.0, 0.0, 1.0]
    assert list(loaded.columns["val/acc"][0]) == [float(s) for s in range(0, 600, 50)]
    assert list(loaded.columns["late"][0]) == [float(s) for s in range(0, 600, 40)]
    # a key logged on every row shares the step array instead of holding its own copy
    assert loaded.columns["count"][0] is loaded.index_x
    assert "note" not in loaded.columns and loaded.latest["note"] == "hello"


def test_media_and_odd_lines_written_by_hand(tmp_path: Path) -> None:
    """A JSONL with media refs, nulls, corrupt lines and rows without _step, through the real
    ColumnWriter."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / fmt.MARKER_FILE).write_text('{"format": "runview", "version": 1}')
    lines = [
        b'{"_step":0,"a":1,"img":{"_type":"image","path":"media/0.png"}}',
        b'{"_step":1,"a":null,"b":"text"}',
        b"not json",
        b'{"a":5}',
        b'{"_step":1,"a":{"$float":"nan"},"img":{"_type":"image","path":"media/1.png"}}',
        b"[1,2]",
        b'{"_step":2,"a":true,"c":{"x":1}}',
    ]
    (run_dir / fmt.HISTORY_FILE).write_bytes(b"\n".join(lines) + b"\n")
    column_helper.start(run_dir).release()  # as init and finish() would
    assert final_index(run_dir)["source_offset"] == (run_dir / fmt.HISTORY_FILE).stat().st_size
    loaded = load_columns(read_index(run_dir / fmt.COLUMNS_DIR, run_dir / fmt.HISTORY_FILE))
    assert loaded.media == [
        ("img", 0, {"_type": "image", "path": "media/0.png"}),
        ("img", 1, {"_type": "image", "path": "media/1.png"}),
    ]
    assert loaded.corrupt_lines == 2 and loaded.skipped_rows == 1 and loaded.rows == 3
    reader = RunReader(run_dir, cache=False)
    snapshot = reader.refresh()
    assert reader._fast.source == "columns"
    plain = RunReader(jsonl_only(run_dir, tmp_path), cache=False).refresh()
    assert_same(snapshot.history, plain.history)
    assert snapshot.problems == plain.problems and any("2 corrupt" in p for p in snapshot.problems)


def test_reader_from_columns_equals_reader_from_jsonl(run_dir: Path, tmp_path: Path) -> None:
    fast = RunReader(run_dir, cache=False)
    snapshot = fast.refresh()
    assert fast._fast is not None and fast._fast.source == "columns"
    plain = RunReader(jsonl_only(run_dir, tmp_path), cache=False).refresh()
    assert_same(snapshot.history, plain.history)
    assert snapshot.summary == plain.summary and snapshot.problems == plain.problems == ()


def test_rows_after_the_index_come_from_the_jsonl_tail(run_dir: Path, tmp_path: Path) -> None:
    history = run_dir / fmt.HISTORY_FILE
    with open(history, "ab") as fh:  # as if the logger wrote on after the last index
        # merges into the last column point
        fh.write(b'{"_step":599,"_time":1.0,"train/loss":7.5}\n')
        fh.writelines(
            json.dumps(
                {"_step": step, "_time": 2.0, "train/loss": step / 10, "count": step}
            ).encode()
            + b"\n"
            for step in range(600, 650)
        )
        fh.write(b'{"_step":650,"train/lo')  # a torn line waits
    reader = RunReader(run_dir, cache=False)
    snapshot = reader.refresh()
    assert reader._fast.source == "columns"
    plain = RunReader(jsonl_only(run_dir, tmp_path), cache=False).refresh()
    assert_same(snapshot.history, plain.history)
    x, y = snapshot.history.series["train/loss"]
    assert x[-1] == 649 and y[599] == 7.5
    with open(history, "ab") as fh:
        fh.write(b'ss":1.0}\n')
    snapshot = reader.refresh()
    assert snapshot.history.series["train/loss"][0][-1] == 650


def damage_index(run_dir: Path) -> None:
    (run_dir / fmt.COLUMNS_INDEX).write_bytes(b'{"version": 1, "source_offset": 12')


def truncate_a_column(run_dir: Path) -> None:
    index = json.loads((run_dir / fmt.COLUMNS_INDEX).read_bytes())
    path = run_dir / fmt.COLUMNS_DIR / index["keys"]["train/loss"]["file"]
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size - 24)


def index_ahead(run_dir: Path) -> None:
    history = run_dir / fmt.HISTORY_FILE
    data = history.read_bytes()
    history.write_bytes(data[: len(data) // 2 + data[len(data) // 2 :].index(b"\n") + 1])


def remove_columns(run_dir: Path) -> None:
    shutil.rmtree(run_dir / fmt.COLUMNS_DIR)


def replace_history(run_dir: Path) -> None:
    history = run_dir / fmt.HISTORY_FILE
    data = history.read_bytes().replace(b'"count":0', b'"count":10', 1)  # other bytes, a new inode
    tmp = history.with_name("h.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, history)


@pytest.mark.parametrize(
    "damage, said",
    [
        (damage_index, "corrupt index"),
        (truncate_a_column, "shorter than the index says"),
        (index_ahead, "ahead of history.jsonl"),
        (remove_columns, "columns/ missing"),
        (replace_history, "does not match the index"),
    ],
)
def test_unusable_columns_fall_back_to_the_jsonl(
    run_dir: Path, tmp_path: Path, damage, said: str
) -> None:
    damage(run_dir)
    reader = RunReader(run_dir, cache=False, columns_expected_bytes=0)
    snapshot = reader.refresh()
    assert reader._fast.source == "jsonl"
    assert any(said in p for p in snapshot.problems), snapshot.problems
    plain_dir = tmp_path / "plain"
    shutil.copytree(run_dir, plain_dir)
    shutil.rmtree(plain_dir / fmt.COLUMNS_DIR, ignore_errors=True)
    plain = RunReader(plain_dir, cache=False).refresh()
    assert_same(snapshot.history, plain.history)


def test_small_runs_without_columns_are_not_a_problem(run_dir: Path) -> None:
    remove_columns(run_dir)
    assert RunReader(run_dir, cache=False).refresh().problems == ()


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import runview
    run = runview.init(project="k", dir=sys.argv[1], console=False, system_interval=None)
    print(run.dir, run._writer.columns_helper.pid, flush=True)
    step = 0
    while True:
        for _ in range(200):
            run.log({"a": step * 0.5, "b": step % 7, "s": step % 2 == 0}, step=step)
            if step % 30 == 0:
                run.log({"a": -1.0}, step=step)
            step += 1
        time.sleep(0.01)
    """
)


def test_a_sigkilled_writer_leaves_columns_the_reader_can_use(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    path, helper_pid = proc.stdout.readline().split()
    run_dir = Path(path)
    lend_cpu(int(helper_pid))
    index_file = run_dir / fmt.COLUMNS_INDEX
    # Killed once the helper has written its index at least twice (however loaded the machine).
    deadline, grown = time.monotonic() + 120, False
    while not grown and time.monotonic() < deadline:
        if index_file.exists() and json.loads(index_file.read_bytes()).get("rows", 0) > 0:
            first = json.loads(index_file.read_bytes())["source_offset"]
            time.sleep(1.5)
            grown = json.loads(index_file.read_bytes())["source_offset"] > first
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert grown, "the column helper did not write its index twice in 120 s"
    proc.wait()
    reader = RunReader(run_dir, cache=False)
    snapshot = reader.refresh()
    assert reader._fast.source == "columns" and snapshot.history.rows > 0
    plain = RunReader(jsonl_only(run_dir, tmp_path), cache=False).refresh()
    assert_same(snapshot.history, plain.history)


def test_reading_never_changes_the_run_directory(run_dir: Path, tmp_path: Path) -> None:
    before = tree(run_dir)
    for cache in (False, ColumnCache(Cache(tmp_path / "cache"), min_bytes=0)):
        reader = RunReader(run_dir, cache=cache)
        reader.refresh()
        reader.refresh()
        work = reader.cache_work()
        if work is not None:
            work.run()
    assert tree(run_dir) == before


def test_cache_outside_the_run_serves_a_second_open(run_dir: Path, tmp_path: Path) -> None:
    remove_columns(run_dir)
    cache_root = tmp_path / "cache"
    cache = ColumnCache(Cache(cache_root), min_bytes=0)
    first = RunReader(run_dir, cache=cache)
    expected = first.refresh()
    assert first._fast.source == "jsonl"
    assert first.cache_work().run()
    entry = cache.entry(run_dir)
    assert (
        entry.parent == cache_root / "columns"
        and entry.name == hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:32]
    )
    assert (entry / "index.json").exists()
    second = RunReader(run_dir, cache=ColumnCache(Cache(cache_root), min_bytes=0))
    snapshot = second.refresh()
    assert second._fast.source == "cache" and snapshot.problems == ()
    assert_same(snapshot.history, expected.history)

    # history grows: the entry still covers a prefix; only new bytes are parsed, then the entry is
    # renewed
    with open(run_dir / fmt.HISTORY_FILE, "ab") as fh:
        fh.write(b'{"_step":1000,"_time":3.0,"train/loss":0.125}\n')
    grown_cache = ColumnCache(Cache(cache_root), min_bytes=0)
    grown = RunReader(run_dir, cache=grown_cache)
    snapshot = grown.refresh()
    assert grown._fast.source == "cache"
    assert (
        snapshot.history.series["train/loss"][0][-1] == 1000
        and snapshot.history.series["train/loss"][1][-1] == 0.125
    )
    assert grown.cache_work().run()
    offset = json.loads((entry / "index.json").read_bytes())["source_offset"]
    assert offset == (run_dir / fmt.HISTORY_FILE).stat().st_size

    # history replaced by another file: the entry is not used
    replace_history(run_dir)
    fresh = RunReader(run_dir, cache=ColumnCache(Cache(cache_root), min_bytes=0))
    snapshot = fresh.refresh()
    assert fresh._fast.source == "jsonl"
    assert snapshot.history.series["count"][1][0] == 10.0


def test_cache_is_bounded(logged_run: Path, tmp_path: Path) -> None:
    cache_root = tmp_path / "cache"
    runs = [copy_of(logged_run, tmp_path / f"runs{i}") for i in range(3)]
    for run_dir in runs:
        remove_columns(run_dir)
        cache = ColumnCache(Cache(cache_root), min_bytes=0)
        reader = RunReader(run_dir, cache=cache)
        reader.refresh()
        assert reader.cache_work().run()
        time.sleep(0.02)
    one = sum(f.stat().st_size for f in ColumnCache(Cache(cache_root)).entry(runs[0]).iterdir())
    small = ColumnCache(Cache(cache_root, max_bytes=int(one * 1.5)))
    small.cache.prune()
    assert (
        not small.entry(runs[0]).exists()
        and not small.entry(runs[1]).exists()
        and small.entry(runs[2]).exists()
    )


def test_load_columns_rejects_an_index_naming_files_outside(tmp_path: Path, run_dir: Path) -> None:
    index = json.loads((run_dir / fmt.COLUMNS_INDEX).read_bytes())
    index["keys"]["train/loss"]["file"] = "../history.jsonl"
    (run_dir / fmt.COLUMNS_INDEX).write_text(json.dumps(index))
    with pytest.raises(ColumnsUnusable):
        read_index(run_dir / fmt.COLUMNS_DIR, run_dir / fmt.HISTORY_FILE)


def test_columns_off_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNVIEW_COLUMNS", "0")
    run = runview.init(project="off", dir=tmp_path, console=False, system_interval=None)
    run.log({"a": 1.0})
    run.finish()
    assert not (run.dir / fmt.COLUMNS_DIR).exists()


def test_prune_removes_only_cache_entries(logged_run: Path, tmp_path: Path) -> None:
    """RUNVIEW_CACHE_DIR pointed at a folder of runs: a prune with a tiny budget keeps every run."""
    cache_root = tmp_path / "cache"
    real = copy_of(logged_run, tmp_path / "runs0")
    remove_columns(real)
    cache = ColumnCache(Cache(cache_root), min_bytes=0)
    reader = RunReader(real, cache=cache)
    reader.refresh()
    assert reader.cache_work().run()
    entry = cache.entry(real)
    assert (entry / "index.json").exists()
    # a run logged straight into the cache root, and ones renamed to look like entry names (in
    # the root and in the area)
    run_inside = copy_of(logged_run, cache_root)
    lookalike = cache_root / ("ab" * 16)
    shutil.copytree(run_inside, lookalike)
    area_lookalike = entry.parent / ("ef" * 16)
    shutil.copytree(run_inside, area_lookalike)
    # a symlink with an entry name, to a copy of a real entry outside the cache: neither is touched
    outside = tmp_path / "outside-entry"
    shutil.copytree(entry, outside)
    link = entry.parent / ("cd" * 16)
    link.symlink_to(outside, target_is_directory=True)
    before = {p: tree(p) for p in (run_inside, lookalike, area_lookalike, outside)}
    Cache(cache_root, max_bytes=1).prune()
    assert not entry.exists()  # the real entry goes
    for path, state in before.items():
        assert tree(path) == state, path
    assert link.is_symlink() and RunReader(run_inside, cache=False).refresh().history.rows == 600


def test_columns_are_read_on_first_lookup_as_they_were_at_open(
    run_dir: Path, tmp_path: Path
) -> None:
    """A chart nobody looks at costs no memory; a column read later still holds what the index
    counted."""
    plain = RunReader(jsonl_only(run_dir, tmp_path), cache=False).refresh().history
    reader = RunReader(run_dir, cache=False)
    snapshot = reader.refresh()
    assert reader._fast.source == "columns"
    unread = [k for k, b in reader.history.buffers.items() if b.lazy is not None]
    assert "train/loss" in unread and "count" in unread
    assert "train/loss" in snapshot.history.series and len(snapshot.history.series) == len(
        plain.series
    )
    # The charts' change check (on the UI thread) must not pull a column from disk.
    assert snapshot.history.series.fingerprint("train/loss") == plain.series.fingerprint(
        "train/loss"
    )
    assert reader.history.buffers["train/loss"].lazy is not None
    # Rewrite the last counted pair in place, then rebuild columns/ as a resumed run would.
    loss_file = json.loads((run_dir / fmt.COLUMNS_DIR / "index.json").read_text())["keys"][
        "train/loss"
    ]
    with open(run_dir / fmt.COLUMNS_DIR / loss_file["file"], "r+b") as fh:
        fh.seek((loss_file["count"] - 1) * 16)
        fh.write(np.array([-5.0, -5.0]).tobytes())
    shutil.rmtree(run_dir / fmt.COLUMNS_DIR)
    (run_dir / fmt.COLUMNS_DIR).mkdir()
    assert_same(snapshot.history, plain)
    x, y = snapshot.history.series["count"]
    assert (
        x is snapshot.history.series["count"][0] and not x.flags.writeable and not y.flags.writeable
    )
    assert np.shares_memory(x, reader.history.buffers[fmt.STEP_KEY].x)  # steps still held once


def test_a_sample_of_an_unread_column_is_its_own_points_read_without_the_rest(
    tmp_path: Path,
) -> None:
    """What a long run's charts show at once: evenly spread pairs of the column, first and last
    included, each exactly the column's; the column itself stays unread (and reads whole later)."""
    run = runview.init(project="cols", dir=tmp_path / "runs", console=False, system_interval=None)
    for i in range(30_000):
        run.log({"loss": math.sin(i / 500), "sparse": float(i)} if i % 3 == 0 else {"loss": 0.5})
    run.finish()
    final_index(run.dir)
    plain = RunReader(jsonl_only(run.dir, tmp_path), cache=False).refresh().history
    snapshot = RunReader(run.dir, cache=False).refresh().history
    assert snapshot.series.unread("loss") and snapshot.series.unread("sparse")
    sample = snapshot.sampled(4096)
    for key in ("loss", "sparse"):
        full_x, full_y = plain.series[key]
        x, y = sample.series[key]
        assert 4096 <= x.size < full_x.size // 2, key
        assert x[0] == full_x[0] and x[-1] == full_x[-1], key
        assert (np.diff(x) > 0).all(), key
        # spread over the whole run, not its beginning
        assert np.histogram(x, bins=8, range=(full_x[0], full_x[-1]))[0].min() > x.size // 16
        at = np.searchsorted(full_x, x)
        assert np.array_equal(full_x[at], x) and np.array_equal(full_y[at], y), key
        # in runs of 16 neighbouring pairs, one read each: beside a busy UI thread each read
        # waits for the interpreter again (512 reads of 8 took ~2x as long there)
        runs = np.count_nonzero(np.diff(at) != 1) + 1
        assert runs <= 4096 // 16 + 1, runs
        assert snapshot.series.unread(key), "sampling must not read the column"
    assert_same(snapshot, plain)  # read whole afterwards, as before
    assert not snapshot.series.unread("loss")
    whole_x, _ = snapshot.sampled(4096).series["loss"]
    assert whole_x.size == plain.series["loss"][0].size  # once read, a sample is the whole
