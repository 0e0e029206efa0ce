"""Helpers for driving the real app with Pilot: waiting on a condition, reading the screen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.css.query import NoMatches
from textual.message import Message
from textual.notifications import Notification, Notify

from runview.tui.app import RunviewApp
from runview.tui.run_page import RunPage
from runview.tui.textual_private import screen_strips


async def wait_for(
    pilot: Any,
    predicate: Callable[[], object],
    timeout: float = 30.0,
    explain: Callable[[], str] | None = None,
) -> None:
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` seconds, saying what the
    screen showed (or what ``explain()`` says). A widget the predicate queries that is not mounted
    yet (a run page mounts its tabs after its first frame) means the condition does not hold
    yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except NoMatches:
            pass
        await pilot.pause(0.05)
    assert predicate(), (
        explain()
        if explain
        else f"condition not met in {timeout:g} s; the screen then:\n{_last_screen(pilot)}"
    )


async def until(condition: Callable[[], object], failure: str, timeout: float = 30) -> None:
    """Until ``condition()`` holds, ``failure`` said after ``timeout`` seconds. For waits that
    cannot go through Pilot's: it waits for the screen's queues (held while a page's build is
    held), and for an app that has stopped there is none."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.02)


async def settle(pilot: Any, rounds: int = 50) -> None:
    """Until nothing the app or the screen on show holds is left to handle (each round lets the
    messages queued so far be handled; those they queued are the next round's)."""
    for _ in range(rounds):
        await pilot._wait_for_screen()
        app = pilot.app
        try:
            nodes = [app, *app.screen.walk_children(with_self=True)]
        except Exception:  # no screen (the app is closing)
            return
        if not all(node._message_queue.empty() for node in nodes):
            continue
        if app.animator._animations or app.animator._scheduled:  # a scroll the key started
            if not app.is_running:
                # Closing ("q"): its animator is stopped, and an animation a widget still starts
                # (the tab bar's underline, 20 ms after a tab change) would never end.
                return
            await app.animator.wait_until_complete()  # also set when the animator stops
            continue
        return


def footer_text(app: Any) -> str:
    """The screen's last row: the footer's keys."""
    return screen_text(app).rstrip().splitlines()[-1]


def footer_has(app: Any, *keys: str) -> bool:
    """The footer lists ``keys``. (It is recomposed when its keys change: for a moment the screen's
    last row is another, so a key's absence alone says nothing.)"""
    footer = footer_text(app)
    return all(key in footer for key in keys)


def _last_screen(pilot: Any) -> str:
    """What the screen showed when a wait failed, for the failure's message (a CI log is all there
    is to go on when a test fails only on a loaded machine)."""
    try:
        return screen_text(pilot.app)
    except Exception as exc:  # no screen yet, or one being torn down
        return f"(unreadable: {exc!r})"


def page(app: RunviewApp) -> RunPage:
    """The run page under whatever modal is open (NoMatches until the app has pushed one)."""
    for screen in reversed(app.screen_stack):
        if isinstance(screen, RunPage):
            return screen
    raise NoMatches("no run page open yet")


def screen_text(app: RunviewApp) -> str:
    """What the user reads: every cell of the current screen as plain text."""
    return "\n".join(
        "".join(segment.text for segment in strip) for strip in screen_strips(app.screen)
    )


async def help_lists(pilot: Any, app: RunviewApp, expected: tuple[str, ...]) -> None:
    """Open ``?`` and wait until it lists every one of ``expected`` (spaces and wrapping aside)."""
    await pilot.press("question_mark")

    def shown() -> str:
        return " ".join(screen_text(app).split())

    await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
    await wait_for(pilot, lambda: all(text in shown() for text in expected))


class Notices:
    """The notifications an app shows; pass ``notices.hook`` as ``run_test(message_hook=...)``."""

    def __init__(self) -> None:
        self.shown: list[Notification] = []

    def hook(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.shown.append(message.notification)

    @property
    def messages(self) -> list[str]:
        return [notification.message for notification in self.shown]
