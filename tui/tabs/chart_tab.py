"""The base of the chart tabs (Charts, System): one ChartBoard and the same keys and saved layout.

How the charts look (columns, smoothing, pins, folds, edits) is one immutable ``ViewState``, held
by the tab as the reactive ``view``: every change is a new value, it flows down to the board by a
data binding, and one watcher (``watch_view``) lays the charts out again when needed, updates the
status line and saves it. Keys set ``view``; so does the board, by posting ``ChartBoard.Folded``
for the tab to decide. The state is kept per project in the user's state directory, in the tab's
own section of the file (``runview.tui.view_state``), loaded before the first layout and saved
debounced (``runview.tui.chart_state``).

A subclass says which series it charts, how they become ChartSpecs and which editor it opens.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Hashable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Input, Static

from runview.store import format as fmt
from runview.store.reader import RunSnapshot
from runview.store.series import SeriesSnapshot
from runview.tui.chart_state import ViewStateKeeper
from runview.tui.focus import focus_now, focused_now
from runview.tui.key_help import KeySection, key_sections
from runview.tui.key_hold import after_typed_keys
from runview.tui.tabs.base import RunTab
from runview.tui.text_filter import AppliedText, filter_key, read_filter, text_box_keys
from runview.tui.view_state import CHARTS, ChartEdit, ViewState, load_view_state
from runview.tui.widgets.chart_board import ChartBoard
from runview.tui.widgets.chart_spec import ChartSpec

if TYPE_CHECKING:  # the editor's module is imported when it opens, or its keys are listed
    from runview.tui.chart_edit import ChartEditScreen

SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
COLUMN_CHOICES = (None, 1, 2, 3, 4)  # None: follow the terminal width
PINNED = "pinned"
SMOOTHING = Binding.Group("Smoothing")
SMOOTHING_TIP = (
    f"more / less: {', '.join(f'{s:g}' for s in SMOOTHING_STEPS)} "
    "(a debiased moving average over the faint raw series)"
)
COLUMNS_TIP = "auto (by terminal width), 1, 2, 3, 4"
EDIT_TIP = (
    "the focused chart: title, x axis (step, wall time, relative time, a metric), x / y range, "
    "log y, legend, y metrics and their colours"
)


def _project(snapshot: RunSnapshot) -> str:
    return str(snapshot.meta.get("project") or "")


def _nearest_step(smoothing: float) -> int:
    return min(range(len(SMOOTHING_STEPS)), key=lambda i: abs(SMOOTHING_STEPS[i] - smoothing))


def edit_binding(tooltip: str = EDIT_TIP) -> Binding:
    """``e``, a priority key: the editor opens before the keys typed right behind it are routed,
    so that they reach its title (the chart, the focus until then, dropped them)."""
    return Binding("e", "edit", "Edit", tooltip=tooltip, priority=True)


class ChartTab(RunTab):
    """A tab of charts with search, smoothing, columns, pins, folds and edits, its layout saved per
    project."""

    # where this tab's layout lives in the project's state file
    state_section: ClassVar[str] = CHARTS
    search_id: ClassVar[str] = "charts-search"
    board_class: ClassVar[str] = "charts-board"
    empty_text: ClassVar[str] = "no charts"
    default_view: ClassVar[ViewState] = ViewState()  # until the project's layout is saved
    STYLES = ("chart_board",)

    # Footer room at 80 columns: only / s e show; ? lists the rest.
    BINDINGS: ClassVar[list[BindingType]] = [
        filter_key("search", "Search", "charts by a regex on their names, case-insensitive"),
        Binding("escape", "clear_search", "Clear search", show=False),
        *text_box_keys(),
        Binding("s", "smoothing(1)", "Smooth", group=SMOOTHING, tooltip=SMOOTHING_TIP),
        Binding("S", "smoothing(-1)", "Less smooth", show=False, group=SMOOTHING),
        Binding("p", "pin", "Pin", show=False, tooltip="the focused chart, in a section on top"),
        Binding("c", "cycle_columns", "Columns", show=False, tooltip=COLUMNS_TIP),
        edit_binding(),
    ]

    view: reactive[ViewState] = reactive(ViewState, init=False)

    settles_on_snapshot = True  # its charts exist once the first snapshot is laid out

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._snapshot: RunSnapshot | None = None  # the snapshot the charts were last laid out from
        self._layout_key: Hashable = None
        self._pattern: re.Pattern[str] | None = None
        self._search_applied = AppliedText()  # applied once (``AppliedText``)
        self._shown = 0
        self._status_text = ""
        # made when the first snapshot names the project
        self.keeper: ViewStateKeeper | None = None
        self.ready = False  # the saved state is applied: snapshots are shown, changes saved
        self._pending: RunSnapshot | None = None
        # (project, state, problem) read ahead by the page (``prefetch``)
        self._prefetched: tuple[str, ViewState, str | None] | None = None

    # -- what a subclass says -------------------------------------------------------------------
    def chart_source(self, snapshot: RunSnapshot) -> SeriesSnapshot:
        """The series this tab charts."""
        raise NotImplementedError  # pragma: no cover - abstract

    def layout_key(self, snapshot: RunSnapshot) -> Hashable:
        """What the chart layout depends on; the charts are laid out again only when it changes."""
        raise NotImplementedError  # pragma: no cover - abstract

    def build_specs(self, snapshot: RunSnapshot) -> list[ChartSpec]:
        """The charts, pinned first, with the view's edits applied."""
        raise NotImplementedError  # pragma: no cover - abstract

    @classmethod
    def editor(cls) -> type[ChartEditScreen]:
        """The class of this tab's chart editor. (Imported when first asked for: its widgets are
        not needed before the first charts.)"""
        from runview.tui.chart_edit import ChartEditScreen

        return ChartEditScreen

    def edit_screen(self, chart_id: str, edit: ChartEdit, snapshot: RunSnapshot) -> ChartEditScreen:
        """The editor for one chart (an instance of ``editor()``)."""
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
        yield ChartBoard(self.empty_text, classes=self.board_class).data_bind(ChartTab.view)

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

    def key_help(self, shadowed: Collection[str] = ()) -> list[KeySection]:
        # The editor is a screen of its own, not in this tab's DOM: its keys are added here (the
        # page's keys do not reach into it).
        return [*super().key_help(shadowed), *key_sections(self.unmounted_key_classes())]

    def unmounted_key_classes(self) -> list[type]:
        """Classes whose keys work here once they are mounted (the editor, when it opens)."""
        return self.editor().key_classes()

    # -- snapshots ------------------------------------------------------------------------------
    @classmethod
    def prefetch(cls, snapshot: RunSnapshot) -> tuple[str, ViewState, str | None]:
        """The project's saved layout for this tab (reader thread): its first layout needs it."""
        project = _project(snapshot)
        return (project, *load_view_state(project, cls.state_section, cls.default_view))

    def use_prefetched(self, value: object) -> None:
        if isinstance(value, tuple) and len(value) == 3:
            self._prefetched = value

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        # The page calls this on every poll of a live run: cheap when nothing moved.
        if not self.ready:
            self._pending = snapshot  # laid out once the project's saved state is in
            if self.keeper is None:
                project = _project(snapshot)
                self.keeper = ViewStateKeeper(
                    self, project, self._state_loaded, self.state_section, self.default_view
                )
                prefetched, self._prefetched = self._prefetched, None
                if prefetched is not None and prefetched[0] == project:
                    self._state_loaded(*prefetched[1:])  # laid out now, with the snapshot
                else:
                    self.keeper.load()
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
                self.call_after_refresh(self._focus_first_unless_claimed)
            self._shown = self.board.set_filter(self._filter)
        liveness = getattr(snapshot, "liveness", None)  # a comparison's snapshot has none
        live = liveness is None or liveness.state == fmt.STATE_RUNNING
        self.board.set_source(self.chart_source(snapshot), live)
        self._update_status()
        if not self.settled:  # after the first focus above: callbacks run in order
            self.call_after_refresh(self.mark_settled)

    def _focus_first_unless_claimed(self) -> None:
        # The focus may have moved since the rebuild began: a "/" typed while the first snapshot
        # was laid out put it in the search box, and the text typed next belongs there.
        if self.app.focused is None or self.app.focused is self.board.grid:
            self.board.focus_first()

    def _filter(self, spec: ChartSpec) -> bool:
        return self._pattern is None or bool(self._pattern.search(spec.chart_id))

    # -- the view state: one watcher -----------------------------------------------------------
    async def watch_view(self, old: ViewState, new: ViewState) -> None:
        if (new.pinned, new.charts) != (old.pinned, old.charts) and self._snapshot is not None:
            # The specs depend on pins and edits; the board keeps the focused chart focused.
            await self.board.set_specs(self.build_specs(self._snapshot))
            self._shown = self.board.set_filter(self._filter)
        self._update_status()
        if self.ready and self.keeper is not None:
            self.keeper.changed(new.to_json(self.keeper.project))

    @on(ChartBoard.Loading)
    def _on_board_loading(self, message: ChartBoard.Loading) -> None:
        message.stop()
        self._update_status()

    @on(ChartBoard.Folded)
    def _on_folded(self, message: ChartBoard.Folded) -> None:
        message.stop()
        self.view = self.view.with_fold(message.section, message.folded)

    def action_cycle_columns(self) -> None:
        columns = self.view.columns
        index = COLUMN_CHOICES.index(columns) if columns in COLUMN_CHOICES else 0
        self.view = replace(self.view, columns=COLUMN_CHOICES[(index + 1) % len(COLUMN_CHOICES)])

    def action_smoothing(self, delta: int) -> None:
        index = max(0, min(len(SMOOTHING_STEPS) - 1, _nearest_step(self.view.smoothing) + delta))
        self.view = replace(self.view, smoothing=SMOOTHING_STEPS[index])

    def action_pin(self) -> None:
        chart_id = self.board.focused_chart_id
        if chart_id is not None and self._snapshot is not None:
            self.view = self.view.with_pin_toggled(chart_id)

    # -- search ---------------------------------------------------------------------------------
    def action_search(self) -> None:
        self.board.action_restore()  # the search shows its matches in the grid
        focus_now(self.search)

    @on(Input.Changed, ".charts-search")
    def _on_search(self, event: Input.Changed) -> None:
        event.stop()
        self._apply_search()

    def _apply_search(self) -> None:
        if not self._search_applied.is_new(self.search):
            return
        pattern, valid = read_filter(self.search)
        if not valid:
            self._update_status(invalid=True)
            return  # keep the last valid filter on screen
        self._pattern = pattern
        self._shown = self.board.set_filter(self._filter)
        self._update_status()

    def action_text_box_done(self) -> None:
        after_typed_keys(self.search, self._search_done)

    def _search_done(self) -> None:
        self._apply_search()
        self.board.focus_first()  # the first chart the search shows

    def action_text_box_cancel(self) -> None:
        self.action_clear_search()

    def action_clear_search(self) -> None:
        after_typed_keys(self.search, self._clear_search)

    def _clear_search(self) -> None:
        self.search.value = ""
        self._search_done()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("text_box_done", "text_box_cancel"):
            return focused_now(self.search)
        if action == "clear_search":
            return bool(self.search.value) or focused_now(self.search)
        if action in ("search", "edit"):  # priority keys: in a text box, they are text
            return not self.text_box_focused()
        if action == "cycle_columns":
            # one chart fills the tab: no columns to change
            return all(board.maximised is None for board in self.query(ChartBoard))
        return True

    def _update_status(self, invalid: bool = False) -> None:
        total = len(self.board.charts)
        parts = []
        if invalid:
            parts.append("invalid regex")
        elif self._pattern is not None:
            parts.append(f"{self._shown}/{total} charts")
        else:
            parts.append(f"{total} charts")
        view = self.view
        parts.append(f"columns {view.columns or 'auto'}")
        parts.append(f"smoothing {view.smoothing:g}" if view.smoothing else "no smoothing")
        if view.pinned:
            parts.append(f"{len(view.pinned)} pinned")
        # a run's history still being read (a comparison's snapshot has no such state)
        loading = getattr(self._snapshot, "loading", None)
        if loading is None:
            loading = self.board.whole_share  # charts drawn from samples while columns are read
        if loading is not None:
            parts.append(f"partial · loading {loading:.0%}")
        text = " · ".join(parts)
        if text != self._status_text:
            self._status_text = text
            self.query_one(".charts-status", Static).update(Text(text))

    # -- editing ----------------------------------------------------------------------------------
    async def action_edit(self) -> None:
        chart_id = self.board.focused_chart_id
        if chart_id is None or self._snapshot is None:
            return
        edit = self.view.charts.get(chart_id, self.default_edit())
        screen = self.edit_screen(chart_id, edit, self._snapshot)
        # Awaited: the app reads the next key once this priority key's action returns, and by
        # then the editor's title has the focus, so letters typed right behind "e" land in it.
        await self.app.push_screen(screen, callback=partial(self._edited, chart_id))

    def _edited(self, chart_id: str, edit: ChartEdit | None) -> None:
        """Keep ``edit`` for ``chart_id``; a reset, or an edit that changes nothing, drops it."""
        if edit is not None:
            unedited = edit in (ChartEdit(), self.default_edit())
            self.view = self.view.with_edit(chart_id, None if unedited else edit)

    # -- saved state ------------------------------------------------------------------------------
    def _state_loaded(self, state: ViewState, problem: str | None) -> None:
        # Snapped to the choices the keys cycle through, so the keys go on from where it was.
        state = replace(
            state,
            smoothing=SMOOTHING_STEPS[_nearest_step(state.smoothing)],
            columns=state.columns if state.columns in COLUMN_CHOICES else None,
        )
        if self.keeper is not None:
            self.keeper.loaded_as(state.to_json(self.keeper.project))  # not written back
        self.ready = True
        self.view = state
        if problem:
            self.notify(problem, title="runview", severity="warning", timeout=10, markup=False)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.call_later(self._apply_snapshot, pending)

    def on_unmount(self) -> None:
        if self.keeper is not None:
            self.keeper.close()
