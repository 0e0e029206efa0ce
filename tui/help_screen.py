"""The ``?`` screen: the keys that work everywhere, then the page's and its tab's."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from runview.tui.tabs import TABS

RUN_PAGE_KEYS = [
    (
        "1-7",
        "switch tab: " + ", ".join(f"{i + 1} {title}" for i, (_, title, *_) in enumerate(TABS)),
    ),
    ("[ / ]", "previous / next tab"),
]
GLOBAL_KEYS = [
    ("tab / shift+tab", "move focus between widgets"),
    ("?", "this help"),
    ("q", "quit (the terminal is restored)"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, tab_keys: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self.tab_keys = tab_keys or []

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row(Text("runview", style="bold"), Text("keys (esc closes)"))
        for key, what in GLOBAL_KEYS + self.tab_keys:
            table.add_row(Text(key), Text(what))
        with VerticalScroll(id="help-body"):
            yield Static(table)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
