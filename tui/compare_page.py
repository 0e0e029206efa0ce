"""A comparison of runs: Overview (what differs), Charts and System overlaid, a legend to hide runs.

One thread worker owns a RunReader per run and posts their snapshots together; the page adds the
user's choices (hidden runs, grouping keys) and hands the tabs one immutable CompareSnapshot.
Opened from the table (``c``) or as ``runview RUN RUN ...``; ``backspace`` goes back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import (
    ContentSwitcher,
    Footer,
    SelectionList,
    Static,
    Tab,
    Tabs,
)
from textual.widgets.selection_list import Selection
from textual.worker import get_current_worker

from runview.store import format as fmt
from runview.store.reader import RunReader, RunSnapshot
from runview.store.run_compare import differing_keys
from runview.store.run_row import flatten_values
from runview.tui.column_picker import ColumnPicker
from runview.tui.compare_snapshot import CompareSnapshot
from runview.tui.focus import focus_now
from runview.tui.key_help import KeySection, key_sections
from runview.tui.messages import OpenRunRequested
from runview.tui.refresh_pace import RefreshPace
from runview.tui.run_cells import STATE_MARKS
from runview.tui.run_colors import run_style
from runview.tui.safe_text import safe_text
from runview.tui.tabbed_page import TabbedPage, tab_page_bindings
from runview.tui.table_state import compare_writer, load_group_by, save_group_by
from runview.tui.tabs.base import RunTab
from runview.tui.widgets.ticks import TickList
from runview.tui.worker_failures import ReportsWorkerFailures, thread_worker

LIVE_POLL_S = 0.5
IDLE_POLL_S = 5.0
TABS = (
    ("overview", "Overview", "runview.tui.tabs.compare_overview", "CompareOverviewTab"),
    ("charts", "Charts", "runview.tui.tabs.compare_charts", "CompareChartsTab"),
    ("system", "System", "runview.tui.tabs.compare_charts", "CompareSystemTab"),
)


class RunLegend(TickList[int]):
    """One line per compared run, in its colour; unticked runs are hidden from every tab."""

    HELP_TITLE = "Legend"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "select", "Hide / show", tooltip="the highlighted run, in every tab"),
        Binding("o", "open_run", "Open run", tooltip="its page; backspace comes back"),
    ]

    @dataclass
    class OpenRequested(Message):
        """Open the run numbered ``index`` (from 0) on a page of its own."""

        index: int

    def action_open_run(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.OpenRequested(self.highlighted))


class ComparePage(ReportsWorkerFailures, TabbedPage):
    STYLES = ("compare",)  # tui/styles, added when it is first pushed (``stylesheets``)
    BINDINGS: ClassVar[list[BindingType]] = [
        *tab_page_bindings(TABS),
        # A priority key: on the Charts tab a focused chart takes l as "right" (vim's keys), which
        # would hide the legend from its footer and its key (the arrow still moves right).
        Binding(
            "l",
            "legend",
            "Legend",
            priority=True,
            tooltip="the runs, in their colours: hide one, open one",
        ),
        Binding(
            "g",
            "group",
            "Group",
            tooltip="runs whose configs differ only in the keys you pick (say seed): their mean "
            "and a band from their minimum to their maximum; kept per project",
            priority=True,  # the picker opens before the keys behind it (its search) are routed
        ),
    ]

    legend_shown: var[bool] = var(False, toggle_class="-legend")

    @dataclass
    class RunsRead(Message):
        """New snapshots of the compared runs (``group_by``: the project's saved grouping, sent
        with the first)."""

        snapshots: tuple[RunSnapshot, ...]
        group_by: tuple[str, ...] | None

        def can_replace(self, message: Message) -> bool:
            # A newer read supersedes this one, unless this one carries the saved grouping.
            return isinstance(message, ComparePage.RunsRead) and self.group_by is None

    tab_names = tuple(name for name, *_ in TABS)

    def __init__(self, paths: Sequence[Path], tab: str = "overview") -> None:
        super().__init__()
        self.paths = tuple(paths)
        self.initial_tab = tab if tab in self.tab_names else "overview"
        self.snapshot: CompareSnapshot | None = None
        self.hidden: frozenset[int] = frozenset()
        self.group_by: tuple[str, ...] = ()
        self._runs: tuple[RunSnapshot, ...] = ()
        self._version = 0
        self._stop = threading.Event()
        self._group_seq = 0
        self._group_writer = None
        self._focus_before_legend: Widget | None = None  # given back when the legend hides

    def compose(self) -> ComposeResult:
        with Horizontal(id="run-header"):
            yield Static(Text(f"comparing {len(self.paths)} runs"), id="compare-title")
        tabs = [
            Tab(f"{i + 1} {title}", id=f"tab-{name}") for i, (name, title, *_) in enumerate(TABS)
        ]
        yield Tabs(*tabs, id="tab-bar")
        with Horizontal(id="compare-body"):
            yield ContentSwitcher(id="tab-content")
            yield RunLegend(id="compare-legend")
        yield Static("", id="problems")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Tabs).active = f"tab-{self.initial_tab}"
        self.query_one(RunLegend).border_title = "runs"
        self.legend_shown = self.app.size.width >= 100  # at 80 columns the charts need the room
        self.read_runs()

    def on_unmount(self) -> None:
        self._stop.set()

    def key_help(self) -> list[KeySection]:
        # The legend is the page's, not a tab's: its keys are added here.
        sections = super().key_help()
        return [*sections[:-1], *key_sections([RunLegend]), sections[-1]]

    def tab_title(self, name: str) -> str:
        return next(title for tab_name, title, *_ in TABS if tab_name == name)

    @thread_worker(group="compare-reader", description="read the runs")
    def read_runs(self) -> None:
        worker = get_current_worker()
        readers = [RunReader(path) for path in self.paths]
        snapshots = []
        for number, reader in enumerate(readers):
            if worker.is_cancelled:
                return
            self.app.call_from_thread(self._reading, number)
            snapshots.append(reader.refresh())
        project = CompareSnapshot(tuple(snapshots)).project
        group_by, problem = load_group_by(project)
        if problem:
            self.app.call_from_thread(self.notify, problem, severity="warning", markup=False)
        self.post_message(self.RunsRead(tuple(snapshots), group_by))
        for reader in readers:  # the cache step, as a run's page does it
            work_ = reader.cache_work()
            if work_ is not None and not worker.is_cancelled:
                work_.run(cancelled=lambda: worker.is_cancelled)
        pace = RefreshPace()  # slower while the terminal is behind (a slow link)
        while not worker.is_cancelled:
            running = any(s.liveness.state == fmt.STATE_RUNNING for s in snapshots)
            if self._stop.wait(LIVE_POLL_S if running else IDLE_POLL_S):
                return
            started = time.monotonic()
            fresh = [reader.refresh() for reader in readers]
            if any(a.version != b.version for a, b in zip(fresh, snapshots)):
                snapshots = fresh
                self.post_message(self.RunsRead(tuple(snapshots), None))
            self._stop.wait(max(0.0, pace.next_interval() - (time.monotonic() - started)))

    def _reading(self, number: int) -> None:
        self.query_one("#compare-title", Static).update(
            Text(f"comparing {len(self.paths)} runs · reading {number + 1} of {len(self.paths)}…")
        )

    @on(RunsRead)
    def _runs_read(self, message: RunsRead) -> None:
        first = not self._runs
        self._runs = message.snapshots
        if message.group_by is not None:
            self.group_by = message.group_by
        if first:
            self._fill_legend()
        self._publish()

    def _publish(self) -> None:
        """A new CompareSnapshot for the tabs: the runs read, with the user's choices."""
        self._version += 1
        self.snapshot = CompareSnapshot(self._runs, self.hidden, self.group_by, self._version)
        self._update_title()
        self._update_legend_states()
        problems = [f"{run.name}: {problem}" for run in self._runs for problem in run.problems]
        widget = self.query_one("#problems", Static)
        widget.update(safe_text(" · ".join(problems)))
        self.has_problems = bool(problems)
        self._feed_visible_tab()

    def _update_title(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        parts = [f"comparing {len(snapshot.runs)} runs"]
        if snapshot.project:
            parts.append(snapshot.project)
        if self.hidden:
            parts.append(f"{len(self.hidden)} hidden")
        if self.group_by:
            parts.append(
                f"grouped over {', '.join(self.group_by)}: {len(snapshot.groups)} group(s)"
            )
        self.query_one("#compare-title", Static).update(safe_text(" · ".join(parts)))

    def _legend_prompt(self, index: int) -> Text:
        run = self._runs[index]
        mark, style = STATE_MARKS.get(run.liveness.state, ("?", ""))
        return Text.assemble(
            (f"{index + 1:>2} ■ ", run_style(index)), safe_text(run.name), " ", (mark, style)
        )

    def _fill_legend(self) -> None:
        legend = self.query_one(RunLegend)
        legend.clear_options()
        legend.add_options(
            [
                Selection(self._legend_prompt(i), i, i not in self.hidden)
                for i in range(len(self._runs))
            ]
        )
        if self._runs:
            legend.highlighted = 0

    def _update_legend_states(self) -> None:
        legend = self.query_one(RunLegend)
        for i in range(min(len(self._runs), legend.option_count)):
            legend.replace_option_prompt_at_index(i, self._legend_prompt(i))

    @on(SelectionList.SelectedChanged, "#compare-legend")
    def _legend_changed(self, event: SelectionList.SelectedChanged) -> None:
        shown = set(event.selection_list.selected)
        hidden = frozenset(i for i in range(len(self._runs)) if i not in shown)
        if hidden != self.hidden:
            self.hidden = hidden
            self._publish()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("legend", "group"):  # priority keys: in a text box, they are text
            return self.page_key_acts()
        return super().check_action(action, parameters)

    def action_legend(self) -> None:
        legend = self.query_one(RunLegend)
        self.legend_shown = not self.legend_shown
        if self.legend_shown:
            self._focus_before_legend = self.focused
            focus_now(legend)
            return
        # Hidden, it cannot keep the focus: back to where it was before, or to the tab's own
        # (with none, the tab's keys, / among them, would find nobody to take them).
        if self.focused is None or self.focused is legend:
            before, self._focus_before_legend = self._focus_before_legend, None
            if before is not None and before.is_attached and before.visible and before.display:
                focus_now(before)
            elif (tab := self.current_tab) is not None:
                tab.focus_default()

    @on(RunLegend.OpenRequested)
    def _open_run(self, message: RunLegend.OpenRequested) -> None:
        message.stop()
        if message.index < len(self._runs):
            self.post_message(OpenRunRequested(self._runs[message.index].path))

    async def action_group(self) -> None:
        if not self._runs:
            return
        configs = [flatten_values(run.config) for run in self._runs]
        keys = differing_keys(configs)
        if not keys and not self.group_by:
            self.notify("the compared runs have the same config: nothing to group over")
            return
        available = list(dict.fromkeys([*self.group_by, *keys]))
        picker = ColumnPicker(
            self.group_by, available, title="Group runs over (say seed)", automatic=False
        )
        await self.app.push_screen(picker, callback=self._grouped)  # its search takes the keys

    def _grouped(self, keys: tuple[str, ...] | None) -> None:
        if keys is None or tuple(keys) == self.group_by:
            return
        self.group_by = tuple(keys)
        self._publish()
        project = self.snapshot.project if self.snapshot is not None else ""
        if self._group_writer is None:
            self._group_writer = compare_writer(project)
        self._group_seq += 1
        writer, seq, chosen = self._group_writer, self._group_seq, self.group_by

        def save() -> None:
            try:
                save_group_by(project, chosen, seq, writer)
            except OSError as exc:
                self.app.call_from_thread(
                    self.notify, f"grouping not saved: {exc}", severity="error", markup=False
                )

        self.run_worker(save, thread=True, group="compare-state-save", exit_on_error=False)

    def tab_class(self, name: str) -> type[RunTab]:
        import importlib

        _name, _title, module, cls = next(tab for tab in TABS if tab[0] == name)
        return getattr(importlib.import_module(module), cls)
