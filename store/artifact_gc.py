"""Find what the artifact store holds but no version needs: unreferenced blobs, and the leftovers
of writes that were interrupted (temporary files, staging folders of dead processes).

Deleting never touches anything younger than ``MIN_AGE_S`` (a writer may be mid-commit), nor a
staging folder whose process is alive, and takes the store's gc lock exclusively so no commit
runs meanwhile. While a manifest cannot be read, no blob is deleted: it may be one it needs.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from runview.store.artifact_manifest import DIGEST_RE
from runview.store.artifact_staging import is_held
from runview.store.artifact_store import BLOBS, NAMES, TMP, ArtifactStore, store_dir

MIN_AGE_S = 3600.0
LOCK_WAIT_S = 30.0
_TEMP_NAME = re.compile(r"\..+\.\d+\.tmp")  # write_json_atomic's and the manifests' temp files

UNREFERENCED = "unreferenced blob"
PARTIAL = "partial write"
STAGING = "staging folder of a finished process"


@dataclass(frozen=True)
class Leftover:
    path: Path
    kind: str
    size: int
    age_s: float

    @property
    def young(self) -> bool:
        return self.age_s < MIN_AGE_S


@dataclass
class GcReport:
    root: Path
    leftovers: list[Leftover] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    in_use: int = 0  # staging folders of live processes, left alone
    removed: list[Leftover] = field(default_factory=list)
    busy: bool = False  # writers held the store for the whole wait

    @property
    def blobs_safe(self) -> bool:
        return not self.problems


def scan(root: Path, now: float | None = None) -> GcReport:
    """What ``gc`` would remove, oldest first. Reads only; changes nothing."""
    now = time.time() if now is None else now
    report = GcReport(root)
    store = ArtifactStore(root)
    referenced = _referenced(store, report)
    folder = store.dir
    for path in _files(folder / BLOBS):
        if DIGEST_RE.fullmatch(path.name) and path.name not in referenced:
            _add(report, path, UNREFERENCED, now)
    try:
        entries = sorted(os.scandir(folder / TMP), key=lambda e: e.name)
    except OSError:
        entries = []
    for entry in entries:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False) and entry.name.startswith("stage-"):
            if is_held(path):
                report.in_use += 1
            else:
                _add(report, path, STAGING, now)
        else:
            _add(report, path, PARTIAL, now)
    for path in _files(folder / NAMES):
        if _TEMP_NAME.fullmatch(path.name):
            _add(report, path, PARTIAL, now)
    report.leftovers.sort(key=lambda item: -item.age_s)
    return report


def collect(root: Path, now: float | None = None) -> GcReport:
    """Remove what ``scan`` finds that is at least an hour old; returns what it did."""
    store = ArtifactStore(root)
    with store.exclusive(LOCK_WAIT_S) as locked:
        report = scan(root, now)
        if not locked:
            report.busy = True
            return report
        for item in report.leftovers:
            if item.young or (item.kind == UNREFERENCED and not report.blobs_safe):
                continue
            if item.kind == STAGING and is_held(item.path):
                continue
            if _remove(item.path):
                report.removed.append(item)
    return report


def _referenced(store: ArtifactStore, report: GcReport) -> set[str]:
    found: set[str] = set()
    for name in store.names():
        for version in store.versions(name):
            manifest = store.read_manifest(name, version)
            if manifest.problems and not manifest.files:
                report.problems.append(
                    f"{name}:v{version}: {manifest.problems[0]} — no blob is deleted until it "
                    "is fixed or removed"
                )
            found.update(f.sha256 for f in manifest.files)
    return found


def _files(folder: Path) -> list[Path]:
    found = []
    for dirpath, _dirs, names in os.walk(folder):
        found.extend(Path(dirpath) / n for n in names)
    return found


def _add(report: GcReport, path: Path, kind: str, now: float) -> None:
    try:
        st = os.lstat(path)
    except OSError:
        return
    size = st.st_size if not path.is_dir() else _tree_size(path)
    report.leftovers.append(Leftover(path, kind, size, max(0.0, now - st.st_mtime)))


def _tree_size(folder: Path) -> int:
    total = 0
    for path in _files(folder):
        try:
            total += os.lstat(path).st_size
        except OSError:
            pass
    return total


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        return True
    except OSError:
        return False


def find_store_root(path: Path) -> Path | None:
    """The root whose store ``path`` names: the root itself, or its ``.artifacts`` folder."""
    if path.name == store_dir(Path()).name and path.is_dir():
        return path.parent
    return path if store_dir(path).is_dir() else None
