"""Choose where a reader's first load comes from: the run's columns, the viewer's own cache, or the JSONL.

The cache lives outside every run directory (``$RUNVIEW_CACHE_DIR``, else
``$XDG_CACHE_HOME/runview``, else ``~/.cache/runview``) and holds columns in the same layout as a
run's ``columns/``, one entry per run path, for runs written without columns. An entry is trusted
only while the history file is the same file (device and inode) and its bytes just before the
covered offset still match; a grown history reuses the entry and parses only the new bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runview.store import format as fmt
from runview.store.columns import (
    INDEX_NAME,
    TAIL_CHECK_BYTES,
    ColumnIndex,
    ColumnState,
    ColumnsUnusable,
    LoadedColumns,
    load_columns,
    read_index,
    write_columns,
)

CACHE_ENV = "RUNVIEW_CACHE_DIR"  # a folder, or "off"
DEFAULT_MAX_BYTES = 4 * 1024**3
DEFAULT_MIN_BYTES = 16 * 1024 * 1024  # smaller histories parse fast enough: not worth a cache entry


@dataclass
class FastLoad:
    """The outcome of the first load: columns to adopt (or None) and why others were refused."""

    loaded: LoadedColumns | None = None
    source: str = "jsonl"  # "columns", "cache" or "jsonl"
    problems: list[str] = field(default_factory=list)


class ColumnCache:
    """A bounded folder of per-run column caches outside the run directories."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES, min_bytes: int = DEFAULT_MIN_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.min_bytes = min_bytes
        self.saving: threading.Thread | None = None

    @classmethod
    def default(cls) -> ColumnCache | None:
        configured = os.environ.get(CACHE_ENV)
        if configured == "off":
            return None
        if configured:
            root = Path(configured)
        else:
            base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            root = Path(base) / "runview"
        return cls(root)

    def entry(self, run_path: Path) -> Path:
        digest = hashlib.sha256(str(run_path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return self.root / digest

    def lookup(self, run_path: Path, history: Path) -> ColumnIndex:
        entry = self.entry(run_path)
        if _inside(entry, run_path):
            raise ColumnsUnusable("cache inside the run directory")
        index = read_index(entry, history)
        st = os.stat(history)
        if index.document.get("history_id") != [st.st_dev, st.st_ino]:
            raise ColumnsUnusable("history.jsonl was replaced")
        try:
            os.utime(entry / INDEX_NAME)  # least recently used goes first when the cache is full
        except OSError:
            pass
        return index

    def save_async(self, run_path: Path, table: Any, tail: Any) -> None:
        """Write the table's columns in a daemon thread; arrays handed over are immutable views."""
        source_offset = tail.offset - tail.pending_bytes
        identity = getattr(tail, "_inode", None)
        entry = self.entry(run_path)
        if identity is None or _inside(entry, run_path):
            return
        state = ColumnState(
            source_offset=source_offset,
            rows=table.rows,
            skipped_rows=table.skipped_rows,
            corrupt_lines=tail.problems.corrupt_lines,
            last_index=table.last_index,
            latest=dict(table.latest),
        )
        series = {k: b.view() for k, b in table.buffers.items()}
        media = {k: tuple(v) for k, v in table.media.items()}
        history = tail.path

        def save() -> None:
            try:
                with open(history, "rb") as fh:
                    st = os.fstat(fh.fileno())
                    if (st.st_dev, st.st_ino) != tuple(identity):
                        return
                    start = max(0, source_offset - TAIL_CHECK_BYTES)
                    fh.seek(start)
                    check = fh.read(source_offset - start)
                write_columns(entry, state, series, media, check, history_id=[st.st_dev, st.st_ino], run=str(run_path))
                self.prune()
            except Exception:
                pass  # a cache that cannot be written is only a slower next open

        self.saving = threading.Thread(target=save, name="runview-cache", daemon=True)
        self.saving.start()

    def prune(self) -> None:
        """Remove least recently used entries until the cache fits ``max_bytes``."""
        entries = []
        total = 0
        for child in self.root.iterdir():
            if child.name.startswith(".") or not child.is_dir():
                continue
            size = sum(f.stat().st_size for f in child.iterdir() if f.is_file())
            try:
                used = (child / INDEX_NAME).stat().st_mtime
            except OSError:
                used = 0.0
            entries.append((used, size, child))
            total += size
        for _used, size, child in sorted(entries):
            if total <= self.max_bytes:
                break
            shutil.rmtree(child, ignore_errors=True)
            total -= size


def load_fast(run_path: Path, cache: ColumnCache | None, expected_bytes: int) -> FastLoad:
    """Load the best columns for ``run_path``: the run's own or the cache's, whichever covers more."""
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
    started = time.perf_counter()
    for source, index in candidates:
        try:
            result.loaded = load_columns(index)
            result.source = source
            break
        except ColumnsUnusable as exc:
            if source == "columns":
                own_problem = str(exc)
    result.load_seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    if own_problem == "missing":
        try:
            size = os.stat(history).st_size
        except OSError:
            size = 0
        if result.loaded is None and size and size >= expected_bytes:
            result.problems.append(f"columns/ missing: parsed all {size / 1e6:.0f} MB of history.jsonl")
    elif own_problem is not None:
        result.problems.append(f"columns/ not used ({own_problem}); read history.jsonl instead")
    return result


def _inside(path: Path, run_path: Path) -> bool:
    try:
        path.resolve().relative_to(run_path.resolve())
        return True
    except ValueError:
        return False
