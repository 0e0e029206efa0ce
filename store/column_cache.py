"""Where a reader's first load comes from (the run's columns, the viewer's cache, or the JSONL), and
the viewer's explicit step that keeps the cache's ``columns`` area.

The area holds columns in the same layout as a run's ``columns/``, one entry per run path, for runs
written without usable columns (older or foreign loggers, ``RUNVIEW_COLUMNS=0``). An entry is
trusted only while the history file is the same file (device and inode) and its bytes just before
the covered offset still match; a grown history reuses the entry and parses only the new bytes.

Reading never writes: ``load_fast`` only looks. What the cache should keep after a load is a
``CacheWork`` the viewer runs in its reader worker, never ``runview info`` or a plain read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from runview.store import format as fmt
from runview.store.atomic import write_json_atomic
from runview.store.cache import Cache, WriteCancelled
from runview.store.column_reader import (
    ColumnIndex,
    ColumnsUnusable,
    LoadedColumns,
    load_columns,
    read_index,
)
from runview.store.column_writer import pack_pairs
from runview.store.columns import (
    INDEX_NAME,
    OTHER_NAME,
    TAIL_CHECK_BYTES,
    ColumnState,
    index_document,
)
from runview.store.jsonio import dumps

AREA = "columns"
# smaller histories parse fast enough: not worth a cache entry
DEFAULT_MIN_BYTES = 16 * 1024 * 1024


class ColumnCache:
    """The ``columns`` area of the viewer's cache (``store.cache``)."""

    def __init__(self, cache: Cache, min_bytes: int = DEFAULT_MIN_BYTES) -> None:
        self.cache = cache
        self.min_bytes = min_bytes

    @classmethod
    def default(cls) -> ColumnCache | None:
        cache = Cache.default()
        return None if cache is None else cls(cache)

    def entry(self, run_path: Path) -> Path:
        return self.cache.entry(AREA, _key(run_path))

    def lookup(self, run_path: Path, history: Path) -> ColumnIndex:
        """The entry's index if it describes this very history file; ColumnsUnusable otherwise."""
        entry = self.entry(run_path)
        if _inside(entry, run_path):
            raise ColumnsUnusable("cache inside the run directory")
        index = read_index(entry, history)
        st = os.stat(history)
        if index.document.get("history_id") != [st.st_dev, st.st_ino]:
            raise ColumnsUnusable("history.jsonl was replaced")
        return index


@dataclass
class FastLoad:
    """The outcome of the first load: columns to adopt (or None) and why others were refused."""

    loaded: LoadedColumns | None = None
    source: str = "jsonl"  # "columns", "cache" or "jsonl"
    problems: list[str] = field(default_factory=list)


def load_fast(run_path: Path, cache: ColumnCache | None, expected_bytes: int) -> FastLoad:
    """Load the best columns for ``run_path``: its own or the cache's, whichever covers more."""
    result = FastLoad()
    history = run_path / fmt.HISTORY_FILE
    candidates: list[tuple[str, ColumnIndex]] = []
    try:
        candidates.append(("columns", read_index(run_path / fmt.COLUMNS_DIR, history)))
        own_problem = None
    except ColumnsUnusable as exc:
        own_problem = str(exc)
    if cache is not None:
        try:
            candidates.append(("cache", cache.lookup(run_path, history)))
        except (ColumnsUnusable, OSError):
            pass
    candidates.sort(key=lambda c: c[1].source_offset, reverse=True)
    for source, index in candidates:
        try:
            result.loaded = load_columns(index)
            result.source = source
            break
        except ColumnsUnusable as exc:
            if source == "columns":
                own_problem = str(exc)
    if own_problem == "missing":
        try:
            size = os.stat(history).st_size
        except OSError:
            size = 0
        if result.loaded is None and size and size >= expected_bytes:
            result.problems.append(
                f"columns/ missing: parsed all {size / 1e6:.0f} MB of history.jsonl"
            )
    elif own_problem is not None:
        result.problems.append(f"columns/ not used ({own_problem}); read history.jsonl instead")
    return result


@dataclass(frozen=True)
class CacheWork:
    """What the viewer's cache step does after a load: mark the entry used, or write a new one.

    Holds only read-only arrays and plain values, so it can run in any thread. ``run`` never
    raises: a cache that cannot be written is only a slower next open.
    """

    cache: ColumnCache
    run_path: Path
    history: Path
    history_id: tuple[int, int]
    state: ColumnState | None = None  # None: the load came from the cache; only mark it used
    series: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    media: Mapping[str, tuple[tuple[float, Any], ...]] = field(default_factory=dict, repr=False)

    def run(self, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Do it; True when an entry was written (``cancelled()`` is checked between files)."""
        entry = self.cache.entry(self.run_path)
        if _inside(entry, self.run_path):
            return False
        if self.state is None:
            self.cache.cache.touch(entry)
            return False
        try:
            check = self._history_check()
            if check is None:
                return False
            self.cache.cache.write(
                AREA, _key(self.run_path), lambda folder: self._fill(folder, check, cancelled)
            )
            return True
        except (OSError, ValueError, WriteCancelled):
            return False

    def _history_check(self) -> bytes | None:
        """The bytes before the covered offset, if history.jsonl is still the file we parsed."""
        assert self.state is not None
        offset = self.state.source_offset
        with open(self.history, "rb") as fh:
            st = os.fstat(fh.fileno())
            if (st.st_dev, st.st_ino) != self.history_id or st.st_size < offset:
                return None
            start = max(0, offset - TAIL_CHECK_BYTES)
            fh.seek(start)
            return fh.read(offset - start)

    def _fill(self, folder: Path, check: bytes, cancelled: Callable[[], bool]) -> None:
        assert self.state is not None
        files: dict[str, tuple[str, int]] = {}
        for number, (key, (x, y)) in enumerate(self.series.items(), start=1):
            if cancelled():
                raise WriteCancelled
            name = f"c{number:04d}.f64"
            pack_pairs(x, y).tofile(folder / name)
            files[key] = (name, len(x))
        other = b"".join(
            dumps([i, k, v]) + b"\n" for k, values in self.media.items() for i, v in values
        )
        (folder / OTHER_NAME).write_bytes(other)
        state = replace(self.state, other_bytes=len(other))
        document = index_document(
            state, files, check, history_id=list(self.history_id), run=str(self.run_path)
        )
        write_json_atomic(folder / INDEX_NAME, document)


def _key(run_path: Path) -> str:
    return str(run_path.resolve())


def _inside(path: Path, run_path: Path) -> bool:
    try:
        path.resolve().relative_to(run_path.resolve())
        return True
    except ValueError:
        return False
