"""Logs: the last lines of the run's stdout/stderr, tailing live, searchable; the whole log in
$PAGER (``tui.pager``), opened at the search."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import var
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from runview.store import format as fmt
from runview.store.console_tail import ConsoleSnapshot
from runview.store.reader import RunSnapshot
from runview.tui.focus import focus_now, focused_now
from runview.tui.format import format_bytes
from runview.tui.key_hold import after_typed_keys
from runview.tui.pager import export_for_pager, pager_command, remove_file, run_pager
from runview.tui.tabs.base import RunTab
from runview.tui.text_filter import AppliedText, filter_key, read_filter, text_box_keys
from runview.tui.widgets.log_pane import LogPane
from runview.tui.worker_failures import thread_worker

SEARCH_TIP = (
    "the lines held, by a case-insensitive regex (an invalid one: as plain text); enter or n / N "
    "move between matches, esc clears"
)
NO_CONSOLE = (
    "no console.log in this run — the logger captures stdout/stderr unless init(console=False)"
)


class LogsTab(RunTab):
    tab_name = "logs"
    STYLES = ("logs",)
    BINDINGS: ClassVar[list[BindingType]] = [
        filter_key("search", "Search", SEARCH_TIP),
        Binding("escape", "clear_search", "Clear search", show=False),
        *text_box_keys(),
        Binding(
            "p",
            "pager",
            "Pager",
            tooltip="the whole log in $PAGER (default less -R), control codes removed; less opens "
            "at the search",
        ),
    ]

    empty: var[bool] = var(False, toggle_class="-empty")  # no lines to show: say why instead
    paused: var[bool] = var(False, toggle_class="-paused")  # scrolled up: not following the end
    # the search bar is open (a search is typed or being typed)
    searching: var[bool] = var(False, toggle_class="-searching", bindings=True)

    class PagerProgressed(Message):
        """The pager export moved on: ``done`` of ``total`` bytes sanitised."""

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogsTab.PagerProgressed)

    class PagerFileReady(Message):
        """The sanitised copy of the log is written and can be paged."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._shown: ConsoleSnapshot | None = None
        self._log_path: Path | None = None
        self._status_text: Text | None = None
        self._export_note = ""
        self._search_origin: int | None = None  # the line a search looks up from
        self._search_valid = True
        self._search_applied = AppliedText()  # applied once (``AppliedText``)

    def compose(self) -> ComposeResult:
        yield Static("", id="logs-empty", classes="empty-tab")
        yield LogPane(id="log-pane")
        with Horizontal(id="logs-search-bar"):
            yield Input(placeholder="search the log (regex)", id="logs-search", compact=True)
            yield Static("", id="logs-matches")
        with Horizontal(id="logs-bar"):
            yield Static("", id="logs-status")
            yield Static("⏸ paused — End to follow", id="logs-paused")

    def focus_default(self) -> None:
        focus_now(self.query_one(LogPane))

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        console = snapshot.console if isinstance(snapshot.console, ConsoleSnapshot) else None
        self._log_path = snapshot.path / fmt.CONSOLE_FILE
        if console is not None and console is self._shown:
            return
        self._shown = console
        if console is not None:
            self.query_one(LogPane).show(console)
        empty = self.query_one("#logs-empty", Static)
        if console is None or not console.exists:
            empty.update(Text(NO_CONSOLE))
        elif not console.lines and not console.error:
            empty.update(Text("console.log is empty so far"))
        self.empty = console is None or not console.lines
        self._update_status()

    def _update_status(self) -> None:
        status = status_line(self._shown, self._export_note)
        if status != self._status_text:
            self._status_text = status
            self.query_one("#logs-status", Static).update(status)

    @on(LogPane.FollowChanged)
    def _on_follow_changed(self, event: LogPane.FollowChanged) -> None:
        self.paused = not event.following

    # -- search ---------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "search":
            return not self.text_box_focused()
        if action == "clear_search":
            return self.searching
        if action in ("text_box_done", "text_box_cancel"):
            return focused_now(self.query_one("#logs-search", Input))
        return True

    def action_search(self) -> None:
        pane = self.query_one(LogPane)
        if not pane.searching:  # a new search looks up from the bottom of what is on screen
            self._search_origin = pane.bottom_line
        self.searching = True
        box = self.query_one("#logs-search", Input)
        focus_now(box)
        box.select_all()

    def action_clear_search(self) -> None:
        after_typed_keys(self.query_one("#logs-search", Input), self._clear_search)

    def _clear_search(self) -> None:
        self.query_one("#logs-search", Input).value = ""
        self._search_done()

    def action_text_box_done(self) -> None:
        after_typed_keys(self.query_one("#logs-search", Input), self._search_done)

    def _search_done(self) -> None:
        self._apply_search()
        if not self._search_applied.text.strip():
            self.searching = False
        focus_now(self.query_one(LogPane))

    def action_text_box_cancel(self) -> None:
        self.action_clear_search()

    @on(Input.Changed, "#logs-search")
    def _apply_search(self) -> None:
        box = self.query_one("#logs-search", Input)
        if not self._search_applied.is_new(box):
            return
        pattern, self._search_valid = read_filter(box, literal_fallback=True)
        if pattern is None:
            self.query_one("#logs-matches", Static).update("")
        self.query_one(LogPane).search(pattern, self._search_origin)

    @on(LogPane.MatchesChanged)
    def _matches_changed(self, event: LogPane.MatchesChanged) -> None:
        text = Text()
        if not self._search_valid:
            text.append("not a regex: as text · ", style="bold")
        held = self.query_one(LogPane).line_count
        if not event.total:
            text.append(f"no match in the last {held:,} lines (p: all)")
        elif event.current:
            text.append(f"{event.current:,}/{event.total:,} matches")
        else:
            text.append(f"{event.total:,} matches")
        if event.note:
            text.append(f" · {event.note}", style="italic")
        self.query_one("#logs-matches", Static).update(text)

    def action_pager(self) -> None:
        console = self._shown
        if self._log_path is None or console is None or not console.exists:
            self.notify(NO_CONSOLE, severity="warning")
            return
        if self._export_note:
            self.notify("already preparing the log for the pager")
            return
        self._export_note = "preparing the pager…"
        self._update_status()
        self._export(self._log_path)

    @thread_worker(group="logs-pager", description="export the log for the pager")
    def _export(self, source: Path) -> None:
        worker = get_current_worker()
        fd, name = tempfile.mkstemp(prefix="runview-console-", suffix=".log")
        try:
            with open(fd, "w", encoding="utf-8", errors="replace") as out:
                export_for_pager(
                    source,
                    out,
                    progress=lambda done, total: self.post_message(
                        self.PagerProgressed(done, total)
                    ),
                    cancelled=lambda: worker.is_cancelled,
                )
        except Exception as exc:  # an unreadable log becomes a notification, never a crash
            remove_file(name)
            self.app.call_from_thread(
                self._export_failed, f"cannot page {source.name}: {_reason(exc)}"
            )
            return
        if worker.is_cancelled:
            remove_file(name)
            return
        self.post_message(self.PagerFileReady(Path(name)))

    def _export_failed(self, message: str) -> None:
        self._export_note = ""
        self._update_status()
        self.notify(message, severity="error")

    @on(PagerProgressed)
    def _on_pager_progress(self, message: PagerProgressed) -> None:
        if self._export_note and message.total:
            self._export_note = f"preparing the pager… {message.done * 100 // message.total}%"
            self._update_status()

    @on(PagerFileReady)
    def _on_pager_file_ready(self, message: PagerFileReady) -> None:
        self._export_note = ""
        self._update_status()
        try:
            search = self.query_one("#logs-search", Input).value.strip()
            code = run_pager(self.app, message.path, search if self._search_valid else "")
        finally:
            remove_file(str(message.path))
        if code == 127:
            self.notify(f"pager not found: {pager_command()!r} (set $PAGER)", severity="error")


def status_line(console: ConsoleSnapshot | None, extra: str = "") -> Text:
    """``1000 lines · 2.1 GB · older lines in pager (p)``, then any error, as Text."""
    text = Text()
    if console is not None and console.exists:
        count = len(console.lines)
        text.append(
            f"{count} line{'' if count == 1 else 's'} · {format_bytes(console.total_bytes)}"
        )
        if console.dropped_before:
            text.append(" · older lines in pager (p)", style="dim")
        if console.restarts:
            text.append(
                " · file was truncated or replaced; read again from the end", style="yellow"
            )
    if console is not None and console.error:
        text.append(f"{' · ' if text else ''}{console.error}", style="bold red")
    if extra:
        text.append(f"{' · ' if text else ''}{extra}", style="italic")
    return text


def _reason(exc: BaseException) -> str:
    return (
        (exc.strerror if isinstance(exc, OSError) and exc.strerror else None)
        or str(exc)
        or type(exc).__name__
    )
