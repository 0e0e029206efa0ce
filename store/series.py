"""Columnar, append-only numeric series built from parsed JSONL rows, handed out as frozen views."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from itertools import chain
from types import MappingProxyType
from typing import Any

import numpy as np

from runview.store.format import FLOAT_TAG, decode_value

_INITIAL_CAPACITY = 256
_NUMERIC = (float, int, bool)
_NUMERIC_SET = frozenset(_NUMERIC)


def _grown(array: np.ndarray, n: int, need: int) -> np.ndarray:
    """A larger copy of ``array[:n]``: doubling while small, +25% past a million points."""
    size = len(array)
    step = size if size < (1 << 20) else size // 4
    grown = np.empty(max(need, size + max(step, _INITIAL_CAPACITY)), dtype=np.float64)
    grown[:n] = array[:n]
    return grown


class SeriesBuffer:
    """One metric: parallel float64 arrays of x (step or time) and value, grown on demand.

    Elements below ``n`` never change once a view of them was handed out: an overwrite (the same
    step logged twice) copies the values first, so older snapshots stay consistent. ``x`` may be
    shared with the table's index buffer (a key logged on every row has the same steps); a buffer
    whose x it does not own never writes into it.
    """

    __slots__ = ("lazy", "n", "own_x", "x", "y")

    def __init__(self) -> None:
        self.x = np.empty(_INITIAL_CAPACITY, dtype=np.float64)
        self.y = np.empty(_INITIAL_CAPACITY, dtype=np.float64)
        self.n = 0
        self.own_x = True
        self.lazy: Any = None

    @classmethod
    def from_arrays(cls, x: np.ndarray, y: np.ndarray, own_x: bool = True) -> SeriesBuffer:
        """Adopt loaded arrays as they are (exact capacity: the next append reallocates)."""
        buffer = cls.__new__(cls)
        buffer.x, buffer.y, buffer.n, buffer.own_x, buffer.lazy = x, y, len(x), own_x, None
        return buffer

    @classmethod
    def from_lazy(cls, lazy: Any) -> SeriesBuffer:
        """A loaded column not read yet (``column_reader.LazyColumn``): read on first ``view`` or
        ``extend``."""
        buffer = cls.__new__(cls)
        buffer.x = buffer.y = _NOT_READ
        buffer.n, buffer.own_x, buffer.lazy = len(lazy), False, lazy
        return buffer

    def materialize(self) -> None:
        """Read a lazily loaded column now (a no-op otherwise)."""
        lazy = self.lazy
        if lazy is not None:
            x, y = lazy.arrays()
            self.x, self.y, self.n, self.own_x = x, y, len(x), x is not lazy.index_x
            self.lazy = None

    def handout(self) -> Any:
        """What a snapshot holds: ``view()``, or the unread column (``SeriesMap`` reads it)."""
        return self.lazy if self.lazy is not None else self.view()

    def extend(self, xs: Any, ys: Any, shared_x: np.ndarray | None = None) -> None:
        """Append points; ``shared_x`` (already holding our x plus ``xs``) is adopted instead of
        copying."""
        if not len(xs):
            return
        self.materialize()
        if self.n and xs[0] == self.x[self.n - 1]:
            # Same step as our last point: the later value wins (rows at one step merge).
            self.y = self.y.copy()
            self.y[self.n - 1] = ys[0]
            xs, ys = xs[1:], ys[1:]
            if not len(xs):
                return
        need = self.n + len(xs)
        if shared_x is not None and len(shared_x) >= need:
            self.x, self.own_x = shared_x, False
        else:
            if need > len(self.x) or not self.own_x:
                self.x = _grown(self.x, self.n, need)
                self.own_x = True
            self.x[self.n : need] = xs
        if need > len(self.y) or self.y is self.x:
            self.y = _grown(self.y, self.n, need)
        self.y[self.n : need] = ys
        self.n = need

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        self.materialize()
        x = self.x[: self.n]
        y = self.y[: self.n]
        x.flags.writeable = False
        y.flags.writeable = False
        return x, y


_NOT_READ = np.empty(0, dtype=np.float64)


class SeriesMap(Mapping[str, tuple[np.ndarray, np.ndarray]]):
    """Key -> (x, y) as read-only arrays; a column loaded lazily is read on its first lookup.

    What a snapshot hands out, and what ``column_reader.load_columns`` returns. Immutable and safe
    to share across threads (a lazy column reads itself under its own lock). Iterating, ``len``,
    ``in`` and ``fingerprint`` read nothing.
    """

    __slots__ = ("_items",)

    def __init__(self, items: dict[str, Any]) -> None:
        self._items = items  # key -> (x, y) views, or a lazy column with a view() method

    def __getitem__(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        item = self._items[key]
        return item if type(item) is tuple else item.view()

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def unread(self, key: str) -> bool:
        """Whether ``key`` is a lazily loaded column not read yet (reading it takes time)."""
        item = self._items.get(key)
        return item is not None and type(item) is not tuple and not item.read

    def sampled(self, points: int) -> SeriesMap:
        """The same series, each unread column replaced by about ``points`` of its pairs spread
        over its length (``LazyColumn.sample``), read on first lookup. What charts show at once
        while the full columns load; series already in memory are handed out whole."""
        return SeriesMap(
            {
                key: item if type(item) is tuple or item.read else _Sample(item, points)
                for key, item in self._items.items()
            }
        )

    def raw(self, key: str) -> Any:
        """The (x, y) views, or the lazy column itself, without reading it."""
        return self._items[key]

    def fingerprint(self, key: str) -> tuple[int, bytes] | None:
        """(points, last value's bytes) of one series, reading nothing that is not read yet.

        What a chart compares to know whether its data changed: the UI thread calls it, so it
        must never pull a lazy column from disk.
        """
        item = self._items.get(key)
        if item is None:
            return None
        if type(item) is tuple:
            y = item[1]
            return y.size, y[-1:].tobytes()
        return item.fingerprint()

    def __repr__(self) -> str:
        return f"<SeriesMap of {len(self._items)} series>"


class _Sample:
    """A lazy column's sample, as a SeriesMap item: read on first ``view``."""

    __slots__ = ("column", "points")

    def __init__(self, column: Any, points: int) -> None:
        self.column, self.points = column, points

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.column.sample(self.points)

    def fingerprint(self) -> tuple[int, bytes]:
        return self.column.fingerprint()

    @property
    def read(self) -> bool:
        return self.column.read


@dataclass(frozen=True)
class SeriesSnapshot:
    """Every metric of one stream at one moment. Arrays are read-only: safe to share by threads."""

    # The big fields stay out of repr: Textual describes a worker by repr() of its arguments,
    # and printing a million-point series on the UI thread froze the Charts tab once.
    index_key: str
    series: SeriesMap = field(default_factory=lambda: SeriesMap({}), repr=False)
    # last value of every key, any type
    latest: Mapping[str, Any] = field(default_factory=dict, repr=False)
    media: Mapping[str, tuple[tuple[float, Any], ...]] = field(default_factory=dict, repr=False)
    rows: int = 0
    first_index: float | None = None
    last_index: float | None = None

    @property
    def keys(self) -> list[str]:
        return sorted(self.series)

    def sampled(self, points: int) -> SeriesSnapshot:
        """This snapshot with its unread columns sampled (``SeriesMap.sampled``)."""
        return replace(self, series=self.series.sampled(points))


@dataclass
class SplitRows:
    """Parsed rows taken apart into per-key columns (what ``split_rows`` returns)."""

    # key -> (x, y), same-x points merged (last wins)
    columns: dict[str, tuple[np.ndarray, np.ndarray]]
    latest: dict[str, Any]  # last value of each key in these rows (non-finite floats decoded)
    media: list[tuple[str, float, Any]]  # (key, index, value) of media values, in order
    taken: int = 0
    skipped: int = 0
    new_rows: int = 0  # rows whose index differs from the previous row's
    first_index: float | None = None
    last_index: float | None = None


def split_rows(
    rows: list[Mapping[str, Any]], index_key: str, last_index: float | None
) -> SplitRows:
    """Take parsed rows apart into float64 columns, vectorised for rows of plain numbers.

    Rows with the same keys in the same order form a group; a group whose values are all numbers
    or booleans becomes one numpy matrix in a single pass. Other groups (strings, nulls, media,
    ``$float`` objects) take a per-value path. Both the logger's column writer and the reader use
    this function, so the columns on disk and a parse of the JSONL agree exactly.
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    valid: list[Mapping[str, Any]] = []
    skipped = 0
    isfinite = math.isfinite
    for row in rows:
        index = row.get(index_key)
        if type(index) not in (int, float) or not isfinite(index):
            skipped += 1
            continue
        position = len(valid)
        valid.append(row)
        keys = tuple(row)
        group = groups.get(keys)
        if group is None:
            groups[keys] = [position]
        else:
            group.append(position)
    out = SplitRows({}, {}, [], taken=len(valid), skipped=skipped)
    if not valid:
        return out
    steps = [row[index_key] for row in valid]
    out.first_index = steps[0]
    out.last_index = steps[-1]
    new_rows = 0
    previous = last_index
    for step in steps:
        if step != previous:
            new_rows += 1
        previous = step
    out.new_rows = new_rows

    pieces: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    # by last row: later groups win `latest`
    ordered = sorted(groups.items(), key=lambda item: item[1][-1])
    for keys, positions in ordered:
        members = [valid[p] for p in positions]
        values = list(chain.from_iterable(row.values() for row in members))
        if set(map(type, values)) <= _NUMERIC_SET:
            matrix = np.fromiter(values, dtype=np.float64, count=len(values)).reshape(
                len(members), len(keys)
            )
            where = np.asarray(positions, dtype=np.int64)
            xs = matrix[:, keys.index(index_key)].copy()
            for column, key in enumerate(keys):
                pieces.setdefault(key, []).append((where, xs, matrix[:, column]))
            out.latest.update(members[-1])
        else:
            _split_slowly(keys, positions, members, index_key, pieces, out)
    media = out.media
    if len(groups) > 1 and media:
        media.sort(key=lambda item: item[3])  # type: ignore[misc]  # by row position, then drop it
    out.media = [(k, i, v) for k, i, v, *_ in media]
    for key, parts in pieces.items():
        if len(parts) == 1:
            _where, xs, ys = parts[0]
        else:
            where = np.concatenate([p[0] for p in parts])
            order = np.argsort(where, kind="stable")
            xs = np.concatenate([p[1] for p in parts])[order]
            ys = np.concatenate([p[2] for p in parts])[order]
        if len(xs) > 1:
            keep = np.empty(len(xs), dtype=bool)
            np.not_equal(xs[1:], xs[:-1], out=keep[:-1])
            keep[-1] = True
            if not keep.all():
                xs, ys = xs[keep], ys[keep]
        out.columns[key] = (np.ascontiguousarray(xs), np.ascontiguousarray(ys))
    return out


def _split_slowly(
    keys: tuple[str, ...],
    positions: list[int],
    members: list[Mapping[str, Any]],
    index_key: str,
    pieces: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]],
    out: SplitRows,
) -> None:
    lists: dict[str, tuple[list[int], list[float], list[float]]] = {}
    latest = out.latest
    for position, row in zip(positions, members):
        index = row[index_key]
        for key, value in row.items():
            kind = type(value)
            if kind is dict and FLOAT_TAG in value:
                value = decode_value(value)
                kind = type(value)
            if kind is float or kind is int or kind is bool:
                entry = lists.get(key)
                if entry is None:
                    entry = lists[key] = ([], [], [])
                entry[0].append(position)
                entry[1].append(index)
                entry[2].append(float(value))
            elif kind is dict and "_type" in value:
                out.media.append((key, index, value, position))  # type: ignore[arg-type]
            latest[key] = value
    for key, (where, xs, ys) in lists.items():
        pieces.setdefault(key, []).append(
            (
                np.asarray(where, dtype=np.int64),
                np.asarray(xs, dtype=np.float64),
                np.asarray(ys, dtype=np.float64),
            )
        )


class SeriesTable:
    """Accumulates rows keyed by ``index_key`` (``_step`` for history, ``_time`` for system)."""

    def __init__(self, index_key: str, max_media_per_key: int = 10_000) -> None:
        self.index_key = index_key
        self.buffers: dict[str, SeriesBuffer] = {}
        self.latest: dict[str, Any] = {}
        self.media: dict[str, list[tuple[float, Any]]] = {}
        self.rows = 0
        self.skipped_rows = 0
        self.first_index: float | None = None
        self.last_index: float | None = None
        self._max_media = max_media_per_key

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Add parsed rows; returns how many were taken (rows without a numeric index are not)."""
        split = split_rows(
            rows if isinstance(rows, list) else list(rows), self.index_key, self.last_index
        )
        self.skipped_rows += split.skipped
        if not split.taken:
            return 0
        self.rows += split.new_rows
        if self.first_index is None:
            self.first_index = float(split.first_index)  # type: ignore[arg-type]
        self.last_index = split.last_index
        self.latest.update(split.latest)
        for key, index, value in split.media:
            self._add_media(key, index, value)
        self.extend_columns(split.columns)
        return split.taken

    def extend_columns(self, columns: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Append per-key (x, y) arrays; keys whose x equals the index column's share its array."""
        for key in columns:
            buffer = self.buffers.get(key)
            if buffer is not None:
                buffer.materialize()
        index_buffer = self.buffers.get(self.index_key)
        index_x, index_n = (index_buffer.x, index_buffer.n) if index_buffer else (None, 0)
        index_xs = columns.get(self.index_key, (None, None))[0]
        if index_xs is not None:
            if index_buffer is None:
                index_buffer = self.buffers[self.index_key] = SeriesBuffer()
            index_buffer.extend(*columns[self.index_key])
        for key, (xs, ys) in columns.items():
            if key == self.index_key:
                continue
            buffer = self.buffers.get(key)
            if buffer is None:
                buffer = self.buffers[key] = SeriesBuffer()
            shared = None
            if (
                index_buffer is not None
                and index_xs is not None
                and buffer.n == index_n
                and (buffer.n == 0 or buffer.x is index_x)
                and len(xs) == len(index_xs)
                and np.array_equal(xs, index_xs)
            ):
                shared = index_buffer.x
            buffer.extend(xs, ys, shared_x=shared)

    def load(
        self,
        index_x: np.ndarray,
        columns: SeriesMap,
        latest: Mapping[str, Any],
        media: Iterable[tuple[str, float, Any]],
        rows: int,
        skipped_rows: int,
    ) -> None:
        """Bulk-load an empty table from columns read from disk (arrays are adopted, not copied).

        ``index_x`` holds the index of every row; a key whose x is the very same array shares it.
        Columns not read yet (``column_reader.LazyColumn``) are adopted unread, and read when a
        snapshot's series is looked up or new points arrive.
        """
        self.buffers = {self.index_key: SeriesBuffer.from_arrays(index_x, index_x)}
        for key in columns:
            if key == self.index_key:
                continue
            item = columns.raw(key)
            if type(item) is tuple:
                x, y = item
                self.buffers[key] = SeriesBuffer.from_arrays(x, y, own_x=x is not index_x)
            else:
                self.buffers[key] = SeriesBuffer.from_lazy(item)
        self.latest = dict(latest)
        self.media = {}
        for key, index, value in media:
            self._add_media(key, index, value)
        self.rows = rows
        self.skipped_rows = skipped_rows
        self.first_index = float(index_x[0]) if len(index_x) else None
        self.last_index = float(index_x[-1]) if len(index_x) else None

    def _add_media(self, key: str, index: float, value: Any) -> None:
        # One entry per step, in step order (steps never decrease): a ref logged again at the
        # same step replaces the earlier one, as any value would, so viewers need not dedupe.
        bucket = self.media.setdefault(key, [])
        if bucket and bucket[-1][0] == index:
            bucket[-1] = (index, value)
        elif len(bucket) < self._max_media:
            bucket.append((index, value))

    def snapshot(self) -> SeriesSnapshot:
        return SeriesSnapshot(
            index_key=self.index_key,
            series=SeriesMap(
                {k: b.handout() for k, b in self.buffers.items() if k != self.index_key}
            ),
            latest=MappingProxyType(dict(self.latest)),
            media=MappingProxyType({k: tuple(v) for k, v in self.media.items()}),
            rows=self.rows,
            first_index=self.first_index,
            last_index=self.last_index,
        )
