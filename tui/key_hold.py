"""Keys held back while an action finishes elsewhere, then handled in order as if typed then.

Textual routes each key to the widget focused when the key is read, and a widget handles its
keys later, from its own queue. An action whose effect another widget completes (enter in a text
box: the letters typed before it are still in the box's queue, and the filter they make is not
applied yet) holds the keys read after it, so that a burst (a paste, keys batched by a slow SSH
link, fast typing) does what the same keys typed slowly would: ``/deep`` enter enter opens the
run the filter shows, not the one the cursor was on before the letters were in.

Esc and the key typed right after it also arrive as one key: the terminal sends Alt and a key as
Esc and that key, so Textual reads the pair, when it comes in one read (or within its 0.1 s
escape delay), as ``alt+`` that key. runview binds no alt keys: such a key is handled as the two
keys typed (Esc then ``3``: leave the search box, open System), which is also what Alt and a key
mean in terminal tools (Meta as an Esc prefix).
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.app import App
from textual.widget import Widget

HOLD_LIMIT_S = 1.0  # the longest keys wait, should what they wait for never happen (a box removed)


class HoldsKeys(App[None]):
    """An app whose keys can be held (``hold_keys``; holds nest: keys wait for the last), or
    dropped for good while it closes (``drop_keys``)."""

    def __init__(self) -> None:
        super().__init__()
        self._key_holds = 0
        self._held_keys: list[events.Key] = []
        self._keys_dropped = False  # the app is closing: no key is handled any more
        self._until_a_page_opens: list[Callable[[], None]] = []

    def hold_keys(self, limit: float | None = HOLD_LIMIT_S) -> Callable[[], None]:
        """Hold the keys read from now on; the function returned lets them go (once), as does
        ``limit`` seconds passing."""
        self._key_holds += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._key_holds -= 1
            if not self._key_holds:
                # Handled on the app's turn: a key still in its queue was read after the held
                # ones, and is held too until then, so the order is kept.
                self.call_later(self._handle_held_keys)

        if limit is not None:
            self.set_timer(limit, release)
        return release

    def hold_keys_until_a_page_opens(self) -> None:
        """Hold the keys read from now on until ``page_opened`` (a page opened from a message
        posted now, ``Enter`` on a run): ``Enter`` ``5`` opens the run on its Logs tab, the 5
        handled by the new page (which holds it until it is ready) instead of the table."""
        self._until_a_page_opens.append(self.hold_keys())

    def page_opened(self) -> None:
        """A page is on the screen: the keys held for it go to it."""
        releases, self._until_a_page_opens = self._until_a_page_opens, []
        for release in releases:
            release()

    def drop_keys(self) -> None:
        """Handle no key from now on, read already or not (the app is closing)."""
        self._keys_dropped = True
        self._held_keys.clear()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and self._keys_dropped:
            # Read, or bubbled back from the focused widget, whose bindings the app runs.
            return
        if isinstance(event, events.Key) and not event.is_forwarded:
            typed = escape_and_key(event)
            if typed is not None:
                for key in typed:
                    await self.on_event(key)
                return
            if self._key_holds or self._held_keys:  # keys read after held ones wait behind them
                self._held_keys.append(event)
                return
        await super().on_event(event)

    async def _handle_held_keys(self) -> None:
        # A held key may hold the keys again (a second enter in a text box): the rest wait.
        while self._held_keys and not self._key_holds:
            key = self._held_keys.pop(0)
            # A new event, as if read now: a page that holds keys typed before it was ready
            # compares their times with that moment.
            await super().on_event(events.Key(key.key, key.character))


def escape_and_key(event: events.Key) -> tuple[events.Key, events.Key] | None:
    """Esc and the key typed after it, for an ``alt+`` key of one printable character (as the
    terminal's parser names Esc and a letter or digit read together); None for any other key."""
    character = event.character
    if not event.key.startswith("alt+") or character is None or len(character) != 1:
        return None
    if not character.isprintable():
        return None
    name = event.key.removeprefix("alt+")
    if name.startswith("shift+"):  # a capital letter: Textual names it by itself
        name = character
    return events.Key("escape", "\x1b"), events.Key(name, character)


def hold_keys(app: App[object], limit: float | None = HOLD_LIMIT_S) -> Callable[[], None]:
    """``app.hold_keys(limit)``; where the app cannot hold keys (a test's own app), nothing is
    held."""
    return app.hold_keys(limit) if isinstance(app, HoldsKeys) else (lambda: None)


def hold_keys_until_a_page_opens(app: App[object]) -> None:
    """``app.hold_keys_until_a_page_opens()``; nothing where the app cannot hold keys."""
    if isinstance(app, HoldsKeys):
        app.hold_keys_until_a_page_opens()


def after_typed_keys(box: Widget, then: Callable[[], None]) -> None:
    """Call ``then`` once ``box`` has handled the keys already routed to it (the letters typed
    before an enter or esc read in the same burst), holding the keys read meanwhile: they are
    handled after ``then``, from where it left the focus. ``then`` must apply the box's text
    itself: the Input.Changed messages of those letters come after it."""
    release = hold_keys(box.app)

    def finish() -> None:
        try:
            then()
        finally:
            release()

    if not box.call_later(finish):  # the box is closing: nothing is left in its queue
        finish()
