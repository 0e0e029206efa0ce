"""The run table's rows in the viewer's cache (area ``runs``), kept by file identity.

One entry per folder of runs (a project folder, or a root holding runs directly), keyed by its
resolved path, holding ``rows.jsonl``: one record per line, ``{"v": 1, "run": <directory name>,
...RunDocs}``; a later record for the same run replaces an earlier one. A record is used only
while every document of the run still has the identity (inode, size, mtime) it was read with.

The viewer appends records in batches as its scan goes (``RowCacheWriter``), so a viewer closed
early still leaves what it read; when superseded records outnumber the live ones the entry is
rewritten whole. Reading (``RowCache.load``) never writes: ``runview info`` only looks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from runview.store.cache import Cache
from runview.store.jsonio import DECODE_ERRORS, dumps, loads
from runview.store.run_dirs import is_run_dir
from runview.store.run_row import RunDocs

AREA = "runs"
ROWS_FILE = "rows.jsonl"
RECORD_VERSION = 1
MAX_ROWS_BYTES = 512 * 1024 * 1024  # a rows file this large is not ours to trust; ignored
# Rewritten whole once it holds this many records more than runs (a live root appends as runs
# finish; the slack keeps a small root from rewriting on every open).
COMPACT_SLACK = 256


# Records begin {"v":1,"run":"<name>", (written by ``record``): the name is found without parsing
# the rest, which is parsed only when the run is looked up, so the first rows need few parses.
_NAME = re.compile(rb'\{"v":1,"run":("(?:[^"\\]|\\.)*")')


@dataclass
class FolderRows:
    """What the cache holds for one folder: the latest record of each run, and the line count."""

    records: dict[str, bytes] = field(default_factory=dict)
    lines: int = 0

    def get(self, name: str) -> RunDocs | None:
        """The cached documents of the run ``name``, or None (not cached, or a damaged record)."""
        line = self.records.get(name)
        if line is None:
            return None
        try:
            record = loads(line)
        except DECODE_ERRORS:
            return None
        if not isinstance(record, dict) or record.get("v") != RECORD_VERSION:
            return None
        return RunDocs.from_json(record)


class RowCache:
    """The ``runs`` area of the viewer's cache (``store.cache``)."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    @classmethod
    def default(cls) -> RowCache | None:
        cache = Cache.default()
        return None if cache is None else cls(cache)

    def entry(self, folder: Path) -> Path:
        return self.cache.entry(AREA, _key(folder))

    def load(self, folder: Path) -> FolderRows:
        """The cached records of the runs in ``folder``; nothing (never an error) when there are
        none or the file is damaged: lines that are not whole records are skipped."""
        out = FolderRows()
        entry = self.cache.lookup(AREA, _key(folder))  # a complete entry of ours, or none
        if entry is None:
            return out
        try:
            fd = os.open(entry / ROWS_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return out
        try:
            with os.fdopen(fd, "rb") as fh:
                data = fh.read(MAX_ROWS_BYTES + 1)
        except OSError:
            return out
        if len(data) > MAX_ROWS_BYTES:
            return out
        lines = data.split(b"\n")
        lines.pop()  # after the last newline: empty, or a torn line of a writer killed mid-append
        for line in lines:
            if not line:
                continue
            out.lines += 1
            match = _NAME.match(line)
            if match is None:
                continue
            try:
                name = loads(match.group(1))
            except DECODE_ERRORS:
                continue
            if isinstance(name, str):
                out.records[name] = line
        return out

    def touch(self, folder: Path) -> None:
        """Mark the folder's entry used (the least recently used entries are pruned first)."""
        self.cache.touch(self.entry(folder))


def _key(folder: Path) -> str:
    return str(folder.resolve())


def record(run: Path, docs: RunDocs) -> bytes:
    """One line of ``rows.jsonl``."""
    return dumps({"v": RECORD_VERSION, "run": run.name, **docs.to_json()}) + b"\n"


class RowCacheWriter:
    """The viewer's explicit step that keeps rows: batches appended per folder as a scan goes.

    Errors of the cache's own I/O are swallowed: a cache that cannot be written only makes the
    next open slower. Not thread-safe; the scanner's thread owns it.
    """

    def __init__(self, cache: RowCache) -> None:
        self.cache = cache
        # A cache folder pointed inside a run directory must not be written: the viewer never
        # writes in a run.
        self.disabled = _inside_a_run(cache.cache.root)
        self._pending: dict[Path, list[bytes]] = {}
        self.records_written = 0  # tests and the benchmark read it

    def add(self, run: Path, docs: RunDocs) -> None:
        if self.disabled:
            return
        self._pending.setdefault(run.parent, []).append(record(run, docs))

    @property
    def pending(self) -> int:
        return sum(len(lines) for lines in self._pending.values())

    def flush(self) -> None:
        """Append what was added since the last flush (one write per folder)."""
        pending, self._pending = self._pending, {}
        for folder, lines in pending.items():
            data = b"".join(lines)
            try:
                entry = self.cache.entry(folder)
                if not self.cache.cache.append(entry, ROWS_FILE, data):
                    self._write(folder, data)
                self.records_written += len(lines)
            except (OSError, ValueError):
                continue

    def compact(self, folder: Path, runs: Iterable[tuple[Path, RunDocs]]) -> None:
        """Replace the folder's entry with one record per run in ``runs``."""
        if self.disabled:
            return
        data = b"".join(record(run, docs) for run, docs in runs)
        self._pending.pop(folder, None)
        try:
            self._write(folder, data)
        except (OSError, ValueError):
            pass

    def _write(self, folder: Path, data: bytes) -> None:
        def fill(work: Path) -> None:
            (work / ROWS_FILE).write_bytes(data)

        self.cache.cache.write(AREA, _key(folder), fill)


def _inside_a_run(path: Path) -> bool:
    try:
        resolved = path.resolve()
    except OSError:
        return True
    return any(is_run_dir(folder) for folder in (resolved, *resolved.parents))
