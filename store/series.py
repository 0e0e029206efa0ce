"""Columnar, append-only numeric series built from parsed JSONL rows, handed out as frozen views."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from runview.store.format import FLOAT_TAG, decode_value

_INITIAL_CAPACITY = 256


class SeriesBuffer:
    """One metric: parallel float64 arrays of x (step or time) and value, grown by doubling.

    Elements below ``n`` never change once a view of them was handed out: an overwrite (the same
    step logged twice) copies the arrays first, so older snapshots stay consistent.
    """

    __slots__ = ("x", "y", "n")

    def __init__(self) -> None:
        self.x = np.empty(_INITIAL_CAPACITY, dtype=np.float64)
        self.y = np.empty(_INITIAL_CAPACITY, dtype=np.float64)
        self.n = 0

    def extend(self, xs: list[float], ys: list[float]) -> None:
        if not xs:
            return
        if self.n and xs[0] == self.x[self.n - 1]:
            # Same step as our last point: the later value wins (rows at one step merge).
            self.x, self.y = self.x.copy(), self.y.copy()
            self.y[self.n - 1] = ys[0]
            xs, ys = xs[1:], ys[1:]
            if not xs:
                return
        need = self.n + len(xs)
        if need > len(self.x):
            capacity = max(need, 2 * len(self.x))
            x = np.empty(capacity, dtype=np.float64)
            y = np.empty(capacity, dtype=np.float64)
            x[: self.n] = self.x[: self.n]
            y[: self.n] = self.y[: self.n]
            self.x, self.y = x, y
        self.x[self.n : need] = xs
        self.y[self.n : need] = ys
        self.n = need

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        x = self.x[: self.n]
        y = self.y[: self.n]
        x.flags.writeable = False
        y.flags.writeable = False
        return x, y


@dataclass(frozen=True)
class SeriesSnapshot:
    """Every metric of one stream at one moment. Arrays are read-only; safe to share across threads."""

    index_key: str
    series: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    latest: Mapping[str, Any] = field(default_factory=dict)  # last value of every key, any type
    media: Mapping[str, tuple[tuple[float, Any], ...]] = field(default_factory=dict)
    rows: int = 0
    first_index: float | None = None
    last_index: float | None = None

    @property
    def keys(self) -> list[str]:
        return sorted(self.series)

    def get(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        return self.series.get(key)


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
        """Add parsed rows; returns how many were taken (rows without a numeric index are skipped)."""
        index_key = self.index_key
        pending: dict[str, tuple[list[float], list[float]]] = {}
        latest = self.latest
        taken = 0
        last_index = self.last_index
        for row in rows:
            index = row.get(index_key)
            if type(index) not in (int, float) or not math.isfinite(index):
                self.skipped_rows += 1
                continue
            taken += 1
            if index != last_index:
                self.rows += 1
            last_index = index
            for key, value in row.items():
                kind = type(value)
                if kind is dict and FLOAT_TAG in value:
                    value = decode_value(value)
                    kind = float
                if kind is float or kind is int or kind is bool:
                    lists = pending.get(key)
                    if lists is None:
                        lists = pending[key] = ([], [])
                    xs, ys = lists
                    if xs and xs[-1] == index:
                        ys[-1] = float(value)
                    else:
                        xs.append(index)
                        ys.append(float(value))
                elif kind is dict and "_type" in value:
                    bucket = self.media.setdefault(key, [])
                    if len(bucket) < self._max_media:
                        bucket.append((index, value))
                latest[key] = value
        if taken:
            if self.first_index is None:
                for row in rows if isinstance(rows, list) else ():
                    if type(row.get(index_key)) in (int, float):
                        self.first_index = float(row[index_key])
                        break
            self.last_index = last_index
        for key, (xs, ys) in pending.items():
            buffer = self.buffers.get(key)
            if buffer is None:
                buffer = self.buffers[key] = SeriesBuffer()
            buffer.extend(xs, ys)
        return taken

    def snapshot(self) -> SeriesSnapshot:
        return SeriesSnapshot(
            index_key=self.index_key,
            series=MappingProxyType({k: b.view() for k, b in self.buffers.items() if k != self.index_key}),
            latest=MappingProxyType(dict(self.latest)),
            media=MappingProxyType({k: tuple(v) for k, v in self.media.items()}),
            rows=self.rows,
            first_index=self.first_index,
            last_index=self.last_index,
        )
