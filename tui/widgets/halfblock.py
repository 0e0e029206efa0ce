"""Draw an image in terminal cells with half blocks: ``▀`` shows the top pixel in fg, the bottom in
bg.

Works in every terminal that has truecolor or 256 colours (rich downgrades), over SSH and in
tmux. Under NO_COLOR the image becomes shade characters (`` ░▒▓█``) by brightness. Building
the segments is plain numpy and rich objects, so it runs in a thread worker; rendering just
hands the prepared lines to rich.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

UPPER_HALF = "▀"
SHADES = " ░▒▓█"


def fit_cells(width: int, height: int, max_cols: int, max_rows: int) -> tuple[int, int]:
    """(columns, pixel rows) to draw a ``width`` x ``height`` image in at most max_cols x max_rows
    cells.

    One cell is one pixel wide and two pixels tall, about square pixels on common fonts, so the
    aspect ratio is kept by scaling both sides by the same factor. Pixel rows are even.
    """
    if width <= 0 or height <= 0 or max_cols <= 0 or max_rows <= 0:
        return 0, 0
    scale = min(max_cols / width, 2 * max_rows / height)
    cols = max(1, min(max_cols, round(width * scale)))
    rows = max(2, min(2 * max_rows, round(height * scale)))
    return cols, rows + (rows & 1)


def _bins(source: int, target: int) -> tuple[np.ndarray, np.ndarray]:
    starts = (np.arange(target) * source) // target
    ends = np.append(starts[1:], source)
    return starts, np.maximum(ends - starts, 1)


def resize(pixels: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """Box-filter (shrink) or nearest (grow) ``pixels`` (HxWxC) to rows x cols; returns float32."""
    height, width = pixels.shape[:2]
    data = pixels.astype(np.float32)
    starts, counts = _bins(height, rows)
    data = np.add.reduceat(data, starts, axis=0) / counts[:, None, None]
    starts, counts = _bins(width, cols)
    return np.add.reduceat(data, starts, axis=1) / counts[None, :, None]


def to_rgb(pixels: np.ndarray, background: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """uint8 HxWx3 from HxWxC (grey, grey+alpha, RGB, RGBA), transparency over ``background``."""
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    channels = pixels.shape[2]
    colour = pixels[..., : 1 if channels < 3 else 3].astype(np.float32)
    if channels in (2, 4):
        alpha = pixels[..., -1:].astype(np.float32) / 255.0
        colour = colour * alpha + np.asarray(background[: colour.shape[2]], np.float32) * (
            1.0 - alpha
        )
    if colour.shape[2] == 1:
        colour = np.repeat(colour, 3, axis=2)
    return np.clip(colour + 0.5, 0, 255).astype(np.uint8)


class HalfBlockImage:
    """A rich renderable of prepared half-block lines, ``width`` cells by ``height`` lines."""

    def __init__(self, lines: list[list[Segment]], width: int) -> None:
        self.lines = lines
        self.width = width

    @property
    def height(self) -> int:
        return len(self.lines)

    @classmethod
    def from_pixels(
        cls, pixels: np.ndarray, max_cols: int, max_rows: int, *, no_color: bool = False
    ) -> HalfBlockImage:
        """Scale ``pixels`` (HxW or HxWxC, uint8) to fit max_cols x max_rows cells and build the
        lines."""
        rgb = to_rgb(pixels)
        cols, rows = fit_cells(rgb.shape[1], rgb.shape[0], max_cols, max_rows)
        if cols == 0:
            return cls([], 0)
        small = resize(rgb, cols, rows)
        if no_color:
            return cls(_shade_lines(small), cols)
        return cls(_colour_lines(np.clip(small + 0.5, 0, 255).astype(np.uint8)), cols)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        new_line = Segment.line()
        for line in self.lines:
            yield from line
            yield new_line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width, self.width)


def _colour_lines(small: np.ndarray) -> list[list[Segment]]:
    styles: dict[tuple[int, ...], Style] = {}
    lines = []
    for top, bottom in zip(small[0::2].tolist(), small[1::2].tolist()):
        segments: list[Segment] = []
        run_style, run_len = None, 0
        for t, b in zip(top, bottom):
            key = (*t, *b)
            style = styles.get(key)
            if style is None:
                style = styles[key] = Style(color=Color.from_rgb(*t), bgcolor=Color.from_rgb(*b))
            if style is run_style:
                run_len += 1
                continue
            if run_style is not None:
                segments.append(Segment(UPPER_HALF * run_len, run_style))
            run_style, run_len = style, 1
        if run_style is not None:
            segments.append(Segment(UPPER_HALF * run_len, run_style))
        lines.append(segments)
    return lines


def _shade_lines(small: np.ndarray) -> list[list[Segment]]:
    # Brightness of the two pixels of each cell (Rec. 601 luma), mapped onto five shades.
    luma = small @ np.asarray([0.299, 0.587, 0.114], np.float32)
    cells = (luma[0::2] + luma[1::2]) / 2.0
    index = np.clip((cells / 256.0 * len(SHADES)).astype(int), 0, len(SHADES) - 1)
    return [[Segment("".join(SHADES[i] for i in row))] for row in index.tolist()]
