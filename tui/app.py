"""The runview application: opens a run page for one run directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.filter import LineFilter

from runview.tui.messages import OpenRunRequested
from runview.tui.run_page import RunPage
from runview.tui.safe_text import ControlCharacterFilter


class RunviewApp(App[None]):
    CSS_PATH = "runview.tcss"
    TITLE = "runview"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", tooltip="the terminal is restored"),
    ]

    def __init__(self, run_path: Path, tab: str = "overview") -> None:
        super().__init__()
        self.run_path = run_path
        self.initial_tab = tab
        self._control_filter = ControlCharacterFilter()

    def get_line_filters(self) -> Sequence[LineFilter]:
        # The last guard against logged escape sequences: no control character reaches the tty.
        return [*super().get_line_filters(), self._control_filter]

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
