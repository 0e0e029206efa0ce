"""A board of charts in collapsible sections: grid layout, keyboard navigation, maximise, reduction
worker.

Shared by the Charts and System tabs. The board reduces only the charts a user can see, in a
thread worker, and posts the reduced series back; charts build plotext output on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Grid
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Collapsible, Static
from textual.widgets._collapsible import CollapsibleTitle
from textual.worker import get_current_worker

from runview.store.series import SeriesSnapshot
from runview.tui.widgets.chart import Chart, ChartData
from runview.tui.widgets.chart_nav import ChartGrid, neighbour
from runview.tui.widgets.chart_spec import ChartSpec, prepare_chart, source_stamp

MAX_KEY = "\0max"  # the result key of the maximised chart


def auto_columns(width: int) -> int:
    """Grid columns for a terminal ``width`` cells wide."""
    return 1 if width < 100 else 2 if width < 160 else 3


class ChartBoard(Container):
    """Charts described by ChartSpecs, fed from one SeriesSnapshot."""

    BINDINGS = [
        Binding("enter", "toggle_maximise", "Maximise", show=False),
        Binding("escape", "restore", "Back", show=False),
    ]

    class Reduced(Message):
        """The worker reduced some charts' series: ``results`` maps a chart id to its data."""

        def __init__(self, results: dict[str, ChartData], seq: int) -> None:
            super().__init__()
            self.results = results
            self.seq = seq

    def __init__(
        self, empty_text: str = "no charts", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.empty_text = empty_text
        self.smoothing = 0.0
        self.columns: int | None = None  # None: follow the terminal width
        self.maximised: str | None = None
        self._specs: dict[str, ChartSpec] = {}
        self._layout: list[tuple[str, tuple[str, ...]]] = []
        self._charts: dict[str, Chart] = {}
        self._sections: dict[str, Collapsible] = {}
        self._collapsed: set[str] = set()
        self._shown: Callable[[ChartSpec], bool] = lambda spec: True
        self._source: SeriesSnapshot | None = None
        self._data: dict[str, ChartData] = {}
        self._seq = 0
        self._scheduled = False
        self.requests = 0  # worker starts so far (tests read it to check idle is free)

    def compose(self) -> ComposeResult:
        yield Static(self.empty_text, classes="board-empty")
        yield ChartGrid(classes="board-grid")
        yield Chart(classes="board-max")

    def on_mount(self) -> None:
        self.query_one(".board-max", Chart).display = False
        self.watch(self.grid, "scroll_y", lambda: self.request_reduction(), init=False)

    @property
    def grid(self) -> ChartGrid:
        return self.query_one(".board-grid", ChartGrid)

    @property
    def max_chart(self) -> Chart:
        return self.query_one(".board-max", Chart)

    @property
    def charts(self) -> dict[str, Chart]:
        return self._charts

    def spec(self, chart_id: str) -> ChartSpec | None:
        return self._specs.get(chart_id)

    # -- structure ------------------------------------------------------------------------------
    async def set_specs(self, specs: list[ChartSpec]) -> None:
        """Show these charts, in this order, sections in order of first appearance."""
        self._specs = {spec.chart_id: spec for spec in specs}
        layout: dict[str, list[str]] = {}
        for spec in specs:
            layout.setdefault(spec.section, []).append(spec.chart_id)
        new_layout = [(section, tuple(ids)) for section, ids in layout.items()]
        self.query_one(".board-empty").display = not specs
        if new_layout != self._layout:
            await self._rebuild(new_layout)
        for chart_id, chart in self._charts.items():
            chart.set_title(self._specs[chart_id].title)
        if self.maximised in self._specs:
            self.max_chart.set_title(self._specs[self.maximised].title)
        self._apply_filter()
        self.call_after_refresh(self.request_reduction)

    async def _rebuild(self, layout: list[tuple[str, tuple[str, ...]]]) -> None:
        focused = self.focused_chart_id
        self._layout = layout
        await self.grid.remove_children()
        self._charts, self._sections = {}, {}
        sections = []
        for section, ids in layout:
            charts = []
            for chart_id in ids:
                chart = Chart(self._specs[chart_id].title, chart_id=chart_id)
                chart.set_data(self._data.get(chart_id))
                self._charts[chart_id] = chart
                charts.append(chart)
            box = Collapsible(
                Grid(*charts, classes="board-section-grid"),
                title=section,
                collapsed=section in self._collapsed,
            )
            self._sections[section] = box
            sections.append(box)
        await self.grid.mount_all(sections)
        self._apply_geometry()
        if focused in self._charts:
            self._charts[focused].focus()

    @on(Collapsible.Toggled)
    def _on_toggled(self, event: Collapsible.Toggled) -> None:
        title = str(event.collapsible.title)
        (self._collapsed.add if event.collapsible.collapsed else self._collapsed.discard)(title)
        self.call_after_refresh(self.request_reduction)

    @property
    def folded(self) -> frozenset[str]:
        """Titles of the folded sections (kept for sections this run does not have too)."""
        return frozenset(self._collapsed)

    def set_folded(self, sections: set[str] | frozenset[str]) -> None:
        self._collapsed = set(sections)
        for title, box in self._sections.items():
            box.collapsed = title in self._collapsed

    def set_filter(self, shown: Callable[[ChartSpec], bool]) -> int:
        """Show only charts for which ``shown(spec)``; returns how many are shown."""
        self._shown = shown
        return self._apply_filter()

    def _apply_filter(self) -> int:
        count = 0
        for section, ids in self._layout:
            visible = 0
            for chart_id in ids:
                show = self._shown(self._specs[chart_id])
                self._charts[chart_id].display = show
                visible += show
            if section in self._sections:
                self._sections[section].display = visible > 0
            count += visible
        self.call_after_refresh(self.request_reduction)
        return count

    def set_columns(self, columns: int | None) -> None:
        self.columns = columns
        self._apply_geometry()

    @property
    def effective_columns(self) -> int:
        return self.columns or auto_columns(self.app.size.width)

    def _apply_geometry(self) -> None:
        columns = self.effective_columns
        available = self.size.height or self.app.size.height
        rows = 1 if available < 30 else 2
        height = max(8, min(24, (available - 2 * rows) // rows))
        for box in self._sections.values():
            for grid in box.query(".board-section-grid"):
                grid.styles.grid_size_columns = columns
                grid.styles.grid_rows = str(height)
                for chart in grid.children:
                    chart.styles.height = height
        self.call_after_refresh(self.request_reduction)

    def on_resize(self) -> None:
        self._apply_geometry()

    # -- data -----------------------------------------------------------------------------------
    def set_source(self, source: SeriesSnapshot) -> None:
        """New data arrived; charts whose series moved are reduced again (only the visible ones)."""
        self._source = source
        self.request_reduction()

    def set_smoothing(self, smoothing: float) -> None:
        self.smoothing = smoothing
        self.request_reduction()

    def visible_charts(self) -> list[tuple[str, Chart]]:
        """(result key, chart) of the charts on screen now."""
        if self.maximised is not None:
            return [(MAX_KEY, self.max_chart)]
        view = self.grid.region
        return [
            (chart_id, chart)
            for chart_id, chart in self._charts.items()
            if chart.display and chart.region.area and chart.region.overlaps(view)
        ]

    def request_reduction(self) -> None:
        """Start the worker for the visible charts whose data is missing or stale. Idle: does
        nothing."""
        source = self._source
        if source is None or not self.is_mounted:
            return
        jobs: list[tuple[str, ChartSpec, int, Hashable]] = []
        for key, chart in self.visible_charts():
            spec = self._specs.get(self.maximised if key == MAX_KEY else key)  # type: ignore[arg-type]
            if spec is None:
                continue
            width = max(8, chart.content_size.width)
            stamp = (source_stamp(spec, source), width, self.smoothing, spec)
            if chart.data is None or chart.data.stamp != stamp:
                jobs.append((key, spec, width, stamp))
        if jobs:
            self._seq += 1
            self.requests += 1
            self._reduce(source, jobs, self.smoothing, self._seq)

    @on(Chart.Resized)
    def _on_chart_resized(self, message: Chart.Resized) -> None:
        # Charts laid out after the last request (a finished run sends no more snapshots) need one.
        message.stop()
        if not self._scheduled:
            self._scheduled = True
            self.call_after_refresh(self._scheduled_reduction)

    def _scheduled_reduction(self) -> None:
        self._scheduled = False
        self.request_reduction()

    @work(thread=True, exclusive=True, group="charts", description="reduce visible charts")
    def _reduce(
        self,
        source: SeriesSnapshot,
        jobs: list[tuple[str, ChartSpec, int, Hashable]],
        smoothing: float,
        seq: int,
    ) -> None:
        worker = get_current_worker()
        results: dict[str, ChartData] = {}
        for key, spec, width, stamp in jobs:
            if worker.is_cancelled:
                break  # a newer request covers the rest; what is done is still posted
            try:
                results[key] = prepare_chart(spec, source, width, smoothing, stamp)
            # a column that cannot be read shows as such, never crashes the tab
            except Exception as exc:
                results[key] = ChartData(stamp=stamp, note=f"cannot read this series: {exc}")
        if results:
            self.post_message(self.Reduced(results, seq))

    @on(Reduced)
    def _on_reduced(self, message: Reduced) -> None:
        message.stop()
        for key, data in message.results.items():
            if key == MAX_KEY:
                self.max_chart.set_data(data, message.seq)
                continue
            self._data[key] = data
            chart = self._charts.get(key)
            if chart is not None:
                chart.set_data(data, message.seq)

    # -- focus and keys -------------------------------------------------------------------------
    @property
    def focused_chart_id(self) -> str | None:
        focused = self.app.focused if self.is_mounted else None
        if isinstance(focused, Chart):
            return self.maximised if focused is self.max_chart else focused.chart_id or None
        return None

    def focus_first(self) -> None:
        targets = self._targets()
        if targets:
            targets[0].focus()
        else:
            self.grid.focus()

    def _targets(self) -> list[Widget]:
        """What arrow keys move between: shown charts, and titles of folded sections."""
        out: list[Widget] = []
        for section, ids in self._layout:
            box = self._sections.get(section)
            if box is None or not box.display:
                continue
            if box.collapsed:
                out.extend(box.query(CollapsibleTitle))
            else:
                out.extend(self._charts[i] for i in ids if self._charts[i].display)
        return out

    def move_focus(self, direction: str) -> None:
        targets = self._targets()
        if not targets:
            return
        current = self.app.focused
        if current not in targets:
            targets[0].focus()
            return
        target = neighbour(targets, targets.index(current), direction)
        if target is not None:
            target.focus()

    def fold_focused_section(self) -> None:
        focused = self.app.focused
        for box in self._sections.values():
            if focused is not None and box in focused.ancestors:
                box.collapsed = not box.collapsed
                self.call_after_refresh(box.query_one(CollapsibleTitle).focus)
                return

    def action_toggle_maximise(self) -> None:
        if self.maximised is not None:
            self.action_restore()
            return
        chart_id = self.focused_chart_id
        if chart_id is None:
            return
        self.maximised = chart_id
        chart = self.max_chart
        chart.set_title(self._specs[chart_id].title)
        chart.set_data(self._data.get(chart_id), chart.applied_seq)
        self.grid.display = False
        chart.display = True
        chart.focus()
        self.call_after_refresh(self.request_reduction)

    def action_restore(self) -> None:
        if self.maximised is None:
            return
        chart_id, self.maximised = self.maximised, None
        self.max_chart.display = False
        self.grid.display = True
        if chart_id in self._charts:
            self._charts[chart_id].focus()
        self.call_after_refresh(self.request_reduction)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restore":
            return self.maximised is not None
        return True
