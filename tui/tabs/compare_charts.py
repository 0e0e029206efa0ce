"""A comparison's Charts and System tabs: the chart tabs' own code, with series from several runs.

Specs are made as a run's page makes them (for every metric any shown run has), then each series
is drawn once per shown run, or once per group with its band (``overlay``). Everything else --
search, smoothing, pins, folds, edits, maximise, the saved layout of the project -- is ChartTab's.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from runview.store.series import SeriesSnapshot
from runview.tui.chart_edit import ChartEditScreen
from runview.tui.compare_snapshot import CompareSnapshot
from runview.tui.run_colors import run_color
from runview.tui.tabs.chart_tab import PINNED, ChartTab
from runview.tui.tabs.charts import metric_specs, run_start
from runview.tui.tabs.system import (
    SECTION_ORDER,
    SKIP,
    SystemChartEditScreen,
    apply_system_edit,
    chart_unit,
)
from runview.tui.view_state import CHARTS, SYSTEM, X_METRIC, X_RELATIVE, ChartEdit
from runview.tui.widgets.chart_spec import ChartSpec

LEGEND_MAX = 4  # more lines than this: the chart has no legend inside, the page's legend names them
CORE_KEY = re.compile(r"^cpu/core/\d+$")  # one line per core per run is noise: left out here


def overlay(
    spec: ChartSpec, compare: CompareSnapshot, starts: list[float], relative: bool
) -> ChartSpec:
    """A run's chart as a comparison's: each series once per shown run or group, in its colour.

    ``relative``: x is time, and each run's starts at 0 (``starts``: when each run started).
    """
    series: list[tuple[str, str]] = []
    members: list[tuple[int, ...]] = []
    colors: list[str | int] = []
    for key, label in spec.series:
        for group in compare.groups:
            name = compare.group_label(group)
            series.append((key, name if len(spec.series) == 1 else f"{name} · {label}"))
            members.append(group)
            colors.append(run_color(group[0]))
    return replace(
        spec,
        series=tuple(series),
        members=tuple(members),
        colors=tuple(colors),
        legend=spec.legend and len(series) <= LEGEND_MAX,
        x_offsets=tuple(starts) if relative else (),
    )


def _starts(compare: CompareSnapshot) -> list[float]:
    return [run_start(run) or 0.0 for run in compare.runs]


def _shown_keys(compare: CompareSnapshot, stream: str) -> list[str]:
    keys: set[str] = set()
    for index in compare.shown:
        keys.update(getattr(compare.runs[index], stream).series)
    return sorted(keys)


class CompareChartsTab(ChartTab):
    """Every metric of the compared runs, overlaid."""

    tab_name = "charts"
    state_section = CHARTS  # the project's chart layout: a comparison opens as its runs do
    search_id = "compare-charts-search"
    board_class = "charts-board"
    empty_text = "none of the shown runs logged metrics yet"

    def chart_source(self, snapshot: Any) -> tuple[SeriesSnapshot, ...]:
        return tuple(run.history for run in snapshot.runs)

    def layout_key(self, snapshot: Any) -> Hashable:
        compare: CompareSnapshot = snapshot
        return (tuple(_shown_keys(compare, "history")), compare.groups)

    def build_specs(self, snapshot: Any) -> list[ChartSpec]:
        compare: CompareSnapshot = snapshot
        starts = _starts(compare)
        view = self.view
        specs = metric_specs(_shown_keys(compare, "history"), view.pinned, view.charts)
        return [overlay(spec, compare, starts, spec.x_axis == X_RELATIVE) for spec in specs]

    def edit_screen(self, chart_id: str, edit: ChartEdit, snapshot: Any) -> ChartEditScreen:
        return ChartEditScreen(chart_id, edit, (chart_id,), _shown_keys(snapshot, "history"))


def system_section(key: str) -> str:
    return key.partition("/")[0] if "/" in key else "other"


class CompareSystemTab(ChartTab):
    """Every system metric of the compared runs, against seconds since each run started."""

    tab_name = "system"
    state_section = SYSTEM
    search_id = "compare-system-search"
    board_class = "system-board"
    empty_text = "none of the shown runs recorded system samples"

    @classmethod
    def editor(cls) -> type[SystemChartEditScreen]:
        return SystemChartEditScreen

    def chart_source(self, snapshot: Any) -> tuple[SeriesSnapshot, ...]:
        return tuple(run.system for run in snapshot.runs)

    def layout_key(self, snapshot: Any) -> Hashable:
        compare: CompareSnapshot = snapshot
        return (tuple(self._keys(compare)), compare.groups, tuple(_starts(compare)))

    def _keys(self, compare: CompareSnapshot) -> list[str]:
        return [
            key
            for key in _shown_keys(compare, "system")
            if not key.startswith("_") and key not in SKIP and not CORE_KEY.match(key)
        ]

    def build_specs(self, snapshot: Any) -> list[ChartSpec]:
        compare: CompareSnapshot = snapshot
        keys = self._keys(compare)
        pinned, edits = self.view.pinned, self.view.charts

        def order(key: str) -> tuple[int, str]:
            section = system_section(key)
            rank = SECTION_ORDER.index(section) if section in SECTION_ORDER else len(SECTION_ORDER)
            return (rank, key)

        # one unit per metric for every run: bytes scaled for the largest run's latest value
        latest: dict[str, float] = {}
        for index in compare.shown:
            for key, value in compare.runs[index].system.latest.items():
                if type(value) in (int, float) and abs(value) >= abs(latest.get(key, 0.0)):
                    latest[key] = value
        units = {key: chart_unit([key], latest) for key in keys}
        specs = [
            ChartSpec(
                key,
                f"{key} ({units[key].name})" if units[key].name else key,
                PINNED if key in pinned else system_section(key),
                ((key, key),),
                x_label="seconds since start",  # samples' own x is their time
                unit=units[key].name,
                y_scale=units[key].scale,
            )
            for key in sorted(keys, key=order)
        ]
        specs = [s for s in specs if s.section == PINNED] + [
            s for s in specs if s.section != PINNED
        ]
        specs = [
            apply_system_edit(s, edits[s.chart_id]) if s.chart_id in edits else s for s in specs
        ]
        starts = _starts(compare)
        return [overlay(spec, compare, starts, spec.x_axis != X_METRIC) for spec in specs]

    def default_edit(self) -> ChartEdit:
        return ChartEdit(x_axis=X_RELATIVE)

    def edit_screen(self, chart_id: str, edit: ChartEdit, snapshot: Any) -> ChartEditScreen:
        return SystemChartEditScreen(chart_id, edit, [chart_id], self._keys(snapshot))
