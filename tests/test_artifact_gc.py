"""``runview gc``: unreferenced blobs and interrupted writes are listed, removed only when old."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import runview
from runview.store.artifact_store import ArtifactStore
from tests.conftest import write_script

KILLED_MID_WRITE = """
import sys, time
import runview
run = runview.init(project="p", dir=sys.argv[1], console=False, system_interval=None,
                   save_code=False)
art = runview.Artifact("half", type="dataset")
art.add_file(sys.argv[2])  # staged now, never logged: the process dies first
print("staged", flush=True)
time.sleep(60)
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runview", *args], capture_output=True, text=True, timeout=60
    )


def age(path: Path, hours: float) -> None:
    old = time.time() - hours * 3600
    os.utime(path, (old, old))


def test_gc_lists_then_removes_only_old_leftovers(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    (tmp_path / "keep.txt").write_text("referenced by v0")
    (tmp_path / "drop.txt").write_text("referenced by v1, whose manifest goes away")
    run = runview.init(project="p", dir=root, console=False, system_interval=None, save_code=False)
    for name in ("keep.txt", "drop.txt"):
        art = runview.Artifact("ds", type="dataset")
        art.add_file(tmp_path / name)
        run.log_artifact(art).wait()
    store = ArtifactStore(root)
    dropped_blob = store.blob_path(art.files()[0].sha256 or "")
    kept_blob = store.blob_path(store.read_manifest("ds", 0).files[0].sha256)
    manifest = store.name_dir("ds") / "versions" / "v1.json"
    manifest.unlink()  # a version removed by hand: its blob is referenced no more
    # A process killed between add_file and log_artifact leaves its staging folder.
    child = subprocess.Popen(
        [
            sys.executable,
            str(write_script(tmp_path / "half.py", KILLED_MID_WRITE)),
            str(root),
            str(tmp_path / "keep.txt"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "staged"
    child.send_signal(signal.SIGKILL)
    child.wait()
    dead = [p for p in (root / ".artifacts" / "tmp").iterdir() if str(child.pid) in p.name]
    assert len(dead) == 1
    # This process is alive and holds a staged copy: gc must leave it alone however old.
    live = runview.Artifact("live", type="dataset")
    live.add_file(tmp_path / "keep.txt")
    alive = [p for p in (root / ".artifacts" / "tmp").iterdir() if str(os.getpid()) in p.name]
    partial = root / ".artifacts" / "tmp" / "blob-999-interrupted"
    partial.write_bytes(b"half a copy")
    young_partial = store.name_dir("ds") / "versions" / ".v9.999.tmp"
    young_partial.write_bytes(b"{")
    for path in (dropped_blob, kept_blob, dead[0], partial, *alive):
        age(path, 3)

    listed = cli("gc", str(root))
    assert listed.returncode == 0, listed.stderr
    text = listed.stdout
    assert "unreferenced blob" in text and dropped_blob.name in text
    assert kept_blob.name not in text
    assert "staging folder of a finished process" in text and dead[0].name in text
    assert alive[0].name not in text and "1 staging folder(s) of running processes" in text
    assert "blob-999-interrupted" in text and ".v9.999.tmp  (younger than 1 h: kept)" in text
    assert "run with --delete to remove the 3 older than 1 h" in text
    assert dropped_blob.exists() and dead[0].exists()  # listing changes nothing

    deleted = cli("gc", str(root), "--delete")
    assert deleted.returncode == 0, deleted.stderr
    assert "removed 3" in deleted.stdout
    assert not dropped_blob.exists() and not dead[0].exists() and not partial.exists()
    assert kept_blob.exists() and young_partial.exists() and alive[0].exists()
    assert run.use_artifact("ds:v0").download()  # what is referenced still works
    run.finish()


def test_an_unreadable_manifest_keeps_every_blob(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    (tmp_path / "a.txt").write_text("a")
    run = runview.init(project="p", dir=root, console=False, system_interval=None, save_code=False)
    art = runview.Artifact("ds", type="dataset")
    art.add_file(tmp_path / "a.txt")
    run.log_artifact(art).wait()
    run.finish()
    store = ArtifactStore(root)
    blob = store.blob_path(art.files()[0].sha256 or "")
    manifest = store.name_dir("ds") / "versions" / "v0.json"
    os.chmod(manifest, 0o644)
    manifest.write_text("{ damaged")
    age(blob, 5)
    result = cli("gc", str(root), "--delete")
    assert "no blob is deleted until it is fixed" in result.stdout
    assert "(kept: a manifest is unreadable)" in result.stdout
    assert blob.exists()


def test_gc_of_a_folder_without_a_store_says_so(tmp_path: Path) -> None:
    result = cli("gc", str(tmp_path))
    assert result.returncode == 2
    assert "no artifact store" in result.stderr
