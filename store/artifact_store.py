"""The content-addressed artifact store shared by the runs of a root: ``<root>/.artifacts/``.

Blobs are named by their sha256 and stored read-only, once however many versions and runs hold
them. Versions of an artifact are numbered v0, v1, ... under a per-name lock (``flock``), with an
intent file so a writer killed mid-commit is repaired by the next one, and a version manifest is
created with ``link`` (which fails if the name exists), so two processes can never give one
number to two contents, nor two numbers to one content. The layout is in docs/run-format.md.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runview.store import format as fmt
from runview.store.artifact_manifest import (
    DIGEST_RE,
    LATEST,
    NAME_RE,
    VERSION_RE,
    FileEntry,
    Manifest,
    RefEntry,
    content_digest,
    manifest_document,
    parse_manifest,
)
from runview.store.atomic import write_json_atomic
from runview.store.blob_io import (
    FileChanged,
    Progress,
    copy_file,
    file_stamp,
    remove_quietly,
    sha256_file,
)
from runview.store.jsonio import DECODE_ERRORS, dumps, loads

STORE_DIR = fmt.ARTIFACTS_ROOT
MARKER = "store.json"
BLOBS, TMP, NAMES = "blobs", "tmp", "names"
GC_LOCK = "gc.lock"
BLOB_MODE = 0o444
_VERSION_FILE = re.compile(r"v(\d{1,9})\.json")
_digest_cache: dict[tuple[int, int, int, int], str] = {}  # stamp of a file -> its sha256
_DIGEST_CACHE_MAX = 100_000


class ArtifactNotFound(LookupError):
    """The artifact, version or alias does not exist in this root's store."""


class ArtifactCorrupt(Exception):
    """A stored version failed its checks: a missing blob, a wrong size or digest, a bad path."""


@dataclass(frozen=True)
class Committed:
    """What a commit did: the version number, and whether this content made a new version."""

    version: int
    new: bool
    digest: str


def store_dir(root: Path) -> Path:
    return root / STORE_DIR


class ArtifactStore:
    """One root's store. Safe to use from several threads and processes at once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = store_dir(root)

    def ensure(self) -> None:
        for sub in (BLOBS, TMP, NAMES):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        marker = self.dir / MARKER
        if not marker.exists():
            write_json_atomic(marker, {"format": "runview-artifacts", "version": 1})

    def blob_path(self, sha256: str) -> Path:
        if not DIGEST_RE.fullmatch(sha256):
            raise ArtifactCorrupt(f"invalid sha256 {sha256!r}")
        return self.dir / BLOBS / sha256[:2] / sha256

    def name_dir(self, name: str) -> Path:
        if not NAME_RE.fullmatch(name):
            raise ValueError(f"invalid artifact name {name!r}")
        return self.dir / NAMES / name

    def tmp_path(self, prefix: str) -> Path:
        return self.dir / TMP / f"{prefix}-{os.getpid()}-{secrets.token_hex(6)}"

    def has_blob(self, sha256: str, size: int) -> bool:
        try:
            st = os.lstat(self.blob_path(sha256))
        except OSError:
            return False
        return (st.st_mode & 0o170000) == 0o100000 and st.st_size == size

    def ingest_staged(self, staged: Path, progress: Progress | None = None) -> FileEntry:
        """Store a copy runview made itself (``policy="mutable"``): hash it, then move it in."""
        sha, size = sha256_file(staged, progress)
        if not self.has_blob(sha, size):
            os.chmod(staged, BLOB_MODE)
            self._place(staged, sha)
        remove_quietly(staged)
        return FileEntry("", size, sha)

    def ingest_user_file(self, source: Path, progress: Progress | None = None) -> FileEntry:
        """Store a user's file (``policy="immutable"``): copied in by the kernel on a second
        thread while this one hashes it, the copy dropped if the store already has those bytes.
        Never a hard link to the user's file: a later edit would change every version."""
        st = os.stat(source)
        stamp = file_stamp(st)
        sha = _digest_cache.get(stamp)
        if sha is not None:
            if progress is not None:
                progress(st.st_size)
            if self.has_blob(sha, st.st_size):
                return FileEntry("", st.st_size, sha)
        copy = _BackgroundCopy(source, self.tmp_path("blob"))
        try:
            if sha is None:
                sha, _size = sha256_file(source, progress)
                _remember(stamp, sha)
            if self.has_blob(sha, st.st_size):
                return FileEntry("", st.st_size, sha)
            before = copy.result()
            if file_stamp(before) != stamp:
                # Edited between the hash and the copy: what we hold is the copy, name it so.
                sha, _ = sha256_file(copy.target)
            os.chmod(copy.target, BLOB_MODE)
            self._place(copy.target, sha)
            return FileEntry("", before.st_size, sha)
        finally:
            copy.cancel()

    def _place(self, path: Path, sha: str) -> None:
        """Link ``path`` in as the blob ``sha`` unless one is there already (then it is the same
        bytes). A staged file on another filesystem is copied into the store first."""
        target = self.blob_path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except FileExistsError:
            pass
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            tmp = self.tmp_path("blob")
            copy_file(path, tmp, mode=BLOB_MODE)
            try:
                os.link(tmp, target)
            except FileExistsError:
                pass
            finally:
                remove_quietly(tmp)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Held (shared) by writers from their first blob to their last alias, so ``gc --delete``
        (which takes it exclusively) never removes a blob a commit is about to reference."""
        self.ensure()
        with _flock(self.dir / GC_LOCK, fcntl.LOCK_SH):
            yield

    @contextlib.contextmanager
    def exclusive(self, timeout: float) -> Iterator[bool]:
        """The gc side of ``writing``: yields False if writers kept it busy for ``timeout`` s."""
        self.ensure()
        fd = os.open(self.dir / GC_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.1)
            yield True
        finally:
            os.close(fd)

    def commit(
        self,
        *,
        name: str,
        type: str,
        description: str,
        metadata: dict[str, Any],
        files: list[FileEntry],
        refs: list[RefEntry],
        aliases: list[str],
        producer: dict[str, Any],
    ) -> Committed:
        """Give this content its version (an existing one if the same content was logged before),
        move ``latest`` and the aliases, and record the producing run in the lineage index."""
        digest = content_digest(files, refs)
        base = self.name_dir(name)
        for sub in ("versions", "contents", "aliases"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        now = time.time()
        with _flock(base / "lock", fcntl.LOCK_EX):
            self._recover(base)
            version = self._version_of(base, digest)
            new = version is None
            if version is None:
                version = self._create_version(
                    base,
                    digest,
                    manifest_document(
                        name=name,
                        version=0,
                        type=type,
                        description=description,
                        metadata=metadata,
                        digest=digest,
                        created=now,
                        producer=producer,
                        files=files,
                        refs=refs,
                    ),
                )
            for alias in aliases:
                if alias != LATEST:
                    write_json_atomic(base / "aliases" / f"{alias}.json", _alias_doc(version, now))
        record = {"role": "output", "version": version, "new": new, "time": now, **producer}
        self.append_lineage(name, record)
        return Committed(version, new, digest)

    def _version_of(self, base: Path, digest: str) -> int | None:
        try:
            document = loads((base / "contents" / digest).read_bytes())
            version = int(document["version"])
        except (OSError, KeyError, TypeError, ValueError, *DECODE_ERRORS):
            return None
        return version if (base / "versions" / f"v{version}.json").is_file() else None

    def _create_version(self, base: Path, digest: str, document: dict[str, Any]) -> int:
        versions = base / "versions"
        version = max(_version_numbers(versions), default=-1) + 1
        while True:
            document["version"] = version
            # The intent comes first: a writer killed before the content index is written leaves
            # it, and the next writer finishes the job instead of numbering the content again.
            write_json_atomic(base / "pending.json", {"digest": digest, "version": version})
            tmp = versions / f".v{version}.{os.getpid()}.tmp"
            tmp.write_bytes(dumps(document))
            try:
                os.chmod(tmp, 0o444)
                os.link(tmp, versions / f"v{version}.json")
                break
            except FileExistsError:  # only without working locks (some network filesystems)
                version += 1
            finally:
                remove_quietly(tmp)
        self._finish_version(base, digest, version)
        return version

    def _finish_version(self, base: Path, digest: str, version: int) -> None:
        write_json_atomic(base / "contents" / digest, {"version": version})
        latest = max(_version_numbers(base / "versions"), default=version)
        write_json_atomic(base / "aliases" / f"{LATEST}.json", _alias_doc(latest, time.time()))
        remove_quietly(base / "pending.json")

    def _recover(self, base: Path) -> None:
        try:
            pending = loads((base / "pending.json").read_bytes())
            digest, version = str(pending["digest"]), int(pending["version"])
        except FileNotFoundError:
            return
        except (OSError, KeyError, TypeError, ValueError, *DECODE_ERRORS):
            remove_quietly(base / "pending.json")
            return
        if DIGEST_RE.fullmatch(digest) and (base / "versions" / f"v{version}.json").is_file():
            self._finish_version(base, digest, version)
        else:
            remove_quietly(base / "pending.json")

    def append_lineage(self, name: str, record: dict[str, Any]) -> None:
        """One line in ``names/<name>/lineage.jsonl`` (O_APPEND: lines of several writers never
        interleave)."""
        path = self.name_dir(name) / "lineage.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, dumps(record) + b"\n")
        finally:
            os.close(fd)

    def names(self) -> list[str]:
        try:
            entries = os.listdir(self.dir / NAMES)
        except OSError:
            return []
        return sorted(n for n in entries if NAME_RE.fullmatch(n))

    def versions(self, name: str) -> list[int]:
        return sorted(_version_numbers(self.name_dir(name) / "versions"))

    def read_manifest(self, name: str, version: int) -> Manifest:
        """The manifest of ``name:v<version>``; ArtifactNotFound if it does not exist. A
        manifest that cannot be parsed comes back with its problems, never raises."""
        path = self.name_dir(name) / "versions" / f"v{version}.json"
        try:
            st = os.lstat(path)
            if (st.st_mode & 0o170000) != 0o100000:
                return Manifest(name, version, problems=("manifest is not a regular file",))
            data = path.read_bytes()
        except FileNotFoundError:
            raise ArtifactNotFound(f"{name}:v{version} does not exist") from None
        except OSError as exc:
            return Manifest(name, version, problems=(f"cannot read manifest: {exc.strerror}",))
        try:
            document = loads(data)
        except DECODE_ERRORS:
            return Manifest(name, version, problems=("manifest is not valid JSON",))
        return parse_manifest(document, name, version)

    def aliases(self, name: str) -> dict[str, int]:
        """Every alias of ``name`` and the version it names (``latest`` included)."""
        folder = self.name_dir(name) / "aliases"
        found: dict[str, int] = {}
        try:
            entries = os.listdir(folder)
        except OSError:
            entries = []
        for entry in entries:
            alias = entry.removesuffix(".json")
            if entry.endswith(".json") and NAME_RE.fullmatch(alias):
                version = _read_alias(folder / entry)
                if version is not None:
                    found[alias] = version
        if LATEST not in found:
            versions = self.versions(name)
            if versions:
                found[LATEST] = versions[-1]
        return found

    def resolve(self, name: str, which: str) -> int:
        """The version number ``which`` (``v3``, ``latest`` or an alias) names."""
        versions = self.versions(name)
        if not versions:
            raise ArtifactNotFound(f"no artifact named {name!r} in {self.dir}")
        match = VERSION_RE.fullmatch(which)
        if match:
            version = int(match.group(1))
            if version in versions:
                return version
            raise ArtifactNotFound(
                f"{name}:{which} does not exist; versions are v{versions[0]}..v{versions[-1]}"
            )
        aliases = self.aliases(name)
        version = aliases.get(which)
        if version is None or version not in versions:
            known = ", ".join(sorted(aliases)) or "none"
            raise ArtifactNotFound(f"{name}:{which}: no such alias (aliases: {known})")
        return version

    def lineage(self, name: str) -> list[dict[str, Any]]:
        """The records of ``lineage.jsonl``, oldest first; damaged lines are skipped."""
        try:
            data = (self.name_dir(name) / "lineage.jsonl").read_bytes()
        except OSError:
            return []
        records = []
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                record = loads(line)
            except DECODE_ERRORS:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def check(self, manifest: Manifest, *, digests: bool = False) -> list[str]:
        """Problems with a version's blobs: missing, not a regular file, outside the store, the
        wrong size, and with ``digests`` the wrong sha256 (which reads every byte)."""
        problems = list(manifest.problems)
        blobs = os.path.realpath(self.dir / BLOBS)
        for entry in manifest.files:
            problem = self.check_blob(entry, blobs, digests=digests)
            if problem:
                problems.append(f"{entry.path}: {problem}")
        return problems

    def check_blob(self, entry: FileEntry, blobs: str | None = None, digests: bool = False) -> str:
        """Why the blob of ``entry`` cannot be trusted, or "" when it can."""
        path = self.blob_path(entry.sha256)
        blobs = blobs or os.path.realpath(self.dir / BLOBS)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return "blob missing from the store"
        except OSError as exc:
            return f"blob unreadable ({exc.strerror})"
        if (st.st_mode & 0o170000) != 0o100000:
            return "blob is not a regular file (not followed)"
        if not os.path.realpath(path).startswith(blobs + os.sep):
            return "blob lies outside the store (not followed)"
        if st.st_size != entry.size:
            return f"blob is {st.st_size} bytes, the manifest says {entry.size}"
        if digests:
            try:
                sha, _ = sha256_file(path)
            except (OSError, FileChanged) as exc:
                return f"blob unreadable ({exc})"
            if sha != entry.sha256:
                return "blob content does not match its sha256"
        return ""


class _Cancelled(Exception):
    pass


class _BackgroundCopy:
    """A kernel copy of ``source`` to ``target`` on its own thread (copy_file_range and hashlib
    both release the GIL, so the copy overlaps the hash instead of following it)."""

    def __init__(self, source: Path, target: Path) -> None:
        self.target = target
        self._cancelled = False
        self._before: os.stat_result | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(source,), name="runview-blob-copy", daemon=True
        )
        self._thread.start()

    def _run(self, source: Path) -> None:
        def check(_n: int) -> None:
            if self._cancelled:
                raise _Cancelled()

        try:
            self._before = copy_file(source, self.target, mode=0o600, progress=check)
        except BaseException as exc:
            self._error = exc

    def result(self) -> os.stat_result:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._before is not None
        return self._before

    def cancel(self) -> None:
        """Stop the copy (if still running) and remove what it wrote."""
        self._cancelled = True
        self._thread.join()
        remove_quietly(self.target)


def _alias_doc(version: int, now: float) -> dict[str, Any]:
    return {"version": version, "time": now}


def _read_alias(path: Path) -> int | None:
    try:
        document = loads(path.read_bytes())
        version = document["version"]
    except (OSError, KeyError, TypeError, *DECODE_ERRORS):
        return None
    return version if type(version) is int and version >= 0 else None


def _version_numbers(folder: Path) -> list[int]:
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    return [int(m.group(1)) for e in entries if (m := _VERSION_FILE.fullmatch(e))]


def _remember(stamp: tuple[int, int, int, int], sha: str) -> None:
    if len(_digest_cache) >= _DIGEST_CACHE_MAX:
        _digest_cache.clear()
    _digest_cache[stamp] = sha


@contextlib.contextmanager
def _flock(path: Path, how: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, how)
        yield
    finally:
        os.close(fd)  # closing releases the lock


__all__ = [
    "ArtifactCorrupt",
    "ArtifactNotFound",
    "ArtifactStore",
    "Committed",
    "STORE_DIR",
    "VERSION_RE",
]
