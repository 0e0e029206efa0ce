"""``run.save``: copy the user's files into the run's ``files/`` folder, off the training thread.

``live`` keeps a file current while the run lasts (its glob is re-evaluated every few seconds,
so files created later are picked up), ``now`` copies once, ``end`` copies at ``finish()``. A
file is copied once its size and mtime have held for ``STABLE_S`` (a checkpoint still being
written is never copied torn), into a temporary name and then renamed. At ``finish()`` what is
pending is copied at once, for at most ``RUNVIEW_SAVE_FINISH_S`` seconds (30 by default), and
what could not be copied is recorded in ``files.json``. Nothing here raises into training but a
bad argument.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runview.store import format as fmt
from runview.store.blob_io import FileChanged, copy_file, remove_quietly

POLICIES = ("live", "now", "end")
STABLE_S = 2.0  # unchanged size and mtime for this long before a copy
TICK_S = 0.5
GLOB_EVERY_S = 3.0
FINISH_ENV = "RUNVIEW_SAVE_FINISH_S"
FINISH_DEFAULT_S = 30.0
SAY_PENDING_BYTES = 256 * 1024 * 1024  # finish() says what it copies when it is this much
_MAGIC = set("*?[")

Warn = Callable[[str, str], None]


class _Deadline(Exception):
    """finish() ran out of time in the middle of a copy."""


@dataclass
class SaveRequest:
    """One ``run.save`` call."""

    pattern: str  # absolute
    base: str  # absolute
    policy: str
    evaluated: bool = False


@dataclass
class SavedFile:
    """One file matched by a request: where it comes from and what was copied of it."""

    path: str  # inside files/, '/'-separated
    source: str
    policy: str
    stamp: tuple[int, int, int] | None = None  # size, mtime_ns, inode as last seen
    since: float = 0.0  # monotonic time the stamp was first seen
    copied: tuple[int, int, int] | None = None
    copies: int = 0
    saved_at: float | None = None
    error: str | None = None
    incomplete: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def wanted(self) -> bool:
        """Still has something to copy."""
        if self.policy == "now" and self.copies:
            return False
        return self.copied is None or self.copied != self.stamp


def split_glob(pattern: str, base_path: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(absolute pattern, absolute base). The base defaults to the pattern's folder before any
    wildcard; a base that does not contain the pattern is a ValueError."""
    absolute = os.path.abspath(os.fspath(pattern))
    parts = absolute.split(os.sep)
    fixed = parts[:-1]
    for i, part in enumerate(parts[:-1]):
        if _MAGIC & set(part):
            fixed = parts[:i]
            break
    prefix = os.sep.join(fixed) or os.sep
    if base_path is None:
        return absolute, prefix
    base = os.path.abspath(os.fspath(base_path))
    if os.path.commonpath([base, prefix]) != base:
        raise ValueError(f"base_path {base} does not contain {absolute}")
    return absolute, base


class FileSaver:
    """The ``files/`` folder of one run, kept by one background thread."""

    def __init__(
        self,
        run_dir: Path,
        excluded: list[Path],
        write_document: Callable[[str, Any], object],
        warn: Warn,
    ) -> None:
        self.folder = run_dir / fmt.FILES_DIR
        self._excluded = [os.path.abspath(p) + os.sep for p in excluded]
        self._write_document = write_document
        self._warn = warn
        self._lock = threading.Lock()
        self._requests: list[SaveRequest] = []
        self._files: dict[str, SavedFile] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dirty = False

    def add(
        self, glob_str: str | os.PathLike[str], base_path: Any = None, policy: str = "live"
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
        pattern, base = split_glob(os.fspath(glob_str), base_path)
        with self._lock:
            self._requests.append(SaveRequest(pattern, base, policy))
            self._dirty = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="runview-save", daemon=True)
                self._thread.start()
        self._wake.set()

    def _loop(self) -> None:
        next_glob = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_glob or self._wake.is_set():
                    self._wake.clear()
                    next_glob = now + GLOB_EVERY_S
                    self._match(final=False)
                self._copy_stable(now)
                self._write_index()
            except Exception as exc:  # never let one bad file stop the others being kept
                self._warn("save-loop", f"run.save: {exc!r}")
            self._stop.wait(TICK_S)

    def _match(self, final: bool) -> None:
        with self._lock:
            requests = list(self._requests)
        for request in requests:
            if request.policy == "end" and not final:
                continue
            if request.policy == "now" and request.evaluated:
                continue
            request.evaluated = True
            matches = sorted(glob.glob(request.pattern, recursive=True))
            for source in matches:
                self._track(source, request)
            if not matches and request.policy != "live":
                self._warn(
                    f"save-none:{request.pattern}",
                    f"run.save({request.pattern!r}, policy={request.policy!r}) matched no file",
                )

    def _track(self, source: str, request: SaveRequest) -> None:
        if not os.path.isfile(source) or any(source.startswith(x) for x in self._excluded):
            return
        rel = os.path.relpath(source, request.base)
        if rel.startswith(".."):
            return
        path = rel.replace(os.sep, "/")
        with self._lock:
            known = self._files.get(path)
            if known is None:
                self._files[path] = SavedFile(path, source, request.policy)
                self._dirty = True
            elif known.source != source:
                self._warn(
                    f"save-clash:{path}",
                    f"run.save: {source} and {known.source} both map to files/{path}; "
                    "keeping the first",
                )
            elif request.policy == "live" and known.policy != "live":
                known.policy = "live"  # a later live save keeps an earlier one-off current

    def _copy_stable(self, now: float) -> None:
        with self._lock:
            files = [f for f in self._files.values() if f.policy != "end"]
        for saved in files:
            stamp = _stamp(saved.source)
            if stamp is None:
                continue
            if stamp != saved.stamp:
                saved.stamp, saved.since = stamp, now
                continue
            if saved.wanted and now - saved.since >= STABLE_S:
                self._copy(saved, deadline=None)

    def _copy(self, saved: SavedFile, deadline: float | None) -> bool:
        target = self.folder.joinpath(*saved.path.split("/"))
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")

        def check_deadline(_n: int) -> None:
            if deadline is not None and time.monotonic() > deadline:
                raise _Deadline()

        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_quietly(tmp)
            before = copy_file(saved.source, tmp, progress=check_deadline)
            os.replace(tmp, target)
        except FileChanged:
            return False  # still being written: the next look tries again
        except _Deadline:
            saved.incomplete = "finish() ran out of time while copying it"
            return False
        except OSError as exc:
            remove_quietly(tmp)
            saved.error = f"{exc.strerror or exc}"
            self._warn(f"save:{saved.path}", f"run.save: cannot copy {saved.source}: {saved.error}")
            self._dirty = True
            return False
        saved.copied = saved.stamp = (before.st_size, before.st_mtime_ns, before.st_ino)
        saved.copies += 1
        saved.saved_at = time.time()
        saved.error = saved.incomplete = None
        saved.extra = {"size": before.st_size, "mtime": before.st_mtime_ns / 1e9}
        self._dirty = True
        return True

    def _write_index(self, force: bool = False) -> None:
        with self._lock:
            if not (self._dirty or force):
                return
            self._dirty = False
            document = {
                "saved": [
                    {"glob": r.pattern, "base_path": r.base, "policy": r.policy}
                    for r in self._requests
                ],
                "files": [_describe(f) for _, f in sorted(self._files.items())],
            }
        self._write_document(fmt.FILES_INDEX, document)

    def finish(self, timeout: float | None = None) -> None:
        """Stop the thread, then copy what is pending at once (the program is done writing)."""
        if timeout is None:
            timeout = _finish_timeout()
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        deadline = time.monotonic() + timeout
        try:
            self._match(final=True)
            with self._lock:
                files = list(self._files.values())
            pending = sum((_stamp(f.source) or (0,))[0] for f in files if f.wanted)
            if pending >= SAY_PENDING_BYTES:
                self._warn(
                    "save-finish",
                    f"run.save: copying {pending / 2**20:,.0f} MiB of saved files before the run "
                    f"ends (at most {timeout:g} s)",
                )
            for saved in files:
                current = _stamp(saved.source)
                if current is None:  # deleted: the last copy (if any) stays
                    if not saved.copies:
                        saved.incomplete = "the file was gone at finish()"
                    continue
                saved.stamp = current
                tries = 0
                while saved.wanted and saved.stamp is not None and tries < 3:
                    if time.monotonic() > deadline:
                        saved.incomplete = f"not copied: finish() waits at most {timeout:g} s"
                        break
                    tries += 1
                    if not self._copy(saved, deadline) and saved.error:
                        break
                    saved.stamp = _stamp(saved.source) or saved.stamp
                if saved.wanted and not saved.incomplete and not saved.error:
                    saved.incomplete = "it kept changing while finish() copied it"
            incomplete = [f.path for f in files if f.incomplete]
            if incomplete:
                self._warn(
                    "save-incomplete",
                    f"run.save: {len(incomplete)} file(s) not saved completely "
                    f"(listed in {fmt.FILES_INDEX})",
                )
        finally:
            self._write_index(force=True)


def _stamp(source: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(source)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _describe(saved: SavedFile) -> dict[str, Any]:
    state = (
        "error"
        if saved.error
        else "incomplete"
        if saved.incomplete
        else "saved"
        if saved.copies
        else "pending"
    )
    entry: dict[str, Any] = {
        "path": saved.path,
        "source": saved.source,
        "policy": saved.policy,
        "state": state,
        "copies": saved.copies,
        "saved_at": saved.saved_at,
        **saved.extra,
    }
    if saved.error:
        entry["error"] = saved.error
    if saved.incomplete:
        entry["incomplete"] = saved.incomplete
    return entry


def _finish_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get(FINISH_ENV, FINISH_DEFAULT_S)))
    except ValueError:
        return FINISH_DEFAULT_S
