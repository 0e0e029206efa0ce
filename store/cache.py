"""runview's one cache outside the run directories: its home, areas, size cap and prune rule.

Everything the viewer keeps to open things faster (columns of runs written without them, the run
table's rows, what readers of other formats derive) lives under one root, in named areas, as
*entries*: one folder per cached thing, ``<root>/<area>/<32 hex digits>``. An entry holds a
marker file (``cache-entry.json``) whose mtime says when it was last used; the least
recently used entries go first once the whole cache passes ``max_bytes``.

An entry is written whole: a temporary folder beside it (``.<name>.<token>.tmp``) whose marker the
writer holds locked (``flock``) until the folder is renamed into place. An entry in place may then
grow by whole lines appended to one of its files (``append``: the run table's rows, kept as a scan
goes). A writer killed midway
leaves that folder unlocked (the kernel drops the lock with the process), which is how ``prune``
tells a leftover from a write in progress. ``prune`` removes only what this module provably made:
folders with the right name holding a marker of the right shape, never symlinks, so a
``$RUNVIEW_CACHE_DIR`` pointed at a folder of runs loses nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

CACHE_ENV = "RUNVIEW_CACHE_DIR"  # a folder, or "off"
DEFAULT_MAX_BYTES = 4 * 1024**3
MARKER = "cache-entry.json"
MARKER_FIELD = "runview_cache"
# Areas are named by what uses them; a new reader adds its name here (and to docs/run-format.md).
# Artifact downloads share the root (``DOWNLOADS``) but are not entries: a training script holds
# paths into them, so no size cap may delete one under it.
AREAS = frozenset({"columns", "runs", "wandb", "tensorboard", "mlflow"})
DOWNLOADS = "artifacts"
ENTRY_NAME = re.compile(r"[0-9a-f]{32}")
WORK_NAME = re.compile(r"\.([0-9a-f]{32})\.[0-9a-z]+\.(tmp|old)")
# A temporary folder whose writer died before it could create its marker holds nothing; it is
# removed once it is this old (a live writer creates the marker right after the folder).
UNMARKED_GRACE_S = 60.0
# The layout before areas: ``<root>/<32 hex>`` with a marked columns index; obsolete, removed.
_LEGACY_INDEX = "index.json"


class WriteCancelled(Exception):
    """Raised by a ``fill`` function to abandon a write; its temporary folder is removed."""


class Cache:
    """A bounded folder of entries, shared by every part of the viewer that caches."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    @classmethod
    def default(cls) -> Cache | None:
        """The user's cache: ``$RUNVIEW_CACHE_DIR`` (``off``: none), else the XDG cache home."""
        root = default_root()
        return None if root is None else cls(root)

    def entry(self, area: str, key: str) -> Path:
        """Where the entry for ``key`` (a resolved path, a URL...) lives; it may not exist."""
        if area not in AREAS:
            raise ValueError(f"unknown cache area {area!r}")
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return self.root / area / digest

    def lookup(self, area: str, key: str) -> Path | None:
        """The entry for ``key`` if a complete one exists (marker checked), without writing."""
        entry = self.entry(area, key)
        document = _read_marker(entry)
        if document is None or document.get("key") != key:
            return None
        return entry

    def touch(self, entry: Path) -> None:
        """Mark ``entry`` as just used (the least recently used go first); never raises."""
        try:
            os.utime(entry / MARKER)
        except OSError:
            pass

    def write(self, area: str, key: str, fill: Callable[[Path], None]) -> Path:
        """Build an entry with ``fill(folder)`` and put it in place whole, replacing any older one.

        ``fill`` writes into an empty temporary folder; if it raises (``WriteCancelled`` to
        abandon), the folder is removed and the old entry, if any, stays. The cache is pruned
        afterwards. OSError from the cache's own I/O propagates: the caller decides how quiet to be.
        """
        entry = self.entry(area, key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(6)
        work = entry.parent / f".{entry.name}.{token}.tmp"
        old = entry.parent / f".{entry.name}.{token}.old"
        work.mkdir()
        marker_fd = -1
        try:
            marker_fd = os.open(
                work / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644
            )
            fcntl.flock(marker_fd, fcntl.LOCK_EX)  # held until the folder is in place
            marker = {MARKER_FIELD: 1, "area": area, "key": key, "created": time.time()}
            os.write(marker_fd, json.dumps(marker).encode("utf-8", "surrogateescape"))
            fill(work)
            try:
                os.rename(entry, old)
            except FileNotFoundError:
                pass
            os.rename(work, entry)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        finally:
            if marker_fd >= 0:
                os.close(marker_fd)
        shutil.rmtree(old, ignore_errors=True)
        self.prune()
        return entry

    def append(self, entry: Path, name: str, data: bytes) -> bool:
        """Append whole lines (``data`` ends with a newline) to the file ``name`` of ``entry``.

        For entries that grow while they are used (the run table's rows, written as a scan
        goes): the entry must already be in place, made by ``write``; False when it is not (never
        written, or pruned since), and the caller writes a new one. A torn last line left by a
        writer killed mid-append is ended first, so it costs only its own record; readers skip
        lines that are not whole records. The growth counts toward the cap at the next prune.
        OSError propagates, as from ``write``.
        """
        if _read_marker(entry) is None:
            return False
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(entry / name, flags, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self.touch(entry)
        return True

    def prune(self) -> None:
        """Remove leftovers of interrupted writes, then least recently used entries past the cap.

        Anything that is not provably this cache's (another name, a symlink, no marker of the
        right shape) is neither counted nor touched; a write in progress (its marker locked) is
        left alone.
        """
        entries: list[tuple[float, int, Path]] = []
        total = 0
        for folder in self._folders():
            name = folder.name
            if ENTRY_NAME.fullmatch(name):
                found = _entry_size_and_use(folder)
                if found is not None:
                    size, used = found
                    entries.append((used, size, folder))
                    total += size
            elif WORK_NAME.fullmatch(name) and folder.parent != self.root:
                _remove_leftover(folder)
        for _used, size, folder in sorted(entries):
            if total <= self.max_bytes:
                break
            shutil.rmtree(folder, ignore_errors=True)  # refuses a symlink, never follows one
            total -= size
        self._remove_legacy()

    def _folders(self) -> Iterator[Path]:
        """Candidate entry and work folders of every area (only real folders, no symlinks)."""
        for area in sorted(AREAS):
            base = self.root / area
            try:
                if not stat.S_ISDIR(os.lstat(base).st_mode):
                    continue
                children = list(base.iterdir())
            except OSError:
                continue
            for child in children:
                try:
                    if stat.S_ISDIR(os.lstat(child).st_mode):
                        yield child
                except OSError:
                    continue

    def _remove_legacy(self) -> None:
        try:
            children = list(self.root.iterdir())
        except OSError:
            return
        for child in children:
            if not ENTRY_NAME.fullmatch(child.name):
                continue
            document = _read_marker(child, _LEGACY_INDEX)
            if document is not None:
                shutil.rmtree(child, ignore_errors=True)


def default_root() -> Path | None:
    """``$RUNVIEW_CACHE_DIR`` (None for ``off``), else ``$XDG_CACHE_HOME/runview``, else
    ``~/.cache/runview``."""
    configured = os.environ.get(CACHE_ENV)
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "runview"


def _read_marker(folder: Path, name: str = MARKER) -> dict | None:
    """The marker document of a real folder, if it is one this cache wrote; None otherwise."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return None
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            document = json.loads(fh.read(1024 * 1024))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get(MARKER_FIELD) != 1:
        return None
    return document


def _entry_size_and_use(folder: Path) -> tuple[int, float] | None:
    """(bytes, last use) of an entry this cache wrote, or None for anything else."""
    if _read_marker(folder) is None:
        return None
    try:
        used = os.lstat(folder / MARKER).st_mtime
    except OSError:
        return None
    size = 0
    for parent, _dirs, files in os.walk(folder):  # never follows symlinks
        for name in files:
            try:
                st = os.lstat(os.path.join(parent, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                size += st.st_size
    return size, used


def _remove_leftover(folder: Path) -> None:
    """A ``.tmp`` or ``.old`` folder: removed unless a live writer still holds its marker."""
    try:
        fd = os.open(folder / MARKER, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        # No marker: removed only when empty and old enough that no writer is about to fill it.
        try:
            if time.time() - os.lstat(folder).st_mtime > UNMARKED_GRACE_S:
                os.rmdir(folder)  # fails on anything not empty: nothing unproven is lost
        except OSError:
            pass
        return
    except OSError:
        return
    try:
        if _read_marker(folder) is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # a live writer holds it: its write is in progress (or locks do not work here)
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(fd)
