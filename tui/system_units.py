"""The unit of each system metric, and the scale a chart and the System header both show it in.

Bytes are shown in one binary unit per metric (GiB for memory, MiB/s for rates), picked once from
the metric's size, so a chart's ticks, its title and the header's figure read the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PERCENT = re.compile(
    r"^(cpu/percent|cpu/core/\d+|mem/percent|disk/used_percent|proc/(cpu|mem)_percent"
    r"|gpu/\d+/(util|mem_util|mem_percent|sm_active|sm_occupancy|tensor_active|dram_active))$"
)
BYTES = re.compile(
    r"^(mem/(used|available|total)|disk/(used|free|total|read_bytes|write_bytes)"
    r"|net/(sent|recv)_bytes|proc/rss|gpu/\d+/(mem_used|proc_mem))$"
)
RATES = re.compile(r"^(disk/(read|write)_bps|net/(sent|recv)_bps)$")
FIXED = {
    re.compile(r"^gpu/\d+/temp$"): "°C",
    re.compile(r"^gpu/\d+/power(_limit)?_w$"): "W",
    re.compile(r"^gpu/\d+/sm_clock_mhz$"): "MHz",
    re.compile(r"^proc/count$"): "processes",
    re.compile(r"^proc/threads$"): "threads",
    re.compile(r"^_runtime$"): "s",
}
BINARY = (("KiB", 2**10), ("MiB", 2**20), ("GiB", 2**30), ("TiB", 2**40))
RATE = ("MiB/s", 2**20)  # disk and network traffic of a training job: MiB/s reads best


@dataclass(frozen=True)
class Unit:
    """How a metric is shown: values divided by ``scale``, then followed by ``name``."""

    name: str = ""
    scale: float = 1.0

    def format(self, value: float, digits: int = 3) -> str:
        """``3.02 GiB``, ``51%``, ``71°C``: the value in this unit, short."""
        shown = value / self.scale
        number = f"{shown:.0f}" if abs(shown) >= 10**digits else f"{shown:.{digits}g}"
        if not self.name:
            return number
        return f"{number}{self.name}" if self.name in ("%", "°C") else f"{number} {self.name}"


NONE = Unit()


def bytes_unit(size: float) -> Unit:
    """The binary unit ``size`` bytes reads best in (at least KiB: a chart of bytes is rare)."""
    name, scale = BINARY[0]
    for candidate, candidate_scale in BINARY:
        if abs(size) >= candidate_scale:
            name, scale = candidate, candidate_scale
    return Unit(name, scale)


def unit_for(key: str, latest: float | None = None) -> Unit:
    """The unit of system metric ``key``; byte counts scaled for ``latest`` (their size now)."""
    if PERCENT.match(key):
        return Unit("%")
    if RATES.match(key):
        return Unit(*RATE)
    if BYTES.match(key):
        return bytes_unit(latest or 0.0)
    for pattern, name in FIXED.items():
        if pattern.match(key):
            return Unit(name)
    return NONE


def shared_unit(units: list[Unit]) -> Unit:
    """The unit of a chart of several metrics: theirs when they all agree, else none."""
    return units[0] if units and all(u == units[0] for u in units) else NONE
