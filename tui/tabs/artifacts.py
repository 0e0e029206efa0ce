"""Artifacts: versioned, content-addressed outputs of the run (a later release writes them)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from runview.store.reader import RunSnapshot
from runview.tui.tabs.base import RunTab


class ArtifactsTab(RunTab):
    tab_name = "artifacts"

    def compose(self) -> ComposeResult:
        yield Static(
            "No artifacts view yet.\n\n"
            "This version of runview does not log artifacts: runview.Artifact and "
            "run.log_artifact() come in a later release; they will be stored, deduplicated, in "
            "the .artifacts/ store beside the projects and listed here.",
            classes="empty-tab",
        )

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        pass
