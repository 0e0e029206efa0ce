"""A board of charts in collapsible sections: grid layout, keyboard navigation, maximise, reduction
thread.

Shared by the Charts and System tabs. The tab owns the view state (columns, smoothing, folds) and
binds it to the board's ``view``; the board draws it and reports what the user folded with
``ChartBoard.Folded``, and the tab decides. Its own state (maximised, empty) is reactives that set
classes, laid out in ``styles/chart_board.tcss``. The board reduces only the charts a user can
see, in a thread of its own, and posts the reduced series back; charts draw them on the UI
thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from functools import partial
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Grid
from textual.message import Message
from textual.reactive import reactive, var
from textual.widget import Widget
from textual.widgets import Collapsible, Static
from textual.widgets.collapsible import CollapsibleTitle

from runview.store.series import SeriesSnapshot
from runview.tui.breakpoints import auto_columns
from runview.tui.coalesce import Coalesced
from runview.tui.focus import focus_now
from runview.tui.key_help import key_group
from runview.tui.view_state import ViewState
from runview.tui.widgets.chart import Chart, ChartData
from runview.tui.widgets.chart_cursor import CursorChart
from runview.tui.widgets.chart_nav import ChartGrid, neighbour
from runview.tui.widgets.chart_pace import DrawPacer
from runview.tui.widgets.chart_reducer import NewestOnlyThread
from runview.tui.widgets.chart_spec import (
    ChartMemory,
    ChartSpec,
    Sources,
    latest_points,
    prepare_chart,
    sampled,
    source_stamp,
    unread_columns,
)
from runview.tui.worker_failures import ReportsWorkerFailures, TaskFailure, WorkerFailed

MAX_KEY = "\0max"  # the result key of the maximised chart
COLUMN_CLASSES = ("-columns-auto", "-columns-1", "-columns-2", "-columns-3", "-columns-4")
HIDDEN = "-filtered-out"  # a chart or section the search hides
MAXIMISE_TIP = "the focused chart fills the tab; esc returns"
# A long run's first look: when the charts on screen would read more than SAMPLE_ABOVE points
# from disk (before any is drawn, or once drawing them has taken SAMPLE_AFTER_S), each is drawn
# at once from about SAMPLE_POINTS of its column's points, marked partial, while the whole
# columns are read; their results then go out this often (each post draws its charts again and
# lays out the status line on the UI thread, which takes the interpreter from this worker: on a
# 1M-step run the charts on screen are made whole in one post).
SAMPLE_AFTER_S = 0.2
SAMPLE_ABOVE = 2_000_000
SAMPLE_POINTS = 4096
SAMPLED = "sampled"  # first item of the stamp of a chart drawn from a sample
POST_EVERY_S = 1.0
REDUCE = "reduce visible charts"  # the reduction thread's work, in an error's report
# After posting the charts drawn from samples, the worker waits (this long at most) until they
# are on screen before it reads whole columns: drawing and painting them on the UI thread would
# otherwise share the interpreter with that reading.
PREVIEW_PAINT_WAIT_S = 0.5


class ChartBoard(ReportsWorkerFailures, Container):
    """Charts described by ChartSpecs, fed from one SeriesSnapshot."""

    HELP_TITLE = "On a chart"
    BINDINGS: ClassVar[list[BindingType]] = [
        *key_group(
            "Move between charts",
            ("left,h", "move('left')", "Left"),
            ("down,j", "move('down')", "Down"),
            ("up,k", "move('up')", "Up"),
            ("right,l", "move('right')", "Right"),
            compact=True,
        ),
        Binding("enter", "toggle_maximise", "Maximise", show=False, tooltip=MAXIMISE_TIP),
        Binding("escape", "restore", "Back", show=False, tooltip="from a maximised chart"),
        Binding("z", "fold", "Fold", show=False, tooltip="the focused chart's section, or unfold"),
    ]

    view: reactive[ViewState] = reactive(ViewState, init=False)  # bound to the tab's
    maximised: var[str | None] = var(None, toggle_class="-maximised")  # its chart id
    empty: var[bool] = var(True, toggle_class="-empty")
    # While a long run's columns are read: the share of the charts on screen drawn whole (0-1),
    # the rest drawn from samples; None when every chart shows all its points. (Not ``loading``:
    # that is Textual's own reactive, and any true value covers the widget with a spinner.)
    whole_share: var[float | None] = var(None)

    @dataclass
    class Reduced(Message):
        """The worker reduced some charts' series: ``results`` maps a chart id to its data.

        ``partial``: the ids drawn from a sample of their columns (the whole is being read);
        ``done`` of ``total``: the request's charts drawn from all their points so far;
        ``final``: the worker's last message (it has stopped, done or not)."""

        results: dict[str, ChartData]
        seq: int
        partial: frozenset[str] = frozenset()
        done: int = 0
        total: int = 0
        final: bool = False

    @dataclass
    class Loading(Message):
        """Charts on screen are drawn from samples while columns load (``whole_share`` changed)."""

    @dataclass
    class Folded(Message):
        """The user folded or unfolded ``section`` (z, enter on its title, a click)."""

        section: str
        folded: bool

    def __init__(
        self, empty_text: str = "no charts", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.empty_text = empty_text
        self._specs: dict[str, ChartSpec] = {}
        self._layout: list[tuple[str, tuple[str, ...]]] = []
        self._charts: dict[str, Chart] = {}
        self._sections: dict[str, Collapsible] = {}
        self._shown: Callable[[ChartSpec], bool] = lambda spec: True
        self._source: SeriesSnapshot | None = None
        self._data: dict[str, ChartData] = {}
        self._seq = 0
        # ``request_reduction`` asked for once however often it is called before it runs (and
        # looked up when it runs): once the charts resized together have said so, not after
        # another paint; and once the screen is laid out again. What is on screen is read from
        # the compositor: until it has laid out a scrolled grid, new charts, a filter, a fold or
        # a new size, the charts' regions are the old ones, and charts that came into view would
        # not be drawn (a finished run sends no snapshot that would ask again).
        self._reduce_soon = Coalesced(self.call_later, lambda: self.request_reduction())
        self._reduce_after_refresh = Coalesced(
            self.call_after_refresh, lambda: self.request_reduction()
        )
        self.requests = 0  # reductions asked for so far (tests read it to check idle is free)
        self.partial_charts: set[str] = set()  # result keys drawn from a sample of their columns
        self._in_flight: frozenset[tuple[str, Hashable]] = frozenset()  # the reduction's jobs
        # New points reduced and drawn once a second, values at once.
        self.pacer = DrawPacer(self.set_timer, self.request_reduction)
        # Per result key, what its last reduction left, so a live update reduces only the points
        # added since (the reduction thread's; ``ChartMemory`` says how).
        self._memories: dict[str, ChartMemory] = {}
        self._keep = True  # keep reductions for the next update (a live source)
        # Held, not queried: every update asks which charts are on screen (a query walks the DOM).
        self._grid = ChartGrid(classes="board-grid")
        self._max_chart = CursorChart(classes="board-max")
        # Started once, woken at each request: not a Textual worker per request (``chart_reducer``).
        self._reducer = NewestOnlyThread("runview-charts", self._reduction_failed)
        self._previews_painted = threading.Event()  # the last samples posted are on screen
        self._previews_painted.set()  # none posted yet: no reduction waits for a paint
        self._preview_charts: set[Chart] = set()  # posted from samples, not drawn yet

    def compose(self) -> ComposeResult:
        yield Static(self.empty_text, classes="board-empty")
        yield self._grid
        yield self._max_chart
        yield Static("", classes="board-readout")

    def on_mount(self) -> None:
        self.set_class(True, COLUMN_CLASSES[0])
        self.watch(self.grid, "scroll_y", self._reduce_after_refresh, init=False)

    def on_unmount(self) -> None:
        self._previews_painted.set()  # the reduction waiting for a paint that will not come
        self._reducer.stop()

    @property
    def reducing(self) -> bool:
        """Charts are being reduced, or are about to be."""
        return self._reducer.busy

    @property
    def samples_unpainted(self) -> bool:
        """Charts drawn from samples are not on screen yet: a reduction waits for that paint
        (up to ``PREVIEW_PAINT_WAIT_S``) before it reads whole columns."""
        return not self._previews_painted.is_set()

    def _reduction_failed(self, error: BaseException) -> None:
        """What the reduction thread raised, reported as a failed worker's error (that thread)."""
        self.post_message(WorkerFailed(TaskFailure(REDUCE, error)))

    @property
    def grid(self) -> ChartGrid:
        return self._grid

    @property
    def max_chart(self) -> CursorChart:
        return self._max_chart

    @property
    def charts(self) -> dict[str, Chart]:
        return self._charts

    def spec(self, chart_id: str) -> ChartSpec | None:
        return self._specs.get(chart_id)

    # -- the view state, from the tab --------------------------------------------------------------
    @property
    def columns(self) -> int | None:
        """Grid columns; None follows the terminal width."""
        return self.view.columns

    @property
    def smoothing(self) -> float:
        return self.view.smoothing

    @property
    def folded(self) -> frozenset[str]:
        """Titles of the folded sections (kept for sections this run does not have too)."""
        return self.view.folded

    @property
    def effective_columns(self) -> int:
        return self.view.columns or auto_columns(self.app.size.width)

    def watch_view(self, old: ViewState, new: ViewState) -> None:
        if new.columns != old.columns:
            shown = COLUMN_CLASSES[new.columns or 0]
            self.set_class(False, *(c for c in COLUMN_CLASSES if c != shown), update=False)
            self.set_class(True, shown)
        for title, box in self._sections.items():
            box.collapsed = title in new.folded
        if new.smoothing != old.smoothing:
            self.request_reduction()

    # -- structure ------------------------------------------------------------------------------
    async def set_specs(self, specs: list[ChartSpec]) -> None:
        """Show these charts, in this order, sections in order of first appearance."""
        self._specs = {spec.chart_id: spec for spec in specs}
        layout: dict[str, list[str]] = {}
        for spec in specs:
            layout.setdefault(spec.section, []).append(spec.chart_id)
        new_layout = [(section, tuple(ids)) for section, ids in layout.items()]
        self.empty = not specs
        if new_layout != self._layout:
            await self._rebuild(new_layout)
        for chart_id, chart in self._charts.items():
            chart.set_title(self._specs[chart_id].title)
        if self.maximised in self._specs:
            self.max_chart.set_title(self._specs[self.maximised].title)
        self._apply_filter()
        self._reduce_after_refresh()

    async def _rebuild(self, layout: list[tuple[str, tuple[str, ...]]]) -> None:
        """Make the board's sections and charts those of ``layout``, in its order.

        Charts and sections already on the board stay mounted, with their drawings: a new
        metric mounts one chart (and a new prefix one section), a metric gone removes its own.
        Rebuilding the whole board for each new metric took ~0.5 s and repainted every chart.
        """
        focused = self.focused_chart_id
        # At home (the first chart focused, the board at its top), a new chart that sorts first
        # takes the first place and the focus with it: the view stays at the top, where new
        # metrics appear, instead of following the old first chart down as charts pile up above
        # it. Focused anywhere else, the focus stays on its chart and the view follows it.
        targets = self._targets()
        home = bool(targets) and targets[0] is self.app.focused and self.grid.scroll_y == 0
        was_in = {chart_id: section for section, ids in self._layout for chart_id in ids}
        is_in = {chart_id: section for section, ids in layout for chart_id in ids}
        self._layout = layout
        # Kept: charts still shown in the same section, and sections still there. The others go
        # (a chart whose section goes, with it).
        kept = {chart_id for chart_id in self._charts if is_in.get(chart_id) == was_in[chart_id]}
        shown = {section for section, _ids in layout}
        old_charts = self._charts
        old_sections = {s: box for s, box in self._sections.items() if s in shown}
        gone: list[Widget] = [box for s, box in self._sections.items() if s not in shown]
        gone += [
            chart
            for chart_id, chart in old_charts.items()
            if chart_id not in kept and was_in[chart_id] in shown
        ]
        for widget in gone:
            await widget.remove()
        self._charts = {
            chart_id: old_charts[chart_id] if chart_id in kept else self._new_chart(chart_id)
            for chart_id in is_in
        }
        # In the layout's order, as the board shows them: sections kept, or made anew.
        self._sections = {
            section: old_sections[section]
            if section in old_sections
            else self._new_section(section, ids)
            for section, ids in layout
        }
        if not old_sections:  # the first build: every section mounted at once, one layout
            await self.grid.mount_all(list(self._sections.values()))
        else:
            for position, (section, ids) in enumerate(layout):
                box = self._sections[section]
                if section not in old_sections:
                    await _mount_at(self.grid, box, position)
                    continue
                inner = box.query_one(".board-section-grid", Grid)
                for index, chart in enumerate(self._charts[chart_id] for chart_id in ids):
                    if chart.parent is None:
                        await _mount_at(inner, chart, index)
                    elif inner.children.index(chart) != index:
                        inner.move_child(chart, before=index)
                if self.grid.children.index(box) != position:
                    self.grid.move_child(box, before=position)
        if home:
            self.focus_first()
        elif focused in self._charts:
            self._charts[focused].focus()

    def _new_section(self, section: str, ids: tuple[str, ...]) -> Collapsible:
        return Collapsible(
            Grid(*(self._charts[chart_id] for chart_id in ids), classes="board-section-grid"),
            title=section,
            collapsed=section in self.view.folded,
        )

    def _new_chart(self, chart_id: str) -> Chart:
        chart = Chart(self._specs[chart_id].title, chart_id=chart_id)
        chart.set_data(self._data.get(chart_id))
        return chart

    @on(Collapsible.Toggled)
    def _on_toggled(self, event: Collapsible.Toggled) -> None:
        event.stop()
        title = str(event.collapsible.title)
        if event.collapsible.collapsed != (title in self.view.folded):
            self.post_message(self.Folded(title, event.collapsible.collapsed))
        self._reduce_after_refresh()

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
                self._charts[chart_id].set_class(not show, HIDDEN)
                visible += show
            if section in self._sections:
                self._sections[section].set_class(not visible, HIDDEN)
            count += visible
        self._reduce_after_refresh()
        return count

    def on_resize(self) -> None:
        self._reduce_after_refresh()

    # -- data -----------------------------------------------------------------------------------
    def set_source(self, source: SeriesSnapshot, live: bool = True) -> None:
        """New data arrived; charts whose series moved are reduced again (only the visible ones).

        ``live``: more points will come, so each chart's reduction is kept for the next update
        to continue from (``ChartMemory``); a finished run's charts are reduced once, without
        the cost of keeping it (~0.3 s on a 1M-step run of 20 metrics)."""
        self._source = source
        self._keep = live
        self.request_reduction()

    def visible_charts(self) -> list[tuple[str, Chart]]:
        """(result key, chart) of the charts on screen now."""
        if self.maximised is not None:
            return [(MAX_KEY, self.max_chart)]
        view = self.grid.region
        # Each ``region`` asks the compositor (the screen up the DOM, then a map lookup): once a
        # chart, four times a second.
        regions = (
            (chart_id, chart, chart.display and chart.region)
            for chart_id, chart in self._charts.items()
        )
        return [
            (chart_id, chart)
            for chart_id, chart, region in regions
            if region and region.area and region.overlaps(view)
        ]

    def request_reduction(self) -> None:
        """Start the worker for the visible charts whose data is missing or stale. Idle: does
        nothing."""
        source = self._source
        if source is None or not self.is_mounted:
            return
        jobs: list[tuple[str, ChartSpec, int, Hashable]] = []
        sampled_already: set[str] = set()  # drawn from a sample of the same data: not again
        visible = self.visible_charts()
        self.pacer.release(self.pacer.held - {chart for _key, chart in visible})
        for key, chart in visible:
            spec = self._specs.get(self.maximised if key == MAX_KEY else key)  # type: ignore[arg-type]
            if spec is None:
                continue
            if not chart.content_size.width:
                continue  # not laid out yet (a chart just maximised): its Resized asks again
            if key == MAX_KEY and chart is self.max_chart and self.max_chart.zoom is not None:
                spec = replace(spec, x_range=self.max_chart.zoom)
            width = max(8, chart.content_size.width)
            stamp = (source_stamp(spec, source), width, self.smoothing, spec)
            data = self.pacer.latest(chart)  # new points may wait to be drawn: not reduced again
            if data is None or data.stamp != stamp:
                if self._hold(key, chart, spec, source, data, stamp):
                    continue  # its latest values shown, its points reduced once it is due
                jobs.append((key, spec, width, stamp))
                if data is not None and data.stamp == (SAMPLED, stamp):
                    sampled_already.add(key)
        reduced = {job[0] for job in jobs}
        self.pacer.release(chart for key, chart in visible if key in reduced)
        wanted = frozenset((key, stamp) for key, _spec, _width, stamp in jobs)
        if not jobs:
            self.whole_share = None  # nothing on screen is waiting for its columns
        elif not wanted <= self._in_flight:  # else the running worker is drawing these already
            self._in_flight = wanted
            self._seq += 1
            self.requests += 1
            task = partial(
                self._reduce, source, jobs, self.smoothing, self._seq, frozenset(sampled_already)
            )
            self._reducer.submit(task)

    def _hold(
        self,
        key: str,
        chart: Chart,
        spec: ChartSpec,
        source: SeriesSnapshot,
        data: ChartData | None,
        stamp: Hashable,
    ) -> bool:
        """Whether ``chart``, reduced less than a second ago, only shows its new latest values
        until it is due (``DrawPacer.hold``): a live chart of the same view, whose values the
        snapshot's newest points tell exactly (``latest_points``)."""
        if not (
            self._keep
            and key not in self.partial_charts
            and data is not None
            and _same_view_stamps(data.stamp, stamp)
            and not self.pacer.due(chart)
        ):
            return False
        latest = latest_points(spec, source)
        if latest is None:
            return False
        self.pacer.hold(chart, latest)
        return True

    @on(Chart.Resized)
    def _on_chart_resized(self, message: Chart.Resized) -> None:
        # Charts laid out after the last request (a finished run sends no more snapshots) need one.
        message.stop()
        self._reduce_soon()

    def _reduce(
        self,
        source: SeriesSnapshot,
        jobs: list[tuple[str, ChartSpec, int, Hashable]],
        smoothing: float,
        seq: int,
        sampled_already: frozenset[str],
        cancelled: Callable[[], bool],
    ) -> None:
        """Reduce ``jobs`` on the reduction thread, posting the results as ``Reduced``."""
        total = len(jobs)
        results: dict[str, ChartData] = {}
        started = posted = time.monotonic()
        done, sampling = 0, True
        try:
            for index, (key, spec, width, stamp) in enumerate(jobs):
                if cancelled():
                    break  # a newer request covers the rest; what is done is still posted
                if sampling and (index == 0 or time.monotonic() - started > SAMPLE_AFTER_S):
                    # Much to read (a long run's columns), or slow going (a busy machine): the
                    # charts still waiting are drawn at once from samples of their columns,
                    # marked partial.
                    previews = self._previews(
                        jobs[index:], source, smoothing, sampled_already, cancelled
                    )
                    sampling = index == 0 and not previews  # else: no second look
                    if previews:
                        results.update(previews)
                        partial = frozenset(previews)
                        self._previews_painted.clear()
                        self.post_message(self.Reduced(results, seq, partial, done, total))
                        results, posted = {}, time.monotonic()
                if index == 0:
                    # Samples posted by this request, or by the one it replaced (which stopped
                    # before it read whole columns), are painted first; set when none wait.
                    self._previews_painted.wait(PREVIEW_PAINT_WAIT_S)
                memory = self._memories.setdefault(key, ChartMemory()) if self._keep else None
                results[key] = _reduced(spec, source, width, smoothing, stamp, memory)
                done += 1
                if not sampling and done < total and time.monotonic() - posted > POST_EVERY_S:
                    self.post_message(self.Reduced(results, seq, done=done, total=total))
                    results, posted = {}, time.monotonic()
        finally:  # also after an error: the board must not wait for this worker any longer
            self.post_message(self.Reduced(results, seq, done=done, total=total, final=True))

    def _previews(
        self,
        jobs: list[tuple[str, ChartSpec, int, Hashable]],
        source: Sources,
        smoothing: float,
        sampled_already: frozenset[str],
        cancelled: Callable[[], bool],
    ) -> dict[str, ChartData]:
        """Charts of ``jobs`` drawn from samples of their unread columns (reduction thread)."""
        unread = {key: unread_columns(spec, source) for key, spec, _width, _stamp in jobs}
        if sum(unread.values()) <= SAMPLE_ABOVE:
            return {}  # little left to read: drawn whole sooner than sampled and drawn twice
        sample = sampled(source, SAMPLE_POINTS)
        return {
            key: _reduced(spec, sample, width, smoothing, (SAMPLED, stamp))
            for key, spec, width, stamp in jobs
            if unread[key] and key not in sampled_already and not cancelled()
        }

    @on(Reduced)
    def _on_reduced(self, message: Reduced) -> None:
        message.stop()
        if message.seq == self._seq and message.final:
            self._in_flight = frozenset()  # the last worker has stopped
        was_partial = set(self.partial_charts)
        self.partial_charts.difference_update(message.results)
        self.partial_charts.update(message.partial)
        if message.seq == self._seq:
            partial = self.partial_charts and message.done < message.total
            self.whole_share = message.done / message.total if partial else None
        for key, data in message.results.items():
            chart = self.max_chart if key == MAX_KEY else self._charts.get(key)
            if key != MAX_KEY:
                self._data[key] = data
            if chart is None:
                continue
            # Only newer points of the same chart, width and options wait to be drawn; a chart
            # drawn from a sample, or made whole after one, is drawn at once.
            paced = (
                key not in was_partial
                and key not in message.partial
                and _only_newer_points(self.pacer.latest(chart), data)
            )
            self.pacer.deliver(chart, data, message.seq, paced)
        if message.partial:
            self._tell_when_painted(
                [chart for key, chart in self.visible_charts() if key in message.partial]
            )

    def _tell_when_painted(self, charts: list[Chart]) -> None:
        """Let the reduction thread read whole columns once ``charts`` (drawn from samples) are
        on screen: each drawn, then the frame showing them written. Not ``call_after_refresh``
        alone: asked before a chart has marked itself for repainting (its own idle handler does
        that), it runs at once, before that frame (seen on a loaded machine)."""
        waiting = self._preview_charts = set(charts)

        def drawn(chart: Chart) -> None:
            waiting.discard(chart)
            if not waiting and self._preview_charts is waiting:  # not a newer post's charts
                self.call_after_refresh(self._previews_painted.set)

        if not waiting:
            self.call_after_refresh(self._previews_painted.set)
        for chart in list(waiting):
            chart.when_drawn(drawn)

    def watch_whole_share(self) -> None:
        self.post_message(self.Loading())

    # -- focus and keys -------------------------------------------------------------------------
    @property
    def focused_chart_id(self) -> str | None:
        focused = self.app.focused if self.is_mounted else None
        if isinstance(focused, Chart):
            return self.maximised if focused is self.max_chart else focused.chart_id or None
        return None

    def focus_first(self) -> None:
        """Focus the first chart (or folded section), at the top of the board."""
        targets = self._targets()
        self.grid.scroll_home(animate=False)
        # Not scrolled into view as well: that is deferred, and a layout still settling (the
        # board opening) would leave the first section's title scrolled off by a row.
        focus_now(targets[0] if targets else self.grid, scroll_visible=False)

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

    def action_move(self, direction: str) -> None:
        targets = self._targets()
        if not targets or self.maximised is not None:
            return
        current = self.app.focused
        if current not in targets:
            focus_now(self._entry(current, targets, direction))
            return
        target = neighbour(targets, targets.index(current), direction)
        if target is not None:
            focus_now(target)

    def _entry(self, current: Widget | None, targets: list[Widget], direction: str) -> Widget:
        """Where a move starts from a focus that is not a target: from the title of a section
        just opened, its first chart (or, going up, the chart before it); else the first chart."""
        box = current.parent if isinstance(current, CollapsibleTitle) else None
        if isinstance(box, Collapsible) and box in self._sections.values():
            inside = [i for i, t in enumerate(targets) if box in t.ancestors]
            if inside:
                if direction in ("down", "right"):
                    return targets[inside[0]]
                return targets[max(inside[0] - 1, 0)]
        return targets[0]

    def action_fold(self) -> None:
        focused = self.app.focused
        for box in self._sections.values():
            if focused is not None and box in focused.ancestors:
                box.collapsed = not box.collapsed  # Collapsible.Toggled reports it as Folded
                self.call_after_refresh(box.query_one(CollapsibleTitle).focus)
                return

    def action_toggle_maximise(self) -> None:
        self.maximised = None if self.maximised is not None else self.focused_chart_id

    def action_restore(self) -> None:
        self.maximised = None

    def watch_maximised(self, old: str | None, new: str | None) -> None:
        if new is not None:
            chart = self.max_chart
            chart.reset()
            chart.set_title(self._specs[new].title)
            chart.show_provisionally(self._data.get(new))
            focus_now(chart)
        elif old in self._charts:
            focus_now(self._charts[old])
        self._reduce_after_refresh()

    @on(CursorChart.Changed)
    def _on_cursor(self, message: CursorChart.Changed) -> None:
        message.stop()
        self.query_one(".board-readout", Static).update(message.readout)

    @on(CursorChart.Zoomed)
    def _on_zoomed(self, message: CursorChart.Zoomed) -> None:
        message.stop()
        self.request_reduction()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restore":
            return self.maximised is not None
        if action in ("move", "fold"):
            return self.maximised is None  # a maximised chart has no neighbours, no section
        return True


def _only_newer_points(old: ChartData | None, new: ChartData) -> bool:
    """Whether ``new`` is ``old``'s chart at the same width, smoothing and spec, from a newer
    snapshot."""
    return old is not None and _same_view_stamps(old.stamp, new.stamp)


def _same_view_stamps(old: Hashable, new: Hashable) -> bool:
    """Whether two stamps, ``(source, width, smoothing, spec)`` (a sample's are marked), are of
    the same chart at the same width, smoothing and spec."""
    return (
        isinstance(old, tuple)
        and isinstance(new, tuple)
        and len(old) == len(new) == 4
        and old[1:] == new[1:]
    )


def _reduced(
    spec: ChartSpec,
    source: Sources,
    width: int,
    smoothing: float,
    stamp: Hashable,
    memory: ChartMemory | None = None,
) -> ChartData:
    try:
        return prepare_chart(spec, source, width, smoothing, stamp, memory)
    # a column that cannot be read shows as such, never crashes the tab
    except Exception as exc:
        return ChartData(stamp=stamp, note=f"cannot read this series: {exc}")


async def _mount_at(parent: Widget, child: Widget, index: int) -> None:
    """Mount ``child`` as the ``index``-th child of ``parent`` (last when there are fewer)."""
    if index < len(parent.children):
        await parent.mount(child, before=index)
    else:
        await parent.mount(child)
