"""Start-up: the run page's first frame is its header with the run's name; the tab bar, the tabs
and the footer are mounted after it is painted, and keys typed meanwhile are not lost."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input, Tabs

import runview
from runview.tui.app import RunviewApp
from runview.tui.run_page import RunPage
from tests.pilot import page, screen_text, until, wait_for
from tests.test_terminal import Tmux

CSI = re.compile(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)")


def make_run(run_root: Path) -> Path:
    run = runview.init(
        project="mnist", name="first-frame", dir=run_root, console=False, system_interval=None
    )
    for step in range(10):
        run.log({"train/loss": 1 / (step + 1), "val/acc": step / 10})
    run.finish()
    return Path(run.dir)


def hold_the_build(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Run pages build their tabs only once the returned event is set: the header alone stays on
    screen for as long as a test needs (a slow machine's start-up, made to last)."""
    release = asyncio.Event()
    build = RunPage._build

    async def build_when_released(self: RunPage) -> None:
        await release.wait()
        await build(self)

    monkeypatch.setattr(RunPage, "_build", build_when_released)
    return release


async def keys_held(app: RunviewApp, count: int) -> None:
    """Until the run page holds ``count`` keys."""
    await until(
        lambda: len(page(app)._held_keys) >= count,
        f"fewer than {count} keys held",
    )


def terminal_text_until(argv: list[str], needles: tuple[bytes, ...], timeout: float = 120) -> bytes:
    """What ``argv``, run in a real pty at 160x48, writes to its terminal (escape sequences
    removed) until every one of ``needles`` has appeared."""
    import fcntl
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.environ["TERM"] = "xterm-256color"
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    raw = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    raw += os.read(fd, 65536)
                except OSError:
                    break
                text = CSI.sub(b"", raw)
                if all(needle in text for needle in needles):
                    return text
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    raise AssertionError(f"{needles!r} not all on the terminal: {CSI.sub(b'', raw)[-2000:]!r}")


def test_the_first_frame_is_the_header_with_the_runs_name_then_the_tabs(run_root: Path) -> None:
    """``runview RUN`` in a real terminal: the run's title (meta.json, read by the command line)
    is written before anything of the tab bar, and the Overview follows."""
    run_dir = make_run(run_root)
    text = terminal_text_until(
        [sys.executable, "-m", "runview", str(run_dir)],
        (b"mnist / first-frame", b"1 Overview", b"val/acc"),
    )
    assert text.index(b"mnist / first-frame") < text.index(b"1 Overview")
    assert run_dir.name.encode() not in text[: text.index(b"mnist / first-frame")]


async def test_keys_typed_before_the_tabs_exist_are_handled_once_they_do(
    run_root: Path, monkeypatch
) -> None:
    """Keys that arrive while only the header is on screen wait, then go where they would have
    gone typed a moment later: ``/`` opens the Overview's filter box, the rest is typed in, a
    ``q`` too (q quits from the page: it waits its turn behind the keys held before it)."""
    run_dir = make_run(run_root)
    release = hold_the_build(monkeypatch)
    app = RunviewApp(run_dir, run_title="mnist / first-frame")  # as the command line opens it
    async with app.run_test(size=(100, 30)) as pilot:
        try:
            # Not Pilot's waits: they wait for the page's queue, which waits on the build.
            await until(
                lambda: "mnist / first-frame" in screen_text(app),
                "the header never showed the run's name",
            )
            assert not page(app).ready and not page(app).query(Tabs)  # the header alone
            for key, character in (("slash", "/"), *((c, c) for c in "lq")):
                app.post_message(events.Key(key, character))  # one burst, as the driver posts
            await keys_held(app, 3)
            assert not page(app).query(Tabs)
        finally:
            release.set()
        await wait_for(pilot, lambda: page(app).ready)

        def typed() -> str:
            box = app.screen.query_one("#kv-filter", Input)
            return box.value if box.has_focus else ""

        await wait_for(pilot, lambda: typed() == "lq")
        summary = app.screen.query_one("#summary-table")
        await wait_for(pilot, lambda: summary.shown_keys == [])  # no summary key matches "lq"
        assert app.return_code is None


async def test_the_reader_starts_once_the_header_is_painted_not_once_the_tabs_are_built(
    run_root: Path, monkeypatch
) -> None:
    """The reader thread waits for the first frame (its imports would hold the interpreter from
    that paint), not for the tab bar and the tabs: it reads the run while they are built."""
    import threading

    from runview.store.reader import RunReader
    from runview.tui import run_page

    read = threading.Event()
    refresh = RunReader.refresh

    def refresh_and_tell(self: RunReader, *args: object, **kwargs: object) -> object:
        read.set()
        return refresh(self, *args, **kwargs)

    monkeypatch.setattr(RunReader, "refresh", refresh_and_tell)
    monkeypatch.setattr(run_page, "PAINT_WAIT_S", 600.0)  # no timeout lets it go instead
    run_dir = make_run(run_root)
    release = hold_the_build(monkeypatch)
    app = RunviewApp(run_dir, run_title="mnist / first-frame")
    async with app.run_test(size=(100, 30)) as pilot:
        try:
            await until(read.is_set, "the reader waited for the tabs")
            assert not page(app).query(Tabs)  # the build is still held
        finally:
            release.set()
        await wait_for(pilot, lambda: page(app).ready and page(app).snapshot is not None)


async def test_a_page_opened_without_its_title_reads_it_first(run_root: Path) -> None:
    """A run opened from the table or a comparison has no title yet: the header shows the
    folder's name, then the title from meta.json, and the page is built all the same."""
    run_dir = make_run(run_root)
    app = RunviewApp(run_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "mnist / first-frame" in screen_text(app))
        await wait_for(pilot, lambda: page(app).ready and page(app).snapshot is not None)
        assert "1 Overview" in screen_text(app)


async def test_a_finished_run_changed_while_its_page_opens_is_read_again(run_root: Path) -> None:
    """A finished run is watched only once its page has drawn (the watcher would compete with
    the drawing); a row appended meanwhile is read all the same."""
    run_dir = make_run(run_root)
    app = RunviewApp(run_dir, run_title="mnist / first-frame")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: page(app).snapshot is not None)
        assert "late/metric" not in page(app).snapshot.history.keys
        with open(run_dir / "history.jsonl", "a", encoding="utf-8") as fh:
            fh.write(f'{{"_step": 10, "_time": {time.time()}, "late/metric": 1.5}}\n')
        await wait_for(pilot, lambda: "late/metric" in page(app).snapshot.history.keys)


async def test_a_tab_key_typed_before_the_tabs_exist_opens_that_tab(
    run_root: Path, monkeypatch
) -> None:
    """A digit held while the page is built is a page binding once it is: it opens that tab (a
    key re-posted by the page itself would stop bubbling at the page, short of the bindings)."""
    run_dir = make_run(run_root)
    release = hold_the_build(monkeypatch)
    app = RunviewApp(run_dir, run_title="mnist / first-frame")
    async with app.run_test(size=(100, 30)) as pilot:
        try:
            await until(lambda: isinstance(app.screen, RunPage), "the run page was never pushed")
            app.post_message(events.Key("5", "5"))
            await keys_held(app, 1)
        finally:
            release.set()
        await wait_for(pilot, lambda: getattr(page(app).current_tab, "tab_name", "") == "logs")


async def test_a_key_typed_while_the_charts_tab_is_built_waits_for_its_charts(
    run_root: Path, monkeypatch
) -> None:
    """``runview --tab charts RUN`` and Enter at once: Enter maximises the first chart, though the
    charts exist only once the tab's first snapshot is laid out, after the tab is mounted."""
    run_dir = make_run(run_root)
    release = hold_the_build(monkeypatch)
    app = RunviewApp(run_dir, tab="charts", run_title="mnist / first-frame")
    async with app.run_test(size=(100, 30)) as pilot:
        try:
            await until(lambda: isinstance(app.screen, RunPage), "the run page was never pushed")
            app.post_message(events.Key("enter", None))
            await keys_held(app, 1)
        finally:
            release.set()
        await wait_for(pilot, lambda: page(app).ready)
        board = page(app).current_tab.board
        await wait_for(pilot, lambda: board.maximised is not None)


@pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)
def test_a_key_typed_while_the_viewer_starts_is_not_lost(run_root: Path) -> None:
    """``5`` typed at once after ``runview RUN`` (before Python has even started) opens Logs."""
    run_dir = make_run(run_root)
    term = Tmux(100, 30, f"TERM=xterm-256color {sys.executable} -m runview {run_dir}; sleep 30")
    try:
        term.keys("5")
        term.wait_for("w Wrap")  # the Logs tab's footer
        assert "5 Logs" in term.screen()
    finally:
        term.close()


async def test_a_reader_failing_before_the_tabs_exist_leaves_keys_for_them(
    run_root: Path, monkeypatch
) -> None:
    """The reader starts once the name is painted: on a loaded machine it can fail before the
    page has built its tabs. The page must not call itself ready then: a digit typed meanwhile
    acted on a tab bar that did not exist (a crash); it waits for the tabs, and opens its tab."""
    import threading

    from runview.store.reader import RunReader

    def refresh(self: RunReader, max_bytes: int | None = None) -> None:
        raise OSError("the disk went away")

    ended = threading.Event()
    ended_unanswered = RunPage.worker_ended_unanswered

    def tell_ended(self: RunPage, worker: object) -> None:
        ended_unanswered(self, worker)
        ended.set()

    monkeypatch.setattr(RunReader, "refresh", refresh)
    monkeypatch.setattr(RunPage, "worker_ended_unanswered", tell_ended)
    monkeypatch.setattr(RunPage, "on_mount", lambda self: self.read_run())  # built when told
    run_dir = make_run(run_root)
    app = RunviewApp(run_dir, run_title="mnist / first-frame")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, ended.is_set)
        assert not page(app).ready and not page(app).query(Tabs)
        await pilot.press("2")  # held: there is no tab bar yet
        page(app).call_later(page(app)._build)
        await wait_for(pilot, lambda: page(app).ready and page(app).current_tab is not None)
        await wait_for(pilot, lambda: page(app).current_tab.tab_name == "charts")
