"""One artifact version in full: its files with sizes and digests, metadata, every version with
what changed, and the runs that produced and used it (each openable as its run page)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.widgets import DataTable, Static

from runview.store.artifact_reader import ArtifactDetail, LineageRun, VersionRow
from runview.tui.format import format_bytes
from runview.tui.key_help import key_group
from runview.tui.safe_text import safe_text, visible
from runview.tui.widgets.artifact_tables import LineageTable, VersionTable

MAX_FILE_ROWS = 2000  # the files table of a huge version shows this many, then says how many more


def when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else ""


def summary_text(detail: ArtifactDetail) -> Text:
    """``mnist:v3 · dataset · 2 files · 16.4 KiB · created … · aliases best, latest``."""
    manifest = detail.manifest
    text = safe_text(f"{detail.name}:v{detail.version}", style="bold")
    if manifest.type:
        text.append(visible(f" · {manifest.type}"))
    text.append(f" · {len(manifest.files)} file{'s' if len(manifest.files) != 1 else ''}")
    text.append(f" · {format_bytes(manifest.size)}")
    if manifest.created:
        text.append(f" · created {when(manifest.created)}")
    if detail.aliases:
        text.append(visible(f" · aliases {', '.join(detail.aliases)}"), style="cyan")
    if manifest.description:
        text.append("\n")
        text.append(visible(manifest.description), style="italic")
    if detail.problems:
        text.append("\n")
        text.append(
            visible("✗ " + "\n✗ ".join(detail.problems[:20])),
            style="bold red",
        )
        if len(detail.problems) > 20:
            text.append(f"\n… {len(detail.problems) - 20} more problems", style="bold red")
    return text


def metadata_text(detail: ArtifactDetail) -> Text:
    metadata = detail.manifest.metadata
    if not metadata:
        return Text("no metadata", style="dim")
    lines = Text()
    for i, (key, value) in enumerate(sorted(metadata.items())):
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        if i:
            lines.append("\n")
        lines.append(visible(key), style="bold")
        lines.append(" ")
        lines.append(visible(shown[:500]))
    return lines


class ArtifactDetailView(VerticalScroll):
    """The detail of one version; posts ``OpenRun`` and ``OpenVersion`` for Enter on a row."""

    HELP_TITLE = "In a version"
    # Screen's own focus keys, declared again so that ? lists them here.
    BINDINGS: ClassVar[list[BindingType]] = key_group(
        "Next / previous table",
        ("tab", "app.focus_next", "Next table"),
        ("shift+tab", "app.focus_previous", "Previous table"),
    )

    more_files: var[bool] = var(False, toggle_class="-more-files")  # files beyond the table

    class OpenRun(Message):
        """Enter on a lineage row that names a run of this root."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    class OpenVersion(Message):
        """Enter on another version of the same artifact."""

        def __init__(self, name: str, version: int) -> None:
            super().__init__()
            self.name, self.version = name, version

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: ArtifactDetail | None = None
        self._lineage: list[LineageRun] = []
        self._versions: list[VersionRow] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="detail-summary")
        yield Static("Lineage — enter opens the run", classes="section-title")
        yield LineageTable(id="detail-lineage", cursor_type="row", zebra_stripes=True)
        yield Static("Versions — enter shows one", classes="section-title")
        yield VersionTable(id="detail-versions", cursor_type="row", zebra_stripes=True)
        yield Static("Files", classes="section-title")
        yield DataTable(id="detail-files", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail-files-more")
        yield Static("Metadata", classes="section-title")
        yield Static("", id="detail-metadata")

    def on_mount(self) -> None:
        self.query_one("#detail-lineage", DataTable).add_columns("role", "run", "name", "when")
        self.query_one("#detail-versions", DataTable).add_columns(
            "version", "created", "size", "files", "aliases", "changes from the previous"
        )
        self.query_one("#detail-files", DataTable).add_columns("path", "size", "sha256")

    def show(self, detail: ArtifactDetail) -> None:
        self.detail = detail
        self.query_one("#detail-summary", Static).update(summary_text(detail))
        self._fill_lineage(detail)
        self._fill_versions(detail)
        self._fill_files(detail)
        self.query_one("#detail-metadata", Static).update(metadata_text(detail))
        self.scroll_home(animate=False)

    def _fill_lineage(self, detail: ArtifactDetail) -> None:
        table = self.query_one("#detail-lineage", DataTable)
        table.clear()
        self._lineage = list(detail.lineage)
        for run in self._lineage:
            where = safe_text(run.run or run.run_id)
            if run.problem:
                where.append(visible(f"  ({run.problem})"), style="yellow")
            table.add_row(Text(run.role), where, safe_text(run.name), Text(when(run.time)))
        if not self._lineage:
            table.add_row(Text("no run recorded", style="dim"), "", "", "")
        if detail.lineage_dropped:
            table.add_row(Text(f"… {detail.lineage_dropped} older", style="dim"), "", "", "")

    def _fill_versions(self, detail: ArtifactDetail) -> None:
        table = self.query_one("#detail-versions", DataTable)
        table.clear()
        self._versions = list(detail.versions)
        for row in self._versions:
            label = Text(f"v{row.version}", style="bold" if row.version == detail.version else "")
            if row.problems:
                change = Text("manifest damaged: " + row.problems[0], style="red")
            elif row.change is None:
                change = Text("not compared (older)", style="dim")
            else:
                change = Text(visible(_change_text(row)))
            table.add_row(
                label,
                Text(when(row.created)),
                Text(format_bytes(row.size) if row.change is not None else ""),
                Text(str(row.files) if row.change is not None else ""),
                safe_text(", ".join(row.aliases), style="cyan"),
                change,
            )
        index = next(
            (i for i, row in enumerate(self._versions) if row.version == detail.version), 0
        )
        if self._versions:
            table.move_cursor(row=index)

    def _fill_files(self, detail: ArtifactDetail) -> None:
        table = self.query_one("#detail-files", DataTable)
        table.clear()
        files = detail.manifest.files
        for entry in files[:MAX_FILE_ROWS]:
            table.add_row(
                safe_text(entry.path), Text(format_bytes(entry.size)), Text(entry.sha256[:16])
            )
        for ref in detail.manifest.references[:MAX_FILE_ROWS]:
            table.add_row(
                safe_text(f"{ref.path} → {ref.uri}", style="italic"),
                Text(format_bytes(ref.size) if ref.size is not None else "reference"),
                Text((ref.sha256 or "")[:16]),
            )
        more = self.query_one("#detail-files-more", Static)
        hidden = max(0, len(files) - MAX_FILE_ROWS)
        more.update(Text(f"… and {hidden:,} more files", style="dim") if hidden else "")
        self.more_files = bool(hidden)

    @on(DataTable.RowSelected, "#detail-lineage")
    def _open_run(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.cursor_row >= len(self._lineage):
            return
        run = self._lineage[event.cursor_row]
        if run.path is None:
            self.notify(
                visible(run.problem or "this run cannot be opened"),
                severity="warning",
                markup=False,
            )
            return
        self.post_message(self.OpenRun(run.path))

    @on(DataTable.RowSelected, "#detail-versions")
    def _open_version(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.detail is None or event.cursor_row >= len(self._versions):
            return
        self.post_message(
            self.OpenVersion(self.detail.name, self._versions[event.cursor_row].version)
        )

    @on(DataTable.RowSelected, "#detail-files")
    def _file_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()


def _change_text(row: VersionRow) -> str:
    assert row.change is not None
    change = row.change
    summary = change.summary()
    names = [*(f"+{p}" for p in change.added), *(f"-{p}" for p in change.removed)]
    names += [f"~{p}" for p in change.changed]
    if names:
        shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        summary += f": {shown}"
    return summary
