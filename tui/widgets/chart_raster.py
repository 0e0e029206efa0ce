"""runview's own drawing of a chart plan: plotext's picture, cell for cell, at numpy speed.

plotext builds a chart point by point in pure Python (a live chart of noisy series spent most of
the viewer's CPU there). This draws the same plan the same way, vectorised over points: the
same pixel grid (``get_matrix_data``'s rounding), the same lines between points (``get_line``'s
steps, truncated toward zero), the same quadrant (hd) and braille characters per cell, the last
series drawn in a cell owning it, the same placing of tick labels, x label and legend. Where a
plan needs something this does not reproduce, ``raster_draw`` returns None and the caller asks
plotext. ``tests/test_chart_raster.py`` draws many charts both ways and compares every cell.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.color import Color
from rich.style import Style
from rich.text import Text

from runview.tui.widgets.chart_plan import ChartPlan, PlanLine

# plotext's colour names and codes (``plotext._dict.color_codes``); anything else is no colour
COLOR_CODES = {
    "black": 0,
    "white": 15,
    "gray": 8,
    "gray+": 7,
    "red": 1,
    "red+": 9,
    "green": 2,
    "green+": 10,
    "orange": 3,
    "orange+": 11,
    "blue": 4,
    "blue+": 12,
    "magenta": 5,
    "magenta+": 13,
    "cyan": 6,
    "cyan+": 14,
}
NONE = -1  # a cell without a colour of its own
# Quadrant blocks by their 2 x 2 sub-cells read top-left, top-right, bottom-left, bottom-right
# as a binary number (``plotext._dict.hd_codes``).
HD_CHARS = " ▗▖▄▝▐▞▟▘▚▌▙▀▜▛█"
# 2 x 4 sub-cells read top row first, left to right, as a binary number -> braille dots.
_BRAILLE_DOTS = (0x01, 0x08, 0x02, 0x10, 0x04, 0x20, 0x40, 0x80)
BRAILLE_CHARS = " " + "".join(
    chr(0x2800 + sum(dot for bit, dot in enumerate(_BRAILLE_DOTS) if code >> (7 - bit) & 1))
    for code in range(1, 256)
)
# sub-cells per cell, (across, down), of the markers drawn at a finer grain than a cell
FINE = {"hd": (2, 2), "fhd": (2, 3), "braille": (2, 4)}
GLYPHS = {
    "hd": np.array(list(HD_CHARS), dtype="<U1"),
    "braille": np.array(list(BRAILLE_CHARS), dtype="<U1"),
}
LEGEND_SYMBOLS = {"hd": "▞", "fhd": "🬗", "braille": "⢕"}
MARKER_CHARS = {"sd": "█", "dot": "•"}  # the named markers runview uses, as plotext draws them
Y_TICKS = 7  # plotext's own y ticks where a plan sets none
_TEN_TO_MINUS_8 = 10 ** (-8)  # as plotext's ``round(x, 8)`` computes it


@dataclass(frozen=True, eq=False)
class Raster:
    """A drawn chart: one character and one colour (an xterm-256 code, or NONE) per cell."""

    chars: np.ndarray  # (height, width) of single characters, top row first
    colors: np.ndarray  # (height, width) int16

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.chars.shape
        return width, height

    def row(self, y: int) -> str:
        return "".join(self.chars[y].tolist())

    def runs(self, y: int) -> list[tuple[str, int]]:
        """Row ``y`` as (text, colour) runs of cells of one colour."""
        colors = self.colors[y]
        edges = np.flatnonzero(colors[1:] != colors[:-1]) + 1
        line = self.row(y)
        bounds = [0, *edges.tolist(), len(line)]
        return [(line[a:b], int(colors[a])) for a, b in zip(bounds, bounds[1:])]

    def same_as(self, other: Raster | None) -> bool:
        return (
            other is not None
            and self.chars.shape == other.chars.shape
            and np.array_equal(self.chars, other.chars)
            and np.array_equal(self.colors, other.colors)
        )

    def to_text(self) -> Text:
        """As rich Text: what ``Text.from_ansi`` makes of plotext's output of the same chart."""
        text = Text(no_wrap=True, end="")
        for y in range(self.chars.shape[0]):
            if y:
                text.append("\n")
            for part, color in self.runs(y):
                text.append(part, color_style(color))
        return text


def color_style(code: int) -> Style | None:
    return None if code == NONE else Style(color=Color.from_ansi(code))


def color_code(color: object) -> int:
    """The xterm-256 code plotext writes for ``color`` (``plotext._utility.ansi``)."""
    if isinstance(color, str):
        return COLOR_CODES.get(color.strip(), NONE)
    if isinstance(color, int) and 0 <= color <= 255:
        return color
    return NONE


def raster_draw(plan: ChartPlan) -> Raster | None:
    """plotext's drawing of ``plan`` (``plotext._build.build_plot`` with runview's settings: the
    clear theme, no frame, no grid, lower x and left y axes only), or None where plotext must
    draw it (text wider or narrower than a cell, values too far out to place)."""
    width, height = plan.width, plan.height
    labels = _legend_labels(plan)
    x_label = _x_label(plan)
    texts = [*plan.x_labels, *(plan.y_labels or ()), *labels, x_label or ""]
    if not all(_single_cells(text) for text in texts):
        return None
    if not all(line.marker in FINE or _marker_char(line.marker) for line in plan.lines):
        return None
    # Limits: the plan's, else the data's (plotext's ``get_lim``), the cursor counted in x.
    ys = [_log10(line.y) if plan.log_y else line.y.astype(np.float64) for line in plan.lines]
    xs = [line.x.astype(np.float64) for line in plan.lines]
    x_lim = plan.x_lim
    if x_lim is None:
        extra = [plan.cursor[0]] if plan.cursor is not None else []
        x_lim = _get_lim(xs, extra)
    y_lim = plan.y_lim if plan.y_lim is not None else _get_lim(ys, [])
    x_lim, y_lim = (float(x_lim[0]), float(x_lim[1])), (float(y_lim[0]), float(y_lim[1]))
    frame = _frame(
        width,
        height,
        x_lim,
        y_lim,
        tuple(plan.x_ticks),
        tuple(plan.x_labels),
        None if plan.y_ticks is None else tuple(plan.y_ticks),
        None if plan.y_labels is None else tuple(plan.y_labels),
        plan.log_y,
        x_label,
    )
    chars, colors = frame.chars.copy(), frame.colors.copy()
    col_start, row_start = frame.col_start, frame.row_start
    canvas_width, canvas_height = frame.canvas_width, frame.canvas_height
    row_end = row_start + canvas_height
    if plan.cursor is not None:
        col = _matrix_index(plan.cursor[0], x_lim, canvas_width) + col_start
        if 0 <= col < width:
            rows = slice(max(row_start, 0), max(min(row_start + canvas_height, height), 0))
            chars[rows, col] = "│"
            colors[rows, col] = color_code(plan.cursor[1])
    drawn_colors: list[int] = []
    for line, x, y in zip(plan.lines, xs, ys):
        cells = _line_cells(line.marker, x, y, x_lim, y_lim, canvas_width, canvas_height)
        if cells is None:
            return None
        cx, cy, glyphs = cells
        code = color_code(line.color)
        chars[cy + row_start, cx + col_start] = glyphs
        colors[cy + row_start, cx + col_start] = code
        drawn_colors.append(code)
    # the legend, top left of the canvas
    if labels and canvas_width >= 3 + len(labels[0]) and canvas_height >= len(labels):
        labelled = [(line, code) for line, code in zip(plan.lines, drawn_colors) if _label(line)]
        for s, ((line, code), label) in enumerate(zip(labelled, labels)):
            row = row_end - 1 - s
            symbol = LEGEND_SYMBOLS.get(line.marker) or _marker_char(line.marker)
            _put_string(chars, colors, row, col_start, " ")
            _put_string(chars, colors, row, col_start + 1, symbol * 2, code)
            _put_string(chars, colors, row, col_start + 3, label)
    return Raster(chars[::-1].copy(), colors[::-1].copy())


@dataclass(frozen=True, eq=False)
class _Frame:
    """What a chart shows around its data: tick labels and the x label, and where its canvas
    lies (rows counted from the bottom, as plotext does)."""

    chars: np.ndarray
    colors: np.ndarray
    col_start: int
    row_start: int
    canvas_width: int
    canvas_height: int


@functools.lru_cache(maxsize=256)
def _frame(
    width: int,
    height: int,
    x_lim: tuple[float, float],
    y_lim: tuple[float, float],
    x_ticks: tuple[float, ...],
    x_labels: tuple[str, ...],
    y_ticks: tuple[float, ...] | None,
    y_labels: tuple[str, ...] | None,
    log_y: bool,
    x_label: str | None,
) -> _Frame:
    """The frame of a chart: a live chart's stays the same until an axis extends, so it is
    kept (keyed by everything it is made from)."""
    # Ticks, in the order plotext's ``brush`` leaves them (a set's): labels are placed in turn.
    x_tick_list, x_label_list = _brushed(x_ticks, x_labels)
    if y_ticks is not None:
        y_tick_list, y_label_list = _brushed(y_ticks, y_labels or ())
    else:
        y_tick_list = _linspace(*y_lim, Y_TICKS)
        y_label_list = _get_labels([10**t for t in y_tick_list] if log_y else y_tick_list)
    label_width = max((len(label) for label in y_label_list), default=0)
    y_label_list = [label.rjust(label_width) for label in y_label_list]
    canvas_width = width - label_width
    low_bar = x_label is not None
    x_rows = 1 if x_label_list else 0
    canvas_height = height - x_rows - low_bar
    col_start = label_width
    row_start = low_bar + x_rows

    chars = np.full((height, width), " ", dtype="<U1")
    colors = np.full((height, width), NONE, dtype=np.int16)
    # x tick labels, each where it fits
    row = min(row_start - 1, height - 1)
    for tick, label in zip(x_tick_list, x_label_list):
        col = col_start + _matrix_index(tick, x_lim, canvas_width)
        _put_string(chars, colors, row, _correct_coord(chars[row], label, col), label, check=True)
    if width >= label_width:
        for tick, label in zip(y_tick_list, y_label_list):
            row = _matrix_index(tick, y_lim, canvas_height) + row_start
            _put_string(chars, colors, row, 0, label)
    if x_label is not None and height > 0:
        centre = col_start + canvas_width // 2
        _put_string(chars, colors, 0, centre - len(x_label) // 2, x_label, check=True)
    chars.flags.writeable = colors.flags.writeable = False  # shared: copied before drawing on
    return _Frame(chars, colors, col_start, row_start, canvas_width, canvas_height)


def _label(line: PlanLine) -> str | None:
    """plotext's ``add_label``: none when only spaces (or empty), else stripped."""
    label = line.label
    return None if label is None or label == " " * len(label) else label.strip()


def _x_label(plan: ChartPlan) -> str | None:
    """plotext's ``set_label``: stripped, none when nothing is left."""
    label = None if plan.x_label is None else plan.x_label.strip()
    return None if label is None or label == " " * len(label) else label


def _legend_labels(plan: ChartPlan) -> list[str]:
    """The legend's rows, padded to one width, as plotext writes them."""
    names = [f" {name} " for line in plan.lines if (name := _label(line)) is not None]
    longest = max((len(name) for name in names), default=0)
    return [name.ljust(longest) for name in names]


def _single_cells(text: str) -> bool:
    """Every character takes exactly one cell: plotext counts characters, a terminal cells."""
    return text.isprintable() and cell_len(text) == len(text)


def _marker_char(marker: str) -> str:
    """plotext's ``check_marker`` for a marker that is not a sub-cell one ("" for a named one
    runview does not use: plotext draws those)."""
    if marker in MARKER_CHARS:
        return MARKER_CHARS[marker]
    return marker if len(marker) == 1 and _single_cells(marker) else ""


def _log10(values: np.ndarray) -> np.ndarray:
    # math.log10 as plotext calls it (numpy's may differ in the last bit, and move a pixel)
    return np.array([math.log10(v) for v in values.tolist()], dtype=np.float64)


def _get_lim(arrays: list[np.ndarray], extra: list[float]) -> tuple[float, float]:
    """plotext's ``get_lim``: the data's extent; a single value v gives (v/2, 3v/2)."""
    lo = min([float(a.min()) for a in arrays if a.size] + extra, default=0.0)
    hi = max([float(a.max()) for a in arrays if a.size] + extra, default=0.0)
    if lo != hi:
        return lo, hi
    return (0.5 * lo, 1.5 * lo) if lo != 0 else (-1.0, 1.0)


def _brushed(ticks: tuple[float, ...], labels: tuple[str, ...]) -> tuple[list[float], list[str]]:
    """plotext's ``brush`` of ticks and labels: duplicates dropped, in a set's order."""
    pairs = list(set(zip(ticks, [str(label) for label in labels])))
    return [tick for tick, _ in pairs], [label for _, label in pairs]


def _linspace(lower: float, upper: float, length: int) -> list[float]:
    slope = (upper - lower) / (length - 1) if length > 1 else 0
    return [lower + i * slope for i in range(length)]


def _plotext_round(n: float, d: int = 0) -> float:
    """plotext's ``round``: halves go up."""
    n *= 10**d
    f = math.floor(n)
    r = f if n - f < 0.5 else math.ceil(n)
    return r * 10 ** (-d)


def _matrix_index(value: float, lim: tuple[float, float], bins: int) -> int:
    """plotext's ``get_matrix_data`` for one value."""
    change = 0.5 + (bins - 1) * (value - lim[0]) / (lim[1] - lim[0])
    return math.floor(_plotext_round(change, 8))


def _matrix_indices(values: np.ndarray, lim: tuple[float, float], bins: int) -> np.ndarray | None:
    """``_matrix_index`` over an array, with the same floating-point steps; None where a value
    cannot be placed (plotext fails on it)."""
    with np.errstate(all="ignore"):
        change = 0.5 + (bins - 1) * (values - lim[0]) / (lim[1] - lim[0])
        n = change * 100000000
        f = np.floor(n)
        # plotext's round: up from a half (then n is no whole number: its ceiling is f + 1)
        out = np.floor((f + (n - f >= 0.5)) * _TEN_TO_MINUS_8)
    if not np.isfinite(out).all():
        return None
    # Beyond 2**52 pixels plotext would step through every one (for hours); the line leaves the
    # canvas the same way from here.
    return np.clip(out, -(2**52), 2**52).astype(np.int64)


def _line_points(
    px: np.ndarray, py: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """plotext's ``get_lines``: the pixels of straight steps between consecutive points, only
    those near the ``width`` x ``height`` pixel canvas (the rest are never drawn)."""
    if px.size < 2:
        return px, py
    x0, y0 = px[:-1], py[:-1]
    dx, dy = px[1:] - x0, py[1:] - y0
    count = np.maximum(np.abs(dx), np.abs(dy))  # pixels of each step but its last one
    steps = np.maximum(count, 1).astype(np.float64)
    slope_x, slope_y = dx / steps, dy / steps
    near = px.min() >= -2 and py.min() >= -2 and px.max() <= width + 2 and py.max() <= height + 2
    if near:  # the usual case: every step is drawn whole
        first, sizes = np.zeros_like(count), count
    else:
        first, sizes = _near_canvas(x0, y0, slope_x, slope_y, count, width, height)
    total = int(sizes.sum())
    step = np.repeat(np.arange(sizes.size), sizes)
    i = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes - first, sizes)
    # plotext: int(lower + i * slope), lower an int, the slope (upper - lower) / (length - 1)
    i = i.astype(np.float64)
    xs = np.trunc(x0[step].astype(np.float64) + i * slope_x[step]).astype(np.int64)
    ys = np.trunc(y0[step].astype(np.float64) + i * slope_y[step]).astype(np.int64)
    return np.append(xs, px[-1]), np.append(ys, py[-1])


def _near_canvas(
    x0: np.ndarray,
    y0: np.ndarray,
    slope_x: np.ndarray,
    slope_y: np.ndarray,
    count: np.ndarray,
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(first step, number of steps) of each line's stretch near the canvas: a point far out
    makes a line of millions of pixels, of which only these can be drawn. Generous by a pixel
    and a step each way, so rounding here never drops a pixel plotext would draw."""
    first, last = np.zeros_like(count), count - 1
    for start, slope, size in ((x0, slope_x, width), (y0, slope_y, height)):
        with np.errstate(divide="ignore", invalid="ignore"):
            a = (-2 - start) / slope
            b = (size + 2 - start) / slope
        low = np.where(slope > 0, a, np.where(slope < 0, b, -np.inf))
        high = np.where(slope > 0, b, np.where(slope < 0, a, np.inf))
        away = (slope == 0) & ((start < -2) | (start > size + 2))
        low = np.where(away, np.inf, low)
        first = np.maximum(first, np.floor(np.clip(low, -1, count + 1)).astype(np.int64) - 1)
        last = np.minimum(last, np.ceil(np.clip(high, -1, count + 1)).astype(np.int64) + 1)
    first = np.maximum(first, 0)
    return first, np.maximum(last - first + 1, 0)


def _line_cells(
    marker: str,
    x: np.ndarray,
    y: np.ndarray,
    x_lim: tuple[float, float],
    y_lim: tuple[float, float],
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The canvas cells a line covers, and the character each shows (``hd_group``), or None
    where plotext must draw it."""
    across, down = FINE.get(marker, (1, 1))
    if width <= 0 or height <= 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype="<U1")
    px = _matrix_indices(x, x_lim, width * across)
    py = _matrix_indices(y, y_lim, height * down)
    if px is None or py is None:
        return None
    px, py = _line_points(px, py, width * across, height * down)
    cx, cy = px // across, py // down
    inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
    cell = cy[inside] * width + cx[inside]
    if (across, down) == (1, 1):
        cell = np.unique(cell)
        glyphs = np.full(cell.size, _marker_char(marker), dtype="<U1")
    else:
        table = GLYPHS.get(marker)
        if table is None:
            return None
        bits = across * down
        # a sub-cell's place in plotext's code: top row first, left to right
        sub = (down - 1 - py[inside] % down) * across + px[inside] % across
        codes = np.zeros(width * height, dtype=np.int64)
        np.bitwise_or.at(codes, cell, 1 << (bits - 1 - sub))
        cell = np.flatnonzero(codes)
        glyphs = table[codes[cell]]
    return cell % width, cell // width, glyphs


def _put_string(
    chars: np.ndarray,
    colors: np.ndarray,
    row: int,
    col: int,
    text: str,
    color: int = NONE,
    check: bool = False,
) -> bool:
    """plotext's ``add_horizontal_string``: ``check``: only where the cells and one either side
    are blank and the whole string fits."""
    height, width = chars.shape
    if check:
        if -height <= row < 0:
            row %= height  # plotext indexes rows from the end (a Python list)
        b, e = max(col - 1, 0), min(col + len(text) + 1, width)
        if not (col >= 0 and col + len(text) <= width and (chars[row, b:e] == " ").all()):
            return False
    if not 0 <= row < height:
        return True
    start, stop = max(col, 0), min(col + len(text), width)
    if start < stop:
        chars[row, start:stop] = list(text[start - col : stop - col])
        colors[row, start:stop] = color
    return True


def _correct_coord(row: np.ndarray, label: str, coord: int) -> int:
    """plotext's ``correct_coord``: a label's start, moved off the row's ends and neighbours."""
    length = len(label)
    b, e = max(coord - length + 1, 0), min(coord + length, len(row) - 1)
    free = [i for i, char in enumerate(row[b:e].tolist(), b) if char == " "] if b < e else []
    b, e = min(free, default=coord - length + 1), max(free, default=coord + length)
    b, e = e - length + 1, b + length
    return (b + e - length) // 2


def _get_labels(ticks: list[float]) -> list[str]:
    """plotext's ``get_labels``: tick labels with the decimals that tell them apart."""
    d = max(
        (_distinguishing_digit(a, b) for a, b in zip(ticks, ticks[1:])),
        default=1,
    )
    labels = [f"{tick:.{d + 1}f}" for tick in ticks]
    labels = [label[: label.index(".") + d + 2] for label in labels]
    if all(tick == int(tick) for tick in ticks):
        return [str(int(tick)) for tick in ticks]
    if len(labels) > 1:
        labels = [_extra_zeros(label, d) for label in labels]
    return labels


def _distinguishing_digit(a: float, b: float) -> int:
    d = abs(a - b)
    d = 0 if d == 0 else -math.log10(2 * d)
    d = 0 if d < 0 else math.ceil(d)
    return d + 1 if _plotext_round(a, d) == _plotext_round(b, d) else d


def _extra_zeros(label: str, d: int) -> str:
    zeros = len(label) - 1 - label.index("." if "e" not in label else "e")
    return label + "0" * (d - zeros) if zeros < d else label
