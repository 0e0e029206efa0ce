"""Move focus at once, so the keys typed right after the key that moved it follow it.

``Widget.focus`` only schedules the change: keys already queued behind the ``/`` that opened a
filter would still go to the old widget (typing ``/state:failed`` fast sorted the table by its
``s``). ``Screen.set_focus`` changes it before the next key is handled.
"""

from __future__ import annotations

from textual.widget import Widget


def focus_now(widget: Widget) -> None:
    widget.screen.set_focus(widget)
