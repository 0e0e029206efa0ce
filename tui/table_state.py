"""The run table's columns, sort and comparison grouping, kept per project like the chart layout.

They live in the ``table`` section of the project's state file (``runview.tui.view_state``); the
project is the folder the table was opened on (``runview runs/mnist`` keeps ``mnist``'s). No
textual here: loading and saving run in thread workers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runview.tui.view_state import FORMAT_VERSION, TABLE, StateWriter, state_path


@dataclass(frozen=True)
class TableState:
    columns: tuple[str, ...] | None = None  # None: chosen automatically from the runs
    sort: str = "start"
    descending: bool = True
    group_by: tuple[str, ...] = ()  # config keys a comparison groups runs over (say "seed")

    def to_json(self, project: str) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "project": project,
            "columns": list(self.columns) if self.columns is not None else None,
            "sort": self.sort,
            "descending": self.descending,
            "group_by": list(self.group_by),
        }


def table_state_from_json(data: Any) -> TableState:
    """Lenient: a field of the wrong type falls back to its default."""
    if not isinstance(data, dict):
        return TableState()
    columns = data.get("columns")
    sort = data.get("sort")
    group_by = data.get("group_by")
    return TableState(
        columns=tuple(c for c in columns if isinstance(c, str))
        if isinstance(columns, list)
        else None,
        sort=sort if isinstance(sort, str) and sort else "start",
        descending=data.get("descending") is not False,
        group_by=tuple(k for k in group_by if isinstance(k, str))
        if isinstance(group_by, list)
        else (),
    )


def load_table_state(project: str) -> tuple[TableState, str | None]:
    """The project's table state, or defaults and a one-line reason when the file is unreadable."""
    path = state_path(project)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return TableState(), None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return TableState(), f"table settings not loaded ({path}): {exc}"
    return table_state_from_json(data.get(TABLE) if isinstance(data, dict) else None), None


def table_writer(project: str) -> StateWriter:
    """Writes the ``table`` section only; the chart tabs' sections are kept as they are."""
    return StateWriter(project, TABLE)
