"""Opening a long run: columns vs JSONL vs the viewer's cache, end to end in a pty, and TensorBoard.

    python benchmarks/bench_load.py [--rows 1000000] [--metrics 20] [--data /tmp/runview-bench-load]
    /tmp/tbvenv/bin/python benchmarks/bench_load.py --tensorboard-only   # needs tensorboard +
    tensorboardX

1. Generates a run of ``--rows`` steps x ``--metrics`` metrics with the real logger (reused when
   it exists) and reports the logging time and the column writer's background CPU per row.
2. In fresh subprocesses, ``RunReader`` to a full snapshot: from the run's columns, from the JSONL
   only (no columns, no cache), and from the viewer's cache outside the run (second open).
3. ``runview PATH --tab charts`` in a pty at 160x48 until the charts' x axis shows the last step
   (its tick label, ``1M`` for 1M rows: the first charts, drawn from samples of the columns
   while they are read), then until the status line no longer says "partial · loading" (every
   chart drawn from all its points), with the peak RSS summed over the viewer's processes (50 ms
   samples). The package each open runs (``--baseline``'s too) is byte-compiled first, as an
   install leaves it. With each open, the CPU seconds the viewer had used (all its threads) when
   each figure was seen: steadier than wall times where other processes share the machine.
4. With tensorboard and tensorboardX importable: the same metrics at 100k steps written as an
   event file, loaded by ``EventAccumulator(size_guidance={'scalars': 0}).Reload()``, vs runview.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_live_terminal import Screen  # noqa: E402 - a sibling script, as below
from machine_info import machine  # noqa: E402 - a sibling script, found through the path above

from runview.store.run_dirs import read_title  # noqa: E402
from runview.tui.widgets.chart_ticks import format_tick  # noqa: E402


def metric_keys(metrics: int) -> list[str]:
    return [f"{'train' if j % 2 == 0 else 'val'}/metric_{j:02d}" for j in range(metrics)]


def spike_step(j: int, rows: int) -> int:
    return 1 + (j * 48_611 + 12_345) % rows


def generate(root: Path, rows: int, metrics: int) -> Path:
    """A run of ``rows`` steps (1..rows), one spike of 1000 per metric; returns its directory.

    Written as a user's run is: ``runview.init`` with its defaults (console capture, system
    sampler, the run's column helper), logging in a tight loop.
    """
    import numpy as np

    import runview

    done = root / "done.json"
    if done.exists():
        info = json.loads(done.read_text())
        print(f"reusing {info['run']} (generated earlier: {info['log_s']:.1f} s logging)")
        return Path(info["run"])
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    keys = metric_keys(metrics)
    spikes = {spike_step(j, rows): j for j in range(metrics)}
    run = runview.init(project="bench", dir=root)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    step = 1
    while step <= rows:
        block = min(10_000, rows - step + 1)
        values = (rng.random((block, metrics)) * 0.1 + 1.0).tolist()
        for row in values:
            if step in spikes:
                row[spikes[step]] = 1000.0
            run.log(dict(zip(keys, row)), step=step)
            step += 1
    log_s = time.perf_counter() - started
    started = time.perf_counter()
    run.finish()
    finish_s = time.perf_counter() - started
    finished_at = time.time()
    size = (run.dir / "history.jsonl").stat().st_size
    index = final_index(run.dir)
    info = {
        "run": str(run.dir),
        "log_s": log_s,
        "finish_s": finish_s,
        "helper_done_after_s": index.get("written_at", finished_at) - finished_at,
        "helper_cpu_s": index.get("cpu_seconds"),
        "columns_complete": index["source_offset"] == size,
        "history_bytes": size,
    }
    done.write_text(json.dumps(info))
    print(
        f"generated {rows:,} rows x {metrics} metrics in {log_s:.1f} s ({log_s / rows * 1e6:.2f} "
        f"µs/log call, defaults), history {size / 1e6:.0f} MB; finish() {finish_s * 1000:.0f} ms"
    )
    print(
        f"  column helper: columns {'complete' if info['columns_complete'] else 'INCOMPLETE'} "
        f"{info['helper_done_after_s']:.1f} s after finish() returned; helper CPU "
        f"{info['helper_cpu_s']:.1f} s = {info['helper_cpu_s'] / rows * 1e6:.1f} µs/row"
    )
    return run.dir


def final_index(run_dir: Path, timeout: float = 1800.0) -> dict:
    """The column helper's last index (``"final": true``), once it has caught up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            index = json.loads((run_dir / "columns" / "index.json").read_bytes())
            if index.get("final"):
                return index
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{run_dir}: the column helper wrote no final index in {timeout:.0f} s")


def without_columns(run: Path) -> Path:
    """A sibling run directory sharing the same files by hard link, minus ``columns/``."""
    twin = run.parent / (run.name + "-nocols")
    if not twin.exists():
        twin.mkdir()
        for child in run.iterdir():
            if child.is_file():
                os.link(child, twin / child.name)
    return twin


READER = r"""
import json, resource, sys, time
from pathlib import Path
from runview.store.cache import Cache
from runview.store.column_cache import ColumnCache
from runview.store.reader import RunReader
path, cache = Path(sys.argv[1]), sys.argv[2]
started = time.perf_counter()
reader = RunReader(path, cache=ColumnCache(Cache(Path(cache))) if cache != "off" else False)
snapshot = reader.refresh(max_bytes=32 << 20)
while reader.history_pending:
    snapshot = reader.refresh(max_bytes=32 << 20)
elapsed = time.perf_counter() - started
series = snapshot.history.series
spikes = sum(1 for k in series if float(series[k][1].max()) == 1000.0)
work = reader.cache_work()  # what the viewer does after its load
started = time.perf_counter()
if work is not None:
    work.run()
print(json.dumps({"s": elapsed, "cache_s": time.perf_counter() - started,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": snapshot.history.rows, "last": snapshot.history.last_index,
                  "spikes": spikes,
                  "source": reader._fast.source, "problems": list(snapshot.problems)}))
"""


def reader_open(path: Path, cache: str, python: str = sys.executable) -> dict:
    out = subprocess.run(
        [python, "-c", READER, str(path), cache], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@dataclass
class Opened:
    """One open of the viewer: seconds from launch until each thing was on screen (None: never),
    and the peak RSS summed over its processes (MB)."""

    name: float | None = None  # the run's name in the header: the first frame
    tab_bar: float | None = None  # the tab bar: the page is built
    last_step: float | None = None  # the last step's tick label: a chart reaches the run's end
    partial: float | None = None  # the Charts status line says "partial · loading"
    whole: float | None = None  # ... and then no longer: every chart drawn from all its points
    peak_mb: float = 0.0
    # CPU seconds the viewer had used (all its threads) when each of the above was seen: less
    # at the mercy of other processes than the wall times on a shared machine
    cpu: dict[str, float] = field(default_factory=dict)


def viewer_open(
    run: Path,
    cache: str,
    needle: str = "1M",
    timeout: float = 60.0,
    settle_until: Callable[[], object] = lambda: True,
    code: str | None = None,
) -> Opened:
    """``runview RUN --tab charts`` in a pty at 160x48 (``code``: a folder holding another
    ``runview``, put first on its ``PYTHONPATH``), read through a model of the terminal, since the
    viewer writes only the cells that change. After ``needle`` (the last step's tick label) is on
    screen it stays open a second, or until ``settle_until()`` holds and every chart is whole
    (30 s at most), as a user who keeps looking."""
    env = dict(os.environ, TERM="xterm-256color", RUNVIEW_CACHE_DIR=cache)
    if code is not None:
        env["PYTHONPATH"] = code
    opened = Opened()
    title = read_title(run) or run.name
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(
            sys.executable, [sys.executable, "-m", "runview", str(run), "--tab", "charts"], env
        )
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    proc = psutil.Process(pid)
    screen = Screen(160, 48)
    last_step = re.compile(r"(?<![0-9.])" + re.escape(needle) + r"(?![0-9])")
    next_sample = 0.0
    settle = math.inf
    while time.monotonic() - started < timeout:
        now = time.monotonic()
        if now >= next_sample:
            next_sample = now + 0.05
            try:
                procs = [proc, *proc.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running()) / 1e6
                opened.peak_mb = max(opened.peak_mb, rss)
            except psutil.Error:
                pass
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                screen.feed(os.read(fd, 1 << 16))
            except OSError:
                break
            at = time.monotonic() - started
            before = (opened.name, opened.tab_bar, opened.last_step, opened.partial, opened.whole)
            rows = ["".join(row) for row in screen.cells]
            status = next((row for row in rows if " charts · columns " in row), "")
            if opened.name is None and any(title in row for row in rows):
                opened.name = at
            if opened.tab_bar is None and any("1 Overview" in row for row in rows):
                opened.tab_bar = at
            if opened.last_step is None and any(last_step.search(row) for row in rows):
                opened.last_step = at
                settle = time.monotonic() + 1.0  # keep sampling RSS for a second after it
            if opened.partial is None and "partial · loading" in status:
                opened.partial = at
            if opened.partial is not None and opened.whole is None and status:
                if "partial" not in status:
                    opened.whole = at
            after = (opened.name, opened.tab_bar, opened.last_step, opened.partial, opened.whole)
            for label, old, new in zip(
                ("name", "tab bar", "last step", "partial", "whole"), before, after
            ):
                if old is None and new is not None:
                    opened.cpu[label] = cpu_seconds(proc)
        whole = opened.partial is None or opened.whole is not None
        if time.monotonic() >= settle:
            if (settle_until() and whole) or time.monotonic() >= settle + 29:
                break
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + 2
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                os.read(fd, 1 << 16)
            except OSError:
                break
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    os.close(fd)
    return opened


def cpu_seconds(proc: psutil.Process) -> float:
    """User and system CPU seconds of ``proc`` and its children so far (0 once it is gone)."""
    try:
        procs = [proc, *proc.children(recursive=True)]
        return sum(sum(p.cpu_times()[:2]) for p in procs)
    except psutil.Error:
        return 0.0


def tensorboard_part(data: Path, rows: int, metrics: int) -> None:
    try:
        from tensorboard.backend.event_processing.event_accumulator import (  # noqa: F401
            EventAccumulator,  # imported in a subprocess below; here only to say whether it exists
        )
        from tensorboardX import SummaryWriter
    except ImportError:
        print(
            "\n(tensorboard / tensorboardX not importable: run this script with "
            "/tmp/tbvenv/bin/python for part 4)"
        )
        return
    import numpy as np

    import runview

    root = data / f"tb-{rows}"
    keys = metric_keys(metrics)
    if not (root / "done").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        writer = SummaryWriter(str(root / "tb"))
        run = runview.init(project="tb", dir=root / "rv")
        rng = np.random.default_rng(0)
        for step in range(1, rows + 1):
            values = (rng.random(metrics) * 0.1 + 1.0).tolist()
            for key, value in zip(keys, values):
                writer.add_scalar(key, value, step)
            run.log(dict(zip(keys, values)), step=step)
        writer.close()
        run.finish()
        final_index(run.dir)
        (root / "run").write_text(str(run.dir))
        (root / "done").write_text("ok")
    run_dir = Path((root / "run").read_text())
    code = (
        "import sys, time, resource;"
        "from tensorboard.backend.event_processing.event_accumulator import EventAccumulator;"
        "t = time.perf_counter(); acc = EventAccumulator(sys.argv[1], "
        "size_guidance={'scalars': 0}); acc.Reload();"
        "n = sum(len(acc.Scalars(tag)) for tag in acc.Tags()['scalars']);"
        "print(time.perf_counter() - t, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / "
        "1024)"
    )
    tb = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", code, str(root / "tb")],
            capture_output=True,
            text=True,
            check=True,
        )
        tb.append(out.stdout.split())
    cols = [reader_open(run_dir, "off") for _ in range(2)]
    twin = without_columns(run_dir)
    jsonl = reader_open(twin, "off")
    print(
        f"\n4. {rows:,} steps x {metrics} metrics: TensorBoard EventAccumulator (scalars: 0) vs "
        "runview RunReader"
    )
    for seconds, points, rss in tb:
        print(
            f"  tensorboard Reload()            {float(seconds):6.2f} s  {int(points):,} points  "
            f"peak RSS {float(rss):.0f} MB"
        )
    for r in cols:
        print(
            f"  runview, columns                {r['s']:6.2f} s  {r['rows']:,} rows  peak RSS "
            f"{r['rss_mb']:.0f} MB"
        )
    print(
        f"  runview, JSONL only             {jsonl['s']:6.2f} s  {jsonl['rows']:,} rows  peak RSS "
        f"{jsonl['rss_mb']:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "runview-bench-load"
    )
    parser.add_argument("--tb-rows", type=int, default=100_000)
    parser.add_argument("--tensorboard-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--baseline", default=None, help="part 3 also for another runview, in this folder"
    )
    parser.add_argument(
        "--columns-only",
        action="store_true",
        help="skip the runs-without-columns and TensorBoard parts (minutes)",
    )
    args = parser.parse_args()
    print(machine())
    if args.tensorboard_only:
        tensorboard_part(args.data, args.tb_rows, args.metrics)
        return
    run = generate(args.data / f"run-{args.rows}x{args.metrics}", args.rows, args.metrics)
    # The x axis's label for the last step (its ticks are round; the run's rows are too)
    tick = format_tick(args.rows)

    print(
        f"\n2. RunReader to a full snapshot ({args.rows:,} rows x {args.metrics} metrics), fresh "
        "process each, no cache"
    )
    for _ in range(args.repeat):
        r = reader_open(run, "off")
        print(
            f"  columns            {r['s']:6.2f} s  peak RSS {r['rss_mb']:4.0f} MB  rows "
            f"{r['rows']:,} spikes {r['spikes']}/{args.metrics} ({r['source']})"
        )
    print(
        "\n3. runview PATH --tab charts in a pty at 160x48, cold (an empty RUNVIEW_CACHE_DIR each "
        "time): until the x axis shows the last step, peak RSS over the viewer's processes"
    )
    versions: list[tuple[str, str | None]] = [("this tree", None)]
    if args.baseline:
        versions.append(("baseline", args.baseline))
        print(f"  baseline: the runview package in {args.baseline}")
    for _version, code in versions:
        print(f"  {compiled(code)}")
    for attempt in range(args.repeat):
        for version, code in versions:  # alternated, so machine noise hits both alike
            cold = args.data / f"cold-cache-{attempt}"
            shutil.rmtree(cold, ignore_errors=True)
            opened = viewer_open(run, str(cold), needle=tick, code=code)
            print(f"  {version}, columns, open {attempt + 1} (cold): {describe(opened)}")
    if args.columns_only:
        return

    twin = without_columns(run)
    cache = args.data / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    r = reader_open(twin, "off")
    print(
        f"\n  run without columns, JSONL only  {r['s']:6.2f} s  peak RSS {r['rss_mb']:4.0f} MB "
        f"rows {r['rows']:,} spikes {r['spikes']}/{args.metrics} ({r['source']})"
    )
    r = reader_open(twin, str(cache))
    print(
        f"  same, then the viewer's cache step  {r['cache_s']:6.2f} s to write the entry; "
        f"from the cache: {reader_open(twin, str(cache))['s']:.2f} s"
    )
    viewer_cache = args.data / "cache-viewer"
    shutil.rmtree(viewer_cache, ignore_errors=True)
    entry_written = None
    for label in ("no columns, cache cold", "no columns, second open"):
        opened = viewer_open(
            twin, str(viewer_cache), settle_until=lambda: cache_entries(viewer_cache)
        )
        print(f"  {label}: {describe(opened)}")
        if entry_written is None:
            entry_written = bool(cache_entries(viewer_cache))
            print(f"    (the viewer wrote its cache entry before quitting: {entry_written})")
    tensorboard_part(args.data, args.tb_rows, args.metrics)


def compiled(code: str | None) -> str:
    """Byte-compile the runview package that an open runs (``code``: a folder holding it; None:
    the one imported here), as an install does, so each open does not compile it from source
    again (which it does where ``PYTHONDONTWRITEBYTECODE`` is set: ~0.1-0.2 s of every start)."""
    import compileall

    if code is None:
        import runview

        package = Path(runview.__file__).resolve().parent
        folders = [package, *(package.parent / sub for sub in ("tui", "store", "collectors"))]
    else:
        # A checkout (``tui``, ``store``, ``collectors`` beside ``runview``), or subpackages as
        # links inside it (``bench_live_terminal.py``'s layout). Compiling ``runview`` alone left
        # a checkout's subpackages to be compiled from source at each open: ~0.09 s of every
        # start, in the baseline's figures only (before 2026-12-05).
        package = Path(code) / "runview"
        links = [sub.resolve() for sub in package.iterdir() if sub.is_symlink()]
        folders = [package, *links, *(Path(code) / sub for sub in ("tui", "store", "collectors"))]
    folders = [folder for folder in folders if folder.is_dir()]
    ok = all(compileall.compile_dir(folder, quiet=2) for folder in folders)
    return f"byte-compiled {', '.join(map(str, folders))}" + ("" if ok else " (with errors)")


def describe(opened: Opened) -> str:
    """One open's figures on one line."""

    def at(seconds: float | None) -> str:
        return "never" if seconds is None else f"{seconds:.2f} s"

    partial = (
        f"; marked partial from {at(opened.partial)}, every chart whole at {at(opened.whole)}"
        if opened.partial is not None
        else "; never marked partial"
    )
    cpu = ", ".join(f"{label} {seconds:.2f}" for label, seconds in opened.cpu.items())
    return (
        f"name {at(opened.name)}, tab bar {at(opened.tab_bar)}, last step on a chart "
        f"{at(opened.last_step)}{partial}; peak RSS {opened.peak_mb:.0f} MB\n"
        f"      CPU s used by then: {cpu}"
    )


def cache_entries(root: Path) -> list[Path]:
    return list((root / "columns").glob("*/index.json"))


if __name__ == "__main__":
    main()
