"""Append the columns of new history lines to ``columns/`` (the layout is in ``columns.py``).

Runs in the run's column helper process (``column_helper.py``), never in the training process.
Every file is written relative to the ``columns/`` folder it created (a descriptor held open),
so a writer whose run directory was removed or rebuilt meanwhile can never write into the new
one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runview.store import format as fmt
from runview.store.atomic import write_all
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
TICK_BYTES = 8 * 1024 * 1024  # history parsed per step: ~1-2 s of CPU, then the index is due
INDEX_INTERVAL_S = 1.0
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW


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
    """Turns the lines of history.jsonl, as they reach the disk, into ``columns/``.

    Starts over from an empty ``columns/`` (a resumed run directory is rebuilt: the JSONL is the
    truth). Any exception is the caller's cue to stop and ``abandon`` the columns.
    """

    def __init__(self, run_dir: Path, tick_bytes: int = TICK_BYTES) -> None:
        self.dir = run_dir / fmt.COLUMNS_DIR
        self.source = run_dir / fmt.HISTORY_FILE
        self.tick_bytes = tick_bytes
        self.at_end = False  # the last tick read to the end of history.jsonl
        self.state = ColumnState()
        self._columns: dict[str, _Column] = {}
        self._last_index_write = 0.0
        self._index_offset = -1
        self._source_fd = os.open(self.source, os.O_RDONLY | os.O_CLOEXEC)
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir()
        self._dir_fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._other_fd = os.open(OTHER_NAME, _CREATE, 0o644, dir_fd=self._dir_fd)

    def tick(self, max_bytes: int | None = None) -> int:
        """Turn up to ``max_bytes`` of new complete lines into columns; returns bytes consumed.

        The index is rewritten at most once a second (``finish`` writes the last one).
        """
        consumed = self._consume(self.tick_bytes if max_bytes is None else max_bytes)
        now = time.monotonic()
        if (
            self.state.source_offset != self._index_offset
            and now - self._last_index_write >= INDEX_INTERVAL_S
        ):
            self.write_index()
            self._last_index_write = now
        return consumed

    def finish(self, **extra: Any) -> None:
        """Write the final index (``"final": true``) for what the columns cover now."""
        self.write_index(final=True, written_at=time.time(), **extra)

    def orphaned(self) -> bool:
        """True when this is no longer the run's history or columns (removed or replaced)."""
        try:
            source = os.fstat(self._source_fd)
            if source.st_nlink == 0 or os.fstat(self._dir_fd).st_nlink == 0:
                return True
            now = os.stat(self.source)
        except OSError:
            return True
        return (now.st_dev, now.st_ino) != (source.st_dev, source.st_ino)

    def abandon(self) -> None:
        """After an error: remove the index, so readers stop loading columns that stopped growing.

        A stale index would still be trusted up to its offset, which is correct, but would make
        every open read the rest of the JSONL without saying why.
        """
        try:
            os.unlink(INDEX_NAME, dir_fd=self._dir_fd)
        except OSError:
            pass

    def close(self) -> None:
        for column in self._columns.values():
            os.close(column.fd)
        self._columns.clear()
        for fd in (self._source_fd, self._other_fd, self._dir_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- internals ---------------------------------------------------------------------------------
    def _consume(self, max_bytes: int) -> int:
        if max_bytes <= 0:
            return 0
        data = os.pread(self._source_fd, max_bytes, self.state.source_offset)
        cut = data.rfind(b"\n")
        while cut < 0 and len(data) == max_bytes:  # a line longer than the slice: read it whole
            max_bytes *= 2
            data = os.pread(self._source_fd, max_bytes, self.state.source_offset)
            cut = data.rfind(b"\n")
        self.at_end = len(data) < max_bytes
        if cut < 0:
            return 0
        block = data[: cut + 1]
        rows, bad_lines = parse_lines(block)
        self._append_rows(rows)
        self.state.corrupt_lines += len(bad_lines)
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
                fd = os.open(name, _CREATE, 0o644, dir_fd=self._dir_fd)
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
            data = pack_pairs(xs, ys).tobytes()
            written = os.pwrite(column.fd, data, column.count * PAIR_BYTES)
            while written < len(data):
                written += os.pwrite(column.fd, data[written:], column.count * PAIR_BYTES + written)
            column.count += len(xs)
            column.last_x = float(xs[-1])
        if split.media:
            lines = b"".join(
                dumps([index, key, value]) + b"\n" for key, index, value in split.media
            )
            os.write(self._other_fd, lines)
            state.other_bytes += len(lines)

    def write_index(self, **extra: Any) -> None:
        """Replace ``index.json`` atomically, inside the folder this writer made."""
        state = self.state
        tail = b""
        if state.source_offset:
            start = max(0, state.source_offset - TAIL_CHECK_BYTES)
            tail = os.pread(self._source_fd, state.source_offset - start, start)
        files = {k: (c.file, c.count) for k, c in self._columns.items()}
        data = json.dumps(
            index_document(state, files, tail, **extra),
            ensure_ascii=False,
            allow_nan=False,
            default=str,
        ).encode("utf-8", "surrogateescape")
        tmp = f".{INDEX_NAME}.{os.getpid()}.tmp"
        fd = os.open(tmp, _CREATE, 0o644, dir_fd=self._dir_fd)
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, INDEX_NAME, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
        self._index_offset = state.source_offset
