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
from textual.binding import Binding, BindingType
from textual.widgets import Select, Static

from runview.store.reader import RunSnapshot
from runview.store.series import SeriesSnapshot
from runview.tui.chart_edit import ChartEditScreen
from runview.tui.format import format_bytes
from runview.tui.safe_text import visible
from runview.tui.tabs.chart_tab import PINNED, ChartTab
from runview.tui.view_state import SYSTEM, X_METRIC, X_RELATIVE, ChartEdit
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


def system_specs(
    system: SeriesSnapshot,
    meta: dict[str, Any],
    pinned: Set[str] | None = None,
    edits: Mapping[str, ChartEdit] | None = None,
) -> list[ChartSpec]:
    """One chart per metric; GPU metrics overlaid one series per device; all cores on one chart.

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

    def section(chart_id: str) -> str:
        prefix = chart_id.partition("/")[0] if "/" in chart_id else "other"
        return prefix

    def order(chart_id: str) -> tuple[int, str]:
        name = section(chart_id)
        return (
            SECTION_ORDER.index(name) if name in SECTION_ORDER else len(SECTION_ORDER),
            chart_id,
        )

    specs = []
    for chart_id in sorted(grouped, key=order):
        members = sorted(grouped[chart_id])
        legend = len(members) <= MAX_LEGEND
        series = tuple((key, label if legend else "") for _i, key, label in members)
        title = f"{chart_id} ({len(members)} cores)" if chart_id == "cpu/core" else chart_id
        specs.append(
            ChartSpec(
                chart_id, title, section(chart_id), series, x_offset=offset, x_label="seconds"
            )
        )
    pinned, edits = pinned or set(), edits or {}
    specs = [replace(s, section=PINNED) for s in specs if s.chart_id in pinned] + [
        s for s in specs if s.chart_id not in pinned
    ]
    return [apply_system_edit(s, edits[s.chart_id]) if s.chart_id in edits else s for s in specs]


def apply_system_edit(spec: ChartSpec, edit: ChartEdit) -> ChartSpec:
    """``spec`` as the user edited it. x stays seconds since the start unless it is another metric.

    The chart's own series keep their labels (``0 H100``), so the per-GPU overlay survives an edit.
    """
    labels = dict(spec.series)
    y_keys = edit.y_keys or tuple(labels)
    x_metric = edit.x_axis == X_METRIC and bool(edit.x_key)
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
    )


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
        part(
            "mem",
            " ".join(
                p
                for p in (format_bytes(used), f"({percent:.0f}%)" if percent is not None else "")
                if p
            ),
        )
    rss, proc_cpu = _num(latest.get("proc/rss")), _num(latest.get("proc/cpu_percent"))
    if rss is not None or proc_cpu is not None:
        part(
            "proc",
            " ".join(
                p
                for p in (f"{proc_cpu:.0f}%" if proc_cpu is not None else "", format_bytes(rss))
                if p
            ),
        )
    indices = sorted({int(m.group(1)) for k in latest if (m := GPU_KEY.match(k))})
    names = gpu_names(meta)
    for index in indices:
        fields = []
        for metric, fmt in (
            ("util", "util {:.0f}%"),
            ("mem_percent", "mem {:.0f}%"),
            ("temp", "{:.0f}°C"),
            ("power_w", "{:.0f} W"),
        ):
            value = _num(latest.get(f"gpu/{index}/{metric}"))
            if value is not None:
                fields.append(fmt.format(value))
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
    editor = SystemChartEditScreen

    BINDINGS: ClassVar[list[BindingType]] = [Binding("e", "edit", "Edit", tooltip=EDIT_TIP)]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._header = Text()

    def compose(self) -> ComposeResult:
        yield Static("", classes="system-header")
        yield from self.compose_board()

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        header = current_values(snapshot.system, snapshot.meta)
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
        return system_specs(snapshot.system, snapshot.meta, self.view.pinned, self.view.charts)

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
