"""Charts: one chart per logged metric, grouped by key prefix, searchable, smoothable, editable,
live.

The keys and the saved layout are the chart tabs' own (``runview.tui.tabs.chart_tab``); this
tab adds the history's specs, the editor's x axes (step, wall time, relative time, a metric) and
the media panel.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Set
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import var

from runview.store.reader import RunSnapshot
from runview.store.series import SeriesSnapshot
from runview.tui.tabs.chart_tab import PINNED, ChartTab
from runview.tui.view_state import CHARTS, ChartEdit
from runview.tui.widgets.chart_spec import ChartSpec, apply_edit

if TYPE_CHECKING:  # imported when first used: the editor when it opens, the panel with media
    from runview.tui.chart_edit import ChartEditScreen
    from runview.tui.widgets.media_panel import MediaPanel

OTHER = "other"
EMPTY = "no metrics logged yet — run.log({...}) adds charts here"
# The chart tabs' own keys (``ChartTab.BINDINGS``), which work on the board the media panel hides.
BOARD_ACTIONS = frozenset({"search", "clear_search", "smoothing", "pin", "cycle_columns", "edit"})


def section_of(key: str) -> str:
    """``train/loss`` -> ``train``; a key without a prefix goes to ``other``."""
    prefix, slash, _rest = key.partition("/")
    return prefix if slash and prefix else OTHER


def history_specs(
    history: SeriesSnapshot,
    pinned: Set[str],
    edits: Mapping[str, ChartEdit] | None = None,
    start_time: float | None = None,
) -> list[ChartSpec]:
    """One spec per public metric: pinned first, then sections by prefix (``other`` last); edits
    applied."""
    return metric_specs(history.keys, pinned, edits, start_time)


def metric_specs(
    all_keys: Iterable[str],
    pinned: Set[str],
    edits: Mapping[str, ChartEdit] | None = None,
    start_time: float | None = None,
) -> list[ChartSpec]:
    """``history_specs`` for these keys (a comparison charts the keys of every run it shows)."""
    keys = [k for k in all_keys if not k.startswith("_")]
    sections = sorted({section_of(k) for k in keys}, key=lambda s: (s == OTHER, s))
    specs = [ChartSpec(k, k, PINNED, ((k, k),), x_label="step") for k in keys if k in pinned]
    for section in sections:
        specs += [
            ChartSpec(k, k, section, ((k, k),), x_label="step")
            for k in keys
            if section_of(k) == section and k not in pinned
        ]
    edits = edits or {}
    return [
        apply_edit(spec, edits[spec.chart_id], start_time) if spec.chart_id in edits else spec
        for spec in specs
    ]


def run_start(snapshot: RunSnapshot) -> float | None:
    """When the run started: ``meta["start_time"]``, else the status's ``started``.

    Never the first history time: that would read a whole column from disk on the UI thread.
    """
    for start in (snapshot.meta.get("start_time"), snapshot.status.get("started")):
        if isinstance(start, (int, float)) and not isinstance(start, bool):
            return float(start)
    return None


class ChartsTab(ChartTab):
    tab_name = "charts"
    state_section = CHARTS
    search_id = "charts-search"
    board_class = "charts-board"
    empty_text = EMPTY

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "m",
            "toggle_media",
            "Media",
            tooltip="images and tables logged with runview.Image / runview.Table, and back",
        ),
    ]

    # The media panel replaces the board (class -media); the key exists only when there is media.
    has_media: var[bool] = var(False, bindings=True)
    showing_media: var[bool] = var(False, toggle_class="-media", bindings=True)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        # Mounted with the run's first media: most runs log none, and the panel's ten widgets
        # (a table among them) would be styled and laid out ahead of a long run's first charts.
        self.media_panel: MediaPanel | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_board()

    def unmounted_key_classes(self) -> list[type]:
        if self.media_panel is not None:
            return super().unmounted_key_classes()
        from runview.tui.widgets.media_panel import MediaPanel

        return [MediaPanel, *super().unmounted_key_classes()]  # listed where its keys would be

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        media = snapshot.history.media
        self.has_media = bool(media)
        if media and self.media_panel is None:
            from runview.tui.stylesheets import use_styles
            from runview.tui.widgets.media_panel import MediaPanel

            use_styles(self.app, MediaPanel)
            self.media_panel = MediaPanel(classes="charts-media")
            self.mount(self.media_panel)
        if self.media_panel is not None:
            self.media_panel.show_media(snapshot.path, media)
        super().show_snapshot(snapshot)

    def chart_source(self, snapshot: RunSnapshot) -> SeriesSnapshot:
        return snapshot.history

    def layout_key(self, snapshot: RunSnapshot) -> Hashable:
        return tuple(snapshot.history.keys)

    def build_specs(self, snapshot: RunSnapshot) -> list[ChartSpec]:
        view = self.view
        return history_specs(snapshot.history, view.pinned, view.charts, run_start(snapshot))

    def edit_screen(self, chart_id: str, edit: ChartEdit, snapshot: RunSnapshot) -> ChartEditScreen:
        return self.editor()(chart_id, edit, (chart_id,), snapshot.history.keys)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_media":
            return self.has_media or self.showing_media
        if self.showing_media and action in BOARD_ACTIONS:
            return False  # the board is hidden: its keys would act on charts no one sees
        return super().check_action(action, parameters)

    def action_toggle_media(self) -> None:
        self.showing_media = not self.showing_media
        panel = self.media_panel
        self.call_after_refresh(
            panel.focus_default if self.showing_media and panel else self.board.focus_first
        )
