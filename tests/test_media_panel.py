"""The media panel of the Charts tab on real runs: keys, steps, images in half blocks, tables,
damage."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from textual.widgets import DataTable, OptionList, Static

import runview
from runview.tui.app import RunviewApp
from runview.tui.run_page import RunPage
from runview.tui.tabs.charts import ChartsTab
from runview.tui.widgets.halfblock import SHADES, UPPER_HALF, HalfBlockImage, fit_cells, resize
from runview.tui.widgets.media_panel import MediaPanel, grid_shape
from tests.pilot import screen_text, settle, wait_for

STEPS = (0, 10, 20)


def make_media_run(root: Path) -> runview.Run:
    run = runview.init(project="m", dir=root, console=False, system_interval=None)
    for step in STEPS:
        shade = np.full((16, 24, 3), (step * 10, 200, 255 - step * 10), dtype=np.uint8)
        images = [runview.Image(shade, caption=f"sample {i} at {step}") for i in range(3)]
        table = runview.Table(
            columns=["id", "label", "prob"], data=[[i, f"cls{step}-{i}", 0.5] for i in range(4)]
        )
        table.add_data(9, "[b]not markup[/b]", float("nan"))
        run.log({"loss": 1.0 / (step + 1), "val/examples": images, "val/preds": table}, step=step)
    run.finish()
    return run


def panel(app: RunviewApp) -> MediaPanel:
    assert isinstance(app.screen, RunPage)
    return app.screen.query_one(MediaPanel)


def step_line(app: RunviewApp) -> str:
    return str(panel(app).query_one(".media-step", Static).render())


def images_text(app: RunviewApp, width: int = 120) -> str:
    renderable = panel(app).drawn
    if renderable is None:
        return ""
    console = Console(width=width, record=True, color_system="truecolor", file=io.StringIO())
    console.print(renderable)
    return console.export_text(styles=False)


async def open_media(pilot, app: RunviewApp) -> MediaPanel:
    await wait_for(pilot, lambda: isinstance(app.screen, RunPage) and panel(app).has_media)
    # charts drawn first
    await wait_for(pilot, lambda: app.screen.query_one(ChartsTab).board.charts)
    await pilot.pause(0.1)
    await pilot.press("m")
    await wait_for(pilot, lambda: app.focused is panel(app).query_one(".media-keys"))
    p = panel(app)
    await wait_for(pilot, lambda: p.display and "step" in step_line(app))
    return p


async def test_m_shows_newest_step_images_and_step_keys_move(run_root: Path) -> None:
    run = make_media_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        p = await open_media(pilot, app)
        tab = app.screen.query_one(ChartsTab)
        assert tab.has_class("-media") and not tab.board.display and p.display
        assert p.key == "val/examples"
        keys = p.query_one(".media-keys", OptionList)
        assert [str(keys.get_option_at_index(i).prompt) for i in range(keys.option_count)] == [
            "val/examples  images",
            "val/preds  table",
        ]
        assert "step 20 (3 of 3)" in step_line(app)
        await wait_for(pilot, lambda: "sample 2 at 20" in images_text(app))
        assert UPPER_HALF in images_text(app)
        await pilot.press("comma")
        await wait_for(pilot, lambda: "sample 0 at 10" in images_text(app))
        assert "step 10 (2 of 3)" in step_line(app)
        await pilot.press("left")
        await wait_for(pilot, lambda: "step 0 (1 of 3)" in step_line(app))
        await pilot.press("left")  # stays on the first step
        assert "step 0 (1 of 3)" in step_line(app)
        await pilot.press("end")
        await wait_for(pilot, lambda: "step 20 (3 of 3)" in step_line(app))
        await pilot.press("home")
        await wait_for(pilot, lambda: "step 0 (1 of 3)" in step_line(app))
        await pilot.press("full_stop")
        await wait_for(
            pilot,
            lambda: "step 10 (2 of 3)" in step_line(app) and "sample 1 at 10" in images_text(app),
        )
        await pilot.press("m")
        await settle(pilot)
        assert not tab.has_class("-media") and tab.board.display and not p.display


async def test_images_are_decoded_once_and_drawn_in_the_logged_colour(run_root: Path) -> None:
    run = make_media_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        p = await open_media(pilot, app)
        await wait_for(pilot, lambda: "sample 2 at 20" in images_text(app))
        assert p.decodes == 3
        grid = p.drawn
        console = Console(width=120, color_system="truecolor", file=io.StringIO())
        styles = {seg.style for seg in console.render(grid) if seg.text.startswith(UPPER_HALF)}
        colours = {
            (s.color.triplet.red, s.color.triplet.green, s.color.triplet.blue)
            for s in styles
            if s and s.color
        }
        assert colours == {(200, 200, 55)}
        await pilot.press("comma")
        await wait_for(pilot, lambda: "sample 2 at 10" in images_text(app))
        await pilot.press("full_stop")
        await wait_for(
            pilot, lambda: "step 20" in step_line(app) and "sample 2 at 20" in images_text(app)
        )
        assert p.decodes == 6  # step 10 decoded once; step 20 came from the cache


async def test_table_cells_appear_as_text(run_root: Path) -> None:
    run = make_media_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        p = await open_media(pilot, app)
        await pilot.press("down")
        table = p.query_one(".media-table", DataTable)
        await wait_for(
            pilot, lambda: p.key == "val/preds" and table.display and table.row_count == 5
        )
        assert "val/preds  step 20 (3 of 3)" in step_line(app)
        assert [str(c.label) for c in table.columns.values()] == ["id", "label", "prob"]
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows[0] == ["0", "cls20-0", "0.5"]
        assert rows[4] == ["9", "[b]not markup[/b]", "null"]
        await pilot.press("comma")
        await wait_for(
            pilot, lambda: table.row_count == 5 and str(table.get_row_at(0)[1]) == "cls10-0"
        )


async def test_deleted_and_corrupt_files_show_a_message(run_root: Path) -> None:
    run = make_media_run(run_root)
    newest = sorted((run.dir / "media" / "val__examples").glob("20_*.png"))
    newest[0].unlink()
    newest[1].write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    next(iter((run.dir / "media" / "val__preds").glob("20_*.table.json"))).unlink()
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        p = await open_media(pilot, app)
        await wait_for(pilot, lambda: "sample 2 at 20" in images_text(app))
        text = images_text(app)
        assert "file not found" in text and "truncated PNG" in text
        assert UPPER_HALF in text  # the third image is still drawn
        await pilot.press("down")
        message = p.query_one(".media-message", Static)
        await wait_for(pilot, lambda: message.display and "file not found" in str(message.render()))
        assert not p.query_one(".media-table", DataTable).display


async def test_no_color_draws_shades(run_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    run = make_media_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_media(pilot, app)
        await wait_for(pilot, lambda: "sample 2 at 20" in images_text(app))
        text = images_text(app)
        assert UPPER_HALF not in text
        assert any(ch in text for ch in SHADES[1:])


async def test_run_without_media_has_no_m_key(run_root: Path) -> None:
    run = runview.init(project="m", dir=run_root, console=False, system_interval=None)
    run.log({"loss": 1.0})
    run.finish()
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(ChartsTab).board.charts)
        tab = app.screen.query_one(ChartsTab)
        await pilot.press("m")
        await settle(pilot)
        assert not tab.has_class("-media")
        # no panel at all: its ten widgets are mounted with a run's first media
        assert tab.media_panel is None and not app.screen.query(MediaPanel)


def test_halfblock_fit_and_scale() -> None:
    assert fit_cells(100, 50, 40, 40) == (40, 20)  # width-bound: 40 cols, 20 pixel rows = 10 lines
    assert fit_cells(28, 28, 80, 10) == (20, 20)  # height-bound, square kept
    picture = np.zeros((4, 4, 3), np.uint8)
    picture[:2] = 255
    assert resize(picture, 2, 2)[:, :, 0].tolist() == [[255, 255], [0, 0]]
    image = HalfBlockImage.from_pixels(picture, 4, 2)
    assert image.width == 4 and image.height == 2
    first = image.lines[0][0]
    assert first.text == UPPER_HALF * 4 and first.style.color.triplet == (255, 255, 255)
    assert grid_shape(6, 100, 30, 1.5)[0] in (2, 3)


async def test_media_footer_offers_only_keys_that_work_there(run_root: Path) -> None:
    run = make_media_run(run_root)
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(160, 30)) as pilot:
        await open_media(pilot, app)
        tab = app.screen.query_one(ChartsTab)
        await wait_for(pilot, lambda: "Media" in screen_text(app).splitlines()[-1])
        footer = screen_text(app).splitlines()[-1]
        assert "Step" in footer and "? Help" in footer and "q Quit" in footer
        for hidden in ("Search", "Smooth", "Edit"):
            assert hidden not in footer, footer  # the charts' keys act on the hidden board
        view = tab.view
        await pilot.press("s", "c", "e")
        await pilot.pause(0.1)
        assert tab.view == view and isinstance(app.screen, RunPage)
        await pilot.press("m")  # back to the charts: their keys return
        await wait_for(pilot, lambda: "Smooth" in screen_text(app).splitlines()[-1])


async def test_a_key_logged_at_one_step_offers_no_step_keys(run_root: Path) -> None:
    run = runview.init(project="m", dir=run_root, console=False, system_interval=None)
    shade = np.full((16, 24, 3), 128, dtype=np.uint8)
    run.log({"loss": 1.0, "val/examples": [runview.Image(shade, caption="once")]}, step=0)
    run.finish()
    app = RunviewApp(run.dir, tab="charts")
    async with app.run_test(size=(160, 30)) as pilot:
        await open_media(pilot, app)
        await wait_for(pilot, lambda: "Media" in screen_text(app).splitlines()[-1])
        assert "Step" not in screen_text(app).splitlines()[-1]
