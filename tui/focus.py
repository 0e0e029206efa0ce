"""Moving the focus at once, so that keys typed in one burst go where the user expects."""

from __future__ import annotations

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input


def typing_in(screen: Screen[object]) -> bool:
    """A text box has the focus on ``screen``. Its printable keys are its own: a priority key
    that is printable ("/", "l", "q": handled before the keys typed behind it are routed) steps
    aside in ``check_action`` there (Textual cannot tell that it is printable)."""
    return isinstance(screen.focused, Input)


def focus_now(widget: Widget, scroll_visible: bool = True) -> None:
    """Focus ``widget`` before the next key is handled.

    ``Widget.focus`` defers the change to a later message: keys that arrive together (a held
    arrow key, a burst over a slow SSH link) would still be handled from the old focus, so ``lll``
    would move one chart instead of three. (Keys Textual has already routed to the old focus
    still go there: a key that moves the focus into a text box is a priority binding, handled
    before the keys after it are routed.)
    """
    widget.screen.set_focus(widget, scroll_visible=scroll_visible)


def focused_now(widget: Widget) -> bool:
    """``widget`` has the focus, counting a change ``focus_now`` made a moment ago.

    ``Widget.has_focus`` turns false only when the widget handles its Blur event, after the keys
    already queued: a priority binding enabled by ``has_focus`` (enter in a filter box: back to
    the table) would take the next enter too, which was meant for the table. The screen's record
    of its focus changes at once.
    """
    return widget.is_attached and widget.screen.focused is widget
