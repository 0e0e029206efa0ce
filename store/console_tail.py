"""Tail a run's console.log: the last N lines, read backwards from the end, then by offset.

The file holds the raw bytes a training process wrote to its terminal, so it may be huge,
hold invalid UTF-8 or binary garbage, end in a torn line, or be truncated or replaced while
we watch. ``ConsoleTail`` never reads the whole file: the first refresh scans backwards from
the end until it has ``max_lines`` complete lines (toolong's scan-backwards idea), later ones
read only the appended bytes. Memory is bounded by ``max_lines`` lines of at most
``MAX_LINE_CHARS`` characters. Lines keep their escape sequences; sanitising is the viewer's job.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections import deque
from dataclasses import dataclass
from pathlib import Path

SCAN_CHUNK = 64 * 1024  # backwards scan step
READ_CHUNK = 1024 * 1024  # forward read step
MAX_SCAN_BYTES = 16 * 1024 * 1024  # never scan further back than this for the first window
JUMP_BYTES = 16 * 1024 * 1024  # an append bigger than this is read from the end instead
MAX_LINE_CHARS = 4096  # longer lines are cut (the pager shows them whole)
CUT_MARK = "…"

# Escape sequences are zero-width when collapsing "\r": CSI (7-bit), or ESC + one more char.
_ESCAPE = re.compile(r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?|\x1b[^\[]?")
_ERASE_TO_END = ("\x1b[K", "\x1b[0K")
_ERASE_LINE = "\x1b[2K"


@dataclass(frozen=True)
class ConsoleSnapshot:
    """The console window at one moment. Never mutated after creation.

    ``lines`` are decoded (invalid UTF-8 replaced) with ``\\r`` collapsed, escape sequences
    still inside. ``first_line`` numbers ``lines[0]`` within ``epoch``: the epoch changes when
    the window was re-read from the end (first read, truncation, replacement, a huge jump),
    so a view can append only the lines after the ones it has while the epoch stays the same.
    ``partial`` means the last line has no newline yet and may still change.
    """

    lines: tuple[str, ...] = ()
    total_bytes: int = 0
    dropped_before: bool = False
    error: str | None = None
    generation: int = 0
    exists: bool = False
    epoch: int = 0
    first_line: int = 0
    partial: bool = False
    restarts: int = 0


def collapse_cr(line: str) -> str:
    """Apply carriage returns as a terminal would: later text overwrites from column 0.

    Escape sequences take no columns; erase-in-line (``ESC[K``, ``ESC[2K``) clears as a
    terminal would. ``\\r`` right before the end (``\\r\\n`` split) changes nothing.
    """
    if "\r" not in line:
        return line
    segments = line.split("\r")
    while len(segments) > 1 and not segments[-1]:
        segments.pop()
    if len(segments) == 1:
        return segments[0]
    last = segments[-1]
    if "\x1b[" not in line or not any(code in line for code in (*_ERASE_TO_END, _ERASE_LINE)):
        # Common case (tqdm): the last frame is at least as wide as every earlier one.
        width = _visible_len(last)
        if all(_visible_len(seg) <= width for seg in segments[:-1]):
            return last
    line = _Screen()
    for segment in segments:
        line.write(segment)
    return line.text()


def _visible_len(segment: str) -> int:
    return len(_ESCAPE.sub("", segment)) if "\x1b" in segment else len(segment)


class _Screen:
    """One terminal row: a cell per character, each cell carrying the escape codes before it."""

    def __init__(self) -> None:
        self.cells: list[str] = []
        self.trail = ""  # codes after the last cell (a colour reset)

    def text(self) -> str:
        return "".join(self.cells) + self.trail

    def write(self, segment: str) -> None:
        """Write ``segment`` from column 0, as after a carriage return."""
        cursor, escapes, pos = 0, "", 0
        for match in _ESCAPE.finditer(segment):
            if match.start() > pos:
                cursor = self._put(cursor, escapes, segment[pos : match.start()])
                escapes = ""
            code, pos = match.group(), match.end()
            if code in _ERASE_TO_END:
                del self.cells[cursor:]
            elif code == _ERASE_LINE:
                self.cells[:] = [" "] * min(cursor, len(self.cells))
            else:
                escapes += code
        if pos < len(segment):
            cursor = self._put(cursor, escapes, segment[pos:])
            escapes = ""
        if escapes:
            self._carry(cursor, escapes)

    def _put(self, cursor: int, escapes: str, text: str) -> int:
        cells = list(text)
        cells[0] = escapes + cells[0]
        end = cursor + len(cells)
        # Codes on overwritten cells still set the style of the cells after them.
        carried = "".join(cell[:-1] for cell in self.cells[cursor:end] if len(cell) > 1)
        self.cells[cursor:end] = cells
        if carried:
            self._carry(end, carried)
        return end

    def _carry(self, cursor: int, codes: str) -> None:
        if cursor < len(self.cells):
            self.cells[cursor] = codes + self.cells[cursor]
        else:
            self.trail += codes


class ConsoleTail:
    """The last ``max_lines`` lines of a growing console log. Not thread-safe: one worker owns it.

    Nothing is ever written; the file may be missing (an empty window), unreadable (an error
    in the snapshot), or replaced at any time (read again from the end).
    """

    def __init__(self, path: Path, max_lines: int = 1000) -> None:
        self.path = Path(path)
        self.max_lines = max(1, max_lines)
        self.bytes_read = 0  # everything read from disk so far: tests check the tail stays small
        self._lines: deque[str] = deque(maxlen=self.max_lines)
        self._next_line = 0  # number (within the epoch) of the next complete line
        self._partial = ""  # the unterminated last line, "\r"-compacted
        self._partial_cut = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._identity: tuple[int, int] | None = None
        self._offset = 0
        self._size = 0
        self._epoch = 0
        self._scan_cut = False  # the first window starts after older lines
        self._restarts = 0
        self._error: str | None = None
        self._generation = 0
        self._snapshot: ConsoleSnapshot | None = None

    def refresh(self) -> bool:
        """Read what changed since the last call; True when the window or its status changed."""
        before = (self._generation, self._error, self._size, self._identity)
        try:
            self._read()
        except OSError as exc:
            self._error = f"{self.path.name}: {exc.strerror or exc}"
        changed = (self._generation, self._error, self._size, self._identity) != before
        if changed:
            self._generation += 1
            self._snapshot = None
        return changed

    def snapshot(self) -> ConsoleSnapshot:
        """An immutable copy of the window (cached until the next change)."""
        if self._snapshot is None:
            lines = list(self._lines)
            first = self._next_line - len(lines)
            partial = bool(self._partial)
            if partial:
                if len(lines) == self.max_lines:
                    lines.pop(0)
                    first += 1
                lines.append(_finish(self._partial, self._partial_cut))
            self._snapshot = ConsoleSnapshot(
                lines=tuple(lines),
                total_bytes=self._size,
                dropped_before=self._scan_cut or first > 0,
                error=self._error,
                generation=self._generation,
                exists=self._identity is not None,
                epoch=self._epoch,
                first_line=first,
                partial=partial,
                restarts=self._restarts,
            )
        return self._snapshot

    def _read(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            if self._identity is not None:
                self._clear()
                self._identity, self._size = None, 0
            self._error = None
            return
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(0, "not a regular file; not read")
            identity = (st.st_dev, st.st_ino)
            size = st.st_size
            if identity != self._identity or size < self._offset:
                if self._identity is not None:
                    self._restarts += 1
                self._load_end(fd, size)
            elif size - self._offset > JUMP_BYTES:
                self._load_end(fd, size)
            elif size > self._offset:
                self._read_forward(fd, self._offset, size)
            self._identity, self._size, self._error = identity, size, None
        finally:
            os.close(fd)

    def _clear(self) -> None:
        self._lines.clear()
        self._partial, self._partial_cut = "", False
        self._decoder.reset()
        self._next_line = 0
        self._offset = 0
        self._epoch += 1
        self._generation += 1

    def _load_end(self, fd: int, size: int) -> None:
        """Start a new window: the last ``max_lines`` complete lines before ``size``."""
        self._clear()
        start = self._find_start(fd, size)
        self._scan_cut = start > 0
        self._read_forward(fd, start, size)

    def _find_start(self, fd: int, size: int) -> int:
        """Offset of the first of the last ``max_lines`` complete lines, scanning backwards."""
        need = self.max_lines + 1  # the newline before that line
        pos, seen, first_newline = size, 0, -1
        limit = max(0, size - MAX_SCAN_BYTES)
        while pos > limit:
            step = min(SCAN_CHUNK, pos - limit)
            pos -= step
            chunk = self._pread(fd, pos, step)
            count = chunk.count(b"\n")
            if seen + count >= need:
                end = len(chunk)
                for _ in range(need - seen):
                    end = chunk.rindex(b"\n", 0, end)
                return pos + end + 1
            if count:
                first_newline = pos + chunk.index(b"\n")
            seen += count
        if pos == 0:
            return 0
        return first_newline + 1 if first_newline >= 0 else pos

    def _read_forward(self, fd: int, start: int, end: int) -> None:
        pos = start
        while pos < end:
            step = min(READ_CHUNK, end - pos)
            data = self._pread(fd, pos, step)
            if not data:
                break
            pos += len(data)
            self._feed(data)
        self._offset = pos
        self._generation += 1

    def _pread(self, fd: int, pos: int, size: int) -> bytes:
        data = os.pread(fd, size, pos)
        self.bytes_read += len(data)
        return data

    def _feed(self, data: bytes) -> None:
        parts = self._decoder.decode(data).split("\n")
        if len(parts) == 1:
            self._set_partial(self._partial + parts[0])
            return
        complete = parts[:-1]
        complete[0] = self._partial + complete[0]
        first_cut, self._partial, self._partial_cut = self._partial_cut, "", False
        # lines that would fall out of the window anyway
        skip = max(0, len(complete) - self.max_lines)
        self._next_line += skip
        for i in range(skip, len(complete)):
            self._push(complete[i], first_cut and i == 0)
        self._set_partial(parts[-1])

    def _push(self, line: str, cut: bool) -> None:
        if line.endswith("\r"):
            line = line[:-1]
        line, cut = _compact(line, cut)
        self._lines.append(_finish(line, cut))
        self._next_line += 1

    def _set_partial(self, text: str) -> None:
        self._partial, self._partial_cut = _compact(text, self._partial_cut)


def _compact(text: str, cut: bool) -> tuple[str, bool]:
    """Bound a line being assembled: collapse all but its last "\\r" and cut over-long parts."""
    last = text.rfind("\r")
    if last > 0 and "\r" in text[:last]:
        text = collapse_cr(text[:last]) + text[last:]
    if len(text) > 2 * MAX_LINE_CHARS + 1:
        head, sep, tail = text.partition("\r")
        text = head[:MAX_LINE_CHARS] + sep + tail[:MAX_LINE_CHARS]
        cut = True
    return text, cut


def _finish(line: str, cut: bool) -> str:
    """The line as shown: carriage returns applied, cut to ``MAX_LINE_CHARS`` with a mark."""
    line = collapse_cr(line)
    if len(line) > MAX_LINE_CHARS:
        line, cut = line[:MAX_LINE_CHARS], True
    return line + CUT_MARK if cut else line
