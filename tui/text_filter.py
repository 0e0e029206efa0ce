"""The filter boxes' one rule: text is a case-insensitive regex; empty means no filter."""

from __future__ import annotations

import re
from typing import Protocol

from textual.binding import Binding

INVALID = "-invalid"  # the class a filter box gets while its text is not a valid regex


def filter_key(action: str, description: str, tooltip: str) -> Binding:
    """``/``, which opens a tab's filter box. A priority binding: handled as the key arrives, so
    the text typed right after it goes into the box (the tab's ``check_action`` steps it aside
    while a text box has focus, where "/" is text)."""
    return Binding("slash", action, description, key_display="/", priority=True, tooltip=tooltip)


def text_box_keys() -> list[Binding]:
    """enter (``text_box_done``: back to what the box filters) and esc (``text_box_cancel``:
    clear it and go back) while a tab's text box has the focus, as priority bindings.

    Textual routes each key of a burst to the widget focused when the key is read, and a text box
    handles its keys later, from its own queue. Left to the box (``Input.Submitted``), enter moved
    the focus too late: the keys typed right behind it (``/loss`` enter ``l``, as fast as people
    type) were already the box's, as text. Handled here the focus moves before the next key is
    read. The tab's ``check_action`` enables both only while its box has the focus
    (``focused_now``): elsewhere esc is the tab's ordinary binding, below what the focused widget
    does with it (a maximised chart's restore). Neither action may read the box's value: letters
    typed just before may still be in the box's queue.
    """
    # In the footer while the box has the focus (its text takes every other key shown there);
    # under ``?``, one row.
    box = Binding.Group("Leave the box, the text kept / cleared")
    return [
        Binding("enter", "text_box_done", "Done", priority=True, group=box),
        Binding("escape", "text_box_cancel", "Clear", priority=True, group=box),
    ]


def compile_filter(text: str) -> tuple[re.Pattern[str] | None, bool]:
    """``(pattern, valid)`` for a filter box's text (stripped).

    Empty text gives ``(None, True)``: show everything. Text that is not a valid regex gives
    ``(None, False)``; the caller marks the box with ``INVALID`` and decides what to show (keep the
    last valid filter, or search the text literally with ``literal_filter``).
    """
    text = text.strip()
    if not text:
        return None, True
    try:
        return re.compile(text, re.IGNORECASE), True
    except re.error:
        return None, False


def literal_filter(text: str) -> re.Pattern[str] | None:
    """``text`` searched for as plain text, case-insensitive (the fallback for an invalid regex)."""
    text = text.strip()
    return re.compile(re.escape(text), re.IGNORECASE) if text else None


class _FilterBox(Protocol):
    value: str

    def set_class(self, add: bool, *class_names: str) -> object: ...


class AppliedText:
    """A box's text as last applied, so that it is applied once: by the box's Input.Changed, or
    before that by enter or esc (``key_hold.after_typed_keys``), whose letters' Input.Changed
    messages arrive after them (applied again, a log search would go back to its first match)."""

    def __init__(self) -> None:
        self.text = ""

    def is_new(self, box: _FilterBox) -> bool:
        """Whether ``box`` holds text not applied yet (which is then taken as applied)."""
        if box.value == self.text:
            return False
        self.text = box.value
        return True


def read_filter(
    box: _FilterBox, literal_fallback: bool = False
) -> tuple[re.Pattern[str] | None, bool]:
    """Compile a filter box's text and mark the box ``INVALID`` while it is not a valid regex.

    Returns ``(pattern, valid)``. With an invalid regex the pattern is None (the caller keeps its
    last valid filter), or with ``literal_fallback`` the text searched for literally.
    """
    pattern, valid = compile_filter(box.value)
    box.set_class(not valid, INVALID)
    if not valid and literal_fallback:
        pattern = literal_filter(box.value)
    return pattern, valid
