"""One row of the run table, built from a run's small documents only (never its history).

``read_docs`` reads runview.json, meta.json, status.json, summary.json and config.json and keeps
what a table shows, with the identity (inode, size, mtime) of each file it read: the row cache
(``store.row_cache``) keeps ``RunDocs`` by that identity, so a second open reads nothing that did
not change. ``build_row`` turns them into an immutable ``RunRow``, judging liveness now.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from runview.store import format as fmt
from runview.store.jsonio import DECODE_ERRORS, dumps, loads
from runview.store.liveness import Liveness, judge

# The documents a row is built from, in the order of ``RunDocs.identity``.
DOCUMENTS = (fmt.MARKER_FILE, fmt.META_FILE, fmt.STATUS_FILE, fmt.SUMMARY_FILE, fmt.CONFIG_FILE)
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024  # a larger "small document" is skipped and said so
MAX_VALUE_CHARS = 300  # strings and lists are cut here: a table cell shows far less
META_KEYS = ("name", "project", "id", "notes", "tags", "start_time", "host", "user")
STATUS_KEYS = (
    "state",
    "started",
    "heartbeat",
    "heartbeat_interval",
    "hostname",
    "pid",
    "process_start",
    "boot_time",
    "pid_namespace",
    "ended",
    "exit_code",
    "incomplete",
    "dropped_records",
)
ERROR_KEYS = ("type", "message", "signal")
STATE_DELETED = "deleted"  # the table's own state: the directory went away while it was open

Identity = tuple[int, int, int] | None  # (inode, size, mtime_ns) of one document; None: absent


@dataclass(frozen=True)
class RunDocs:
    """A run's small documents as the table needs them, and the identity of the files read.

    ``config`` and ``summary`` are flattened (``model/depth``) and keep the format's encoding of
    non-finite floats, so they can be cached as JSON unchanged.
    """

    identity: tuple[Identity, ...]
    version: Any = None  # "version" of runview.json
    meta: Mapping[str, Any] | None = None  # None: no meta.json
    status: Mapping[str, Any] | None = None
    config: Mapping[str, Any] | None = None
    summary: Mapping[str, Any] | None = None
    errors: tuple[str, ...] = ()  # documents that could not be read, one line each

    def to_json(self) -> dict[str, Any]:
        return {
            "identity": [list(i) if i else None for i in self.identity],
            "version": self.version,
            "meta": self.meta,
            "status": self.status,
            "config": self.config,
            "summary": self.summary,
            "errors": list(self.errors),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunDocs | None:
        """The cached form back, or None when it is not of the expected shape."""
        try:
            identity = tuple(
                (int(i[0]), int(i[1]), int(i[2])) if i is not None else None
                for i in data["identity"]
            )
            if len(identity) != len(DOCUMENTS):
                return None
            parts = [data.get(k) for k in ("meta", "status", "config", "summary")]
            if not all(p is None or isinstance(p, dict) for p in parts):
                return None
            errors = tuple(str(e) for e in data.get("errors") or ())
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        return cls(identity, data.get("version"), *parts, errors=errors)


def read_identity(run: Path) -> tuple[tuple[Identity, ...], str | None]:
    """The identity of each document now (one ``stat`` each), and why the run cannot be read."""
    out: list[Identity] = []
    problem = None
    base = os.fspath(run) + os.sep  # strings, not Paths: this runs for every run on every open
    for name in DOCUMENTS:
        try:
            st = os.stat(base + name)
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            out.append(None)
        except NotADirectoryError:
            return tuple(None for _ in DOCUMENTS), f"{run.name}: not a directory"
        except OSError as exc:
            out.append(None)
            problem = f"unreadable: {exc.strerror or exc}"
    return tuple(out), problem


def is_run(identity: tuple[Identity, ...], run: Path) -> bool:
    """A marker, or (as the reader accepts) meta.json beside a history."""
    return identity[0] is not None or (
        identity[1] is not None and os.path.exists(os.path.join(run, fmt.HISTORY_FILE))
    )


def unreadable(problem: str) -> RunDocs:
    """The documents of a run directory that cannot be read at all: nothing but the reason."""
    return RunDocs(tuple(None for _ in DOCUMENTS), errors=(problem,))


def read_docs(run: Path) -> RunDocs:
    """Read the documents of ``run``; one missing, unreadable or corrupt is noted, never raised."""
    if not os.access(run, os.R_OK | os.X_OK):
        return unreadable("unreadable: permission denied")
    identity: list[Identity] = []
    values: dict[str, Any] = {}
    errors: list[str] = []
    base = os.fspath(run) + os.sep
    for name in DOCUMENTS:
        found, value, error = _read_document(base + name, name)
        identity.append(found)
        if error:
            errors.append(error)
        elif found is not None:
            values[name] = value
    marker = values.get(fmt.MARKER_FILE)
    meta = values.get(fmt.META_FILE)
    status = values.get(fmt.STATUS_FILE)
    config = values.get(fmt.CONFIG_FILE)
    summary = values.get(fmt.SUMMARY_FILE)
    return RunDocs(
        identity=tuple(identity),
        version=marker.get("version") if isinstance(marker, dict) else None,
        meta=_pick(meta, META_KEYS) if isinstance(meta, dict) else None,
        status=_status(status) if isinstance(status, dict) else None,
        config=flatten_values(config) if isinstance(config, dict) else None,
        summary=_summary(summary) if isinstance(summary, dict) else None,
        errors=tuple(errors),
    )


def _read_document(path: str, name: str) -> tuple[Identity, Any, str | None]:
    """(identity, parsed value, error). The identity is taken from the open file, so a document
    replaced while it is read is never cached under the new file's identity with old content."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, None, None
    except OSError as exc:
        return None, None, f"{name}: {_reason(exc)}"
    try:
        st = os.fstat(fd)
        identity = (st.st_ino, st.st_size, st.st_mtime_ns)
        if st.st_size > MAX_DOCUMENT_BYTES:
            return identity, None, f"{name}: {st.st_size / 1e6:.0f} MB, too large; skipped"
        chunks = []
        while True:  # to the end, even if the file grew since fstat
            chunk = os.read(fd, max(st.st_size + 1, 4096))
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > MAX_DOCUMENT_BYTES:
                return identity, None, f"{name}: too large; skipped"
        data = b"".join(chunks)
    except OSError as exc:
        return None, None, f"{name}: {_reason(exc)}"
    finally:
        os.close(fd)
    if not data.strip():
        return identity, None, f"{name}: empty (half-written)"
    try:
        value = loads(data)
    except DECODE_ERRORS:
        return identity, None, f"{name}: not valid JSON (half-written or damaged)"
    if not isinstance(value, dict):
        return identity, None, f"{name}: not a JSON object"
    return identity, value, None


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def _pick(document: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for key in keys:
        if key in document:
            out[key] = _short(document[key]) if key != "tags" else _tags(document[key])
    return out


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(t)[:MAX_VALUE_CHARS] for t in value[:100] if isinstance(t, (str, int, float))]


def _status(document: Mapping[str, Any]) -> dict[str, Any]:
    out = _pick(document, STATUS_KEYS)
    error = document.get("error")
    if isinstance(error, dict):
        out["error"] = {k: _short(error[k]) for k in ERROR_KEYS if k in error}
    return out


def _summary(document: Mapping[str, Any]) -> dict[str, Any]:
    flat = flatten_values(document)
    # "_" keys belong to the format; media values ({"_type": ...}) are shown in the run page only.
    return {k: v for k, v in flat.items() if not k.startswith("_") and not _is_media(v)}


def _is_media(value: Any) -> bool:
    return type(value) is dict and fmt.MEDIA_TYPE_KEY in value


def flatten_values(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects joined with ``/`` as the logger flattens history; every leaf a JSON scalar
    (lists and other objects become their compact JSON, cut to ``MAX_VALUE_CHARS``)."""
    out: dict[str, Any] = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if type(value) is dict and value and not _is_encoded(value):
            out.update(flatten_values(value, f"{name}/"))
        else:
            out[name] = _short(value)
    return out


def _is_encoded(value: dict[str, Any]) -> bool:
    """A non-finite float (``{"$float": "nan"}``) or a media value: one value, not a folder."""
    return (len(value) == 1 and fmt.FLOAT_TAG in value) or fmt.MEDIA_TYPE_KEY in value


def _short(value: Any) -> Any:
    if value is None or type(value) in (bool, int, float):
        return value
    if type(value) is str:
        return value[:MAX_VALUE_CHARS]
    if type(value) is dict and _is_encoded(value):
        return value
    try:
        text = dumps(value).decode("utf-8", "replace")
    except (TypeError, ValueError):
        text = str(value)
    return text[:MAX_VALUE_CHARS]


@dataclass(frozen=True, eq=False)
class RunRow:
    """What the table shows about one run. Immutable: it crosses from the scanner's thread."""

    path: Path
    docs: RunDocs
    name: str
    project: str
    run_id: str
    state: str  # running, finished, failed, crashed, unknown, or deleted
    reason: str  # one line: why this state
    started: float | None
    ended: float | None  # end, or last heartbeat of a run that stopped without one
    host: str
    tags: tuple[str, ...]
    notes: str
    config: Mapping[str, Any]  # flattened, non-finite floats decoded
    summary: Mapping[str, Any]
    problems: tuple[str, ...]

    @cached_property
    def key(self) -> str:
        """What identifies the row in the table: its directory."""
        return str(self.path)

    @property
    def live(self) -> bool:
        return self.state == fmt.STATE_RUNNING

    def runtime(self, now: float | None = None) -> float | None:
        """Seconds from the start to the end (to ``now`` while running)."""
        if self.started is None:
            return None
        end = (now or time.time()) if self.live else self.ended
        return None if end is None else max(0.0, end - self.started)

    def value(self, key: str) -> Any:
        """A config value, else a summary value, else None (the filter's ``KEY OP VALUE``)."""
        if key in self.config:
            return self.config[key]
        return self.summary.get(key)

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        """The row as ``runview info ROOT --json`` prints it (documented in the README)."""
        return {
            "path": self.key,
            "name": self.name,
            "project": self.project,
            "id": self.run_id,
            "status": self.state,
            "reason": self.reason,
            "live": self.live,
            "started": self.started,
            "ended": self.ended,
            "runtime": self.runtime(now),
            "host": self.host,
            "tags": list(self.tags),
            "notes": self.notes,
            "config": dict(self.config),
            "summary": dict(self.summary),
            "problems": list(self.problems),
        }


def build_row(run: Path, docs: RunDocs, now: float) -> RunRow:
    """The row of ``run`` from its documents, its liveness judged at ``now``."""
    meta = docs.meta or {}
    status = dict(docs.status or {})
    liveness = judge(status, now) if docs.status is not None else Liveness("unknown", "")
    problems = list(docs.errors)
    missing = [name for name, i in zip(DOCUMENTS[1:3], docs.identity[1:3]) if i is None]
    if missing and not any(p.startswith("unreadable") for p in problems):
        problems.append("half-written: no " + " or ".join(missing) + " yet")
    version = docs.version
    if isinstance(version, int) and not isinstance(version, bool) and version > fmt.FORMAT_VERSION:
        problems.append(
            f"written by a newer runview (format v{version}); showing what "
            f"v{fmt.FORMAT_VERSION} understands"
        )
    reason = liveness.reason if docs.status is not None else (problems[0] if problems else "")
    started = _number(meta.get("start_time")) or _number(status.get("started"))
    ended = _number(status.get("ended"))
    if ended is None and liveness.state != fmt.STATE_RUNNING:
        ended = _number(status.get("heartbeat"))
    project = meta.get("project")
    return RunRow(
        path=run,
        docs=docs,
        name=str(meta.get("name") or run.name),
        project=str(project) if project else run.parent.name,
        run_id=str(meta.get("id") or ""),
        state=liveness.state,
        reason=reason,
        started=started,
        ended=ended,
        host=str(meta.get("host") or status.get("hostname") or ""),
        tags=tuple(str(t) for t in meta.get("tags") or ()),
        notes=str(meta.get("notes") or ""),
        config=_decoded(docs.config),
        summary=_decoded(docs.summary),
        problems=tuple(problems),
    )


def rejudged(row: RunRow, now: float) -> RunRow:
    """``row`` with its liveness judged again (a run turns crashed with no file changing)."""
    if row.state == STATE_DELETED or row.docs.status is None:
        return row
    liveness = judge(dict(row.docs.status), now)
    if liveness.state == row.state and liveness.reason == row.reason:
        return row
    return build_row(row.path, row.docs, now)


def deleted(row: RunRow) -> RunRow:
    """``row`` as the table keeps it once its directory is gone: greyed, saying so."""
    return replace(
        row,
        state=STATE_DELETED,
        reason="run directory deleted",
        problems=("run directory deleted", *row.problems),
    )


def _decoded(flat: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Non-finite floats (``{"$float": "nan"}``) as floats; the only objects left in flat values."""
    if not flat:
        return {}
    if not any(type(v) is dict for v in flat.values()):
        return flat
    return {k: fmt.decode_value(v) if type(v) is dict else v for k, v in flat.items()}


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None
