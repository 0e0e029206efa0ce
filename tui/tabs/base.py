"""The base class of run-page tabs: how a tab receives snapshots and lists its keys."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.containers import Container

from runview.tui.focus import typing_in
from runview.tui.key_help import KeySection, key_sections
from runview.tui.worker_failures import ReportsWorkerFailures

if TYPE_CHECKING:  # the reader (numpy) is imported by the page's worker, after the first paint
    from runview.store.reader import RunSnapshot


class RunTab(ReportsWorkerFailures, Container):
    """One tab of a run page. The page calls ``show_snapshot`` on the UI thread.

    A tab is built only when first shown, and receives snapshots only while visible (and
    once more when it becomes visible), so hidden tabs cost nothing.

    The patterns every tab follows (Files and Artifacts too):

    - Keys are ``BINDINGS`` with a description (and a tooltip for the longer story): ``?`` and
      the footer are built from them (``runview.tui.key_help``; ``key_group`` for keys that
      work as one idea, ``filter_key`` for "/"). A widget that handles keys declares them
      itself and sets ``HELP_TITLE``.
    - State that changes the layout (empty, paused, filtering ...) is a reactive with
      ``toggle_class``; its ``.tcss`` (``STYLES``, under ``tui/styles``) shows and hides by
      those classes. No ``display`` or inline ``styles`` set from code.
    - A child reports what happened with a message; the tab (the parent) decides. No reaching
      into ``parent`` or ``screen``.
    - File I/O and parsing run in thread workers (``@thread_worker(group, description)`` from
      ``runview.tui.worker_failures``); an error a worker does not handle itself becomes a
      notification on the run page. A widget with workers of its own mixes in
      ``ReportsWorkerFailures`` (a tab has it already).
    - Messages are dataclasses named for what they mean: facts in the past tense
      (``ChartBoard.Folded``), requests in the imperative (``MetricList.CycleColor``).
    - Everything from the run is shown as ``rich.text.Text`` (``runview.tui.safe_text``).
    """

    can_focus = False
    tab_name: ClassVar[str] = ""
    # Whether the tab lays itself out when its first snapshot arrives (it then calls
    # ``mark_settled`` once that layout has its focus); otherwise it is settled once mounted.
    settles_on_snapshot: ClassVar[bool] = False
    # Its style sheets (``tui/styles/<name>.tcss``), added when it is first built (``stylesheets``).
    STYLES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.settled = False
        self._on_settled: list[Callable[[], None]] = []

    @on(events.Mount)
    def _settle_once_painted(self) -> None:
        if not self.settles_on_snapshot:
            self.call_after_refresh(self.mark_settled)

    def mark_settled(self) -> None:
        """The tab is laid out and has the focus where its user starts: keys typed while it was
        being built may now be handled (``TabbedPage`` holds them until then)."""
        if self.settled:
            return
        self.settled = True
        callbacks, self._on_settled = self._on_settled, []
        for callback in callbacks:
            callback()

    def when_settled(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the tab is settled (at once if it is)."""
        if self.settled:
            callback()
        else:
            self._on_settled.append(callback)

    def show_snapshot(self, snapshot: RunSnapshot) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def prefetch(cls, snapshot: RunSnapshot) -> object:
        """What the tab will read before it can lay out ``snapshot``, read ahead on the page's
        reader thread for the tab the page opens on (None: nothing). The page hands the result
        to ``use_prefetched`` before the tab's first ``show_snapshot``, which then need not wait
        for a worker of its own (a round trip through the UI thread while it paints)."""
        return None

    def use_prefetched(self, value: object) -> None:
        """Take what ``prefetch`` read (UI thread)."""

    def focus_default(self) -> None:
        """Put focus where a user of this tab starts; the page calls it when the tab opens.

        A tab with nothing to focus takes the focus away from the tab left behind, whose keys
        would otherwise stay in the footer and keep working, unseen.
        """
        focusable = next((widget for widget in self.query("*") if widget.focusable), None)
        self.screen.set_focus(focusable)

    def text_box_focused(self) -> bool:
        """A text box has focus: the tab's printable priority keys step aside (``typing_in``)."""
        return typing_in(self.screen)

    def key_help(self, shadowed: Collection[str] = ()) -> list[KeySection]:
        """The keys of the widgets in this tab, by where they work, for ``?`` (the tab's own keys
        are listed by the page, under the tab's name), but ``shadowed`` (the page's)."""
        classes = dict.fromkeys(type(widget) for widget in self.query("*"))
        return key_sections(classes, shadowed=shadowed)
