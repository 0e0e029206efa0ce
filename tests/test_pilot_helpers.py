"""The UI tests' own waits (``tests/pilot.py``): a wait that never ends hangs the whole suite."""

from __future__ import annotations

import asyncio

from textual.app import App

from tests.pilot import settle, until


class Box:
    width = 0.0


async def test_settle_returns_once_the_app_has_stopped_with_an_animation_left() -> None:
    # "q" right after a tab change: the app stops, its animator with it, and then the tab bar's
    # underline (moved 20 ms after the change) starts an animation that nothing will run. The key
    # press's settle waited for it to end, forever (the suite's 900 s timeout, on CI).
    app = App()
    async with app.run_test() as pilot:
        app.exit()
        await until(lambda: not app.is_running, "the app did not stop")
        app.animator.animate(Box(), "width", 10.0, duration=60)
        assert app.animator._animations  # left, with no timer to run it
        await asyncio.wait_for(settle(pilot), timeout=30)
