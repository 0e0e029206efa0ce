"""The Files tab in the real app, on a run the real logger wrote: tree, previews, pager, copy."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from rich.segment import Segment

import runview
from runview._media import encode_png
from runview.tui.app import RunviewApp
from runview.tui.safe_text import visible
from runview.tui.textual_private import screen_strips
from runview.tui.widgets.file_tree import FileTree
from runview.tui.widgets.text_view import TextView
from tests.pilot import Notices, help_lists, screen_text, wait_for

EVIL_NAME = "evil\x1b]0;PWNED\x07name.txt"
EVIL_TEXT = "line one\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07 still here\x9b31m\nline two\n"


def make_run(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    (out / "ckpt").mkdir(parents=True)
    (out / "ckpt" / "e1.pt").write_bytes(bytes(range(256)) * 4)
    (out / "train.py").write_text("def train(lr: float) -> None:\n    return None\n")
    (out / EVIL_NAME).write_text(EVIL_TEXT)
    import numpy as np

    y, x = np.mgrid[0:16, 0:24]
    pixels = np.stack([x * 10, y * 15, (x + y) * 5], axis=-1).astype(np.uint8)
    (out / "sample.png").write_bytes(encode_png(pixels))
    run = runview.init(project="p", dir=tmp_path / "runs", console=False, system_interval=None)
    run.log({"loss": 1.0})
    run.save(str(out / "**" / "*"), base_path=str(out), policy="end")
    run.finish()
    (run.dir / "code" / "diff.patch").write_text(
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-old line\n+new line\n"
    )
    return run.dir


def tree(app: RunviewApp) -> FileTree:
    return app.screen.query_one(FileTree)


def visible_labels(app: RunviewApp) -> list[str]:
    found = []
    stack = [tree(app).root]
    while stack:
        node = stack.pop()
        found.append(str(node.label.plain).split("  ")[0].split(" → ")[0])
        if node.is_expanded:
            stack.extend(node.children)
    return found


async def select(pilot: object, app: RunviewApp, path: str) -> None:
    """Move the cursor to the file at ``path`` (relative to the run), as a user would."""
    widget = tree(app)
    widget.focus()
    target = next(
        node for node in _all_nodes(widget) if node.data is not None and node.data.path == path
    )
    await wait_for(pilot, lambda: target.line >= 0)  # laid out: it has a line to move to
    widget.move_cursor(target)
    shown = visible(path)
    await wait_for(pilot, lambda: shown in str(app.screen.query_one("#preview-header").render()))


def _all_nodes(widget: FileTree) -> list:
    nodes, stack = [], [widget.root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.children)
    return nodes


def segments(app: RunviewApp) -> list[Segment]:
    return [seg for strip in screen_strips(app.screen) for seg in strip]


async def test_the_tree_opens_on_saved_files_and_code(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    app = RunviewApp(run, tab="files")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "e1.pt" in visible_labels(app))
        labels = visible_labels(app)
        assert {"files/", "code/", "ckpt/", "diff.patch", "requirements.txt", "train.py"} <= set(
            labels
        )
        assert "c0001.f64" not in " ".join(labels)  # columns/ stays closed
        text = screen_text(app)
        assert "code/" in text and "files/" in text and "KiB" in text
        await wait_for(pilot, lambda: "c Copy path" in screen_text(app).splitlines()[-1])
        assert "p Pager" in screen_text(app).splitlines()[-1]


async def test_a_long_name_is_shortened_in_its_middle_to_fit_the_tree_never_scrolled_sideways(
    tmp_path: Path,
) -> None:
    long_name = "adam_moment_estimates_part_00001_of_00064.safetensors"
    (tmp_path / long_name).write_bytes(b"x" * 3000)
    run = runview.init(project="p", dir=tmp_path / "runs", console=False, system_interval=None)
    run.save(str(tmp_path / long_name), base_path=str(tmp_path), policy="now")
    run.finish()
    app = RunviewApp(run.dir, tab="files")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: long_name in visible_labels(app))

        def row() -> str:
            return next((ln for ln in screen_text(app).splitlines() if "adam_mom" in ln), "")

        await wait_for(pilot, lambda: "…" in row())
        name = row().split("└")[-1].strip().split("  ")[0]
        head, tail = name.split("…")
        assert long_name.startswith(head) and long_name.endswith(tail) and len(tail) >= 6
        assert "2.9 KiB" in row()  # its size is still beside it
        assert tree(app).virtual_size.width <= tree(app).scrollable_content_region.width
        await pilot.resize_terminal(220, 30)  # room again: the whole name, size and time
        await wait_for(pilot, lambda: long_name in screen_text(app))
        line = next(ln for ln in screen_text(app).splitlines() if long_name in ln)
        assert re.search(re.escape(long_name) + r"  2\.9 KiB  \d\d:\d\d:\d\d", line)


async def test_previews_highlight_code_colour_patches_draw_images_and_dump_binaries(
    tmp_path: Path,
) -> None:
    run = make_run(tmp_path)
    app = RunviewApp(run, tab="files")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: "e1.pt" in visible_labels(app))
        await select(pilot, app, "files/train.py")
        await wait_for(pilot, lambda: "def train" in screen_text(app))
        await wait_for(pilot, lambda: "saved · end · 1 copy · from" in screen_text(app))
        first_line = app.screen.query_one(TextView).render_line(0)
        colours = {seg.style.color for seg in first_line if seg.text.strip() and seg.style}
        assert len(colours) >= 3  # keyword, name, punctuation... highlighted

        await select(pilot, app, "code/diff.patch")
        await wait_for(pilot, lambda: "+new line" in screen_text(app))
        colours = {
            seg.text: seg.style.color.get_truecolor()
            for seg in segments(app)
            if seg.style and seg.style.color and seg.text in ("+new line", "-old line")
        }
        added, removed = colours["+new line"], colours["-old line"]
        assert added.green > max(added.red, added.blue)  # green, through the theme's palette
        assert removed.red > max(removed.green, removed.blue)

        await select(pilot, app, "files/sample.png")
        await wait_for(pilot, lambda: "PNG image 24×16" in screen_text(app))
        assert "▀" in screen_text(app)

        await select(pilot, app, "files/ckpt/e1.pt")
        await wait_for(pilot, lambda: "00000000  00 01 02 03" in screen_text(app))
        assert "binary" in screen_text(app)


async def test_names_and_bytes_from_files_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    app = RunviewApp(run, tab="files")
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: "e1.pt" in visible_labels(app))
        await select(pilot, app, f"files/{EVIL_NAME}")
        await wait_for(pilot, lambda: "still here" in screen_text(app))
        text = screen_text(app)
        assert "evil␛]0;PWNED␇name.txt" in text
        assert "line one␛[2J␛]52;c;cm0gLXJmIH4=␇ still here" in text
        for seg in segments(app):
            assert not re.search(r"[\x00-\x1f\x7f-\x9f]", seg.text), repr(seg.text)


def process_bytes_read() -> int:
    with open("/proc/self/io") as fh:
        for line in fh:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs /proc/self/io")
async def test_a_huge_sparse_file_is_previewed_without_being_read_whole(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    huge = run / "files" / "huge.ckpt"
    with open(huge, "wb") as fh:
        fh.truncate(5 * 1024**3)  # 5 GiB of holes: reading it whole would show in rchar
        fh.seek(0)
        fh.write(b"torch checkpoint\n" * 100)
    app = RunviewApp(run, tab="files")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "huge.ckpt" in visible_labels(app))
        before = process_bytes_read()
        await select(pilot, app, "files/huge.ckpt")
        await wait_for(pilot, lambda: "showing the first 1.0 MiB of 5.0 GiB" in screen_text(app))
        assert "|torch ch|" in screen_text(app)  # its first bytes, as hex and text
        read = process_bytes_read() - before
    assert 1024**2 <= read < 8 * 1024**2, read  # the 1 MiB preview, and nothing near 5 GiB


async def test_pager_gets_the_file_sanitised_and_c_copies_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = make_run(tmp_path)
    received = tmp_path / "received.txt"
    script = tmp_path / "pager.sh"
    script.write_text(f'#!/bin/sh\ncat "$1" > {shlex.quote(str(received))}\n')
    monkeypatch.setenv("PAGER", f"sh {shlex.quote(str(script))}")
    before = sorted(p.name for p in run.rglob("*"))
    app = RunviewApp(run, tab="files")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "e1.pt" in visible_labels(app))
        await select(pilot, app, f"files/{EVIL_NAME}")
        await pilot.press("c")
        assert app.clipboard == str(run / "files" / EVIL_NAME)
        await pilot.press("p")
        await wait_for(pilot, lambda: received.exists() and received.stat().st_size > 0)
        await select(pilot, app, "files/ckpt/e1.pt")
        received.unlink()
        await pilot.press("p")
        await wait_for(pilot, lambda: received.exists() and received.stat().st_size > 0)
        hexdump = received.read_text()
    assert "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b" in hexdump
    assert sorted(p.name for p in run.rglob("*")) == before  # nothing written in the run


def test_pager_export_of_a_file_keeps_no_control_sequence(tmp_path: Path) -> None:
    import io

    from runview.tui.file_preview import export_for_pager

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "x.txt").write_text(EVIL_TEXT)
    out = io.StringIO()
    export_for_pager(tmp_path / "run", "x.txt", "text", out)
    text = out.getvalue()
    assert "line one" in text and "still here" in text and "line two" in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", re.sub(r"\x1b\[[0-9;:]*m", "", text))
    os.symlink("/etc/hostname", tmp_path / "run" / "out.txt")
    with pytest.raises(OSError):
        export_for_pager(tmp_path / "run", "out.txt", "text", io.StringIO())


async def test_a_link_out_of_the_run_is_shown_not_followed(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    os.symlink(tmp_path / "secret.txt", run / "files" / "link.txt")
    app = RunviewApp(run, tab="files")
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: "link.txt" in visible_labels(app))
        await select(pilot, app, "files/link.txt")
        await wait_for(pilot, lambda: "a symbolic link, not followed" in screen_text(app))
        assert "TOP SECRET" not in screen_text(app)
        assert app.screen.query_one(TextView).lines


async def test_a_live_run_shows_files_as_they_are_saved(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    run = runview.init(
        project="p", dir=tmp_path / "runs", console=False, system_interval=None, save_code=False
    )
    run.save(str(out / "*.txt"))  # live: files made later are picked up
    app = RunviewApp(run.dir, tab="files")
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: "history.jsonl" in visible_labels(app))
            assert "later.txt" not in visible_labels(app)
            (out / "later.txt").write_text("written while the viewer is open")
            await wait_for(pilot, lambda: "later.txt" in visible_labels(app), timeout=30)
            await select(pilot, app, "files/later.txt")
            await wait_for(pilot, lambda: "written while the viewer" in screen_text(app))
    finally:
        run.finish()


async def test_help_lists_the_file_keys_from_their_bindings(tmp_path: Path) -> None:
    app = RunviewApp(make_run(tmp_path), tab="files")
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: "c Copy path" in screen_text(app).splitlines()[-1])
        await help_lists(
            pilot,
            app,
            (
                "Pager — the file in $PAGER",
                "Copy path — the file's full path to the clipboard",
                "Move between files (the preview follows)",
                "Open / close a folder",
                "To the preview",
                "In the preview",
            ),
        )


async def test_a_failing_listing_worker_is_reported_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runview.tui.tabs import files as files_tab

    def list_badly(run_dir: Path) -> object:
        raise RuntimeError("listing exploded")  # a fault inside the worker

    monkeypatch.setattr(files_tab, "list_run", list_badly)
    notices = Notices()
    app = RunviewApp(make_run(tmp_path), tab="files")
    async with app.run_test(size=(100, 30), message_hook=notices.hook) as pilot:
        await wait_for(pilot, lambda: notices.shown)
        assert notices.messages == ["list the run's files failed: RuntimeError: listing exploded"]
        await wait_for(
            pilot, lambda: "cannot list this run's files: listing exploded" in screen_text(app)
        )
        assert app.is_running
