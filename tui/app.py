"""The runview application: opens a run page for one run directory."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.driver import Driver

from runview.tui.help_screen import HelpScreen
from runview.tui.messages import OpenRunRequested
from runview.tui.run_page import RunPage
from runview.tui.safe_text import ControlCharacterFilter


class RunviewApp(App[None]):
    CSS_PATH = "runview.tcss"
    TITLE = "runview"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, run_path: Path, tab: str = "overview") -> None:
        super().__init__()
        # The last guard against logged escape sequences: no control character reaches the tty.
        self._filters.append(ControlCharacterFilter())
        self.run_path = run_path
        self.initial_tab = tab

    def get_driver_class(self) -> type[Driver]:
        from textual.drivers.linux_driver import LinuxDriver

        from runview.tui.terminal import CleanExitDriver

        driver = super().get_driver_class()
        return CleanExitDriver if driver is LinuxDriver else driver

    def on_mount(self) -> None:
        self.push_screen(RunPage(self.run_path, self.initial_tab))

    @on(OpenRunRequested)
    def _open_run(self, message: OpenRunRequested) -> None:
        # Pushed on top: the page's back key (backspace) pops it and the previous page is as left.
        self.push_screen(RunPage(message.path, message.tab))

    def action_help(self) -> None:
        page = self.screen
        keys: list[tuple[str, str]] = []
        if isinstance(page, RunPage) and page.current_tab is not None:
            keys = list(getattr(page.current_tab, "HELP_KEYS", []))
        self.push_screen(HelpScreen(keys))
