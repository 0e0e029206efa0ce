"""Read a run directory incrementally and hand out immutable snapshots of it.

``RunReader.refresh()`` re-reads a small document only when its size or mtime moved, and
reads only the bytes appended to the JSONL streams since the last call. It never creates,
locks or changes anything inside the run directory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runview.store import format as fmt
from runview.store.column_cache import CacheWork, ColumnCache, FastLoad, load_fast
from runview.store.columns import ColumnState
from runview.store.console_tail import ConsoleSnapshot, ConsoleTail
from runview.store.jsonio import as_object, loads
from runview.store.liveness import Liveness, judge
from runview.store.run_dirs import NotARunError, check_run_dir, is_run_dir
from runview.store.series import SeriesSnapshot, SeriesTable
from runview.store.tail import JsonlTail

PARSE_SLICE = 4 * 1024 * 1024
__all__ = ["NotARunError", "RunReader", "RunSnapshot", "check_run_dir", "is_run_dir"]


@dataclass(frozen=True, repr=False)
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
    console: ConsoleSnapshot | None
    problems: tuple[str, ...] = field(default_factory=tuple)
    version: int = 0  # grows whenever data (not just the clock) changed
    # During the first read of a long history: the share of history.jsonl read so far (0-1), the
    # history being its first rows only. None once it is all read.
    loading: float | None = None

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

    def __repr__(self) -> str:
        # Short on purpose: reprs of snapshots end up in worker descriptions and logs.
        state, rows = self.liveness.state, self.history.rows
        return f"<RunSnapshot {self.path.name} v{self.version} {state} rows={rows}>"


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
                value = loads(fh.read())
        except OSError as exc:
            self.error = f"{self.path.name}: {exc.strerror or exc}"
            return False
        except ValueError:
            self.error = f"{self.path.name}: not valid JSON; showing the last good version"
            return False
        self.error = None
        # Decoded once per change of the file, so an unchanged document stays the same object
        # from snapshot to snapshot and viewers can skip redrawing it.
        self.value = fmt.decode_tree(value)
        return True


class RunReader:
    """The viewer's one owner of a run directory's state. Not thread-safe: one worker calls it."""

    def __init__(
        self,
        path: Path,
        console_lines: int = 1000,
        cache: ColumnCache | None | bool = True,
        columns_expected_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        """``cache``: True for the columns area of the user's cache (``store.cache``), False for
        none. The reader only looks in it; ``cache_work`` says what the viewer should keep there.

        A history larger than ``columns_expected_bytes`` with no usable columns is reported as a
        problem (it loads slowly); smaller runs without columns are normal.
        """
        self.path = path
        self._cache = ColumnCache.default() if cache is True else (cache or None)
        self._columns_expected_bytes = columns_expected_bytes
        self._fast: FastLoad | None = None
        self._jsonl_parsed = 0  # history bytes parsed from the JSONL during the initial load
        self._loading = True
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
        self._console = ConsoleTail(path / fmt.CONSOLE_FILE, max_lines=console_lines)
        self._console_snapshot: ConsoleSnapshot | None = None
        self._console_error: str | None = None
        self._version = 0
        self._last: RunSnapshot | None = None

    def refresh(self, max_bytes: int | None = None) -> RunSnapshot:
        """Read what changed since the last call and return a new snapshot."""
        changed = False
        for doc in self._docs.values():
            changed |= doc.refresh()
        if self._fast is None:
            self._fast = load_fast(self.path, self._cache, self._columns_expected_bytes)
            if self._fast.loaded is not None:
                self._adopt(self._fast)
                changed = True
        changed |= self._read_history(max_bytes)
        system_rows = self._system_tail.read_new(max_bytes)
        # rows of the old file must not stay in front of the new one's
        if self._system_tail.restarted:
            self.system = SeriesTable(fmt.TIME_KEY)
            changed = True
        if system_rows:
            self.system.add_rows(system_rows)
            changed = True
        try:
            changed |= bool(self._console.refresh())
            self._console_snapshot = self._console.snapshot()
            self._console_error = None
        except Exception as exc:  # a broken console log must not hide the rest of the run
            self._console_error = f"console.log: {exc!r}"
        now = time.time()
        liveness = judge(as_object(self._docs[fmt.STATUS_FILE].value), now)
        # A run can turn crashed with no file changing (its heartbeat stops): that is news too.
        if changed or self._last is None or liveness != self._last.liveness:
            self._version += 1
        return self._build(now, liveness)

    def _adopt(self, fast: FastLoad) -> None:
        loaded = fast.loaded
        assert loaded is not None
        self.history.load(
            loaded.index_x,
            loaded.columns,
            loaded.latest,
            loaded.media,
            loaded.rows,
            loaded.skipped_rows,
        )
        self._history_tail.offset = loaded.source_offset
        self._history_tail.problems.corrupt_lines += loaded.corrupt_lines
        fast.loaded = None  # the table owns the arrays now

    def _read_history(self, max_bytes: int | None) -> bool:
        """Parse new history lines in slices: a large read never holds many parsed rows at once."""
        changed = False
        left = max_bytes
        while left is None or left > 0:
            want = PARSE_SLICE if left is None else min(left, PARSE_SLICE)
            before = self._history_tail.offset
            rows = self._history_tail.read_new(want)
            if self._history_tail.restarted:
                self._start_history_over()
                before, changed = 0, True
            read = self._history_tail.offset - before
            if rows:
                self.history.add_rows(rows)
                changed = True
            if self._loading:
                self._jsonl_parsed += max(0, read)
            if read < want:
                break
            if left is not None:
                left -= read
        if self._loading and not self.history_pending:
            self._loading = False
        return changed

    def cache_work(self) -> CacheWork | None:
        """What the viewer's cache should keep after the initial load, or None.

        A load that parsed at least the cache's ``min_bytes`` of JSONL asks for an entry (so the
        next open is fast); a load from the cache marks its entry used. Reading itself never
        writes: the viewer runs the returned work in its reader worker; ``runview info`` does not.
        """
        cache, fast, tail = self._cache, self._fast, self._history_tail
        if cache is None or fast is None or self._loading or tail.identity is None:
            return None
        common = {"cache": cache, "run_path": self.path, "history": tail.path}
        if self._jsonl_parsed and self._jsonl_parsed >= cache.min_bytes:
            table = self.history
            state = ColumnState(
                source_offset=tail.offset - tail.pending_bytes,
                rows=table.rows,
                skipped_rows=table.skipped_rows,
                corrupt_lines=tail.problems.corrupt_lines,
                last_index=table.last_index,
                latest=dict(table.latest),
            )
            return CacheWork(
                **common,
                history_id=tail.identity,
                state=state,
                series={k: b.view() for k, b in table.buffers.items()},
                media={k: tuple(v) for k, v in table.media.items()},
            )
        if fast.source == "cache":
            return CacheWork(**common, history_id=tail.identity)
        return None

    def _start_history_over(self) -> None:
        """history.jsonl was replaced or truncated and is being read from 0: forget the old file.

        Appending its rows to the old table would duplicate steps (x = 0, 1, 2, 0, 1), and columns
        or a cache entry loaded at open described the old file, so they are not tried again.
        """
        self.history = SeriesTable(fmt.STEP_KEY)
        self._fast = FastLoad()
        self._loading, self._jsonl_parsed = True, 0

    def _load_fraction(self) -> float | None:
        if not self._loading:
            return None
        offset = self._history_tail.offset
        pending = self.history_pending
        return offset / (offset + pending) if pending else None

    @property
    def history_pending(self) -> int:
        """Bytes of history.jsonl not read yet (for a progress bar while a large run loads)."""
        try:
            return max(0, os.stat(self._history_tail.path).st_size - self._history_tail.offset)
        except OSError:
            return 0

    def _build(self, now: float, liveness: Liveness) -> RunSnapshot:
        meta = as_object(self._docs[fmt.META_FILE].value)
        status = as_object(self._docs[fmt.STATUS_FILE].value)
        history = self.history.snapshot()
        metrics = as_object(self._docs[fmt.METRICS_FILE].value)
        summary = merge_summary(
            history.latest, as_object(self._docs[fmt.SUMMARY_FILE].value), metrics
        )
        snapshot = RunSnapshot(
            path=self.path,
            taken_at=now,
            meta=meta,
            config=as_object(self._docs[fmt.CONFIG_FILE].value),
            summary=summary,
            metrics=metrics,
            status=status,
            liveness=liveness,
            history=history,
            system=self.system.snapshot(),
            model=self._docs[fmt.MODEL_FILE].value
            if isinstance(self._docs[fmt.MODEL_FILE].value, dict)
            else None,
            console=self._console_snapshot,
            problems=self._problems(),
            version=self._version,
            loading=self._load_fraction(),
        )
        self._last = snapshot
        return snapshot

    def _problems(self) -> tuple[str, ...]:
        problems = [doc.error for doc in self._docs.values() if doc.error]
        if self._console_error:
            problems.append(self._console_error)
        if self._fast is not None:
            problems.extend(self._fast.problems)
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
        if (
            isinstance(marker, dict)
            and isinstance(marker.get("version"), int)
            and marker["version"] > fmt.FORMAT_VERSION
        ):
            problems.append(
                f"written by a newer runview (format v{marker['version']}); showing what "
                f"v{fmt.FORMAT_VERSION} understands"
            )
        status = self._docs[fmt.STATUS_FILE].value
        if isinstance(status, dict) and status.get("dropped_records"):
            problems.append(
                f"the logger dropped {status['dropped_records']} record(s) it could not write"
            )
        return tuple(problems)


def merge_summary(
    latest: Mapping[str, Any], document: Mapping[str, Any], metrics: Mapping[str, Any]
) -> dict[str, Any]:
    """What the Overview shows as the summary: summary.json, with history's fresher last values.

    summary.json is rewritten only with the heartbeat, so while a run lives a metric's last value
    in history is newer. History wins for every metric summarised by its last value (the default),
    except keys the user set explicitly (listed in ``_explicit``); min, max and mean summaries
    come from the document only (a last value must not stand in for a maximum). A document without
    ``_explicit`` (an older or foreign writer) is laid over history's last values whole.
    """
    explicit = document.get(fmt.SUMMARY_EXPLICIT_KEY)
    summary = {k: v for k, v in latest.items() if not k.startswith("_")}
    for key, definition in metrics.items():
        kind = definition.get("summary") if isinstance(definition, dict) else None
        # Last values stand in only where the logger writes the bare key as a last value: "none"
        # hides the metric, a list of kinds is written as key.min, key.max, ..., and a min, max
        # or mean comes from the document alone.
        if kind in ("none", "min", "max", "mean") or isinstance(kind, list):
            summary.pop(key, None)
    own = {k: v for k, v in document.items() if not k.startswith("_")}
    if not isinstance(explicit, list):
        summary.update(own)
        return summary
    pinned = {k for k in explicit if isinstance(k, str)}
    for key, value in own.items():
        if key in pinned or key not in summary:
            summary[key] = value
    return summary
