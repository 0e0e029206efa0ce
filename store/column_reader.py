"""Load a ``columns/`` folder (the run's own or a cache entry) without parsing: validated, lazy."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runview.store import format as fmt
from runview.store.columns import INDEX_NAME, OTHER_NAME, PAIR_BYTES, TAIL_CHECK_BYTES, VERSION
from runview.store.jsonio import DECODE_ERRORS, as_object, loads
from runview.store.series import SeriesMap

PAIR = np.dtype("<f8")


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
    columns: SeriesMap  # key -> (x, y); each a LazyColumn, read on first lookup
    latest: dict[str, Any]
    media: list[tuple[str, float, Any]]
    rows: int
    skipped_rows: int
    corrupt_lines: int


# more keys than this are read at open: each lazy column holds a file descriptor
LAZY_MAX_FILES = 256
_CHUNK_PAIRS = 1 << 16  # columns are read through a 1 MiB buffer, straight into their final arrays
# Neighbouring pairs per read of a sample (``LazyColumn.sample``): 4096 points in 256 reads. Each
# read lets the UI thread take the interpreter, and waiting for it back is what a sample costs
# beside a busy UI (nine columns in 512 reads of 8: ~55-85 ms; in 256 of 16: ~40 ms).
SAMPLE_WINDOW = 16


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
    columns: dict[str, LazyColumn] = {}
    try:
        for key, (name, count) in entries.items():
            column = LazyColumn(index.dir, name, count, index_x)
            if len(entries) > LAZY_MAX_FILES:
                column.arrays()
            columns[key] = column
    except BaseException:
        for column in columns.values():
            column.close()
        raise
    return LoadedColumns(
        source_offset=index.source_offset,
        index_x=index_x,
        columns=SeriesMap(columns),
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
        "count",
        "index_x",
        "name",
    )

    def __init__(self, directory: Path, name: str, count: int, index_x: np.ndarray | None) -> None:
        self.name, self.count, self.index_x = name, count, index_x
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
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
        """(x, y), read-only, read now if not yet; x is ``index_x`` itself when equal to it."""
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
        """What a snapshot hands out: ``arrays()``, which are read-only from the start."""
        return self.arrays()

    def close(self) -> None:
        self._close()

    @property
    def read(self) -> bool:
        """Whether ``arrays()`` has read the column (then it costs nothing more)."""
        return self._arrays is not None

    def sample(self, points: int) -> tuple[np.ndarray, np.ndarray]:
        """About ``points`` pairs spread evenly over the column, read without reading the rest.

        What a chart draws while its column loads: windows of ``SAMPLE_WINDOW`` neighbouring
        pairs (one ``pread`` each), the first and the last pair included. A spike between two
        windows is missed, so a sample is shown marked as partial. The whole column when it is
        already read or not much longer than ``points``.
        """
        count = self.count
        windows = max(2, points // SAMPLE_WINDOW)
        if count <= 2 * windows * SAMPLE_WINDOW:
            return self.arrays()
        starts = np.linspace(0, count - 1 - SAMPLE_WINDOW, windows).astype(np.int64).tolist()
        pairs = np.empty((windows * SAMPLE_WINDOW + 1, 2), dtype=PAIR)
        with self._lock:
            if self._arrays is not None:
                return self._arrays
            got = 0
            for start in starts:
                window = memoryview(pairs[got : got + SAMPLE_WINDOW]).cast("B")
                read = os.preadv(self._fd, [window], start * PAIR_BYTES) // PAIR_BYTES
                got += read
                if read < SAMPLE_WINDOW:
                    raise ColumnsUnusable(f"{self.name} shrank after it was opened")
        pairs[got] = np.frombuffer(self._last, dtype=PAIR)  # the last pair, as read at load
        x, y = pairs[: got + 1, 0].copy(), pairs[: got + 1, 1].copy()
        x.flags.writeable = False
        y.flags.writeable = False
        return x, y

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
        # Handed to snapshots as they are (SeriesBuffer never writes into an array it adopted).
        x.flags.writeable = False
        y.flags.writeable = False
        return x, y


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


def _int(value: Any, default: int = 0) -> int:
    return value if type(value) is int else default
