"""What a run keeps besides its metrics: saved files, the code state, and artifacts.

``Run`` delegates ``save``, ``log_artifact`` and ``use_artifact`` here and calls ``finish``
when it ends. Each part starts its thread on first use, so a run that uses none costs nothing.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runview.store import format as fmt

if TYPE_CHECKING:
    from runview._artifact import Artifact
    from runview._artifact_jobs import ArtifactJobs, RunArtifactsRecord
    from runview._files import FileSaver
    from runview.store.artifact_store import ArtifactStore

# Artifacts and saved files import their modules on first use: hashing pulls in OpenSSL, which
# a run that logs only metrics should not carry.

CODE_WAIT_S = 1.0  # init waits this long for the code capture; the rest finishes in background

Warn = Callable[[str, str], None]
WriteDocument = Callable[[str, Any], object]


class RunOutputs:
    def __init__(
        self,
        *,
        run_dir: Path,
        root: Path,
        producer: dict[str, Any],
        write_document: WriteDocument,
        warn: Warn,
        save_code: bool,
    ) -> None:
        self.run_dir = run_dir
        self.root = root
        self.producer = producer
        self._write_document = write_document
        self._warn = warn
        self._saver: FileSaver | None = None
        self._jobs: ArtifactJobs | None = None
        self._record_: RunArtifactsRecord | None = None
        self._code: threading.Thread | None = None
        self._disowned = False
        if save_code:
            self._start_code_capture()

    def _start_code_capture(self) -> None:
        folder = self.run_dir / fmt.CODE_DIR

        def capture() -> None:
            try:
                from runview.collectors.code_state import capture as capture_code

                capture_code(folder)
            except Exception as exc:  # the code state is a nicety: never a reason to fail
                self._warn("code", f"code state not captured: {exc!r}")

        self._code = threading.Thread(target=capture, name="runview-code", daemon=True)
        self._code.start()
        self._code.join(CODE_WAIT_S)

    @property
    def _record(self) -> RunArtifactsRecord:
        if self._record_ is None:
            from runview._artifact_jobs import RunArtifactsRecord

            self._record_ = RunArtifactsRecord(self._write_document)
        return self._record_

    def save(self, glob_str: Any, base_path: Any, policy: str) -> None:
        if self._saver is None:
            from runview._files import FileSaver

            excluded = [self.run_dir, self.root / fmt.ARTIFACTS_ROOT]
            self._saver = FileSaver(self.run_dir, excluded, self._write_document, self._warn)
        self._saver.add(glob_str, base_path, policy)

    @property
    def jobs(self) -> ArtifactJobs:
        if self._jobs is None:
            from runview._artifact_jobs import ArtifactJobs

            self._jobs = ArtifactJobs(self.root, self.producer, self._record, self._warn)
        return self._jobs

    def log_artifact(
        self,
        artifact: Artifact | str | os.PathLike[str],
        name: str | None,
        type: str | None,
        aliases: Sequence[str] | None,
    ) -> Artifact:
        from runview._artifact import Artifact
        from runview.store.artifact_manifest import check_alias

        if not isinstance(artifact, Artifact):
            artifact = _artifact_from_path(artifact, name, type)
        if isinstance(aliases, str):
            aliases = [aliases]
        checked = list(dict.fromkeys(check_alias(a) for a in (aliases or [])))
        artifact._seal(checked)
        self.jobs.submit(artifact)
        return artifact

    def use_artifact(self, spec: Artifact | str, type: str | None) -> Artifact:
        from runview._artifact import COMMITTED, DRAFT, LOGGED, Artifact
        from runview.store.artifact_manifest import parse_spec
        from runview.store.artifact_store import ArtifactCorrupt

        if isinstance(spec, Artifact):
            if spec.state == DRAFT:
                raise ValueError(f"artifact {spec.name!r} must be logged before it is used")
            if spec.state in (LOGGED, COMMITTED):
                spec.wait()
            if spec.version is None:
                raise ArtifactCorrupt(f"artifact {spec.name!r} was not stored: {spec.error}")
            name, which = spec.name, spec.version
        else:
            name, which = parse_spec(spec)
        if self._jobs is not None:
            self._jobs.wait_for(name)  # this process's own pending logs of it come first
        store = self.jobs.store
        version = store.resolve(name, which)
        manifest = store.read_manifest(name, version)
        problems = store.check(manifest)
        if problems:
            raise ArtifactCorrupt(f"{name}:v{version}: " + "; ".join(problems))
        if type is not None and manifest.type != type:
            raise ValueError(f"{name}:v{version} is of type {manifest.type!r}, not {type!r}")
        aliases = sorted(a for a, v in store.aliases(name).items() if v == version)
        self._record_use(store, name, version, manifest, spec)
        return Artifact._from_store(store, manifest, aliases)

    def _record_use(
        self, store: ArtifactStore, name: str, version: int, manifest: Any, spec: Any
    ) -> None:
        now = time.time()
        requested = spec if isinstance(spec, str) else f"{name}:v{version}"
        try:
            store.append_lineage(
                name, {"role": "input", "version": version, "time": now, **self.producer}
            )
        except OSError as exc:
            self._warn(f"lineage:{name}", f"could not record the use of {name}: {exc}")
        self._record.input(
            {
                "name": name,
                "type": manifest.type,
                "version": version,
                "requested": requested,
                "digest": manifest.digest,
                "size": manifest.size,
                "files": len(manifest.files),
                "used": now,
            }
        )

    def finish(self) -> None:
        """Copy pending saved files, wait for artifacts and the code capture."""
        if self._disowned:
            return
        if self._saver is not None:
            try:
                self._saver.finish()
            except Exception as exc:
                self._warn("save-finish", f"run.save at finish failed: {exc!r}")
        if self._jobs is not None:
            self._jobs.finish()
        if self._code is not None:
            self._code.join(10)

    def disown(self) -> None:
        """In a forked child: the parent finishes these, not us."""
        self._disowned = True


def _artifact_from_path(path: Any, name: str | None, type: str | None) -> Artifact:
    from runview._artifact import Artifact

    local = Path(os.fspath(path))
    artifact = Artifact(name or _name_from(local), type or "unspecified")
    if local.is_dir():
        artifact.add_dir(local)
    else:
        artifact.add_file(local)
    return artifact


def _name_from(path: Path) -> str:
    import re

    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", path.name).strip(".-")
    return cleaned[:128] or "artifact"
