"""runview's rasteriser draws every chart exactly as plotext does: the same character and colour in
every cell, for random and adversarial series, in colour and without."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from rich.console import Console
from rich.text import Text

from runview.tui.widgets.chart import ChartData, ChartSeries, draw_chart, plot_chart
from runview.tui.widgets.chart_raster import Raster

Cells = list[list[tuple[str, int | None]]]
CONSOLE = Console(width=100_000, color_system="256")
PLOTEXT_LEGEND_BUG = "cannot draw this chart: list index out of range"


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """plotext cuts its figure to the terminal it thinks it has (80 x 24 without one, as here):
    the reference is asked for a chart of the size asked for."""
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.setenv("LINES", "1000")


def cells(text: Text, height: int) -> Cells:
    """Each cell's character and colour (an xterm-256 code, None for none), row by row."""
    rows: Cells = []
    for line in text.split(allow_blank=True)[:height]:
        row = []
        for segment in line.render(CONSOLE):
            color = segment.style.color if segment.style else None
            number = None if color is None else color.number
            row.extend((char, number) for char in segment.text)
        rows.append(row)
    return rows


def plotext_cells(data: ChartData, width: int, height: int, *options: object) -> Cells:
    drawn = plot_chart(data, width, height, *options)  # type: ignore[arg-type]
    assert not isinstance(drawn, Text), drawn.plain  # plotext drew it
    return cells(Text.from_ansi(drawn, no_wrap=True), height)


def raster_cells(data: ChartData, width: int, height: int, *options: object) -> Cells:
    drawn = draw_chart(data, width, height, *options)  # type: ignore[arg-type]
    assert isinstance(drawn, Raster), "drawn by the rasteriser, not handed to plotext"
    assert drawn.size == (width, height)
    return cells(drawn.to_text(), height)


def assert_same(data: ChartData, width: int, height: int, *options: object) -> None:
    expected = plotext_cells(data, width, height, *options)
    got = raster_cells(data, width, height, *options)
    if got != expected:
        show = "\n".join("".join(c for c, _ in row) for row in expected)
        mine = "\n".join("".join(c for c, _ in row) for row in got)
        diff = [
            (y, x, want, have)
            for y, (a, b) in enumerate(zip(expected, got))
            for x, (want, have) in enumerate(zip(a, b))
            if want != have
        ]
        pytest.fail(f"{width}x{height} {options}\nplotext:\n{show}\nraster:\n{mine}\n{diff[:10]}")


def random_charts(seed: int, count: int) -> Iterator[tuple[ChartData, int, int, tuple]]:
    """Charts of every kind the viewer draws: noisy and smooth, gaps, few points, huge and tiny
    values, negative, whole numbers, several series (palette, chosen and compared runs'
    colours), smoothing's faint raw line, bands, user limits, clock times, log scale, a cursor,
    with and without colour."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.choice([1, 2, 3, 5, 40, 150, 400]))
        if rng.random() < 0.5:
            x = np.arange(float(n)) * float(10 ** rng.uniform(-2, 4))
        else:
            x = np.sort(rng.uniform(-500, 1000, n))
        scale = 10 ** rng.uniform(-9, 12)
        kind = rng.integers(0, 5)
        if kind == 0:
            y = rng.normal(size=n) * scale  # noise: min and max of every bucket, full height
        elif kind == 1:
            y = np.exp(-np.arange(n) / max(n / 3, 1)) * scale + rng.normal(size=n) * scale / 50
        elif kind == 2:
            y = np.full(n, scale * rng.choice([-1, 1]))  # flat
        elif kind == 3:
            y = np.round(rng.normal(size=n) * 20)  # whole numbers
        else:
            y = scale * (1 + 1e-12 * rng.normal(size=n))  # flat but for float noise
        if rng.random() < 0.2 and n > 3:
            y[rng.random(n) < 0.2] = np.nan  # gaps
        series = [ChartSeries("loss", x, y, index=int(rng.integers(0, 12)))]
        for extra in range(int(rng.integers(0, 4))):
            other = y * rng.uniform(-2, 2) + rng.normal(size=n) * scale / 10
            color: str | int = ""
            pick = rng.random()
            if pick < 0.3:
                color = int(rng.integers(0, 256))
            elif pick < 0.5:
                color = str(rng.choice(["red", "cyan+", "white", "gray", "black"]))
            faint, band = bool(rng.random() < 0.25), bool(rng.random() < 0.25)
            label = str(rng.choice(["val/loss", "a", "a much longer metric name here", " "]))
            series.append(
                ChartSeries(label, x, other, index=extra + 1, faint=faint, color=color, band=band)
            )
        x_range: tuple[float | None, float | None] = (None, None)
        y_range: tuple[float | None, float | None] = (None, None)
        finite = y[np.isfinite(y)]
        if rng.random() < 0.15 and finite.size:
            y_range = (float(finite.min()) * 0.9, float(finite.max()) * 0.5)  # data cut off
        if rng.random() < 0.1 and n > 1:
            x_range = (float(x[n // 4]), float(x[-1]))
        data = ChartData(
            tuple(series),
            x_label=str(rng.choice(["step", "", "  _step  ", "time (s)"])),
            x_span=(float(x[0]), float(x[-1]) * 1.25 + 1) if rng.random() < 0.5 else None,
            x_range=x_range,
            y_range=y_range,
            legend=bool(rng.random() < 0.8),
            x_time=bool(rng.random() < 0.1),
        )
        width, height = int(rng.integers(12, 161)), int(rng.integers(4, 45))
        log_y = bool(rng.random() < 0.15)
        colorless = bool(rng.random() < 0.25)
        cursor = float(rng.choice(x)) if rng.random() < 0.2 else None
        yield data, width, height, (log_y, colorless, cursor)


@pytest.mark.parametrize("seed", range(4))
def test_random_and_adversarial_charts_draw_exactly_as_plotext_draws_them(seed: int) -> None:
    for data, width, height, options in random_charts(seed, 40):
        reference = plot_chart(data, width, height, *options)
        drawn = draw_chart(data, width, height, *options)
        if isinstance(reference, Text) and reference.plain == PLOTEXT_LEGEND_BUG:
            assert isinstance(drawn, Raster)  # see the test of the legend below
        elif isinstance(reference, Text):
            # nothing to draw (no finite or no positive values): the same note either way
            assert isinstance(drawn, Text) and drawn.plain == reference.plain
        else:
            assert_same(data, width, height, *options)


def test_a_live_chart_of_noise_is_drawn_exactly_at_every_step() -> None:
    """A live run's chart, step after step, as the board hands it over (stable axis, min and max
    per bucket): the case that has to be fast, compared at every step and size the tab uses."""
    from runview.store.downsample import reduce_minmax
    from runview.tui.widgets.chart_axes import stable_x

    rng = np.random.default_rng(1)
    x = np.arange(3000.0)
    y = 2 * np.exp(-x / 900) + rng.normal(0, 0.05, x.size)
    for steps in range(2900, 3000, 7):
        span = stable_x(0.0, x[steps - 1])
        rx, ry = reduce_minmax(x[:steps], y[:steps], 100, span=span)
        data = ChartData((ChartSeries("train/loss", rx, ry),), x_label="step", x_span=span)
        for size in ((50, 12), (76, 20), (36, 8)):
            assert_same(data, *size)
            assert_same(data, *size, False, True)  # NO_COLOR


def test_values_far_outside_the_limits_are_cut_as_plotext_cuts_them() -> None:
    """A user's y range far inside the data: lines run hundreds of pixels off the canvas, of
    which only the stretch near it is computed."""
    x = np.arange(60.0)
    y = np.where(x % 7 == 0, 60.0, np.sin(x))
    data = ChartData((ChartSeries("m", x, y),), y_range=(-1.0, 1.0), x_range=(5.0, 40.0))
    assert_same(data, 60, 16)
    assert_same(data, 60, 16, False, True)


def test_a_point_millions_of_pixels_out_is_drawn_at_once() -> None:
    x = np.arange(10.0)
    y = np.array([0.0, 1.0, 1e12, 0.5, 0.2, -1e12, 0.3, 0.9, 0.1, 0.4])
    drawn = draw_chart(ChartData((ChartSeries("m", x, y),), y_range=(0.0, 1.0)), 60, 16)
    assert isinstance(drawn, Raster)
    # the steps to the far points leave the canvas through its top and bottom rows
    assert set("".join(drawn.row(y) for y in range(13))) - {" "}


def test_a_labelled_series_with_nothing_on_the_canvas_still_gets_its_legend() -> None:
    """plotext fails on this chart (an IndexError while writing the legend); the rasteriser
    draws it: the one place the two differ, on purpose."""
    x = np.arange(20.0)
    data = ChartData(
        (ChartSeries("inside", x, np.sin(x)), ChartSeries("outside", x, np.full(20, 50.0))),
        y_range=(-1.0, 1.0),
    )
    reference = plot_chart(data, 60, 14)
    assert isinstance(reference, Text) and reference.plain == PLOTEXT_LEGEND_BUG
    drawn = draw_chart(data, 60, 14)
    assert isinstance(drawn, Raster)
    assert "outside" in drawn.row(0) + drawn.row(1)


def test_text_plotext_cannot_place_by_characters_goes_to_plotext() -> None:
    """A legend or axis label with wide characters: plotext counts characters, a terminal
    cells; that chart is left to plotext, whose drawing is shown as it always was."""
    x = np.arange(30.0)
    data = ChartData((ChartSeries("损失", x, np.sin(x)), ChartSeries("b", x, np.cos(x))))
    drawn = draw_chart(data, 60, 14)
    assert isinstance(drawn, Text) and "损失" in drawn.plain


async def test_the_chart_widget_paints_its_rows_as_textual_paints_the_same_text() -> None:
    """The widget paints rows straight from the raster's cells; Textual, given the same drawing
    as Text (the old path), paints the same characters in the same colours."""
    from textual.app import App, ComposeResult
    from textual.visual import Visual, visualize

    from runview.tui.widgets.chart import Chart

    from .pilot import wait_for

    class OneChart(App[None]):
        def compose(self) -> ComposeResult:
            yield Chart("loss")

    x = np.arange(200.0)
    rng = np.random.default_rng(3)
    data = ChartData(
        (
            ChartSeries("train", x, rng.normal(size=200)),
            ChartSeries("raw", x, rng.normal(size=200), index=1, faint=True),
            ChartSeries("val", x, rng.normal(size=200) + 2, index=6),  # yellow+: no colour
            ChartSeries("run b", x, rng.normal(size=200) - 2, index=2, color=208),
        ),
        x_label="step",
    )
    app = OneChart()
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.query_one(Chart)
        chart.styles.height = 24
        chart.set_data(data)
        await wait_for(pilot, lambda: chart.builds >= 1 and chart.content_size.height == 22)
        width, height = chart.content_size
        drawn = draw_chart(data, width, height)
        assert isinstance(drawn, Raster)
        via_text = Visual.to_strips(
            chart, visualize(chart, drawn.to_text()), width, height, chart.visual_style
        )

        def looks(strips: list) -> list[list[tuple[str, object, object, bool]]]:
            return [
                [
                    (char, seg.style.color, seg.style.bgcolor, bool(seg.style.bold))
                    for seg in strip
                    for char in seg.text
                ]
                for strip in strips
            ]

        painted = [chart.render_line(y) for y in range(height)]
        assert looks(painted) == looks(via_text)
        # the text's colour, blue+, gray and the compared run's (yellow+ is none in plotext)
        colors = {seg.style.color for strip in painted for seg in strip if seg.text.strip()}
        assert len(colors) == 4, colors


def test_drawing_a_live_chart_never_imports_plotext() -> None:
    """plotext is the reference and the fallback only: a live chart is drawn without it (and
    without the ~0.1 s its import costs)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from runview.tui.widgets.chart import ChartData, ChartSeries, build_chart\n"
        "x = np.arange(500.0)\n"
        "data = ChartData((ChartSeries('loss', x, np.sin(x)), ChartSeries('acc', x, np.cos(x))),"
        " x_label='step')\n"
        "assert '▞' in build_chart(data, 60, 14).plain\n"
        "assert build_chart(data, 60, 14, False, True, 250.0).plain\n"
        "print('plotext' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
