"""Charts: one chart per logged metric, grouped by key prefix, searchable, smoothable, editable, live.

How the tab looks (edits, pins, columns, smoothing, folds) is kept per project in the user's state
directory (``runview.tui.view_state``), loaded before the first layout and saved debounced
(``runview.tui.chart_state``).
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Collapsible, Input, Static

from runview.store.reader import RunSnapshot
from runview.store.series import SeriesSnapshot
from runview.tui.chart_edit import ChartEditScreen
from runview.tui.chart_state import ViewStateKeeper
from runview.tui.screens.base import RunTab
from runview.tui.view_state import ChartEdit, ViewState
from runview.tui.widgets.chart_board import ChartBoard
from runview.tui.widgets.chart_spec import TIME_KEY, ChartSpec, apply_edit
from runview.tui.widgets.media_panel import MediaPanel  # media panel

SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
COLUMN_CHOICES = (None, 1, 2, 3, 4)  # None: follow the terminal width
PINNED = "pinned"
OTHER = "other"
EMPTY = "no metrics logged yet — run.log({...}) adds charts here"


def section_of(key: str) -> str:
    """``train/loss`` -> ``train``; a key without a prefix goes to ``other``."""
    prefix, slash, _rest = key.partition("/")
    return prefix if slash and prefix else OTHER


def history_specs(
    history: SeriesSnapshot, pinned: set[str], edits: dict[str, ChartEdit] | None = None, start_time: float | None = None
) -> list[ChartSpec]:
    """One spec per public metric: pinned first, then sections by prefix (``other`` last); edits applied."""
    keys = [k for k in history.keys if not k.startswith("_")]
    sections = sorted({section_of(k) for k in keys}, key=lambda s: (s == OTHER, s))
    specs = [ChartSpec(k, k, PINNED, ((k, k),), x_label="step") for k in keys if k in pinned]
    for section in sections:
        specs += [ChartSpec(k, k, section, ((k, k),), x_label="step") for k in keys if section_of(k) == section and k not in pinned]
    edits = edits or {}
    return [apply_edit(spec, edits[spec.chart_id], start_time) if spec.chart_id in edits else spec for spec in specs]


def run_start(snapshot: RunSnapshot) -> float | None:
    """When the run started (``meta["start_time"]``), else the time of its first history row."""
    start = snapshot.meta.get("start_time")
    if isinstance(start, (int, float)) and not isinstance(start, bool):
        return float(start)
    times = snapshot.history.series.get(TIME_KEY)
    return float(times[1][0]) if times is not None and times[1].size else None


class ChartsTab(RunTab):
    tab_name = "charts"

    BINDINGS = [
        Binding("slash", "search", "Search", key_display="/"),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("s", "smoothing(1)", "Smooth"),
        Binding("S", "smoothing(-1)", "Less smooth", show=False),
        Binding("p", "pin", "Pin", show=False),  # footer room at 80 columns; listed under ?
        Binding("c", "cycle_columns", "Cols", show=False),
        Binding("e", "edit", "Edit"),
        Binding("m", "toggle_media", "Media"),  # media panel
    ]
    HELP_KEYS = [
        ("arrows / hjkl", "move between charts"),
        ("m", ("media panel: images and tables logged with runview.Image / runview.Table; "
               "up/down pick a key, , . (or left/right) step, home/end first/last step")),  # media panel
        ("enter", "maximise the focused chart (esc returns)"),
        ("/", "search charts by regex (case-insensitive; esc clears)"),
        ("c", "cycle grid columns: auto (by terminal width), 1, 2, 3, 4"),
        ("p", "pin / unpin the focused chart to the top section"),
        ("s / S", "more / less smoothing: " + ", ".join(str(s) for s in SMOOTHING_STEPS)),
        ("z", "fold / unfold the focused chart's section"),
        ("e", ("edit the focused chart: title, x axis (step, wall time, relative time, a metric), "
               "x / y range, log y, legend, y metrics and their colours")),
        ("  in the editor", ("enter apply · esc cancel · tab next field · space toggle metric · "
                             "c / C cycle its colour · ctrl+r reset the chart")),
        ("", ("layout, pins, smoothing, folds and edits are kept per project "
              "(RUNVIEW_STATE_DIR, else $XDG_STATE_HOME/runview or ~/.local/state/runview)")),
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
        self.edits: dict[str, ChartEdit] = {}
        self._start_time: float | None = None
        self._keeper: ViewStateKeeper | None = None  # made when the first snapshot names the project
        self._ready = False  # the saved state is applied: snapshots are shown, changes saved
        self._pending: RunSnapshot | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="charts-bar"):
            yield Input(placeholder="/ search charts (regex)", id="charts-search", classes="charts-search")
            yield Static("", classes="charts-status")
        yield ChartBoard(EMPTY, classes="charts-board")
        yield MediaPanel(classes="charts-media")  # media panel

    @property
    def board(self) -> ChartBoard:
        return self.query_one(ChartBoard)

    def focus_default(self) -> None:
        self.board.focus_first()

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        # The page calls this on every poll of a live run: cheap when nothing moved.
        self.query_one(MediaPanel).show_media(snapshot.path, snapshot.history.media)  # media panel
        if not self._ready:
            self._pending = snapshot  # laid out once the project's saved state is in
            if self._keeper is None:
                self._keeper = ViewStateKeeper(self, str(snapshot.meta.get("project") or ""), self._state_loaded)
                self._keeper.load()
            return
        self.call_later(self._apply_snapshot, snapshot)

    async def _apply_snapshot(self, snapshot: RunSnapshot) -> None:
        history = snapshot.history
        keys = tuple(history.keys)
        self._history = history
        if keys != self._keys:
            self._keys = keys
            self._start_time = run_start(snapshot)
            # Decided before the rebuild: it drops the focused chart for a moment, then refocuses it.
            unfocused = self.app.focused is None or self.app.focused is self.board.grid
            await self.board.set_specs(self._specs())
            if unfocused:
                self.call_after_refresh(self.board.focus_first)
            self._shown = self.board.set_filter(self._filter)
        self.board.set_source(history)
        self._update_status()

    def _specs(self) -> list[ChartSpec]:
        assert self._history is not None
        return history_specs(self._history, self.pinned, self.edits, self._start_time)

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
        if action == "toggle_media":  # media panel: the key exists only when the run has media
            return self.query_one(MediaPanel).has_media or self.has_class("-media")
        if action == "clear_search":
            search = self.query_one("#charts-search", Input)
            return bool(search.value) or search.has_focus
        return True

    # media panel: "m" swaps the chart board for the media panel (CSS class -media), and back
    def action_toggle_media(self) -> None:
        showing = not self.has_class("-media")
        self.set_class(showing, "-media")
        self.call_after_refresh(self.query_one(MediaPanel).focus_default if showing else self.board.focus_first)
        self.refresh_bindings()

    # -- layout and smoothing -------------------------------------------------------------------
    def action_cycle_columns(self) -> None:
        self.columns_index = (self.columns_index + 1) % len(COLUMN_CHOICES)
        self.board.set_columns(COLUMN_CHOICES[self.columns_index])
        self._update_status()
        self._state_changed()

    def action_smoothing(self, delta: int) -> None:
        self.smoothing_index = max(0, min(len(SMOOTHING_STEPS) - 1, self.smoothing_index + delta))
        self.board.set_smoothing(SMOOTHING_STEPS[self.smoothing_index])
        self._update_status()
        self._state_changed()

    async def action_pin(self) -> None:
        chart_id = self.board.focused_chart_id
        if chart_id is None or self._history is None:
            return
        self.pinned ^= {chart_id}
        await self.board.set_specs(self._specs())
        if chart_id in self.board.charts:
            self.board.charts[chart_id].focus()
        self._update_status()
        self._state_changed()

    @on(Collapsible.Toggled)
    def _on_fold(self) -> None:
        self._state_changed()

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

    # -- editing ----------------------------------------------------------------------------------
    def action_edit(self) -> None:
        chart_id = self.board.focused_chart_id
        if chart_id is None or self._history is None:
            return
        screen = ChartEditScreen(chart_id, self.edits.get(chart_id, ChartEdit()), (chart_id,), self._history.keys)
        self.app.push_screen(screen, callback=partial(self._edited, chart_id))

    def _edited(self, chart_id: str, edit: ChartEdit | None) -> None:
        if edit is not None:
            self.call_later(self._apply_edit, chart_id, edit)

    async def _apply_edit(self, chart_id: str, edit: ChartEdit) -> None:
        """Keep ``edit`` for ``chart_id`` (an all-default edit resets the chart) and redraw it."""
        if edit == ChartEdit():
            self.edits.pop(chart_id, None)
        else:
            self.edits[chart_id] = edit
        if self._history is not None:
            await self.board.set_specs(self._specs())
        self._state_changed()

    # -- saved state ------------------------------------------------------------------------------
    def _state_loaded(self, state: ViewState, problem: str | None) -> None:
        self.pinned, self.edits = set(state.pinned), dict(state.charts)
        self.smoothing_index = min(range(len(SMOOTHING_STEPS)), key=lambda i: abs(SMOOTHING_STEPS[i] - state.smoothing))
        self.columns_index = COLUMN_CHOICES.index(state.columns) if state.columns in COLUMN_CHOICES else 0
        self.board.set_columns(COLUMN_CHOICES[self.columns_index])
        self.board.set_smoothing(SMOOTHING_STEPS[self.smoothing_index])
        self.board.set_folded(state.folded)
        self._ready = True
        if self._keeper is not None:
            self._keeper.loaded_as(self._state_json())
        if problem:
            self.notify(problem, title="runview", severity="warning", timeout=10, markup=False)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.call_later(self._apply_snapshot, pending)

    def _state_json(self) -> dict[str, Any]:
        state = ViewState(
            columns=COLUMN_CHOICES[self.columns_index],
            smoothing=SMOOTHING_STEPS[self.smoothing_index],
            pinned=set(self.pinned),
            folded=set(self.board.folded),
            charts=dict(self.edits),
        )
        return state.to_json(self._keeper.project if self._keeper else "")

    def _state_changed(self) -> None:
        if self._ready and self._keeper is not None:
            self._keeper.changed(self._state_json())

    def on_unmount(self) -> None:
        if self._keeper is not None:
            self._keeper.close()
