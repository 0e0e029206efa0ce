"""CPU, memory, disk and network of the machine and of the training process tree, through psutil.

Rates and percentages are differences between two readings, so the first reading of a
:class:`SystemCollector` only primes its counters; keys that need a previous reading appear from the
second sample on. CPU percentages come from ``psutil.cpu_times`` differences kept here rather than
``psutil.cpu_percent``, whose module-level state other code in the training process may share.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from typing import Any

import psutil

from runview.collectors.own_children import running

MIN_RATE_WINDOW = 0.02  # seconds; shorter windows give quantised, meaningless rates


def _busy_total(times: Any) -> tuple[float, float]:
    """Busy and total CPU seconds of one ``cpu_times`` reading, counted as psutil does."""
    total = sum(times)
    # On Linux guest time is already inside user/nice.
    total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def _percent(
    busy_now: float, total_now: float, busy_then: float, total_then: float
) -> float | None:
    span = total_now - total_then
    if span <= 0:
        return None
    return min(100.0, max(0.0, 100.0 * (busy_now - busy_then) / span))


class ProcessTree:
    """The training process and its descendants, with CPU time differences per process.

    Process objects are kept between samples (psutil checks a pid was not reused through its
    create time), and each process's CPU seconds are remembered, so a child that appeared since the
    last sample counts with all its CPU time, and a child that exited does not make the sum go
    backwards (its CPU time since the last sample is lost, which is small).
    """

    def __init__(self, pid: int | None = None, exclude: frozenset[int] = frozenset()) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.exclude = exclude  # runview's own helpers (the console tee) are not training
        self._procs: dict[int, psutil.Process] = {}
        self._cpu: dict[int, float] = {}  # pid -> CPU seconds at the last sample
        self._last: float | None = None  # time.monotonic() of the last sample
        self._cores = psutil.cpu_count() or 1
        self._fast_children = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")

    def pids(self) -> list[int]:
        """The root pid and all its descendants that are alive now, runview's own left out."""
        exclude = self.exclude | running()
        if self._fast_children:
            try:
                return [pid for pid in self._walk_proc() if pid not in exclude]
            except OSError:
                pass  # the root exited, or /proc is odd: psutil's walk says which
        try:
            root = psutil.Process(self.pid)
            excluded = set(exclude)
            for pid in exclude:
                try:
                    excluded.update(c.pid for c in psutil.Process(pid).children(recursive=True))
                except psutil.Error:
                    pass
            return [
                self.pid,
                *(c.pid for c in root.children(recursive=True) if c.pid not in excluded),
            ]
        except psutil.Error:
            return []

    def _walk_proc(self) -> list[int]:
        # /proc/<pid>/task/<tid>/children lists each thread's children; reading it costs one open
        # per thread, where psutil's children() reads the stat file of every process on the machine.
        found = [self.pid]
        index = 0
        while index < len(found):
            pid = found[index]
            index += 1
            if pid in self.exclude:
                continue
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                if pid == self.pid:
                    raise
                continue
            for tid in tids:
                try:
                    with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                        found.extend(int(c) for c in fh.read().split())
                except OSError:
                    continue
        return found

    def sample(self, pids: Iterable[int]) -> dict[str, float]:
        """``proc/*`` keys for the given pids (from :meth:`pids`)."""
        now = time.monotonic()
        cpu: dict[int, float] = {}
        procs: dict[int, psutil.Process] = {}
        rss = 0
        threads = 0
        delta = 0.0
        for pid in pids:
            proc = self._procs.get(pid)
            try:
                if proc is None or not proc.is_running():
                    proc = psutil.Process(pid)
                with proc.oneshot():
                    times = proc.cpu_times()
                    memory = proc.memory_info()
                    threads += proc.num_threads()
            except psutil.Error:
                continue
            seconds = times.user + times.system
            procs[pid] = proc
            cpu[pid] = seconds
            rss += memory.rss
            if pid in self._cpu:
                delta += max(0.0, seconds - self._cpu[pid])
            elif self._last is not None:
                # Not in the tree at the last sample, so born since: all its CPU time is new (a
                # pid's create time is no help here, psutil's boot time is rounded to a second).
                delta += min(seconds, (now - self._last) * self._cores)
        record: dict[str, float] = {}
        if procs:
            record["proc/rss"] = rss
            record["proc/count"] = len(procs)
            record["proc/threads"] = threads
        if self._last is not None and now - self._last >= MIN_RATE_WINDOW and procs:
            record["proc/cpu_percent"] = 100.0 * delta / (now - self._last)
        self._procs, self._cpu = procs, cpu
        self._last = now
        return record


class SystemCollector:
    """Machine-wide CPU, memory, disk and network readings, plus the training process tree.

    :meth:`sample` returns a flat dict; a part that fails is left out (its error is kept in
    ``errors``), so one broken source never hides the others.
    """

    def __init__(
        self,
        pid: int | None = None,
        disk_path: str | os.PathLike[str] = ".",
        exclude_pids: frozenset[int] = frozenset(),
    ) -> None:
        self.tree = ProcessTree(pid, exclude_pids)
        self.disk_path = os.fspath(disk_path)
        self.errors: dict[str, str] = {}
        self._last: float | None = None
        self._cpu: list[tuple[float, float]] | None = None
        self._disk: tuple[int, int] | None = None
        self._disk_start: tuple[int, int] | None = None
        self._net: tuple[int, int] | None = None
        self._net_start: tuple[int, int] | None = None
        self.last_pids: list[int] = []

    def sample(self) -> dict[str, float]:
        now = time.monotonic()
        window = None if self._last is None else now - self._last
        if window is not None and window < MIN_RATE_WINDOW:
            window = None  # too short for rates: report levels only, keep the old baseline
        record: dict[str, float] = {}
        for name, part in (
            ("cpu", self._sample_cpu),
            ("mem", self._sample_memory),
            ("disk", self._sample_disk),
            ("net", self._sample_net),
            ("proc", self._sample_proc),
        ):
            try:
                part(record, window)
            except Exception as exc:  # psutil.Error, OSError in a restricted container, ...
                self.errors[name] = f"{type(exc).__name__}: {exc}"
        if window is not None or self._last is None:
            self._last = now
        return {k: v for k, v in record.items() if math.isfinite(v)}

    def _sample_cpu(self, record: dict[str, float], window: float | None) -> None:
        readings = [_busy_total(t) for t in psutil.cpu_times(percpu=True)]
        previous = self._cpu
        if window is None and previous is not None:
            return
        self._cpu = readings
        if previous is None or len(previous) != len(readings):
            return
        busy = total = busy0 = total0 = 0.0
        for index, ((b, t), (b0, t0)) in enumerate(zip(readings, previous)):
            value = _percent(b, t, b0, t0)
            if value is not None:
                record[f"cpu/core/{index}"] = value
            busy, total, busy0, total0 = busy + b, total + t, busy0 + b0, total0 + t0
        overall = _percent(busy, total, busy0, total0)
        if overall is not None:
            record["cpu/percent"] = overall

    def _sample_memory(self, record: dict[str, float], window: float | None) -> None:
        memory = psutil.virtual_memory()
        record["mem/used"] = memory.used
        record["mem/available"] = memory.available
        record["mem/total"] = memory.total
        record["mem/percent"] = memory.percent

    def _sample_disk(self, record: dict[str, float], window: float | None) -> None:
        try:
            usage = psutil.disk_usage(self.disk_path)
        except OSError as exc:
            self.errors["disk_usage"] = f"{type(exc).__name__}: {exc}"
        else:
            record["disk/used"] = usage.used
            record["disk/free"] = usage.free
            record["disk/used_percent"] = usage.percent
        counters = psutil.disk_io_counters()
        if counters is None:  # no /proc/diskstats (some containers)
            self.errors["disk_io"] = "psutil.disk_io_counters() returned None"
            return
        now = (counters.read_bytes, counters.write_bytes)
        self._disk = self._rates(record, "disk", ("read", "write"), now, self._disk, window)
        if self._disk_start is None:
            self._disk_start = now
        record["disk/read_bytes"] = max(0, now[0] - self._disk_start[0])
        record["disk/write_bytes"] = max(0, now[1] - self._disk_start[1])

    def _sample_net(self, record: dict[str, float], window: float | None) -> None:
        sent = recv = 0
        for nic, counters in psutil.net_io_counters(pernic=True).items():
            if nic == "lo" or nic.startswith("lo"):
                continue  # loopback is not network traffic
            sent += counters.bytes_sent
            recv += counters.bytes_recv
        now = (sent, recv)
        self._net = self._rates(record, "net", ("sent", "recv"), now, self._net, window)
        if self._net_start is None:
            self._net_start = now
        record["net/sent_bytes"] = max(0, now[0] - self._net_start[0])
        record["net/recv_bytes"] = max(0, now[1] - self._net_start[1])

    @staticmethod
    def _rates(
        record: dict[str, float],
        prefix: str,
        names: tuple[str, str],
        now: tuple[int, int],
        previous: tuple[int, int] | None,
        window: float | None,
    ) -> tuple[int, int] | None:
        """Write ``<prefix>/<name>_bps`` from two counter readings; the baseline to keep."""
        if previous is None:
            return now
        if window is None:
            return previous
        for name, value, old in zip(names, now, previous):
            if value >= old:  # a counter that went back (device removed) gives no rate
                record[f"{prefix}/{name}_bps"] = (value - old) / window
        return now

    def _sample_proc(self, record: dict[str, float], window: float | None) -> None:
        pids = self.tree.pids()
        self.last_pids = pids
        record.update(self.tree.sample(pids))  # the tree keeps its own time window
        total = record.get("mem/total")
        if "proc/rss" in record and total:
            record["proc/mem_percent"] = 100.0 * record["proc/rss"] / total
