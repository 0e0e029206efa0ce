"""Facts about the machine, interpreter, command and git checkout, captured once at init."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from typing import Any


def host_facts() -> dict[str, Any]:
    """Hostname, OS, Python, command line, cwd and pid of this process."""
    return {
        "host": socket.gethostname(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "argv": list(sys.argv),
        "program": sys.argv[0] if sys.argv else "",
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "user": _user(),
    }


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return ""


def git_facts(cwd: str | None = None, timeout: float = 2.0) -> dict[str, Any] | None:
    """Commit, branch, remote and dirtiness of the checkout around ``cwd``; None outside git."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                # status must not refresh (write) the user's index
                env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    facts: dict[str, Any] = {"commit": commit}
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        facts["branch"] = branch
    remote = git("config", "--get", "remote.origin.url")
    if remote:
        facts["remote"] = _strip_credentials(remote)
    status = git("status", "--porcelain", "--untracked-files=no")
    if status is not None:
        facts["dirty"] = bool(status)
    return facts


def _strip_credentials(url: str) -> str:
    # https://user:token@host/repo must not end up in a run directory someone may share.
    if "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url
