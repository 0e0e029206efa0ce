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
    data = json.dumps(document, ensure_ascii=False, allow_nan=False, default=str).encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)  # never leave a half-written temp file behind
        except OSError:
            pass
        raise
