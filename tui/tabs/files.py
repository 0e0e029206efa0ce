"""Files: every file of the run as a tree (saved files and the code state open), and a preview of
the one under the cursor, built in a worker from at most its first 1 MiB."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import Static, Tree
from textual.worker import Worker

from runview.store import format as fmt
from runview.store.reader import RunSnapshot
from runview.store.run_files import FileListing, FileNode, list_run
from runview.tui.file_preview import Preview, build_preview, export_for_pager
from runview.tui.focus import focus_now
from runview.tui.pager import pager_command, remove_file, run_pager
from runview.tui.safe_text import safe_text, visible
from runview.tui.tabs.base import RunTab
from runview.tui.widgets.file_tree import FileTree
from runview.tui.widgets.text_view import TextView
from runview.tui.worker_failures import thread_worker

LIVE_RELIST_S = 2.0  # a running run's folder is listed again at most this often
PREVIEW_DELAY_S = 0.08  # wait for the cursor to settle before reading a file
HEADER_ROWS = 4


class FilesTab(RunTab):
    tab_name = "files"
    STYLES = ("files",)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "p",
            "pager",
            "Pager",
            tooltip="the file in $PAGER (text sanitised as in Logs; binaries as a hex dump)",
        ),
        Binding(
            "c",
            "copy_path",
            "Copy path",
            tooltip="the file's full path to the clipboard (OSC 52: works over SSH)",
        ),
    ]

    # The listing had problems (an unreadable folder...): say them above the tree.
    has_problems: var[bool] = var(False, toggle_class="-problems")
    # The preview is an image (else lines of text, maybe none).
    image_preview: var[bool] = var(False, toggle_class="-image-preview")

    class Listed(Message):
        """The run folder was listed off the UI thread."""

        def __init__(self, listing: FileListing) -> None:
            super().__init__()
            self.listing = listing

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, FilesTab.Listed)

    class PreviewReady(Message):
        """A file's preview was read and built off the UI thread."""

        def __init__(self, preview: Preview) -> None:
            super().__init__()
            self.preview = preview

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, FilesTab.PreviewReady)

    class PagerFileReady(Message):
        """The file was exported, sanitised, for the pager."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    class PagerFailed(Message):
        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._run_dir: Path | None = None
        self._running = False
        self._listing: FileListing | None = None
        self._listed_at = 0.0
        self._listing_busy = False
        self._preview_key: tuple[Any, ...] | None = None
        self._preview: Preview | None = None
        self._preview_timer: Timer | None = None
        self._exporting = False

    def compose(self) -> ComposeResult:
        yield Static("", id="files-empty", classes="empty-tab")
        with Horizontal(id="files-body"):
            yield FileTree(id="file-tree")
            with Vertical(id="files-preview"):
                yield Static("", id="preview-header")
                yield TextView(id="preview-text")
                with VerticalScroll(id="preview-image-scroll"):
                    yield Static("", id="preview-image")

    def on_mount(self) -> None:
        # Saved files and copies change without a new snapshot (the reader does not watch them).
        self.set_interval(LIVE_RELIST_S, self._relist_if_live)

    def _relist_if_live(self) -> None:
        if self._running and self.display and self.screen.is_current and not self._listing_busy:
            self._listing_busy = True
            self._listed_at = time.monotonic()
            self._list(self._run_dir)

    def focus_default(self) -> None:
        focus_now(self.query_one(FileTree))

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        self._run_dir = snapshot.path
        running = self._running = snapshot.liveness.state == fmt.STATE_RUNNING
        due = time.monotonic() - self._listed_at >= (LIVE_RELIST_S if running else 0.0)
        if (self._listing is None or due) and not self._listing_busy:
            self._listing_busy = True
            self._listed_at = time.monotonic()
            self._list(snapshot.path)

    @thread_worker(group="files-list", description="list the run's files")
    def _list(self, run_dir: Path) -> None:
        try:
            listing = list_run(run_dir)
        except OSError as exc:  # the run folder itself went away
            root = FileNode("", run_dir.name, True, 0, 0.0)
            listing = FileListing(root, 0, False, {}, (f"cannot list the run: {exc.strerror}",))
        self.post_message(self.Listed(listing))

    @on(Listed)
    def _on_listed(self, message: Listed) -> None:
        self._listing_busy = False
        listing = message.listing
        if self._listing is not None and listing.signature() == self._listing.signature():
            return
        self._listing = listing
        self.query_one(FileTree).show_listing(listing)
        self.query_one("#files-empty", Static).update(safe_text(" · ".join(listing.problems)))
        self.has_problems = bool(listing.problems)
        self._schedule_preview()

    # preview
    @on(Tree.NodeHighlighted, "#file-tree")
    def _on_highlighted(self) -> None:
        self._schedule_preview()

    def on_resize(self) -> None:
        if self._preview is not None and self._preview.kind == "image":
            self._schedule_preview()

    def _schedule_preview(self) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(PREVIEW_DELAY_S, self._request_preview)

    def _cursor_file(self) -> FileNode | None:
        node = self.query_one(FileTree).cursor_node
        return node.data if node is not None else None

    def _request_preview(self) -> None:
        node = self._cursor_file()
        if node is None or self._run_dir is None or self._listing is None:
            return
        pane = self.query_one("#files-preview")
        cells = (max(8, pane.size.width - 1), max(4, pane.size.height - HEADER_ROWS))
        key = (node.path, node.size, node.mtime, node.is_dir, cells)
        if key == self._preview_key:
            return  # the same file, unchanged: keep the view and its scroll position
        self._preview_key = key
        saved = self._listing.saved.get(node.path)
        self._build(self._run_dir, node, saved, cells, "NO_COLOR" in os.environ)

    @thread_worker(group="files-preview", description="preview a file")
    def _build(
        self,
        run_dir: Path,
        node: FileNode,
        saved: dict[str, Any] | None,
        cells: tuple[int, int],
        no_color: bool,
    ) -> None:
        try:
            preview = build_preview(
                run_dir,
                node.path,
                is_dir=node.is_dir,
                link=node.link,
                size=node.size,
                mtime=node.mtime,
                files=_count_files(node),
                saved=saved,
                image_cells=cells,
                no_color=no_color,
            )
        except Exception as exc:  # a file this viewer cannot show must not take the page down
            line = safe_text(f"cannot preview: {exc!r}", style="bold red")
            preview = Preview(node.path, safe_text(node.path, "bold"), [line], line.cell_len)
        self.post_message(self.PreviewReady(preview))

    @on(PreviewReady)
    def _on_preview(self, message: PreviewReady) -> None:
        node = self._cursor_file()
        preview = message.preview
        if node is None or node.path != preview.rel:
            return  # the cursor moved on; its own preview is coming
        self._preview = preview
        self.query_one("#preview-header", Static).update(preview.header)
        self.image_preview = preview.image is not None
        self.query_one(TextView).show(preview.lines or [], preview.width)  # or nothing
        if preview.image is not None:
            self.query_one("#preview-image", Static).update(preview.image)

    def worker_ended_unanswered(self, worker: Worker[Any]) -> None:
        if worker.group == "files-list":
            self._listing_busy = False  # a live run lists again on its interval
            if self._listing is None:
                self.query_one("#files-empty", Static).update(
                    safe_text(f"cannot list this run's files: {worker.error}", style="bold red")
                )
                self.has_problems = True
        elif worker.group == "files-pager":
            self._exporting = False

    # keys
    def _selected_file(self) -> FileNode | None:
        node = self._cursor_file()
        if node is None or self._run_dir is None:
            return None
        if node.is_dir or not node.path:
            self.notify("choose a file first (this is a folder)", severity="warning")
            return None
        return node

    def action_copy_path(self) -> None:
        node = self._cursor_file()
        if node is None or self._run_dir is None:
            return
        path = str(self._run_dir / node.path) if node.path else str(self._run_dir)
        self.app.copy_to_clipboard(path)
        self.notify(visible(f"copied {path}"), markup=False)

    def action_pager(self) -> None:
        node = self._selected_file()
        if node is None or self._run_dir is None:
            return
        if self._exporting:
            self.notify("already preparing a file for the pager")
            return
        self._exporting = True
        kind = self._preview.kind if self._preview and self._preview.rel == node.path else "text"
        self._export(self._run_dir, node.path, kind)

    @thread_worker(group="files-pager", description="export the file for the pager")
    def _export(self, run_dir: Path, rel: str, kind: str) -> None:
        fd, name = tempfile.mkstemp(prefix="runview-file-", suffix=".txt")
        try:
            with open(fd, "w", encoding="utf-8", errors="replace") as out:
                export_for_pager(run_dir, rel, kind, out)
        except Exception as exc:
            remove_file(name)
            reason = (isinstance(exc, OSError) and exc.strerror) or str(exc) or type(exc).__name__
            self.post_message(self.PagerFailed(f"cannot page {rel}: {reason}"))
            return
        self.post_message(self.PagerFileReady(Path(name)))

    @on(PagerFailed)
    def _on_pager_failed(self, message: PagerFailed) -> None:
        self._exporting = False
        self.notify(visible(message.reason), severity="error", markup=False)

    @on(PagerFileReady)
    def _on_pager_file(self, message: PagerFileReady) -> None:
        self._exporting = False
        try:
            code = run_pager(self.app, message.path)
        finally:
            remove_file(str(message.path))
        if code == 127:
            self.notify(
                visible(f"pager not found: {pager_command()!r} (set $PAGER)"),
                severity="error",
                markup=False,
            )


def _count_files(node: FileNode) -> int:
    if not node.is_dir:
        return 1
    return sum(_count_files(child) for child in node.children)
