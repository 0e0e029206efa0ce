"""``runview info``: a run's facts as one JSON document for scripts, or as plain text."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import IO, Any

from runview.store.failure import Failure
from runview.store.reader import RunSnapshot


def run_facts(path: Path, snapshot: RunSnapshot) -> dict[str, Any]:
    """The document ``runview info --json`` prints (its shape is documented in the README)."""
    status = snapshot.status
    failure = Failure.from_status(status)
    error: dict[str, Any] | None = None
    if failure is not None:
        location = failure.location
        error = {
            "type": failure.type or None,
            "message": failure.message or None,
            "signal": failure.signal or None,
            "location": str(location) if location else None,
            "traceback": failure.traceback or None,
        }
    start = snapshot.meta.get("start_time") or status.get("started")
    return {
        "path": str(path),
        "name": snapshot.name,
        "project": snapshot.meta.get("project"),
        "id": snapshot.meta.get("id"),
        "status": snapshot.liveness.state,
        "reason": snapshot.liveness.reason,
        "exit_code": status.get("exit_code"),
        "started": start if isinstance(start, (int, float)) else None,
        "ended": status.get("ended"),
        "runtime": snapshot.runtime,
        "steps": snapshot.history.rows,
        "error": error,
        "meta": snapshot.meta,
        "config": snapshot.config,
        "summary": snapshot.summary,
        "problems": list(snapshot.problems),
    }


def print_info(document: dict[str, Any], out: IO[str] | None = None) -> None:
    """Plain, sanitised text. A terminal gets its width; a pipe gets whole lines, unpadded."""
    from rich.table import Table
    from rich.text import Text

    from runview.tui.safe_text import safe_text
    from runview.tui.widgets.kv_table import flatten, format_value
    from runview.tui.widgets.status_badge import format_duration

    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    meta = document["meta"]
    status = document["status"]
    reason = document["reason"]
    error = document.get("error") or {}
    for label, value in (
        ("name", document["name"]),
        ("project", document["project"]),
        ("id", document["id"]),
        ("status", status + ("" if reason == status else f" — {reason}")),
        ("raised at", error.get("location")),
        ("exit code", document["exit_code"]),
        ("runtime", format_duration(document["runtime"])),
        ("steps", document["steps"]),
        ("host", meta.get("host")),
        ("command", " ".join(str(a) for a in meta.get("argv") or [])),
        ("git", (meta.get("git") or {}).get("commit")),
        ("path", document["path"]),
    ):
        if value not in (None, ""):
            head.add_row(Text(label), safe_text(value))
    blocks: list[Any] = [head]
    for title in ("config", "summary"):
        values = flatten(document[title])
        if not values:
            continue
        table = Table(
            title=title, title_justify="left", show_header=False, box=None, padding=(0, 2)
        )
        table.add_column(style="bold")
        table.add_column()
        for key, value in sorted(values.items()):
            table.add_row(safe_text(key), safe_text(format_value(value)))
        blocks.append(table)
    blocks.extend(safe_text(f"! {problem}", style="yellow") for problem in document["problems"])
    print_blocks(blocks, out)


def print_blocks(blocks: list[Any], out: IO[str] | None = None) -> None:
    """Print rich renderables: a terminal gets its width; a pipe whole lines, unpadded."""
    from rich.console import Console

    out = out or sys.stdout
    terminal = out.isatty()
    # A pipe is read by scripts and pagers: never wrap a path, never pad a line with spaces.
    width = shutil.get_terminal_size().columns if terminal else 100_000
    console = Console(file=out, highlight=False, width=width, force_terminal=terminal or None)
    if terminal:
        for block in blocks:
            console.print(block)
        return
    with console.capture() as captured:
        for block in blocks:
            console.print(block)
    out.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
