"""ConsoleTail on real files: reads the end only, follows appends, survives bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runview.store import console_tail
from runview.store.console_tail import ConsoleTail, collapse_cr


def write(path: Path, data: bytes, mode: str = "ab") -> None:
    with open(path, mode) as fh:
        fh.write(data)


def numbered(start: int, stop: int) -> bytes:
    return b"".join(b"line %07d some training output\n" % i for i in range(start, stop))


def test_last_lines_of_a_50mb_file_touch_only_its_end(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    block = numbered(0, 20_000)  # ~0.7 MB
    with open(path, "wb") as fh:
        for _ in range(80):
            fh.write(block)
        fh.write(numbered(1_000_000, 1_001_000))
    assert path.stat().st_size > 50 * 1024 * 1024
    tail = ConsoleTail(path, max_lines=1000)
    assert tail.refresh()
    snap = tail.snapshot()
    assert len(snap.lines) == 1000
    assert snap.lines[0] == "line 1000000 some training output"
    assert snap.lines[-1] == "line 1000999 some training output"
    assert snap.dropped_before and not snap.partial and snap.error is None
    assert snap.total_bytes == path.stat().st_size
    # ~33 KB of lines: two backwards chunks plus the forward read
    assert tail.bytes_read < 256 * 1024

    write(path, b"appended\n")
    before = tail.bytes_read
    assert tail.refresh()
    assert tail.snapshot().lines[-1] == "appended"
    assert tail.bytes_read - before == len(b"appended\n")  # only the new bytes
    assert not tail.refresh()  # nothing new: nothing changed, nothing read
    assert tail.bytes_read - before == len(b"appended\n")


def test_first_read_is_bounded_even_without_newlines(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    with open(path, "wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # 64 MB of NULs, no newline at all
    tail = ConsoleTail(path)
    tail.refresh()
    snap = tail.snapshot()
    assert tail.bytes_read <= 2 * console_tail.MAX_SCAN_BYTES
    assert len(snap.lines) == 1 and snap.partial and snap.dropped_before
    assert len(snap.lines[0]) <= console_tail.MAX_LINE_CHARS + 1
    assert snap.lines[0].endswith(console_tail.CUT_MARK)


def test_incremental_appends_number_lines_within_an_epoch(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    write(path, numbered(0, 5), "wb")
    tail = ConsoleTail(path, max_lines=10)
    tail.refresh()
    first = tail.snapshot()
    assert (first.first_line, len(first.lines), first.dropped_before) == (0, 5, False)
    write(path, numbered(5, 12))
    assert tail.refresh()
    snap = tail.snapshot()
    assert snap.epoch == first.epoch and snap.generation > first.generation
    assert snap.first_line == 2 and len(snap.lines) == 10 and snap.dropped_before
    assert snap.lines[-1] == "line 0000011 some training output"


def test_a_torn_last_line_shows_and_is_replaced_when_completed(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    write(path, b"done\nepoch 1: 10%", "wb")
    tail = ConsoleTail(path)
    tail.refresh()
    snap = tail.snapshot()
    assert snap.lines == ("done", "epoch 1: 10%") and snap.partial
    write(path, b"\repoch 1: 50%")
    tail.refresh()
    assert tail.snapshot().lines == ("done", "epoch 1: 50%")
    write(path, b"\repoch 1: 100%\r\nnext\n")
    tail.refresh()
    snap = tail.snapshot()
    assert snap.lines == ("done", "epoch 1: 100%", "next") and not snap.partial


def test_a_progress_bar_without_newlines_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    write(path, b"", "wb")
    tail = ConsoleTail(path)
    tail.refresh()
    for i in range(2000):
        write(path, b"\r %4d/2000 [%-50s]" % (i, b"#" * (i // 40)))
        if i % 100 == 0:
            tail.refresh()
    tail.refresh()
    frame = (b" 1999/2000 [%-50s]" % (b"#" * 49,)).decode()
    assert tail.snapshot().lines == (frame,)
    assert len(tail._partial) < 200  # compacted: one "\r" and the latest frame, not 2000 frames


def test_a_split_multibyte_character_is_decoded_once_complete(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    euro = "€".encode()
    write(path, b"price " + euro[:1], "wb")
    tail = ConsoleTail(path)
    tail.refresh()
    write(path, euro[1:] + b"\n")
    tail.refresh()
    assert tail.snapshot().lines == ("price €",)


def test_truncation_and_replacement_read_again_from_the_end(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    write(path, numbered(0, 50), "wb")
    tail = ConsoleTail(path, max_lines=20)
    tail.refresh()
    epoch = tail.snapshot().epoch
    with open(path, "wb") as fh:  # truncated in place, shorter than before
        fh.write(b"restarted\n")
    assert tail.refresh()
    snap = tail.snapshot()
    assert snap.lines == ("restarted",) and snap.epoch > epoch and snap.restarts == 1
    assert not snap.dropped_before

    replacement = tmp_path / "console.log.new"
    replacement.write_bytes(numbered(0, 200))  # replaced by a longer file: a new inode
    os.replace(replacement, path)
    assert tail.refresh()
    snap = tail.snapshot()
    assert snap.restarts == 2 and len(snap.lines) == 20
    assert snap.lines[-1] == "line 0000199 some training output"


def test_a_huge_append_is_read_from_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_tail, "JUMP_BYTES", 1024 * 1024)
    path = tmp_path / "console.log"
    write(path, b"start\n", "wb")
    tail = ConsoleTail(path, max_lines=100)
    tail.refresh()
    write(path, numbered(0, 100_000))  # ~3.4 MB, more than the jump limit
    before = tail.bytes_read
    tail.refresh()
    snap = tail.snapshot()
    assert tail.bytes_read - before < 128 * 1024  # one backwards chunk and 100 lines, not 3.4 MB
    assert snap.lines[-1] == "line 0099999 some training output" and snap.dropped_before


def test_missing_file_is_empty_then_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    tail = ConsoleTail(path)
    assert not tail.refresh()
    snap = tail.snapshot()
    assert snap.lines == () and snap.error is None and not snap.exists
    write(path, b"hello\n", "wb")
    assert tail.refresh()
    assert tail.snapshot().lines == ("hello",) and tail.snapshot().exists
    path.unlink()
    assert tail.refresh()
    assert tail.snapshot().lines == () and not tail.snapshot().exists


def test_unreadable_file_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.mkdir()  # unreadable as a file even for root
    tail = ConsoleTail(path)
    assert tail.refresh()
    snap = tail.snapshot()
    assert snap.error and "console.log" in snap.error and snap.lines == ()


@pytest.mark.skipif(os.geteuid() == 0 or sys.platform == "win32", reason="root reads anything")
def test_permission_denied_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_bytes(b"secret\n")
    path.chmod(0)
    tail = ConsoleTail(path)
    tail.refresh()
    assert "ermission" in (tail.snapshot().error or "")


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    os.mkfifo(path)  # opening a FIFO for reading would block a naive tail forever
    tail = ConsoleTail(path)
    tail.refresh()
    assert "not a regular file" in (tail.snapshot().error or "")


def test_invalid_utf8_and_binary_garbage_become_replacement_characters(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    garbage = bytes(range(256)) * 4
    write(path, b"ok \xff\xfe\xc3(\n" + garbage + b"\nend\n", "wb")
    tail = ConsoleTail(path)
    tail.refresh()
    lines = tail.snapshot().lines
    assert lines[0] == "ok \ufffd\ufffd\ufffd("
    assert lines[-1] == "end"
    assert "\ufffd" in "".join(lines)


def test_carriage_returns_collapse_as_in_a_terminal() -> None:
    assert collapse_cr("abc") == "abc"
    assert collapse_cr(" 10%\r 50%\r100%") == "100%"
    # a shorter frame leaves the old tail, as on screen
    assert collapse_cr("abcdef\rxy") == "xycdef"
    assert collapse_cr("done\r") == "done"
    assert collapse_cr("abcdef\r\x1b[2Kxy") == "xy"  # erase-line, as rich/pip progress bars do
    assert collapse_cr("abcdef\rxy\x1b[K") == "xy"
    # Colour codes take no columns and keep applying to the cells after them.
    assert collapse_cr("\x1b[31mabc\x1b[0m\rX") == "X\x1b[31mbc\x1b[0m"


def test_the_store_imports_no_ui_library() -> None:
    code = (
        "import sys, runview.store.console_tail, runview.store.reader\n"
        "bad = [m for m in ('textual', 'rich', 'plotext') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
