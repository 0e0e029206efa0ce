"""Replace a small document atomically: write a temp file beside it, then rename over it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, document: Any) -> None:
    """Write ``document`` as JSON to ``path`` so a reader sees the old or the new file, never half.

    No fsync: a power cut may lose the newest version, never produce a torn one on the common
    Linux filesystems (rename is ordered after the data on ext4's default and xfs).
    """
    write_atomic(path, json_bytes(document))


def json_bytes(document: Any) -> bytes:
    """``document`` as UTF-8 JSON, as the documents of a run are written."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False, default=str).encode("utf-8")


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may take less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` through a temporary file beside it (see write_json_atomic).

    Four system calls (open, write, close, rename): the logger's heartbeat thread calls this
    while training runs, and each call gives the GIL away and must win it back.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)  # never leave a half-written temp file behind
        except OSError:
            pass
        raise
