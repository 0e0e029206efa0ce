"""The exact code behind a run, captured at init into the run's ``code/`` folder.

``diff.patch`` holds the uncommitted changes against HEAD, with the untracked text files that
``.gitignore`` does not exclude; ``upstream.patch`` takes a remote commit to HEAD when HEAD is on
no remote branch; ``requirements.txt`` lists the installed packages; ``code.json`` says what was
captured, from which commit, and what was skipped and why. Without git, the entry script is
kept instead. git runs read-only: the user's index and config are never written (untracked
files are marked intent-to-add in a temporary copy of the index), external diff drivers and
textconv are off, and every call has a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runview.collectors.own_children import own_child, run_own

GIT_TIMEOUT_S = 5.0
FILE_LIMIT = 1024 * 1024  # an untracked file, or one file's diff, larger than this is skipped
TOTAL_LIMIT = 10 * 1024 * 1024  # diff.patch stops growing here
UPSTREAM_LIMIT = 10 * 1024 * 1024
ENTRY_LIMIT = 1024 * 1024
BINARY_SNIFF = 8000  # git's own rule: a NUL in the first 8000 bytes means binary

DIFF_FILE = "diff.patch"
UPSTREAM_FILE = "upstream.patch"
PACKAGES_FILE = "requirements.txt"
CODE_DOC = "code.json"
ENTRY_DIR = "entry"

# Read-only, reproducible output whatever the user's config says.
_GIT = [
    "git",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.quotepath=off",
    "-c",
    "color.ui=never",
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicprefix=false",
    "-c",
    "diff.relative=false",
    "-c",
    "diff.external=",
]
_DIFF_OPTIONS = [
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--no-renames",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--ignore-submodules=all",
]


class GitError(Exception):
    """A git call failed or timed out; the capture records it and goes on."""


@dataclass
class CodeState:
    """What the capture found; ``document()`` is ``code.json``."""

    git: dict[str, Any] = field(default_factory=dict)
    diff: str | None = None
    upstream: str | None = None
    packages: str | None = None
    package_count: int = 0
    entry_script: str | None = None
    skipped: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append({"path": path, "reason": reason})

    def document(self) -> dict[str, Any]:
        return {
            "captured": time.time(),
            "elapsed_s": round(self.elapsed_s, 3),
            "git": self.git or None,
            "diff": self.diff,
            "upstream": self.upstream,
            "packages": self.packages,
            "package_count": self.package_count,
            "entry_script": self.entry_script,
            "skipped": self.skipped,
            "errors": self.errors,
            "limits": {"file": FILE_LIMIT, "total": TOTAL_LIMIT, "upstream": UPSTREAM_LIMIT},
        }


def git_env(index_file: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"  # status must not refresh the user's index
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_LITERAL_PATHSPECS"] = "1"  # a file named '*' is that file, not a glob
    env["GIT_PAGER"] = "cat"
    for name in ("GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS"):
        env.pop(name, None)
    if index_file is not None:
        env["GIT_INDEX_FILE"] = index_file
    return env


def git(
    args: list[str],
    cwd: str,
    *,
    index_file: str | None = None,
    stdin: bytes | None = None,
    timeout: float = GIT_TIMEOUT_S,
) -> bytes:
    """stdout of one read-only git call; GitError when it fails or runs past ``timeout``."""
    try:
        done = run_own(
            [*_GIT, *args], cwd=cwd, env=git_env(index_file), input=stdin, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:g} s") from None
    except OSError as exc:
        raise GitError(f"git is not available ({exc.strerror or exc})") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]}: {message[-1] if message else done.returncode}")
    return done.stdout


def capture(folder: Path, cwd: str | None = None, program: str | None = None) -> CodeState:
    """Capture the code state of ``cwd`` into ``folder``; never raises for what it finds."""
    started = time.monotonic()
    cwd = cwd or os.getcwd()
    program = program if program is not None else (sys.argv[0] if sys.argv else "")
    state = CodeState()
    folder.mkdir(parents=True, exist_ok=True)
    top = None
    try:
        top = _capture_git(folder, cwd, state)
    except GitError as exc:
        if "not a git repository" not in str(exc) and "not available" not in str(exc):
            state.errors.append(str(exc))
    if program and os.path.isfile(program):
        script = os.path.abspath(program)
        if top is None or not script.startswith(top + os.sep):
            _keep_entry_script(folder, script, state)
    _write_packages(folder, state)
    state.elapsed_s = time.monotonic() - started
    _write(folder / CODE_DOC, _json(state.document()))
    return state


def _capture_git(folder: Path, cwd: str, state: CodeState) -> str | None:
    top_out = git(["rev-parse", "--show-toplevel", "--git-path", "index"], cwd).decode()
    top, index = top_out.splitlines()[:2]
    index = os.path.join(cwd, index)
    try:
        head = git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], top).decode().strip()
    except GitError:
        state.errors.append("the repository has no commit yet: no diff captured")
        return top
    state.git = {"root": top, "commit": head, "checkout": head}
    branch = _try(lambda: git(["symbolic-ref", "-q", "--short", "HEAD"], top).decode().strip())
    if branch:
        state.git["branch"] = branch
    status = git(
        ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"], top
    ).split(b"\0")
    untracked = [e[3:].decode("utf-8", "surrogateescape") for e in status if e.startswith(b"?? ")]
    state.git["dirty"] = any(e and not e.startswith(b"?? ") for e in status)
    state.git["untracked"] = len(untracked)
    included = _pick_untracked(top, untracked, state)
    if state.git["dirty"] or included:
        _write_diff(folder, top, index, included, state)
    _capture_upstream(folder, top, state)
    return top


def _pick_untracked(top: str, paths: list[str], state: CodeState) -> list[str]:
    """The untracked files that go into the diff: text, at most 1 MB each, 10 MB in all."""
    chosen, total = [], 0
    for path in sorted(paths):
        full = os.path.join(top, path)
        if os.path.islink(full):
            chosen.append(path)  # a link's diff is its target's name
            continue
        read = _read_capped(full, path, FILE_LIMIT, BINARY_SNIFF, "untracked,", state)
        if read is None:
            continue
        size, head = read
        if b"\0" in head:
            state.skip(path, "untracked, binary")
            continue
        if total + size > TOTAL_LIMIT:
            state.skip(path, f"untracked, the {TOTAL_LIMIT >> 20} MB limit of the diff was reached")
            continue
        total += size
        chosen.append(path)
    return chosen


def _write_diff(folder: Path, top: str, index: str, untracked: list[str], state: CodeState) -> None:
    temp_index = None
    try:
        if untracked:
            fd, temp_index = tempfile.mkstemp(prefix="runview-index-")
            os.close(fd)
            if os.path.exists(index):
                shutil.copyfile(index, temp_index)
            else:
                os.unlink(temp_index)  # git creates it
            names = "\0".join(untracked).encode("utf-8", "surrogateescape") + b"\0"
            git(
                # a split index would write its shared part into the user's .git
                [
                    "-c",
                    "core.splitIndex=false",
                    "add",
                    "--intent-to-add",
                    "--pathspec-from-file=-",
                    "--pathspec-file-nul",
                ],
                top,
                index_file=temp_index,
                stdin=names,
            )
        written = _stream_diff(
            [*_GIT, "diff", "HEAD", *_DIFF_OPTIONS, "--"],
            top,
            temp_index,
            folder / DIFF_FILE,
            state,
        )
        if written:
            state.diff = DIFF_FILE
    except GitError as exc:
        state.errors.append(str(exc))
    finally:
        if temp_index is not None:
            for leftover in (temp_index, temp_index + ".lock"):
                try:
                    os.unlink(leftover)
                except OSError:
                    pass


def _stream_diff(
    command: list[str], top: str, index_file: str | None, target: Path, state: CodeState
) -> int:
    """Write ``git diff`` to ``target`` file by file, leaving out binary files, any file's diff
    larger than FILE_LIMIT and everything past TOTAL_LIMIT; returns the bytes written."""
    proc = subprocess.Popen(
        command,
        cwd=top,
        env=git_env(index_file),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    timer = threading.Timer(GIT_TIMEOUT_S, proc.kill)
    timer.start()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    written = 0
    with own_child(proc):
        try:
            with open(tmp, "wb") as out:
                assert proc.stdout is not None
                for path, section, reason in _sections(proc.stdout):
                    if reason is None and written + len(section) > TOTAL_LIMIT:
                        reason = f"the {TOTAL_LIMIT >> 20} MB limit of the diff was reached"
                    if reason is not None:
                        state.skip(path, reason)
                        continue
                    out.write(section)
                    written += len(section)
            proc.wait()
            if not timer.is_alive():
                raise GitError(f"git diff timed out after {GIT_TIMEOUT_S:g} s")
            if proc.returncode != 0:
                raise GitError(f"git diff failed ({proc.returncode})")
            if written:
                os.replace(tmp, target)
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return written


def _sections(stream: Any) -> Iterator[tuple[str, bytes, str | None]]:
    """(path, bytes, reason to skip or None) for each file of a diff, read line by line with a
    bounded line length, so one huge file never sits in memory."""
    path, parts, size, reason = "", [], 0, None
    at_start = True
    while True:
        line = stream.readline(64 * 1024)
        if not line:
            break
        if at_start and line.startswith(b"diff --git "):
            if parts or reason:
                yield path, b"".join(parts), reason
            path, parts, size, reason = _header_path(line), [], 0, None
        at_start = line.endswith(b"\n")
        if reason is not None:
            continue
        if at_start and (line.startswith(b"Binary files ") or line == b"GIT binary patch\n"):
            reason, parts = "binary", []
            continue
        size += len(line)
        if size > FILE_LIMIT:
            reason, parts = f"its diff is larger than {FILE_LIMIT >> 20} MB", []
            continue
        parts.append(line)
    if parts or reason:
        yield path, b"".join(parts), reason


def _header_path(line: bytes) -> str:
    text = line.decode("utf-8", "replace").rstrip("\n")[len("diff --git ") :]
    half = text.split(" b/", 1)[0]
    return half[2:] if half.startswith("a/") else half.strip('"')


def _capture_upstream(folder: Path, top: str, state: CodeState) -> None:
    """When HEAD is on no remote branch, a patch from the nearest remote commit to HEAD."""
    refs = git(["for-each-ref", "--format=%(refname)", "refs/remotes"], top).decode().split()
    if not refs:
        state.git["upstream"] = "no remote: a restore needs this machine's repository"
        return
    local = git(["rev-list", "--count", "HEAD", "--not", "--remotes"], top).decode().strip()
    state.git["local_commits"] = int(local or 0)
    remote_ref = _remote_ref(top, refs)
    remote_name = remote_ref.split("/")[2]
    url = _try(lambda: git(["remote", "get-url", remote_name], top).decode().strip())
    if url:
        from runview.collectors.host import _strip_credentials

        state.git["remote"] = _strip_credentials(url)
        state.git["remote_name"] = remote_name
    if state.git["local_commits"] == 0:
        return  # HEAD is on a remote branch: check it out
    base = git(["merge-base", "HEAD", remote_ref], top).decode().strip()
    state.git["checkout"] = base
    state.git["upstream_base"] = base
    proc = run_own(
        [*_GIT, "diff", "--binary", "--full-index", *_DIFF_OPTIONS, base, "HEAD"],
        cwd=top,
        env=git_env(),
        timeout=GIT_TIMEOUT_S,
    )
    if proc.returncode != 0:
        state.errors.append("git diff of the local commits failed")
    elif len(proc.stdout) > UPSTREAM_LIMIT:
        state.skip(UPSTREAM_FILE, f"local commits differ by more than {UPSTREAM_LIMIT >> 20} MB")
    elif proc.stdout:
        _write(folder / UPSTREAM_FILE, proc.stdout)
        state.upstream = UPSTREAM_FILE


def _remote_ref(top: str, refs: list[str]) -> str:
    """The remote branch to measure local commits against: the branch's upstream, then
    origin's default branch, then any."""
    upstream = _try(
        lambda: git(["rev-parse", "--symbolic-full-name", "@{upstream}"], top).decode().strip()
    )
    if upstream and upstream.startswith("refs/remotes/"):
        return upstream
    for candidate in ("refs/remotes/origin/HEAD", "refs/remotes/origin/main"):
        if candidate in refs:
            return candidate
    return next((r for r in refs if not r.endswith("/HEAD")), refs[0])


def _read_capped(
    full: str, shown: str, size_limit: int, read_bytes: int, what: str, state: CodeState
) -> tuple[int, bytes] | None:
    """``(size, first read_bytes bytes)`` of a file of at most ``size_limit`` bytes; otherwise,
    or when it cannot be read, None, the file skipped as ``shown`` with the reason."""
    try:
        size = os.stat(full).st_size
        if size > size_limit:
            state.skip(shown, f"{what} larger than {size_limit >> 20} MB")
            return None
        with open(full, "rb") as fh:
            return size, fh.read(read_bytes)
    except OSError as exc:
        state.skip(shown, f"{what} unreadable ({exc.strerror or exc})")
        return None


def _keep_entry_script(folder: Path, script: str, state: CodeState) -> None:
    read = _read_capped(script, script, ENTRY_LIMIT, ENTRY_LIMIT, "entry script", state)
    if read is None:
        return
    _size, data = read
    name = f"{ENTRY_DIR}/{os.path.basename(script)}"
    (folder / ENTRY_DIR).mkdir(exist_ok=True)
    _write(folder / name, data)
    state.entry_script = name


def _write_packages(folder: Path, state: CodeState) -> None:
    """``name==version`` of every installed distribution, listed by a child interpreter.

    importlib.metadata (fast, and works where pip is absent) costs the process that imports it
    megabytes it keeps: the training process should not pay them, so a child started on the same
    ``sys.path`` does the listing.
    """
    child = (
        "import json, sys\n"
        "sys.path[:] = json.loads(sys.argv[1])\n"
        "from runview.collectors.code_state import package_lines\n"
        "print(json.dumps(package_lines()))\n"
    )
    try:
        done = run_own(
            [sys.executable, "-I", "-c", child, json.dumps(sys.path)], timeout=GIT_TIMEOUT_S
        )
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise RuntimeError(tail[0] if tail else f"exit status {done.returncode}")
        lines = json.loads(done.stdout)
    except Exception as exc:
        state.errors.append(f"installed packages unknown: {exc!r}")
        return
    header = f"# Python {sys.version.split()[0]} at {sys.executable}\n"
    _write(folder / PACKAGES_FILE, (header + "\n".join(lines) + "\n").encode())
    state.packages, state.package_count = PACKAGES_FILE, len(lines)


def package_lines() -> list[str]:
    """``name==version`` lines (with where local and editable installs came from), sorted."""
    from importlib import metadata

    lines: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if not name or name.lower() in lines:
            continue
        line = f"{name}=={dist.version}"
        origin = _origin(dist)
        if origin:
            line += f"  # {origin}"
        lines[name.lower()] = line
    return [lines[k] for k in sorted(lines)]


def _origin(dist: Any) -> str:
    try:
        text = dist.read_text("direct_url.json")
    except Exception:
        return ""
    if not text:
        return ""
    try:
        direct = json.loads(text)
    except ValueError:
        return ""
    url = str(direct.get("url", ""))
    editable = (direct.get("dir_info") or {}).get("editable")
    return f"{'editable ' if editable else ''}{url}"


def _try(call: Any) -> Any:
    try:
        return call()
    except GitError:
        return None


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, ensure_ascii=False, default=str).encode()
