"""The run table's columns and sort, and a comparison's grouping keys, kept per project like the
chart layout.

They live in the ``table`` and ``compare`` sections of the project's state file
(``runview.tui.view_state``): a table opened on a project folder keeps them under the project's
name (``runview runs/mnist``: ``mnist``'s, beside its chart layout), one opened on a root under
``root <its path>``; a comparison under the project its runs share. No textual here: loading and
saving run in thread workers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runview.tui.view_state import COMPARE, FORMAT_VERSION, TABLE, StateWriter, state_path


@dataclass(frozen=True)
class TableState:
    columns: tuple[str, ...] | None = None  # None: chosen automatically from the runs
    sort: str = "start"
    descending: bool = True

    def to_json(self, project: str) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "project": project,
            "columns": list(self.columns) if self.columns is not None else None,
            "sort": self.sort,
            "descending": self.descending,
        }


def table_state_from_json(data: Any) -> TableState:
    """Lenient: a field of the wrong type falls back to its default."""
    if not isinstance(data, dict):
        return TableState()
    columns = data.get("columns")
    sort = data.get("sort")
    return TableState(
        columns=tuple(c for c in columns if isinstance(c, str))
        if isinstance(columns, list)
        else None,
        sort=sort if isinstance(sort, str) and sort else "start",
        descending=data.get("descending") is not False,
    )


def _section(project: str, section: str) -> tuple[Any, str | None]:
    path = state_path(project)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"settings not loaded ({path}): {exc}"
    return (data.get(section) if isinstance(data, dict) else None), None


def load_table_state(project: str) -> tuple[TableState, str | None]:
    """The project's table state, or defaults and a one-line reason when the file is unreadable."""
    data, problem = _section(project, TABLE)
    return table_state_from_json(data), problem


def table_writer(project: str) -> StateWriter:
    """Writes the ``table`` section only; the other sections are kept as they are."""
    return StateWriter(project, TABLE)


def load_group_by(project: str) -> tuple[tuple[str, ...], str | None]:
    """The config keys the project's comparisons group runs over (say ``seed``)."""
    data, problem = _section(project, COMPARE)
    keys = data.get("group_by") if isinstance(data, dict) else None
    return (tuple(k for k in keys if isinstance(k, str)) if isinstance(keys, list) else ()), problem


def save_group_by(project: str, keys: tuple[str, ...], seq: int, writer: StateWriter) -> None:
    """Raises OSError."""
    writer.save({"version": FORMAT_VERSION, "project": project, "group_by": list(keys)}, seq)


def compare_writer(project: str) -> StateWriter:
    return StateWriter(project, COMPARE)
