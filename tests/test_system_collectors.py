"""System and GPU collectors: real psutil readings, a real sampler thread, the real no-NVML path.

The one fake is a small pynvml-shaped object, standing in for an NVIDIA driver this machine does not
have; it drives only the per-device record assembly and the reasons for absent metrics.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from itertools import pairwise
from types import SimpleNamespace

import psutil
import pynvml
import pytest

from runview.collectors.gpu import GpuCollector, Nvml
from runview.collectors.sampler import SystemSampler
from runview.collectors.system import ProcessTree, SystemCollector

BUSY = "import time\nend = time.time() + 30\nwhile time.time() < end: pass\n"


def test_system_sample_has_sane_keys(tmp_path):
    collector = SystemCollector(disk_path=tmp_path)
    first = collector.sample()
    assert "cpu/percent" not in first and "net/sent_bps" not in first  # rates need two readings
    time.sleep(0.2)
    record = collector.sample()
    cores = psutil.cpu_count()
    assert 0 <= record["cpu/percent"] <= 100
    assert [k for k in record if k.startswith("cpu/core/")] == [
        f"cpu/core/{i}" for i in range(cores)
    ]
    assert all(0 <= record[f"cpu/core/{i}"] <= 100 for i in range(cores))
    assert 0 < record["mem/used"] < record["mem/total"]
    assert 0 < record["mem/available"] <= record["mem/total"]
    assert 0 <= record["mem/percent"] <= 100
    assert 0 <= record["disk/used_percent"] <= 100 and record["disk/free"] > 0
    for key in ("disk/read_bps", "disk/write_bps", "net/sent_bps", "net/recv_bps"):
        assert record[key] >= 0, key
    assert record["proc/rss"] > 10_000_000  # this interpreter with torch and pytest loaded
    assert record["proc/count"] >= 1 and record["proc/threads"] >= 1
    assert record["proc/cpu_percent"] >= 0
    json.dumps(record, allow_nan=False)
    assert collector.errors == {}


def test_disk_usage_follows_the_run_filesystem(tmp_path):
    record = SystemCollector(disk_path=tmp_path).sample()
    usage = psutil.disk_usage(str(tmp_path))
    assert abs(record["disk/used"] - usage.used) < 256 * 1024 * 1024


@pytest.fixture
def busy_grandchild():
    """A child process that starts a busy grandchild, like a data-loader worker pool."""
    code = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {BUSY!r}])\n"
    child = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        yield child
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)


def test_process_cpu_includes_children_started_after_the_first_sample(busy_grandchild):
    tree = ProcessTree(os.getpid())
    baseline = tree.sample(tree.pids())
    assert "proc/cpu_percent" not in baseline
    deadline = time.time() + 10
    # (other children of this test process, such as runs' column helpers, may come and go)
    while not psutil.Process(busy_grandchild.pid).children() and time.time() < deadline:
        time.sleep(0.05)
    pids = tree.pids()
    assert busy_grandchild.pid in pids and len(pids) >= 3, pids
    (busy,) = psutil.Process(busy_grandchild.pid).children()
    time.sleep(0.5)
    record = tree.sample(tree.pids())
    # This test process sleeps; the grandchild, unseen at the baseline, burns the CPU.
    assert record["proc/cpu_percent"] > 1, record
    assert record["proc/count"] >= 3
    # Over a window, the tree's figure covers what the busy grandchild alone used. The machine's
    # two cores may be shared with other work, so compare with the grandchild's own CPU time.
    start, before = time.monotonic(), sum(busy.cpu_times()[:2])
    time.sleep(1.0)
    used = 100 * (sum(busy.cpu_times()[:2]) - before) / (time.monotonic() - start)
    again = tree.sample(tree.pids())
    assert used > 1 and again["proc/cpu_percent"] >= 0.7 * used, (again, used)


def test_process_tree_of_a_pid_that_exited():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    tree = ProcessTree(child.pid)
    assert tree.pids() == []
    assert tree.sample([child.pid]) == {}  # a worker that exited between pids() and sample()


def test_sampler_emits_at_the_interval_and_stops():
    records: list[dict] = []
    sampler = SystemSampler(records.append, interval=0.05)
    sampler.start()
    time.sleep(1.0)
    sampler.stop()
    count = len(records)
    # Deadlines, not sleeps: every deadline in the second either gave a record or was skipped (a
    # loaded machine makes samples late; a loop that slept after each sample would fall behind
    # and skip none). How close each record sits to its deadline is the scheduler's to decide.
    assert 19 <= count + sampler.skipped <= 22, (count, sampler.skipped)
    assert count >= 8, count
    runtimes = [r["_runtime"] for r in records]
    assert runtimes[0] < 0.05 * (1 + sampler.skipped)  # the first sample comes right away
    gaps = sorted(b - a for a, b in pairwise(runtimes))
    assert gaps[0] > 0 and 0.03 < gaps[len(gaps) // 2] < 0.1, gaps
    assert all(abs(r["_time"] - time.time()) < 5 for r in records)
    assert not any(t.name == "runview-sampler" for t in threading.enumerate())
    time.sleep(0.2)
    assert len(records) == count
    for record in records:
        json.dumps(record, allow_nan=False)


def test_slow_emit_skips_samples_instead_of_queueing():
    times: list[float] = []

    def slow(record: dict) -> None:
        times.append(time.monotonic())
        time.sleep(0.15)  # three intervals

    sampler = SystemSampler(slow, interval=0.05)
    sampler.start()
    time.sleep(1.5)
    sampler.stop()
    assert 4 <= len(times) <= 11, len(times)  # ~1.5 / 0.2, not 1.5 / 0.05 = 30
    assert sampler.skipped >= 2 * len(times) - 2
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) > 0.14, gaps  # no burst of queued samples after a slow one


def test_emit_errors_never_reach_the_caller():
    def broken(record: dict) -> None:
        raise RuntimeError("disk full")

    sampler = SystemSampler(broken, interval=0.05)
    sampler.start()
    time.sleep(0.3)
    sampler.stop()
    assert sampler.failures >= 3 and sampler.samples == 0
    assert sampler.last_error == "RuntimeError: disk full"
    sampler.stop()  # twice is fine


def test_no_nvidia_driver_here_means_no_gpu_keys_and_one_line_reason():
    records: list[dict] = []
    sampler = SystemSampler(records.append, interval=0.05)
    if sampler.gpu_reason is None:
        pytest.skip(f"this machine has an NVIDIA GPU: {sampler.gpu_devices}")
    sampler.start()
    time.sleep(0.2)
    sampler.stop()
    reason = sampler.gpu_reason
    assert (
        reason.startswith(("NVML:", "no NVIDIA GPU")) and "\n" not in reason and len(reason) < 120
    )
    assert sampler.gpu_devices == []
    assert records and not any(k.startswith("gpu/") for r in records for k in r)
    assert sampler.describe()["gpu"] == {
        "reason": reason,
        "devices": [],
        "recorded": [],
        "absent": {},
        "notes": {},
    }


# A pynvml-shaped stand-in for the NVIDIA driver this machine lacks.


class FakeError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value


class FakeNvml:
    NVMLError = FakeError
    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1
    NVML_GPM_METRICS_GET_VERSION = pynvml.NVML_GPM_METRICS_GET_VERSION
    c_nvmlGpmMetricsGet_t = pynvml.c_nvmlGpmMetricsGet_t  # plain ctypes, no driver needed

    def __init__(self, gpm: str = "unsupported", init_error: int | None = None) -> None:
        self.gpm, self.init_error, self.calls = gpm, init_error, {}

    def _count(self, name):
        self.calls[name] = self.calls.get(name, 0) + 1

    def nvmlInit(self):
        if self.init_error:
            raise FakeError(self.init_error)

    def nvmlShutdown(self):
        pass

    def nvmlDeviceGetCount(self):
        return 1

    def nvmlDeviceGetHandleByIndex(self, index):
        return f"handle{index}"

    def nvmlDeviceGetName(self, handle):
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetUUID(self, handle):
        return "GPU-1234"

    def nvmlDeviceGetMemoryInfo(self, handle):
        return SimpleNamespace(total=80 * 2**30, used=20 * 2**30, free=60 * 2**30)

    def nvmlDeviceGetUtilizationRates(self, handle):
        return SimpleNamespace(gpu=99, memory=31)

    def nvmlDeviceGetTemperature(self, handle, sensor):
        return 75

    def nvmlDeviceGetPowerUsage(self, handle):
        return 698_500

    def nvmlDeviceGetEnforcedPowerLimit(self, handle):
        return 700_000

    def nvmlDeviceGetClockInfo(self, handle, clock):
        self._count("clock")
        raise FakeError(3)  # NVML_ERROR_NOT_SUPPORTED

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        return [
            SimpleNamespace(pid=os.getpid(), usedGpuMemory=5 * 2**30),
            SimpleNamespace(pid=1, usedGpuMemory=2**30),
        ]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle):
        return [SimpleNamespace(pid=os.getpid(), usedGpuMemory=None)]

    def nvmlGpmQueryDeviceSupport(self, handle):
        if self.gpm == "virtualised":
            raise FakeError(3)
        return SimpleNamespace(isSupportedDevice=int(self.gpm == "supported"))

    def nvmlGpmSampleAlloc(self):
        return pynvml.c_nvmlGpmSample_t()

    def nvmlGpmSampleGet(self, handle, sample):
        return sample

    def nvmlGpmSampleFree(self, sample):
        pass

    def nvmlGpmMetricsGet(self, request):
        values = {2: 87.5, 3: 40.0, 5: 61.0, 10: float("nan")}
        for slot in range(request.numMetrics):
            request.metrics[slot].value = values[request.metrics[slot].metricId]
        return request


def open_fake(**kwargs) -> tuple[GpuCollector, FakeNvml]:
    fake = FakeNvml(**kwargs)
    collector = GpuCollector(Nvml(fake))
    return collector, fake


def test_gpu_record_assembly_and_absent_reasons():
    collector, fake = open_fake()
    assert collector.open() and collector.reason is None
    assert collector.device_facts == [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "uuid": "GPU-1234",
            "memory_total": 80 * 2**30,
        }
    ]
    record = collector.sample({os.getpid()})
    assert record == {
        "gpu/0/util": 99,
        "gpu/0/mem_util": 31,
        "gpu/0/mem_used": 20 * 2**30,
        "gpu/0/mem_percent": 25.0,
        "gpu/0/temp": 75,
        "gpu/0/power_w": 698.5,
        "gpu/0/power_limit_w": 700.0,
        "gpu/0/proc_mem": 5 * 2**30,  # only this process, not pid 1
    }
    collector.sample({os.getpid()})
    assert fake.calls["clock"] == 1  # "not supported" is remembered, not asked again
    described = collector.describe()
    assert described["absent"]["gpu/0/sm_clock_mhz"] == "nvmlDeviceGetClockInfo: not supported"
    for name in ("sm_active", "tensor_active", "dram_active"):
        assert "needs Hopper" in described["absent"][f"gpu/0/{name}"]
    assert "gpu/0/util" in described["recorded"] and "gpu/0/proc_mem" in described["recorded"]


def test_gpm_unsupported_under_virtualisation_says_why():
    collector, _ = open_fake(gpm="virtualised")
    collector.open()
    absent = collector.describe()["absent"]
    assert absent["gpu/0/tensor_active"].startswith("GPM support query failed: not supported")


def test_gpm_metrics_come_from_two_samples_and_nan_is_dropped():
    collector, _ = open_fake(gpm="supported")
    collector.open()
    assert "gpu/0/sm_active" not in collector.sample({os.getpid()})  # too soon after open
    time.sleep(0.06)
    record = collector.sample({os.getpid()})
    assert record["gpu/0/sm_active"] == 87.5 and record["gpu/0/tensor_active"] == 61.0
    assert "gpu/0/dram_active" not in record  # NaN from the driver is omitted, never written
    json.dumps(record, allow_nan=False)


def test_nvml_init_failure_is_a_reason_not_an_exception():
    collector, _ = open_fake(init_error=12)  # NVML_ERROR_LIBRARY_NOT_FOUND
    assert not collector.open()
    assert collector.reason == "NVML: driver library not found (no NVIDIA driver installed)"
    assert collector.sample({os.getpid()}) == {}


def test_the_console_helper_is_not_counted_as_training(tmp_path) -> None:
    import json
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent("""
        import sys, time, runview
        run = runview.init(project="p", dir=sys.argv[1], system_interval=0.2)  # console captured
        time.sleep(1.0)
        run.finish()
    """)
    )
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    run_dir = next((tmp_path / "runs").glob("p/*"))
    assert json.loads((run_dir / "meta.json").read_text())["console"] in ("pipe", "pty")
    counts = [
        json.loads(line).get("proc/count")
        for line in (run_dir / "system.jsonl").read_text().splitlines()
    ]
    assert counts and set(counts) == {1}  # the training process alone, not the tee helper
