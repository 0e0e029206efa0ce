"""Text from a run (names, keys, values, notes) made safe to put on a terminal.

Anything a training script logged may contain control characters: an ESC in a run name could
retitle or clear the user's terminal. ``visible`` shows them as symbols where data becomes
text; ``ControlCharacterFilter`` is the net under everything drawn, deleting any control
character that still reaches the screen.
"""

from __future__ import annotations

import re

from rich.segment import Segment
from rich.text import Text
from textual.color import Color
from textual.filter import LineFilter

# C0 controls but tab and newline, DEL, and the C1 block (which includes 8-bit CSI, 0x9b).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ for ESC, ␇ for BEL ...
    return "␡" if code == 0x7F else "�"


def visible(value: object) -> str:
    """``str(value)`` with control characters (other than tab and newline) shown as symbols."""
    text = value if isinstance(value, str) else str(value)
    return _CONTROL.sub(_picture, text) if _CONTROL.search(text) else text


def safe_text(value: object, style: str = "") -> Text:
    """A rich Text of ``value``: never markup, never a control sequence."""
    return Text(visible(value), style=style)


class ControlCharacterFilter(LineFilter):
    """Delete control characters from every segment before it is written to the terminal."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        search = _ANY_CONTROL.search
        if not any(search(segment.text) for segment in segments if not segment.control):
            return segments
        return [
            segment
            if segment.control or not search(segment.text)
            else Segment(_ANY_CONTROL.sub("", segment.text), segment.style)
            for segment in segments
        ]
