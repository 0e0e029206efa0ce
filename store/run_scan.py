"""The rows of every run under a target: a first scan in batches, then cheap polls for changes.

Nothing watches the tree. A poll ``stat``s the target and each project folder (an entry created,
removed or renamed moves a folder's mtime), the documents of the runs that can still change
(running, or not yet written), and the directories of a slice of the settled runs in turn; so a
root of 10,000 runs costs a few hundred ``stat`` calls a second, holds no inotify watch, and never
wakes for a line a live run writes. The viewer polls once a second: a new run shows within that.

Rows come from the small documents only (``store.run_row``), taken from the row cache
(``store.row_cache``) while their files keep their identity. One thread owns a scanner.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runview.store import format as fmt
from runview.store.row_cache import COMPACT_SLACK, FolderRows, RowCache, RowCacheWriter
from runview.store.run_dirs import RunFolders, Stamp, dir_stamp
from runview.store.run_row import (
    STATE_DELETED,
    RunDocs,
    RunRow,
    build_row,
    deleted,
    is_run,
    read_docs,
    read_identity,
    rejudged,
    unreadable,
)

POLL_S = 1.0  # how often the viewer polls: new runs appear within this
FIRST_BATCH = 48  # rows in the first batch: a screenful, shown before the rest is read
BATCH_S = 0.2  # later batches at most this often
RELIST_S = 30.0  # every folder listed again at least this often, stamps or not
SETTLED_PER_POLL = 128  # settled runs whose directory is stamped per poll, in turn
# Still changing: read every poll. Crashed is judged from a heartbeat, so it is re-judged too.
VOLATILE = frozenset({fmt.STATE_RUNNING, "unknown"})


@dataclass
class _Known:
    row: RunRow
    stamp: Stamp | None  # the run directory's, when the row was read


class RunScanner:
    """The run table's source: rows of the runs under ``target``, kept current by ``poll``.

    ``keep_cache`` is the viewer's explicit choice to keep rows in the cache; without it the
    scanner only reads from the cache (``runview info`` writes nothing).
    """

    def __init__(
        self, target: Path, cache: RowCache | None | bool = True, keep_cache: bool = False
    ) -> None:
        self.target = target
        self.folders = RunFolders(target)
        self.cache = RowCache.default() if cache is True else (cache or None)
        self.writer = RowCacheWriter(self.cache) if keep_cache and self.cache else None
        self.rows: dict[str, RunRow] = {}
        self.from_cache = 0  # rows whose documents came from the cache (tests, benchmark)
        self._known: dict[str, _Known] = {}
        self._order: list[str] = []  # every key known, in the order found: settled runs' turns
        self._volatile: set[str] = set()
        self._pending: dict[Path, float] = {}  # directories that are not runs (yet)
        self._cached: dict[Path, FolderRows] = {}
        self._appended: dict[Path, int] = {}
        self._listed_at = 0.0
        self._turn = 0
        self._scanned = False
        self.found = 0  # directories the first scan goes through (its progress: len(rows) of it)
        self._listed: list[Path] | None = None

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(self.folders.problems)

    @property
    def scanned(self) -> bool:
        """The first scan is complete."""
        return self._scanned

    def list(self) -> list[Path]:
        """List the folders (``scan`` does it when not done first): whether the target is a
        project folder or a root is known from here on (``folders.projects``)."""
        self._listed_at = time.monotonic()
        self._listed = self.folders.list()
        return self._listed

    def scan(self) -> Iterator[tuple[RunRow, ...]]:
        """Rows of every run, newest first, in batches: a screenful first, then the rest."""
        paths = self._listed if self._listed is not None else self.list()
        self._listed = None
        self.found = len(paths)
        batch: list[RunRow] = []
        limit, last = FIRST_BATCH, time.monotonic()
        last_path = paths[-1] if paths else None
        for path in paths:
            row = self._read(path, time.time())
            if row is not None:
                batch.append(row)
            if path is last_path:
                break  # the last rows go out below, with the scan marked complete
            if len(batch) >= limit or (batch and time.monotonic() - last > BATCH_S):
                self._flush_cache()
                yield tuple(batch)
                batch, limit, last = [], 4096, time.monotonic()
        self._scanned = True
        self._finish_cache()
        yield tuple(batch)

    def read_all(self) -> list[RunRow]:
        """Every row at once (``runview info``)."""
        for _batch in self.scan():
            pass
        return list(self.rows.values())

    def _read(self, path: Path, now: float) -> RunRow | None:
        """The row of the run at ``path`` (from the cache when its files did not change), or None
        when ``path`` is not a run (yet)."""
        identity, problem = read_identity(path)
        if problem is None and not is_run(identity, path):
            self._pending.setdefault(path, now)
            return None
        self._pending.pop(path, None)
        stamp = dir_stamp(path)
        fresh = False
        if problem is not None:
            docs = unreadable(problem)
        else:
            docs = self._cached_docs(path)
            if docs is None or docs.identity != identity:
                docs, fresh = read_docs(path), True
            else:
                self.from_cache += 1
        row = build_row(path, docs, now)
        if fresh:
            self._keep(path, row)
        if row.key not in self._known:
            self._order.append(row.key)
        self._known[row.key] = _Known(row, stamp)
        self._set(row)
        return row

    def _set(self, row: RunRow) -> None:
        self.rows[row.key] = row
        self._known[row.key].row = row
        (self._volatile.add if row.state in VOLATILE else self._volatile.discard)(row.key)

    def _cached_docs(self, path: Path) -> RunDocs | None:
        known = self._known.get(str(path))
        if known is not None and known.row.state != STATE_DELETED:
            return known.row.docs
        if self.cache is None:
            return None
        folder = path.parent
        rows = self._cached.get(folder)
        if rows is None:
            rows = self._cached[folder] = self.cache.load(folder)
        return rows.get(path.name)

    def _keep(self, path: Path, row: RunRow) -> None:
        """Cache a row read from disk, unless it will change soon (a run still writing)."""
        if self.writer is None or row.state in VOLATILE or row.docs.identity[0] is None:
            return
        if any(p.startswith("unreadable") for p in row.problems):
            return
        self.writer.add(path, row.docs)
        self._appended[path.parent] = self._appended.get(path.parent, 0) + 1

    def _flush_cache(self) -> None:
        if self.writer is not None and self.writer.pending:
            self.writer.flush()

    def _finish_cache(self) -> None:
        """After the first scan: write what is left, mark used entries, and rewrite an entry
        whose records are mostly superseded."""
        self._flush_cache()
        if self.writer is None or self.cache is None:
            return
        by_folder: dict[Path, list[tuple[Path, RunDocs]]] = {}
        for known in self._known.values():
            row = known.row
            if row.state not in VOLATILE and row.state != STATE_DELETED and row.docs.identity[0]:
                by_folder.setdefault(row.path.parent, []).append((row.path, row.docs))
        for folder, cached in self._cached.items():
            runs = by_folder.get(folder, [])
            lines = cached.lines + self._appended.get(folder, 0)
            if lines > 2 * len(runs) + COMPACT_SLACK:
                self.writer.compact(folder, runs)
            elif cached.lines:
                self.cache.touch(folder)
        self._cached.clear()  # the rows hold what is needed from here on

    def poll(self) -> tuple[RunRow, ...]:
        """Rows new or changed since the last scan or poll (a deleted run's row says so)."""
        now = time.time()
        changed: dict[str, RunRow] = {}
        if self.folders.moved() or time.monotonic() - self._listed_at > RELIST_S:
            self._relist(now, changed)
        for path in list(self._pending):
            if path.exists():
                row = self._read(path, now)
                if row is not None:
                    changed[row.key] = row
            else:
                self._pending.pop(path, None)
        for key in list(self._volatile):
            if key not in changed:
                self._check(self._known[key], now, changed)
        self._check_settled(now, changed)
        self._flush_cache()
        return tuple(changed.values())

    def _relist(self, now: float, changed: dict[str, RunRow]) -> None:
        self._listed_at = time.monotonic()
        paths = self.folders.list()
        present = {str(p) for p in paths}
        for key, known in self._known.items():
            if key not in present and known.row.state != STATE_DELETED:
                self._gone(known, changed)
        self._pending = {p: t for p, t in self._pending.items() if str(p) in present}
        for path in paths:
            known = self._known.get(str(path))
            if known is None or known.row.state == STATE_DELETED:
                row = self._read(path, now)
                if row is not None:
                    changed[row.key] = row

    def _gone(self, known: _Known, changed: dict[str, RunRow]) -> None:
        known.stamp = None
        row = deleted(known.row)
        self._set(row)
        changed[row.key] = row

    def _check(self, known: _Known, now: float, changed: dict[str, RunRow]) -> None:
        """Read a run again if any of its documents changed; judge its liveness again if not."""
        path = known.row.path
        identity, problem = read_identity(path)
        if problem is None and not os.path.isdir(path):
            self._gone(known, changed)
            return
        if problem is not None or identity != known.row.docs.identity:
            row = self._read(path, now)
            if row is not None:
                changed[row.key] = row
            return
        row = rejudged(known.row, now)
        if row is not known.row:
            self._set(row)
            changed[row.key] = row
            self._keep(path, row)

    def _check_settled(self, now: float, changed: dict[str, RunRow]) -> None:
        """Settled runs rarely change (a finished run resumed, a summary edited afterwards): their
        directories are stamped a slice at a time, and read again only when one moved."""
        order = self._order
        if not order:
            return
        start = self._turn % len(order)
        chosen = order[start : start + SETTLED_PER_POLL]
        self._turn = start + len(chosen)
        for key in chosen:
            known = self._known[key]
            if known.row.state in VOLATILE or known.stamp is None or key in changed:
                continue
            stamp = dir_stamp(known.row.path)
            if stamp is None:
                self._gone(known, changed)
            elif stamp != known.stamp:
                self._check(known, now, changed)
                self._known[key].stamp = stamp
            elif known.row.state == fmt.STATE_CRASHED:
                row = rejudged(known.row, now)  # a heartbeat judged stale may have resumed
                if row is not known.row:
                    self._set(row)
                    changed[row.key] = row
