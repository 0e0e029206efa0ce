"""Choose where a reader's first load comes from: the run's columns, the viewer's own cache, or the
JSONL.

The cache lives outside every run directory (``$RUNVIEW_CACHE_DIR``, else
``$XDG_CACHE_HOME/runview``, else ``~/.cache/runview``) and holds columns in the same layout as a
run's ``columns/``, one entry per run path, for runs written without columns. An entry is trusted
only while the history file is the same file (device and inode) and its bytes just before the
covered offset still match; a grown history reuses the entry and parses only the new bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import threading
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
# prune() deletes only what the cache provably made: a folder named like entry() names them whose
# index.json carries this field. RUNVIEW_CACHE_DIR may point anywhere, even at a folder of runs.
ENTRY_NAME = re.compile(r"[0-9a-f]{32}")
ENTRY_MARKER = "runview_cache"


@dataclass
class FastLoad:
    """The outcome of the first load: columns to adopt (or None) and why others were refused."""

    loaded: LoadedColumns | None = None
    source: str = "jsonl"  # "columns", "cache" or "jsonl"
    problems: list[str] = field(default_factory=list)


class ColumnCache:
    """A bounded folder of per-run column caches outside the run directories."""

    def __init__(
        self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES, min_bytes: int = DEFAULT_MIN_BYTES
    ) -> None:
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
            base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
                os.path.expanduser("~"), ".cache"
            )
            root = Path(base) / "runview"
        return cls(root)

    def entry(self, run_path: Path) -> Path:
        digest = hashlib.sha256(
            str(run_path.resolve()).encode("utf-8", "surrogateescape")
        ).hexdigest()[:32]
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
        identity = tail.identity
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
                write_columns(
                    entry,
                    state,
                    series,
                    media,
                    check,
                    history_id=[st.st_dev, st.st_ino],
                    run=str(run_path),
                    **{ENTRY_MARKER: 1},
                )
                self.prune()
            except Exception:
                pass  # a cache that cannot be written is only a slower next open

        self.saving = threading.Thread(target=save, name="runview-cache", daemon=True)
        self.saving.start()

    def prune(self) -> None:
        """Remove least recently used entries until the cache fits ``max_bytes``.

        Anything that is not provably a cache entry (another name, a symlink, no marked index) is
        neither counted nor touched.
        """
        entries = []
        total = 0
        for child in self.root.iterdir():
            found = _entry_size_and_use(child)
            if found is None:
                continue
            size, used = found
            entries.append((used, size, child))
            total += size
        for _used, size, child in sorted(entries):
            if total <= self.max_bytes:
                break
            # rmtree refuses a symlink and never follows one inside
            shutil.rmtree(child, ignore_errors=True)
            total -= size


def _entry_size_and_use(child: Path) -> tuple[int, float] | None:
    """(bytes, last use) of a folder this cache created, or None for anything else."""
    if not ENTRY_NAME.fullmatch(child.name):
        return None
    try:
        # lstat: a symlink to a folder is not an entry
        if not stat.S_ISDIR(os.lstat(child).st_mode):
            return None
        fd = os.open(child / INDEX_NAME, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            used = os.fstat(fh.fileno()).st_mtime
            document = json.loads(fh.read(1024 * 1024))
        if not isinstance(document, dict) or document.get(ENTRY_MARKER) != 1:
            return None
        size = 0
        for f in child.iterdir():
            st = os.lstat(f)
            if stat.S_ISREG(st.st_mode):
                size += st.st_size
    except (OSError, ValueError):
        return None
    return size, used


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


def _inside(path: Path, run_path: Path) -> bool:
    try:
        path.resolve().relative_to(run_path.resolve())
        return True
    except ValueError:
        return False
