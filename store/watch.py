"""Wake a reader when files in a run directory change: inotify-style events, polling as the floor.

Events make a logged line show within milliseconds; the poll interval bounds the delay on
filesystems that send no events (NFS, FUSE, writes from another host or container layer).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

# Filesystems whose changes may come from elsewhere, so their local events cannot be trusted.
_REMOTE_FS = (
    "nfs",
    "cifs",
    "smb",
    "fuse",
    "9p",
    "virtiofs",
    "lustre",
    "gpfs",
    "beegfs",
    "ceph",
    "afs",
)


def is_remote_filesystem(path: Path) -> bool:
    """True when ``path`` lives on a network or FUSE filesystem (longest mountpoint prefix wins)."""
    try:
        import psutil

        target = str(path.resolve())
        best, fstype = "", ""
        for part in psutil.disk_partitions(all=True):
            mount = part.mountpoint.rstrip("/") or "/"
            if (target == mount or target.startswith(mount + "/") or mount == "/") and len(
                mount
            ) > len(best):
                best, fstype = mount, part.fstype.lower()
        return any(fstype.startswith(name) for name in _REMOTE_FS)
    except Exception:
        return False


class ChangeSignal:
    """Set whenever something under the run directory changes; the reader's worker waits on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.event = threading.Event()
        self.mode = "polling"
        self.stopped = False
        self._observer = None

    def start(self) -> str:
        """Start watching; returns "events" or "polling" (what the status line shows)."""
        if self.stopped:  # the page closed before its reader got this far
            return self.mode
        if is_remote_filesystem(self.path) or os.environ.get("RUNVIEW_POLL"):
            return self.mode
        try:
            from watchdog.events import (
                DirCreatedEvent,
                FileClosedEvent,
                FileCreatedEvent,
                FileDeletedEvent,
                FileModifiedEvent,
                FileMovedEvent,
                FileSystemEventHandler,
            )
            from watchdog.observers import Observer

            signal = self.event
            # Only changes: the reader's own opens and reads must not wake the reader again.
            wanted = (
                FileModifiedEvent,
                FileCreatedEvent,
                FileMovedEvent,
                FileDeletedEvent,
                FileClosedEvent,
                DirCreatedEvent,
            )

            class _Handler(FileSystemEventHandler):
                def on_any_event(self, event: object) -> None:
                    if isinstance(event, wanted):
                        signal.set()

            observer = Observer()
            observer.daemon = True
            observer.schedule(
                _Handler(), str(self.path), recursive=False, event_filter=list(wanted)
            )
            observer.start()
            self._observer = observer
            self.mode = "events"
        except Exception:
            self.mode = "polling"
        return self.mode

    def wait(self, timeout: float) -> bool:
        """Wait until a change or ``timeout``; True when a change arrived."""
        fired = self.event.wait(timeout)
        if not self.stopped:
            self.event.clear()
        return fired

    def stop(self) -> None:
        """Stop watching and wake any waiter at once (so a closing viewer never waits a poll)."""
        self.stopped = True
        self.event.set()
        observer, self._observer = self._observer, None
        if observer is not None:
            try:
                observer.stop()
            except Exception:
                pass
