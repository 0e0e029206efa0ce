"""The whole console log for $PAGER: exported in chunks with only SGR escapes left, then paged."""

from __future__ import annotations

import codecs
import os
import shlex
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from textual.app import SuspendNotSupported

from runview.store.console_tail import collapse_cr
from runview.tui.ansi import clean_block, pager_line
from runview.tui.format import format_bytes

PAGER_LIMIT = 200 * 1024 * 1024  # the pager gets at most the last 200 MB
EXPORT_CHUNK = 1024 * 1024
DEFAULT_PAGER = "less -R"


def export_for_pager(
    source: Path,
    out: TextIO,
    *,
    limit: int = PAGER_LIMIT,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> int:
    """Stream ``source`` into ``out`` with only SGR escapes left; returns bytes read.

    Reads in chunks (memory stays flat), applies carriage returns per line, and keeps only the
    last ``limit`` bytes of a larger file, saying so on the first line.
    """
    fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file")
        size = st.st_size
        start = max(0, size - limit)
        if start:
            fh.seek(start)
            skipped = fh.readline(EXPORT_CHUNK)  # begin on a line boundary
            start += len(skipped)
            out.write(
                f"[runview: the log is {format_bytes(size)}; showing its last "
                f"{format_bytes(size - start)}]\n"
            )
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending, done = "", start
        while done < size:
            if cancelled is not None and cancelled():
                break
            data = fh.read(min(EXPORT_CHUNK, size - done))
            if not data:
                break
            done += len(data)
            pending = _write_lines(out, pending + decoder.decode(data))
            if progress is not None:
                progress(done - start, size - start)
        rest = pending + decoder.decode(b"", final=True)
        if rest:
            out.write(pager_line(collapse_cr(rest)))
    return done - start


def _write_lines(out: TextIO, text: str) -> str:
    """Write the complete lines of ``text``; return the unterminated rest (bounded in size)."""
    cut = text.rfind("\n")
    if cut < 0:
        if len(text) <= EXPORT_CHUNK:
            return text
        out.write(pager_line(collapse_cr(text)))  # one giant line: shown in pieces
        return ""
    block, rest = text[: cut + 1], text[cut + 1 :]
    if "\r\n" in block:  # CRLF endings are plain newlines
        block = block.replace("\r\n", "\n")
    pos = 0
    while (found := _next_overwrite(block, pos)) >= 0:  # lines with "\r" or backspace, one by one
        start = block.rfind("\n", 0, found) + 1
        end = block.index("\n", found)
        out.write(clean_block(block[pos:start]))
        out.write(pager_line(collapse_cr(block[start:end].removesuffix("\r"))))
        pos = end + 1
    out.write(clean_block(block[pos:]))  # the rest in one regex pass
    return rest


def _next_overwrite(block: str, pos: int) -> int:
    """Index of the next "\\r" or backspace at or after ``pos``, or -1 (str.find is fastest)."""
    found = [i for i in (block.find("\r", pos), block.find("\x08", pos)) if i >= 0]
    return min(found) if found else -1


def pager_command() -> str:
    """$PAGER, else ``less -R``."""
    return os.environ.get("PAGER") or DEFAULT_PAGER


def pager_line_for(path: Path, search: str = "") -> str:
    """The shell command that pages ``path``; ``less`` also opens at the first match of
    ``search`` (ignoring case, as the Logs search does), with n / N to move between matches."""
    command = pager_command()
    try:
        program = os.path.basename(shlex.split(command)[0])
    except (ValueError, IndexError):
        program = ""
    if search and program == "less":
        command += f" -I {shlex.quote('+/' + search)}"
    return f"{command} {shlex.quote(str(path))}"


def run_pager(app: object, path: Path, search: str = "") -> int:
    """Run $PAGER on ``path`` with the app suspended (``less`` at the first match of
    ``search``); returns its exit code."""
    command = pager_line_for(path, search)
    env = dict(os.environ)
    env.setdefault("LESS", "-R")  # a bare `less` would show colour codes as text
    try:
        with app.suspend():  # type: ignore[attr-defined]
            return subprocess.run(command, shell=True, env=env).returncode
    except SuspendNotSupported:
        # No terminal of ours to hand over (headless, web): run it detached from any terminal.
        quiet = subprocess.DEVNULL
        try:
            return subprocess.run(
                command, shell=True, env=env, stdin=quiet, stdout=quiet, stderr=quiet, timeout=60
            ).returncode
        except subprocess.TimeoutExpired:
            return 1


def remove_file(name: str) -> None:
    """Delete a temporary export; one already gone is fine."""
    try:
        os.unlink(name)
    except OSError:
        pass
