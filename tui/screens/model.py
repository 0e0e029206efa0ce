"""Model tab (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from runview.store.reader import RunSnapshot
from runview.tui.screens.base import RunTab


class ModelTab(RunTab):
    tab_name = "model"

    def compose(self) -> ComposeResult:
        yield Static("Model: not built yet.", classes="empty-tab")

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        pass
