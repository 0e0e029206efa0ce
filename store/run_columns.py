"""The run table's columns: what each shows and how it sorts, and the automatic choice.

A column is named by an id: one of the row's own fields (``name``, ``state``, ``start`` ...),
``config:<key>`` or ``summary:<key>`` (flattened keys, ``model/depth``). The automatic choice shows
the fields that tell runs apart, the config keys whose values differ between runs, and the summary
metrics most runs share.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from runview.store.run_row import RunRow

CONFIG, SUMMARY = "config", "summary"
FIELDS: dict[str, Callable[[RunRow, float], Any]] = {
    "name": lambda row, now: row.name,
    "project": lambda row, now: row.project,
    "state": lambda row, now: row.state,
    "start": lambda row, now: row.started,
    "runtime": lambda row, now: row.runtime(now),
    "host": lambda row, now: row.host,
    "tags": lambda row, now: ", ".join(row.tags),
    "id": lambda row, now: row.run_id,
    "notes": lambda row, now: row.notes,
}
FIELD_TITLES = {"state": "status"}
MAX_CONFIG = 6
MAX_SUMMARY = 6
LONG_TEXT = 40  # config text longer than this (paths, timestamps) is not chosen automatically


@dataclass(frozen=True)
class Column:
    id: str
    kind: str  # "field", "config" or "summary"
    key: str

    @property
    def title(self) -> str:
        return FIELD_TITLES.get(self.key, self.key) if self.kind == "field" else self.key

    def value(self, row: RunRow, now: float) -> Any:
        if self.kind == "field":
            return FIELDS[self.key](row, now)
        return (row.config if self.kind == CONFIG else row.summary).get(self.key)


def column(column_id: str) -> Column | None:
    """The column named ``column_id``, or None for an id this version does not know."""
    if column_id in FIELDS:
        return Column(column_id, "field", column_id)
    kind, colon, key = column_id.partition(":")
    if colon and key and kind in (CONFIG, SUMMARY):
        return Column(column_id, kind, key)
    return None


def sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text before nothing: a column of mixed values still sorts."""
    if value is None or value == "":
        return (3, 0)
    if type(value) in (int, float, bool):
        number = float(value)
        return (2, 0) if math.isnan(number) else (0, number)
    return (1, str(value).casefold())


def auto_columns(rows: Sequence[RunRow]) -> list[str]:
    """The columns a table of ``rows`` opens with when the user has not chosen any."""
    ids = ["name"]
    if len({row.project for row in rows}) > 1:
        ids.append("project")
    ids += ["state", "start", "runtime"]
    if len({row.host for row in rows}) > 1:
        ids.append("host")
    if any(row.tags for row in rows):
        ids.append("tags")
    ids += [f"{CONFIG}:{key}" for key in differing_config(rows)[:MAX_CONFIG]]
    ids += [f"{SUMMARY}:{key}" for key in shared_metrics(rows)[:MAX_SUMMARY]]
    return ids


def differing_config(rows: Sequence[RunRow]) -> list[str]:
    """Config keys whose values differ between runs, the keys most runs have first."""
    values: dict[str, set[Any]] = {}
    present: Counter[str] = Counter()
    long_text: set[str] = set()
    for row in rows:
        for key, value in row.config.items():
            present[key] += 1
            if type(value) is str and len(value) > LONG_TEXT:
                long_text.add(key)
            values.setdefault(key, set()).add(_hashable(value))
    total = len(rows)
    chosen = [
        key
        for key, seen in values.items()
        if key not in long_text and (len(seen) > 1 or present[key] < total)
    ]
    chosen.sort(key=lambda key: (-present[key], len(values[key]), key))
    return chosen


def shared_metrics(rows: Sequence[RunRow]) -> list[str]:
    """Numeric summary keys logged by at least half the runs, the most shared first."""
    counts: Counter[str] = Counter()
    for row in rows:
        counts.update(k for k, v in row.summary.items() if type(v) in (int, float))
    needed = max(1, len(rows) // 2)
    chosen = [key for key, count in counts.items() if count >= needed]
    chosen.sort(key=lambda key: (-counts[key], key))
    return chosen


def all_keys(rows: Iterable[RunRow]) -> tuple[list[str], list[str]]:
    """Every config key and every summary key of ``rows``, sorted (the column picker's list)."""
    config: set[str] = set()
    summary: set[str] = set()
    for row in rows:
        config.update(row.config)
        summary.update(row.summary)
    return sorted(config), sorted(summary)


def _hashable(value: Any) -> Any:
    if type(value) is float and math.isnan(value):
        return "nan"  # NaN != NaN: every NaN would count as another value
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return (type(value) is bool, value)
