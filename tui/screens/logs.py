"""Logs: the last lines of the run's stdout/stderr, tailing live; the whole log in $PAGER."""

from __future__ import annotations

import codecs
import os
import shlex
import stat
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from runview.store import format as fmt
from runview.store.console_tail import ConsoleSnapshot, collapse_cr
from runview.store.reader import RunSnapshot
from runview.tui.ansi import clean_block, pager_line
from runview.tui.screens.base import RunTab
from runview.tui.widgets.log_pane import LogPane

PAGER_LIMIT = 200 * 1024 * 1024  # the pager gets at most the last 200 MB
EXPORT_CHUNK = 1024 * 1024
DEFAULT_PAGER = "less -R"
NO_CONSOLE = "no console.log in this run — the logger captures stdout/stderr unless init(console=False)"


class LogsTab(RunTab):
    tab_name = "logs"
    HELP_KEYS = [
        ("↑ ↓ PgUp PgDn j k", "scroll the log (scrolling up pauses following)"),
        ("End / G", "jump to the end and follow new lines again"),
        ("Home / g", "jump to the oldest line shown"),
        ("← →", "scroll sideways through long lines"),
        ("p", "open the whole log in $PAGER (default less -R), control codes removed"),
    ]
    BINDINGS = [Binding("p", "pager", "Pager")]

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

    def compose(self) -> ComposeResult:
        yield Static("", id="logs-empty", classes="empty-tab")
        yield LogPane(id="log-pane")
        with Horizontal(id="logs-bar"):
            yield Static("", id="logs-status")
            yield Static("⏸ paused — End to follow", id="logs-paused")

    def on_mount(self) -> None:
        self.query_one("#logs-paused").display = False
        self.query_one("#logs-empty").display = False

    def focus_default(self) -> None:
        self.query_one(LogPane).focus()

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
        empty.display = console is None or not console.lines
        self._update_status()

    def _update_status(self) -> None:
        status = status_line(self._shown, self._export_note)
        if status != self._status_text:
            self._status_text = status
            self.query_one("#logs-status", Static).update(status)

    @on(LogPane.FollowChanged)
    def _on_follow_changed(self, event: LogPane.FollowChanged) -> None:
        self.query_one("#logs-paused").display = not event.following

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

    @work(thread=True, exclusive=True, group="logs-pager", description="export the log for the pager")
    def _export(self, source: Path) -> None:
        worker = get_current_worker()
        fd, name = tempfile.mkstemp(prefix="runview-console-", suffix=".log")
        try:
            with open(fd, "w", encoding="utf-8", errors="replace") as out:
                export_for_pager(
                    source,
                    out,
                    progress=lambda done, total: self.post_message(self.PagerProgressed(done, total)),
                    cancelled=lambda: worker.is_cancelled,
                )
        except Exception as exc:  # an unreadable log becomes a notification, never a crash
            _remove(name)
            self.app.call_from_thread(self._export_failed, f"cannot page {source.name}: {_reason(exc)}")
            return
        if worker.is_cancelled:
            _remove(name)
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
            code = run_pager(self.app, message.path)
        finally:
            _remove(str(message.path))
        if code == 127:
            self.notify(f"pager not found: {pager_command()!r} (set $PAGER)", severity="error")


def status_line(console: ConsoleSnapshot | None, extra: str = "") -> Text:
    """``1000 lines · 2.1 GB · older lines in pager (p)``, then any error, as Text."""
    text = Text()
    if console is not None and console.exists:
        count = len(console.lines)
        text.append(f"{count} line{'' if count == 1 else 's'} · {format_bytes(console.total_bytes)}")
        if console.dropped_before:
            text.append(" · older lines in pager (p)", style="dim")
        if console.restarts:
            text.append(" · file was truncated or replaced; read again from the end", style="yellow")
    if console is not None and console.error:
        text.append(f"{' · ' if text else ''}{console.error}", style="bold red")
    if extra:
        text.append(f"{' · ' if text else ''}{extra}", style="italic")
    return text


def format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def export_for_pager(
    source: Path,
    out: TextIO,
    *,
    limit: int = PAGER_LIMIT,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> int:
    """Stream ``source`` into ``out`` with only SGR escapes left; returns bytes read.

    Reads in chunks (memory stays flat), applies carriage returns per line, and keeps only the
    last ``limit`` bytes of a larger file, saying so on the first line.
    """
    fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file")
        size = st.st_size
        start = max(0, size - limit)
        if start:
            fh.seek(start)
            skipped = fh.readline(EXPORT_CHUNK)  # begin on a line boundary
            start += len(skipped)
            out.write(
                f"[runview: the log is {format_bytes(size)}; showing its last {format_bytes(size - start)}]\n"
            )
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending, done = "", start
        while done < size:
            if cancelled is not None and cancelled():
                break
            data = fh.read(min(EXPORT_CHUNK, size - done))
            if not data:
                break
            done += len(data)
            pending = _write_lines(out, pending + decoder.decode(data))
            if progress is not None:
                progress(done - start, size - start)
        rest = pending + decoder.decode(b"", final=True)
        if rest:
            out.write(pager_line(collapse_cr(rest)))
    return done - start


def _write_lines(out: TextIO, text: str) -> str:
    """Write the complete lines of ``text``; return the unterminated rest (bounded in size)."""
    cut = text.rfind("\n")
    if cut < 0:
        if len(text) <= EXPORT_CHUNK:
            return text
        out.write(pager_line(collapse_cr(text)))  # one giant line: shown in pieces
        return ""
    block, rest = text[: cut + 1], text[cut + 1 :]
    if "\r\n" in block:  # CRLF endings are plain newlines
        block = block.replace("\r\n", "\n")
    pos = 0
    while (found := _next_overwrite(block, pos)) >= 0:  # lines with "\r" or backspace, one by one
        start = block.rfind("\n", 0, found) + 1
        end = block.index("\n", found)
        out.write(clean_block(block[pos:start]))
        out.write(pager_line(collapse_cr(block[start:end].removesuffix("\r"))))
        pos = end + 1
    out.write(clean_block(block[pos:]))  # the rest in one regex pass
    return rest


def _next_overwrite(block: str, pos: int) -> int:
    """Index of the next "\\r" or backspace at or after ``pos``, or -1 (str.find is fastest)."""
    found = [i for i in (block.find("\r", pos), block.find("\x08", pos)) if i >= 0]
    return min(found) if found else -1


def pager_command() -> str:
    return os.environ.get("PAGER") or DEFAULT_PAGER


def run_pager(app: object, path: Path) -> int:
    """Run $PAGER on ``path`` with the app suspended; returns its exit code."""
    command = f"{pager_command()} {shlex.quote(str(path))}"
    env = dict(os.environ)
    env.setdefault("LESS", "-R")  # a bare `less` would show colour codes as text
    try:
        with app.suspend():  # type: ignore[attr-defined]
            return subprocess.run(command, shell=True, env=env).returncode
    except SuspendNotSupported:
        # No terminal of ours to hand over (headless, web): run it detached from any terminal.
        quiet = subprocess.DEVNULL
        try:
            return subprocess.run(
                command, shell=True, env=env, stdin=quiet, stdout=quiet, stderr=quiet, timeout=60
            ).returncode
        except subprocess.TimeoutExpired:
            return 1


def _remove(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def _reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else None) or str(exc) or type(exc).__name__
