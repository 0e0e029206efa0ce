"""Artifacts: the run's inputs and outputs as a table filtered by a regex; Enter opens one version
in full, with its lineage — the runs that produced and used it, each openable as its run page."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker

from runview.store import format as fmt
from runview.store.artifact_reader import (
    ArtifactDetail,
    ArtifactRow,
    RunArtifacts,
    read_detail,
    read_run_artifacts,
)
from runview.store.artifact_store import ArtifactStore
from runview.store.reader import RunSnapshot
from runview.tui.focus import focus_now, focused_now
from runview.tui.format import format_bytes
from runview.tui.key_hold import after_typed_keys
from runview.tui.messages import OpenRunRequested
from runview.tui.safe_text import safe_text, visible
from runview.tui.tabs.base import RunTab
from runview.tui.text_filter import AppliedText, filter_key, read_filter, text_box_keys
from runview.tui.widgets.artifact_detail import ArtifactDetailView, when
from runview.tui.widgets.artifact_tables import ArtifactTable
from runview.tui.worker_failures import thread_worker

LIVE_RELOAD_S = 2.0
COLUMNS = ("", "name", "type", "version", "aliases", "size", "files", "created")
NONE_YET = (
    "no artifacts in this run — runview.Artifact + run.log_artifact(art) records an output, "
    "run.use_artifact('name:latest') an input"
)


def row_cells(row: ArtifactRow) -> tuple[Text, ...]:
    direction = Text("→ out" if row.direction == "output" else "← in", style="bold")
    if row.state == "failed":
        version = Text("failed", style="bold red")
    elif row.state == "pending":
        version = Text("storing…", style="yellow")
    else:
        version = Text(f"v{row.version}" if row.version is not None else "?")
    return (
        direction,
        safe_text(row.name),
        safe_text(row.type),
        version,
        safe_text(", ".join(row.aliases), style="cyan"),
        Text(format_bytes(row.size) if row.size is not None else ""),
        Text(str(row.files) if row.files is not None else ""),
        Text(when(row.created)),
    )


def row_matches(row: ArtifactRow, pattern: re.Pattern[str] | None) -> bool:
    if pattern is None:
        return True
    haystack = " ".join(
        [row.direction, row.name, row.type, f"v{row.version}", *row.aliases, row.state]
    )
    return pattern.search(haystack) is not None


class ArtifactsTab(RunTab):
    tab_name = "artifacts"
    STYLES = ("artifacts",)
    BINDINGS: ClassVar[list[BindingType]] = [
        filter_key(
            "filter",
            "Filter",
            "a case-insensitive regex over direction, name, type, version, aliases",
        ),
        Binding(
            "escape",
            "back_to_table",
            "Back to table",
            show=False,
            tooltip="from a version (in the table: clears the filter)",
        ),
        *text_box_keys(),
        Binding(
            "v",
            "verify",
            "Verify digests",
            tooltip="every file's sha256 of the version shown (reads every byte)",
        ),
    ]

    has_rows: var[bool] = var(False, toggle_class="-has-rows", bindings=True)
    detail_open: var[bool] = var(False, toggle_class="-detail", bindings=True)  # one version
    has_problems: var[bool] = var(False, toggle_class="-problems")

    class Loaded(Message):
        def __init__(self, artifacts: RunArtifacts) -> None:
            super().__init__()
            self.artifacts = artifacts

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ArtifactsTab.Loaded)

    class DetailLoaded(Message):
        def __init__(self, detail: ArtifactDetail | None, error: str | None) -> None:
            super().__init__()
            self.detail, self.error = detail, error

    class Verified(Message):
        def __init__(self, label: str, problems: list[str]) -> None:
            super().__init__()
            self.label, self.problems = label, problems

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._run_dir: Path | None = None
        self._running = False
        self._artifacts: RunArtifacts | None = None
        self._shown: list[ArtifactRow] = []
        self._pattern: re.Pattern[str] | None = None
        self._filter_applied = AppliedText()  # applied once (``AppliedText``)
        self._loaded_at = 0.0
        self._loading = False
        self._verifying = False

    def compose(self) -> ComposeResult:
        yield Static("", id="artifacts-empty", classes="empty-tab")
        with Vertical(id="artifacts-list"):
            with Horizontal(id="artifacts-bar"):
                yield Input(placeholder="/ filter artifacts (regex)", id="artifacts-filter")
                yield Static("", id="artifacts-count")
            yield ArtifactTable(id="artifacts-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="artifacts-problems")
        yield ArtifactDetailView(id="artifact-detail")

    def on_mount(self) -> None:
        self.query_one("#artifacts-table", DataTable).add_columns(*COLUMNS)
        # artifacts.json changes without a new snapshot (the reader does not watch it).
        self.set_interval(LIVE_RELOAD_S, self._reload_if_live)

    def _reload_if_live(self) -> None:
        if self._running and self.display and self.screen.is_current and not self._loading:
            self._loading = True
            self._loaded_at = time.monotonic()
            self._load(self._run_dir)

    def focus_default(self) -> None:
        if self.detail_open:
            focus_now(self.query_one("#detail-lineage", DataTable))
        elif self.has_rows:
            focus_now(self.query_one("#artifacts-table", DataTable))
        else:
            self.screen.set_focus(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "verify":
            return self.detail_open
        if action == "filter":
            return not self.detail_open and self.has_rows and not self.text_box_focused()
        if action in ("text_box_done", "text_box_cancel"):
            return focused_now(self.query_one("#artifacts-filter", Input))
        return True

    def worker_ended_unanswered(self, worker: Worker[Any]) -> None:
        if worker.group == "artifacts":
            self._loading = False  # a live run reads again on its interval
            if self._artifacts is None:
                self.query_one("#artifacts-empty", Static).update(
                    safe_text(f"cannot read this run's artifacts: {worker.error}", style="bold red")
                )
        elif worker.group == "artifact-verify":
            self._verifying = False

    # loading
    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        self._run_dir = snapshot.path
        running = self._running = snapshot.liveness.state == fmt.STATE_RUNNING
        due = time.monotonic() - self._loaded_at >= (LIVE_RELOAD_S if running else 0.0)
        if (self._artifacts is None or due) and not self._loading:
            self._loading = True
            self._loaded_at = time.monotonic()
            self._load(snapshot.path)

    @thread_worker(group="artifacts", description="read artifacts.json")
    def _load(self, run_dir: Path) -> None:
        self.post_message(self.Loaded(read_run_artifacts(run_dir)))

    @on(Loaded)
    def _on_loaded(self, message: Loaded) -> None:
        self._loading = False
        artifacts = message.artifacts
        if artifacts == self._artifacts:
            return
        self._artifacts = artifacts
        had_rows = self.has_rows
        self.has_rows = bool(artifacts.rows)
        if not artifacts.rows:
            empty = self.query_one("#artifacts-empty", Static)
            empty.update(safe_text(" · ".join([NONE_YET, *artifacts.problems])))
        problems = self.query_one("#artifacts-problems", Static)
        problems.update(safe_text(" · ".join(artifacts.problems), style="yellow"))
        self.has_problems = bool(artifacts.problems)
        self._fill_table()
        if self.has_rows and not had_rows and not self.detail_open:
            self.focus_default()

    def _fill_table(self) -> None:
        table = self.query_one("#artifacts-table", DataTable)
        rows = self._artifacts.rows if self._artifacts else ()
        shown = [row for row in rows if row_matches(row, self._pattern)]
        if shown == self._shown and table.row_count == len(shown):
            return
        cursor = table.cursor_row
        self._shown = shown
        table.clear()
        for row in shown:
            table.add_row(*row_cells(row))
        if shown:
            table.move_cursor(row=min(cursor, len(shown) - 1))
        count = self.query_one("#artifacts-count", Static)
        count.update(f"{len(shown)} of {len(rows)}" if self._pattern else f"{len(rows)}")

    # the filter
    def action_filter(self) -> None:
        if self.has_rows and not self.detail_open:
            focus_now(self.query_one("#artifacts-filter", Input))

    @on(Input.Changed, "#artifacts-filter")
    def _apply_filter(self) -> None:
        box = self.query_one("#artifacts-filter", Input)
        if not self._filter_applied.is_new(box):
            return
        pattern, valid = read_filter(box)
        if valid:  # an invalid regex keeps the last valid filter while the box shows it
            self._pattern = pattern
            self._fill_table()

    def action_text_box_done(self) -> None:
        after_typed_keys(self.query_one("#artifacts-filter", Input), self._filter_done)

    def _filter_done(self) -> None:
        self._apply_filter()
        focus_now(self.query_one("#artifacts-table", DataTable))

    def action_text_box_cancel(self) -> None:
        self.action_back_to_table()

    def action_back_to_table(self) -> None:
        if self.detail_open:
            self.detail_open = False
            focus_now(self.query_one("#artifacts-table", DataTable))
            return
        after_typed_keys(self.query_one("#artifacts-filter", Input), self._clear_filter)

    def _clear_filter(self) -> None:
        self.query_one("#artifacts-filter", Input).value = ""
        self._filter_done()

    # one version
    @on(DataTable.RowSelected, "#artifacts-table")
    def _open_row(self, event: DataTable.RowSelected) -> None:
        if event.cursor_row >= len(self._shown) or self._run_dir is None:
            return
        row = self._shown[event.cursor_row]
        if row.version is None:
            why = row.error or ("it is still being stored" if row.state == "pending" else "")
            self.notify(visible(f"{row.name} has no stored version: {why}"), markup=False)
            return
        self._detail(self._run_dir.parent.parent, row.name, row.version)

    @on(ArtifactDetailView.OpenVersion)
    def _open_version(self, message: ArtifactDetailView.OpenVersion) -> None:
        if self._run_dir is not None:
            self._detail(self._run_dir.parent.parent, message.name, message.version)

    @thread_worker(group="artifact-detail", description="read an artifact version")
    def _detail(self, root: Path, name: str, version: int) -> None:
        try:
            detail, error = read_detail(root, name, version), None
        except Exception as exc:  # a store this viewer cannot read must not take the page down
            detail, error = None, f"{name}:v{version}: {exc}"
        self.post_message(self.DetailLoaded(detail, error))

    @on(DetailLoaded)
    def _on_detail(self, message: DetailLoaded) -> None:
        if message.detail is None:
            self.notify(visible(message.error or "cannot read"), severity="error", markup=False)
            return
        was_open = self.detail_open
        self.query_one(ArtifactDetailView).show(message.detail)
        self.detail_open = True
        if not was_open:
            self.query_one("#detail-lineage", DataTable).focus()

    @on(ArtifactDetailView.OpenRun)
    def _open_run(self, message: ArtifactDetailView.OpenRun) -> None:
        message.stop()
        self.post_message(OpenRunRequested(message.path))

    # verification
    def action_verify(self) -> None:
        detail = self.query_one(ArtifactDetailView).detail
        if detail is None or self._run_dir is None or self._verifying:
            return
        self._verifying = True
        self.notify(f"checking the sha256 of {len(detail.manifest.files)} file(s)…")
        self._verify(self._run_dir.parent.parent, detail)

    @thread_worker(group="artifact-verify", description="verify an artifact's digests")
    def _verify(self, root: Path, detail: ArtifactDetail) -> None:
        problems = ArtifactStore(root).check(detail.manifest, digests=True)
        self.post_message(self.Verified(f"{detail.name}:v{detail.version}", problems))

    @on(Verified)
    def _on_verified(self, message: Verified) -> None:
        self._verifying = False
        if message.problems:
            self.notify(
                visible(f"{message.label}: " + "; ".join(message.problems[:5])),
                severity="error",
                timeout=15,
                markup=False,
            )
        else:
            self.notify(visible(f"{message.label}: every file matches its sha256"), markup=False)
