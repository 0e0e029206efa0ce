"""The boards' reduction thread: one long-lived thread that runs the newest request, and a live
Charts tab that reduces its charts without a Textual worker per update."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual.worker import Worker

from runview.tui.app import RunviewApp
from runview.tui.widgets.chart_reducer import NewestOnlyThread
from tests.pilot import wait_for
from tests.test_charts_tab import make_run, open_charts


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


def test_a_newer_task_cancels_the_running_one_replaces_a_waiting_one_and_errors_are_reported() -> (
    None
):
    errors: list[BaseException] = []
    runner = NewestOnlyThread("test-reducer", errors.append)
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []
    seen_cancelled: list[bool] = []

    def first(cancelled):
        started.set()
        release.wait(30)
        seen_cancelled.append(cancelled())  # a newer task came meanwhile
        ran.append("first")

    runner.submit(first)
    assert started.wait(30)
    assert runner.busy
    runner.submit(lambda cancelled: ran.append("second"))  # waits, then is replaced ...
    runner.submit(lambda cancelled: ran.append("third"))  # ... by this one
    release.set()
    wait_until(lambda: not runner.busy)
    assert ran == ["first", "third"]
    assert seen_cancelled == [True]

    def failing(cancelled):
        raise RuntimeError("reduction exploded")

    runner.submit(failing)
    wait_until(lambda: errors)  # reported ...
    assert [str(e) for e in errors] == ["reduction exploded"]
    runner.submit(lambda cancelled: ran.append(f"after, cancelled={cancelled()}"))
    wait_until(lambda: ran[-1].startswith("after"))  # ... and the thread goes on
    assert ran[-1] == "after, cancelled=False"

    thread = runner._thread
    runner.stop()
    assert thread is not None
    thread.join(10)
    assert not thread.is_alive()
    runner.submit(lambda cancelled: ran.append("restarted"))  # a later request starts another
    wait_until(lambda: ran[-1] == "restarted")
    runner.stop()


async def test_a_live_charts_tab_reduces_without_a_textual_worker_per_update(
    run_root: Path,
) -> None:
    run = make_run(run_root, steps=20, finish=False)
    workers: list[object] = []
    try:
        app = RunviewApp(run.dir, tab="charts")
        async with app.run_test(
            size=(120, 40),
            message_hook=lambda m: (
                workers.append(m.worker) if isinstance(m, Worker.StateChanged) else None
            ),
        ) as pilot:
            b = await open_charts(pilot, app)
            chart = b.charts["train/loss"]
            requests = b.requests
            for step in range(20, 60):
                run.log({"train/loss": 1 / (step + 1)})
                if step % 10 == 0:
                    await pilot.pause(0.3)
            await wait_for(pilot, lambda: chart.data.points == 60)
            assert b.requests > requests  # live updates were reduced ...
            charts_workers = [w for w in workers if getattr(w, "group", "") == "charts"]
            assert charts_workers == []  # ... by the board's own thread
    finally:
        run.finish()
