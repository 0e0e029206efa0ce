"""The run table's rows in the viewer's cache: kept by file identity, written as the scan goes."""

from __future__ import annotations

import os
from pathlib import Path

from runview.store.cache import MARKER, Cache
from runview.store.row_cache import AREA, ROWS_FILE, RowCache
from runview.store.run_scan import RunScanner
from tests.handmade_runs import update, write_run


def many_runs(root: Path, count: int, project: str = "p") -> list[Path]:
    return [
        write_run(root, project, f"r{i}", config={"lr": i / 1000}, summary={"loss": 1 / (i + 1)})
        for i in range(count)
    ]


def rows_file(cache: Cache, folder: Path) -> Path:
    return RowCache(cache).entry(folder) / ROWS_FILE


def test_a_second_open_reads_no_document_that_did_not_change(tmp_path: Path) -> None:
    root, cache = tmp_path / "runs", Cache(tmp_path / "cache")
    runs = many_runs(root, 20)
    first = RunScanner(root, RowCache(cache), keep_cache=True)
    first.read_all()
    assert first.from_cache == 0 and first.writer.records_written == 20
    update(runs[3], "summary.json", loss=-1.0)  # a document replaced: a new identity
    second = RunScanner(root, RowCache(cache), keep_cache=True)
    rows = {row.name: row for row in second.read_all()}
    assert second.from_cache == 19
    assert rows["r3"].summary["loss"] == -1.0 and rows["r4"].config["lr"] == 0.004


def test_reading_only_writes_nothing(tmp_path: Path) -> None:
    root, cache = tmp_path / "runs", Cache(tmp_path / "cache")
    many_runs(root, 5)
    RunScanner(root, RowCache(cache)).read_all()  # runview info: keep_cache is off
    assert not (tmp_path / "cache").exists()


def test_a_viewer_closed_early_leaves_the_rows_it_read(tmp_path: Path) -> None:
    root, cache = tmp_path / "runs", Cache(tmp_path / "cache")
    many_runs(root, 120)
    scanner = RunScanner(root, RowCache(cache), keep_cache=True)
    batches = scanner.scan()
    first = next(batches)
    next(batches)  # the viewer takes a second batch, then quits mid-scan
    batches.close()
    kept = RowCache(cache).load(root / "p")
    assert len(first) >= 1 and len(kept.records) >= len(first)
    again = RunScanner(root, RowCache(cache))
    again.read_all()
    assert again.from_cache == len(kept.records)


def test_running_runs_are_not_cached_and_a_torn_tail_costs_one_record(tmp_path: Path) -> None:
    root, cache = tmp_path / "runs", Cache(tmp_path / "cache")
    many_runs(root, 3)
    live = write_run(root, "p", "live", state="running")
    RunScanner(root, RowCache(cache), keep_cache=True).read_all()
    kept = RowCache(cache).load(root / "p")
    assert len(kept.records) == 3 and live.name not in kept.records
    with open(rows_file(cache, root / "p"), "ab") as fh:
        fh.write(b'{"v":1,"run":"half-writ')  # a viewer killed mid-append
    update(live, "status.json", state="finished", exit_code=0, ended=2.0)
    scanner = RunScanner(root, RowCache(cache), keep_cache=True)
    assert scanner.read_all() and scanner.from_cache == 3
    kept = RowCache(cache).load(root / "p")
    assert live.name in kept.records and len(kept.records) == 4


def test_an_entry_of_mostly_superseded_records_is_rewritten(tmp_path: Path) -> None:
    root, cache = tmp_path / "runs", Cache(tmp_path / "cache")
    runs = many_runs(root, 5)
    path = rows_file(cache, root / "p")
    for round_ in range(70):  # every run changes between opens: 5 records each time
        for run in runs:
            update(run, "summary.json", loss=float(round_))
        RunScanner(root, RowCache(cache), keep_cache=True).read_all()
    lines = path.read_bytes().count(b"\n")
    assert lines <= 2 * 5 + 256 + 5
    rows = {r.name: r for r in RunScanner(root, RowCache(cache)).read_all()}
    assert rows["r0"].summary["loss"] == 69.0


def test_a_changed_document_of_the_same_size_in_place_is_read_again(tmp_path: Path) -> None:
    root, cache = tmp_path / "runs", Cache(tmp_path / "cache")
    (run,) = many_runs(root, 1)
    RunScanner(root, RowCache(cache), keep_cache=True).read_all()
    config = run / "config.json"
    text = config.read_text()
    config.write_text(text.replace("0.0", "9.9"))  # in place: same inode, same size
    st = os.stat(config)
    os.utime(config, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    rows = RunScanner(root, RowCache(cache)).read_all()
    assert rows[0].config["lr"] == 9.9


def test_cache_append_grows_an_entry_in_place_and_prune_counts_it(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", max_bytes=10_000)
    entry = cache.write(AREA, "k", lambda folder: (folder / "rows.jsonl").write_bytes(b"a\n"))
    assert cache.append(entry, "rows.jsonl", b"b\n")
    with open(entry / "rows.jsonl", "ab") as fh:
        fh.write(b"tor")  # killed mid-line
    assert cache.append(entry, "rows.jsonl", b"c\n")
    assert (entry / "rows.jsonl").read_bytes() == b"a\nb\ntor\nc\n"
    assert not cache.append(tmp_path / "not-an-entry", "rows.jsonl", b"x\n")
    assert (entry / MARKER).exists()
    assert cache.append(entry, "rows.jsonl", b"x" * 20_000 + b"\n")
    cache.prune()  # the grown entry is now past the cap: pruned like any other
    assert not entry.exists()
