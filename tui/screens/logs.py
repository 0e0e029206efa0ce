"""Logs tab (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from runview.store.reader import RunSnapshot
from runview.tui.screens.base import RunTab


class LogsTab(RunTab):
    tab_name = "logs"

    def compose(self) -> ComposeResult:
        yield Static("Logs: not built yet.", classes="empty-tab")

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        pass
