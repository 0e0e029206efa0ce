"""NVIDIA GPU metrics through NVML, degrading to "absent, and here is why" instead of raising.

Every NVML call goes through :meth:`Nvml.query`, which initialises NVML lazily under a lock and
returns :data:`MISSING` instead of raising (the shape of nvitop's ``nvmlQuery``). Failures that will
not go away (not supported, no permission, function not in this driver) are remembered per device
and metric, so an unsupported query costs one call, not one per sample, and
:meth:`GpuCollector.describe` can say why each absent metric is absent.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any


class _Missing:
    """The value of a query that failed; falsy, and never written into a record."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

# NVML return codes (nvml.h) that will not change while the process runs.
_PERMANENT_CODES = {3: "not supported", 4: "no permission", 13: "function not in this driver"}
_INIT_REASONS = {
    12: "NVML: driver library not found (no NVIDIA driver installed)",
    9: "NVML: NVIDIA driver not loaded",
    4: "NVML: no permission to open the GPU",
    18: "NVML: driver/library version mismatch",
}

# GPM metric ids (nvml.h, nvmlGpmMetricId_t): our key suffix for each.
GPM_METRICS = {
    2: "sm_active",  # NVML_GPM_METRIC_SM_UTIL: % of SMs busy
    3: "sm_occupancy",  # NVML_GPM_METRIC_SM_OCCUPANCY: % of warps active vs theoretical maximum
    5: "tensor_active",  # NVML_GPM_METRIC_ANY_TENSOR_UTIL: % of time any tensor pipe was busy
    10: "dram_active",  # NVML_GPM_METRIC_DRAM_BW_UTIL: % of peak DRAM bandwidth used
}
GPM_MIN_WINDOW = 0.05  # seconds; two GPM samples closer than this give noise, so wait for the next
BASIC_METRICS = (
    "util",
    "mem_util",
    "mem_used",
    "mem_percent",
    "temp",
    "power_w",
    "power_limit_w",
    "sm_clock_mhz",
    "proc_mem",
)


def _load_pynvml() -> Any:
    import pynvml  # nvidia-ml-py

    return pynvml


class Nvml:
    """One NVML library handle with a guarded, lazily initialising query function.

    ``module`` is the ``pynvml`` module (imported on first use); tests pass a small fake with the
    same names, since this machine has no NVIDIA driver.
    """

    def __init__(self, module: Any = None) -> None:
        self._module = module
        self._lock = threading.Lock()
        self._initialised = False
        self.reason: str | None = None  # why NVML is unusable, once init failed

    @property
    def module(self) -> Any:
        return self._module

    def init(self) -> bool:
        """Initialise NVML once; False (and ``reason`` set) when there is no usable driver."""
        with self._lock:
            if self._initialised:
                return True
            if self.reason is not None:
                return False
            if self._module is None:
                try:
                    self._module = _load_pynvml()
                except Exception as exc:  # ImportError, or a broken install
                    self.reason = f"NVML: nvidia-ml-py is not importable ({type(exc).__name__})"
                    return False
            try:
                self._module.nvmlInit()
            except self._module.NVMLError as exc:
                code = getattr(exc, "value", None)
                self.reason = _INIT_REASONS.get(code, f"NVML: init failed ({exc})")
                return False
            except Exception as exc:  # OSError from ctypes and the like
                self.reason = f"NVML: init failed ({type(exc).__name__}: {exc})"
                return False
            self._initialised = True
            return True

    def query(
        self,
        func: str | Callable[..., Any],
        *args: Any,
        on_error: Callable[[Any], None] | None = None,
    ) -> Any:
        """Call an NVML function by name (or a callable); :data:`MISSING` instead of raising.

        ``on_error`` receives the ``NVMLError`` (or other exception) when the call fails.
        """
        if not self._initialised and not self.init():
            return MISSING
        try:
            fn = getattr(self._module, func) if isinstance(func, str) else func
            value = fn(*args)
        except self._module.NVMLError as exc:
            if on_error is not None:
                on_error(exc)
            return MISSING
        except Exception as exc:  # AttributeError for an old nvidia-ml-py, ctypes errors
            if on_error is not None:
                on_error(exc)
            return MISSING
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        return value

    def shutdown(self) -> None:
        with self._lock:
            if self._initialised:
                try:
                    self._module.nvmlShutdown()
                except Exception:
                    pass
                self._initialised = False


def _error_text(exc: Any) -> tuple[str, bool]:
    """A short reason for a failed query, and whether it is permanent."""
    code = getattr(exc, "value", None)
    if code in _PERMANENT_CODES:
        return _PERMANENT_CODES[code], True
    if isinstance(exc, AttributeError):
        return "function not in this nvidia-ml-py", True
    try:
        text = str(exc)
    except Exception:
        text = type(exc).__name__
    return text or type(exc).__name__, False


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _Device:
    """One GPU: its handle, facts, permanently absent metrics and GPM sampling state."""

    def __init__(self, index: int, handle: Any) -> None:
        self.index = index
        self.handle = handle
        self.info: dict[str, Any] = {"index": index}
        self.absent: dict[str, str] = {}  # metric -> why, for failures that will not go away
        self.last_error: dict[str, str] = {}  # metric -> the last transient failure
        self.gpm_samples: list[Any] = []  # [previous, spare] when GPM works
        self.gpm_time = 0.0
        self.seen: set[str] = set()  # metrics recorded at least once
        self.note: dict[str, str] = {}  # metric -> a caveat about its values


class GpuCollector:
    """Finds the NVIDIA GPUs and reads ``gpu/<index>/<metric>`` values, one flat dict per sample.

    Construct it, call :meth:`open` once; ``reason`` is then None when GPU metrics are recorded,
    else one line why not. :meth:`sample` never raises.
    """

    def __init__(self, nvml: Nvml | None = None) -> None:
        self.nvml = nvml or Nvml()
        self.devices: list[_Device] = []
        self.reason: str | None = "NVML: not opened yet"
        self._opened = False

    @property
    def device_facts(self) -> list[dict[str, Any]]:
        return [dict(d.info) for d in self.devices]

    def open(self) -> bool:
        """Initialise NVML and find the GPUs; True when at least one GPU can be sampled."""
        if self._opened:
            return bool(self.devices)
        self._opened = True
        try:
            return self._open()
        except Exception as exc:  # a fake or a driver doing something unexpected
            self.devices = []
            self.reason = f"NVML: device discovery failed ({type(exc).__name__}: {exc})"
            return False

    def _open(self) -> bool:
        nvml = self.nvml
        if not nvml.init():
            self.reason = nvml.reason
            return False
        count = nvml.query("nvmlDeviceGetCount")
        if count is MISSING:
            self.reason = "NVML: could not count GPUs"
            return False
        if count == 0:
            self.reason = "no NVIDIA GPU (NVML found 0 devices)"
            return False
        for index in range(count):
            handle = nvml.query("nvmlDeviceGetHandleByIndex", index)
            if handle is MISSING:
                continue
            device = _Device(index, handle)
            name = nvml.query("nvmlDeviceGetName", handle)
            uuid = nvml.query("nvmlDeviceGetUUID", handle)
            memory = nvml.query("nvmlDeviceGetMemoryInfo", handle)
            device.info.update(
                name=name if isinstance(name, str) else "",
                uuid=uuid if isinstance(uuid, str) else "",
                memory_total=int(memory.total) if memory is not MISSING else 0,
            )
            self._open_gpm(device)
            self.devices.append(device)
        if not self.devices:
            self.reason = f"NVML: none of {count} GPUs could be opened"
            return False
        self.reason = None
        return True

    def _open_gpm(self, device: _Device) -> None:
        """Detect GPM support and take the first of the two samples a GPM reading needs."""
        nvml = self.nvml
        errors: list[Any] = []
        support = nvml.query("nvmlGpmQueryDeviceSupport", device.handle, on_error=errors.append)
        if support is MISSING:
            why = _error_text(errors[0])[0] if errors else "unknown error"
            self._gpm_absent(
                device, f"GPM support query failed: {why} (virtualised GPUs often lack it)"
            )
            return
        if not getattr(support, "isSupportedDevice", 0):
            self._gpm_absent(device, "GPM not supported on this GPU (needs Hopper or newer)")
            return
        samples = [nvml.query("nvmlGpmSampleAlloc", on_error=errors.append) for _ in range(2)]
        if any(s is MISSING for s in samples):
            self._free_gpm(samples)
            why = _error_text(errors[0])[0] if errors else "unknown error"
            self._gpm_absent(device, f"GPM sample allocation failed: {why}")
            return
        if (
            nvml.query("nvmlGpmSampleGet", device.handle, samples[0], on_error=errors.append)
            is MISSING
        ):
            self._free_gpm(samples)
            why = _error_text(errors[0])[0] if errors else "unknown error"
            self._gpm_absent(device, f"GPM sampling failed: {why}")
            return
        device.gpm_samples = samples
        device.gpm_time = time.monotonic()

    def _gpm_absent(self, device: _Device, reason: str) -> None:
        for name in GPM_METRICS.values():
            device.absent[name] = reason

    def _free_gpm(self, samples: Iterable[Any]) -> None:
        for sample in samples:
            if sample is not MISSING:
                self.nvml.query("nvmlGpmSampleFree", sample)

    def sample(self, pids: Iterable[int] = ()) -> dict[str, float]:
        """One reading of every GPU; ``pids`` is the training process tree for ``proc_mem``."""
        record: dict[str, float] = {}
        wanted = set(pids)
        for device in self.devices:
            try:
                self._sample_device(device, wanted, record)
            except Exception as exc:  # never let one device (or a fake) break the sampler
                device.last_error["*"] = f"{type(exc).__name__}: {exc}"
        return record

    def _query(self, device: _Device, metric: str, func: str, *args: Any) -> Any:
        """A guarded query on behalf of ``metric``; remembers why it failed."""
        if metric in device.absent:
            return MISSING

        def failed(exc: Any) -> None:
            text, permanent = _error_text(exc)
            if permanent:
                device.absent[metric] = f"{func}: {text}"
            else:
                device.last_error[metric] = f"{func}: {text}"

        return self.nvml.query(func, device.handle, *args, on_error=failed)

    def _sample_device(self, device: _Device, pids: set[int], record: dict[str, float]) -> None:
        module = self.nvml.module
        prefix = f"gpu/{device.index}/"
        values: dict[str, Any] = {}

        rates = self._query(device, "util", "nvmlDeviceGetUtilizationRates")
        if rates is not MISSING:
            values["util"] = rates.gpu
            values["mem_util"] = rates.memory
        else:
            self._mirror_absent(device, "util", "mem_util")
        memory = self._query(device, "mem_used", "nvmlDeviceGetMemoryInfo")
        if memory is not MISSING:
            values["mem_used"] = int(memory.used)
            if memory.total:
                values["mem_percent"] = 100.0 * memory.used / memory.total
        else:
            self._mirror_absent(device, "mem_used", "mem_percent")
        values["temp"] = self._query(
            device, "temp", "nvmlDeviceGetTemperature", module.NVML_TEMPERATURE_GPU
        )
        power = self._query(device, "power_w", "nvmlDeviceGetPowerUsage")
        if power is not MISSING:
            values["power_w"] = power / 1000.0  # NVML reports milliwatts
        limit = self._query(device, "power_limit_w", "nvmlDeviceGetEnforcedPowerLimit")
        if limit is not MISSING:
            values["power_limit_w"] = limit / 1000.0
        values["sm_clock_mhz"] = self._query(
            device, "sm_clock_mhz", "nvmlDeviceGetClockInfo", module.NVML_CLOCK_SM
        )
        proc_mem = self._process_memory(device, pids)
        if proc_mem is not MISSING:
            values["proc_mem"] = proc_mem
        if device.gpm_samples:
            values.update(self._gpm_values(device))

        for name, value in values.items():
            if _finite(value):
                record[prefix + name] = value
                device.seen.add(name)

    def _mirror_absent(self, device: _Device, source: str, other: str) -> None:
        if source in device.absent:
            device.absent[other] = device.absent[source]

    def _process_memory(self, device: _Device, pids: set[int]) -> Any:
        """GPU memory held by the training process tree: compute and graphics contexts, summed."""
        if not pids:
            return MISSING
        seen: dict[int, int] = {}
        answered = False
        listed = 0
        for func in (
            "nvmlDeviceGetComputeRunningProcesses",
            "nvmlDeviceGetGraphicsRunningProcesses",
        ):
            procs = self._query(device, "proc_mem:" + func, func)
            if procs is MISSING:
                continue
            answered = True
            listed += len(procs)
            for proc in procs:
                used = getattr(proc, "usedGpuMemory", None)
                if proc.pid in pids and isinstance(used, int) and used >= 0:
                    seen[proc.pid] = max(seen.get(proc.pid, 0), used)
        if not answered:
            reasons = [v for k, v in device.absent.items() if k.startswith("proc_mem:")]
            if len(reasons) == 2:
                device.absent["proc_mem"] = "; ".join(reasons)
            return MISSING
        if listed and not seen:
            device.note["proc_mem"] = (
                f"NVML lists {listed} GPU process(es), none in the training process tree "
                "(0 is recorded; in a container the pid namespace may differ)"
            )
        elif seen:
            device.note.pop("proc_mem", None)
        return sum(seen.values())

    def _gpm_values(self, device: _Device) -> dict[str, float]:
        """SM, tensor and DRAM activity between the previous GPM sample and now."""
        module, nvml = self.nvml.module, self.nvml
        now = time.monotonic()
        if now - device.gpm_time < GPM_MIN_WINDOW:
            return {}
        previous, current = device.gpm_samples
        errors: list[Any] = []
        if (
            nvml.query("nvmlGpmSampleGet", device.handle, current, on_error=errors.append)
            is MISSING
        ):
            if errors and _error_text(errors[0])[1]:
                self._gpm_absent(device, f"nvmlGpmSampleGet: {_error_text(errors[0])[0]}")
                self._free_gpm(device.gpm_samples)
                device.gpm_samples = []
            return {}
        request = module.c_nvmlGpmMetricsGet_t()
        request.version = module.NVML_GPM_METRICS_GET_VERSION
        request.sample1 = previous
        request.sample2 = current
        ids = list(GPM_METRICS)
        request.numMetrics = len(ids)
        for slot, metric_id in enumerate(ids):
            request.metrics[slot].metricId = metric_id
        # The newer sample becomes the baseline of the next window.
        device.gpm_samples = [current, previous]
        device.gpm_time = now
        result = nvml.query("nvmlGpmMetricsGet", request, on_error=errors.append)
        if result is MISSING:
            if errors and _error_text(errors[0])[1]:
                self._gpm_absent(device, f"nvmlGpmMetricsGet: {_error_text(errors[0])[0]}")
            return {}
        out: dict[str, float] = {}
        for slot, metric_id in enumerate(ids):
            metric = result.metrics[slot]
            name = GPM_METRICS[metric_id]
            if metric.nvmlReturn != 0:
                text, permanent = _error_text(module.NVMLError(metric.nvmlReturn))
                if permanent:
                    device.absent[name] = f"GPM metric {metric_id}: {text}"
                continue
            if _finite(metric.value):
                out[name] = float(metric.value)
        return out

    def describe(self) -> dict[str, Any]:
        """Which metrics are recorded per GPU, and which are absent with the reason for each."""
        if not self.devices:
            return {"reason": self.reason, "devices": [], "recorded": [], "absent": {}, "notes": {}}
        recorded: list[str] = []
        absent: dict[str, str] = {}
        notes: dict[str, str] = {}
        for device in self.devices:
            prefix = f"gpu/{device.index}/"
            for name in (*BASIC_METRICS, *GPM_METRICS.values()):
                if name in device.seen:
                    recorded.append(prefix + name)
                elif name in device.absent:
                    absent[prefix + name] = device.absent[name]
                else:
                    why = device.last_error.get(name) or device.last_error.get("*")
                    absent[prefix + name] = (
                        f"not recorded yet ({why})" if why else "not recorded yet"
                    )
            for name, text in device.note.items():
                notes[prefix + name] = text
        return {
            "reason": self.reason,
            "devices": self.device_facts,
            "recorded": recorded,
            "absent": absent,
            "notes": notes,
        }

    def close(self) -> None:
        for device in self.devices:
            self._free_gpm(device.gpm_samples)
            device.gpm_samples = []
        self.nvml.shutdown()
