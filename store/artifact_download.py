"""Materialise a stored version as a read-only directory of its files: hard links to the blobs
where the filesystem allows, copies otherwise; every blob's sha256 is checked on the way."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from runview.store.artifact_manifest import Manifest
from runview.store.artifact_store import ArtifactCorrupt, ArtifactStore
from runview.store.blob_io import FileChanged, copy_file, sha256_file
from runview.store.cache import DOWNLOADS, default_root

READ_ONLY_DIR = 0o555


def downloads_home() -> Path | None:
    """Where ``Artifact.download()`` puts versions: ``artifacts/`` in runview's cache home (see
    ``cache.default_root``); None when the cache is ``off``. Not cache entries: never pruned, as
    a training script may be reading them (hard links to the blobs, they cost little space)."""
    root = default_root()
    return None if root is None else root / DOWNLOADS


def default_target(store: ArtifactStore, manifest: Manifest) -> Path:
    """The download folder of one version: one per store, name and version."""
    home = downloads_home()
    if home is None:
        return Path(tempfile.mkdtemp(prefix=f"runview-{manifest.name}-")) / manifest.label
    key = hashlib.sha256(os.path.realpath(store.dir).encode("utf-8", "surrogateescape"))
    return home / key.hexdigest()[:16] / manifest.name / manifest.label


def materialise(
    store: ArtifactStore,
    manifest: Manifest,
    target: Path,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """``target`` holding the version's files, read-only. An existing complete folder is reused
    after a size check; a new one is built beside it and renamed into place, so a reader never
    sees half a download. Raises ``ArtifactCorrupt`` when a blob is missing or wrong."""
    problems = store.check(manifest)
    if problems:
        raise ArtifactCorrupt(f"{manifest.name}:{manifest.label}: " + "; ".join(problems))
    if target.exists():
        if is_complete(target, manifest):
            return target
        remove_tree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    building.mkdir()
    try:
        for entry in manifest.files:
            blob = store.blob_path(entry.sha256)
            try:
                sha, _ = sha256_file(blob, progress)
            except (OSError, FileChanged) as exc:
                raise ArtifactCorrupt(f"{entry.path}: cannot read its blob ({exc})") from None
            if sha != entry.sha256:
                raise ArtifactCorrupt(
                    f"{manifest.name}:{manifest.label}: {entry.path}: the stored bytes do not "
                    "match their sha256 (the store is damaged)"
                )
            _place(blob, _inside(building, entry.path))
        for ref in manifest.references:
            if ref.uri.startswith("file://"):
                _copy_reference(ref.uri, ref.sha256, _inside(building, ref.path))
        _make_read_only(building)
        try:
            os.rename(building, target)
        except OSError:
            if not is_complete(target, manifest):  # another process finished first otherwise
                raise
            remove_tree(building)
    except BaseException:
        remove_tree(building)
        raise
    return target


def _inside(folder: Path, path: str) -> Path:
    # Manifest paths are checked when parsed; this is the second lock on the door.
    dest = folder.joinpath(*path.split("/"))
    if not os.path.abspath(dest).startswith(os.path.abspath(folder) + os.sep):
        raise ArtifactCorrupt(f"{path}: leaves the download folder (not followed)")
    return dest


def _place(blob: Path, dest: Path) -> None:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(blob, dest)
        except OSError:
            copy_file(blob, dest, mode=0o444)
    except FileExistsError:
        raise ArtifactCorrupt(f"{dest.name}: two entries share one path") from None
    except NotADirectoryError:
        raise ArtifactCorrupt(f"{dest}: a file and a folder share one path") from None


def _copy_reference(uri: str, sha256: str | None, dest: Path) -> None:
    source = unquote(urlparse(uri).path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        copy_file(source, dest, mode=0o444)
        if sha256 is not None and sha256_file(dest)[0] != sha256:
            raise ArtifactCorrupt(f"{uri}: the referenced file changed since it was logged")
    except (OSError, FileChanged) as exc:
        raise ArtifactCorrupt(f"{uri}: cannot copy the referenced file ({exc})") from None


def is_complete(folder: Path, manifest: Manifest) -> bool:
    """Every file of the version is in ``folder`` with its size, and nothing else is."""
    expected = {f.path: f.size for f in manifest.files}
    expected.update({r.path: r.size for r in manifest.references if r.uri.startswith("file://")})
    found = 0
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            try:
                st = os.lstat(path)
            except OSError:
                return False
            want = expected.get(rel, -2)
            if not stat.S_ISREG(st.st_mode) or (want is not None and st.st_size != want):
                return False
            found += 1
    return found == len(expected)


def _make_read_only(folder: Path) -> None:
    for dirpath, _dirs, _names in os.walk(folder, topdown=False):
        os.chmod(dirpath, READ_ONLY_DIR)


def remove_tree(folder: Path) -> None:
    """Remove a (possibly read-only) folder runview made; a missing one is fine."""
    if folder.is_symlink():
        folder.unlink()
        return
    if not folder.is_dir():
        return
    for dirpath, dirs, _names in os.walk(folder):
        for d in [dirpath, *(os.path.join(dirpath, d) for d in dirs)]:
            try:
                if not os.path.islink(d):
                    os.chmod(d, 0o755)
            except OSError:
                pass
    shutil.rmtree(folder, ignore_errors=True)
