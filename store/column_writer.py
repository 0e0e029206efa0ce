"""Append the columns of new history lines to ``columns/`` (the layout is in ``columns.py``)."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runview.store import format as fmt
from runview.store.atomic import write_json_atomic
from runview.store.columns import (
    INDEX_NAME,
    OTHER_NAME,
    PAIR_BYTES,
    TAIL_CHECK_BYTES,
    ColumnState,
    index_document,
)
from runview.store.jsonio import dumps
from runview.store.series import split_rows
from runview.store.tail import parse_lines

PAIR = np.dtype("<f8")
TICK_BYTES = 2 * 1024 * 1024  # per flusher tick: bounds the GIL time taken from training
INDEX_INTERVAL_S = 1.0
# at close, catch up for at most this long (env RUNVIEW_COLUMNS_CLOSE_S); the reader parses the rest
CLOSE_BUDGET_S = 1.0


def pack_pairs(xs: Any, ys: Any) -> np.ndarray:
    """``(x, y)`` as the on-disk pairs: one little-endian float64 row per point."""
    pairs = np.empty((len(xs), 2), dtype=PAIR)
    pairs[:, 0] = xs
    pairs[:, 1] = ys
    return pairs


@dataclass
class _Column:
    file: str
    fd: int
    count: int = 0
    last_x: float | None = None


class ColumnWriter:
    """Appends the columns of new history lines; called from the logger's flusher thread only.

    It reads back what the flusher has written (pread from its own offset), so the training
    thread pays nothing. Any exception is the caller's cue to stop using columns for this run.
    """

    def __init__(self, run_dir: Path, tick_bytes: int = TICK_BYTES) -> None:
        self.dir = run_dir / fmt.COLUMNS_DIR
        self.source = run_dir / fmt.HISTORY_FILE
        self.tick_bytes = tick_bytes
        self.state = ColumnState()
        self._columns: dict[str, _Column] = {}
        self._source_fd: int | None = None
        self._other_fd: int | None = None
        self._last_index_write = 0.0
        self._index_offset = -1
        self.cpu_seconds = 0.0  # thread CPU time spent here (the benchmark reports it)
        # a resumed run directory: rebuild from the start, the JSONL is the truth
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self._other_fd = os.open(
            self.dir / OTHER_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644
        )

    def tick(self, max_bytes: int | None = None, force_index: bool = False) -> int:
        """Turn up to ``max_bytes`` of newly flushed lines into columns; returns bytes consumed."""
        started = time.thread_time()
        try:
            consumed = self._consume(self.tick_bytes if max_bytes is None else max_bytes)
            now = time.monotonic()
            if self.state.source_offset != self._index_offset and (
                force_index or now - self._last_index_write >= INDEX_INTERVAL_S
            ):
                self.write_index()
                self._last_index_write = now
            return consumed
        finally:
            self.cpu_seconds += time.thread_time() - started

    def finish(self, budget_s: float | None = None) -> bool:
        """Catch up with the JSONL for at most ``budget_s`` seconds, then write the index; True if
        caught up."""
        if budget_s is None:
            budget_s = float(os.environ.get("RUNVIEW_COLUMNS_CLOSE_S", CLOSE_BUDGET_S))
        deadline = time.monotonic() + budget_s
        caught_up = False
        while time.monotonic() < deadline:
            if not self.tick(max_bytes=8 * self.tick_bytes):
                caught_up = True
                break
        self.tick(max_bytes=0, force_index=True)
        return caught_up

    def close(self) -> None:
        for column in self._columns.values():
            os.close(column.fd)
        self._columns.clear()
        for fd in (self._source_fd, self._other_fd):
            if fd is not None:
                os.close(fd)
        self._source_fd = self._other_fd = None

    # -- internals ---------------------------------------------------------------------------------
    def _consume(self, max_bytes: int) -> int:
        if max_bytes <= 0:
            return 0
        if self._source_fd is None:
            try:
                self._source_fd = os.open(self.source, os.O_RDONLY)
            except FileNotFoundError:
                return 0
        data = os.pread(self._source_fd, max_bytes, self.state.source_offset)
        cut = data.rfind(b"\n")
        if cut < 0:
            return 0
        block = data[: cut + 1]
        rows, bad_lines = parse_lines(block)
        corrupt = len(bad_lines)
        self._append_rows(rows)
        self.state.corrupt_lines += corrupt
        self.state.source_offset += len(block)
        return len(block)

    def _append_rows(self, rows: list[dict[str, Any]]) -> None:
        state = self.state
        split = split_rows(rows, fmt.STEP_KEY, state.last_index)
        state.skipped_rows += split.skipped
        if not split.taken:
            return
        state.rows += split.new_rows
        state.last_index = split.last_index
        state.latest.update(split.latest)
        for key, (xs, ys) in split.columns.items():
            column = self._columns.get(key)
            if column is None:
                name = f"c{len(self._columns) + 1:04d}.f64"
                fd = os.open(self.dir / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                column = self._columns[key] = _Column(name, fd)
            if column.count and xs[0] == column.last_x:
                # The same step again: the later value wins, in place (nothing else rewrites a
                # point).
                os.pwrite(
                    column.fd,
                    np.array([xs[0], ys[0]], dtype=PAIR).tobytes(),
                    (column.count - 1) * PAIR_BYTES,
                )
                xs, ys = xs[1:], ys[1:]
                if not len(xs):
                    continue
            pairs = np.empty((len(xs), 2), dtype=PAIR)
            pairs[:, 0] = xs
            pairs[:, 1] = ys
            data = pairs.tobytes()
            written = os.pwrite(column.fd, data, column.count * PAIR_BYTES)
            while written < len(data):
                written += os.pwrite(column.fd, data[written:], column.count * PAIR_BYTES + written)
            column.count += len(xs)
            column.last_x = float(xs[-1])
        if split.media and self._other_fd is not None:
            lines = b"".join(
                dumps([index, key, value]) + b"\n" for key, index, value in split.media
            )
            os.write(self._other_fd, lines)
            state.other_bytes += len(lines)

    def write_index(self) -> None:
        state = self.state
        tail = b""
        if state.source_offset and self._source_fd is not None:
            start = max(0, state.source_offset - TAIL_CHECK_BYTES)
            tail = os.pread(self._source_fd, state.source_offset - start, start)
        write_json_atomic(
            self.dir / INDEX_NAME,
            index_document(state, {k: (c.file, c.count) for k, c in self._columns.items()}, tail),
        )
        self._index_offset = state.source_offset
