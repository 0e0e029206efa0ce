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
        await wait_for(pilot, lambda: "paused — End to follow" in screen_text(app))  # next frame
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


def lines_with(n: int, extra: dict[int, bytes]) -> bytes:
    """``n`` numbered lines, with ``extra[i]`` printed after line ``i``."""
    out = []
    for i in range(n):
        out.append(b"step %d loss %d.5\n" % (i, i))
        if i in extra:
            out.append(extra[i])
    return b"".join(out)


def rows_with(app: RunviewApp, needle: str) -> list[int]:
    return [row for row, line in enumerate(screen_text(app).splitlines()) if needle in line]


def matches_label(app: RunviewApp) -> str:
    return str(app.screen.query_one("#logs-matches").render())


async def test_a_long_line_is_marked_where_it_is_cut_scrolls_sideways_and_wraps(
    tmp_path: Path,
) -> None:
    bar = b"epoch 3: 100%|" + b"#" * 90 + b"| 500/500 UserWarning: lr too high\n"
    run = make_run(tmp_path, lines_with(40, {30: bar}))
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "step 39 " in screen_text(app))
        [row] = rows_with(app, "epoch 3: 100%")
        line = screen_text(app).splitlines()[row]
        assert "UserWarning" not in screen_text(app)
        assert line.rstrip().endswith("›")  # the cut is marked at the edge
        assert "›" not in "".join(screen_text(app).splitlines()[row + 1 :])  # short lines: none
        await pilot.press(*["right"] * 4)  # sideways to the end, a quarter of the width a key
        await wait_for(pilot, lambda: "lr too high" in screen_text(app))
        line = screen_text(app).splitlines()[row]
        assert line.startswith("‹") and "›" not in line  # cut on the left now, not the right
        await pilot.press("home", "end", "w")  # wrap: the whole line, no sideways scrolling
        await wait_for(pilot, lambda: "lr too high" in screen_text(app))
        text = screen_text(app)
        assert "‹" not in text and "›" not in text
        rows = text.splitlines()
        [start] = rows_with(app, "epoch 3: 100%")
        assert "UserWarning" in rows[start + 1] and rows[start + 2].startswith("step 31 ")
        await wait_for(pilot, lambda: rows_with(app, "step 39 "))  # still following the end
        assert pane(app).following
        await pilot.press("w")  # and back
        await wait_for(  # one condition: a screen between two frames has neither
            pilot,
            lambda: (
                "UserWarning" not in (text := screen_text(app))
                and any(line.rstrip().endswith("›") for line in text.splitlines())
            ),
        )


async def test_search_counts_highlights_and_moves_between_matches_as_lines_arrive(
    tmp_path: Path,
) -> None:
    errors = {i: b"ERROR code %d\n" % i for i in (50, 150, 250)}
    run = make_run(tmp_path, lines_with(300, errors), state="running")
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "step 299 " in screen_text(app))
        log = pane(app)
        await pilot.press("slash", *"error code \\d+")  # typed in one burst, regex, any case
        box = app.screen.query_one("#logs-search")
        await wait_for(pilot, lambda: box.value == "error code \\d+")
        # the nearest match above the bottom of the view: the last of three
        await wait_for(pilot, lambda: matches_label(app) == "3/3 matches")
        assert rows_with(app, "ERROR code 250")
        await pilot.press("enter")  # back in the log: enter and n / N move
        await wait_for(pilot, lambda: log.has_focus)
        await pilot.press("n")
        await wait_for(pilot, lambda: matches_label(app).startswith("1/3 matches"))
        assert "wrapped to the first match" in matches_label(app)
        [row] = rows_with(app, "ERROR code 50")
        segments = [list(strip) for strip in screen_strips(app.screen)][row]
        current = [seg for seg in segments if seg.text == "ERROR code 50"]
        assert current and current[0].style.reverse  # the match the view is on stands out
        await pilot.press("enter")
        await wait_for(pilot, lambda: matches_label(app) == "2/3 matches")
        assert rows_with(app, "ERROR code 150") and not log.following
        await pilot.press("N")
        await wait_for(pilot, lambda: matches_label(app) == "1/3 matches")
        # lines arriving count, and never move the view away from the match
        held = log.scroll_y
        with open(run / "console.log", "ab") as fh:
            fh.write(b"ERROR code 999\nstep 300 loss 1\n")
        await wait_for(pilot, lambda: matches_label(app) == "1/4 matches")
        assert log.scroll_y == held and rows_with(app, "ERROR code 50")
        await pilot.press("escape")  # clears the search and its highlights
        await wait_for(pilot, lambda: not app.screen.query_one("#logs-search-bar").display)
        assert not log.searching
        await wait_for(pilot, lambda: "matches" not in screen_text(app))  # painted next


async def test_search_with_an_invalid_regex_matches_text_and_q_is_typed(tmp_path: Path) -> None:
    run = make_run(tmp_path, lines_with(20, {5: b"odd (q token\n"}))
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "step 19 " in screen_text(app))
        await pilot.press("slash", *"(q")
        box = app.screen.query_one("#logs-search")
        await wait_for(pilot, lambda: box.value == "(q" and box.has_class("-invalid"))
        await wait_for(pilot, lambda: "1/1 matches" in matches_label(app))
        assert "not a regex: as text" in matches_label(app) and app.is_running
        await pilot.press("backspace", "backspace", *"nothing-like-this")
        await wait_for(pilot, lambda: "no match in the last 21 lines" in matches_label(app))


async def test_traceback_keys_jump_between_tracebacks(tmp_path: Path) -> None:
    traceback = b'Traceback (most recent call last):\n  File "t.py", line 1\nValueError: %d\n'
    run = make_run(tmp_path, lines_with(300, {i: traceback % i for i in (40, 120, 200)}))
    app = RunviewApp(run, tab="logs")
    notices = Notices()
    async with app.run_test(size=(80, 24), message_hook=notices.hook) as pilot:
        await wait_for(pilot, lambda: "step 299 " in screen_text(app))
        await wait_for(pilot, lambda: "t Next traceback" in screen_text(app).splitlines()[-1])
        log = pane(app)

        def top() -> str:
            return log.lines[log.top_line].plain

        await pilot.press("T")  # up from the end: the last traceback, at the top of the view
        await wait_for(pilot, lambda: top().startswith("Traceback"))
        assert not log.following
        await wait_for(pilot, lambda: "ValueError: 200" in screen_text(app))  # painted next
        await pilot.press("T")
        await wait_for(pilot, lambda: "ValueError: 120" in screen_text(app))
        assert top().startswith("Traceback")
        await pilot.press("T", "T")  # the first one, then nothing above: said, not moved
        await wait_for(pilot, lambda: any("no traceback above" in m for m in notices.messages))
        assert top().startswith("Traceback")
        await wait_for(pilot, lambda: "ValueError: 40" in screen_text(app))  # painted next
        await pilot.press("t")
        await wait_for(pilot, lambda: "ValueError: 120" in screen_text(app) and top() != "")
        assert top().startswith("Traceback")


async def test_a_log_without_tracebacks_offers_no_traceback_key(tmp_path: Path) -> None:
    run = make_run(tmp_path, lines(30))
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "w Wrap" in screen_text(app).splitlines()[-1])
        footer = screen_text(app).splitlines()[-1]
        assert "traceback" not in footer.lower() and "Match" not in footer


async def test_the_pager_opens_less_at_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = make_run(tmp_path, lines_with(2000, {10: b"needle in the old part\n"}))
    seen = tmp_path / "pager-args.txt"
    fake_less = tmp_path / "bin" / "less"
    fake_less.parent.mkdir()
    fake_less.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {shlex.quote(str(seen))}\n')
    fake_less.chmod(0o755)
    monkeypatch.setenv("PAGER", f"{fake_less} -R")
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "step 1999 " in screen_text(app))
        await pilot.press("slash", *"need+le", "enter")
        # not in the 1000 lines held: the pager has the whole log
        await wait_for(pilot, lambda: "no match in the last 1,000 lines" in matches_label(app))
        await pilot.press("p")
        await wait_for(pilot, lambda: seen.exists(), timeout=5.0)
    args = seen.read_text().splitlines()
    assert args[:3] == ["-R", "-I", "+/need+le"] and args[3].endswith(".log")


async def test_wrapped_lines_keep_their_place_while_old_lines_drop_out(tmp_path: Path) -> None:
    long = b"warning: " + b"x" * 150 + b"\n"
    run = make_run(tmp_path, lines_with(1200, {i: long for i in range(0, 1200, 7)}), "running")
    app = RunviewApp(run, tab="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "step 1199 " in screen_text(app))
        log = pane(app)
        await pilot.press("w", "pageup", "pageup")
        await wait_for(pilot, lambda: not log.following)
        await pilot.pause(0.1)
        before = [row[:78] for row in screen_text(app).splitlines()[3:20]]  # less the scrollbar
        top = log.lines[log.top_line].plain
        with open(run / "console.log", "ab") as fh:
            fh.write(lines_with(60, {i: long for i in range(0, 60, 3)}))
        await wait_for(pilot, lambda: "step 59 " in log.lines[-1].plain)
        await pilot.pause(0.1)
        assert log.lines[log.top_line].plain == top and log.line_count == 1000
        assert [row[:78] for row in screen_text(app).splitlines()[3:20]] == before  # none moved
