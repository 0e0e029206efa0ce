"""Run directories written by hand, file by file, as a third-party logger would write them.

Used where a test needs many runs, a state the real logger only reaches slowly (a crash), or a
directory the logger would never write (half-written, a newer format).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

_counter = iter(range(10**9))


def write_run(
    root: Path,
    project: str = "p",
    name: str | None = None,
    *,
    state: str = "finished",
    config: dict[str, Any] | None = None,
    summary: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    started: float | None = None,
    runtime: float = 60.0,
    host: str = "gpu-01",
    exit_code: int | None = None,
    error: dict[str, Any] | None = None,
    dirname: str | None = None,
    history_rows: int = 3,
) -> Path:
    """A run directory under ``root/project``; its name sorts by ``started`` like the logger's."""
    number = next(_counter)
    started = started if started is not None else 1_790_000_000.0 + number
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    run = root / project / (dirname or f"{stamp}-r{number:07d}")
    run.mkdir(parents=True)
    _write(run / "runview.json", {"format": "runview", "version": 1})
    meta = {
        "id": f"r{number:07d}",
        "name": name or f"run-{number}",
        "project": project,
        "start_time": started,
        "host": host,
        "tags": tags or [],
    }
    _write(run / "meta.json", meta)
    _write(run / "config.json", config or {})
    _write(run / "summary.json", summary or {})
    status: dict[str, Any] = {"state": state, "started": started, "heartbeat_interval": 2.0}
    if state == "running":
        status.update(heartbeat=time.time(), hostname=socket.gethostname(), pid=os.getpid())
    elif state == "crashed":  # a writer that stopped beating long ago, on another machine
        status.update(state="running", heartbeat=started + runtime, hostname="elsewhere")
    else:
        status.update(heartbeat=started + runtime, ended=started + runtime)
        status["exit_code"] = (
            exit_code if exit_code is not None else (0 if state == "finished" else 1)
        )
        if error:
            status["error"] = error
    _write(run / "status.json", status)
    with open(run / "history.jsonl", "w") as fh:
        for step in range(history_rows):
            fh.write(json.dumps({"_step": step, "_time": started + step, "loss": 1.0 / (step + 1)}))
            fh.write("\n")
    return run


def update(run: Path, name: str, **fields: Any) -> None:
    """Merge ``fields`` into one of the run's documents, replaced atomically as the format says."""
    path = run / name
    document = json.loads(path.read_text()) if path.exists() else {}
    document.update(fields)
    _write(path, document)


def _write(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document))
    os.replace(tmp, path)
