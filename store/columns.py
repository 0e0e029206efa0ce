"""The layout of ``columns/``, the disposable columnar copy of history.jsonl (docs/run-format.md).

One file of little-endian float64 ``(step, value)`` pairs per numeric key, media references in
``other.jsonl``, and ``index.json`` (replaced atomically) saying how much of each file and of the
JSONL they cover. Files are written before the index that counts them, so a reader that trusts
only the counts in the index never sees a torn point. Writers: ``column_writer`` (the run's own
``columns/``) and ``column_cache`` (the viewer's cache); the reader: ``column_reader``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runview.store import format as fmt

VERSION = 1
INDEX_NAME = "index.json"
OTHER_NAME = "other.jsonl"
PAIR_BYTES = 16
# the index keeps the JSONL bytes just before source_offset, to detect a replaced file
TAIL_CHECK_BYTES = 64


def encode_latest(latest: Mapping[str, Any]) -> dict[str, Any]:
    """Latest values as format-v1 JSON (non-finite floats spelled as ``{"$float": ...}``)."""
    return {
        k: fmt.encode_nonfinite(v) if type(v) is float and not math.isfinite(v) else v
        for k, v in latest.items()
    }


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
