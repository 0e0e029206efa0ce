"""The viewer's one cache: reading never writes, the viewer caches explicitly, prune cleans up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import orjson
import pytest

from runview.store import format as fmt
from runview.store.cache import MARKER, Cache
from runview.store.column_cache import DEFAULT_MIN_BYTES, ColumnCache
from runview.store.reader import RunReader
from runview.tui.app import RunviewApp
from tests.pilot import page, wait_for


def large_run_without_columns(root: Path, min_bytes: int = DEFAULT_MIN_BYTES) -> Path:
    """A finished run written by hand (as a foreign logger would): no columns/, history past the
    size from which the viewer caches it."""
    run = root / "big"
    run.mkdir(parents=True)
    (run / fmt.MARKER_FILE).write_text('{"format": "runview", "version": 1}')
    (run / fmt.META_FILE).write_text('{"name": "big", "project": "p"}')
    (run / fmt.STATUS_FILE).write_text('{"state": "finished", "exit_code": 0}')
    keys = [f"train/metric_{j:02d}" for j in range(20)]
    with open(run / fmt.HISTORY_FILE, "wb") as fh:
        step = 0
        while fh.tell() < min_bytes + 1024:
            row = {"_step": step, "_time": 1.0 + step} | {
                k: step * 0.001 + j for j, k in enumerate(keys)
            }
            fh.write(orjson.dumps(row) + b"\n")
            step += 1
    return run


def tree(path: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*")
    }


def test_info_on_a_large_run_without_columns_leaves_nothing_in_the_cache(tmp_path: Path) -> None:
    run = large_run_without_columns(tmp_path / "runs")
    cache_dir = tmp_path / "cache"
    env = dict(os.environ, RUNVIEW_CACHE_DIR=str(cache_dir))
    result = subprocess.run(
        [sys.executable, "-m", "runview", "info", str(run), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["steps"] > 20_000 and document["status"] == "finished"
    assert not cache_dir.exists()  # not even the folder: reading never writes


def test_the_reader_makes_no_thread_and_writes_nothing(tmp_path: Path) -> None:
    run = large_run_without_columns(tmp_path / "runs", min_bytes=1024 * 1024)
    cache_root = tmp_path / "cache"
    before_run = tree(run)
    threads_before = set(threading.enumerate())
    reader = RunReader(run, cache=ColumnCache(Cache(cache_root), min_bytes=0))
    snapshot = reader.refresh()
    reader.refresh()
    assert snapshot.history.rows > 1000 and reader._fast.source == "jsonl"
    assert set(threading.enumerate()) == threads_before
    assert not cache_root.exists() and tree(run) == before_run
    # Caching is the viewer's explicit step, and it is the step that writes.
    work = reader.cache_work()
    assert work is not None and work.run()
    entry = ColumnCache(Cache(cache_root)).entry(run)
    assert (entry / "index.json").is_file() and (entry / MARKER).is_file()
    assert set(threading.enumerate()) == threads_before and tree(run) == before_run


async def test_the_viewer_caches_a_parsed_run_so_the_next_open_is_fast(tmp_path: Path) -> None:
    run = large_run_without_columns(tmp_path / "runs")
    cache = ColumnCache.default()
    assert cache is not None and str(cache.cache.root) == os.environ["RUNVIEW_CACHE_DIR"]
    entry = cache.entry(run)
    app = RunviewApp(run, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: page(app).snapshot is not None, timeout=60)
        await wait_for(pilot, lambda: (entry / "index.json").is_file(), timeout=60)
        rows = page(app).snapshot.history.rows
    second = RunReader(run)
    snapshot = second.refresh()
    assert second._fast.source == "cache" and snapshot.problems == ()
    assert snapshot.history.rows == rows > 20_000


KILLED_CACHE_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from runview.store.cache import Cache

    def fill(folder):
        (folder / "c0001.f64").write_bytes(bytes(4096))
        print("filling", flush=True)
        time.sleep(600)

    Cache(Path(sys.argv[1])).write("columns", "/some/run", fill)
    """
)


def work_folders(area: Path) -> list[str]:
    return sorted(p.name for p in area.iterdir() if p.name.startswith("."))


def test_prune_removes_a_killed_writers_leftovers_never_a_write_in_progress(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    area = root / "columns"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_CACHE_WRITER, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "filling"
        (leftover,) = work_folders(area)
        assert leftover.endswith(".tmp")
        Cache(root).prune()
        assert work_folders(area) == [leftover]  # a live writer's folder is its own
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert work_folders(area) == [leftover]  # the kill left it behind
    # Other leftovers: an entry set aside by a replace that was killed before removing it, an
    # empty folder whose writer died before its marker (removed only once it is old), and
    # lookalikes that the cache cannot prove it made.
    finished = Cache(root).write("columns", "/other/run", lambda folder: None)
    old = area / f".{finished.name}.abc123.old"
    os.rename(finished, old)
    unmarked_old = area / f".{'1' * 32}.dead01.tmp"
    unmarked_young = area / f".{'2' * 32}.dead02.tmp"
    for folder in (unmarked_old, unmarked_young):
        folder.mkdir()
    os.utime(unmarked_old, (time.time() - 3600, time.time() - 3600))
    not_ours = area / f".{'3' * 32}.dead03.tmp"
    not_ours.mkdir()
    (not_ours / "data").write_text("someone else's")
    os.utime(not_ours, (time.time() - 3600, time.time() - 3600))
    legacy = root / ("4" * 32)  # an entry of the layout before areas
    legacy.mkdir()
    (legacy / "index.json").write_text('{"version": 1, "runview_cache": 1}')
    Cache(root).prune()
    assert work_folders(area) == sorted([unmarked_young.name, not_ours.name])
    assert (not_ours / "data").read_text() == "someone else's" and not legacy.exists()


def test_an_abandoned_write_keeps_the_old_entry(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    assert cache.lookup("columns", "/run") is None
    entry = cache.write("columns", "/run", lambda folder: (folder / "a").write_text("old"))
    assert cache.lookup("columns", "/run") == entry and cache.lookup("runs", "/run") is None

    def fail(folder: Path) -> None:
        (folder / "a").write_text("new")
        raise OSError("disk full")

    with pytest.raises(OSError):
        cache.write("columns", "/run", fail)
    assert (entry / "a").read_text() == "old" and work_folders(entry.parent) == []
