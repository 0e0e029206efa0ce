"""Copies taken when a file is added to an artifact (``policy="mutable"``), kept until the
version is committed, in a folder its process holds a lock on so ``runview gc`` leaves it alone."""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from runview.store.artifact_store import TMP, store_dir

LOCK_NAME = ".lock"


def staging_parent(root: Path | None) -> Path:
    """Where staged copies go: the store's own ``tmp/`` (same filesystem as the blobs, so a copy
    moves in by rename), else a folder in the system's temporary directory."""
    if root is not None:
        return store_dir(root) / TMP
    return Path(tempfile.gettempdir()) / "runview-staging"


class Staging:
    """One artifact's staged copies. Created on the first copy; removed when closed."""

    def __init__(self, parent: Path) -> None:
        self.pid = os.getpid()
        self.dir = parent / f"stage-{self.pid}-{secrets.token_hex(6)}"
        self.dir.mkdir(parents=True)
        self._lock_fd: int | None = os.open(
            self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._count = 0

    def new_path(self, name: str) -> Path:
        """A fresh path for the copy of ``name`` (numbered, so two names never collide)."""
        self._count += 1
        return self.dir / f"{self._count:06d}-{os.path.basename(name)[:80]}"

    def close(self) -> None:
        """Remove the folder and what is left in it. In a forked child it does nothing: the folder
        belongs to the parent."""
        if os.getpid() != self.pid or self._lock_fd is None:
            return
        shutil.rmtree(self.dir, ignore_errors=True)
        os.close(self._lock_fd)
        self._lock_fd = None


def is_held(folder: Path) -> bool:
    """True while a live process holds the staging folder's lock (gc must not touch it)."""
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False
