"""Write one run directory of format v1: documents, append-only streams and the heartbeat."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runview.store import column_helper
from runview.store import format as fmt
from runview.store.append import AppendStream
from runview.store.atomic import json_bytes, write_atomic
from runview.store.column_helper import ColumnHelper

COLUMNS_ENV = "RUNVIEW_COLUMNS"  # "0": no column helper, so no columns/, for runs started with it

# A logged line is on disk within one of these, or as soon as its 128 KiB chunk fills (the chunk
# wakes the writer thread: store/append.py).
FLUSH_INTERVAL_S = 0.1
HEARTBEAT_INTERVAL_S = 2.0


class RunWriter:
    """Owns a run directory while the run lives; every method is safe to call from training.

    Errors from the writer's own I/O are reported once on stderr and counted, never raised.
    """

    def __init__(self, run_dir: Path, heartbeat_interval: float = HEARTBEAT_INTERVAL_S) -> None:
        self.dir = run_dir
        self.heartbeat_interval = heartbeat_interval
        self._warned: set[str] = set()
        self.write_errors = 0
        self._docs_lock = threading.Lock()
        self._status: dict[str, Any] = {}
        self._summary_source: Callable[[], tuple[int, Any]] | None = None
        self._between_flushes: Callable[[], None] | None = None
        self._summary_version = -1
        self._stop = threading.Event()
        self._wake = threading.Event()  # a chunk of history or system metrics is full
        self._thread: threading.Thread | None = None
        self._disowned = False
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.warn_io(run_dir, exc)
        self.write_document(
            fmt.MARKER_FILE, {"format": fmt.FORMAT_NAME, "version": fmt.FORMAT_VERSION}
        )
        self.history = AppendStream(run_dir / fmt.HISTORY_FILE, self.warn_io, self._wake_writer)
        self.system = AppendStream(run_dir / fmt.SYSTEM_FILE, self.warn_io, self._wake_writer)
        self.columns_helper: ColumnHelper | None = None  # builds columns/ (column_helper.py)
        if os.environ.get(COLUMNS_ENV, "1") != "0":
            try:
                self.columns_helper = column_helper.start(run_dir)
            except Exception as exc:  # no process could start: the viewer parses the JSONL
                self.warn_once("columns", f"columns/ will not be written ({exc!r})")

    # -- errors -------------------------------------------------------------------------------
    def warn_once(self, key: str, message: str) -> None:
        """Say ``message`` on the real stderr the first time ``key`` comes up in this run; never
        raise."""
        if key in self._warned:
            return
        self._warned.add(key)
        try:
            (sys.__stderr__ or sys.stderr).write(f"runview: {message}\n")
        except Exception:
            pass

    def warn_io(self, path: Path, exc: OSError) -> None:
        """Count a failed write; say so once per run. Training goes on."""
        self.write_errors += 1
        self.warn_once(
            "io",
            f"cannot write {path}: {exc}; training continues, the run is marked incomplete and "
            "later write errors are only counted",
        )

    @property
    def dropped_records(self) -> int:
        return self.history.dropped + self.system.dropped

    # -- documents ----------------------------------------------------------------------------
    def write_document(self, name: str, document: Any) -> bool:
        """Replace the document ``name``: a JSON-able value, or bytes already encoded as JSON."""
        if self._disowned:
            return False
        path = self.dir / name
        try:
            if not isinstance(document, bytes):
                document = json_bytes(document)
            try:
                write_atomic(path, document)
            except FileNotFoundError:  # its folder is new, or was deleted under the run
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, document)
            return True
        except OSError as exc:
            self.warn_io(path, exc)
            return False
        except (TypeError, ValueError) as exc:  # a document that cannot be JSON
            self.warn_io(path, OSError(str(exc)))
            return False

    def set_summary_source(
        self,
        source: Callable[[], tuple[int, Any]],
        between_flushes: Callable[[], None] | None = None,
    ) -> None:
        """``source()`` returns (version, summary: a document or its JSON bytes); the heartbeat
        writes it when the version moves. ``between_flushes()`` runs after each periodic flush
        (it bounds what the summary keeps unmerged: runview/_summary.py).

        The training thread only bumps a counter; building and writing the summary happens here.
        """
        self._summary_source = source
        self._between_flushes = between_flushes

    def update_status(self, **fields: Any) -> None:
        """Merge fields into status.json and write it now."""
        with self._docs_lock:
            self._status.update(fields)
            self._status["dropped_records"] = self.dropped_records
            if self.write_errors:
                self._status["write_errors"] = self.write_errors
            status = dict(self._status)
        self.write_document(fmt.STATUS_FILE, status)

    # -- background flushing ------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="runview-writer", daemon=True)
        self._thread.start()

    def _wake_writer(self) -> None:
        """A producer closed a chunk (``AppendStream``): the writer thread writes it now."""
        self._wake.set()

    def _run(self) -> None:
        now = time.monotonic()
        next_flush, next_beat = now + FLUSH_INTERVAL_S, now + self.heartbeat_interval
        wake, stop = self._wake, self._stop
        while not stop.is_set():
            try:
                wait = next_flush - time.monotonic()
                if wait > 0 and wake.wait(wait):
                    wake.clear()  # before writing: a chunk closed from here on wakes it again
                    if not stop.is_set():
                        self.flush(everything=False)  # full chunks; the open one fills on
                    continue
                now = time.monotonic()
                next_flush = now + FLUSH_INTERVAL_S
                self.flush()
                if self._between_flushes is not None:
                    self._between_flushes()
                if now >= next_beat:
                    next_beat = now + self.heartbeat_interval
                    self.heartbeat()
            except Exception as exc:  # a bug here must not stop the flushing for good
                self.warn_io(self.dir, OSError(repr(exc)))

    def flush(self, everything: bool = True) -> int:
        """Write the lines queued by ``log()`` and the sampler; returns the bytes written.

        Without ``everything`` (the writer woken by a full chunk), only full chunks: the open
        one is written by the next periodic flush, if it does not fill first (AppendStream).
        """
        return self.history.flush(everything) + self.system.flush(everything)

    def _check_columns_helper(self) -> None:
        helper = self.columns_helper
        failure = helper.failure() if helper is not None else None
        if failure is not None:
            self.warn_once("columns", f"columns/ not complete ({failure}); history.jsonl is whole")

    def heartbeat(self) -> None:
        self.flush_summary()
        self.update_status(heartbeat=time.time())
        self._check_columns_helper()

    def flush_summary(self) -> None:
        if self._summary_source is None:
            return
        try:
            version, summary = self._summary_source()
        except Exception as exc:  # never let a summary problem stop the heartbeat
            self.warn_io(self.dir / fmt.SUMMARY_FILE, OSError(repr(exc)))
            return
        if version == self._summary_version:
            return
        if self.write_document(fmt.SUMMARY_FILE, summary):
            self._summary_version = version

    def disown(self) -> None:
        """In a forked child: stop writing anything; the parent still owns the run directory.

        Called from an at-fork hook with one thread left: it must take no lock (the parent's
        flusher may have held one at the fork), so it swaps objects instead of using them.
        """
        self._disowned = True
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None
        self.history.disown()
        self.system.disown()
        helper, self.columns_helper = self.columns_helper, None
        if helper is not None:
            helper.disown()

    def close(self, **final_status: Any) -> None:
        """Flush everything, stop the heartbeat and write the final status (always, last)."""
        try:
            self._stop.set()
            self._wake.set()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=5)
            for step in (
                self.history.close,
                self.system.close,
                self._release_columns_helper,
                self.flush_summary,
            ):
                try:
                    step()
                except Exception as exc:  # one failing step must not keep the others from running
                    self.warn_io(self.dir, OSError(repr(exc)))
        finally:
            final_status.setdefault("heartbeat", time.time())
            if self.dropped_records or self.write_errors:
                final_status["incomplete"] = True
            self.update_status(**final_status)

    def _release_columns_helper(self) -> None:
        """History is complete on disk: the helper catches up on its own; nobody waits for it."""
        helper = self.columns_helper
        if helper is not None:
            helper.release()
            self._check_columns_helper()


def claim_run_dir(path: Path) -> Path:
    """Create the run's directory; if that name is taken (same id, same second), add -2, -3 ...

    Two runs must never share a directory. When the root cannot be written at all, ``path``
    comes back unchanged and the writer reports the error.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return path
    for attempt in range(1, 1000):
        candidate = path if attempt == 1 else path.with_name(f"{path.name}-{attempt}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
        except OSError:
            return path
    return path


def process_identity() -> dict[str, Any]:
    """What lets a reader on the same machine prove this process is gone (see liveness)."""
    identity: dict[str, Any] = {"pid": os.getpid()}
    try:
        import psutil

        identity["process_start"] = psutil.Process().create_time()
        identity["boot_time"] = psutil.boot_time()
    except Exception:
        pass
    try:
        identity["pid_namespace"] = os.readlink("/proc/self/ns/pid")
    except OSError:
        pass
    return identity
