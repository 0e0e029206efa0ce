"""Files: what the run saved with ``run.save`` (the format reserves ``files/`` for it)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from runview.store.reader import RunSnapshot
from runview.tui.tabs.base import RunTab


class FilesTab(RunTab):
    tab_name = "files"

    def compose(self) -> ComposeResult:
        yield Static(
            "No files view yet.\n\n"
            "This version of runview does not save files into runs: run.save(path) and the "
            "diff.patch of uncommitted changes come in a later release, and will be listed here "
            "from the run's files/ folder.",
            classes="empty-tab",
        )

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        pass
