"""The filter boxes' one rule: text is a case-insensitive regex; empty means no filter."""

from __future__ import annotations

import re

INVALID = "-invalid"  # the class a filter box gets while its text is not a valid regex


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
