"""Columnar acceleration of history.jsonl: the logger's background writer and the reader's loader.

``columns/`` is a disposable cache of the JSONL (docs/run-format.md, "Loading long runs fast"):
one file of little-endian float64 ``(step, value)`` pairs per numeric key, media references in
``other.jsonl``, and ``index.json`` (replaced atomically) saying how much of each file and of the
JSONL they cover. Files are written before the index that counts them, so a reader that trusts
only the counts in the index never sees a torn point.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runview.store import format as fmt
from runview.store.atomic import write_json_atomic
from runview.store.jsonio import DECODE_ERRORS, as_object, dumps, loads
from runview.store.series import split_rows
from runview.store.tail import parse_lines

VERSION = 1
INDEX_NAME = "index.json"
OTHER_NAME = "other.jsonl"
PAIR = np.dtype("<f8")
PAIR_BYTES = 16
# the index keeps the JSONL bytes just before source_offset, to detect a replaced file
TAIL_CHECK_BYTES = 64
TICK_BYTES = 2 * 1024 * 1024  # per flusher tick: bounds the GIL time taken from training
INDEX_INTERVAL_S = 1.0
# at close, catch up for at most this long (env RUNVIEW_COLUMNS_CLOSE_S); the reader parses the rest
CLOSE_BUDGET_S = 1.0


def encode_latest(latest: Mapping[str, Any]) -> dict[str, Any]:
    """Latest values as format-v1 JSON (non-finite floats spelled as ``{"$float": ...}``)."""
    return {
        k: fmt.encode_nonfinite(v) if type(v) is float and not math.isfinite(v) else v
        for k, v in latest.items()
    }


@dataclass
class _Column:
    file: str
    fd: int
    count: int = 0
    last_x: float | None = None


@dataclass
class ColumnState:
    """What the index says besides the column files; shared by the logger and the reader cache."""

    source_offset: int = 0
    rows: int = 0
    skipped_rows: int = 0
    corrupt_lines: int = 0
    last_index: float | None = None
    latest: dict[str, Any] = field(default_factory=dict)
    other_bytes: int = 0


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


def index_document(
    state: ColumnState, files: Mapping[str, tuple[str, int]], tail: bytes, **extra: Any
) -> dict[str, Any]:
    return {
        "version": VERSION,
        "source_offset": state.source_offset,
        "source_tail": tail.hex(),
        "rows": state.rows,
        "skipped_rows": state.skipped_rows,
        "corrupt_lines": state.corrupt_lines,
        "other_bytes": state.other_bytes,
        "keys": {k: {"file": f, "count": n} for k, (f, n) in files.items()},
        "latest": encode_latest(state.latest),
        **extra,
    }


class ColumnsUnusable(Exception):
    """The columns cannot be trusted; the message says why (it becomes a problem string)."""


@dataclass
class ColumnIndex:
    """A validated ``index.json`` and the directory it describes."""

    dir: Path
    document: dict[str, Any]

    @property
    def source_offset(self) -> int:
        return int(self.document["source_offset"])


def read_index(directory: Path, history: Path) -> ColumnIndex:
    """The index of ``directory`` if consistent with ``history``; ColumnsUnusable otherwise."""
    try:
        with open(directory / INDEX_NAME, "rb") as fh:
            document = loads(fh.read())
    except FileNotFoundError:
        raise ColumnsUnusable("missing") from None
    except OSError as exc:
        raise ColumnsUnusable(f"unreadable index ({exc.strerror or exc})") from None
    except DECODE_ERRORS:
        raise ColumnsUnusable("corrupt index") from None
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise ColumnsUnusable("unknown index version")
    offset, keys = document.get("source_offset"), document.get("keys")
    if type(offset) is not int or offset < 0 or not isinstance(keys, dict):
        raise ColumnsUnusable("corrupt index")
    for key, entry in keys.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("file"), str)
            or "/" in entry["file"]
            or entry["file"].startswith(".")
            or type(entry.get("count")) is not int
            or entry["count"] < 0
        ):
            raise ColumnsUnusable(f"corrupt index entry for {key!r}")
    try:
        with open(history, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < offset:
                raise ColumnsUnusable("index is ahead of history.jsonl")
            start = max(0, offset - TAIL_CHECK_BYTES)
            fh.seek(start)
            tail = fh.read(offset - start)
    except FileNotFoundError:
        raise ColumnsUnusable("history.jsonl is missing") from None
    except OSError as exc:
        raise ColumnsUnusable(f"history.jsonl unreadable ({exc.strerror or exc})") from None
    if "source_tail" in document and tail.hex() != document["source_tail"]:
        raise ColumnsUnusable("history.jsonl does not match the index (replaced or rewritten)")
    return ColumnIndex(directory, document)


@dataclass
class LoadedColumns:
    """Columns read into memory: everything ``SeriesTable.load`` needs."""

    source_offset: int
    index_x: np.ndarray
    columns: ColumnMap  # key -> (x, y), read on first lookup
    latest: dict[str, Any]
    media: list[tuple[str, float, Any]]
    rows: int
    skipped_rows: int
    corrupt_lines: int


# more keys than this are read at open: each lazy column holds a file descriptor
LAZY_MAX_FILES = 256
_CHUNK_PAIRS = 1 << 16  # columns are read through a 1 MiB buffer, straight into their final arrays


def load_columns(index: ColumnIndex) -> LoadedColumns:
    """Open every column the index lists, trusting only its counts; ColumnsUnusable if a file is
    short.

    Only the ``_step`` column is read here; the others are read on first use (``LazyColumn``), from
    the file descriptor opened now, so a chart nobody looks at costs no memory. x arrays equal to
    the ``_step`` column's are replaced by that very array, so a run whose metrics are logged on
    every row holds its steps once (8 bytes a point instead of 16).
    """
    document = index.document
    entries: dict[str, tuple[str, int]] = {
        k: (e["file"], e["count"]) for k, e in document["keys"].items()
    }
    step_entry = entries.pop(fmt.STEP_KEY, None)
    if step_entry is None:
        if entries:
            raise ColumnsUnusable("no _step column")
        index_x = np.empty(0, dtype=np.float64)
    else:
        index_x = LazyColumn(index.dir, *step_entry, None).arrays()[0]
    columns = ColumnMap()
    try:
        for key, (name, count) in entries.items():
            column = LazyColumn(index.dir, name, count, index_x)
            if len(entries) > LAZY_MAX_FILES:
                column.arrays()
            columns.add(key, column)
    except BaseException:
        columns.close()
        raise
    return LoadedColumns(
        source_offset=index.source_offset,
        index_x=index_x,
        columns=columns,
        latest={k: fmt.decode_value(v) for k, v in as_object(document.get("latest")).items()},
        media=list(_read_media(index.dir, document.get("other_bytes"))),
        rows=_int(document.get("rows"), len(index_x)),
        skipped_rows=_int(document.get("skipped_rows")),
        corrupt_lines=_int(document.get("corrupt_lines")),
    )


class LazyColumn:
    """One column file, opened (and checked long enough) at once, read on first ``arrays()``.

    The descriptor opened at load keeps the bytes it saw even if the file is later replaced or
    its directory removed (a resumed run rebuilds ``columns/``; the cache replaces whole entries).
    The one pair a writer may still rewrite in place, the last one the index counts, is read at
    load, so what a column reads later is what it would have read then. Thread-safe; the arrays
    are read once and never written afterwards.
    """

    __slots__ = (
        "__weakref__",
        "_arrays",
        "_close",
        "_fd",
        "_last",
        "_lock",
        "_view",
        "count",
        "index_x",
        "name",
    )

    def __init__(self, directory: Path, name: str, count: int, index_x: np.ndarray | None) -> None:
        self.name, self.count, self.index_x = name, count, index_x
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._view: tuple[np.ndarray, np.ndarray] | None = None
        self._lock = threading.Lock()
        try:
            self._fd = os.open(directory / name, os.O_RDONLY)
        except OSError as exc:
            raise ColumnsUnusable(f"{name}: {exc.strerror or exc}") from None
        self._close = weakref.finalize(self, os.close, self._fd)
        try:
            if os.fstat(self._fd).st_size < count * PAIR_BYTES:
                raise ColumnsUnusable(f"{name} is shorter than the index says")
            self._last = os.pread(self._fd, PAIR_BYTES, (count - 1) * PAIR_BYTES) if count else b""
        except OSError as exc:
            self._close()
            raise ColumnsUnusable(f"{name}: {exc.strerror or exc}") from None
        except BaseException:
            self._close()
            raise
        if len(self._last) != (PAIR_BYTES if count else 0):
            self._close()
            raise ColumnsUnusable(f"{name} is shorter than the index says")

    def __len__(self) -> int:
        return self.count

    def fingerprint(self) -> tuple[int, bytes]:
        """(points, last value's bytes) without reading the column (the last pair is known)."""
        return self.count, self._last[8:]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y), read now if not yet; x is ``index_x`` itself when equal to it."""
        arrays = self._arrays
        if arrays is None:
            with self._lock:
                if self._arrays is None:
                    try:
                        self._arrays = self._read()
                    finally:
                        self._close()
                arrays = self._arrays
        return arrays

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        """``arrays()`` as read-only views (what a snapshot hands out)."""
        view = self._view
        if view is None:
            x, y = self.arrays()
            x, y = x[:], y[:]
            x.flags.writeable = False
            y.flags.writeable = False
            view = self._view = (x, y)
        return view

    def close(self) -> None:
        self._close()

    def _read(self) -> tuple[np.ndarray, np.ndarray]:
        count, index_x = self.count, self.index_x
        shared = index_x is not None and len(index_x) == count
        x = None if shared else np.empty(count, dtype=np.float64)
        y = np.empty(count, dtype=np.float64)
        body = max(0, count - 1)  # the last pair was read at load
        scratch = np.empty((min(body, _CHUNK_PAIRS), 2), dtype=PAIR)
        start = 0
        while start < body:
            n = min(_CHUNK_PAIRS, body - start)
            chunk = scratch[:n]
            want = n * PAIR_BYTES
            got = os.preadv(self._fd, [memoryview(chunk).cast("B")], start * PAIR_BYTES)
            while 0 < got < want:
                more = os.preadv(
                    self._fd, [memoryview(chunk).cast("B")[got:]], start * PAIR_BYTES + got
                )
                if not more:
                    break
                got += more
            if got != want:
                raise ColumnsUnusable(f"{self.name} shrank after it was opened")
            xs = chunk[:, 0]
            if x is None and not np.array_equal(xs, index_x[start : start + n]):  # type: ignore[index]
                x = np.empty(count, dtype=np.float64)
                x[:start] = index_x[:start]  # type: ignore[index]
            if x is not None:
                x[start : start + n] = xs
            y[start : start + n] = chunk[:, 1]
            start += n
        del scratch
        if count:
            last = np.frombuffer(self._last, dtype=PAIR)
            if x is None and last[0] != index_x[-1]:  # type: ignore[index]
                x = index_x.copy()  # type: ignore[union-attr]
            if x is not None:
                x[-1] = last[0]
            y[-1] = last[1]
        if x is None:
            x = index_x if index_x is not None else np.empty(0, dtype=np.float64)
        return x, y


class ColumnMap(Mapping[str, tuple[np.ndarray, np.ndarray]]):
    """Key -> (x, y) of loaded columns; a column is read the first time it is looked up."""

    def __init__(self) -> None:
        self._columns: dict[str, LazyColumn] = {}

    def add(self, key: str, column: LazyColumn) -> None:
        self._columns[key] = column

    def lazy(self, key: str) -> LazyColumn:
        """The column itself, without reading it."""
        return self._columns[key]

    def __getitem__(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        return self._columns[key].arrays()

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __contains__(self, key: object) -> bool:
        return key in self._columns

    def close(self) -> None:
        for column in self._columns.values():
            column.close()


def _read_media(directory: Path, length: Any) -> Iterator[tuple[str, float, Any]]:
    if type(length) is not int or length <= 0:
        return
    try:
        with open(directory / OTHER_NAME, "rb") as fh:
            data = fh.read(length)
    except OSError as exc:
        raise ColumnsUnusable(f"{OTHER_NAME}: {exc.strerror or exc}") from None
    if len(data) != length:
        raise ColumnsUnusable(f"{OTHER_NAME} is shorter than the index says")
    for line in data.splitlines():
        try:
            index, key, value = loads(line)
        except (*DECODE_ERRORS, TypeError):
            raise ColumnsUnusable(f"corrupt {OTHER_NAME}") from None
        yield key, index, value


def write_columns(
    directory: Path,
    state: ColumnState,
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    media: Mapping[str, tuple[tuple[float, Any], ...]],
    tail: bytes,
    **extra: Any,
) -> None:
    """Write a complete columns directory from in-memory series (the reader's cache); atomic as a
    whole."""
    parent = directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    unique = f"{os.getpid()}.{threading.get_ident()}"
    tmp = parent / f".{directory.name}.{unique}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        files: dict[str, tuple[str, int]] = {}
        for number, (key, (x, y)) in enumerate(series.items(), start=1):
            name = f"c{number:04d}.f64"
            pairs = np.empty((len(x), 2), dtype=PAIR)
            pairs[:, 0] = x
            pairs[:, 1] = y
            pairs.tofile(tmp / name)
            files[key] = (name, len(x))
        other = b"".join(dumps([i, k, v]) + b"\n" for k, values in media.items() for i, v in values)
        (tmp / OTHER_NAME).write_bytes(other)
        state.other_bytes = len(other)
        write_json_atomic(tmp / INDEX_NAME, index_document(state, files, tail, **extra))
        old = parent / f".{directory.name}.{unique}.old"
        if directory.exists():
            os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _int(value: Any, default: int = 0) -> int:
    return value if type(value) is int else default
