"""Which directories are runs, and the runs under a root or a project folder (two levels at most).

A root holds project folders, a project folder holds runs (docs/run-format.md); ``runview ROOT``
and ``runview ROOT/PROJECT`` both list what is below. Listing reads directory entries only: it
never opens a run's files, so it stays cheap at 10,000 runs. Kept free of numpy and the reader so
the command line can decide what a path is before it imports anything heavy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from runview.store import format as fmt


class NotARunError(Exception):
    """The path is not a run directory (the CLI turns this into a one-line error)."""


def is_run_dir(path: Path) -> bool:
    return (path / fmt.MARKER_FILE).is_file() or (
        (path / fmt.META_FILE).is_file() and (path / fmt.HISTORY_FILE).exists()
    )


def check_run_dir(path: Path) -> Path:
    """``path`` resolved, or NotARunError saying why it is not a run directory."""
    if not path.exists():
        raise NotARunError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise NotARunError(f"{path}: not a directory (a run is a directory with {fmt.MARKER_FILE})")
    if not os.access(path, os.R_OK | os.X_OK):
        raise NotARunError(f"{path}: permission denied")
    if not is_run_dir(path):
        raise NotARunError(f"{path}: not a runview run (no {fmt.MARKER_FILE} inside)")
    return path.resolve()


def run_title(meta: dict[str, object], path: Path) -> str:
    """What a run page is headed with: ``project / name`` from meta.json, the folder's name
    without one."""
    name = str(meta.get("name") or path.name)
    project = meta.get("project")
    return f"{project} / {name}" if project else name


def read_title(path: Path) -> str | None:
    """``run_title`` from the run's meta.json alone (the page's first frame needs nothing else), or
    None when it cannot be read yet."""
    from runview.store.jsonio import DECODE_ERRORS, loads

    try:
        with open(path / fmt.META_FILE, "rb") as fh:
            meta = loads(fh.read(1 << 20))
    except (OSError, *DECODE_ERRORS):
        return None
    return run_title(meta, path) if isinstance(meta, dict) else None


def hidden(name: str) -> bool:
    """Names beginning with ``.`` are never runs or projects (``.artifacts``, temporary files)."""
    return name.startswith(".")


Stamp = tuple[int, int]  # (mtime_ns, ctime_ns) of a directory: moves when an entry comes or goes


def dir_stamp(path: Path) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns)


def _subdirectories(path: Path) -> list[str] | None:
    """Names of the visible directories in ``path`` (symlinks to directories included); None when
    ``path`` cannot be listed."""
    try:
        with os.scandir(path) as entries:
            return [e.name for e in entries if not hidden(e.name) and _is_dir(e)]
    except OSError:
        return None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """A directory, or something that cannot be looked into (its row will say why)."""
    try:
        return entry.is_dir()
    except FileNotFoundError:
        return False
    except OSError:
        return True


@dataclass
class RunFolders:
    """The folders that hold the runs of one target, and the run directories found in them.

    The target is a root (project folders inside) or a project folder (runs inside), or a mix.
    ``list`` lists every folder again; ``moved`` says, from one ``stat`` per folder, whether any
    of them gained or lost an entry since. Nothing here reads inside a run directory except the
    one marker check that tells a new child of the target apart as a run or a project folder.
    """

    target: Path
    stamps: dict[Path, Stamp | None] = field(default_factory=dict)
    # Children of the target found to be runs. The others are checked again at every listing: a
    # run being created has no marker for a moment, and must not stay taken for a project folder.
    _runs_at_top: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    projects: list[Path] = field(default_factory=list)  # the project folders found by ``list``

    def list(self) -> list[Path]:
        """Every candidate run directory, newest name first (run names begin with their start).

        A candidate is a visible directory directly in the target that is a run, or any visible
        directory in one of the target's project folders; whether that one is a run yet is for
        the row to find out (a run being created has no marker for a moment).
        """
        self.problems, self.projects = [], []
        stamps: dict[Path, Stamp | None] = {self.target: dir_stamp(self.target)}
        children = _subdirectories(self.target)
        if children is None:
            self.problems.append(f"{self.target}: cannot be listed")
            self.stamps = stamps
            return []
        names = set(children)
        self._runs_at_top &= names
        found: list[Path] = []
        for name in children:
            path = self.target / name
            if name in self._runs_at_top or is_run_dir(path):
                self._runs_at_top.add(name)
                found.append(path)
                continue
            stamps[path] = dir_stamp(path)
            self.projects.append(path)
            runs = _subdirectories(path)
            if runs is None:
                self.problems.append(f"{path}: cannot be listed")
                continue
            found.extend(path / run for run in runs)
        self.stamps = stamps
        found.sort(key=lambda p: p.name, reverse=True)
        return found

    def moved(self) -> bool:
        """True when a listed folder gained, lost or renamed an entry (or came or went)."""
        return any(dir_stamp(path) != stamp for path, stamp in self.stamps.items())
