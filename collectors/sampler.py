"""The background thread that samples system and GPU metrics at a fixed interval.

The loop runs against deadlines (next = previous + interval) so it does not drift; when a sample or
the ``emit`` callback takes longer than the interval, the missed deadlines are skipped, never
queued. Nothing here raises into the training process: a failing sample is counted and dropped.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from runview.collectors.gpu import GpuCollector
from runview.collectors.system import SystemCollector


class SystemSampler:
    """Samples CPU, memory, disk, network and NVIDIA GPUs every ``interval`` seconds.

    Each record passed to ``emit`` is a flat dict of finite numbers keyed like ``cpu/percent`` or
    ``gpu/0/util``, plus ``_time`` (``time.time()``) and ``_runtime`` (seconds since
    :meth:`start`). ``emit`` runs on the sampler thread.
    """

    def __init__(
        self,
        emit: Callable[[dict[str, Any]], None],
        interval: float = 2.0,
        pid: int | None = None,
        disk_path: str | os.PathLike[str] = ".",
        exclude_pids: frozenset[int] = frozenset(),
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self.emit = emit
        self.interval = float(interval)
        self.system = SystemCollector(pid=pid, disk_path=disk_path, exclude_pids=exclude_pids)
        self.gpu = GpuCollector()
        try:
            self.gpu.open()
        except Exception as exc:  # open() guards itself; this is the last line of defence
            self.gpu.reason = f"NVML: {type(exc).__name__}: {exc}"
        self.gpu_reason: str | None = self.gpu.reason
        self.gpu_devices: list[dict[str, Any]] = self.gpu.device_facts
        self.samples = 0  # records emitted
        self.skipped = 0  # deadlines missed because a sample or emit ran late
        self.failures = 0  # samples or emits that raised
        self.last_error: str | None = None
        self.cpu_seconds = 0.0  # CPU time the sampler thread spent, emit included
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def start(self) -> None:
        """Start the daemon thread; the first sample is taken right away."""
        if self._thread is not None:
            return
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="runview-sampler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and wait up to ``timeout`` seconds for it; never raises."""
        try:
            self._stop.set()
            thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
            if thread is None or not thread.is_alive():
                self.gpu.close()
        except Exception:
            pass

    def describe(self) -> dict[str, Any]:
        """What is recorded: GPU metrics present and absent (with reasons), and loop counters."""
        return {
            "interval": self.interval,
            "gpu": self.gpu.describe(),
            "system_errors": dict(self.system.errors),
            "samples": self.samples,
            "skipped": self.skipped,
            "failures": self.failures,
            "cpu_seconds": self.cpu_seconds,
        }

    def sample(self) -> dict[str, Any]:
        """One record, taken now on the calling thread (the loop calls this)."""
        record: dict[str, Any] = self.system.sample()
        if self.gpu.devices:
            record.update(self.gpu.sample(self.system.last_pids))
        record = {
            k: v for k, v in record.items() if not (isinstance(v, float) and not math.isfinite(v))
        }
        record["_time"] = time.time()
        record["_runtime"] = time.monotonic() - self._started if self._started else 0.0
        return record

    def _run(self) -> None:
        cpu_start = time.thread_time()
        deadline = time.monotonic()
        while not self._stop.is_set():
            try:
                record = self.sample()
                self.emit(record)
                self.samples += 1
            except Exception as exc:
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
            self.cpu_seconds = time.thread_time() - cpu_start
            deadline += self.interval
            now = time.monotonic()
            if now >= deadline:
                missed = int((now - deadline) // self.interval) + 1
                self.skipped += missed
                deadline += missed * self.interval
            self._stop.wait(deadline - now)
