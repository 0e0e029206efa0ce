"""The runview application: a table of runs, a run page, or a comparison, pages over pages.

A page opened from another page (a run from the table, a comparison from the table, a run from a
lineage) is pushed over it; ``backspace`` pops it, one App-level binding shown only while there is a
page underneath. Pages are imported when first opened, so the table starts without the run page's
imports (numpy, the reader, the chart stack).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.driver import Driver
from textual.screen import ModalScreen, Screen

from runview.tui.safe_text import ControlCharacterFilter


class RunviewApp(App[None]):
    CSS_PATH = "runview.tcss"
    TITLE = "runview"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        # Esc already clears filters and leaves a maximised chart; backspace is free on every
        # page (a focused text box keeps it for deleting, as it should).
        Binding("backspace", "back", "Back", key_display="⌫"),
    ]

    def __init__(
        self,
        run_path: Path | None = None,
        tab: str = "overview",
        *,
        table: Path | None = None,
        compare: Sequence[Path] = (),
    ) -> None:
        """Open the run page of ``run_path``, the table of the runs under ``table``, or the runs in
        ``compare`` side by side (one of the three)."""
        super().__init__()
        # The last guard against logged escape sequences: no control character reaches the tty.
        self._filters.append(ControlCharacterFilter())
        self.run_path = run_path
        self.initial_tab = tab
        self.table_root = table
        self.compare_paths = tuple(compare)

    def get_driver_class(self) -> type[Driver]:
        from textual.drivers.linux_driver import LinuxDriver

        from runview.tui.terminal import CleanExitDriver

        driver = super().get_driver_class()
        return CleanExitDriver if driver is LinuxDriver else driver

    def on_mount(self) -> None:
        if self.table_root is not None:
            from runview.tui.run_table_page import RunTablePage

            self.push_screen(RunTablePage(self.table_root))
        elif self.compare_paths:
            from runview.tui.compare_page import ComparePage

            self.push_screen(ComparePage(self.compare_paths, self.initial_tab))
        elif self.run_path is not None:
            from runview.tui.run_page import RunPage

            self.push_screen(RunPage(self.run_path, self.initial_tab))

    # -- pages ----------------------------------------------------------------------------------
    def open_page(self, page: Screen[None]) -> None:
        """Show ``page`` over the current one; ``backspace`` comes back."""
        self.push_screen(page)

    @property
    def can_go_back(self) -> bool:
        """A page is showing (not a dialog) and another page is underneath it."""
        # screen_stack[0] is Textual's default screen, [1] the first page opened.
        return not isinstance(self.screen, ModalScreen) and len(self.screen_stack) > 2

    def action_back(self) -> None:
        if self.can_go_back:
            self.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.can_go_back  # hidden from the footer when there is nowhere to go back
        return True

    def action_help(self) -> None:
        from runview.tui.help_screen import HelpScreen

        page = self.screen
        keys: list[tuple[str, str]] = []
        page_keys = getattr(page, "help_keys", None)
        if callable(page_keys):
            keys = list(page_keys())
        if self.can_go_back:
            keys.append(("backspace", "back to the page this one was opened from"))
        self.push_screen(HelpScreen(keys))
