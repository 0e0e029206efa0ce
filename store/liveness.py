"""Decide whether a run that says "running" still is: heartbeat age and, on the same machine, its
pid."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from runview.store import format as fmt

STALE_HEARTBEATS = 5  # missed heartbeats before a run with no provable process is crashed
MIN_STALE_S = 15.0


@dataclass(frozen=True)
class Liveness:
    state: str  # running, finished, failed, crashed, unknown
    reason: str  # one line for the user: why this state


def judge(status: dict[str, Any] | None, now: float) -> Liveness:
    """The effective state of a run from its status document, seen from this machine now."""
    if not status:
        return Liveness("unknown", "no status.json yet")
    state = status.get("state")
    if state == fmt.STATE_FINISHED:
        return Liveness(state, "finished")
    if state == fmt.STATE_FAILED:
        return Liveness(state, _failure_reason(status))
    if state != fmt.STATE_RUNNING:
        return Liveness("unknown", f"unknown state {state!r} in status.json")
    gone = _process_gone(status)
    if gone:
        return Liveness(fmt.STATE_CRASHED, gone)
    interval = _number(status.get("heartbeat_interval"), 2.0)
    heartbeat = _number(status.get("heartbeat"), 0.0)
    stale_after = max(STALE_HEARTBEATS * interval, MIN_STALE_S)
    age = now - heartbeat
    if gone is None and age > stale_after:
        return Liveness(fmt.STATE_CRASHED, f"no heartbeat for {age:.0f} s")
    return Liveness(fmt.STATE_RUNNING, "running")


def _failure_reason(status: dict[str, Any]) -> str:
    error = status.get("error") or {}
    parts = []
    if error.get("signal"):
        parts.append(f"killed by {error['signal']}")
    if error.get("type"):
        parts.append(f"{error['type']}: {error.get('message', '')}".strip().rstrip(":"))
    elif error.get("message") and not error.get("signal"):
        parts.append(str(error["message"]))
    if status.get("exit_code") not in (None, 0):
        parts.append(f"exit code {status['exit_code']}")
    return "; ".join(parts) or "failed"


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) else default


def _process_gone(status: dict[str, Any]) -> str | None | bool:
    """A reason when the writer's process is provably gone; False when provably alive; None if
    unknown."""
    pid = status.get("pid")
    if not isinstance(pid, int) or status.get("hostname") != socket.gethostname():
        return None
    try:
        import psutil
    except ImportError:
        return None
    try:
        if abs(psutil.boot_time() - _number(status.get("boot_time"), -1e9)) > 2.0:
            return None  # another boot (or a host with the same name): cannot prove anything
        namespace = os.readlink("/proc/self/ns/pid")
    except (OSError, AttributeError):
        namespace = None
    if status.get("pid_namespace") and namespace and status["pid_namespace"] != namespace:
        return None  # another pid namespace (a container): the heartbeat decides
    try:
        proc = psutil.Process(pid)
        started = proc.create_time()
        zombie = proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return f"process {pid} is gone (no finish recorded)"
    except (psutil.AccessDenied, OSError):
        return None
    if zombie:
        return f"process {pid} exited without finishing (zombie)"
    expected = status.get("process_start")
    if isinstance(expected, (int, float)) and abs(started - expected) > 1.0:
        return f"process {pid} is gone (pid reused by another process)"
    return False
