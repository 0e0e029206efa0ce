"""The base of the chart tabs (Charts, System): one ChartBoard and the same keys and saved layout.

Search, smoothing, columns, pins, folds and edits live here, so every chart tab has all of them;
a subclass says which series it charts, how they become ChartSpecs and which editor it opens.
Its layout is kept per project in the user's state directory, in its own section of the file
(``runview.tui.view_state``), loaded before the first layout and saved debounced
(``runview.tui.chart_state``).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Collapsible, Input, Static

from runview.store.reader import RunSnapshot
from runview.store.series import SeriesSnapshot
from runview.tui.chart_state import ViewStateKeeper
from runview.tui.tabs.base import RunTab
from runview.tui.text_filter import read_filter
from runview.tui.view_state import CHARTS, ChartEdit, ViewState
from runview.tui.widgets.chart_board import ChartBoard
from runview.tui.widgets.chart_spec import ChartSpec

SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
COLUMN_CHOICES = (None, 1, 2, 3, 4)  # None: follow the terminal width
PINNED = "pinned"

# What every chart tab's ? lists; a tab adds its own lines (the editor's x axes, Charts' media
# panel).
NAV_HELP = [
    ("arrows / hjkl", "move between charts"),
    ("enter", "maximise the focused chart (esc returns)"),
    ("/", "search charts by regex (case-insensitive; esc clears)"),
    ("c", "cycle grid columns: auto (by terminal width), 1, 2, 3, 4"),
    ("p", "pin / unpin the focused chart to the top section"),
    ("s / S", "more / less smoothing: " + ", ".join(str(s) for s in SMOOTHING_STEPS)),
    ("z", "fold / unfold the focused chart's section"),
]
EDITOR_HELP = [
    (
        "  in the editor",
        (
            "enter apply · esc cancel · tab next field · space toggle metric · "
            "c / C cycle its colour · ctrl+r reset the chart"
        ),
    ),
    (
        "",
        (
            "layout, pins, smoothing, folds and edits are kept per project and per tab "
            "(RUNVIEW_STATE_DIR, else $XDG_STATE_HOME/runview or ~/.local/state/runview)"
        ),
    ),
]


class ChartTab(RunTab):
    """A tab of charts with search, smoothing, columns, pins, folds and edits, its layout saved per
    project."""

    # where this tab's layout lives in the project's state file
    state_section: ClassVar[str] = CHARTS
    search_id: ClassVar[str] = "charts-search"
    board_class: ClassVar[str] = "charts-board"
    empty_text: ClassVar[str] = "no charts"

    # Footer room at 80 columns: only / s e show; ? lists the rest.
    BINDINGS = [
        Binding("slash", "search", "Search", key_display="/"),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("s", "smoothing(1)", "Smooth"),
        Binding("S", "smoothing(-1)", "Less smooth", show=False),
        Binding("p", "pin", "Pin", show=False),
        Binding("c", "cycle_columns", "Cols", show=False),
        Binding("e", "edit", "Edit"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.pinned: set[str] = set()
        self.smoothing_index = 0
        self.columns_index = 0
        self.edits: dict[str, ChartEdit] = {}
        self._snapshot: RunSnapshot | None = None  # the snapshot the charts were last laid out from
        self._layout_key: Hashable = None
        self._pattern: re.Pattern[str] | None = None
        self._shown = 0
        self._status_text = ""
        # made when the first snapshot names the project
        self._keeper: ViewStateKeeper | None = None
        self._ready = False  # the saved state is applied: snapshots are shown, changes saved
        self._pending: RunSnapshot | None = None

    # -- what a subclass says -------------------------------------------------------------------
    def chart_source(self, snapshot: RunSnapshot) -> SeriesSnapshot:
        """The series this tab charts."""
        raise NotImplementedError  # pragma: no cover - abstract

    def layout_key(self, snapshot: RunSnapshot) -> Hashable:
        """What the chart layout depends on; the charts are laid out again only when it changes."""
        raise NotImplementedError  # pragma: no cover - abstract

    def build_specs(self, snapshot: RunSnapshot) -> list[ChartSpec]:
        """The charts, pinned first, with ``self.edits`` applied."""
        raise NotImplementedError  # pragma: no cover - abstract

    def edit_screen(
        self, chart_id: str, edit: ChartEdit, snapshot: RunSnapshot
    ) -> ModalScreen[ChartEdit | None]:
        """The editor for one chart."""
        raise NotImplementedError  # pragma: no cover - abstract

    def default_edit(self) -> ChartEdit:
        """An edit that changes nothing (applying it resets the chart)."""
        return ChartEdit()

    # -- widgets --------------------------------------------------------------------------------
    def compose_board(self) -> ComposeResult:
        """The search bar and the board, for a subclass's ``compose``."""
        with Horizontal(classes="charts-bar"):
            yield Input(
                placeholder="/ search charts (regex)", id=self.search_id, classes="charts-search"
            )
            yield Static("", classes="charts-status")
        yield ChartBoard(self.empty_text, classes=self.board_class)

    def compose(self) -> ComposeResult:
        yield from self.compose_board()

    @property
    def board(self) -> ChartBoard:
        return self.query_one(ChartBoard)

    @property
    def search(self) -> Input:
        return self.query_one(".charts-search", Input)

    def focus_default(self) -> None:
        self.board.focus_first()

    # -- snapshots ------------------------------------------------------------------------------
    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        # The page calls this on every poll of a live run: cheap when nothing moved.
        if not self._ready:
            self._pending = snapshot  # laid out once the project's saved state is in
            if self._keeper is None:
                project = str(snapshot.meta.get("project") or "")
                self._keeper = ViewStateKeeper(
                    self, project, self._state_loaded, self.state_section
                )
                self._keeper.load()
            return
        self.call_later(self._apply_snapshot, snapshot)

    async def _apply_snapshot(self, snapshot: RunSnapshot) -> None:
        self._snapshot = snapshot
        key = self.layout_key(snapshot)
        if key != self._layout_key:
            self._layout_key = key
            # Decided before the rebuild: it drops the focused chart for a moment, then refocuses
            # it.
            unfocused = self.app.focused is None or self.app.focused is self.board.grid
            await self.board.set_specs(self.build_specs(snapshot))
            if unfocused:
                self.call_after_refresh(self.board.focus_first)
            self._shown = self.board.set_filter(self._filter)
        self.board.set_source(self.chart_source(snapshot))
        self._update_status()

    async def _relayout(self) -> None:
        if self._snapshot is not None:
            await self.board.set_specs(self.build_specs(self._snapshot))

    def _filter(self, spec: ChartSpec) -> bool:
        return self._pattern is None or bool(self._pattern.search(spec.chart_id))

    # -- search ---------------------------------------------------------------------------------
    def action_search(self) -> None:
        self.search.focus()

    @on(Input.Changed, ".charts-search")
    def _on_search(self, event: Input.Changed) -> None:
        event.stop()
        pattern, valid = read_filter(event.input)
        if not valid:
            self._update_status(invalid=True)
            return  # keep the last valid filter on screen
        self._pattern = pattern
        self._shown = self.board.set_filter(self._filter)
        self._update_status()

    @on(Input.Submitted, ".charts-search")
    def _on_search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.board.focus_first()

    def action_clear_search(self) -> None:
        self.search.value = ""
        self.board.focus_first()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_search":
            return bool(self.search.value) or self.search.has_focus
        return True

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
        if chart_id is None or self._snapshot is None:
            return
        self.pinned ^= {chart_id}
        await self._relayout()
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
        if chart_id is None or self._snapshot is None:
            return
        screen = self.edit_screen(
            chart_id, self.edits.get(chart_id, self.default_edit()), self._snapshot
        )
        self.app.push_screen(screen, callback=partial(self._edited, chart_id))

    def _edited(self, chart_id: str, edit: ChartEdit | None) -> None:
        if edit is not None:
            self.call_later(self._apply_edit, chart_id, edit)

    async def _apply_edit(self, chart_id: str, edit: ChartEdit) -> None:
        """Keep ``edit`` for ``chart_id`` (a reset or an edit that changes nothing drops it) and
        redraw it."""
        if edit in (ChartEdit(), self.default_edit()):
            self.edits.pop(chart_id, None)
        else:
            self.edits[chart_id] = edit
        await self._relayout()
        self._state_changed()

    # -- saved state ------------------------------------------------------------------------------
    def _state_loaded(self, state: ViewState, problem: str | None) -> None:
        self.pinned, self.edits = set(state.pinned), dict(state.charts)
        self.smoothing_index = min(
            range(len(SMOOTHING_STEPS)), key=lambda i: abs(SMOOTHING_STEPS[i] - state.smoothing)
        )
        self.columns_index = (
            COLUMN_CHOICES.index(state.columns) if state.columns in COLUMN_CHOICES else 0
        )
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
