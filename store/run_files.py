"""The files of a run directory as a tree, and a bounded look at one of them, for the Files tab.

Listing never follows a symbolic link; a preview reads at most ``PREVIEW_LIMIT`` bytes from the
start of a regular file inside the run (a 5 GB checkpoint costs one 1 MB read), and refuses
links that lead out of the run, FIFOs and devices.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runview.store import format as fmt
from runview.store.jsonio import DECODE_ERRORS, as_object, loads

PREVIEW_LIMIT = 1024 * 1024
MAX_ENTRIES = 20_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BINARY_SNIFF = 8000
PATCH_SUFFIXES = (".patch", ".diff")


@dataclass(frozen=True)
class FileNode:
    """A file or folder of the run, with its children (folders first, then by name)."""

    path: str  # relative to the run, '/'-separated; "" for the run itself
    name: str
    is_dir: bool
    size: int
    mtime: float
    link: str | None = None  # the target, when this is a symbolic link (never followed)
    children: tuple[FileNode, ...] = ()


@dataclass(frozen=True)
class FileListing:
    root: FileNode
    count: int
    truncated: bool
    saved: dict[str, dict[str, Any]]  # files.json entries by path under files/
    problems: tuple[str, ...] = ()

    def signature(self) -> tuple[Any, ...]:
        """Changes when a file is added, removed, grows or is rewritten."""
        out: list[Any] = []

        def walk(node: FileNode) -> None:
            out.append((node.path, node.size, node.mtime))
            for child in node.children:
                walk(child)

        walk(self.root)
        return tuple(out)


def list_run(run_dir: Path, max_entries: int = MAX_ENTRIES) -> FileListing:
    """Every file under ``run_dir`` (at most ``max_entries``), without following links."""
    budget = [max_entries]
    problems: list[str] = []
    root = _node(run_dir, "", run_dir.name, budget, problems)
    count = max_entries - budget[0]
    truncated = budget[0] <= 0
    if truncated:
        problems.append(f"only the first {max_entries:,} entries are listed")
    return FileListing(root, count, truncated, _saved(run_dir), tuple(problems))


def _node(path: Path, rel: str, name: str, budget: list[int], problems: list[str]) -> FileNode:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return FileNode(rel, name, False, st.st_size, st.st_mtime, link=target)
    if not stat.S_ISDIR(st.st_mode):
        return FileNode(rel, name, False, st.st_size, st.st_mtime)
    children: list[FileNode] = []
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        problems.append(f"{rel or '.'}: {exc.strerror or exc}")
        entries = []
    for entry in entries:
        if budget[0] <= 0:
            break
        if entry.name.endswith(".tmp") and entry.name.startswith("."):
            continue  # a writer's temporary file, about to be renamed
        budget[0] -= 1
        child_rel = f"{rel}/{entry.name}" if rel else entry.name
        try:
            children.append(_node(Path(entry.path), child_rel, entry.name, budget, problems))
        except OSError:
            continue  # removed while listing
    children.sort(key=lambda c: (not c.is_dir, c.name))
    size = sum(c.size for c in children)
    return FileNode(rel, name, True, size, st.st_mtime, children=tuple(children))


def _saved(run_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        with open(run_dir / fmt.FILES_INDEX, "rb") as fh:
            document = as_object(loads(fh.read(16 * 1024 * 1024)))
    except (OSError, *DECODE_ERRORS):
        return {}
    files = document.get("files")
    return {
        f"{fmt.FILES_DIR}/{entry['path']}": entry
        for entry in (files if isinstance(files, list) else [])
        if isinstance(entry, dict) and isinstance(entry.get("path"), str)
    }


@dataclass(frozen=True)
class Peek:
    """The first bytes of a file and what they look like."""

    path: Path
    kind: str  # text, patch, image, binary, empty, error
    size: int
    data: bytes = b""
    truncated: bool = False
    error: str = ""

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def peek(run_dir: Path, rel: str, limit: int = PREVIEW_LIMIT) -> Peek:
    """At most ``limit`` bytes from the start of ``rel`` inside ``run_dir``."""
    path = run_dir / rel
    try:
        real, real_run = os.path.realpath(path), os.path.realpath(run_dir)
        if not real.startswith(real_run + os.sep):
            return Peek(path, "error", 0, error="a link that leads out of the run (not followed)")
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return Peek(path, "error", 0, error=exc.strerror or str(exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return Peek(path, "error", st.st_size, error="not a regular file")
        chunks, offset, want = [], 0, min(limit, st.st_size)
        while offset < want:
            chunk = os.pread(fd, min(want - offset, 256 * 1024), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        if exc.errno == errno.EAGAIN:
            return Peek(path, "error", 0, error="the file is locked for reading")
        return Peek(path, "error", 0, error=exc.strerror or str(exc))
    finally:
        os.close(fd)
    truncated = st.st_size > len(data)
    return Peek(path, _kind(rel, data), st.st_size, data, truncated)


def _kind(rel: str, data: bytes) -> str:
    if not data:
        return "empty"
    if data.startswith(PNG_SIGNATURE):
        return "image"
    if b"\0" in data[:BINARY_SNIFF]:
        return "binary"
    if rel.endswith(PATCH_SUFFIXES):
        return "patch"
    return "text"
