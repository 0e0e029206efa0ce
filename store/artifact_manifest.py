"""Artifact names, entry paths, version manifests and their content digest (docs/run-format.md).

Everything a manifest says is checked before it is used: a name or path that could leave the
store (``..``, absolute, control characters) or a digest that is not 64 hex digits makes the
entry invalid; readers report it and never follow it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

MANIFEST_FORMAT = "runview-artifact"
MANIFEST_VERSION = 1

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
VERSION_RE = re.compile(r"v(\d{1,9})")
DIGEST_RE = re.compile(r"[0-9a-f]{64}")
LATEST = "latest"
_BAD_PATH_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_PATH = 4096


def check_name(name: object, what: str = "artifact name") -> str:
    """``name`` if it is a valid artifact name (or type); ValueError saying why otherwise."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError(
            f"invalid {what} {name!r}: use 1-128 letters, digits, '.', '_' or '-', starting with "
            "a letter or digit"
        )
    return name


def check_alias(alias: object) -> str:
    """A valid alias: a name that is not a version number (``v3`` names a version already)."""
    check_name(alias, "alias")
    assert isinstance(alias, str)
    if VERSION_RE.fullmatch(alias):
        raise ValueError(f"invalid alias {alias!r}: v<number> is how versions are named")
    return alias


def check_entry_path(path: object) -> str:
    """A file's path inside an artifact: relative, '/'-separated, no '.' or '..' parts, no
    control characters. ValueError otherwise."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH:
        raise ValueError(f"invalid path in artifact: {path!r}")
    if path.startswith("/") or _BAD_PATH_CHARS.search(path):
        raise ValueError(f"invalid path in artifact: {path!r}")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise ValueError(f"invalid path in artifact: {path!r}")
    return path


def parse_spec(spec: str) -> tuple[str, str]:
    """``"mnist:v3"`` -> ("mnist", "v3"); a bare name means ``latest``."""
    if not isinstance(spec, str):
        raise ValueError(f"an artifact is named by a string like 'mnist:latest', not {spec!r}")
    name, _, which = spec.partition(":")
    check_name(name)
    which = which or LATEST
    if not VERSION_RE.fullmatch(which):
        check_name(which, "alias")
    return name, which


@dataclass(frozen=True)
class FileEntry:
    """One stored file of a version: its path inside the artifact, size and sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RefEntry:
    """A reference: recorded, not stored. ``file://`` references carry a digest and size."""

    path: str
    uri: str
    size: int | None = None
    sha256: str | None = None


def content_digest(files: list[FileEntry], refs: list[RefEntry]) -> str:
    """The digest that decides whether two logs are the same version: files and references only
    (description and metadata do not make a new version)."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda e: e.path):
        digest.update(f"file\t{f.path}\t{f.size}\t{f.sha256}\n".encode())
    for r in sorted(refs, key=lambda e: e.path):
        digest.update(f"ref\t{r.path}\t{r.uri}\t{r.sha256 or '-'}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """One version as a reader sees it, with what was wrong in its manifest."""

    name: str
    version: int
    type: str = ""
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    created: float | None = None
    producer: dict[str, Any] = field(default_factory=dict)
    files: tuple[FileEntry, ...] = ()
    references: tuple[RefEntry, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def label(self) -> str:
        return f"v{self.version}"


def manifest_document(
    *,
    name: str,
    version: int,
    type: str,
    description: str,
    metadata: dict[str, Any],
    digest: str,
    created: float,
    producer: dict[str, Any],
    files: list[FileEntry],
    refs: list[RefEntry],
) -> dict[str, Any]:
    """The JSON document of a version manifest, as written to ``versions/v<N>.json``."""
    ordered = sorted(files, key=lambda e: e.path)
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "name": name,
        "version": version,
        "type": type,
        "description": description,
        "metadata": metadata,
        "digest": digest,
        "size": sum(f.size for f in ordered),
        "file_count": len(ordered),
        "created": created,
        "producer": producer,
        "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in ordered],
        "references": [
            {"path": r.path, "uri": r.uri, "size": r.size, "sha256": r.sha256}
            for r in sorted(refs, key=lambda e: e.path)
        ],
    }


def parse_manifest(document: Any, name: str, version: int) -> Manifest:
    """A ``Manifest`` from a decoded document; invalid entries are left out and listed."""
    problems: list[str] = []
    if not isinstance(document, dict):
        return Manifest(name, version, problems=("manifest is not a JSON object",))
    if document.get("name") not in (None, name) or document.get("version") not in (None, version):
        problems.append("manifest names another artifact or version than its file")
    files: list[FileEntry] = []
    seen: set[str] = set()
    for raw in document.get("files") or []:
        entry = _file_entry(raw, problems)
        if entry is None:
            continue
        if entry.path in seen:
            problems.append(f"{entry.path}: listed twice")
            continue
        seen.add(entry.path)
        files.append(entry)
    refs: list[RefEntry] = []
    for raw in document.get("references") or []:
        ref = _ref_entry(raw, problems)
        if ref is not None:
            refs.append(ref)
    metadata = document.get("metadata")
    producer = document.get("producer")
    created = document.get("created")
    return Manifest(
        name=name,
        version=version,
        type=str(document.get("type") or ""),
        description=str(document.get("description") or ""),
        metadata=metadata if isinstance(metadata, dict) else {},
        digest=str(document.get("digest") or ""),
        created=float(created) if isinstance(created, (int, float)) else None,
        producer=producer if isinstance(producer, dict) else {},
        files=tuple(files),
        references=tuple(refs),
        problems=tuple(problems),
    )


def _file_entry(raw: Any, problems: list[str]) -> FileEntry | None:
    if not isinstance(raw, dict):
        problems.append("a file entry is not an object")
        return None
    path, size, sha = raw.get("path"), raw.get("size"), raw.get("sha256")
    try:
        check_entry_path(path)
    except ValueError as exc:
        problems.append(f"{exc}; not followed")
        return None
    if type(size) is not int or size < 0:
        problems.append(f"{path}: invalid size {size!r}")
        return None
    if not isinstance(sha, str) or not DIGEST_RE.fullmatch(sha):
        problems.append(f"{path}: invalid sha256 {sha!r}")
        return None
    return FileEntry(path, size, sha)


def _ref_entry(raw: Any, problems: list[str]) -> RefEntry | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("uri"), str):
        problems.append("a reference entry is not an object with a uri")
        return None
    path = raw.get("path")
    try:
        check_entry_path(path)
    except ValueError as exc:
        problems.append(f"{exc}; not followed")
        return None
    size, sha = raw.get("size"), raw.get("sha256")
    return RefEntry(
        path=str(path),
        uri=raw["uri"],
        size=size if type(size) is int else None,
        sha256=sha if isinstance(sha, str) and DIGEST_RE.fullmatch(sha) else None,
    )


@dataclass(frozen=True)
class VersionChange:
    """What changed from one version to the next, by path."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def summary(self) -> str:
        parts = [
            f"{len(paths)} {word}"
            for paths, word in (
                (self.added, "added"),
                (self.removed, "removed"),
                (self.changed, "changed"),
            )
            if paths
        ]
        return ", ".join(parts) or "no file changes"


def compare(previous: Manifest | None, current: Manifest) -> VersionChange:
    """Files (and references) added, removed and changed from ``previous`` to ``current``."""
    if previous is None:
        return VersionChange(added=tuple(sorted(_contents(current))))
    before, after = _contents(previous), _contents(current)
    return VersionChange(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(sorted(p for p in after.keys() & before.keys() if after[p] != before[p])),
    )


def _contents(manifest: Manifest) -> dict[str, tuple[Any, ...]]:
    found: dict[str, tuple[Any, ...]] = {f.path: (f.size, f.sha256) for f in manifest.files}
    for r in manifest.references:
        found[r.path] = (r.uri, r.sha256)
    return found
