"""What a search and the traceback keys find in the log pane's lines, by line number, kept up to
date as lines arrive and old ones drop out of the window."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

TRACEBACK = "Traceback (most recent call last):"
MAX_SPANS_PER_LINE = 500  # "." on a long line: enough to see, bounded in memory

Span = tuple[int, int]  # [start, end) in a line's plain text
Position = tuple[int, int]  # (line number, index of the match in that line)


class LineMarks:
    """Matches of the search pattern and traceback starts in numbered lines.

    Line numbers are the console window's (they do not change when older lines drop), so a
    match the user is on stays the same match while the log grows.
    """

    def __init__(self) -> None:
        self.pattern: re.Pattern[str] | None = None
        self.spans: dict[int, tuple[Span, ...]] = {}
        self.match_lines: list[int] = []  # numbers of lines with a match, ascending
        self.total = 0
        self.tracebacks: list[int] = []  # numbers of lines that start a Python traceback

    def add(self, first: int, lines: Sequence[str]) -> None:
        """Index ``lines`` (plain text), numbered from ``first``, after the lines held."""
        for offset, line in enumerate(lines):
            number = first + offset
            if TRACEBACK in line:
                self.tracebacks.append(number)
            if self.pattern is not None:
                self._search(number, line)

    def _search(self, number: int, line: str) -> None:
        assert self.pattern is not None
        spans: list[Span] = []
        for found in self.pattern.finditer(line):
            if found.end() > found.start():  # an empty match marks nothing
                spans.append(found.span())
                if len(spans) == MAX_SPANS_PER_LINE:
                    break
        if spans:
            self.spans[number] = tuple(spans)
            self.match_lines.append(number)
            self.total += len(spans)

    def drop_before(self, number: int) -> None:
        """Forget lines numbered below ``number`` (they left the window)."""
        cut = bisect_left(self.match_lines, number)
        for line in self.match_lines[:cut]:
            self.total -= len(self.spans.pop(line))
        del self.match_lines[:cut]
        del self.tracebacks[: bisect_left(self.tracebacks, number)]

    def drop_from(self, number: int) -> None:
        """Forget lines numbered ``number`` and above (a partial last line is read again)."""
        cut = bisect_left(self.match_lines, number)
        for line in self.match_lines[cut:]:
            self.total -= len(self.spans.pop(line))
        del self.match_lines[cut:]
        del self.tracebacks[bisect_left(self.tracebacks, number) :]

    def reset(self, first: int, lines: Sequence[str]) -> None:
        """Index ``lines`` from scratch (the window started over)."""
        self.spans, self.match_lines, self.total, self.tracebacks = {}, [], 0, []
        self.add(first, lines)

    def set_pattern(
        self, pattern: re.Pattern[str] | None, first: int, lines: Sequence[str]
    ) -> None:
        """Search ``lines`` (numbered from ``first``) for ``pattern``; None clears the search."""
        self.pattern = pattern
        self.reset(first, lines)

    # -- moving between matches -----------------------------------------------------------------
    def ordinal(self, position: Position) -> int:
        """1 for the first match held, ``total`` for the last."""
        line, index = position
        before = bisect_left(self.match_lines, line)
        return sum(len(self.spans[n]) for n in self.match_lines[:before]) + index + 1

    def has(self, position: Position | None) -> bool:
        return position is not None and position[1] < len(self.spans.get(position[0], ()))

    def step(self, position: Position, forward: bool) -> tuple[Position, bool] | None:
        """The match after (or before) ``position``, and whether the search wrapped around."""
        if not self.match_lines:
            return None
        line, index = position
        count = len(self.spans.get(line, ()))
        if forward:
            if index + 1 < count:
                return (line, index + 1), False
            after = bisect_right(self.match_lines, line)
            if after < len(self.match_lines):
                return (self.match_lines[after], 0), False
            return (self.match_lines[0], 0), True
        if 0 < index <= count:
            return (line, index - 1), False
        before = bisect_left(self.match_lines, line) - 1
        wrapped = before < 0
        target = self.match_lines[before]  # -1: the last line, having wrapped
        return (target, len(self.spans[target]) - 1), wrapped

    def nearest(self, line: int, forward: bool) -> Position | None:
        """The first match on or after ``line`` (forward), else the last on or before it; the
        other way when there is none that way."""
        if not self.match_lines:
            return None
        after = bisect_left(self.match_lines, line)
        before = bisect_right(self.match_lines, line) - 1
        if forward:
            target = self.match_lines[after] if after < len(self.match_lines) else None
            if target is not None:
                return target, 0
            target = self.match_lines[before]
            return target, len(self.spans[target]) - 1
        target = self.match_lines[before] if before >= 0 else self.match_lines[after]
        return target, (len(self.spans[target]) - 1 if before >= 0 else 0)

    def traceback_after(self, line: int, forward: bool) -> int | None:
        """The first traceback start below ``line`` (forward), or the last above it."""
        if forward:
            after = bisect_right(self.tracebacks, line)
            return self.tracebacks[after] if after < len(self.tracebacks) else None
        before = bisect_left(self.tracebacks, line) - 1
        return self.tracebacks[before] if before >= 0 else None
