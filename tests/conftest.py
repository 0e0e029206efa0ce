"""Shared fixtures: real run directories made by the real logger, and real subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import textual.app
from textual.pilot import Pilot

from tests.hang_report import HangReport


@pytest.fixture
def writev_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """Every ``os.writev`` from now on, as (thread, descriptor, bytes written); the real call
    still writes."""
    calls: list[tuple[int, int, int]] = []
    real_writev = os.writev

    def watched_writev(fd: int, buffers) -> int:
        written = real_writev(fd, buffers)
        calls.append((threading.get_ident(), fd, written))
        return written

    monkeypatch.setattr(os, "writev", watched_writev)
    return calls


@pytest.fixture(scope="session")
def hang_report(pytestconfig: pytest.Config) -> HangReport | None:
    timeout = float(pytestconfig.getoption("timeout") or pytestconfig.getini("timeout") or 0)
    return HangReport(after_s=timeout - 30) if timeout > 60 else None


@pytest.fixture(autouse=True)
def report_what_a_hung_test_awaits(
    request: pytest.FixtureRequest, hang_report: HangReport | None
) -> Iterator[None]:
    """A test that hangs (a UI test awaiting an event nobody sets) prints its event loop's tasks
    30 s before pytest-timeout stops the run; the threads' stacks it prints say nothing of them."""
    if hang_report is None:
        yield
        return
    hang_report.arm(request.node.nodeid)
    yield
    hang_report.disarm()


@pytest.fixture
def run_root(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    return root


def write_script(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


def run_script(
    path: Path, *args: str, timeout: float = 60, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run a training script with this interpreter, as a user would."""
    env = dict(os.environ)
    env.pop("RUNVIEW_DIR", None)
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kwargs,  # type: ignore[arg-type]
    )


def only_run_dir(root: Path) -> Path:
    """The one run directory under ``root`` (project/<time>-<id>)."""
    found = [p for p in root.glob("*/*") if (p / "runview.json").exists()]
    assert len(found) == 1, found
    return found[0]


# The column helper runs in the idle scheduling class while its run lasts: when other processes
# keep every core busy it gets almost no CPU (by design: training comes first), and where it may
# not leave that class after the run either (an unprivileged user), a test waiting on it waits long.
HELPER_WAIT_S = 300.0


def final_index(run_dir: Path, timeout: float = HELPER_WAIT_S) -> dict:
    """The index the column helper writes last, once it has caught up after the run ended."""
    assert os.environ.get("RUNVIEW_COLUMNS") != "0", "mark the test column_helper: no helper runs"
    path = run_dir / "columns" / "index.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            index = json.loads(path.read_bytes())
            if index.get("final"):
                return index
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"no final columns index in {timeout} s")


def lend_cpu(helper_pid: int, timeout: float = HELPER_WAIT_S) -> None:
    """Move a run's column helper out of the idle class, where the system allows it, for a test
    about something else than its priority: while other processes keep every core busy, the
    idle class gets no CPU until the run ends, and a test waiting for columns written mid-run
    would wait in vain. Its nice of 10 stays."""
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is None:
        return
    deadline = time.monotonic() + timeout
    try:
        while os.sched_getscheduler(helper_pid) != idle:  # it enters the class as it starts
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        os.sched_setscheduler(helper_pid, os.SCHED_OTHER, os.sched_param(0))
    except OSError:  # gone already, or not allowed (RLIMIT_NICE): it keeps the idle class
        pass


@pytest.fixture(autouse=True)
def no_column_helper_unless_asked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs a test starts have no column helper, unless the test is marked ``column_helper``.

    A run's helper is a process of its own that imports numpy and parses the history: hundreds of
    them would cost the suite much CPU, and on a machine whose cores other processes keep
    busy they starve in the idle class (as designed: training comes first) while the tests that
    started them go on. And without a helper a test's viewer reads the same path every time: with
    one, it read columns or the JSONL depending on whether the helper had finished. Tests of the
    columns, and of the viewer reading them, are marked and wait for them (``final_index``).
    """
    if request.node.get_closest_marker("column_helper") is None:
        monkeypatch.setenv("RUNVIEW_COLUMNS", "0")


@pytest.fixture(autouse=True)
def private_state_and_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the user's real view state or column cache."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("RUNVIEW_STATE_DIR", str(base / "state"))
    monkeypatch.setenv("RUNVIEW_CACHE_DIR", str(base / "cache"))


async def _no_idle_wait(*_args: object, **_kwargs: object) -> None:
    await asyncio.sleep(0)


_press_keys = textual.app.App._press_keys


async def _press_keys_one_by_one(self: textual.app.App, keys: object) -> None:
    """Send each key once the app has handled the one before: until the app and every widget
    of the screen on show have emptied their message queues, messages the key led to included
    (a key forwarded to the focused widget, an Input's Submitted, a screen pushed), and
    any animation it started (a scroll) has ended."""
    from tests.pilot import settle  # the app's modules, imported by UI tests only

    pilot = Pilot(self)
    for key in keys:  # type: ignore[attr-defined]
        await _press_keys(self, (key,))
        await settle(pilot)


@pytest.fixture(autouse=True)
def keys_wait_on_the_app_not_the_cpu_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pilot waits after each key until the whole process looks idle by its CPU clock (at most
    1 s, twice a key). A live run, a worker thread or a timer in the process keeps that clock
    moving, so the UI tests spent much of their time there, and on a loaded machine, where the
    process gets less CPU, the clock says idle before the key was handled. Waiting on the app's
    message queues instead is both exact and quick; keys still arrive one after another, in
    order."""
    monkeypatch.setattr(textual.app, "wait_for_idle", _no_idle_wait)
    monkeypatch.setattr(textual.app.App, "_press_keys", _press_keys_one_by_one)
