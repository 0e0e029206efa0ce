"""Read a run directory incrementally and hand out immutable snapshots of it.

``RunReader.refresh()`` re-reads a small document only when its size or mtime moved, and
reads only the bytes appended to the JSONL streams since the last call. It never creates,
locks or changes anything inside the run directory.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runview.store import format as fmt
from runview.store.liveness import Liveness, judge
from runview.store.series import SeriesSnapshot, SeriesTable
from runview.store.tail import JsonlTail

try:
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    import json

    _loads = json.loads


class NotARunError(Exception):
    """The path is not a run directory (the CLI turns this into a one-line error)."""


def is_run_dir(path: Path) -> bool:
    return (path / fmt.MARKER_FILE).is_file() or (
        (path / fmt.META_FILE).is_file() and (path / fmt.HISTORY_FILE).exists()
    )


def check_run_dir(path: Path) -> Path:
    """``path`` resolved, or NotARunError saying why it is not a run directory."""
    if not path.exists():
        raise NotARunError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise NotARunError(f"{path}: not a directory (a run is a directory with {fmt.MARKER_FILE})")
    if not os.access(path, os.R_OK | os.X_OK):
        raise NotARunError(f"{path}: permission denied")
    if not is_run_dir(path):
        raise NotARunError(f"{path}: not a runview run (no {fmt.MARKER_FILE} inside)")
    return path.resolve()


@dataclass(frozen=True)
class RunSnapshot:
    """Everything the viewer shows about a run at one moment. Never mutated after creation."""

    path: Path
    taken_at: float
    meta: dict[str, Any]
    config: dict[str, Any]
    summary: dict[str, Any]
    metrics: dict[str, Any]
    status: dict[str, Any]
    liveness: Liveness
    history: SeriesSnapshot
    system: SeriesSnapshot
    model: dict[str, Any] | None
    console: Any  # ConsoleSnapshot from runview.store.console_tail, or None
    problems: tuple[str, ...] = field(default_factory=tuple)
    version: int = 0  # grows whenever data (not just the clock) changed

    @property
    def runtime(self) -> float | None:
        """Seconds from start to end (or to the last heartbeat, or now while running)."""
        start = self.meta.get("start_time") or self.status.get("started")
        if not isinstance(start, (int, float)):
            return None
        if self.liveness.state == fmt.STATE_RUNNING:
            end = self.taken_at
        else:
            end = self.status.get("ended") or self.status.get("heartbeat") or self.taken_at
        return max(0.0, float(end) - float(start))

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or self.path.name)


class _Document:
    """One small JSON document, re-read only when its stat changes; keeps the last good value."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.value: Any = None
        self.error: str | None = None
        self._stamp: tuple[int, int, int] | None = None

    def refresh(self) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            changed = self._stamp is not None
            self._stamp, self.error = None, None
            return changed
        except OSError as exc:
            self.error = f"{self.path.name}: {exc.strerror or exc}"
            return False
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            with open(self.path, "rb") as fh:
                value = _loads(fh.read())
        except OSError as exc:
            self.error = f"{self.path.name}: {exc.strerror or exc}"
            return False
        except ValueError:
            self.error = f"{self.path.name}: not valid JSON; showing the last good version"
            return False
        self.error = None
        self.value = value
        return True


class RunReader:
    """The viewer's single owner of a run directory's state. Not thread-safe: one worker calls it."""

    def __init__(self, path: Path, console_lines: int = 1000) -> None:
        self.path = path
        self._docs = {
            name: _Document(path / name)
            for name in (
                fmt.MARKER_FILE,
                fmt.META_FILE,
                fmt.CONFIG_FILE,
                fmt.SUMMARY_FILE,
                fmt.METRICS_FILE,
                fmt.STATUS_FILE,
                fmt.MODEL_FILE,
            )
        }
        self._history_tail = JsonlTail(path / fmt.HISTORY_FILE)
        self._system_tail = JsonlTail(path / fmt.SYSTEM_FILE)
        self.history = SeriesTable(fmt.STEP_KEY)
        self.system = SeriesTable(fmt.TIME_KEY)
        self._console = _make_console_tail(path / fmt.CONSOLE_FILE, console_lines)
        self._version = 0
        self._last: RunSnapshot | None = None

    def refresh(self, max_bytes: int | None = None) -> RunSnapshot:
        """Read what changed since the last call and return a new snapshot."""
        changed = False
        for doc in self._docs.values():
            changed |= doc.refresh()
        history_rows = self._history_tail.read_new(max_bytes)
        if history_rows:
            self.history.add_rows(history_rows)
            changed = True
        system_rows = self._system_tail.read_new(max_bytes)
        if system_rows:
            self.system.add_rows(system_rows)
            changed = True
        console = None
        if self._console is not None:
            try:
                changed |= bool(self._console.refresh())
                console = self._console.snapshot()
            except Exception as exc:  # a broken console log must not hide the rest of the run
                console = None
                self._console_error = repr(exc)
        if changed or self._last is None:
            self._version += 1
        return self._build(time.time())

    @property
    def history_pending(self) -> int:
        """Bytes of history.jsonl not read yet (for a progress bar while a large run loads)."""
        try:
            return max(0, os.stat(self._history_tail.path).st_size - self._history_tail.offset)
        except OSError:
            return 0

    def _build(self, now: float) -> RunSnapshot:
        meta = _dict(self._docs[fmt.META_FILE].value)
        status = _dict(self._docs[fmt.STATUS_FILE].value)
        history = self.history.snapshot()
        summary = {k: v for k, v in history.latest.items() if not k.startswith("_")}
        summary.update(_decode(_dict(self._docs[fmt.SUMMARY_FILE].value)))
        snapshot = RunSnapshot(
            path=self.path,
            taken_at=now,
            meta=meta,
            config=_dict(self._docs[fmt.CONFIG_FILE].value),
            summary=summary,
            metrics=_dict(self._docs[fmt.METRICS_FILE].value),
            status=status,
            liveness=judge(status, now),
            history=history,
            system=self.system.snapshot(),
            model=self._docs[fmt.MODEL_FILE].value if isinstance(self._docs[fmt.MODEL_FILE].value, dict) else None,
            console=self._console.snapshot() if self._console is not None else None,
            problems=self._problems(),
            version=self._version,
        )
        self._last = snapshot
        return snapshot

    def _problems(self) -> tuple[str, ...]:
        problems = [doc.error for doc in self._docs.values() if doc.error]
        for tail in (self._history_tail, self._system_tail):
            p = tail.problems
            if p.corrupt_lines:
                problems.append(f"{tail.path.name}: skipped {p.corrupt_lines} corrupt line(s)")
            if p.restarts:
                problems.append(f"{tail.path.name}: file was truncated or replaced; re-read it")
            if p.last_error:
                problems.append(p.last_error)
        skipped = self.history.skipped_rows + self.system.skipped_rows
        if skipped:
            problems.append(f"skipped {skipped} row(s) without a numeric _step/_time")
        marker = self._docs[fmt.MARKER_FILE].value
        if isinstance(marker, dict) and isinstance(marker.get("version"), int) and marker["version"] > fmt.FORMAT_VERSION:
            problems.append(
                f"written by a newer runview (format v{marker['version']}); showing what v{fmt.FORMAT_VERSION} understands"
            )
        status = self._docs[fmt.STATUS_FILE].value
        if isinstance(status, dict) and status.get("dropped_records"):
            problems.append(f"the logger dropped {status['dropped_records']} record(s) it could not write")
        return tuple(problems)


def _make_console_tail(path: Path, lines: int) -> Any:
    try:
        from runview.store.console_tail import ConsoleTail
    except ImportError:
        return None
    return ConsoleTail(path, max_lines=lines)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _decode(document: dict[str, Any]) -> dict[str, Any]:
    return {k: fmt.decode_value(v) for k, v in document.items()}
