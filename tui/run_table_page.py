"""The table of the runs under a root or a project: filter, sort, columns, open, mark and compare.

A thread worker owns the scanner (``store.run_scan``): it posts the first screenful of rows as soon
as they are read, the rest in batches, then what each poll finds (new runs, running runs that
moved, deleted runs). Enter opens a run's page over this one; ``backspace`` comes back.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from runview.store import format as fmt
from runview.store.run_columns import FIELDS, all_keys, auto_columns
from runview.store.run_filter import FilterError, parse_filter
from runview.store.run_row import STATE_DELETED, RunRow
from runview.store.run_scan import POLL_S, RunScanner
from runview.tui.column_picker import AUTOMATIC, ColumnPicker
from runview.tui.focus import focus_now, focused_now, typing_in
from runview.tui.help_screen import HelpScreen
from runview.tui.key_help import KeySection, key_group, key_sections
from runview.tui.key_hold import after_typed_keys
from runview.tui.messages import OpenRunRequested
from runview.tui.safe_text import safe_text
from runview.tui.table_state import TableState, load_table_state, table_writer
from runview.tui.text_filter import AppliedText, filter_key
from runview.tui.view_state import StateWriter
from runview.tui.widgets.run_table import RunTable
from runview.tui.worker_failures import ReportsWorkerFailures, thread_worker

SAVE_DELAY_S = 0.5
MAX_COMPARE = 50  # runs in one comparison (charts overlay them all; past this they are noise)
FILTER_HINT = "/ filter: words (regex on name, tags) · lr<0.01 · tag:x · state:failed"
FILTER_TIP = (
    "space-separated terms, all must hold: a word is a regex on name and tags; KEY OP VALUE "
    "(= != < <= > >=) compares a config, else a summary value (numbers as numbers; quote keys "
    "with spaces or :); tag:X; state:X (or its start: state:fail); esc clears"
)


class RunTablePage(ReportsWorkerFailures, Screen[None]):
    """Every run under ``root``, live."""

    HELP_TITLE = "Table of runs"
    STYLES = ("run_table",)  # tui/styles, added when it is first pushed (``stylesheets``)
    # esc and enter (in the filter) move the focus as the keys arrive, like "/" (``filter_key``),
    # so the keys typed right after them go where the focus went.
    BINDINGS: ClassVar[list[BindingType]] = [
        filter_key("filter", "Filter", FILTER_TIP),
        # In the footer while they work: in the filter box (its text takes the other keys), and
        # esc while a filter is set.
        Binding("escape", "clear_filter", "Clear filter", priority=True),
        Binding("enter", "filter_done", "Back to the table", priority=True),
        Binding(
            "s",
            "sort",
            "Sort",
            tooltip="by the chosen column (metrics best first, names A-Z); again reverses; "
            "runs without a value go last",
        ),
        Binding(
            "o",
            "columns",
            "Columns",
            tooltip="fields, config keys, summary metrics, searchable (ctrl+r there: automatic); "
            "columns and sort are kept per project",
            priority=True,  # the picker opens before the keys behind it (its search) are routed
        ),
        Binding("x", "hide_column", "Hide column", show=False, tooltip="the chosen one"),
        *key_group(
            "Move the chosen column",
            ("shift+left", "move_column(-1)", "Move column left"),
            ("shift+right", "move_column(1)", "Move column right"),
        ),
        Binding(
            "M",
            "mark_shown",
            "Mark shown",
            show=False,
            tooltip="every run the filter shows (again: unmark them)",
        ),
        Binding("u", "clear_marks", "Unmark all", show=False),
        Binding(
            "c",
            "compare",
            "Compare",
            tooltip=f"the marked runs; with none marked, the runs shown (up to {MAX_COMPARE})",
            priority=True,  # the comparison opens before the keys behind it ("2") are routed
        ),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this list"),
    ]

    has_status: var[bool] = var(False, toggle_class="-status")  # the status line has something

    @dataclass
    class RowsFound(Message):
        """The first scan read more rows (``done``: it is complete)."""

        rows: tuple[RunRow, ...]
        done: bool
        found: int  # directories the scan is going through
        auto: list[str] | None  # the automatic columns, when worked out again

    @dataclass
    class RowsChanged(Message):
        """A poll found new, changed or deleted runs."""

        rows: tuple[RunRow, ...]
        problems: tuple[str, ...]

    @dataclass
    class StateLoaded(Message):
        """The saved columns and sort of ``project`` (the table's, once its folder is listed)."""

        state: TableState
        problem: str | None
        project: str

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.project = ""  # whose saved table state this is: known once the folder is listed
        self.state = TableState()
        self.auto: list[str] = ["name", "state", "start", "runtime"]
        self.loaded = False  # the first scan is complete
        self.found = 0
        self._problems: tuple[str, ...] = ()
        self._stop = threading.Event()
        self._first_painted = threading.Event()  # the scan waits for it before reading on
        self._writer: StateWriter | None = None
        self._save_timer: Timer | None = None
        self._save_seq = 0
        self._filter_error = ""
        self._filter_notes: tuple[str, ...] = ()
        self._filter_applied = AppliedText()  # applied once (``AppliedText``)

    def compose(self) -> ComposeResult:
        with Horizontal(id="table-header"):
            yield Static(safe_text(str(self.root)), id="table-title")
            yield Static("", id="table-counts")
        yield Input(placeholder=FILTER_HINT, id="run-filter")
        yield RunTable(id="run-table")
        yield Static("", id="table-status")
        yield Footer()

    @property
    def table(self) -> RunTable:
        return self.query_one(RunTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._update_counts()
        self.scan_runs()

    def on_unmount(self) -> None:
        self._stop.set()
        self._first_painted.set()
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_now(self.state, self._save_seq)

    def key_help(self) -> list[KeySection]:
        """What ``?`` lists: this page's keys, the table's, then those that work everywhere."""
        return [
            *key_sections([type(self), type(self.table)]),
            *key_sections([type(self.app)], title="Everywhere"),
        ]

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.key_help()))

    @thread_worker(group="scan", description="list the runs")
    def scan_runs(self) -> None:
        worker = get_current_worker()
        scanner = RunScanner(self.root, keep_cache=True)  # the viewer keeps the row cache
        scanner.list()
        # A project folder keeps its table state under the project's name, as its chart layout;
        # a root (project folders inside: most are called "runs") under its own path.
        project = f"root {self.root}" if scanner.folders.projects else self.root.name
        state, problem = load_table_state(project)
        self.post_message(self.StateLoaded(state, problem, project))
        first = True
        for batch in scanner.scan():
            if worker.is_cancelled or self._stop.is_set():
                return
            # Columns are chosen from the first screenful, then once more from every run.
            auto = auto_columns(list(scanner.rows.values())) if first or scanner.scanned else None
            self.post_message(self.RowsFound(batch, scanner.scanned, scanner.found, auto))
            if first:
                # Reading on would hold the GIL while the UI draws the first screenful: let it
                # draw first (the screenful is what a user waits for).
                self._first_painted.wait(1.0)
            first = False
        problems = scanner.problems
        if problems:
            self.post_message(self.RowsChanged((), problems))
        while not self._stop.wait(POLL_S) and not worker.is_cancelled:
            changed = scanner.poll()
            if changed or scanner.problems != problems:
                problems = scanner.problems
                self.post_message(self.RowsChanged(changed, problems))

    @on(StateLoaded)
    def _state_loaded(self, message: StateLoaded) -> None:
        self.project = message.project
        self._writer = table_writer(self.project)
        self.state = message.state
        self.table.set_sort(self.state.sort, self.state.descending)
        self._apply_columns()
        if message.problem:
            self.notify(message.problem, severity="warning", timeout=10, markup=False)

    @on(RowsFound)
    def _rows_found(self, message: RowsFound) -> None:
        self.found = message.found
        if message.auto is not None:
            self.auto = message.auto
        self.table.set_rows(message.rows)
        if message.auto is not None:
            self._apply_columns()
        self.loaded = message.done
        self._update_counts()
        if not self._first_painted.is_set():
            self.call_after_refresh(self._first_painted.set)

    @on(RowsChanged)
    def _rows_changed(self, message: RowsChanged) -> None:
        self._problems = message.problems
        if message.rows:
            self.table.set_rows(message.rows)
        self._update_counts()
        self._update_status()

    def _apply_columns(self) -> None:
        self.table.set_columns(self.state.columns if self.state.columns is not None else self.auto)

    def _update_counts(self) -> None:
        rows = self.table.rows.values()
        total = len(self.table.rows)
        if self.loaded:
            parts = [f"{total:,} run{'s' if total != 1 else ''}"]
        else:  # never "N runs" until every run is read: the benchmark waits for that text
            parts = [f"reading {total:,} of {self.found:,}…" if self.found else "reading…"]
        running = sum(row.state == fmt.STATE_RUNNING for row in rows)
        if running:
            parts.append(f"● {running} running")
        self.query_one("#table-counts", Static).update(Text(" · ".join(parts)))

    @on(RunTable.Changed)
    def _table_changed(self) -> None:
        self._update_status()

    def _update_status(self) -> None:
        table = self.table
        parts: list[str] = []
        if self._filter_error:
            parts.append(f"! {self._filter_error}")
        parts.extend(f"! {note}" for note in self._filter_notes)
        shown, total = len(table.shown), len(table.rows)
        if shown != total:
            parts.append(f"{shown:,} of {total:,} shown")
        elif self.loaded and not total:
            parts.append(f"no runs under {self.root} yet — new runs appear here as they start")
        if table.marked:
            parts.append(f"{len(table.marked)} marked: c compares")
        row = table.cursor_row
        if row is not None and row.problems:
            parts.append(f"{row.name}: {'; '.join(row.problems)}")
        parts.extend(f"! {p}" for p in self._problems)
        status = self.query_one("#table-status", Static)
        status.update(safe_text(" · ".join(parts)))
        self.has_status = bool(parts)
        status.set_class(bool(self._filter_error or self._problems), "-warning")

    def action_filter(self) -> None:
        focus_now(self.query_one("#run-filter", Input))

    @on(Input.Changed, "#run-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._apply_filter()

    def _apply_filter(self) -> None:
        box = self.query_one("#run-filter", Input)
        if not self._filter_applied.is_new(box):
            return
        try:
            chosen = parse_filter(box.value)
        except FilterError as exc:
            self._filter_error = str(exc)  # half typed: the last valid filter stays
            box.set_class(True, "-invalid")
        else:
            self._filter_error = ""
            self._filter_notes = chosen.notes
            box.set_class(False, "-invalid")
            self.table.set_filter(chosen)
        self._update_status()

    def action_filter_done(self) -> None:
        # "/deep" then enter twice in one burst: the second opens the run the filter shows
        after_typed_keys(self.query_one("#run-filter", Input), self._filter_done)

    def _filter_done(self) -> None:
        self._apply_filter()
        focus_now(self.table)
        self.refresh_bindings()  # esc's "Clear filter" leaves the footer with the filter

    def action_clear_filter(self) -> None:
        after_typed_keys(self.query_one("#run-filter", Input), self._clear_filter)

    def _clear_filter(self) -> None:
        self.query_one("#run-filter", Input).value = ""
        self._filter_done()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        field = self.query_one("#run-filter", Input)
        if action in ("filter", "columns", "compare"):  # priority keys: in the box, text
            return not typing_in(self)  # a "/" typed in it is text (val/acc>0.9)
        if action == "filter_done":
            return focused_now(field)
        if action == "clear_filter":
            return bool(field.value) or focused_now(field)
        return True

    def action_sort(self) -> None:
        table = self.table
        chosen = table.selected_column.id
        descending = not table.descending if chosen == table.sort_id else chosen != "name"
        table.set_sort(chosen, descending)
        self._change(sort=chosen, descending=descending)

    async def action_columns(self) -> None:
        config, summary = all_keys(self.table.rows.values())
        available = [
            *FIELDS,
            *(f"config:{key}" for key in config),
            *(f"summary:{key}" for key in summary),
        ]
        current = [c.id for c in self.table.columns]
        # Awaited: the keys typed right behind "o" reach the picker's search, focused by then.
        await self.app.push_screen(ColumnPicker(current, available), callback=self._columns_picked)

    def _columns_picked(self, chosen: tuple[str, ...] | None) -> None:
        if chosen is None:
            return
        columns = None if chosen == (AUTOMATIC,) else tuple(chosen)
        self._change(columns=columns)
        self._apply_columns()

    def action_hide_column(self) -> None:
        col = self.table.selected_column
        if col.id == "name":
            self.notify("the name column always shows", timeout=3)
            return
        ids = [c.id for c in self.table.columns if c.id not in ("name", col.id)]
        self._change(columns=tuple(ids))
        self._apply_columns()

    def action_move_column(self, delta: int) -> None:
        table = self.table
        ids = [c.id for c in table.columns[1:]]
        index = table.column_cursor - 1
        target = index + delta
        if index < 0 or not 0 <= target < len(ids):
            return
        ids[index], ids[target] = ids[target], ids[index]
        self._change(columns=tuple(ids))
        self._apply_columns()
        table.column_cursor = target + 1
        table.action_column(0)

    def _change(self, **fields: object) -> None:
        """Change the saved state and write it soon (a burst of keys writes once)."""
        self.state = replace(self.state, **fields)  # type: ignore[arg-type]
        self._save_seq += 1
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY_S, self._flush_state)

    def _flush_state(self) -> None:
        self._save_timer = None
        self.run_worker(
            partial(self._save_now, self.state, self._save_seq),
            exit_on_error=False,
            thread=True,
            group="table-state-save",
        )

    def _save_now(self, state: TableState, seq: int) -> None:
        if self._writer is None:
            return
        try:
            self._writer.save(state.to_json(self.project), seq)
        except OSError as exc:
            if self.is_attached:
                self.app.call_from_thread(
                    self.notify, f"table settings not saved: {exc}", severity="error", markup=False
                )

    @on(RunTable.Opened)
    def _open(self, message: RunTable.Opened) -> None:
        row = message.row
        if row.state == STATE_DELETED:
            self.notify(f"{row.name}: the run directory was deleted", severity="warning")
            return
        self.post_message(OpenRunRequested(row.path))  # the app opens it over this page

    def action_mark_shown(self) -> None:
        self.table.toggle_mark(self.table.shown)

    def action_clear_marks(self) -> None:
        self.table.clear_marks()

    def action_compare(self) -> None:
        table = self.table
        keys: Sequence[str] = list(table.marked)
        if not keys:
            if len(table.shown) == len(table.rows) or len(table.shown) > MAX_COMPARE:
                self.notify(
                    "mark runs with space (or M for all shown) to compare them; "
                    f"or filter down to {MAX_COMPARE} runs or fewer",
                    timeout=5,
                )
                return
            keys = table.shown
        rows = [table.rows[key] for key in keys if table.rows[key].state != STATE_DELETED]
        if len(rows) > MAX_COMPARE:
            self.notify(f"compare takes up to {MAX_COMPARE} runs; {len(rows)} are marked")
            return
        if not rows:
            return
        from runview.tui.compare_page import ComparePage

        page = ComparePage([row.path for row in rows])
        self.app.open_page(page)  # type: ignore[attr-defined]
