"""The ``?`` screen: the keys of the current tab, then those that work everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from runview.tui.key_help import KeySection


class HelpScreen(ModalScreen[None]):
    """Sections of keys, each headed by where its keys work; scrolls when it is taller than the
    terminal."""

    STYLES = ("help",)  # tui/styles, added when it is first pushed (``stylesheets``)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, sections: Sequence[KeySection]) -> None:
        super().__init__()
        self.sections = tuple(sections)

    def keys(self, title: str) -> dict[str, str]:
        """The rows under ``title``: keys -> what they do."""
        return {
            row.keys: row.text
            for section in self.sections
            if section.title == title
            for row in section.rows
        }

    def compose(self) -> ComposeResult:
        # One width for every section's key column, so the sections line up.
        width = max((cell_len(r.keys) for s in self.sections for r in s.rows), default=1)
        with VerticalScroll(id="help-body") as body:
            body.border_title = Text("keys · esc closes")
            for section in self.sections:
                yield Static(Text(section.title), classes="help-title")
                table = Table.grid(padding=(0, 2))
                table.add_column(style="bold", no_wrap=True, width=width)
                table.add_column()
                for row in section.rows:
                    table.add_row(Text(row.keys), Text(row.text))
                yield Static(table, classes="help-keys")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
