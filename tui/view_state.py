"""How a project's chart tabs look (edits, pins, columns, smoothing, folds), kept in the user's
state directory.

One small JSON file per project under ``$RUNVIEW_STATE_DIR``, else ``$XDG_STATE_HOME/runview``, else
``~/.local/state/runview``; never inside a run directory. Written atomically (temp file, then
rename).
No textual here: the tab calls ``load_view_state`` and ``StateWriter.save`` from thread workers.

The Charts tab's layout sits at the top level of the file (as in the first files written); every
other chart tab's layout is a nested object of the same shape under its section name (``"system"``).
A tab's save replaces only its own part of the file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

FORMAT_VERSION = 1
X_STEP, X_WALL, X_RELATIVE, X_METRIC = "step", "wall", "relative", "metric"
X_AXES = (X_STEP, X_WALL, X_RELATIVE, X_METRIC)
CHARTS, SYSTEM = "charts", "system"  # the sections: Charts at the top level, System nested
TABLE = "table"  # the run table's columns and sort (runview.tui.table_state)
COMPARE = "compare"  # a comparison's grouping keys (runview.tui.table_state)
NESTED_SECTIONS = (SYSTEM, TABLE, COMPARE)

Bound = float | None


@dataclass(frozen=True)
class ChartEdit:
    """A user's changes to one chart; defaults mean "as the tab draws it unedited"."""

    title: str = ""  # "" keeps the chart's own name
    x_axis: str = X_STEP
    x_key: str = ""  # the metric on x when x_axis is X_METRIC
    y_keys: tuple[str, ...] = ()  # () keeps the chart's own metric
    x_range: tuple[Bound, Bound] = (None, None)
    y_range: tuple[Bound, Bound] = (None, None)
    log_y: bool = False
    legend: bool = True
    colors: tuple[tuple[str, str], ...] = ()  # (metric, plotext colour name)

    def color_of(self, key: str) -> str:
        return dict(self.colors).get(key, "")


@dataclass(frozen=True)
class ViewState:
    """Everything kept for one project's chart tab. Immutable: a change is a new ViewState (the
    tab holds it as a reactive, so one watcher sees every change)."""

    columns: int | None = None
    smoothing: float = 0.0
    pinned: frozenset[str] = frozenset()
    folded: frozenset[str] = frozenset()
    charts: Mapping[str, ChartEdit] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Callers may pass sets and dicts; what is kept cannot be changed behind the tab's back.
        object.__setattr__(self, "pinned", frozenset(self.pinned))
        object.__setattr__(self, "folded", frozenset(self.folded))
        object.__setattr__(self, "charts", MappingProxyType(dict(self.charts)))

    def with_pin_toggled(self, chart_id: str) -> ViewState:
        return replace(self, pinned=self.pinned ^ {chart_id})

    def with_fold(self, section: str, folded: bool) -> ViewState:
        return replace(self, folded=self.folded | {section} if folded else self.folded - {section})

    def with_edit(self, chart_id: str, edit: ChartEdit | None) -> ViewState:
        """``edit`` kept for ``chart_id``; None drops the chart's edit."""
        charts = {k: v for k, v in self.charts.items() if k != chart_id}
        if edit is not None:
            charts[chart_id] = edit
        return replace(self, charts=charts)

    def to_json(self, project: str) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "project": project, **self.layout_json()}

    def layout_json(self) -> dict[str, Any]:
        """The fields alone, as a nested section holds them."""
        return {
            "columns": self.columns,
            "smoothing": self.smoothing,
            "pinned": sorted(self.pinned),
            "folded": sorted(self.folded),
            "charts": {cid: edit_to_json(edit) for cid, edit in sorted(self.charts.items())},
        }


def state_dir() -> Path:
    """Where state files live; ``RUNVIEW_STATE_DIR`` overrides the XDG location."""
    override = os.environ.get("RUNVIEW_STATE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = (
        Path(xdg).expanduser()
        if xdg and Path(xdg).is_absolute()
        else Path.home() / ".local" / "state"
    )
    return base / "runview"


def state_path(project: str) -> Path:
    """``<state dir>/projects/<readable name>-<hash>.json``: any project name maps to one safe file
    name."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", project).strip("._")[:60] or "default"
    digest = hashlib.sha1(project.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return state_dir() / "projects" / f"{safe}-{digest}.json"


def load_view_state(
    project: str, section: str = CHARTS, default: ViewState | None = None
) -> tuple[ViewState, str | None]:
    """One section of the project's saved state, or defaults and a one-line reason when the file is
    unreadable. ``default`` is what a tab shows before anything was saved (System folds its
    ``more`` section); once a section is saved, what was saved wins."""
    path = state_path(project)
    default = default or ViewState()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default, None
    except (OSError, UnicodeDecodeError) as exc:
        return ViewState(), f"view settings not loaded ({path}): {exc}"
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if section != CHARTS:
            data = data.get(section)
            if not isinstance(data, dict):
                return default, None
        return state_from_json(data), None
    except (ValueError, TypeError) as exc:
        return ViewState(), f"view settings ignored, unreadable file {path}: {exc}"


def state_from_json(data: dict[str, Any]) -> ViewState:
    """Lenient: a field of the wrong type is dropped, the rest is kept."""
    columns = data.get("columns")
    smoothing = _number(data.get("smoothing"))
    charts = data.get("charts")
    return ViewState(
        columns=columns
        if isinstance(columns, int) and not isinstance(columns, bool) and 1 <= columns <= 8
        else None,
        smoothing=smoothing if smoothing is not None and 0.0 <= smoothing < 1.0 else 0.0,
        pinned=_strings(data.get("pinned")),
        folded=_strings(data.get("folded")),
        charts={
            k: edit_from_json(v)
            for k, v in charts.items()
            if isinstance(k, str) and isinstance(v, dict)
        }
        if isinstance(charts, dict)
        else {},
    )


def edit_to_json(edit: ChartEdit) -> dict[str, Any]:
    return {
        "title": edit.title,
        "x_axis": edit.x_axis,
        "x_key": edit.x_key,
        "y_keys": list(edit.y_keys),
        "x_range": list(edit.x_range),
        "y_range": list(edit.y_range),
        "log_y": edit.log_y,
        "legend": edit.legend,
        "colors": dict(edit.colors),
    }


def edit_from_json(data: dict[str, Any]) -> ChartEdit:
    x_axis = data.get("x_axis")
    colors = data.get("colors")
    return ChartEdit(
        title=_text(data.get("title")),
        x_axis=x_axis if x_axis in X_AXES else X_STEP,
        x_key=_text(data.get("x_key")),
        y_keys=tuple(k for k in data.get("y_keys") or () if isinstance(k, str))
        if isinstance(data.get("y_keys"), list)
        else (),
        x_range=_range(data.get("x_range")),
        y_range=_range(data.get("y_range")),
        log_y=data.get("log_y") is True,
        legend=data.get("legend") is not False,
        colors=tuple(
            sorted((k, v) for k, v in colors.items() if isinstance(k, str) and isinstance(v, str))
        )
        if isinstance(colors, dict)
        else (),
    )


# two tabs' writers merge into one file: one read-modify-write at a time
_FILE_LOCK = threading.Lock()


class StateWriter:
    """Atomic, ordered writes of one section of a project's file: a save older than the last one
    written is skipped."""

    def __init__(self, project: str, section: str = CHARTS) -> None:
        self.project = project
        self.section = section
        self._written = -1
        self.writes = 0  # files written so far (tests read it)

    def save(self, state: dict[str, Any], seq: int) -> None:
        """Write ``state`` (already JSON-ready) as this section unless a newer ``seq`` was written.
        Raises OSError.

        The other sections already in the file are kept; an unreadable file is replaced.
        """
        with _FILE_LOCK:
            if seq <= self._written:
                return
            path = state_path(self.project)
            path.parent.mkdir(parents=True, exist_ok=True)
            state = _merged(_read_object(path), state, self.section)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(state, fh, indent=1, sort_keys=True)
                    fh.write("\n")
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._written = seq
            self.writes += 1


def _read_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _merged(existing: dict[str, Any], state: dict[str, Any], section: str) -> dict[str, Any]:
    """The file's new content: ``state`` as ``section``, the other sections as they were."""
    if section == CHARTS:
        kept = {
            name: existing[name] for name in NESTED_SECTIONS if isinstance(existing.get(name), dict)
        }
        return {**state, **kept}
    fields = {k: v for k, v in state.items() if k not in ("version", "project")}
    base = existing or {"version": FORMAT_VERSION, "project": state.get("project", "")}
    return {**base, section: fields}


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: object) -> set[str]:
    return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()


def _range(value: object) -> tuple[Bound, Bound]:
    if not isinstance(value, list) or len(value) != 2:
        return (None, None)
    lo, hi = _number(value[0]), _number(value[1])
    if lo is not None and hi is not None and lo >= hi:
        return (None, None)
    return (lo, hi)
