"""Pick keys from a searchable list: the run table's columns (fields, config keys, summary
metrics), or the config keys a comparison groups runs over."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, SelectionList, Static
from textual.widgets.selection_list import Selection

from runview.store.run_columns import column
from runview.tui.focus import focus_now
from runview.tui.safe_text import visible
from runview.tui.text_filter import read_filter
from runview.tui.widgets.ticks import TickList

AUTOMATIC = "auto"  # what the picker returns for "choose automatically" (no column has this id)
HINT = "type to search · tab to the list · space toggles · enter applies · esc cancels"
AUTOMATIC_HINT = " · ctrl+r automatic"


class ColumnPicker(ModalScreen[tuple[str, ...] | None]):
    """Returns the chosen column ids in order, ``(AUTOMATIC,)`` for the automatic choice, None when
    cancelled."""

    STYLES = ("column_picker",)  # tui/styles, added when it is first pushed (``stylesheets``)
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "apply", "Apply", priority=True),
        Binding("ctrl+r", "automatic", "Automatic"),
    ]

    def __init__(
        self,
        current: Sequence[str],
        available: Sequence[str],
        title: str = "Columns",
        automatic: bool = True,
    ) -> None:
        """``automatic``: ctrl+r returns ``(AUTOMATIC,)``."""
        super().__init__()
        self.current = [c for c in current if c != "name"]
        self.available = [c for c in available if c != "name"]
        self.chosen = set(self.current)
        self.title_text = title
        self.automatic = automatic

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog"):
            hint = HINT + (AUTOMATIC_HINT if self.automatic else "")
            yield Static(Text(hint), id="picker-hint")
            yield Input(placeholder="search columns (regex)", id="picker-search")
            yield TickList[str](id="picker-list")

    def on_mount(self) -> None:
        self.query_one("#picker-dialog").border_title = Text(self.title_text)
        self._fill(None)
        focus_now(self.query_one("#picker-search", Input))  # at once: for the keys typed next

    def _fill(self, pattern: object) -> None:
        listing = self.query_one(SelectionList)
        listing.clear_options()
        search = getattr(pattern, "search", None)
        options = []
        for column_id in self.available:
            if search is not None and not search(column_id):
                continue
            col = column(column_id)
            kind = "" if col is None or col.kind == "field" else f"{col.kind}  "
            label = Text(kind, style="dim") + Text(visible(col.title if col else column_id))
            options.append(Selection(label, column_id, column_id in self.chosen))
        listing.add_options(options)
        if options:
            listing.highlighted = 0  # space toggles the highlighted one: there must be one

    @on(SelectionList.SelectionToggled)
    def _toggled(self, event: SelectionList.SelectionToggled) -> None:
        value = event.selection.value
        (self.chosen.add if value in event.selection_list.selected else self.chosen.discard)(value)

    @on(Input.Changed, "#picker-search")
    def _search(self, event: Input.Changed) -> None:
        pattern, valid = read_filter(event.input, literal_fallback=True)
        self._fill(pattern)

    def action_apply(self) -> None:
        kept = [c for c in self.current if c in self.chosen]
        added = [c for c in self.available if c in self.chosen and c not in kept]
        self.dismiss(tuple(kept + added))

    def action_automatic(self) -> None:
        if self.automatic:
            self.dismiss((AUTOMATIC,))

    def action_cancel(self) -> None:
        self.dismiss(None)
