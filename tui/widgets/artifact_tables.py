"""The Artifacts tab's tables, each declaring what its keys do there, so that ``?`` lists them."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from runview.tui.key_help import key_group


class ArtifactTable(DataTable):
    """The run's artifacts, a row each."""

    HELP_TITLE = "In the artifacts table"
    # DataTable's own keys, declared again with what they do here.
    BINDINGS: ClassVar[list[BindingType]] = [
        *key_group(
            "Move between artifacts", ("up", "cursor_up", "Up"), ("down", "cursor_down", "Down")
        ),
        Binding(
            "enter",
            "select_cursor",
            "Open version",
            show=False,
            tooltip="the version under the cursor: files, metadata, versions, lineage",
        ),
    ]


class LineageTable(DataTable):
    """The runs that produced and used a version."""

    HELP_TITLE = "In a version"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Open run",
            show=False,
            tooltip="the producing or consuming run's page; backspace comes back",
        ),
    ]


class VersionTable(DataTable):
    """Every version of an artifact."""

    HELP_TITLE = "In a version"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Show version", show=False, tooltip="that one instead"),
    ]
