"""Tail a growing JSONL file by byte offset: parse only appended, complete lines."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runview.store.jsonio import DECODE_ERRORS, loads


def parse_lines(block: bytes) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Parse complete JSONL lines: the objects, and the lines that were not a JSON object."""
    rows: list[dict[str, Any]] = []
    corrupt: list[bytes] = []
    append = rows.append
    for line in block.split(b"\n"):
        if not line or line.isspace():
            continue
        try:
            row = loads(line)
        except DECODE_ERRORS:
            corrupt.append(line)
            continue
        if type(row) is dict:
            append(row)
        else:
            corrupt.append(line)
    return rows, corrupt


@dataclass
class TailProblems:
    """What a tail skipped, for the viewer's status line."""

    corrupt_lines: int = 0
    restarts: int = 0  # the file shrank or was replaced, and was read again from the start
    last_error: str | None = None


class JsonlTail:
    """Reads new complete lines of one JSONL file; a torn last line waits until it is complete.

    Lines that are not a JSON object are skipped and counted, never fatal. The file may not
    exist yet; it is picked up when it appears. Nothing is ever written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.problems = TailProblems()
        self._partial = b""
        self._inode: tuple[int, int] | None = None
        # True when the last read_new() started the file over: its rows are from offset 0 and
        # whatever the caller built from earlier rows belongs to another file and must be dropped.
        self.restarted = False

    @property
    def identity(self) -> tuple[int, int] | None:
        """(device, inode) of the file the offset refers to; None before the first good read."""
        return self._inode

    def read_new(self, max_bytes: int | None = None) -> list[dict[str, Any]]:
        """Parse the complete lines appended since the last call (up to ``max_bytes`` of them)."""
        self.restarted = False
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                identity = (st.st_dev, st.st_ino)
                # A shorter file is a restart even before the first read (an offset adopted from
                # columns).
                if (
                    self._inode is not None and identity != self._inode
                ) or st.st_size < self.offset:
                    self.problems.restarts += 1
                    # Corrupt-line counts described the old file; `restarts` stays so the viewer
                    # says it.
                    self.problems.corrupt_lines = 0
                    self.offset, self._partial = 0, b""
                    self.restarted = True
                self._inode = identity
                if st.st_size <= self.offset:
                    return []
                fh.seek(self.offset)
                want = st.st_size - self.offset
                if max_bytes is not None:
                    want = min(want, max_bytes)
                data = fh.read(want)
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.problems.last_error = f"{self.path.name}: {exc.strerror or exc}"
            return []
        self.offset += len(data)
        data = self._partial + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self._partial = data
            return []
        self._partial = data[cut + 1 :]
        return self._parse(data[: cut + 1])

    @property
    def pending_bytes(self) -> int:
        """Bytes of a torn last line still waiting for its newline."""
        return len(self._partial)

    def _parse(self, block: bytes) -> list[dict[str, Any]]:
        rows, corrupt = parse_lines(block)
        self.problems.corrupt_lines += len(corrupt)
        return rows
