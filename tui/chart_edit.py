"""The chart editor: a keyboard-first modal that returns a ChartEdit for one chart (or None when
cancelled)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from runview.tui.focus import focus_now
from runview.tui.key_help import hint_line, key_group, key_sections
from runview.tui.text_filter import read_filter
from runview.tui.view_state import X_METRIC, X_RELATIVE, X_STEP, X_WALL, Bound, ChartEdit
from runview.tui.widgets.chart import NAMED_COLORS, PALETTE
from runview.tui.widgets.ticks import TickBox, TickList

AUTO = ""
COLOR_CHOICES = (AUTO, *NAMED_COLORS)
HELP_TITLE = "Chart editor (e)"
X_CHOICES = ((X_STEP, "step"), (X_WALL, "wall time"), (X_RELATIVE, "relative time (s since start)"))


def parse_bound(text: str, name: str) -> Bound:
    """'' -> None (auto); a finite number -> float; anything else -> ValueError naming the field."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite")
    return value


def parse_range(lo_text: str, hi_text: str, axis: str) -> tuple[Bound, Bound]:
    lo, hi = parse_bound(lo_text, f"{axis} min"), parse_bound(hi_text, f"{axis} max")
    if lo is not None and hi is not None and lo >= hi:
        raise ValueError(f"{axis} min must be below {axis} max")
    return lo, hi


def swatch(name: str, fallback: str) -> Text:
    """A coloured block and the colour's name ("auto" shows the palette colour it resolves to)."""
    code = NAMED_COLORS.get(name or fallback)
    style = Style() if code is None else Style(color=f"color({code})")
    return Text.assemble(("■ ", style), (name or f"auto ({fallback})", "dim" if not name else ""))


class MetricList(TickList[str]):
    """The y metrics: space toggles; c / C asks the editor to cycle the highlighted metric's
    colour."""

    HELP_TITLE = HELP_TITLE
    BINDINGS: ClassVar[list[BindingType]] = [
        *key_group(
            "Next / previous colour",
            ("c", "cycle_color(1)", "Next colour"),
            ("C", "cycle_color(-1)", "Previous colour"),
        ),
        Binding("space", "select", "Toggle metric", show=False),  # SelectionList's, for ?
    ]

    @dataclass
    class CycleColor(Message):
        """Give ``key`` the next (``delta`` 1) or previous (-1) colour."""

        key: str
        delta: int

    def action_cycle_color(self, delta: int) -> None:
        if self.highlighted is not None:
            key = self.get_option_at_index(self.highlighted).value
            self.post_message(self.CycleColor(key, delta))


class ChartEditScreen(ModalScreen["ChartEdit | None"]):
    """Edit one chart. Enter applies (from any field), esc cancels; bad input is shown, never
    applied."""

    HELP_TITLE = HELP_TITLE
    STYLES = ("chart_edit",)  # tui/styles, added when it is first pushed (``stylesheets``)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "apply",
            "Apply",
            priority=True,
            tooltip="from any field but the x-axis drop-down, where enter opens it and picks",
        ),
        # outside a text field q closes too (it does not quit runview)
        Binding("escape,q", "cancel", "Cancel"),
        Binding("ctrl+r", "reset", "Reset", tooltip="the chart as drawn unedited"),
        # Screen's own focus keys, declared again so that the hint and ? list them.
        *key_group(
            "Next / previous field",
            ("tab", "app.focus_next", "Next field"),
            ("shift+tab", "app.focus_previous", "Previous field"),
        ),
    ]

    error: var[str] = var("", toggle_class="-error")  # what is wrong with the input, if anything

    @classmethod
    def key_classes(cls) -> list[type]:
        """The classes whose keys work in the editor, for ``?`` (it is not open then)."""
        return [cls, MetricList]

    def __init__(
        self, chart_id: str, edit: ChartEdit, default_keys: Sequence[str], keys: Sequence[str]
    ) -> None:
        super().__init__()
        self.chart_id = chart_id
        self.edit = edit
        self.keys = [k for k in keys if not k.startswith("_")]
        self.default_keys = list(default_keys)
        self.selected: list[str] = list(edit.y_keys or default_keys)
        # The list keeps one order while open (the chart's metrics first) so toggling never moves a
        # row.
        self._order = self.selected + [k for k in self.keys if k not in self.selected]
        self.series_colors: dict[str, str] = dict(edit.colors)
        self._pattern: re.Pattern[str] | None = None

    def compose(self) -> ComposeResult:
        edit = self.edit
        x_value = (
            (X_METRIC, edit.x_key) if edit.x_axis == X_METRIC and edit.x_key else (edit.x_axis, "")
        )
        options = [(Text(label), (axis, "")) for axis, label in X_CHOICES]
        options += [(Text(f"metric: {key}"), (X_METRIC, key)) for key in self.keys]
        if x_value not in [value for _prompt, value in options]:
            options.append((Text(f"metric: {edit.x_key} (not in this run)"), x_value))
        with Vertical(id="edit-dialog") as dialog:
            dialog.border_title = Text(f"edit chart · {self.chart_id}")
            with Horizontal(classes="edit-row"):
                yield Label("title", classes="edit-label")
                yield Input(edit.title or self.chart_id, id="edit-title", compact=True)
            with Horizontal(classes="edit-row"):
                yield Label("x axis", classes="edit-label")
                yield Select(options, value=x_value, allow_blank=False, compact=True, id="edit-x")
            with Horizontal(classes="edit-row"):
                yield Label("x range", classes="edit-label")
                yield from self._bounds("x", edit.x_range)
            with Horizontal(classes="edit-row"):
                yield Label("y range", classes="edit-label")
                yield from self._bounds("y", edit.y_range)
                yield TickBox("log y", edit.log_y, compact=True, id="edit-log")
                yield TickBox("legend", edit.legend, compact=True, id="edit-legend")
            with Horizontal(classes="edit-row"):
                yield Label("y metrics", classes="edit-label")
                yield Input(placeholder="filter metrics (regex)", id="edit-filter", compact=True)
            yield MetricList(id="edit-metrics")
            yield Static("", id="edit-error")
            yield Static(Text(hint_line(key_sections(self.key_classes()))), id="edit-hint")

    def _bounds(self, axis: str, bounds: tuple[Bound, Bound]) -> ComposeResult:
        for side, value in zip(("min", "max"), bounds):
            text = "" if value is None else f"{value:g}"
            yield Input(
                text,
                placeholder=f"{side} auto",
                id=f"edit-{axis}{side}",
                compact=True,
                classes="edit-bound",
            )
            if side == "min":
                yield Label(" to ", classes="edit-to")

    def on_mount(self) -> None:
        self._fill_metrics()
        title = self.query_one("#edit-title", Input)
        # At once, not deferred: letters typed right behind the "e" that opened the editor
        # belong in the title (they were lost).
        focus_now(title)
        title.cursor_position = len(title.value)

    # -- metrics and colours ----------------------------------------------------------------------
    def _fill_metrics(self) -> None:
        """(Re)build the metric list, filtered, keeping the highlighted metric highlighted."""
        metrics = self.query_one(MetricList)
        index = metrics.highlighted
        current = (
            metrics.get_option_at_index(index).value
            if index is not None and index < metrics.option_count
            else None
        )
        shown = [k for k in self._order if self._pattern is None or self._pattern.search(k)]
        metrics.clear_options()
        metrics.add_options([Selection(self._prompt(k), k, k in self.selected) for k in shown])
        if shown:
            metrics.highlighted = shown.index(current) if current in shown else 0

    def _prompt(self, key: str) -> Text:
        index = self.selected.index(key) if key in self.selected else None
        fallback = PALETTE[index % len(PALETTE)] if index is not None else "default"
        prompt = Text(key)
        if index is not None:
            prompt.append("  ")
            prompt.append_text(swatch(self.series_colors.get(key, AUTO), fallback))
        return prompt

    @on(MetricList.CycleColor)
    def _cycle_color(self, message: MetricList.CycleColor) -> None:
        key, delta = message.key, message.delta
        if key not in self.selected:
            self.error = "select the metric (space) before picking its colour"
            return
        current = self.series_colors.get(key, AUTO)
        choice = (
            COLOR_CHOICES[(COLOR_CHOICES.index(current) + delta) % len(COLOR_CHOICES)]
            if current in COLOR_CHOICES
            else AUTO
        )
        if choice:
            self.series_colors[key] = choice
        else:
            self.series_colors.pop(key, None)
        self._fill_metrics()

    @on(SelectionList.SelectionToggled, "#edit-metrics")
    def _on_toggled(self, event: SelectionList.SelectionToggled[str]) -> None:
        key = event.selection.value
        if key in self.selected:
            self.selected.remove(key)
        else:
            self.selected.append(key)
        self._fill_metrics()
        self._validate()

    @on(Input.Changed, "#edit-filter")
    def _on_filter(self, event: Input.Changed) -> None:
        pattern, valid = read_filter(event.input)
        if not valid:
            return  # keep the last valid filter
        self._pattern = pattern
        self._fill_metrics()

    # -- validation and result --------------------------------------------------------------------
    @on(Input.Changed, ".edit-bound")
    @on(Checkbox.Changed, "#edit-log")
    def _on_bound_changed(self) -> None:
        self._validate()

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    def _validate(self) -> ChartEdit | None:
        """The edit on screen, or None with every problem shown (and the bad fields marked)."""
        errors: list[str] = []
        ranges: list[tuple[Bound, Bound]] = []
        for axis in ("x", "y"):
            lo_input, hi_input = (
                self.query_one(f"#edit-{axis}min", Input),
                self.query_one(f"#edit-{axis}max", Input),
            )
            try:
                ranges.append(parse_range(lo_input.value, hi_input.value, axis))
                bad: tuple[Input, ...] = ()
            except ValueError as exc:
                errors.append(str(exc))
                ranges.append((None, None))
                bad = tuple(i for i in (lo_input, hi_input) if _bad(i.value)) or (
                    lo_input,
                    hi_input,
                )
            for field in (lo_input, hi_input):
                field.set_class(field in bad, "-invalid")
        log_y = self.query_one("#edit-log", Checkbox).value
        y_lo = ranges[1][0]
        if log_y and y_lo is not None and y_lo <= 0:
            errors.append("a log scale needs y min above 0")
            self.query_one("#edit-ymin", Input).set_class(True, "-invalid")
        if not self.selected:
            errors.append("pick at least one y metric (space)")
        self.error = " · ".join(errors)
        if errors:
            return None
        x_axis, x_key = self.query_one("#edit-x", Select).value  # type: ignore[misc]
        title = self._value("#edit-title").strip()
        return ChartEdit(
            title="" if title == self.chart_id else title,
            x_axis=x_axis,
            x_key=x_key,
            y_keys=() if self.selected == self.default_keys else tuple(self.selected),
            x_range=ranges[0],
            y_range=ranges[1],
            log_y=log_y,
            legend=self.query_one("#edit-legend", Checkbox).value,
            colors=tuple(
                sorted((k, c) for k, c in self.series_colors.items() if k in self.selected)
            ),
        )

    def watch_error(self, error: str) -> None:
        self.query_one("#edit-error", Static).update(Text(error))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            # Enter on the x-axis drop-down is the drop-down's: it opens it, then picks an option.
            return not isinstance(self.focused, Select) and not any(
                select.expanded for select in self.query(Select)
            )
        return True

    def action_apply(self) -> None:
        edit = self._validate()
        if edit is not None:
            self.dismiss(edit)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_reset(self) -> None:
        self.dismiss(ChartEdit())


def _bad(text: str) -> bool:
    try:
        parse_bound(text, "")
    except ValueError:
        return True
    return False
