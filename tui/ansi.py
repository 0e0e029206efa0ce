"""Make logged text safe to show: keep SGR colours, neutralise every other control sequence.

A training process's console output may hold anything: cursor moves, screen clears, window
titles (OSC 0/2), clipboard writes (OSC 52), device control strings, 8-bit C1 controls. None
of it may reach the user's terminal. Only ``ESC [ params m`` (SGR: colours and attributes)
survives; everything else is removed, and backspace is applied to the text before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.text import Text

TAB_SIZE = 8

# One pass, left to right; every ESC and every C0/C1 control starts some alternative, so
# nothing but SGR can survive and removals cannot splice a new sequence together.
_SEQUENCE = re.compile(
    r"""
    (?P<sgr>\x1b\[[0-9;:]{0,64}m)                                   # SGR: kept
    | (?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?           # any other CSI, 7- or 8-bit
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)  # OSC DCS SOS PM APC
    | \x1b[\x20-\x2f]*[\x30-\x7e]?                                  # other escapes, or a lone ESC
    | (?P<bs>\x08)                                                  # backspace: applied below
    | [\x00-\x07\x09-\x1f\x7f-\x9f]                                 # C0 (tab handled), DEL, C1
    """,
    re.VERBOSE | re.DOTALL,
)
# The same for a block of whole lines (no "\r", no backspace): strings end at a newline.
_BLOCK_SEQUENCE = re.compile(
    r"""
    (?P<sgr>\x1b\[[0-9;:]{0,64}m)
    | (?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\n]*?(?:\x07|\x1b\\|\x9c|(?=\n)|\Z)
    | \x1b[\x20-\x2f]*[\x30-\x7e]?
    | [\x00-\x08\x0b-\x1f\x7f-\x9f]
    """,
    re.VERBOSE,
)
_SGR = re.compile(r"\x1b\[[0-9;:]{0,64}m")
_CONTROL_BUT_ESC = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]")
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # anything that needs the slow path
_TAB = "\t"


def clean_block(block: str) -> str:
    """Like ``clean`` for many lines at once; ``block`` must hold no "\\r" and no backspace."""
    if not _CONTROL_BUT_ESC.search(block) and block.count("\x1b") == len(_SGR.findall(block)):
        return block  # colours only (the usual coloured log): nothing to remove
    return _BLOCK_SEQUENCE.sub(_keep_sgr, block)


def _keep_sgr(match: re.Match[str]) -> str:
    return match.group("sgr") or ""


def clean(line: str, *, keep_tabs: bool = True) -> str:
    """``line`` with every control sequence but SGR removed and backspaces applied."""
    if not _UNSAFE.search(line):
        return line
    out: list[str] = []
    pos = 0
    for match in _SEQUENCE.finditer(line):
        if match.start() > pos:
            out.append(line[pos : match.start()])
        pos = match.end()
        code = match.group()
        if match.group("sgr"):
            out.append(code)
        elif match.group("bs"):
            _backspace(out)
        elif code == _TAB and keep_tabs:
            out.append(code)
    out.append(line[pos:])
    return "".join(out)


def _backspace(out: list[str]) -> None:
    """Drop the last printable character written so far (never part of a kept SGR)."""
    for i in range(len(out) - 1, -1, -1):
        piece = out[i]
        if piece.startswith("\x1b[") or not piece:
            continue
        out[i] = piece[:-1]
        return


def sanitize_line(line: str) -> Text:
    """One logged line as rich Text: SGR colours become styles, nothing else survives."""
    safe = clean(line)
    if "\x1b" not in safe:
        text = Text(safe, end="", no_wrap=True)
    else:
        text = Text.from_ansi(safe, end="", no_wrap=True)
    if _TAB in text.plain:
        text.expand_tabs(TAB_SIZE)
    return text


def sanitize_for_pager(lines: Iterable[str]) -> str:
    """Lines joined for ``less -R``: SGR escapes only, colours reset at each line end."""
    return "".join(pager_line(line) for line in lines)


def pager_line(line: str) -> str:
    """One line for the pager, newline included; a line with colours ends with a reset."""
    safe = clean(line.rstrip("\n"))
    return safe + "\x1b[0m\n" if "\x1b" in safe else safe + "\n"
