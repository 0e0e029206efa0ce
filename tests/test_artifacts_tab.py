"""The Artifacts tab in the real app: inputs and outputs, a version's detail, lineage that opens
run pages (and backspace back), and damaged stores shown as errors, never followed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import runview
from runview.store.artifact_store import ArtifactStore
from runview.tui.app import RunviewApp
from runview.tui.run_page import RunPage
from tests.pilot import Notices, help_lists, page, screen_text, wait_for


def start(root: Path, name: str) -> runview.Run:
    return runview.init(
        project="p", name=name, dir=root, console=False, system_interval=None, save_code=False
    )


def make_lineage(tmp_path: Path) -> tuple[Path, Path]:
    """prep logs mnist v0 (alias best) and v1 and a model; train uses mnist:best."""
    root = tmp_path / "runs"
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("a,b\n1,2\n")
    (data / "labels.txt").write_text("cat\ndog\n")
    prep = start(root, "prep")
    first = runview.Artifact("mnist", type="dataset", metadata={"rows": 2, "source": "synthetic"})
    first.add_dir(data)
    prep.log_artifact(first, aliases=["best"])
    (data / "train.csv").write_text("a,b\n1,2\n3,4\n")
    (data / "extra.txt").write_text("more")
    second = runview.Artifact("mnist", type="dataset")
    second.add_dir(data)
    prep.log_artifact(second)
    (tmp_path / "w.bin").write_bytes(b"\0" * 100)
    model = runview.Artifact("weights", type="model")
    model.add_file(tmp_path / "w.bin")
    prep.log_artifact(model)
    prep.finish()
    train = start(root, "train")
    train.use_artifact("mnist:best")
    train.finish()
    return prep.dir, train.dir


async def test_the_table_lists_outputs_and_filters_by_regex(tmp_path: Path) -> None:
    prep, _train = make_lineage(tmp_path)
    app = RunviewApp(prep, tab="artifacts")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "weights" in screen_text(app))
        text = screen_text(app)
        assert "mnist" in text and "dataset" in text and "v1" in text and "best" in text
        assert "→ out" in text
        await wait_for(pilot, lambda: "/ Filter" in screen_text(app).splitlines()[-1])
        await pilot.press("slash", *"mod")
        # one condition: a screen caught between two frames has none of the three
        await wait_for(
            pilot,
            lambda: (
                "mnist" not in (text := screen_text(app)) and "weights" in text and "1 of 3" in text
            ),
        )
        await pilot.press("enter", "escape")  # leave the box, then esc clears the filter
        await wait_for(pilot, lambda: "mnist" in screen_text(app))


async def test_a_version_shows_files_metadata_versions_and_lineage(tmp_path: Path) -> None:
    prep, train = make_lineage(tmp_path)
    app = RunviewApp(prep, tab="artifacts")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "weights" in screen_text(app))
        await pilot.press("enter")  # the first row: mnist v0
        await wait_for(pilot, lambda: "Lineage" in screen_text(app))
        text = screen_text(app)
        assert "mnist:v0 · dataset · 2 files" in text and "aliases best" in text
        assert "labels.txt" in text and "train.csv" in text
        assert "rows 2" in text and "source synthetic" in text
        assert "produced" in text and "prep" in text
        assert "used" in text and "train" in text and train.name in text
        assert "1 added, 1 changed: +extra.txt, ~train.csv" in text  # v1 against v0
        assert "2 added: +labels.txt, +train.csv" in text
        await pilot.press("escape")
        await wait_for(
            pilot, lambda: "Lineage" not in (text := screen_text(app)) and "weights" in text
        )


async def test_lineage_opens_the_run_page_and_backspace_comes_back(tmp_path: Path) -> None:
    prep, train = make_lineage(tmp_path)
    app = RunviewApp(prep, tab="artifacts")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "weights" in screen_text(app))
        await wait_for(
            pilot,
            lambda: (
                "⌫ Back" not in screen_text(app).splitlines()[-1]
                and "Filter" in screen_text(app).splitlines()[-1]
            ),
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Lineage" in screen_text(app))
        await pilot.press("down", "enter")  # the consuming run
        await wait_for(pilot, lambda: len(app.screen_stack) == 3)
        consumer = app.screen_stack[-1]
        assert isinstance(consumer, RunPage) and consumer.run_path == train
        await wait_for(pilot, lambda: "p / train" in screen_text(app))
        await wait_for(pilot, lambda: "⌫ Back" in screen_text(app).splitlines()[-1])
        await pilot.press("backspace")
        await wait_for(pilot, lambda: len(app.screen_stack) == 2)
        assert page(app).run_path == prep
        await wait_for(pilot, lambda: "Lineage" in screen_text(app))  # as it was left
        assert "⌫ Back" not in screen_text(app).splitlines()[-1]
        await pilot.press("backspace")  # nothing to go back to: nothing happens
        await pilot.pause(0.1)
        assert len(app.screen_stack) == 2


async def test_inputs_show_on_the_consumer(tmp_path: Path) -> None:
    _prep, train = make_lineage(tmp_path)
    app = RunviewApp(train, tab="artifacts")
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: "← in" in screen_text(app))
        assert "mnist" in screen_text(app) and "v0" in screen_text(app)


async def test_a_damaged_store_is_shown_as_errors_and_never_followed(tmp_path: Path) -> None:
    prep, _train = make_lineage(tmp_path)
    root = prep.parent.parent
    store = ArtifactStore(root)
    manifest_path = store.name_dir("mnist") / "versions" / "v0.json"
    document = json.loads(manifest_path.read_text())
    document["files"].append({"path": "../../../../escape", "size": 1, "sha256": "0" * 64})
    document["producer"]["run"] = "../../outside"
    os.chmod(manifest_path, 0o644)
    manifest_path.write_text(json.dumps(document))
    blob = store.blob_path(document["files"][0]["sha256"])
    blob.unlink()  # a missing blob
    (store.name_dir("mnist") / "lineage.jsonl").open("a").write("not json\n")
    app = RunviewApp(prep, tab="artifacts")
    notices = Notices()
    async with app.run_test(size=(120, 40), message_hook=notices.hook) as pilot:
        await wait_for(pilot, lambda: "weights" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Lineage" in screen_text(app))
        text = screen_text(app)
        assert "✗ invalid path in artifact: '../../../../escape'; not followed" in text
        assert "blob missing from the store" in text
        assert "'../../outside' is not a run of this root (not followed)" in text
        await pilot.press("enter")  # the producer row names a path outside: not opened
        await pilot.pause(0.2)
        assert len(app.screen_stack) == 2
        await pilot.press("v")
        await wait_for(pilot, lambda: "blob missing" in " ".join(notices.messages))


async def test_a_run_without_artifacts_says_how_to_log_them(tmp_path: Path) -> None:
    run = start(tmp_path / "runs", "plain")
    run.finish()
    app = RunviewApp(run.dir, tab="artifacts")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "no artifacts in this run" in screen_text(app))
        assert "Verify" not in screen_text(app).splitlines()[-1]


async def test_a_corrupt_artifacts_document_is_reported(tmp_path: Path) -> None:
    run = start(tmp_path / "runs", "plain")
    run.finish()
    (run.dir / "artifacts.json").write_text("{ not json")
    app = RunviewApp(run.dir, tab="artifacts")
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: "artifacts.json is not valid JSON" in screen_text(app))


async def test_a_live_run_shows_artifacts_as_they_are_logged(tmp_path: Path) -> None:
    run = start(tmp_path / "runs", "live")
    (tmp_path / "x.txt").write_text("x")
    app = RunviewApp(run.dir, tab="artifacts")
    try:
        async with app.run_test(size=(100, 24)) as pilot:
            await wait_for(pilot, lambda: "no artifacts in this run" in screen_text(app))
            art = runview.Artifact("freshly-made", type="dataset")
            art.add_file(tmp_path / "x.txt")
            run.log_artifact(art).wait()
            await wait_for(pilot, lambda: "freshly-made" in screen_text(app), timeout=20)
            assert "v0" in screen_text(app)
    finally:
        run.finish()


async def test_help_lists_the_artifact_keys_from_their_bindings(tmp_path: Path) -> None:
    prep, _train = make_lineage(tmp_path)
    app = RunviewApp(prep, tab="artifacts")
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: "weights" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Lineage" in screen_text(app))
        await wait_for(pilot, lambda: "v Verify digests" in screen_text(app).splitlines()[-1])
        await help_lists(
            pilot,
            app,
            (
                "Verify digests — every file's sha256",
                "Filter — a case-insensitive regex",
                "Move between artifacts",
                "Open version — the version under the cursor",
                "Open run — the producing or consuming run's page",
                "Show version — that one instead",
                "Next / previous table",
            ),
        )


async def test_a_failing_artifacts_worker_is_reported_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runview.tui.tabs import artifacts as artifacts_tab

    prep, _train = make_lineage(tmp_path)

    def read_badly(run_dir: Path) -> object:
        raise RuntimeError("store exploded")  # a fault inside the worker

    monkeypatch.setattr(artifacts_tab, "read_run_artifacts", read_badly)
    notices = Notices()
    app = RunviewApp(prep, tab="artifacts")
    async with app.run_test(size=(100, 30), message_hook=notices.hook) as pilot:
        await wait_for(pilot, lambda: notices.shown)
        assert notices.messages == ["read artifacts.json failed: RuntimeError: store exploded"]
        await wait_for(
            pilot, lambda: "cannot read this run's artifacts: store exploded" in screen_text(app)
        )
        await pilot.press("1")  # the page goes on
        await wait_for(pilot, lambda: "prep" in screen_text(app))
        assert app.is_running
