"""The Logs tab in the real app on real run directories: tailing, colours, following, pager."""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from pathlib import Path

import pytest
from rich.segment import Segment

from runview.tui.app import RunviewApp
from runview.tui.textual_private import screen_strips
from runview.tui.widgets.log_pane import LogPane
from tests.pilot import Notices, screen_text, wait_for

HOSTILE = (
    b"title\x1b]0;PWNED\x07 clip\x1b]52;c;cm0gLXJmIH4=\x07 clear\x1b[2J\x1b[H"
    b" reset\x1bc c1\xc2\x9b2J dcs\x1bP+q\x1b\\ bell\x07 end\n"
)


def make_run(root: Path, console: bytes | None, state: str = "finished") -> Path:
    run = root / "run-1"
    run.mkdir()
    (run / "runview.json").write_text(json.dumps({"format": "runview", "version": 1}))
    (run / "meta.json").write_text(
        json.dumps({"name": "logs-test", "start_time": time.time() - 60})
    )
    status = {"state": state, "heartbeat": time.time(), "heartbeat_interval": 60}
    (run / "status.json").write_text(json.dumps(status))
    if console is not None:
        (run / "console.log").write_bytes(console)
    return run


def lines(n: int) -> bytes:
    return b"".join(b"step %d loss \x1b[32m%d.5\x1b[0m\n" % (i, i) for i in range(n))


def screen_segments(app: RunviewApp) -> list[list[Segment]]:
    return [list(strip) for strip in screen_strips(app.screen)]


def pane(app: RunviewApp) -> LogPane:
    return app.screen.query_one(LogPane)


async def test_last_lines_are_shown_coloured_and_nothing_raw_reaches_the_screen(
    tmp_path: Path,
) -> None:
    run = make_run(
        tmp_path,
        lines(1500) + HOSTILE + b"\x1b[31mERROR\x1b[0m failed\nepoch 3:  10%\repoch 3:  90%",
    )
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "epoch 3:  90%" in screen_text(app))
        text = screen_text(app)
        assert "step 1499 loss 1499.5" in text
        assert "epoch 3:  10%" not in text  # the "\r" frame was overwritten
        assert "title clip clear reset c1 dcs bell end" in text
        assert "1000 lines" in text and "older lines in pager" in text
        assert re.search(r"1000 lines · \d+\.\d KiB", text)  # binary units, named as such
        await wait_for(pilot, lambda: "q Quit" in screen_text(app).splitlines()[-1])
        footer = screen_text(app).splitlines()[-1]
        assert "? Help" in footer and "p Pager" in footer
        for row in screen_segments(app):
            for seg in row:
                assert not re.search(r"[\x00-\x1f\x7f-\x9f]", seg.text), repr(seg.text)
        colours = {
            seg.text: seg.style.color.get_truecolor()
            for row in screen_segments(app)
            for seg in row
            if seg.style and seg.style.color
        }
        # ANSI colours, through the theme's palette
        red, green = colours["ERROR"], colours["1499.5"]
        assert red.red > max(red.green, red.blue) and green.green > max(green.red, green.blue)
        assert colours[" failed"] != red
        assert len(pane(app).lines) == 1000


async def test_new_lines_appear_live_and_are_followed(tmp_path: Path) -> None:
    run = make_run(tmp_path, lines(300), state="running")
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "step 299 " in screen_text(app))
        with open(run / "console.log", "ab") as fh:
            fh.write(b"a brand new line\n")
        await wait_for(pilot, lambda: "a brand new line" in screen_text(app))
        with open(run / "console.log", "ab") as fh:
            fh.write(b"half a li")
        await wait_for(pilot, lambda: "half a li" in screen_text(app))
        with open(run / "console.log", "ab") as fh:
            fh.write(b"ne, then done\n")
        await wait_for(pilot, lambda: "half a line, then done" in screen_text(app))
        assert pane(app).line_count == 302
        assert pane(app).following


async def test_scrolling_up_pauses_following_and_end_resumes(tmp_path: Path) -> None:
    run = make_run(tmp_path, lines(300), state="running")
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "step 299 " in screen_text(app))
        log = pane(app)
        await pilot.press("pageup")
        await wait_for(pilot, lambda: not log.following)
        assert "paused — End to follow" in screen_text(app)
        held = log.scroll_y
        with open(run / "console.log", "ab") as fh:
            fh.write(b"arrived while paused\n")
        await wait_for(pilot, lambda: log.line_count == 301)
        await pilot.pause(0.1)
        assert log.scroll_y == held and "arrived while paused" not in screen_text(app)
        await pilot.press("end")
        await wait_for(pilot, lambda: "arrived while paused" in screen_text(app))
        assert log.following and "End to follow" not in screen_text(app)


async def test_pager_gets_the_whole_log_sanitised_from_outside_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = make_run(tmp_path, lines(2000) + HOSTILE + b"prog 1%\rprog 99%\n")
    before = sorted(p.name for p in run.iterdir())
    received = tmp_path / "received.txt"
    seen_path = tmp_path / "pager-arg.txt"
    script = tmp_path / "pager.sh"
    script.write_text(
        f'#!/bin/sh\necho "$1" > {shlex.quote(str(seen_path))}\ncat "$1" > '
        f"{shlex.quote(str(received))}\n"
    )
    monkeypatch.setenv("PAGER", f"sh {shlex.quote(str(script))}")
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "prog 99%" in screen_text(app))
        await pilot.press("p")
        await wait_for(pilot, lambda: received.exists() and received.stat().st_size > 0)
    out = received.read_text(encoding="utf-8")
    assert out.startswith("step 0 loss \x1b[32m0.5\x1b[0m\n")  # all of it, not the 1000-line window
    assert "step 1999 loss" in out and "prog 99%\n" in out and "prog 1%" not in out
    assert "title clip clear reset c1 dcs bell end\n" in out
    assert "\x1b" not in re.sub(r"\x1b\[[0-9;:]*m", "", out)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", re.sub(r"\x1b\[[0-9;:]*m", "", out))
    paged = Path(seen_path.read_text().strip())
    assert run not in paged.parents and not paged.exists()  # written outside the run, then removed
    assert sorted(p.name for p in run.iterdir()) == before  # the viewer wrote nothing in the run


async def test_missing_console_log_says_why(tmp_path: Path) -> None:
    run = make_run(tmp_path, None)
    app = RunviewApp(run, tab="logs")
    notices = Notices()
    async with app.run_test(size=(80, 24), message_hook=notices.hook) as pilot:
        await wait_for(pilot, lambda: "no console.log in this run" in screen_text(app))
        await pilot.press("p")  # nothing to page: says why, in a warning, and starts no pager
        await wait_for(pilot, lambda: notices.shown)
        [notice] = notices.shown
        assert notice.severity == "warning" and notice.message.startswith("no console.log")
        assert not any(worker.group == "logs-pager" for worker in app.workers)
        assert "preparing the pager" not in screen_text(app)


async def test_unreadable_console_log_is_reported(tmp_path: Path) -> None:
    run = make_run(tmp_path, None)
    (run / "console.log").mkdir()
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_for(pilot, lambda: "not a regular file" in screen_text(app))


async def test_truncation_while_open_starts_over(tmp_path: Path) -> None:
    run = make_run(tmp_path, lines(50), state="running")
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: "step 49 " in screen_text(app))
        (run / "console.log").write_bytes(b"fresh start\n")
        await wait_for(pilot, lambda: "fresh start" in screen_text(app))
        assert pane(app).line_count == 1
        assert "truncated or replaced" in screen_text(app)
        assert os.path.getsize(run / "console.log") == len(b"fresh start\n")


def test_pager_export_of_a_big_log_keeps_its_end_and_says_so(tmp_path: Path) -> None:
    import io

    from runview.tui.pager import export_for_pager

    source = tmp_path / "console.log"
    source.write_bytes(lines(5000))
    out = io.StringIO()
    progress: list[tuple[int, int]] = []
    read = export_for_pager(
        source, out, limit=4096, progress=lambda done, total: progress.append((done, total))
    )
    text = out.getvalue()
    first, second = text.split("\n")[:2]
    assert first.startswith("[runview: the log is ") and "showing its last 4.0 KiB" in first
    assert second.startswith("step ") and "step 4999 loss" in text  # starts on a whole line
    assert read <= 4096 and progress[-1][0] == progress[-1][1]


def test_format_bytes_uses_binary_units() -> None:
    from runview.tui.format import format_bytes

    assert format_bytes(None) == "" and format_bytes(0) == "0 B" and format_bytes(1023) == "1023 B"
    assert format_bytes(1536) == "1.5 KiB" and format_bytes(3 * 2**30) == "3.0 GiB"
    assert format_bytes(5 * 2**40) == "5.0 TiB" and format_bytes(2**60) == "1048576.0 TiB"


async def test_model_tab_without_a_summary_keeps_quit_and_help_and_no_other_tabs_keys(
    tmp_path: Path,
) -> None:
    run = make_run(tmp_path, lines(3))
    app = RunviewApp(run, tab="model")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "no model summary" in screen_text(app))
        await wait_for(pilot, lambda: "q Quit" in screen_text(app).splitlines()[-1])
        footer = screen_text(app).splitlines()[-1]
        assert "q Quit" in footer and "? Help" in footer and "Filter" not in footer
