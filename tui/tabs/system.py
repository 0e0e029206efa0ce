"""System: CPU, memory, disk, network and per-GPU charts against seconds since the run started.

The same keys and saved layout as Charts (``runview.tui.tabs.chart_tab``), kept in the state
file's ``system`` section. System samples have no step, so the editor offers x as seconds since the
start or another system metric sampled at the same moments.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence, Set
from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Select, Static

from runview.store.reader import RunSnapshot
from runview.store.series import SeriesSnapshot
from runview.tui.chart_edit import ChartEditScreen
from runview.tui.safe_text import visible
from runview.tui.system_units import Unit, shared_unit, unit_for
from runview.tui.tabs.chart_tab import PINNED, ChartTab, edit_binding
from runview.tui.view_state import SYSTEM, X_METRIC, X_RELATIVE, ChartEdit, ViewState
from runview.tui.widgets.chart_spec import ChartSpec

GPU_KEY = re.compile(r"^gpu/(\d+)/(.+)$")
CORE_KEY = re.compile(r"^cpu/core/(\d+)$")
SECTION_ORDER = ("gpu", "cpu", "proc", "mem", "disk", "net")
SKIP = {"mem/total", "disk/total"}  # constants: a flat line says nothing
MAX_LEGEND = 8  # more series than this (many cores) are drawn without a legend
EMPTY = "no system samples yet (runview.init(system_interval=...) records them)"
EDIT_TIP = (
    "the focused chart: title, x axis (seconds since start or another system metric), "
    "x / y range, log y, legend, y metrics and their colours"
)


def gpu_names(meta: dict[str, Any]) -> dict[int, str]:
    gpu = meta.get("gpu")
    devices = gpu.get("devices") if isinstance(gpu, dict) else None
    names: dict[int, str] = {}
    for device in devices or []:
        if isinstance(device, dict) and isinstance(device.get("index"), int):
            names[device["index"]] = visible(device.get("name") or "")
    return names


# What a user looks at first, in this order; every other metric waits in a folded section.
# (chart id, title, series (key, label); a "gpu/<metric>" id overlays that metric of every GPU)
OVERVIEW: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("gpu/util", "GPU util", ()),
    ("gpu/mem_percent", "GPU memory", ()),
    ("gpu/temp", "GPU temperature", ()),
    ("gpu/power_w", "GPU power", ()),
    ("cpu/percent", "CPU", (("cpu/percent", "cpu/percent"),)),
    ("mem/used", "memory used", (("mem/used", "mem/used"),)),
    ("disk/io", "disk I/O", (("disk/read_bps", "read"), ("disk/write_bps", "write"))),
    ("net/io", "network", (("net/recv_bps", "received"), ("net/sent_bps", "sent"))),
)
MORE = "more"  # the section of every other metric, folded until the user opens it
HOST = "host"  # the overview's CPU, memory, disk and network charts


def system_specs(
    system: SeriesSnapshot,
    meta: dict[str, Any],
    pinned: Set[str] | None = None,
    edits: Mapping[str, ChartEdit] | None = None,
) -> list[ChartSpec]:
    """The overview's charts (GPUs, CPU, memory, disk and network I/O), then every other metric in
    the folded ``more`` section: one chart per metric, GPU metrics overlaid one series per device,
    all cores on one chart. Each chart's title names its unit.

    Pinned charts come first, in a ``pinned`` section; ``edits`` are applied
    (``apply_system_edit``).
    """
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
            grouped.setdefault("cpu/core", []).append(
                (int(match.group(1)), key, f"core {match.group(1)}")
            )
        else:
            grouped.setdefault(key, []).append((0, key, key))
    latest = system.latest

    def spec(
        chart_id: str, title: str, section: str, series: tuple[tuple[str, str], ...], note: str = ""
    ) -> ChartSpec:
        unit = chart_unit([key for key, _label in series], latest)
        notes = ", ".join(n for n in (unit.name, note) if n)
        return ChartSpec(
            chart_id,
            f"{title} ({notes})" if notes else title,
            section,
            series,
            x_offset=offset,
            x_label="seconds",
            unit=unit.name,
            y_scale=unit.scale,
        )

    specs = []
    shown: set[str] = set()
    for chart_id, title, series in OVERVIEW:
        if chart_id.startswith("gpu/"):
            members = sorted(grouped.get(chart_id, ()))
            series = tuple((key, label) for _i, key, label in members)
        series = tuple((key, label) for key, label in series if key in system.keys)
        if series:
            section = "gpu" if chart_id.startswith("gpu/") else HOST
            specs.append(spec(chart_id, title, section, series))
            shown.update(key for key, _label in series)

    def order(chart_id: str) -> tuple[int, str]:
        name = chart_id.partition("/")[0]
        return (
            SECTION_ORDER.index(name) if name in SECTION_ORDER else len(SECTION_ORDER),
            chart_id,
        )

    for chart_id in sorted(grouped, key=order):
        members = sorted(grouped[chart_id])
        if all(key in shown for _i, key, _label in members):
            continue
        legend = len(members) <= MAX_LEGEND
        series = tuple((key, label if legend else "") for _i, key, label in members)
        note = f"{len(members)} cores" if chart_id == "cpu/core" else ""
        specs.append(spec(chart_id, chart_id, MORE, series, note))
    pinned, edits = pinned or set(), edits or {}
    specs = [replace(s, section=PINNED) for s in specs if s.chart_id in pinned] + [
        s for s in specs if s.chart_id not in pinned
    ]
    return [
        apply_system_edit(s, edits[s.chart_id], latest) if s.chart_id in edits else s for s in specs
    ]


def chart_unit(keys: Sequence[str], latest: Mapping[str, Any]) -> Unit:
    """One unit for a chart's metrics (bytes scaled for the largest of them now), or none when
    they differ."""
    sizes = [abs(v) for key in keys if (v := _num(latest.get(key))) is not None]
    return shared_unit([unit_for(key, max(sizes, default=0.0)) for key in keys])


def apply_system_edit(
    spec: ChartSpec, edit: ChartEdit, latest: Mapping[str, Any] | None = None
) -> ChartSpec:
    """``spec`` as the user edited it. x stays seconds since the start unless it is another metric.

    The chart's own series keep their labels (``0 H100``), so the per-GPU overlay survives an edit.
    Other y metrics bring their own unit (none when they differ).
    """
    labels = dict(spec.series)
    y_keys = edit.y_keys or tuple(labels)
    x_metric = edit.x_axis == X_METRIC and bool(edit.x_key)
    unit = (
        Unit(spec.unit, spec.y_scale)
        if set(y_keys) <= set(labels)
        else chart_unit(y_keys, latest or {})
    )
    return replace(
        spec,
        title=edit.title or spec.title,
        series=tuple((key, labels.get(key, key)) for key in y_keys),
        x_axis=X_METRIC if x_metric else spec.x_axis,
        x_key=edit.x_key if x_metric else "",
        x_offset=0.0 if x_metric else spec.x_offset,
        x_label=edit.x_key if x_metric else spec.x_label,
        x_range=edit.x_range,
        y_range=edit.y_range,
        log_y=edit.log_y,
        legend=edit.legend,
        colors=tuple(edit.color_of(key) for key in y_keys),
        unit=unit.name,
        y_scale=unit.scale,
    )


def current_values(
    system: SeriesSnapshot, meta: dict[str, Any], units: Mapping[str, Unit] | None = None
) -> Text:
    """A line of the latest values: CPU, memory, process, then each GPU.

    Each figure is in the unit its chart shows (``units``: metric -> unit, from the charts), so
    the header and the charts read the same.
    """
    latest = system.latest
    units = units or {}
    out = Text()

    def part(label: str, value: str) -> None:
        if out:
            out.append("  ·  ", style="dim")
        out.append(f"{label} ", style="bold")
        out.append(value)

    def figure(key: str) -> str:
        value = _num(latest.get(key))
        if value is None:
            return ""
        unit = units.get(key) or unit_for(key, value)
        shown = value / unit.scale
        number = f"{shown:.1f}" if unit.scale != 1 else f"{shown:.0f}"
        return f"{number}{unit.name}" if unit.name in ("%", "°C", "") else f"{number} {unit.name}"

    if cpu := figure("cpu/percent"):
        part("CPU", cpu)
    used, percent = figure("mem/used"), figure("mem/percent")
    if used or percent:
        part("mem", " ".join(p for p in (used, f"({percent})" if percent else "") if p))
    proc_cpu, rss = figure("proc/cpu_percent"), figure("proc/rss")
    if rss or proc_cpu:
        part("proc", " ".join(p for p in (proc_cpu, rss) if p))
    indices = sorted({int(m.group(1)) for k in latest if (m := GPU_KEY.match(k))})
    names = gpu_names(meta)
    for index in indices:
        fields = []
        for metric, label in (
            ("util", "util "),
            ("mem_percent", "mem "),
            ("temp", ""),
            ("power_w", ""),
        ):
            value = figure(f"gpu/{index}/{metric}")
            if value:
                fields.append(label + value)
        part(
            f"GPU{index}", " ".join([names.get(index, "")] * bool(names.get(index)) + fields) or "—"
        )
    gpu = meta.get("gpu")
    reason = gpu.get("reason") if isinstance(gpu, dict) else None
    if reason:
        part("GPU", str(reason))
    return out


def _num(value: Any) -> float | None:
    return float(value) if type(value) in (int, float) else None


class SystemChartEditScreen(ChartEditScreen):
    """The chart editor with System's x axes: seconds since the start, or another system metric."""

    def __init__(
        self, chart_id: str, edit: ChartEdit, default_keys: Sequence[str], keys: Sequence[str]
    ) -> None:
        if edit.x_axis not in (X_RELATIVE, X_METRIC):
            edit = replace(edit, x_axis=X_RELATIVE, x_key="")
        super().__init__(chart_id, edit, default_keys, keys)

    def on_mount(self) -> None:
        select = self.query_one("#edit-x", Select)
        value = select.value
        options: list[tuple[Text, tuple[str, str]]] = [
            (Text("seconds since start"), (X_RELATIVE, ""))
        ]
        options += [(Text(f"metric: {key}"), (X_METRIC, key)) for key in self.keys]
        if value not in [v for _prompt, v in options]:
            options.append((Text(f"metric: {self.edit.x_key} (not in this run)"), value))  # type: ignore[arg-type]
        select.set_options(options)
        select.value = value
        select.mutate_reactive(Select.value)  # an unchanged value still shows its new prompt


class SystemTab(ChartTab):
    tab_name = "system"
    state_section = SYSTEM
    search_id = "system-search"
    board_class = "system-board"
    empty_text = EMPTY
    default_view = ViewState(folded=frozenset({MORE}))  # the overview first, the rest folded

    BINDINGS: ClassVar[list[BindingType]] = [edit_binding(EDIT_TIP)]

    @classmethod
    def editor(cls) -> type[SystemChartEditScreen]:
        return SystemChartEditScreen

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._header = Text()
        self._units: dict[str, Unit] = {}

    def compose(self) -> ComposeResult:
        yield Static("", classes="system-header")
        yield from self.compose_board()

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        header = current_values(snapshot.system, snapshot.meta, self._units)
        if header != self._header:
            self._header = header
            self.query_one(".system-header", Static).update(header)
        super().show_snapshot(snapshot)

    def chart_source(self, snapshot: RunSnapshot) -> SeriesSnapshot:
        return snapshot.system

    def layout_key(self, snapshot: RunSnapshot) -> Hashable:
        meta = snapshot.meta
        return (
            tuple(snapshot.system.keys),
            meta.get("start_time"),
            tuple(sorted(gpu_names(meta).items())),
        )

    def build_specs(self, snapshot: RunSnapshot) -> list[ChartSpec]:
        specs = system_specs(snapshot.system, snapshot.meta, self.view.pinned, self.view.charts)
        # the header shows each metric in its chart's unit
        self._units = {
            key: Unit(spec.unit, spec.y_scale)
            for spec in specs
            if spec.unit
            for key, _ in spec.series
        }
        return specs

    def default_edit(self) -> ChartEdit:
        return ChartEdit(x_axis=X_RELATIVE)

    def edit_screen(
        self, chart_id: str, edit: ChartEdit, snapshot: RunSnapshot
    ) -> SystemChartEditScreen:
        # The chart's own metrics, as drawn unedited: the editor compares the selection with them.
        spec = next(
            (s for s in system_specs(snapshot.system, snapshot.meta) if s.chart_id == chart_id),
            None,
        )
        default_keys = [key for key, _label in spec.series] if spec is not None else [chart_id]
        keys = [key for key in snapshot.system.keys if key not in SKIP]
        return SystemChartEditScreen(chart_id, edit, default_keys, keys)
