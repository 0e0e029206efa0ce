"""Charts: one chart per logged metric, grouped by key prefix, searchable, smoothable, live."""

from __future__ import annotations

import re

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from runview.store.reader import RunSnapshot
from runview.store.series import SeriesSnapshot
from runview.tui.screens.base import RunTab
from runview.tui.widgets.chart_board import ChartBoard
from runview.tui.widgets.chart_spec import ChartSpec

SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
COLUMN_CHOICES = (None, 1, 2, 3, 4)  # None: follow the terminal width
PINNED = "pinned"
OTHER = "other"
EMPTY = "no metrics logged yet — run.log({...}) adds charts here"


def section_of(key: str) -> str:
    """``train/loss`` -> ``train``; a key without a prefix goes to ``other``."""
    prefix, slash, _rest = key.partition("/")
    return prefix if slash and prefix else OTHER


def history_specs(history: SeriesSnapshot, pinned: set[str]) -> list[ChartSpec]:
    """One spec per public metric: pinned first, then sections by prefix (``other`` last)."""
    keys = [k for k in history.keys if not k.startswith("_")]
    sections = sorted({section_of(k) for k in keys}, key=lambda s: (s == OTHER, s))
    specs = [ChartSpec(k, k, PINNED, ((k, k),), x_label="step") for k in keys if k in pinned]
    for section in sections:
        specs += [ChartSpec(k, k, section, ((k, k),), x_label="step") for k in keys if section_of(k) == section and k not in pinned]
    return specs


class ChartsTab(RunTab):
    tab_name = "charts"

    BINDINGS = [
        Binding("slash", "search", "Search", key_display="/"),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("s", "smoothing(1)", "Smooth"),
        Binding("S", "smoothing(-1)", "Less smooth", show=False),
        Binding("p", "pin", "Pin"),
        Binding("c", "cycle_columns", "Cols"),
    ]
    HELP_KEYS = [
        ("arrows / hjkl", "move between charts"),
        ("enter", "maximise the focused chart (esc returns)"),
        ("/", "search charts by regex (case-insensitive; esc clears)"),
        ("c", "cycle grid columns: auto (by terminal width), 1, 2, 3, 4"),
        ("p", "pin / unpin the focused chart to the top section"),
        ("s / S", "more / less smoothing: " + ", ".join(str(s) for s in SMOOTHING_STEPS)),
        ("z", "fold / unfold the focused chart's section"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.pinned: set[str] = set()
        self.smoothing_index = 0
        self.columns_index = 0
        self._history: SeriesSnapshot | None = None
        self._keys: tuple[str, ...] | None = None
        self._pattern: re.Pattern[str] | None = None
        self._shown = 0
        self._status_text = ""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="charts-bar"):
            yield Input(placeholder="/ search charts (regex)", id="charts-search", classes="charts-search")
            yield Static("", classes="charts-status")
        yield ChartBoard(EMPTY, classes="charts-board")

    @property
    def board(self) -> ChartBoard:
        return self.query_one(ChartBoard)

    def focus_default(self) -> None:
        self.board.focus_first()

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        # The page calls this on every poll of a live run: cheap when nothing moved.
        self.call_later(self._apply_snapshot, snapshot.history)

    async def _apply_snapshot(self, history: SeriesSnapshot) -> None:
        keys = tuple(history.keys)
        self._history = history
        if keys != self._keys:
            self._keys = keys
            await self.board.set_specs(history_specs(history, self.pinned))
            if self.app.focused is None or self.app.focused is self.board.grid:
                self.call_after_refresh(self.board.focus_first)
            self._shown = self.board.set_filter(self._filter)
        self.board.set_source(history)
        self._update_status()

    def _filter(self, spec: ChartSpec) -> bool:
        return self._pattern is None or bool(self._pattern.search(spec.chart_id))

    # -- search ---------------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one("#charts-search", Input).focus()

    @on(Input.Changed, "#charts-search")
    def _on_search(self, event: Input.Changed) -> None:
        text = event.value.strip()
        event.input.set_class(False, "-invalid")
        pattern = None
        if text:
            try:
                pattern = re.compile(text, re.IGNORECASE)
            except re.error:
                event.input.set_class(True, "-invalid")
                self._update_status(invalid=True)
                return  # keep the last valid filter on screen
        self._pattern = pattern
        self._shown = self.board.set_filter(self._filter)
        self._update_status()

    @on(Input.Submitted, "#charts-search")
    def _on_search_submitted(self) -> None:
        self.board.focus_first()

    def action_clear_search(self) -> None:
        search = self.query_one("#charts-search", Input)
        search.value = ""
        self.board.focus_first()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_search":
            search = self.query_one("#charts-search", Input)
            return bool(search.value) or search.has_focus
        return True

    # -- layout and smoothing -------------------------------------------------------------------
    def action_cycle_columns(self) -> None:
        self.columns_index = (self.columns_index + 1) % len(COLUMN_CHOICES)
        self.board.set_columns(COLUMN_CHOICES[self.columns_index])
        self._update_status()

    def action_smoothing(self, delta: int) -> None:
        self.smoothing_index = max(0, min(len(SMOOTHING_STEPS) - 1, self.smoothing_index + delta))
        self.board.set_smoothing(SMOOTHING_STEPS[self.smoothing_index])
        self._update_status()

    async def action_pin(self) -> None:
        chart_id = self.board.focused_chart_id
        if chart_id is None or self._history is None:
            return
        self.pinned ^= {chart_id}
        await self.board.set_specs(history_specs(self._history, self.pinned))
        if chart_id in self.board.charts:
            self.board.charts[chart_id].focus()
        self._update_status()

    def _update_status(self, invalid: bool = False) -> None:
        total = len(self.board.charts)
        parts = []
        if invalid:
            parts.append("invalid regex")
        elif self._pattern is not None:
            parts.append(f"{self._shown}/{total} charts")
        else:
            parts.append(f"{total} charts")
        columns = COLUMN_CHOICES[self.columns_index]
        parts.append(f"columns {columns or 'auto'}")
        smoothing = SMOOTHING_STEPS[self.smoothing_index]
        parts.append(f"smoothing {smoothing:g}" if smoothing else "no smoothing")
        if self.pinned:
            parts.append(f"{len(self.pinned)} pinned")
        text = " · ".join(parts)
        if text != self._status_text:
            self._status_text = text
            self.query_one(".charts-status", Static).update(Text(text))
