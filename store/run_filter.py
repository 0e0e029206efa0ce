"""The run table's filter line: space-separated terms, every one of which a row must satisfy.

* a bare word is a case-insensitive regex searched in the run's name and tags (text that is not a
  valid regex is searched for as it is, and the filter says so);
* ``KEY OP VALUE`` with ``= != < <= > >=`` compares a config value, else a summary value, else one
  of the row's own fields (``name project host id state runtime``): numbers as numbers, ``true`` /
  ``false`` / ``null`` as themselves, ``nan`` matches NaN, other text case-insensitively; spaces
  around the operator are allowed; a run without the key never matches;
* ``tag:X`` matches a tag exactly, ``state:X`` the status (``state:failed,crashed``: either; the
  start of a state is enough: ``state:fail``);
* quotes (``"..."`` or ``'...'``) keep spaces, ``:`` and operators inside one key or value.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runview.store import format as fmt
from runview.store.run_row import STATE_DELETED, RunRow

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "!=": operator.ne,
    "=": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}
STATES = (
    fmt.STATE_RUNNING,
    fmt.STATE_FINISHED,
    fmt.STATE_FAILED,
    fmt.STATE_CRASHED,
    "unknown",
    STATE_DELETED,
)
FIELDS: dict[str, Callable[[RunRow], Any]] = {
    "name": lambda row: row.name,
    "project": lambda row: row.project,
    "host": lambda row: row.host,
    "id": lambda row: row.run_id,
    "state": lambda row: row.state,
    "runtime": lambda row: row.runtime(),
}
_TOKEN = re.compile(r"\s+|<=|>=|!=|==|=|<|>|\"[^\"]*\"?|'[^']*'?|[^\s<>=!\"']+|!")


class FilterError(ValueError):
    """The text is not a filter; the message says where and why, in one line."""


@dataclass(frozen=True)
class _Token:
    text: str  # without quotes
    kind: str  # "word", "quoted", "op" or "space"


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for match in _TOKEN.finditer(text):
        raw = match.group()
        if raw.isspace():
            out.append(_Token(raw, "space"))
        elif raw in OPERATORS or raw == "==":
            out.append(_Token("=" if raw == "==" else raw, "op"))
        elif raw == "!":
            raise FilterError("'!' only in !=")
        elif raw[0] in "\"'":
            if len(raw) < 2 or raw[-1] != raw[0]:
                raise FilterError(f"{raw}: the quote is not closed")
            out.append(_Token(raw[1:-1], "quoted"))
        else:
            out.append(_Token(raw, "word"))
    return out


@dataclass(frozen=True)
class Term:
    """One condition; ``text`` is how the user wrote it."""

    text: str

    def matches(self, row: RunRow) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class NameMatch(Term):
    pattern: re.Pattern[str]

    def matches(self, row: RunRow) -> bool:
        search = self.pattern.search
        return bool(search(row.name)) or any(search(tag) for tag in row.tags)


@dataclass(frozen=True)
class TagIs(Term):
    tags: frozenset[str]  # casefolded

    def matches(self, row: RunRow) -> bool:
        return any(tag.casefold() in self.tags for tag in row.tags)


@dataclass(frozen=True)
class StateIs(Term):
    states: frozenset[str]

    def matches(self, row: RunRow) -> bool:
        return row.state in self.states


@dataclass(frozen=True)
class Compare(Term):
    key: str
    op: str
    value: Any  # a float, bool, None, NaN, or casefolded text
    numeric: bool  # the value is a number (compare runs' values as numbers)

    def matches(self, row: RunRow) -> bool:
        if self.key in row.config:
            found = row.config[self.key]
        elif self.key in row.summary:
            found = row.summary[self.key]
        elif self.key in FIELDS:
            found = FIELDS[self.key](row)
        else:
            return False
        return compare(found, self.op, self.value, self.numeric)


def compare(found: Any, op: str, value: Any, numeric: bool) -> bool:
    """``found OP value`` as the filter means it (see the module docstring)."""
    test = OPERATORS[op]
    if value is None or type(value) is bool:
        if op not in ("=", "!="):
            return False
        same = found is value if value is None else type(found) is bool and found is value
        return same if op == "=" else not same
    if numeric:
        number = as_number(found)
        if number is None:
            return False
        if math.isnan(value):  # "= nan" finds diverged runs; "!= nan" the others
            return math.isnan(number) if op == "=" else (op == "!=" and not math.isnan(number))
        return test(number, value)
    if found is None or type(found) is bool:
        found = "null" if found is None else str(found).lower()
    return test(str(found).casefold(), value)


def as_number(value: Any) -> float | None:
    """A run's value as a number: numbers, booleans (0/1) and numeric text; else None."""
    if type(value) in (int, float, bool):
        return float(value)
    if type(value) is str:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _value(token: _Token) -> tuple[Any, bool]:
    """(value, numeric) of a written VALUE; quoted text is always text."""
    text = token.text
    if token.kind == "word":
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true", False
        if lowered in ("null", "none"):
            return None, False
        try:
            return float(text), True
        except ValueError:
            pass
    return text.casefold(), False


@dataclass(frozen=True)
class RunFilter:
    """A parsed filter line. ``notes`` say what was read differently from how it was written."""

    text: str = ""
    terms: tuple[Term, ...] = ()
    notes: tuple[str, ...] = ()

    def matches(self, row: RunRow) -> bool:
        return all(term.matches(row) for term in self.terms)

    def __bool__(self) -> bool:
        return bool(self.terms)


def _joined(tokens: list[_Token]) -> list[_Token]:
    """Tokens with nothing between them are one (``tag:"two words"``); spaces dropped."""
    out: list[_Token] = []
    glued = False
    for token in tokens:
        if token.kind == "space":
            glued = False
            continue
        if glued and token.kind != "op" and out and out[-1].kind != "op":
            out[-1] = _Token(out[-1].text + token.text, out[-1].kind)
        else:
            out.append(token)
        glued = True
    return out


def parse_filter(text: str) -> RunFilter:
    """The filter written as ``text``; FilterError when it is not one (it may be half typed)."""
    terms: list[Term] = []
    notes: list[str] = []
    parts = _joined(_tokens(text))
    i = 0
    while i < len(parts):
        token = parts[i]
        if token.kind == "op":
            written = f"{token.text}{_next(parts, i)}"
            raise FilterError(f"{written}: a key is missing before {token.text}")
        if i + 1 < len(parts) and parts[i + 1].kind == "op":
            op = parts[i + 1].text
            if i + 2 >= len(parts) or parts[i + 2].kind == "op":
                raise FilterError(f"{_shown(token)}{op}: a value is missing after {op}")
            value_token = parts[i + 2]
            value, numeric = _value(value_token)
            shown = f"{_shown(token)}{op}{_shown(value_token)}"
            terms.append(Compare(shown, token.text, op, value, numeric))
            i += 3
            continue
        terms.append(_single(token, notes))
        i += 1
    return RunFilter(text, tuple(terms), tuple(notes))


def _single(token: _Token, notes: list[str]) -> Term:
    text = token.text
    if token.kind == "word":
        prefix, colon, rest = text.partition(":")
        if colon and prefix.lower() == "tag":
            tags = frozenset(t.casefold() for t in rest.split(",") if t)
            if not tags:
                raise FilterError("tag: needs a tag (tag:baseline)")
            return TagIs(text, tags)
        if colon and prefix.lower() in ("state", "status"):
            # Each a state or the start of one: state:fail, state:run
            wanted = [w.lower() for w in rest.split(",") if w]
            states = frozenset(state for state in STATES for w in wanted if state.startswith(w))
            if not wanted or any(not any(s.startswith(w) for s in STATES) for w in wanted):
                raise FilterError(f"{text}: states are {', '.join(STATES)}")
            return StateIs(text, states)
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except re.error:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
        notes.append(f"{text}: not a regex, matched as text")
    return NameMatch(_shown(token), pattern)


def _shown(token: _Token) -> str:
    return f'"{token.text}"' if token.kind == "quoted" else token.text


def _next(parts: list[_Token], i: int) -> str:
    return _shown(parts[i + 1]) if i + 1 < len(parts) else ""
