"""System: CPU, memory, disk, network and per-GPU charts against seconds since the run started."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from runview.store.reader import RunSnapshot
from runview.store.series import SeriesSnapshot
from runview.tui.safe_text import visible
from runview.tui.screens.base import RunTab
from runview.tui.widgets.chart_board import ChartBoard
from runview.tui.widgets.chart_spec import ChartSpec

GPU_KEY = re.compile(r"^gpu/(\d+)/(.+)$")
CORE_KEY = re.compile(r"^cpu/core/(\d+)$")
SECTION_ORDER = ("gpu", "cpu", "proc", "mem", "disk", "net")
SKIP = {"mem/total", "disk/total"}  # constants: a flat line says nothing
MAX_LEGEND = 8  # more series than this (many cores) are drawn without a legend
EMPTY = "no system samples yet (runview.init(system_interval=...) records them)"


def gpu_names(meta: dict[str, Any]) -> dict[int, str]:
    gpu = meta.get("gpu")
    devices = gpu.get("devices") if isinstance(gpu, dict) else None
    names: dict[int, str] = {}
    for device in devices or []:
        if isinstance(device, dict) and isinstance(device.get("index"), int):
            names[device["index"]] = visible(device.get("name") or "")
    return names


def system_specs(system: SeriesSnapshot, meta: dict[str, Any]) -> list[ChartSpec]:
    """One chart per metric; GPU metrics overlaid one series per device; all cores on one chart."""
    start = meta.get("start_time")
    offset = float(start) if isinstance(start, (int, float)) else float(system.first_index or 0.0)
    names = gpu_names(meta)
    grouped: dict[str, list[tuple[int, str, str]]] = {}  # chart id -> [(order, key, label)]
    for key in system.keys:
        if key.startswith("_") or key in SKIP:
            continue
        if match := GPU_KEY.match(key):
            index = int(match.group(1))
            label = f"{index} {names.get(index, '')}".strip()
            grouped.setdefault(f"gpu/{match.group(2)}", []).append((index, key, label))
        elif match := CORE_KEY.match(key):
            grouped.setdefault("cpu/core", []).append((int(match.group(1)), key, f"core {match.group(1)}"))
        else:
            grouped.setdefault(key, []).append((0, key, key))

    def section(chart_id: str) -> str:
        prefix = chart_id.partition("/")[0] if "/" in chart_id else "other"
        return prefix

    def order(chart_id: str) -> tuple[int, str]:
        name = section(chart_id)
        return (SECTION_ORDER.index(name) if name in SECTION_ORDER else len(SECTION_ORDER), chart_id)

    specs = []
    for chart_id in sorted(grouped, key=order):
        members = sorted(grouped[chart_id])
        legend = len(members) <= MAX_LEGEND
        series = tuple((key, label if legend else "") for _i, key, label in members)
        title = f"{chart_id} ({len(members)} cores)" if chart_id == "cpu/core" else chart_id
        specs.append(ChartSpec(chart_id, title, section(chart_id), series, x_offset=offset, x_label="seconds"))
    return specs


def current_values(system: SeriesSnapshot, meta: dict[str, Any]) -> Text:
    """A line of the latest values: CPU, memory, process, then each GPU."""
    latest = system.latest
    out = Text()

    def part(label: str, value: str) -> None:
        if out:
            out.append("  ·  ", style="dim")
        out.append(f"{label} ", style="bold")
        out.append(value)

    if (cpu := _num(latest.get("cpu/percent"))) is not None:
        part("CPU", f"{cpu:.0f}%")
    used, percent = _num(latest.get("mem/used")), _num(latest.get("mem/percent"))
    if used is not None or percent is not None:
        part("mem", " ".join(p for p in (_bytes(used), f"({percent:.0f}%)" if percent is not None else "") if p))
    rss, proc_cpu = _num(latest.get("proc/rss")), _num(latest.get("proc/cpu_percent"))
    if rss is not None or proc_cpu is not None:
        part("proc", " ".join(p for p in (f"{proc_cpu:.0f}%" if proc_cpu is not None else "", _bytes(rss)) if p))
    indices = sorted({int(m.group(1)) for k in latest if (m := GPU_KEY.match(k))})
    names = gpu_names(meta)
    for index in indices:
        fields = []
        for metric, fmt in (("util", "util {:.0f}%"), ("mem_percent", "mem {:.0f}%"), ("temp", "{:.0f}°C"), ("power_w", "{:.0f} W")):
            value = _num(latest.get(f"gpu/{index}/{metric}"))
            if value is not None:
                fields.append(fmt.format(value))
        part(f"GPU{index}", " ".join([names.get(index, "")] * bool(names.get(index)) + fields) or "—")
    gpu = meta.get("gpu")
    reason = gpu.get("reason") if isinstance(gpu, dict) else None
    if reason:
        part("GPU", str(reason))
    return out


def _num(value: Any) -> float | None:
    return float(value) if type(value) in (int, float) else None


def _bytes(value: float | None) -> str:
    if value is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


class SystemTab(RunTab):
    tab_name = "system"

    HELP_KEYS = [
        ("arrows / hjkl", "move between charts"),
        ("enter", "maximise the focused chart (esc returns)"),
        ("z", "fold / unfold the focused chart's section"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._layout_key: tuple[object, ...] | None = None
        self._header = Text()

    def compose(self) -> ComposeResult:
        yield Static("", classes="system-header")
        yield ChartBoard(EMPTY, classes="system-board")

    @property
    def board(self) -> ChartBoard:
        return self.query_one(ChartBoard)

    def focus_default(self) -> None:
        self.board.focus_first()

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        self.call_later(self._apply_snapshot, snapshot)

    async def _apply_snapshot(self, snapshot: RunSnapshot) -> None:
        system, meta = snapshot.system, snapshot.meta
        header = current_values(system, meta)
        if header != self._header:
            self._header = header
            self.query_one(".system-header", Static).update(header)
        layout_key = (tuple(system.keys), meta.get("start_time"), tuple(sorted(gpu_names(meta).items())))
        if layout_key != self._layout_key:
            self._layout_key = layout_key
            await self.board.set_specs(system_specs(system, meta))
            if self.app.focused is None or self.app.focused is self.board.grid:
                self.call_after_refresh(self.board.focus_first)
        self.board.set_source(system)
