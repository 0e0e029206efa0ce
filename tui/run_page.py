"""A run page: a header with the run's status, a tab bar, and the tabs; pushed and popped whole.

The first frame is the header alone, as light as a bare Textual app's, with the run's name (from
the command line, else from meta.json as soon as the reader thread has it); the tab bar, the tabs
and the footer are mounted right after it is painted."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.reactive import var
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from runview.store import format as fmt
from runview.store.run_dirs import read_title, run_title
from runview.store.watch import ChangeSignal
from runview.tui.messages import LoadProgressed, RunNamed, RunUpdated, TabPrefetched
from runview.tui.refresh_pace import RefreshPace
from runview.tui.safe_text import safe_text
from runview.tui.tabbed_page import TabbedPage, tab_page_bindings
from runview.tui.tabs import TAB_NAMES, TABS, load_tab
from runview.tui.widgets.status_badge import StatusBadge
from runview.tui.worker_failures import ReportsWorkerFailures, thread_worker

if TYPE_CHECKING:
    from runview.store.reader import RunSnapshot
    from runview.tui.tabs.base import RunTab

LIVE_POLL_S = 0.5  # while running: the floor under event delivery (NFS sends none)
IDLE_POLL_S = 5.0  # finished runs: still picked up if someone appends, at almost no cost
LOAD_CHUNK = 32 * 1024 * 1024
FIRST_CHUNK = 2 * 1024 * 1024  # a long history's first rows, shown at once while the rest loads
PAINT_WAIT_S = 0.5  # the longest the reader waits for the UI to paint what it posted
PARTIAL_EVERY_S = 2.0  # while it loads, the rows read so far are shown this often
QUIET_START_S = 1.5  # a finished run is watched from this long after it is shown


class RunPage(ReportsWorkerFailures, TabbedPage):
    """The page of one run. Owns the reader worker; tabs get immutable snapshots."""

    # backspace, back to the page this one was opened from, is the App's (one for every page)
    BINDINGS: ClassVar[list[BindingType]] = tab_page_bindings(TABS)
    # A large history is being read. (Not ``loading``: that is Textual's own reactive, and a true
    # value covers the page, its progress row included, with a spinner.)
    reading_history: var[bool] = var(False, toggle_class="-loading")

    load_chunk = LOAD_CHUNK  # bytes of history read between two progress updates
    tab_names = TAB_NAMES

    def __init__(self, run_path: Path, tab: str = "overview", *, title: str | None = None) -> None:
        """``title``: the run's title when the opener has read it already (the command line, before
        Textual starts); otherwise the reader thread reads it first."""
        super().__init__(ready=False)
        self.run_path = run_path
        self.initial_tab = tab
        self.snapshot: RunSnapshot | None = None
        self._signal = ChangeSignal(run_path)
        # The first frame, then the last title or snapshot posted, is on screen: the reader's next
        # heavy step may start.
        self._painted = threading.Event()
        self._resumed = False  # shown once: the first frame is painted on the first resume
        self._named = title is not None
        self._shown_title = title or run_path.name
        self._shown_problems = ""
        self._progress: LoadProgressed | None = None  # the newest, shown once the page is built

    def compose(self) -> ComposeResult:
        with Horizontal(id="run-header"):
            yield StatusBadge(id="badge")
            yield Static(safe_text(self._shown_title), id="run-title")
        yield Static("", id="problems")

    def on_mount(self) -> None:
        self.call_after_refresh(self._build)
        self.read_run()

    def on_screen_resume(self) -> None:
        # Runs before Textual's own handler, which paints the page's first frame (the name): the
        # reader thread starts on its imports right after that paint, while the page waits a
        # frame to build the rest (the reader used to wait for the build).
        if not self._resumed:
            self._resumed = True
            self.call_later(self._painted.set)

    async def _build(self) -> None:
        """The rest of the page, once its first frame is on screen."""
        from textual.widgets import ContentSwitcher, ProgressBar, Tab, Tabs

        from runview.tui.widgets.page_footer import PageFooter

        self._painted.set()
        tab_bar = Tabs(
            *(
                Tab(f"{i + 1} {title}", id=f"tab-{name}")
                for i, (name, title, *_) in enumerate(TABS)
            ),
            active=f"tab-{self.initial_tab}",
            id="tab-bar",
        )
        # Determinate from the start (total=1): an indeterminate ProgressBar animates forever.
        progress = Horizontal(
            Static(id="load-label"), ProgressBar(total=1, show_eta=False), id="load-progress"
        )  # shown only while a large history loads
        await self.mount_all(
            [tab_bar, progress, ContentSwitcher(id="tab-content"), PageFooter()], before="#problems"
        )
        if not self.is_attached:
            return  # closed while it was being built (quit, or back, right after opening)
        self._show_load_progress()
        await self.show_first_tab(self.initial_tab)
        self.refresh_bindings()  # the footer, mounted after the page, lists keys once told to

    def snapshot_coming(self) -> bool:
        reading = any(worker.group == "reader" and worker.is_running for worker in self.workers)
        return reading or super().snapshot_coming()

    def worker_ended_unanswered(self, worker: Worker[Any]) -> None:
        # No snapshot comes: the tab on show, waiting for one, cannot settle. A reader that ended
        # before the tabs exist leaves that to the build (``show_first_tab`` sees no snapshot
        # coming): settled now, the page would take keys with no tab bar to act on.
        if worker.group == "reader" and self.current_tab is not None:
            self._tab_settled()

    def on_unmount(self) -> None:
        self._painted.set()
        self._signal.stop()

    # -- reading, off the UI thread ---------------------------------------------------------------
    @thread_worker(group="reader", description="read the run")
    def read_run(self) -> None:
        # Imports hold the GIL: the UI thread paints the first frame before they start.
        self._painted.wait(timeout=PAINT_WAIT_S)
        title = None if self._named else read_title(self.run_path)
        if title is not None:  # the name first: on screen before the reader's import
            self._painted.clear()
            self.post_message(RunNamed(title))
            self._painted.wait(timeout=PAINT_WAIT_S)
        # Imported here, not with the page: the reader brings numpy, which the first frame does
        # not need (the page's skeleton is painted while this thread imports it).
        from runview.store.reader import RunReader

        worker = get_current_worker()
        reader = RunReader(self.run_path)
        total = reader.history_pending
        snapshot = reader.refresh(max_bytes=min(FIRST_CHUNK, self.load_chunk))
        # Read here, not by the tab once it has the snapshot: the Charts tab's saved layout,
        # which its first layout waits for, then comes with the snapshot.
        try:
            prefetched = load_tab(self.initial_tab).prefetch(snapshot)
        except Exception:  # the tab reads it itself, and reports what fails, as when not first
            prefetched = None
        if prefetched is not None:
            self.post_message(TabPrefetched(self.initial_tab, prefetched))
        shown = -PARTIAL_EVERY_S
        while reader.history_pending and not worker.is_cancelled:
            self.post_message(
                LoadProgressed(total - reader.history_pending, total, reader.history.rows)
            )
            if time.monotonic() - shown >= PARTIAL_EVERY_S:
                # The rows read so far, marked partial (snapshot.loading): tabs show something
                # at once instead of waiting for a history that takes seconds to parse.
                self.post_message(RunUpdated(snapshot))
                shown = time.monotonic()
            snapshot = reader.refresh(max_bytes=self.load_chunk)
        self.post_message(LoadProgressed(total, total))
        self._painted.clear()
        self.post_message(RunUpdated(snapshot))
        posted = snapshot
        # Watching starts once the run is on screen (the mount-table scan, watchdog's import and
        # its thread cost tens of milliseconds); a change made meanwhile is caught at once below.
        self._painted.wait(timeout=PAINT_WAIT_S)
        if posted.liveness.state != fmt.STATE_RUNNING:
            # A finished run rarely changes: its watching, and the read that catches up, wait
            # while the tab on show draws (charts are drawn in a worker thread after the page's
            # paint, and would share the interpreter with them). Closing the page ends the wait.
            self._signal.wait(QUIET_START_S)
        self._signal.start()
        self._signal.event.set()
        pace = RefreshPace()
        # The viewer's cache step, after the charts have their data: a run that had to be parsed
        # gets an entry outside it, so the next open is fast (reading alone never writes).
        cache_work = reader.cache_work()
        if cache_work is not None and not worker.is_cancelled:
            cache_work.run(cancelled=lambda: worker.is_cancelled)
        while not worker.is_cancelled:
            running = posted.liveness.state == fmt.STATE_RUNNING
            self._signal.wait(LIVE_POLL_S if running else IDLE_POLL_S)
            if worker.is_cancelled or self._signal.stopped:
                break
            # The logger flushes ten times a second; a screen needs no more than a few updates,
            # and fewer while the terminal is behind (a slow link).
            time.sleep(max(0.0, posted.taken_at + pace.next_interval() - time.time()))
            snapshot = reader.refresh()
            if snapshot.version != posted.version:
                posted = snapshot
                self.post_message(RunUpdated(snapshot))

    @on(RunNamed)
    def _on_run_named(self, message: RunNamed) -> None:
        message.stop()
        if self.snapshot is None:  # a snapshot's title is as new or newer
            self._show_title(message.title)
        self.call_after_refresh(self._painted.set)

    @on(TabPrefetched)
    def _on_tab_prefetched(self, message: TabPrefetched) -> None:
        message.stop()
        self.tab_prefetched(message.name, message.value)

    @on(LoadProgressed)
    def _on_load_progress(self, message: LoadProgressed) -> None:
        message.stop()  # the page's own: the app has nothing to do with it
        self._progress = message
        self.reading_history = message.done < message.total
        if self.ready:
            self._show_load_progress()

    def _show_load_progress(self) -> None:
        from textual.widgets import ProgressBar

        message = self._progress
        if message is not None and self.reading_history:
            self.query_one("#load-label", Static).update(
                f"loading history: {message.rows:,} rows read"
            )
            self.query_one("#load-progress ProgressBar", ProgressBar).update(
                total=message.total, progress=message.done
            )

    @on(RunUpdated)
    def _on_run_updated(self, message: RunUpdated) -> None:
        message.stop()
        self.snapshot = message.snapshot
        self.query_one(StatusBadge).show(message.snapshot)
        # Set only when they change: each update repaints its whole row on the terminal.
        self._show_title(run_title(message.snapshot.meta, message.snapshot.path))
        problems = " · ".join(message.snapshot.problems)
        if problems != self._shown_problems:
            self._shown_problems = problems
            self.query_one("#problems", Static).update(safe_text(problems))
        self.has_problems = bool(message.snapshot.problems)
        self._feed_visible_tab()
        self.call_after_refresh(self._painted.set)

    def _show_title(self, title: str) -> None:
        if title != self._shown_title:
            self._shown_title = title
            self.query_one("#run-title", Static).update(safe_text(title))

    def tab_class(self, name: str) -> type[RunTab]:
        return load_tab(name)

    def tab_title(self, name: str) -> str:
        return next(title for tab_name, title, *_ in TABS if tab_name == name)
