"""The runview application: a table of runs, a run page, or a comparison, pages over pages.

A page opened from another page (a run from the table or from a comparison, a comparison from
the table, a run from an artifact's lineage) is pushed over it; ``backspace`` pops it: one
App-level binding, shown in the footer and under ``?`` only while there is a page underneath.
Pages are imported when first opened, so the table starts without the run page's imports (numpy,
the reader, the chart stack).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.filter import LineFilter
from textual.screen import ModalScreen, Screen

from runview.tui.focus import typing_in
from runview.tui.key_hold import HoldsKeys
from runview.tui.messages import OpenRunRequested
from runview.tui.safe_text import ControlCharacterFilter
from runview.tui.stylesheets import use_styles
from runview.tui.textual_private import (
    forget_shown,
    read_escape_then_a_key_as_two_keys,
    send_changed_cells_only,
)
from runview.tui.worker_failures import WorkerFailed

log = logging.getLogger(__name__)


class RunviewApp(HoldsKeys):
    CSS_PATH = "runview.tcss"
    TITLE = "runview"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority key, handled in the order typed: a key behind it that is a priority key too
        # (e, o, c, enter on a run) would otherwise open its dialog or page while the app closes.
        Binding("q", "quit_key", "Quit", tooltip="the terminal is restored", priority=True),
        # As in every terminal tool: ctrl+c quits from anywhere, a focused text box included
        # (Textual's default copies there, or asks for ctrl+q).
        Binding("ctrl+c", "quit", show=False, priority=True, system=True),
        # Esc already clears filters and leaves a maximised chart; backspace is free on every
        # page (a focused text box keeps it for deleting, as it should).
        Binding(
            "backspace", "back", "Back", key_display="⌫", tooltip="to the page this was opened from"
        ),
        # As in less, vim and htop: the screen drawn again whole, over what another program
        # wrote on the terminal (runview sends only what changed, so nothing else would mend it).
        Binding(
            "ctrl+l",
            "redraw",
            "Redraw the screen",
            tooltip="when something else wrote over it",
            show=False,
            priority=True,
            system=True,
        ),
    ]

    def __init__(
        self,
        run_path: Path | None = None,
        tab: str = "overview",
        *,
        table: Path | None = None,
        compare: Sequence[Path] = (),
        run_title: str | None = None,
    ) -> None:
        """Open the run page of ``run_path``, the table of the runs under ``table``, or the runs in
        ``compare`` side by side (one of the three). ``run_title``: the run page's title, when
        the caller has read it (its first frame then shows it)."""
        super().__init__()
        send_changed_cells_only()
        read_escape_then_a_key_as_two_keys()
        self.run_path = run_path
        self.initial_tab = tab
        self.table_root = table
        self.compare_paths = tuple(compare)
        self.run_title = run_title
        # Keys read before the first page is pushed (typed while Python starts) are given to it:
        # Textual's blank first screen would drop them.
        self._release_first_keys = self.hold_keys(limit=None)
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
        # Pushed once the app has started: Textual paints nothing while it mounts itself (a
        # batch), so a page pushed from here would have its first frame held back until the
        # page's own work after it (the run page's tabs) were done too.
        self.call_later(self._open_first_page)
        # Another program draws while the app is suspended (the pager): the screen is then
        # written whole when it comes back.
        self.app_resume_signal.subscribe(self, lambda _app: forget_shown(self.console))

    def action_redraw(self) -> None:
        forget_shown(self.console)
        self.screen.refresh()

    def _open_first_page(self) -> None:
        self._push_first_page()
        self._release_first_keys()  # to the page now on show (which holds them until it is ready)

    def _push_first_page(self) -> None:
        if self.table_root is not None:
            from runview.tui.run_table_page import RunTablePage

            self.push_screen(RunTablePage(self.table_root))
        elif self.compare_paths:
            from runview.tui.compare_page import ComparePage

            self.push_screen(ComparePage(self.compare_paths, self.initial_tab))
        elif self.run_path is not None:
            from runview.tui.run_page import RunPage

            self.push_screen(RunPage(self.run_path, self.initial_tab, title=self.run_title))

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        # Each page and dialog brings its own style sheets (``runview.tui.stylesheets``), added
        # before Textual styles it.
        if isinstance(screen, Screen):
            use_styles(self, type(screen))
        return super().push_screen(screen, *args, **kwargs)

    async def action_quit_key(self) -> None:
        """``q``: quit, where q is not text nor a dialog's key (ctrl+c quits from anywhere)."""
        await self.action_quit()

    async def action_quit(self) -> None:
        # Keys read after q or ctrl+c (typed on, or batched with it by SSH) are dropped: one that
        # opens a dialog would mount it while the app closes, and its failure be the last thing
        # on the terminal.
        self.drop_keys()
        await super().action_quit()

    def open_page(self, page: Screen[None]) -> None:
        """Show ``page`` over the current one; ``backspace`` comes back to it as it was left."""
        self.push_screen(page)
        self.page_opened()

    @on(WorkerFailed)
    def _on_worker_failed(self, message: WorkerFailed) -> None:
        """The one place an unexpected worker error of any page ends
        (``runview.tui.worker_failures``): a notification and a log line with the traceback; the
        page and its other tabs go on."""
        error = message.worker.error
        log.error("%s failed", message.what, exc_info=error)
        self.notify(
            f"{message.what} failed: {type(error).__name__}: {error}",
            title="runview",
            severity="error",
            timeout=10,
            markup=False,
        )

    @on(OpenRunRequested)
    def _open_run(self, message: OpenRunRequested) -> None:
        from runview.tui.run_page import RunPage

        self.open_page(RunPage(message.path, message.tab))

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
        if action == "quit_key":  # q: text in a text box; a dialog's own (the editor's cancel)
            screen = self.screen
            if isinstance(screen, ModalScreen) or typing_in(screen):
                return False
            # A page not ready yet holds the keys typed so far ("/q" at start-up: a filter with
            # a q in it): q then waits its turn behind them, as any key would.
            return getattr(screen, "ready", True)
        return True
