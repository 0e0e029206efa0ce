"""A two-column key/value table that can be filtered, fed from plain dicts."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import BindingType
from textual.widgets import DataTable

from runview.tui.key_help import PAGE_KEYS, key_group
from runview.tui.safe_text import safe_text, visible
from runview.tui.textual_private import set_cell_quietly


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level, keys joined with ``/`` (as the logger flattens history)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and "_type" not in value:  # media refs stay whole
            out.update(flatten(value, f"{name}/"))
        else:
            out[name] = value
    return out


def format_value(value: Any) -> str:
    """A short, exact-enough rendering of one config or summary value."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    if isinstance(value, dict) and value.get("_type"):
        return describe_media(value)
    return str(value)


def describe_media(ref: Mapping[str, Any]) -> str:
    """A media ref from history in a few words: "6 images", "table 13×4"."""
    kind = ref.get("_type")
    if kind == "images":
        count = len(ref.get("items") or [])
        return f"{count} image{'s' if count != 1 else ''} (Charts, m)"
    if kind == "table":
        return f"table {ref.get('rows', '?')}×{len(ref.get('columns') or [])} (Charts, m)"
    return f"<{kind}>"


class KeyValueTable(DataTable[Text]):
    """Rows of (key, value); ``set_filter`` keeps keys matching a case-insensitive regex."""

    HELP_TITLE = "In the config and summary tables"
    # DataTable's own keys are declared again, with what they do here, so that ? lists them.
    BINDINGS: ClassVar[list[BindingType]] = [
        *key_group("Move between rows", ("up", "cursor_up", "Up"), ("down", "cursor_down", "Down")),
        *PAGE_KEYS,
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._values: dict[str, Any] = {}
        self._pattern: re.Pattern[str] | None = None
        self._shown: tuple[tuple[str, str], ...] = ()
        self._key_width = 0

    def on_mount(self) -> None:
        self._set_columns()

    def on_resize(self) -> None:
        self._set_columns()

    def _set_columns(self) -> None:
        # A long key must not push the values out of sight: it gets at most half the width
        # (and is cut with an ellipsis), the value column takes the rest.
        longest = max((cell_len(visible(key)) for key, _ in self._shown), default=3)
        cap = max(12, self.size.width // 2) if self.size.width else longest
        width = min(longest, cap)
        if width == self._key_width and self.columns:
            return
        self._key_width = width
        shown, self._shown = self._shown, ()
        self.clear(columns=True)
        self.add_column("key", key="key", width=width)
        self.add_column("value", key="value")
        self._shown = ()
        self._fill(shown)

    def set_data(self, data: Mapping[str, Any]) -> None:
        self._values = flatten(data)
        self._rebuild()

    def set_filter(self, pattern: re.Pattern[str] | None) -> None:
        self._pattern = pattern
        self._rebuild()

    @property
    def shown_keys(self) -> list[str]:
        return [key for key, _ in self._shown]

    def _rebuild(self) -> None:
        rows = tuple(
            (key, format_value(value))
            for key, value in sorted(self._values.items())
            if self._pattern is None or self._pattern.search(key)
        )
        if rows == self._shown:
            return  # nothing changed: no repaint
        self._fill(rows)
        self._set_columns()

    def _fill(self, rows: tuple[tuple[str, str], ...]) -> None:
        old, self._shown = self._shown, rows
        if old and self.columns and [key for key, _ in old] == [key for key, _ in rows]:
            # The same keys with new values (a live run's summary, four times a second): only
            # the values that changed are set, in place, each repainting its own row. Clearing
            # and adding every row again laid out the whole page and moved the cursor back to
            # the top at every update.
            for (key, value), (_, before) in zip(rows, old):
                if value != before:
                    set_cell_quietly(self, key, "value", safe_text(value))
            return
        self.clear()
        width = self._key_width or None
        for key, value in rows:
            # Text, never markup: keys and values come from the user's data.
            label = safe_text(key)
            if width and label.cell_len > width:
                label.truncate(width, overflow="ellipsis")
            self.add_row(label, safe_text(value), key=key)
