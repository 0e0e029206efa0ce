"""The base class of run-page tabs: how a tab receives snapshots."""

from __future__ import annotations

from typing import ClassVar

from textual.containers import Container

from runview.store.reader import RunSnapshot


class RunTab(Container):
    """One tab of a run page. The page calls ``show_snapshot`` on the UI thread.

    A tab is built only when first shown, and receives snapshots only while visible (and
    once more when it becomes visible), so hidden tabs cost nothing.
    """

    can_focus = False
    tab_name: ClassVar[str] = ""

    def show_snapshot(self, snapshot: RunSnapshot) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def focus_default(self) -> None:
        """Put focus where a user of this tab starts; the page calls it when the tab opens."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return
