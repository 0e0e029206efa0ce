"""What the viewer shows about artifacts: a run's inputs and outputs, and one version's details
(files, metadata, every version with its changes, the runs that produced and used it).

Reads only. Whatever a document or manifest says that cannot be trusted (a path that leaves the
root or the store, a missing blob, a wrong size) becomes a problem line, never an exception.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runview.store import format as fmt
from runview.store.artifact_manifest import (
    NAME_RE,
    Manifest,
    VersionChange,
    compare,
)
from runview.store.artifact_store import ArtifactNotFound, ArtifactStore
from runview.store.jsonio import DECODE_ERRORS, as_object, loads

MAX_DOCUMENT = 16 * 1024 * 1024
MAX_COMPARED_VERSIONS = 200  # older versions are listed without their changes
MAX_LINEAGE = 500  # the newest records; the rest are counted


@dataclass(frozen=True)
class ArtifactRow:
    """One line of the Artifacts table: an output the run logged or an input it used."""

    direction: str  # "output" or "input"
    name: str
    type: str
    version: int | None
    aliases: tuple[str, ...]
    size: int | None
    files: int | None
    created: float | None
    state: str = "committed"
    error: str | None = None
    requested: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name}:v{self.version}" if self.version is not None else self.name


@dataclass(frozen=True)
class RunArtifacts:
    rows: tuple[ArtifactRow, ...] = ()
    problems: tuple[str, ...] = ()
    exists: bool = False


def read_run_artifacts(run_dir: Path) -> RunArtifacts:
    """The run's ``artifacts.json``, with each artifact's current aliases from the store."""
    path = run_dir / fmt.ARTIFACTS_FILE
    try:
        if path.stat().st_size > MAX_DOCUMENT:
            return RunArtifacts(problems=(f"{fmt.ARTIFACTS_FILE} is too large to read",))
        document = as_object(loads(path.read_bytes()))
    except FileNotFoundError:
        return RunArtifacts()
    except OSError as exc:
        return RunArtifacts(problems=(f"{fmt.ARTIFACTS_FILE}: {exc.strerror or exc}",), exists=True)
    except DECODE_ERRORS:
        return RunArtifacts(problems=(f"{fmt.ARTIFACTS_FILE} is not valid JSON",), exists=True)
    store = ArtifactStore(run_dir.parent.parent)
    aliases: dict[str, dict[str, int]] = {}
    rows, problems = [], []
    for direction, key in (("output", "outputs"), ("input", "inputs")):
        entries = document.get(key)
        for entry in entries if isinstance(entries, list) else []:
            row = _row(direction, entry, store, aliases)
            if row is None:
                problems.append(f"{fmt.ARTIFACTS_FILE}: an {direction} entry is not understood")
            else:
                rows.append(row)
    return RunArtifacts(tuple(rows), tuple(problems), exists=True)


def _row(
    direction: str, entry: Any, store: ArtifactStore, aliases: dict[str, dict[str, int]]
) -> ArtifactRow | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return None
    name = entry["name"]
    version = entry.get("version")
    version = version if type(version) is int and version >= 0 else None
    if NAME_RE.fullmatch(name):
        if name not in aliases:
            aliases[name] = store.aliases(name)
        current = tuple(sorted(a for a, v in aliases[name].items() if v == version))
    else:
        current = ()
    return ArtifactRow(
        direction=direction,
        name=name,
        type=str(entry.get("type") or ""),
        version=version,
        aliases=current,
        size=_int(entry.get("size")),
        files=_int(entry.get("files")),
        created=_float(entry.get("created") or entry.get("used")),
        state=str(entry.get("state") or "committed"),
        error=str(entry["error"]) if entry.get("error") else None,
        requested=str(entry["requested"]) if entry.get("requested") else None,
    )


@dataclass(frozen=True)
class VersionRow:
    version: int
    created: float | None
    size: int
    files: int
    aliases: tuple[str, ...]
    change: VersionChange | None  # None: too old to compare, or unreadable
    producer: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineageRun:
    """A run that produced or used a version; ``path`` is set only when it is a run under the
    same root (a record naming anything else is shown, never opened)."""

    role: str  # "produced", "also logged", "used"
    version: int | None
    run: str
    run_id: str
    name: str
    time: float | None
    path: Path | None
    problem: str | None = None


@dataclass(frozen=True)
class ArtifactDetail:
    name: str
    version: int
    manifest: Manifest
    problems: tuple[str, ...]
    aliases: tuple[str, ...]
    versions: tuple[VersionRow, ...] = ()
    lineage: tuple[LineageRun, ...] = ()
    lineage_dropped: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


def read_detail(root: Path, name: str, version: int) -> ArtifactDetail:
    """Everything about ``name:v<version>``; ArtifactNotFound when it is not in the store."""
    store = ArtifactStore(root)
    if not NAME_RE.fullmatch(name):
        raise ArtifactNotFound(f"{name!r} is not a valid artifact name")
    manifest = store.read_manifest(name, version)
    problems = tuple(store.check(manifest))
    all_aliases = store.aliases(name)
    numbers = store.versions(name)
    compared = set(numbers[-MAX_COMPARED_VERSIONS:])
    rows: list[VersionRow] = []
    previous: Manifest | None = None
    for number in numbers:
        if number not in compared:
            rows.append(VersionRow(number, None, 0, 0, _aliases_of(all_aliases, number), None, ""))
            continue
        current = manifest if number == version else store.read_manifest(name, number)
        rows.append(
            VersionRow(
                version=number,
                created=current.created,
                size=current.size,
                files=len(current.files),
                aliases=_aliases_of(all_aliases, number),
                change=compare(previous, current) if not current.problems else None,
                producer=str(current.producer.get("run") or ""),
                problems=current.problems,
            )
        )
        previous = current
    lineage, dropped = _lineage(root, store, name, version, manifest)
    notes = ()
    if len(numbers) > MAX_COMPARED_VERSIONS:
        notes = (f"the {len(numbers) - MAX_COMPARED_VERSIONS} oldest versions are not compared",)
    return ArtifactDetail(
        name=name,
        version=version,
        manifest=manifest,
        problems=problems,
        aliases=_aliases_of(all_aliases, version),
        versions=tuple(reversed(rows)),
        lineage=lineage,
        lineage_dropped=dropped,
        notes=notes,
    )


def _aliases_of(aliases: dict[str, int], version: int) -> tuple[str, ...]:
    return tuple(sorted(a for a, v in aliases.items() if v == version))


def _lineage(
    root: Path, store: ArtifactStore, name: str, version: int, manifest: Manifest
) -> tuple[tuple[LineageRun, ...], int]:
    producer_id = str(manifest.producer.get("run_id") or "")
    found: list[LineageRun] = []
    seen: set[tuple[str, str, str]] = set()
    if manifest.producer:
        record = {"time": manifest.created, **manifest.producer}
        found.append(_lineage_run(root, "produced", version, record))
        seen.add(("produced", producer_id, str(manifest.producer.get("run") or "")))
    records = [r for r in store.lineage(name) if r.get("version") == version]
    for record in records:
        role = "used" if record.get("role") == "input" else "also logged"
        key = (role, str(record.get("run_id") or ""), str(record.get("run") or ""))
        if role == "also logged" and key[1] == producer_id:
            continue
        if key in seen:
            continue
        seen.add(key)
        found.append(_lineage_run(root, role, version, record))
    dropped = max(0, len(found) - MAX_LINEAGE)
    return tuple(found[:1] + found[1:][-MAX_LINEAGE:]), dropped


def _lineage_run(root: Path, role: str, version: int, record: dict[str, Any]) -> LineageRun:
    run = str(record.get("run") or "")
    run_id = str(record.get("run_id") or "")
    path, problem = resolve_run(root, run)
    name = _run_name(path) if path is not None else ""
    when = record.get("time", record.get("created"))
    return LineageRun(
        role=role,
        version=version,
        run=run,
        run_id=run_id,
        name=name or run_id,
        time=float(when) if isinstance(when, (int, float)) else None,
        path=path,
        problem=problem,
    )


def resolve_run(root: Path, run: str) -> tuple[Path | None, str | None]:
    """The run directory ``<project>/<dir>`` names under ``root``, or why it is not followed."""
    parts = run.split("/")
    if len(parts) != 2 or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None, f"{run!r} is not a run of this root (not followed)"
    path = root / parts[0] / parts[1]
    try:
        real, real_root = os.path.realpath(path), os.path.realpath(root)
    except OSError:
        return None, f"{run}: unreadable"
    if not real.startswith(real_root + os.sep):
        return None, f"{run} leaves the root (not followed)"
    if not (path / fmt.MARKER_FILE).is_file():
        return None, f"{run}: no such run here (moved or deleted)"
    return path, None


def _run_name(path: Path) -> str:
    try:
        with open(path / fmt.META_FILE, "rb") as fh:
            meta = as_object(loads(fh.read(1024 * 1024)))
    except (OSError, *DECODE_ERRORS):
        return ""
    name = meta.get("name")
    return name if isinstance(name, str) else ""


def _int(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
