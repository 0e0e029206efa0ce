"""``runview.Artifact``: a named, typed, versioned set of files, shaped like wandb's.

Content is captured when it is added: ``policy="mutable"`` (the default) copies the file at
once, so the program may change or delete it afterwards; ``"immutable"`` promises it will not
change, so nothing is copied then and the file is hashed and stored in the background after
``run.log_artifact``. A bad name, alias or path raises ValueError at once (a programming error);
I/O failures while storing are warned about once and recorded on the artifact, never raised.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from runview.store.artifact_manifest import (
    NAME_RE,
    Manifest,
    check_entry_path,
    check_name,
)
from runview.store.artifact_staging import Staging, staging_parent
from runview.store.artifact_store import ArtifactCorrupt, ArtifactNotFound, ArtifactStore
from runview.store.blob_io import copy_file

POLICIES = ("mutable", "immutable")
DRAFT, LOGGED, COMMITTED, FAILED, STORED = "draft", "logged", "committed", "failed", "stored"


@dataclass(frozen=True)
class ArtifactFile:
    """One file of an artifact: its path inside it, its size, and (once stored) its sha256."""

    path: str
    size: int
    sha256: str | None = None


@dataclass
class Source:
    """A file added to a draft: the user's own path (immutable) or runview's staged copy."""

    path: str  # inside the artifact
    local: Path
    size: int
    staged: bool
    error: str | None = None


@dataclass
class Reference:
    """A reference added to a draft; ``local`` is set for ``file://`` ones (hashed, not stored)."""

    path: str
    uri: str
    local: Path | None = None


class Artifact:
    """A versioned set of files. Build it, then ``run.log_artifact(art)``; or get a stored one
    with ``run.use_artifact("name:latest")`` and ``download()`` it."""

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = check_name(name)
        self.type = check_name(type, "artifact type")
        self.description = description or ""
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.aliases: list[str] = []
        self.digest: str | None = None
        self.error: str | None = None
        self._version: int | None = None
        self._state = DRAFT
        self._sources: dict[str, Source] = {}
        self._refs: dict[str, Reference] = {}
        self._staging: Staging | None = None
        self._finalizer: weakref.finalize | None = None
        self._done = threading.Event()
        self._store: ArtifactStore | None = None
        self._manifest: Manifest | None = None

    def add_file(
        self, local_path: str | os.PathLike[str], name: str | None = None, policy: str = "mutable"
    ) -> ArtifactFile:
        """Add one file as ``name`` (default: its file name). ``mutable`` copies it now."""
        self._check_draft()
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
        local = Path(local_path).absolute()
        if not local.is_file():
            raise ValueError(f"{local}: not a file")
        path = check_entry_path(name if name is not None else local.name)
        self._check_new_path(path)
        return self._add(path, local, policy)

    def add_dir(
        self, local_path: str | os.PathLike[str], name: str | None = None, policy: str = "mutable"
    ) -> list[ArtifactFile]:
        """Add every file under a folder, keeping its layout (under ``name/`` when given).
        Symbolic links to files are added as files; links to folders are not followed."""
        self._check_draft()
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
        folder = Path(local_path).absolute()
        if not folder.is_dir():
            raise ValueError(f"{folder}: not a directory")
        prefix = check_entry_path(name) + "/" if name else ""
        found: list[tuple[str, Path]] = []
        for dirpath, dirs, names in os.walk(folder):
            dirs.sort()
            for file_name in sorted(names):
                local = Path(dirpath) / file_name
                if local.is_file():
                    rel = local.relative_to(folder).as_posix()
                    found.append((check_entry_path(prefix + rel), local))
        for path, _ in found:
            self._check_new_path(path)
        return [self._add(path, local, policy) for path, local in found]

    def add_reference(self, uri: str, name: str | None = None) -> None:
        """Record a reference. ``file://`` ones are hashed (a folder adds each file under it);
        other schemes are recorded as given, not fetched."""
        self._check_draft()
        if not isinstance(uri, str) or "://" not in uri:
            raise ValueError(
                f"a reference is a URI like file:///data or s3://bucket/x, not {uri!r}"
            )
        parsed = urlparse(uri)
        default = os.path.basename(parsed.path.rstrip("/")) or parsed.netloc or "reference"
        base = check_entry_path(name if name is not None else default)
        if parsed.scheme != "file":
            self._check_new_path(base)
            self._refs[base] = Reference(base, uri)
            return
        local = Path(unquote(parsed.path))
        if local.is_file():
            self._check_new_path(base)
            self._refs[base] = Reference(base, uri, local)
            return
        if not local.is_dir():
            raise ValueError(f"{uri}: no such file or directory")
        for dirpath, dirs, names in os.walk(local):
            dirs.sort()
            for file_name in sorted(names):
                path = Path(dirpath) / file_name
                if path.is_file():
                    entry = check_entry_path(f"{base}/{path.relative_to(local).as_posix()}")
                    self._check_new_path(entry)
                    self._refs[entry] = Reference(entry, path.as_uri(), path)

    def _check_draft(self) -> None:
        if self._state != DRAFT:
            raise ValueError(f"artifact {self.name!r} was already logged or used; make a new one")

    def _check_new_path(self, path: str) -> None:
        if path in self._sources or path in self._refs:
            raise ValueError(f"artifact {self.name!r} already has {path!r}")

    def _add(self, path: str, local: Path, policy: str) -> ArtifactFile:
        if policy == "immutable":
            try:
                size = local.stat().st_size
            except OSError as exc:
                size = 0
                self._note(f"{local}: {exc.strerror or exc}")
            self._sources[path] = Source(path, local, size, staged=False)
            return ArtifactFile(path, size)
        source = Source(path, local, 0, staged=True)
        try:
            staging = self._staging_area()
            copy = staging.new_path(path)
            st = copy_file(local, copy, mode=0o600)
            source.local, source.size = copy, st.st_size
        except OSError as exc:  # disk full, the file vanished: the version will not be stored
            source.error = f"{local}: cannot copy it ({exc.strerror or exc})"
            self._note(source.error)
        self._sources[path] = source
        return ArtifactFile(path, source.size)

    def _staging_area(self) -> Staging:
        if self._staging is None:
            from runview import _lifecycle

            run = _lifecycle.current()
            root = getattr(run, "root", None)
            try:
                self._staging = Staging(staging_parent(root))
            except OSError:
                self._staging = Staging(staging_parent(None))  # the store's root is not writable
            self._finalizer = weakref.finalize(self, self._staging.close)
        return self._staging

    def _note(self, message: str) -> None:
        from runview import _lifecycle

        run = _lifecycle.current()
        if run is not None:
            run._warn_once(f"artifact:{self.name}", f"artifact {self.name!r}: {message}")

    @property
    def version(self) -> str | None:
        """``"v3"`` once committed or when used; None before."""
        return None if self._version is None else f"v{self._version}"

    @property
    def qualified_name(self) -> str:
        return f"{self.name}:{self.version or 'draft'}"

    @property
    def state(self) -> str:
        """draft, logged (being stored), committed, failed, or stored (from ``use_artifact``)."""
        return self._state

    @property
    def size(self) -> int:
        if self._manifest is not None:
            return self._manifest.size
        return sum(s.size for s in self._sources.values())

    def files(self) -> list[ArtifactFile]:
        """The stored files, sorted by path (before commit: what was added, without digests)."""
        if self._manifest is not None:
            return [ArtifactFile(f.path, f.size, f.sha256) for f in self._manifest.files]
        return [ArtifactFile(s.path, s.size) for s in sorted(self._sources.values(), key=_path)]

    def references(self) -> list[str]:
        if self._manifest is not None:
            return [r.uri for r in self._manifest.references]
        return [r.uri for r in self._refs.values()]

    def wait(self, timeout: float | None = None) -> Artifact:
        """Block until the logged version is committed (or failed: see ``state`` and ``error``)."""
        if self._state == DRAFT:
            raise ValueError(f"artifact {self.name!r} has not been logged")
        self._done.wait(timeout)
        return self

    def download(self, root: str | os.PathLike[str] | None = None) -> str:
        """A local folder holding the version's files, read-only; every blob's size and sha256
        is checked on the way (ArtifactCorrupt if one fails). Default folder: runview's cache."""
        from runview.store.artifact_download import default_target, materialise

        if self._state in (LOGGED, COMMITTED):
            self.wait()
        if self._store is None or self._manifest is None:
            raise ArtifactNotFound(f"artifact {self.name!r} is not stored ({self.error or ''})")
        manifest = self._manifest
        target = Path(root) if root is not None else default_target(self._store, manifest)
        return str(materialise(self._store, manifest, target))

    def _seal(self, aliases: list[str]) -> None:
        self._check_draft()
        self.aliases = aliases
        self._state = LOGGED

    def _committed(self, store: ArtifactStore, manifest: Manifest, aliases: list[str]) -> None:
        self._store, self._manifest = store, manifest
        self._version, self.digest = manifest.version, manifest.digest
        self.aliases = aliases
        self._state = COMMITTED
        self._release()
        self._done.set()

    def _failed(self, error: str) -> None:
        self.error = error
        self._state = FAILED
        self._release()
        self._done.set()

    def _release(self) -> None:
        if self._finalizer is not None:
            self._finalizer()

    @classmethod
    def _from_store(cls, store: ArtifactStore, manifest: Manifest, aliases: list[str]) -> Artifact:
        kind = manifest.type if NAME_RE.fullmatch(manifest.type) else "unknown"
        art = cls(manifest.name, kind)
        art.description, art.metadata = manifest.description, dict(manifest.metadata)
        art._store, art._manifest = store, manifest
        art._version, art.digest, art.aliases = manifest.version, manifest.digest, aliases
        art._state = STORED
        art._done.set()
        return art

    def __repr__(self) -> str:
        return f"<runview.Artifact {self.name}:{self.version or self._state} type={self.type}>"


def _path(source: Source) -> str:
    return source.path


__all__ = ["Artifact", "ArtifactCorrupt", "ArtifactFile", "ArtifactNotFound"]
