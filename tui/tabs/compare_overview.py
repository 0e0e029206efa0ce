"""A comparison's Overview: one column per shown run, one row per config or summary value that
differs between them (``a`` shows every value), after each run's status, runtime and steps."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.widgets import DataTable, Input, Static

from runview.store.run_compare import differing_keys
from runview.store.run_row import flatten_values
from runview.tui.compare_snapshot import CompareSnapshot
from runview.tui.focus import focus_now, focused_now
from runview.tui.format import format_duration
from runview.tui.key_hold import after_typed_keys
from runview.tui.run_cells import STATE_MARKS, format_cell_value
from runview.tui.run_colors import run_style
from runview.tui.safe_text import safe_text, visible
from runview.tui.tabs.base import RunTab
from runview.tui.text_filter import AppliedText, filter_key, read_filter

NAME_WIDTH = 18  # a run's column header is cut here; its number and colour stay
VALUE_WIDTH = 24  # and a value (a path, a long string): every run's column stays in reach


class CompareOverviewTab(RunTab):
    tab_name = "overview"
    # esc and enter move the focus back as the keys arrive, like "/" (``filter_key``), so the keys
    # typed right after them go where the focus went.
    BINDINGS: ClassVar[list[BindingType]] = [
        filter_key("filter", "Filter", "the keys, by a regex (case-insensitive)"),
        # In the footer while they work: in the filter box (its text takes the other keys), and
        # esc while a filter is set.
        Binding("escape", "clear_filter", "Clear filter", priority=True),
        Binding("enter", "filter_done", "Back to the table", priority=True),
        Binding("a", "toggle_all", "All values", tooltip="every value, or only those that differ"),
    ]

    filtering: var[bool] = var(False, toggle_class="-filtering")  # the filter box is open

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.show_all = False
        self._pattern: re.Pattern[str] | None = None
        self._filter_applied = AppliedText()  # applied once (``AppliedText``)
        self._snapshot: CompareSnapshot | None = None
        self._drawn: tuple[Any, ...] | None = None
        self.shown_keys: list[str] = []  # the table's rows as ("config" | "summary", key) labels

    def compose(self) -> ComposeResult:
        yield Static("", id="compare-summary")
        yield Input(placeholder="filter keys (regex) — esc clears", id="compare-filter")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True, fixed_columns=1)

    def focus_default(self) -> None:
        focus_now(self.query_one("#compare-table"))

    def show_snapshot(self, snapshot: Any) -> None:
        self._snapshot = snapshot
        self._draw()

    def _draw(self) -> None:
        compare = self._snapshot
        if compare is None:
            return
        shown = compare.shown
        stamp = (
            tuple((i, compare.runs[i].version) for i in shown),
            self.show_all,
            self._pattern.pattern if self._pattern else None,
        )
        if stamp == self._drawn:
            return
        self._drawn = stamp
        configs = [flatten_values(compare.runs[i].config) for i in shown]
        summaries = [flatten_values(compare.runs[i].summary) for i in shown]
        rows: list[tuple[str, str, list[Any]]] = []
        for kind, values in (("config", configs), ("summary", summaries)):
            keys = (
                sorted(set().union(*(v.keys() for v in values)))
                if self.show_all
                else differing_keys(values)
            )
            for key in keys:
                if key.startswith("_") or (self._pattern and not self._pattern.search(key)):
                    continue
                rows.append((kind, key, [v.get(key) for v in values]))
        self.shown_keys = [f"{kind}:{key}" for kind, key, _ in rows]
        table = self.query_one("#compare-table", DataTable)
        table.clear(columns=True)
        table.add_column(Text("key"), key="key")
        for i in shown:
            label = Text(f"{i + 1} ", style=run_style(i)) + safe_text(compare.runs[i].name)
            label.truncate(NAME_WIDTH, overflow="ellipsis")
            table.add_column(label, key=str(i))
        for label, cells in self._facts(compare, shown):
            table.add_row(Text(label, style="bold"), *cells)
        for kind, key, values in rows:
            table.add_row(
                Text(f"{kind} ", style="dim") + safe_text(key),
                *(_cell(format_cell_value(v)) for v in values),
            )
        differing = sum(kind == "config" for kind, *_ in rows)
        what = "values" if self.show_all else "values that differ"
        summary = (
            f"{len(shown)} of {len(compare.runs)} runs shown · {differing} config and "
            f"{len(rows) - differing} summary {what}"
        )
        if not rows and not self.show_all:
            summary += " (none: a shows every value)"
        self.query_one("#compare-summary", Static).update(Text(summary))

    def _facts(self, compare: CompareSnapshot, shown: list[int]) -> list[tuple[str, list[Text]]]:
        states, runtimes, steps = [], [], []
        for i in shown:
            run = compare.runs[i]
            mark, style = STATE_MARKS.get(run.liveness.state, ("?", ""))
            states.append(Text(f"{mark} {run.liveness.state}", style=style))
            runtimes.append(Text(format_duration(run.runtime)))
            steps.append(Text(f"{run.history.rows:,}"))
        return [("status", states), ("runtime", runtimes), ("steps", steps)]

    def action_filter(self) -> None:
        self.filtering = True
        focus_now(self.query_one("#compare-filter", Input))

    def action_clear_filter(self) -> None:
        after_typed_keys(self.query_one("#compare-filter", Input), self._clear_filter)

    def _clear_filter(self) -> None:
        self.query_one("#compare-filter", Input).value = ""
        self.filtering = False
        self._filter_done()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        field = self.query_one("#compare-filter", Input)
        if action == "filter":
            return not self.text_box_focused()  # a "/" typed in the filter is text
        if action == "filter_done":
            return focused_now(field)
        if action == "clear_filter":
            return bool(field.value) or focused_now(field)
        return True

    @on(Input.Changed, "#compare-filter")
    def _apply_filter(self) -> None:
        box = self.query_one("#compare-filter", Input)
        if not self._filter_applied.is_new(box):
            return
        pattern, valid = read_filter(box)
        if valid:
            self._pattern = pattern
            self._draw()

    def action_filter_done(self) -> None:
        after_typed_keys(self.query_one("#compare-filter", Input), self._filter_done)

    def _filter_done(self) -> None:
        self._apply_filter()
        self.focus_default()
        self.refresh_bindings()  # esc's "Clear filter" leaves the footer with the filter

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._draw()


def _cell(value: str) -> Text:
    text = Text(visible(value))
    text.truncate(VALUE_WIDTH, overflow="ellipsis")
    return text
