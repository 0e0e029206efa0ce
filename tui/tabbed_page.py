"""A page made of tabs (a run's page, a comparison): each tab built on its first visit and given the
page's snapshot only while it is the one on show, so hidden tabs cost nothing; ``?`` lists the
keys of the tab on show, then those of the page and the app.

A page may paint a light first frame and mount its tab bar and tabs after it (``ready`` is then
False until ``show_first_tab`` has run): keys typed meanwhile are held, then handled from the app
down, in order, as if typed the moment the page was ready."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on
from textual.app import App
from textual.binding import Binding
from textual.reactive import Reactive, var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Tabs

from runview.tui import breakpoints
from runview.tui.focus import typing_in
from runview.tui.key_help import KeySection, key_group, key_sections, priority_keys
from runview.tui.key_hold import hold_keys
from runview.tui.stylesheets import use_styles
from runview.tui.textual_private import message_clock

if TYPE_CHECKING:  # imported with the first tab, after the page's first frame
    from textual.widget import Widget

    from runview.tui.tabs.base import RunTab


def tab_page_bindings(tabs: Sequence[tuple[str, str, *tuple[str, ...]]]) -> list[Binding]:
    """The keys of every tabbed page, not in the footer (the tab bar shows the numbers; ? lists
    them): a digit per tab, [ ] for the previous / next, tab / shift+tab between widgets, ?."""
    titles = [title for _name, title, *_ in tabs]
    switch = Binding.Group("Switch tab", compact=True)
    return [
        *(
            Binding(
                str(i + 1),
                f"show_tab('{name}')",
                title,
                show=False,
                group=switch,
                tooltip=", ".join(titles),
                # Handled as the app reads it, before the next key: see action_show_tab.
                priority=True,
            )
            for i, (name, title, *_) in enumerate(tabs)
        ),
        *key_group(
            "Previous / next tab",
            ("left_square_bracket", "cycle_tab(-1)", "Previous tab"),
            ("right_square_bracket", "cycle_tab(1)", "Next tab"),
        ),
        # Screen's own focus keys, declared again so that ? lists them.
        *key_group(
            "Move focus between widgets",
            ("tab", "app.focus_next", "Next widget"),
            ("shift+tab", "app.focus_previous", "Previous widget"),
        ),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this list"),
    ]


# Keys typed behind a tab digit wait at most this long for a tab being built to settle.
SETTLE_TIMEOUT_S = 3.0


class TabbedPage(Screen[None]):
    """A subclass composes ``Tabs`` (ids ``tab-<name>``) and a ``ContentSwitcher``, names its tabs
    in ``tab_names``, builds them in ``tab_class`` and keeps its newest snapshot (anything with a
    ``version`` that grows when its data changes) in ``snapshot``."""

    tab_names: ClassVar[tuple[str, ...]] = ()
    # The chart grids of the Charts and System tabs are laid out by these classes.
    HORIZONTAL_BREAKPOINTS = breakpoints.HORIZONTAL
    VERTICAL_BREAKPOINTS = breakpoints.VERTICAL

    has_problems: var[bool] = var(False, toggle_class="-problems")  # skipped lines and the like
    # Textual's own, without its repaint: a screen repaints all of itself when focus moves (a
    # frame the size of the screen for each move between charts, and one more before a long
    # run's first charts). The widgets that gain and lose focus repaint themselves, their
    # :focus-within ancestors are restyled, and the footer follows the focus (``_watch_focused``).
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(self, *, ready: bool = True) -> None:
        super().__init__()
        self.snapshot: Any = None
        self._shown_version: dict[str, int] = {}
        # Keys made before this moment are held and handled again once the page is ready.
        self._ready_at: float | None = -math.inf if ready else None
        self._held_keys: list[events.Key] = []
        self._building: str | None = None  # the tab a digit is building (first visit)
        self._settle_timer: Timer | None = None  # the longest its keys are held
        self._switcher: ContentSwitcher | None = None
        self._release_keys: Callable[[], None] | None = None  # the app's hold of a first visit
        self._prefetched: dict[str, object] = {}  # what a tab's ``prefetch`` read ahead of it

    @property
    def ready(self) -> bool:
        """The tab bar and the tab on show are mounted, and that tab has settled (its focus is
        where its user starts): keys go where they lead."""
        return self._ready_at is not None

    @on(events.Key)
    def _hold_keys_until_ready(self, event: events.Key) -> None:
        # Keys bubble here from whatever has focus (nothing, in the first frame; the new tab's
        # placeholder focus while it is built); one made before the page was ready may still be
        # in the page's queue after, and must not be handled from a focus it was not typed into.
        if self._ready_at is not None and event.time >= self._ready_at:
            return
        event.prevent_default()  # neither the page's key handlers ...
        event.stop()  # ... nor the bindings the app looks up as the key bubbles to it
        self._held_keys.append(event)
        if self.ready:
            self._replay_held_keys()

    def _replay_held_keys(self) -> None:
        held, self._held_keys = self._held_keys, []
        if held:  # from the app down: priority bindings first, as for a key typed now
            self.app.call_later(_post_keys, self.app, [(key.key, key.character) for key in held])

    def tab_class(self, name: str) -> type[RunTab]:  # pragma: no cover - abstract
        raise NotImplementedError

    def tab_title(self, name: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def key_help(self) -> list[KeySection]:
        """What ``?`` lists: the current tab's keys, its widgets', then those that work
        everywhere."""
        sections: list[KeySection] = []
        tab = self.current_tab
        if tab is not None:
            # The page's priority keys reach the page first: a tab's widget never sees them.
            mine = priority_keys(type(self))
            title = f"{self.tab_title(tab.tab_name)} tab"
            sections += key_sections([type(tab)], title=title, shadowed=mine)
            sections += tab.key_help(shadowed=mine)
        return [*sections, *key_sections([type(self), type(self.app)], title="Everywhere")]

    def action_help(self) -> None:
        from runview.tui.help_screen import HelpScreen

        self.app.push_screen(HelpScreen(self.key_help()))

    @on(Tabs.TabActivated)
    async def _on_tab_activated(self, event: Tabs.TabActivated) -> None:
        name = (event.tab.id or f"tab-{self.tab_names[0]}").removeprefix("tab-")
        if name == self._building:
            return  # the digit that made it active is building it (action_show_tab)
        switcher = self.switcher
        if switcher is not None and switcher.current == f"pane-{name}":
            return  # already on show (the tab bar announces its first tab when it is mounted)
        await self.show_tab_pane(name)

    async def show_tab_pane(self, name: str) -> None:
        """Show the tab ``name``, building it on its first visit, with the page's snapshot and the
        focus where its user starts."""
        switcher = self.switcher
        if switcher is None:
            return  # the page is being closed (quit, or back, while it was built)
        if not switcher.query(f"#pane-{name}"):
            # Built on first visit: a tab nobody opens costs nothing, its styles included.
            tab_class = self.tab_class(name)
            use_styles(self.app, tab_class)
            tab = tab_class(id=f"pane-{name}")
            if name in self._prefetched:
                tab.use_prefetched(self._prefetched.pop(name))
            await switcher.mount(tab)
        switcher.current = f"pane-{name}"
        self._feed_visible_tab()
        pane = self.current_tab
        if pane is not None:
            pane.focus_default()

    async def show_first_tab(self, name: str) -> None:
        """For a page that mounts its tabs after its first frame: show ``name``, then handle the
        keys typed meanwhile once it has settled."""
        await self.show_tab_pane(name)
        self._ready_once_settled()

    def tab_prefetched(self, name: str, value: object) -> None:
        """What ``RunTab.prefetch`` of the tab ``name`` read: handed to the tab, now or when it
        is built."""
        from runview.tui.tabs.base import RunTab  # imported already: prefetch is its method

        switcher = self.switcher
        pane = next(iter(switcher.query(f"#pane-{name}")), None) if switcher else None
        if isinstance(pane, RunTab):
            pane.use_prefetched(value)
        else:
            self._prefetched[name] = value

    @property
    def switcher(self) -> ContentSwitcher | None:
        """The page's ContentSwitcher (its tabs), once mounted.

        Kept once found: the page asks for it at every snapshot (four a second while a run is
        live), and a query walks every widget of the page, every chart of a tab included."""
        switcher = self._switcher
        if switcher is None or not switcher.is_attached:
            switcher = self._switcher = next(iter(self.query(ContentSwitcher)), None)
        return switcher

    @property
    def current_tab(self) -> RunTab | None:
        switcher = self.switcher
        if switcher is None or switcher.current is None:
            return None
        from runview.tui.tabs.base import RunTab  # imported already, with the tab on show

        widget = switcher.get_child_by_id(switcher.current)
        return widget if isinstance(widget, RunTab) else None

    def _feed_visible_tab(self) -> None:
        pane = self.current_tab
        if pane is None or self.snapshot is None:
            return
        key = pane.id or ""
        if self._shown_version.get(key) == self.snapshot.version:
            return
        self._shown_version[key] = self.snapshot.version
        pane.show_snapshot(self.snapshot)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_tab":  # a priority key: in a text box, a digit is text
            return self.page_key_acts()
        return True

    def page_key_acts(self) -> bool:
        """Whether a priority key of the page acts now: not before the page is ready (until
        then it is held with the keys typed before it, and waits its turn), nor in a text box
        (there it is text)."""
        return self.ready and not typing_in(self)

    async def action_show_tab(self, name: str) -> None:
        """Switch tabs now, not when the tab bar announces it: the app reads the next key only
        once a priority binding's action has returned, so a key typed right behind the digit
        ("2" then Enter, as fast as people type) reaches the new tab's focus, not the old one's.
        A tab's first visit builds it, and what it focuses may come later (the Charts tab's
        charts, once its first snapshot is laid out): keys typed meanwhile are held until the
        tab says it is settled, as at start-up."""
        self.query_one(Tabs).active = f"tab-{name}"
        switcher = self.switcher
        if not self.ready or switcher is None:
            return
        if switcher.query(f"#pane-{name}"):
            await self.show_tab_pane(name)
            return
        self._ready_at = None
        # Held by the app too: until the new tab has the focus, the old one keeps it, and a
        # priority key of the old tab's ("/" opens its filter) would act there unseen.
        self._release_keys = hold_keys(self.app, limit=SETTLE_TIMEOUT_S + 1)
        self._building = name
        try:
            await self.show_tab_pane(name)
        finally:
            self._building = None
        self._ready_once_settled()

    def _ready_once_settled(self) -> None:
        """The keys held meanwhile go to the tab on show once it says it has settled (its focus
        where its user starts: the Charts tab's charts exist once its first snapshot is laid
        out), or after ``SETTLE_TIMEOUT_S`` whatever it says. With no snapshot to come (a
        reader that failed) there is nothing to wait for: a held "q" must not wait."""
        pane = self.current_tab
        if pane is None or not self.snapshot_coming():
            self._tab_settled()
            return
        self._settle_timer = self.set_timer(SETTLE_TIMEOUT_S, self._tab_settled)
        pane.when_settled(self._tab_settled)

    def snapshot_coming(self) -> bool:
        """Whether the tabs have, or will get, a snapshot to lay out."""
        return self.snapshot is not None

    def _tab_settled(self) -> None:
        timer, self._settle_timer = self._settle_timer, None
        if timer is not None:
            timer.stop()  # else it could end the wait for a tab built after this one
        if self._ready_at is None:
            self._ready_at = message_clock()
            self.refresh_bindings()  # keys that wait for the page (q) are offered from now on
            self._replay_held_keys()
        release, self._release_keys = self._release_keys, None
        if release is not None:
            release()

    async def action_cycle_tab(self, delta: int) -> None:
        names = list(self.tab_names)
        current = (self.query_one(Tabs).active or f"tab-{names[0]}").removeprefix("tab-")
        index = (names.index(current) + delta) % len(names) if current in names else 0
        await self.action_show_tab(names[index])


def _post_keys(app: App[Any], keys: list[tuple[str, str | None]]) -> None:
    """Post ``keys`` to ``app`` as if just read, on the app's turn: Textual stops a message from
    bubbling past the node that was handling messages when it was made, so a key made by the page
    would never reach the app's bindings."""
    for key, character in keys:
        app.post_message(events.Key(key, character))
