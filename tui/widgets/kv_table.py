"""A two-column key/value table that can be filtered, fed from plain dicts."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from runview.tui.safe_text import safe_text


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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._values: dict[str, Any] = {}
        self._pattern: re.Pattern[str] | None = None
        self._shown: tuple[tuple[str, str], ...] = ()

    def on_mount(self) -> None:
        self.add_column("key", key="key")
        self.add_column("value", key="value")

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
        self._shown = rows
        self.clear()
        for key, value in rows:
            # Text, never markup: keys and values come from the user's data.
            self.add_row(safe_text(key), safe_text(value), key=key)
