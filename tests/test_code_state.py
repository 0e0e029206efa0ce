"""The code state at init, in real git repositories: patches that restore the exact tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from runview.collectors.code_state import capture
from tests.conftest import only_run_dir, run_script, write_script

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def sh(*args: str, cwd: Path) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(cwd)}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


TRAIN = """
import runview
run = runview.init(project="code", dir={root!r}, console=False, system_interval=None)
run.log({{"x": 1}})
run.finish()
"""


def make_repo(tmp_path: Path) -> tuple[Path, Path]:
    """A clone of a bare 'origin' with pushed history, then local work of every kind."""
    origin = tmp_path / "origin.git"
    sh("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    repo = tmp_path / "repo"
    sh("clone", "-q", str(origin), str(repo), cwd=tmp_path)
    (repo / "model.py").write_text("def model():\n    return 1\n")
    (repo / "data.bin").write_bytes(bytes(range(256)) * 4)
    (repo / ".gitignore").write_text("secret.env\nruns/\n")
    sh("add", "-A", cwd=repo)
    sh("commit", "-qm", "pushed", cwd=repo)
    sh("push", "-q", "origin", "HEAD:main", cwd=repo)
    (repo / "model.py").write_text("def model():\n    return 2  # committed, not pushed\n")
    (repo / "weights.bin").write_bytes(bytes(range(256)) * 8)  # a binary, committed locally
    sh("add", "-A", cwd=repo)
    sh("commit", "-qm", "local", cwd=repo)
    # uncommitted: a tracked edit, an untracked text file, a secret, an untracked binary
    (repo / "model.py").write_text("def model():\n    return 3  # uncommitted\n")
    (repo / "notes" / "idea.txt").parent.mkdir()
    (repo / "notes" / "idea.txt").write_text("untracked but not ignored\n")
    (repo / "secret.env").write_text("TOKEN=hunter2\n")
    (repo / "blob.dat").write_bytes(b"\x00\x01binary")
    (repo / "huge.txt").write_text("x" * (1024 * 1024 + 1))
    return origin, repo


def tree(folder: Path, skip: set[str]) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
        and ".git" not in p.relative_to(folder).parts
        and p.relative_to(folder).as_posix() not in skip
        and p.relative_to(folder).parts[0] != "runs"
    }


def test_the_code_state_restores_the_exact_tree(tmp_path: Path) -> None:
    origin, repo = make_repo(tmp_path)
    index = repo / ".git" / "index"
    index_before = (index.read_bytes(), index.stat().st_mtime_ns)
    config_before = (repo / ".git" / "config").read_bytes()
    script = write_script(repo / "train.py", TRAIN.format(root=str(repo / "runs")))
    done = run_script(script, cwd=repo)
    assert done.returncode == 0, done.stderr
    code = only_run_dir(repo / "runs") / "code"
    document = json.loads((code / "code.json").read_text())

    # git ran read-only
    assert (index.read_bytes(), index.stat().st_mtime_ns) == index_before
    assert (repo / ".git" / "config").read_bytes() == config_before

    diff = (code / "diff.patch").read_text()
    assert "TOKEN=hunter2" not in diff and "secret.env" not in diff
    assert "untracked but not ignored" in diff and "return 3" in diff
    skipped = {s["path"]: s["reason"] for s in document["skipped"]}
    assert skipped["blob.dat"] == "untracked, binary"
    assert "larger than 1 MB" in skipped["huge.txt"]
    assert document["git"]["local_commits"] == 1
    assert document["upstream"] == "upstream.patch"
    assert document["git"]["checkout"] == sh("rev-parse", "origin/main", cwd=repo)
    assert "runview==" in (code / "requirements.txt").read_text()

    # The README's restore, on "another machine": a clone of the remote, then the two patches.
    restored = tmp_path / "restored"
    sh("clone", "-q", str(origin), str(restored), cwd=tmp_path)
    sh("checkout", "-q", document["git"]["checkout"], cwd=restored)
    sh("apply", str(code / "upstream.patch"), cwd=restored)
    sh("apply", str(code / "diff.patch"), cwd=restored)
    left_out = {"secret.env", "blob.dat", "huge.txt"}
    assert tree(restored, set()) == tree(repo, left_out)


def test_head_on_a_remote_branch_needs_no_upstream_patch(tmp_path: Path) -> None:
    _origin, repo = make_repo(tmp_path)
    sh("push", "-q", "origin", "HEAD:main", cwd=repo)
    sh("fetch", "-q", cwd=repo)
    state = capture(tmp_path / "code", cwd=str(repo), program="")
    assert state.upstream is None and state.git["local_commits"] == 0
    assert state.git["checkout"] == state.git["commit"]
    assert state.diff == "diff.patch"


def test_without_a_remote_the_upstream_patch_is_skipped_and_said(tmp_path: Path) -> None:
    repo = tmp_path / "solo"
    repo.mkdir()
    sh("init", "-q", cwd=repo)
    (repo / "a.py").write_text("a = 1\n")
    sh("add", "-A", cwd=repo)
    sh("commit", "-qm", "one", cwd=repo)
    state = capture(tmp_path / "code", cwd=str(repo), program="")
    assert state.upstream is None and state.diff is None  # clean: nothing to patch
    assert "no remote" in state.git["upstream"]
    assert not (tmp_path / "code" / "diff.patch").exists()


def test_without_git_the_entry_script_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "nogit"
    folder.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above either
    script = write_script(folder / "train.py", TRAIN.format(root=str(folder / "runs")))
    done = run_script(script, cwd=folder)
    assert done.returncode == 0, done.stderr
    code = only_run_dir(folder / "runs") / "code"
    document = json.loads((code / "code.json").read_text())
    assert document["git"] is None and document["entry_script"] == "entry/train.py"
    assert (code / "entry" / "train.py").read_text() == script.read_text()


def test_save_code_false_captures_nothing(tmp_path: Path) -> None:
    import runview

    run = runview.init(
        project="p", dir=tmp_path, console=False, system_interval=None, save_code=False
    )
    run.finish()
    assert not (run.dir / "code").exists()
