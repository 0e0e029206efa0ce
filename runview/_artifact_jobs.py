"""The logger's artifact thread and the run's record of what it used and produced.

``log_artifact`` only queues: hashing, copying and committing happen here, one artifact after
another, off the training thread. ``artifacts.json`` in the run directory lists the run's inputs
and outputs; the store's lineage index lists the runs of each artifact, so lineage is found both
ways without scanning runs.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runview._artifact import Artifact
from runview.store import format as fmt
from runview.store.artifact_manifest import FileEntry, RefEntry
from runview.store.artifact_store import ArtifactCorrupt, ArtifactStore
from runview.store.blob_io import sha256_file

Warn = Callable[[str, str], None]
SLOW_S = 2.0  # finish() says what it is waiting for after this long, then every REPORT_S
REPORT_S = 5.0
SHOW_PENDING_BYTES = 64 * 1024 * 1024


class RunArtifactsRecord:
    """``artifacts.json``: this run's outputs (one entry per ``log_artifact``) and inputs."""

    def __init__(self, write_document: Callable[[str, Any], object]) -> None:
        self._write_document = write_document
        self._lock = threading.Lock()
        self._outputs: dict[int, dict[str, Any]] = {}
        self._inputs: list[dict[str, Any]] = []

    def output(self, key: int, art: Artifact, write: bool = True, **fields: Any) -> None:
        with self._lock:
            entry = self._outputs.setdefault(key, {"name": art.name, "type": art.type})
            entry.update(fields)
            if write:
                self._write()

    def input(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._inputs.append(entry)
            self._write()

    def _write(self) -> None:
        self._write_document(
            fmt.ARTIFACTS_FILE,
            {"outputs": list(self._outputs.values()), "inputs": list(self._inputs)},
        )


class ArtifactJobs:
    """Commits logged artifacts in order on one background thread."""

    def __init__(
        self, root: Path, producer: dict[str, Any], record: RunArtifactsRecord, warn: Warn
    ) -> None:
        self.store = ArtifactStore(root)
        self.producer = producer
        self.record = record
        self._warn = warn
        self._queue: deque[tuple[int, Artifact]] = deque()
        self._busy: Artifact | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._count = 0
        self.bytes_total = 0
        self.bytes_done = 0

    def submit(self, art: Artifact) -> None:
        """Queue ``art``; returns at once whatever its size."""
        with self._cond:
            self._count += 1
            self._queue.append((self._count, art))
            self.bytes_total += art.size
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="runview-artifacts", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def wait_for(self, name: str | None = None, timeout: float | None = None) -> bool:
        """Wait until no artifact (named ``name``, or any) is queued or being stored."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending(name):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _pending(self, name: str | None) -> bool:
        if name is None:
            return bool(self._queue) or self._busy is not None
        return any(a.name == name for _, a in self._queue) or (
            self._busy is not None and self._busy.name == name
        )

    def finish(self) -> None:
        """Wait for every queued artifact, saying on stderr what is left when it takes long."""
        started = time.monotonic()
        next_report = started + SLOW_S
        while not self.wait_for(timeout=0.25):
            now = time.monotonic()
            if now >= next_report:
                next_report = now + REPORT_S
                with self._cond:
                    left = len(self._queue) + (self._busy is not None)
                _say(
                    f"runview: storing artifacts: {_size(self.bytes_done)} of "
                    f"{_size(self.bytes_total)} hashed, {left} version(s) left "
                    f"({now - started:.0f} s; Ctrl-C abandons them)"
                )

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                key, art = self._queue.popleft()
                self._busy = art
            try:
                self._commit(key, art)
            finally:
                with self._cond:
                    self._busy = None
                    self._cond.notify_all()

    def _commit(self, key: int, art: Artifact) -> None:
        aliases = list(art.aliases)
        # Said at once only when storing will take a while: each write rewrites the document.
        slow = art.size >= SHOW_PENDING_BYTES
        self.record.output(key, art, slow, state="pending", aliases=aliases, logged=time.time())
        try:
            manifest, new = self._store(art, aliases)
        except Exception as exc:  # disk full, a file vanished: recorded, never raised
            error = _reason(exc)
            art._failed(error)
            self._warn(f"artifact:{art.name}", f"artifact {art.name!r} not stored: {error}")
            self.record.output(key, art, state="failed", error=error)
            return
        art._committed(self.store, manifest, aliases)
        self.record.output(
            key,
            art,
            state="committed",
            version=manifest.version,
            digest=manifest.digest,
            size=manifest.size,
            files=len(manifest.files),
            new=new,
            created=manifest.created,
        )

    def _store(self, art: Artifact, aliases: list[str]) -> tuple[Any, bool]:
        for source in art._sources.values():
            if source.error:
                raise OSError(source.error)
        with self.store.writing():
            files = []
            for source in art._sources.values():
                if source.staged:
                    entry = self.store.ingest_staged(source.local, self._progress)
                else:
                    entry = self.store.ingest_user_file(source.local, self._progress)
                files.append(FileEntry(source.path, entry.size, entry.sha256))
            refs = []
            for ref in art._refs.values():
                if ref.local is None:
                    refs.append(RefEntry(ref.path, ref.uri))
                    continue
                sha, size = sha256_file(ref.local, self._progress)
                refs.append(RefEntry(ref.path, ref.uri, size, sha))
            committed = self.store.commit(
                name=art.name,
                type=art.type,
                description=art.description,
                metadata=_jsonable(art.metadata),
                files=files,
                refs=refs,
                aliases=aliases,
                producer=self.producer,
            )
        manifest = self.store.read_manifest(art.name, committed.version)
        if manifest.problems:
            raise ArtifactCorrupt("; ".join(manifest.problems))
        return manifest, committed.new

    def _progress(self, n: int) -> None:
        self.bytes_done += n


def _jsonable(metadata: dict[str, Any]) -> dict[str, Any]:
    from runview._summary import jsonable

    value = jsonable(metadata)
    return value if isinstance(value, dict) else {}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop returns


def _say(line: str) -> None:
    try:
        (sys.__stderr__ or sys.stderr).write(line + "\n")
    except Exception:
        pass
