"""Artifacts on real files: versions, deduplication, aliases, lineage, integrity and races."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import runview
from runview.store.artifact_store import ArtifactStore
from runview.store.cache import Cache
from tests.conftest import only_run_dir

MB = 1024 * 1024


def start(root: Path, **kwargs: object) -> runview.Run:
    return runview.init(
        project="p", dir=root, console=False, system_interval=None, save_code=False, **kwargs
    )


def blob_bytes_on_disk(root: Path) -> int:
    total = 0
    for path in (root / ".artifacts" / "blobs").rglob("*"):
        if path.is_file():
            total += path.stat().st_blocks * 512
    return total


def test_ten_versions_sharing_a_large_file_take_about_one_copy(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(24 * MB))
    run = start(root)
    versions = []
    for i in range(10):
        (tmp_path / "step.txt").write_text(f"step {i}\n")
        art = runview.Artifact("model", type="model", metadata={"step": i})
        art.add_file(big)
        art.add_file(tmp_path / "step.txt")
        run.log_artifact(art)
        versions.append(art)
    run.finish()
    assert [a.version for a in versions] == [f"v{i}" for i in range(10)]
    assert all(a.state == "committed" for a in versions)
    on_disk = blob_bytes_on_disk(root)
    assert 24 * MB <= on_disk < 25 * MB, on_disk  # one copy of the large file, ten small ones
    # every staged copy is gone once committed
    assert list((root / ".artifacts" / "tmp").iterdir()) == []
    blob = (root / ".artifacts" / "blobs").rglob("*")
    for path in blob:
        if path.is_file():
            assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_an_unchanged_log_makes_no_new_version(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x,y\n1,2\n")
    run = start(tmp_path / "runs")
    first = runview.Artifact("ds", type="dataset", metadata={"rows": 1})
    first.add_dir(data)
    run.log_artifact(first).wait()
    same = runview.Artifact("ds", type="dataset", metadata={"rows": "other metadata"})
    same.add_dir(data, policy="immutable")
    run.log_artifact(same).wait()
    (data / "a.csv").write_text("x,y\n1,3\n")
    changed = runview.Artifact("ds", type="dataset")
    changed.add_dir(data)
    run.log_artifact(changed).wait()
    run.finish()
    assert (first.version, same.version, changed.version) == ("v0", "v0", "v1")
    store = ArtifactStore(tmp_path / "runs")
    assert store.versions("ds") == [0, 1]
    outputs = json.loads((only_run_dir(tmp_path / "runs") / "artifacts.json").read_text())
    assert [(o["version"], o["new"]) for o in outputs["outputs"]] == [
        (0, True),
        (0, False),
        (1, True),
    ]


def test_content_is_captured_when_added(tmp_path: Path) -> None:
    source = tmp_path / "labels.txt"
    source.write_text("original")
    run = start(tmp_path / "runs")
    art = runview.Artifact("labels", type="dataset")
    art.add_file(source)  # mutable: copied now
    source.write_text("changed right after add_file")
    run.log_artifact(art)
    source.unlink()
    art.wait()
    used = run.use_artifact("labels:latest")
    folder = Path(used.download())
    run.finish()
    assert (folder / "labels.txt").read_text() == "original"


def test_aliases_and_latest_move(tmp_path: Path) -> None:
    run = start(tmp_path / "runs")
    payload = tmp_path / "m.txt"

    def log(content: str, aliases: list[str]) -> runview.Artifact:
        payload.write_text(content)
        art = runview.Artifact("m", type="model")
        art.add_file(payload)
        return run.log_artifact(art, aliases=aliases).wait()

    log("zero", ["best", "candidate"])
    log("one", [])
    store = ArtifactStore(tmp_path / "runs")
    assert store.aliases("m") == {"best": 0, "candidate": 0, "latest": 1}
    assert run.use_artifact("m:best").version == "v0"
    log("two", ["best"])
    assert store.aliases("m") == {"best": 2, "candidate": 0, "latest": 2}
    assert run.use_artifact("m").version == "v2"  # a bare name means latest
    assert run.use_artifact("m:candidate").version == "v0"
    # giving an alias to an older version moves it back there; latest stays the newest
    log("zero", ["best"])
    assert store.aliases("m") == {"best": 0, "candidate": 0, "latest": 2}
    used = run.use_artifact("m:v1")
    assert (used.version, used.aliases) == ("v1", [])
    run.finish()


def test_bad_names_and_aliases_raise_at_once(tmp_path: Path) -> None:
    for name in ("", "a/b", "../x", "has space", ".hidden", "x" * 200):
        with pytest.raises(ValueError):
            runview.Artifact(name, type="dataset")
    with pytest.raises(ValueError):
        runview.Artifact("ok", type="bad/type")
    run = start(tmp_path / "runs")
    (tmp_path / "f").write_text("x")
    for alias in ("v3", "a:b", "", "sp ace"):
        art = runview.Artifact("ok", type="dataset")
        art.add_file(tmp_path / "f")
        with pytest.raises(ValueError):
            run.log_artifact(art, aliases=[alias])
    art = runview.Artifact("ok", type="dataset")
    for bad in ("../escape", "/abs", "a/../b", "a//b"):
        with pytest.raises(ValueError):
            art.add_file(tmp_path / "f", name=bad)
    with pytest.raises(ValueError):
        art.add_file(tmp_path / "missing")
    with pytest.raises(ValueError):
        art.add_file(tmp_path / "f", policy="sometimes")
    art.add_file(tmp_path / "f")
    with pytest.raises(ValueError, match="already has"):
        art.add_file(tmp_path / "f")
    run.log_artifact(art).wait()
    with pytest.raises(ValueError, match="already logged"):
        art.add_file(tmp_path / "f", name="again")
    with pytest.raises(ValueError):
        run.use_artifact("ok:../../x")
    run.finish()


def test_a_version_that_does_not_exist_raises_a_clear_error(tmp_path: Path) -> None:
    run = start(tmp_path / "runs")
    with pytest.raises(runview.ArtifactNotFound, match="no artifact named 'nope'"):
        run.use_artifact("nope:latest")
    (tmp_path / "f").write_text("x")
    art = runview.Artifact("there", type="dataset")
    art.add_file(tmp_path / "f")
    run.log_artifact(art, aliases=["prod"]).wait()
    with pytest.raises(runview.ArtifactNotFound, match=r"there:v7 does not exist; versions are v0"):
        run.use_artifact("there:v7")
    with pytest.raises(runview.ArtifactNotFound, match=r"no such alias \(aliases: latest, prod\)"):
        run.use_artifact("there:staging")
    run.finish()


def test_lineage_is_recorded_both_ways(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    (tmp_path / "train.csv").write_text("1,2\n")
    producer = start(root, name="prep")
    art = runview.Artifact("ds", type="dataset")
    art.add_file(tmp_path / "train.csv")
    producer.log_artifact(art)
    producer.finish()  # waits for the commit
    consumer = start(root, name="train")
    used = consumer.use_artifact("ds:latest", type="dataset")
    consumer.finish()
    assert used.version == "v0"
    store = ArtifactStore(root)
    manifest = store.read_manifest("ds", 0)
    assert manifest.producer["run_id"] == producer.id
    assert manifest.producer["run"] == f"p/{producer.dir.name}"
    roles = [(r["role"], r["run_id"]) for r in store.lineage("ds")]
    assert roles == [("output", producer.id), ("input", consumer.id)]
    produced = json.loads((producer.dir / "artifacts.json").read_text())
    consumed = json.loads((consumer.dir / "artifacts.json").read_text())
    assert produced["outputs"][0]["version"] == 0 and produced["inputs"] == []
    assert consumed["inputs"][0]["requested"] == "ds:latest" and consumed["outputs"] == []


def test_use_waits_for_this_process_own_pending_log(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(16 * MB))
    run = start(tmp_path / "runs")
    art = runview.Artifact("ckpt", type="model")
    art.add_file(big, policy="immutable")
    run.log_artifact(art)
    used = run.use_artifact("ckpt:latest")  # no race: the pending log is committed first
    assert used.version == "v0" and used.files()[0].size == 16 * MB
    run.finish()


def test_download_is_read_only_and_linked_to_the_blobs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "x.txt").write_text("x")
    (data / "y.txt").write_text("yy")
    run = start(tmp_path / "runs")
    art = runview.Artifact("ds", type="dataset")
    art.add_dir(data, name="root")
    run.log_artifact(art).wait()
    folder = Path(run.use_artifact("ds:v0").download())
    again = Path(run.use_artifact("ds:v0").download())
    run.finish()
    assert folder == again
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "root/sub/x.txt",
        "root/y.txt",
    ]
    store = ArtifactStore(tmp_path / "runs")
    blob = store.blob_path(art.files()[1].sha256 or "")
    assert (folder / "root" / "y.txt").stat().st_ino == blob.stat().st_ino  # a hard link
    assert not os.access(folder / "root", os.W_OK) or os.geteuid() == 0
    assert not (folder / "root").stat().st_mode & stat.S_IWUSR
    explicit = Path(run_dir := tmp_path / "mine") / "ds"
    assert Path(art.download(root=explicit)) == explicit and run_dir.exists()


def test_integrity_failures_are_caught_when_used(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    (tmp_path / "a.txt").write_text("aaaa")
    (tmp_path / "b.txt").write_text("bbbb")
    run = start(root)
    art = runview.Artifact("ds", type="dataset")
    art.add_file(tmp_path / "a.txt")
    art.add_file(tmp_path / "b.txt")
    run.log_artifact(art).wait()
    store = ArtifactStore(root)
    a_blob = store.blob_path(art.files()[0].sha256 or "")
    os.chmod(a_blob, 0o644)
    a_blob.write_text("AAAA")  # same size, other bytes: only the digest tells
    used = run.use_artifact("ds:v0")
    with pytest.raises(runview.ArtifactCorrupt, match="do not match their sha256"):
        used.download(root=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-made is left
    a_blob.write_text("AAA")  # the wrong size: caught without reading
    with pytest.raises(runview.ArtifactCorrupt, match="the manifest says 4"):
        run.use_artifact("ds:v0")
    a_blob.unlink()
    with pytest.raises(runview.ArtifactCorrupt, match="blob missing"):
        run.use_artifact("ds:v0")
    run.finish()


def test_manifests_that_point_outside_the_store_are_never_followed(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (tmp_path / "a.txt").write_text("aaaa")
    run = start(root)
    art = runview.Artifact("ds", type="dataset")
    art.add_file(tmp_path / "a.txt")
    run.log_artifact(art).wait()
    store = ArtifactStore(root)
    good = json.loads(store.name_dir("ds").joinpath("versions", "v0.json").read_text())
    sha = good["files"][0]["sha256"]
    evil = dict(good)
    evil["files"] = [
        {"path": "../../../escape.txt", "size": 4, "sha256": sha},
        {"path": "/etc/passwd", "size": 4, "sha256": sha},
        {"path": "ok.txt", "size": 6, "sha256": "0" * 64},
        {"path": "bad-digest", "size": 4, "sha256": "../../../../secret"},
    ]
    versions = store.name_dir("ds") / "versions"
    (versions / "v1.json").write_text(json.dumps(evil))
    fake_blob = store.blob_path("0" * 64)
    fake_blob.parent.mkdir(parents=True, exist_ok=True)
    fake_blob.symlink_to(outside)  # a blob that is a link out of the store
    manifest = store.read_manifest("ds", 1)
    assert [f.path for f in manifest.files] == ["ok.txt"]
    problems = " | ".join(store.check(manifest))
    assert "../../../escape.txt" in problems and "/etc/passwd" in problems
    assert "bad-digest: invalid sha256" in problems
    assert "ok.txt: blob is not a regular file (not followed)" in problems
    with pytest.raises(runview.ArtifactCorrupt):
        run.use_artifact("ds:v1")
    run.finish()
    assert not (tmp_path / "escape.txt").exists()
    assert outside.read_text() == "secret"


def test_io_failures_while_storing_are_recorded_not_raised(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    doomed = tmp_path / "doomed.bin"
    doomed.write_bytes(b"x" * 100)
    run = start(tmp_path / "runs")
    art = runview.Artifact("ds", type="dataset")
    art.add_file(doomed, policy="immutable")  # a promise broken below
    doomed.unlink()
    run.log_artifact(art).wait()  # no exception
    assert art.state == "failed" and "No such file" in (art.error or "")
    run.log({"still": 1})
    run.finish()
    outputs = json.loads((run.dir / "artifacts.json").read_text())["outputs"]
    assert outputs[0]["state"] == "failed" and "No such file" in outputs[0]["error"]
    assert "artifact 'ds' not stored" in capfd.readouterr().err


def test_references_are_recorded_and_file_ones_hashed(tmp_path: Path) -> None:
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "0.bin").write_bytes(b"zero")
    run = start(tmp_path / "runs")
    art = runview.Artifact("refs", type="dataset")
    art.add_reference("s3://bucket/data/train")
    art.add_reference((tmp_path / "shards").as_uri(), name="local")
    run.log_artifact(art).wait()
    manifest = ArtifactStore(tmp_path / "runs").read_manifest("refs", 0)
    refs = {r.path: r for r in manifest.references}
    assert refs["train"].uri == "s3://bucket/data/train" and refs["train"].sha256 is None
    assert refs["local/0.bin"].size == 4 and refs["local/0.bin"].sha256 is not None
    (tmp_path / "shards" / "0.bin").write_bytes(b"ZERO")  # the reference changed: a new version
    again = runview.Artifact("refs", type="dataset")
    again.add_reference((tmp_path / "shards").as_uri(), name="local")
    again.add_reference("s3://bucket/data/train")
    run.log_artifact(again).wait()
    run.finish()
    assert again.version == "v1"


RACER = """
import os, sys, time
from pathlib import Path
import runview

root, tag, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
# The same new contents at the same moment in every process: the worst case for numbering.
contents = [f"content {i % 12}" for i in range(36)]
run = runview.init(project="race", dir=root, console=False, system_interval=None,
                   save_code=False)
work = root.parent / f"work-{tag}"
work.mkdir()
(root.parent / f"ready-{tag}").touch()
while not go.exists():
    time.sleep(0.001)
for i, content in enumerate(contents):
    path = work / f"{i}.txt"
    path.write_text(content)
    art = runview.Artifact("shared", type="dataset")
    art.add_file(path, name="data.txt")
    run.log_artifact(art)
run.finish()
"""


def test_two_processes_racing_get_one_version_per_content(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    root.mkdir()
    script = tmp_path / "racer.py"
    script.write_text(textwrap.dedent(RACER))
    go = tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if k != "RUNVIEW_DIR"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(root), tag, str(go)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("1", "2", "3")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{t}").exists() for t in "123"):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()  # all three start logging together
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    store = ArtifactStore(root)
    versions = store.versions("shared")
    assert versions == list(range(12))  # twelve contents, numbered without gaps
    texts = set()
    for version in versions:
        manifest = store.read_manifest("shared", version)
        blob = store.blob_path(manifest.files[0].sha256)
        texts.add(blob.read_text())
    assert texts == {f"content {i}" for i in range(12)}  # never two versions of one content
    outputs = [
        o
        for run_dir in (root / "race").iterdir()
        for o in json.loads((run_dir / "artifacts.json").read_text())["outputs"]
    ]
    assert len(outputs) == 108 and all(o["state"] == "committed" for o in outputs)
    by_digest: dict[str, set[int]] = {}
    for o in outputs:
        by_digest.setdefault(o["digest"], set()).add(o["version"])
    assert all(len(v) == 1 for v in by_digest.values())  # one number per content, everywhere
    assert len({next(iter(v)) for v in by_digest.values()}) == 12  # and one content per number


def test_files_artifacts_and_code_state_import_no_viewer_stack_and_no_numpy(
    tmp_path: Path,
) -> None:
    modules = (
        "runview._outputs",
        "runview.collectors.code_state",
        "runview.store.artifact_gc",
        "runview.store.artifact_download",
        "runview.store.artifact_reader",
        "runview.store.run_files",
    )
    code = (
        f"import sys, runview, {', '.join(modules)}; "
        "print(','.join(m for m in ('numpy', 'textual', 'rich', 'plotext') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_downloads_share_the_cache_home_but_no_size_cap_removes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNVIEW_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "labels.txt"
    source.write_text("cat\ndog\n")
    run = start(tmp_path / "runs")
    art = runview.Artifact("labels", type="dataset")
    art.add_file(source)
    run.log_artifact(art).wait()
    folder = Path(run.use_artifact("labels:v0").download())
    run.finish()
    assert folder.is_relative_to(tmp_path / "cache" / "artifacts")
    # A training script may be reading it: pruning the cache down to nothing leaves it whole.
    cache = Cache(tmp_path / "cache", max_bytes=0)
    cache.write("columns", "/some/run", lambda entry: (entry / "c0001.f64").write_bytes(bytes(64)))
    cache.prune()
    assert cache.lookup("columns", "/some/run") is None  # the cap applies to entries
    assert (folder / "labels.txt").read_text() == "cat\ndog\n"
