"""End to end in a real terminal: a training process, the viewer in tmux, keys, the screen."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import only_run_dir, run_script, write_script

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)

TRAIN = """
import sys, time, runview
run = runview.init(project="e2e", name="tmux-run", dir=sys.argv[1], system_interval=None,
                   notes="\x1b]0;EVIL-NOTES\x07\x1b[2J",
                   config={"lr": 0.01, "\x1b]2;EVIL-KEY\x07": "\x1b]0;EVIL-VALUE\x07"})
run.log_model_summary([{"name": "\x1b]0;EVIL-LAYER\x07", "type": "Linear", "params": 10}])
for step in range(1000000):
    run.log({"train/loss": 1.0 / (step + 1), "\x1b]0;EVIL-METRIC\x07": 1.0})
    if step % 20 == 0:
        print(f"step {step} \\x1b[32mgreen\\x1b[0m \\x1b]0;EVIL-TITLE\\x07done", flush=True)
    time.sleep(0.02)
"""


def newest_step(screen: str) -> int:
    """The newest printed step on the Logs tab (-1 for none: a screen caught mid-redraw)."""
    return max((int(n) for n in re.findall(r"step (\d+) ", screen)), default=-1)


def poll(condition: Callable[[], object], timeout: float) -> bool:
    """Whether ``condition()`` came to hold within ``timeout`` seconds (looked at every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class Tmux:
    def __init__(self, width: int, height: int, command: str) -> None:
        self.socket = f"runview-test-{uuid.uuid4().hex[:8]}"
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), command)

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20
        )
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait_for(self, text: str, timeout: float = 60) -> str:
        if not poll(lambda: text in self.screen(), timeout):
            raise AssertionError(f"{text!r} not on screen:\n{self.screen()}")
        return self.screen()

    def wait_gone(self, text: str, timeout: float = 20) -> str:
        poll(lambda: text not in self.screen(), timeout)
        screen = self.screen()
        assert text not in screen, screen
        return screen

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def close(self) -> None:
        self.tmux("kill-server")


def test_live_run_in_a_real_terminal(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    script = write_script(tmp_path / "train.py", TRAIN)
    trainer = subprocess.Popen(
        [sys.executable, str(script), str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    term = None
    try:
        poll(lambda: list(root.glob("*/*/runview.json")), 20)
        run_dir = only_run_dir(root)
        env = f"cd {tmp_path} && TERM=xterm-256color {sys.executable} -m runview {run_dir}"
        term = Tmux(80, 24, f"sh -c '{env}; echo VIEWER-EXITED-$?; sleep 30'")
        term.wait_for("tmux-run")
        term.wait_for("running")  # the badge: a frame can be caught half written, so waited for
        for key in "12345":  # every tab that shows logged names, keys and values
            term.keys(key)
            time.sleep(0.7)
            assert "EVIL" not in term.tmux("display-message", "-p", "#{pane_title}"), key
        term.keys("1")
        assert "␛]0;EVIL-NOTES␇" in term.wait_for("EVIL-NOTES")  # shown as symbols, not obeyed
        term.keys("5")
        screen = term.wait_for("green")
        assert "EVIL-TITLE" not in screen  # an OSC title never reaches the terminal or the screen
        assert "EVIL" not in term.tmux("display-message", "-p", "#{pane_title}")
        # Live: newer printed steps arrive while we watch (the runtime clock ticking proves
        # nothing).
        first = newest_step(screen)
        assert poll(lambda: newest_step(term.screen()) > first, 30), term.screen()
        trainer.kill()
        trainer.wait(timeout=10)
        term.keys("1")
        term.wait_for("crashed")
        term.keys("q")
        screen = term.wait_for("VIEWER-EXITED-0")
        assert "Overview" not in screen  # the alternate screen is gone: terminal restored
    finally:
        if trainer.poll() is None:
            trainer.kill()
        if term is not None:
            term.close()


CRASHING_VIEWER = """
import sys
from runview.tui.cli import main
from runview.tui.tabs.overview import OverviewTab

def broken(self, snapshot):  # an injected fault: any bug in a tab
    raise RuntimeError("injected fault")

OverviewTab.show_snapshot = broken
raise SystemExit(main([sys.argv[1]]))
"""


def test_a_crash_in_the_viewer_exits_non_zero(tmp_path: Path) -> None:
    import runview

    run = runview.init(project="p", dir=tmp_path / "runs", console=False, system_interval=None)
    run.finish()
    script = write_script(tmp_path / "viewer.py", CRASHING_VIEWER)
    command = f"cd {tmp_path} && TERM=xterm-256color {sys.executable} {script} {run.dir}"
    term = Tmux(80, 24, f"sh -c '{command}; echo VIEWER-EXITED-$?; sleep 30'")
    try:
        screen = term.wait_for("VIEWER-EXITED-")
        assert "VIEWER-EXITED-1" in screen
        assert "injected fault" in screen  # Textual's report of the crash reached the terminal
    finally:
        term.close()


def footer_on_row(screen: str, row: int) -> bool:
    lines = screen.splitlines()
    return len(lines) >= row and "Quit" in lines[row - 1]


def finished_run(tmp_path: Path, name: str) -> Path:
    import runview

    run = runview.init(
        project="p", name=name, dir=tmp_path / "runs", console=False, system_interval=None
    )
    run.log({"loss": 1.0})
    run.finish()
    return run.dir


def viewer_in_tmux(width: int, height: int, command: str) -> Tmux:
    """``command`` in a shell in tmux, marked before it starts and with its exit status after."""
    return Tmux(
        width, height, f"sh -c 'echo BEFORE-VIEWER; {command}; echo VIEWER-EXITED-$?; sleep 30'"
    )


def test_the_viewer_follows_resizes_and_quits_without_leaving_a_frame(tmp_path: Path) -> None:
    run_dir = finished_run(tmp_path, "resized")
    # Exported COLUMNS and LINES (some shells and tools set them) must not pin the viewer's size.
    command = f"COLUMNS=80 LINES=24 TERM=xterm-256color {sys.executable} -m runview {run_dir}"
    term = viewer_in_tmux(100, 30, command)
    try:
        term.wait_for("resized")
        term.tmux("resize-window", "-x", "120", "-y", "40")  # the pane grows while the app is open
        # Redrawn at the new size.
        assert poll(lambda: footer_on_row(term.screen(), 40), 20), term.screen()
        term.keys("q")
        screen = term.wait_for("VIEWER-EXITED-0")
        shown = [line for line in screen.splitlines() if line.strip()]
        assert shown == ["BEFORE-VIEWER", "VIEWER-EXITED-0"], screen  # no frame left behind
    finally:
        term.close()


def test_runview_with_no_path_opens_the_table_of_runs_and_back(tmp_path: Path) -> None:
    import runview

    for name in ("first", "second"):
        runview.init(
            project="e2e", name=name, dir=tmp_path / "runs", console=False, system_interval=None
        ).finish()
    env = f"cd {tmp_path} && env -u RUNVIEW_DIR TERM=xterm-256color {sys.executable} -m runview"
    term = Tmux(100, 30, env)
    try:
        term.wait_for("2 runs")
        term.wait_for("first")  # a frame can be caught half written: each text is waited for
        term.wait_for("second")
        # One burst, as fast typing arrives: "/" must move the focus before "s" is read, or
        # the s would sort the table and the filter would miss it.
        term.keys("/state:finished sec")
        screen = term.wait_for("1 of 2 shown")
        assert " state:finished sec" in screen and "/state" not in screen  # typed whole, into it
        assert "start ▼" in screen  # still sorted newest first: the s was not taken as "sort"
        term.keys("Enter")  # back to the table, on the one run left
        term.keys("Enter")  # its page
        term.wait_for("e2e / second")
        term.wait_for("Back")  # offered in the footer: the table is underneath
        term.keys("BSpace")
        term.wait_for("2 runs")
        term.keys("q")
        term.wait_gone("2 runs")  # quit: the terminal is the shell's again
    finally:
        term.close()


def test_ctrl_c_in_a_text_box_quits_and_restores_the_terminal(tmp_path: Path) -> None:
    command = f"TERM=xterm-256color {sys.executable} -m runview {finished_run(tmp_path, 'ctrl-c')}"
    term = viewer_in_tmux(80, 24, command)
    try:
        term.wait_for("ctrl-c")
        term.keys("/")
        term.keys("q")  # typed into the filter box, where ctrl+c would copy in a bare Textual app
        term.wait_for("▊  q ")
        term.keys("C-c")
        screen = term.wait_for("VIEWER-EXITED-0")
        shown = [line for line in screen.splitlines() if line.strip()]
        assert shown == ["BEFORE-VIEWER", "VIEWER-EXITED-0"], screen
    finally:
        term.close()


@contextmanager
def finished_run_page(
    tmp_path: Path, name: str, size: tuple[int, int] = (80, 24)
) -> Iterator[Tmux]:
    """A finished run's page in tmux, shown (its name on screen)."""
    command = f"TERM=xterm-256color {sys.executable} -m runview {finished_run(tmp_path, name)}"
    term = viewer_in_tmux(*size, command)
    try:
        term.wait_for(name)
        yield term
    finally:
        term.close()


@contextmanager
def zz_in_the_filter_box(tmp_path: Path, name: str) -> Iterator[Tmux]:
    """A finished run's page in tmux at 80x24, "zz" typed into its Overview's filter box."""
    with finished_run_page(tmp_path, name) as term:
        term.keys("/")
        term.keys("z", "z")
        term.wait_for("▊  zz")
        yield term


def test_esc_and_a_digit_sent_at_once_leave_the_box_and_open_that_tab(tmp_path: Path) -> None:
    """Esc then ``5`` in one write (typed fast, or batched by SSH): Textual's key table read the
    pair as ``∞`` (what macOS WezTerm sends for Option-5), typed into the filter box, and the tab
    stayed. Now: the box is left, and the Logs tab opens."""
    with zz_in_the_filter_box(tmp_path, "esc-5") as term:
        term.keys("Escape", "5")  # one send-keys: one write to the terminal
        screen = term.wait_for("w Wrap")  # the Logs tab's footer
        assert "∞" not in screen and "zz∞" not in screen
        term.keys("1")  # the Overview's filter box was left empty by the Esc
        screen = term.wait_for("/ Filter")
        assert "zz" not in screen


def test_esc_and_a_symbol_sent_at_once_are_both_keys(tmp_path: Path) -> None:
    """Esc then ``/`` in one write: Textual's parser read the pair as ``/`` alone, and the Esc
    that should have left the box was lost (``zz/`` in the box). Now: the box is left and
    cleared, and ``/`` opens it again."""
    with zz_in_the_filter_box(tmp_path, "esc-/") as term:
        term.keys("Escape", "/")  # one send-keys: one write to the terminal
        term.keys("q")
        screen = term.wait_for("▊  q ")
        assert "zz" not in screen, screen


def test_a_digit_then_slash_sent_at_once_open_that_tabs_filter(tmp_path: Path) -> None:
    """``1/zz`` in one write, from the Charts tab back to an Overview already built: the
    Overview's focus was given a moment later (a deferred ``focus()``), so ``/`` opened the Charts
    tab's search, unseen, and ``zz`` went into it. Now it is the Overview's filter that opens."""
    with finished_run_page(tmp_path, "digit-/") as term:
        term.keys("2")
        term.wait_for("s Smooth")  # the Charts tab's footer: a chart has the focus
        term.keys("1", "/", "z", "z")  # one send-keys: one write to the terminal
        screen = term.wait_for("▊  zz")
        assert "filter config and summary" not in screen  # the Overview's box, holding zz
        term.keys("Enter", "2")
        screen = term.wait_for("s Smooth")
        assert "zz" not in screen, screen  # the Charts tab's search is still empty


def test_e_and_a_title_sent_at_once_type_into_the_editors_title(tmp_path: Path) -> None:
    """``e`` then letters in one write: the chart had the focus when they were routed, and the
    editor's title none yet, so they were lost. Now ``e`` opens the editor first and the keys
    wait for its title to take the focus."""
    with finished_run_page(tmp_path, "e-xy", (100, 30)) as term:
        term.keys("2")
        term.wait_for("e Edit")
        term.keys("e", "X", "Y")  # one send-keys: one write to the terminal
        term.wait_for("lossXY")  # the title, the chart's name with the letters after it
        term.keys("Escape")  # cancelled: the chart keeps its name
        term.wait_for("e Edit")
        term.keys("/", "e")  # and in the search box, e is text: it searches, no editor opens
        screen = term.wait_for("0/1 charts")
        assert "edit chart" not in screen


def test_o_and_a_search_sent_at_once_search_the_column_picker(tmp_path: Path) -> None:
    """``o`` then letters in one write, in the table of runs: the picker's search had no focus
    yet when they were routed, and they were lost. Now they search its columns."""
    finished_run(tmp_path, "columns")
    command = f"cd {tmp_path} && env -u RUNVIEW_DIR TERM=xterm-256color {sys.executable} -m runview"
    term = viewer_in_tmux(100, 30, command)
    try:
        term.wait_for("1 run")
        term.keys("o", "l", "o", "s", "s")  # one send-keys: one write to the terminal
        term.wait_for("│  loss ")  # typed into the picker's search
        term.keys("Escape")
        term.wait_gone("summary  loss")
        term.keys("/", "o", "z")  # in the table's filter box, o is text
        screen = term.wait_for("0 of 1 shown")
        assert "Columns ─" not in screen
    finally:
        term.close()


def test_g_and_a_search_sent_at_once_search_the_grouping_picker(tmp_path: Path) -> None:
    """``g`` then letters in one write, on a comparison: as ``o`` in the table of runs."""
    import runview

    runs = []
    for seed in (0, 1):
        run = runview.init(
            project="p",
            dir=tmp_path / "runs",
            config={"seed": seed, "lr": 0.1 * (seed + 1)},
            console=False,
            system_interval=None,
        )
        run.log({"loss": 1.0})
        run.finish()
        runs.append(str(run.dir))
    command = f"TERM=xterm-256color {sys.executable} -m runview {' '.join(runs)}"
    term = viewer_in_tmux(100, 30, command)
    try:
        term.wait_for("comparing 2 runs")
        term.wait_for("g Group")
        term.keys("g", "s", "e")  # one send-keys: one write to the terminal
        term.wait_for("│  se ")  # typed into the picker's search
    finally:
        term.close()


def test_a_key_right_behind_the_one_that_opens_a_page_is_for_that_page(tmp_path: Path) -> None:
    """Enter ``5`` on a run in the table, and ``c2`` with two marked, in one write each: the
    digit was routed to the table before the page existed, and lost. Now it opens that tab of
    the page the first key opened."""
    for name in ("first", "second"):
        finished_run(tmp_path, name)
    command = f"cd {tmp_path} && env -u RUNVIEW_DIR TERM=xterm-256color {sys.executable} -m runview"
    term = viewer_in_tmux(100, 30, command)
    try:
        term.wait_for("2 runs")
        term.keys("Enter", "5")  # one send-keys: one write to the terminal
        term.wait_for("w Wrap")  # the Logs tab's footer
        term.keys("BSpace")
        term.wait_for("2 runs")
        term.keys("space", "Down", "space")
        term.wait_for("2 marked")
        term.keys("c", "2")
        screen = term.wait_for("s Smooth")  # the comparison's Charts tab
        assert "comparing 2 runs" in screen
    finally:
        term.close()


LOGGED = """
import sys, runview
run = runview.init(project="p", name="redrawn", dir=sys.argv[1], system_interval=None)
print("a line of the log")
run.finish()
"""


def test_the_screen_is_drawn_whole_after_the_pager_and_on_ctrl_l(tmp_path: Path) -> None:
    """runview sends only the cells that differ from what it last drew, whole screens included:
    when something else has drawn on the terminal it must draw everything again."""
    run_script(write_script(tmp_path / "train.py", LOGGED), str(tmp_path / "runs"))
    run_dir = only_run_dir(tmp_path / "runs")
    marker = tmp_path / "pager-ran"
    paging = f"#!/bin/sh\nseq 100 | sed s/^/PAGER-/\ntouch {marker}\n"  # a screenful, then gone
    pager = write_script(tmp_path / "pager", paging)
    pager.chmod(0o755)
    command = f"PAGER={pager} TERM=xterm-256color {sys.executable} -m runview {run_dir}"
    term = viewer_in_tmux(80, 24, command)
    try:
        term.wait_for("redrawn")
        term.keys("5")
        term.wait_for("a line of the log")
        term.keys("p")  # the app is suspended, the pager draws, the app comes back
        assert poll(marker.exists, 30)
        screen = term.wait_for("a line of the log")  # drawn again, though it had not changed
        assert "redrawn" in screen and "PAGER-" not in screen, screen
        tty = term.tmux("display-message", "-p", "#{pane_tty}").strip()
        with open(tty, "w") as other_program:  # as `wall`, or a process writing to the tty
            other_program.write("\x1b[3;3HSCRIBBLED-OVER")
        term.wait_for("SCRIBBLED-OVER")
        term.keys("C-l")
        assert "a line of the log" in term.wait_gone("SCRIBBLED-OVER")
    finally:
        term.close()


def test_the_demo_shows_its_artifacts_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    # The demo's job writes its data and checkpoints to a temporary folder; the job is stopped
    # with SIGTERM when you quit, so the launcher removes the folder once the job has ended.
    temp = tmp_path / "tmp"
    temp.mkdir()
    command = (
        f"cd {tmp_path} && env -u RUNVIEW_DIR TMPDIR={temp} TERM=xterm-256color "
        f"{sys.executable} -m runview demo --pace 0.01 --tab artifacts; sleep 60"
    )
    term = Tmux(100, 30, command)
    try:
        term.wait_for("spirals-mlp")  # the page's title
        assert poll(lambda: list(temp.glob("runview-demo-*")), 30), "no temporary folder"
        term.wait_for("dataset")  # the data, logged as an artifact at the start
        term.wait_for("best, latest")  # a checkpoint: logged as a model, the best so far
        term.keys("q")
        term.wait_for("reopen it with")
        assert poll(lambda: not list(temp.glob("runview-demo-*")), 20), list(temp.iterdir())
    finally:
        term.close()
