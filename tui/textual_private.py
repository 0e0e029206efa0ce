"""Every use of Textual's private API, in one module: only what has no public way.

``tests/test_textual_private.py`` exercises each one, so a Textual upgrade that moves a private
name fails there, loudly, instead of slowing or breaking the app somewhere else. Before adding
to this module, look for a public way (a method meant to be overridden, a message, a CSS rule);
when Textual grows one, move to it and delete the entry here.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from itertools import groupby, repeat
from operator import itemgetter
from typing import TypeVar
from weakref import WeakKeyDictionary

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.control import Control
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
from textual._compositor import ChopsUpdate, Compositor, LayoutUpdate
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable, Tree
from textual.widgets.data_table import ColumnKey, RowKey

NodeData = TypeVar("NodeData")


class BulkTree(Tree[NodeData]):
    """A Tree that adds many nodes at the cost of one invalidation.

    ``TreeNode.add`` calls ``Tree._invalidate`` (clear the line cache, schedule a layout) for
    every node; building 16k layers that way takes 60% longer than with one call at the end,
    and there is no public batch API.
    """

    _adding_many = False

    @contextmanager
    def adding_many(self) -> Iterator[None]:
        """Add nodes inside this block; the tree is invalidated once, when it ends."""
        self._adding_many = True
        try:
            yield
        finally:
            self._adding_many = False
            self._invalidate()

    def _invalidate(self) -> None:
        if not self._adding_many:
            super()._invalidate()


def screen_strips(screen: Screen[object]) -> list[Strip]:
    """The screen as drawn: one Strip per terminal row (tests read what a user reads).

    Textual's own ``export_screenshot`` reads the compositor the same way; the only public
    output is that SVG.
    """
    return screen._compositor.render_strips()


Cell = tuple[str, "Style | None"] | None  # (text, style); None: the right half of a wide character

# What each console's terminal shows, row by row, as of the last update written to it: an update
# is compared with it and sends only the cells that differ.
_shown: WeakKeyDictionary[Console, _Shown] = WeakKeyDictionary()
_NEAR = 4  # unchanged cells between two changes cheaper to resend than a cursor move
_UNKNOWN: Cell = ("", None)  # a cell never written: differs from every real one


class _Shown(dict[int, list[Cell]]):
    """The rows a terminal shows, for the screen size they were written for (None: not known)."""

    def __init__(self, size: tuple[int, int] | None) -> None:
        super().__init__()
        self.size = size


def _shown_on(console: Console, size: tuple[int, int] | None = None) -> _Shown:
    """What ``console``'s terminal shows; nothing, when a whole screen of another ``size`` comes
    (a terminal may reflow or clear what it shows when it is resized)."""
    shown = _shown.get(console)
    if shown is None or (size is not None and shown.size != size):
        shown = _shown[console] = _Shown(size)
    return shown


def forget_shown(console: Console) -> None:
    """Nothing is known of what the terminal shows: the next update is written whole. For when
    something other than the app drew on it (a pager the app was suspended for, output of
    another process: ctrl+l)."""
    _shown.pop(console, None)


# Characters one cell wide that never join the one before (Latin, Greek, Cyrillic, box drawing,
# block elements, Braille: what a run page is drawn with): a text made only of these is cut into
# cells without measuring each character (rich.cells keeps the same ranges for the same reason).
_all_single_cell = frozenset(
    chr(code)
    for first, last in (
        (0x20, 0x7E),
        (0xA0, 0xAC),
        (0xAE, 0x2FF),
        (0x370, 0x482),
        (0x2500, 0x25FC),
        (0x2800, 0x28FF),
    )
    for code in range(first, last + 1)
).issuperset


def _cells(strip: Strip) -> list[Cell]:
    out: list[Cell] = []
    for text, style, control in strip:
        if control:
            continue
        if _all_single_cell(text):  # most text: one cell a character, none joining another
            out += zip(text, repeat(style))
            continue
        for char in text:
            width = cell_len(char)
            if width == 0 and out and out[-1] is not None:
                out[-1] = (out[-1][0] + char, out[-1][1])  # a combining mark joins its cell
            elif width:
                out.append((char, style))
                if width == 2:
                    out.append(None)
    return out


def _changed_runs(new: list[Cell], old: list[Cell], start: int) -> list[tuple[int, int]]:
    """[first, end) of the runs of ``new`` (placed at column ``start``) that differ from ``old``,
    runs a few cells apart joined, never splitting a wide character."""
    if old[start : start + len(new)] == new:
        return []  # the common case of a partial update: most of a row it covers is unchanged
    if len(old) <= start:
        return [(0, len(new))]  # nothing shown there yet
    runs: list[tuple[int, int]] = []
    for index, cell in enumerate(new):
        column = start + index
        if column < len(old) and old[column] == cell:
            continue
        first = index - 1 if cell is None and index else index  # the whole wide character
        if runs and first - runs[-1][1] <= _NEAR:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((first, index + 1))
    return [(first, end + 1 if end < len(new) and new[end] is None else end) for first, end in runs]


def _changed_cells_only(self: ChopsUpdate, console: Console) -> str:
    """``ChopsUpdate.render_segments`` that sends only the cells that differ from the screen.

    Textual sends a partial repaint from the left edge of the widget it falls in (its "TODO:
    crop to x extents"), and a widget that changed one value repaints whole: a chart whose last
    three columns changed resent its whole width, a table whose one value changed resent every
    row. Each span is cropped to itself and compared, cell by cell, with what the terminal
    shows; only the differing runs are written.
    """
    sequences: list[str] = []
    append = sequences.append
    chops, chop_ends = self.chops, self.chop_ends
    shown = _shown_on(console)
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        wrote = False
        row = shown.setdefault(y, [])
        for end, (x, strip) in zip(chop_ends[y], chops[y].items()):
            if strip is None or x >= x2 or end <= x1:
                continue
            start, stop = max(x, x1), min(end, x2)
            if start > x or stop < end:
                strip = strip.crop(start - x, stop - x)
            cells = _cells(strip)
            runs = _changed_runs(cells, row, start)
            if runs:
                _write_runs(append, cells, runs, start, y, console)
                wrote = True
            if len(row) < start + len(cells):
                row.extend([_UNKNOWN] * (start + len(cells) - len(row)))
            row[start : start + len(cells)] = cells
        if wrote and y != last_y:
            append("\n")
    return "".join(sequences)


def _write_runs(
    append: Callable[[str], None],
    cells: list[Cell],
    runs: list[tuple[int, int]],
    x: int,
    y: int,
    console: Console,
) -> None:
    """Each run ``[first, last)`` of ``cells``, which start at column ``x`` of row ``y``."""
    for first, last in runs:
        append(Control.move_to(x + first, y).segment.text)
        append(_render_cells(cells[first:last], console))


def _render_cells(cells: list[Cell], console: Console) -> str:
    """The cells as the terminal's sequences, neighbours of one style in one segment."""
    segments = [
        Segment("".join([text for text, _ in run]), style)
        for style, run in groupby(filter(None, cells), _style_of)
    ]
    return Strip(segments).render(console)


_style_of = itemgetter(1)


def _full_update_changed_only(self: LayoutUpdate, console: Console) -> str:
    """``LayoutUpdate.render_segments`` that sends only the cells that differ from the screen.

    Textual writes a screen whole when it is shown, and then once more a frame later (a resumed
    screen repaints itself), though the terminal shows all of it already: at every page opened
    or come back to, the whole screen went out twice. Compared cell by cell, as a partial update
    is, only what differs is written: nothing, that second time. What the terminal shows is
    forgotten when its size changes, and by ``forget_shown``.
    """
    shown = _shown_on(console, (self.region.width, self.region.height))
    if self.region.x:  # pragma: no cover - Textual's full updates start at the left edge
        shown.clear()
        return _full_update(self, console)
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    last_y = self.region.y + len(self.strips) - 1
    for y, line in enumerate(self.strips, self.region.y):
        cells = [cell for strip in line for cell in _cells(strip)]
        runs = _changed_runs(cells, shown.get(y, []), 0)
        if runs == [(0, len(cells))]:  # the whole row (the first frame): as Textual writes it
            append(move_to(0, y).segment.text)
            append("".join([strip.render(console) for strip in line]))
        else:
            _write_runs(append, cells, runs, 0, y, console)
        if runs and y != last_y:
            append("\n")
        shown[y] = cells
    return "".join(sequences)


_full_update = LayoutUpdate.render_segments


class _ChangedRows:
    """The rows a partial update repaints, and on each the spans of columns that changed: what
    Textual's ``is_rendered_line`` says, with the columns it leaves out."""

    def __init__(self, spans: list[tuple[int, int, int]]) -> None:
        self.spans: dict[int, list[tuple[int, int]]] = {}
        for y, x1, x2 in spans:
            self.spans.setdefault(y, []).append((x1, x2))
        self.rows = sorted(self.spans)  # a widget looks up the few changed rows it covers

    def rows_in(self, top: int, bottom: int) -> list[int]:
        """The changed rows from ``top`` to ``bottom`` (excluded), in order."""
        rows = self.rows
        return rows[bisect_left(rows, top) : bisect_left(rows, bottom)]

    def __call__(self, y: int) -> bool:
        return y in self.spans


def _partial_update_with_spans(self: Compositor) -> ChopsUpdate | None:
    """``Compositor.render_partial_update`` that tells the chops it renders which columns of each
    row changed, not only which rows (``_render_dirty_rows_only``)."""
    update_regions = self._dirty_regions.copy()
    self._dirty_regions.clear()
    if not update_regions:
        return None
    crop = Region.from_union(update_regions).intersection(self.size.region)
    spans = list(self._regions_to_spans(update_regions))
    chops = self._render_chops(crop, _ChangedRows(spans))
    return ChopsUpdate(chops, spans, [cut_set[1:] for cut_set in self.cuts])


def _render_dirty_rows_only(
    self: Compositor, crop: Region, is_rendered_line: Callable[[int], bool]
) -> list[dict[int, Strip | None]]:
    """``Compositor._render_chops`` that asks each widget for the rows being updated only, and
    only where they changed.

    Textual asks every widget under the box around all the changed regions for all of its rows,
    then keeps the changed ones: a live Charts tab whose charts' bottom borders changed (rows 20
    and 40 of 48) had the page, the tab, the board, its grid and every container render some 40
    rows each, four times a second, to paint a dozen. Widgets are asked for each run of changed
    rows instead, and not for a row the widgets in front of them cover already where it changed
    (the grid behind a row of charts shows in the gaps between them, but the latest values change
    inside the charts; the board's scroll bar beside them did not change either); what they
    paint, and the order in which they cover each other, are Textual's.
    """
    cuts = self.cuts
    chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
    overlaps, intersection = crop.overlaps, Region.intersection
    changed = is_rendered_line if isinstance(is_rendered_line, _ChangedRows) else None
    for widget, (region, clip) in self.visible_widgets.items():  # front to back
        if not overlaps(clip):
            continue
        shown = intersection(region, clip)  # whole rows: the screen's cuts are widget edges
        if not shown.width or not shown.height:
            continue
        first_cut, last_cut = shown.column_span
        top, bottom = max(shown.y, crop.y), min(shown.bottom, crop.bottom)
        if changed is None:
            rows = [
                y
                for y in range(top, bottom)
                if is_rendered_line(y) and not _covered(chops[y], cuts[y], first_cut, last_cut)
            ]
        else:  # the changed rows the widget covers, not every row it covers: a frame paints few
            rows = [
                y
                for y in changed.rows_in(top, bottom)
                if _uncovered(chops[y], cuts[y], first_cut, last_cut, changed.spans[y])
            ]
        for start, stop in _runs(rows):
            strips = widget.render_lines(
                Region(shown.x - region.x, start - region.y, shown.width, stop - start)
            )
            for y, strip in zip(range(start, stop), strips):
                chops_line = chops[y]
                final_cuts = [cut for cut in cuts[y] if last_cut >= cut >= first_cut]
                cut_strips = strip.divide([cut - shown.x for cut in final_cuts[1:]])
                for cut, piece in zip(final_cuts, cut_strips):
                    if chops_line.get(cut) is None:  # the front-most widget's piece wins
                        chops_line[cut] = piece
    return chops


def _uncovered(
    chops_line: dict[int, Strip | None],
    row_cuts: list[int],
    x1: int,
    x2: int,
    spans: list[tuple[int, int]],
) -> bool:
    """Whether a piece of a row between columns ``x1`` and ``x2`` that changed (is in
    ``spans``) has not been painted by the widgets in front."""
    first, last = bisect_left(row_cuts, x1), bisect_left(row_cuts, x2)
    for index in range(first, last):
        cut = row_cuts[index]
        if chops_line.get(cut) is not None:
            continue
        end = row_cuts[index + 1]
        if any(start < end and cut < stop for start, stop in spans):
            return True
    return False


def _covered(chops_line: dict[int, Strip | None], row_cuts: list[int], x1: int, x2: int) -> bool:
    """Whether the widgets in front have painted every piece of a row from column ``x1`` to
    ``x2``."""
    first, last = bisect_left(row_cuts, x1), bisect_left(row_cuts, x2)
    return all(chops_line.get(cut) is not None for cut in row_cuts[first:last])


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """[start, stop) of each run of consecutive numbers in the sorted ``rows``."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row:
            runs[-1] = (runs[-1][0], row + 1)
        else:
            runs.append((row, row + 1))
    return runs


def message_clock() -> float:
    """Now, on the clock that stamps every message's ``time`` (a key's, when it was read)."""
    return get_time()


def read_escape_then_a_key_as_two_keys() -> None:
    """Esc and the key typed right after it (fast, or batched by SSH) reach Textual's parser as
    one sequence. It read Esc and a letter as ``alt+`` the letter, which ``HoldsKeys`` turns back
    into the two keys typed; but Esc and a digit, ``-``, ``=`` or ``§`` as the character macOS
    WezTerm sends for Option and that key (``ESC 5``: ``∞``; a ``£`` typed into a text box), and
    Esc and any other symbol (``ESC /``) as that key alone, the Esc lost. Those table entries are
    dropped, and a symbol read with Esc keeps its ``alt+``, so that every such pair is read as
    Esc and the key. Idempotent. (Exercised in a real terminal by ``tests/test_terminal.py``:
    only a terminal's bytes reach Textual's parser.)"""
    for sequence, key in list(ANSI_SEQUENCES_KEYS.items()):
        if len(sequence) == 2 and sequence[0] == "\x1b" and isinstance(key, str):
            del ANSI_SEQUENCES_KEYS[sequence]
    XTermParser._sequence_to_key_events = _symbol_keeps_its_alt  # type: ignore[method-assign]


_sequence_to_key_events = XTermParser._sequence_to_key_events


def _symbol_keeps_its_alt(
    self: XTermParser, sequence: str, alt: bool = False
) -> Iterator[events.Key]:
    """``XTermParser._sequence_to_key_events`` that names a symbol read after Esc ``alt+`` it,
    as it names a letter or digit (it dropped the alt for a key whose name is a word:
    ``slash``)."""
    for key in _sequence_to_key_events(self, sequence, alt):
        if alt and len(sequence) == 1 and key.character == sequence and "+" not in key.key:
            key = events.Key(f"alt+{key.key}", key.character)
        yield key


def keys_read_from(data: str) -> list[events.Key]:
    """The keys Textual's parser reads from ``data`` arriving at once, and nothing after it
    (tests read it: only a terminal's bytes reach the parser)."""
    parser = XTermParser()
    tokens = [*parser.feed(data), *parser.feed("")]  # "": the end, as the escape delay passing
    return [token for token in tokens if isinstance(token, events.Key)]


def send_changed_cells_only() -> None:
    """Make every screen update send only the cells that differ from what the terminal shows
    (over a slow SSH link, every byte counts), and a partial one render only the rows it
    updates. Idempotent."""
    ChopsUpdate.render_segments = _changed_cells_only  # type: ignore[method-assign]
    LayoutUpdate.render_segments = _full_update_changed_only  # type: ignore[method-assign]
    Compositor._render_chops = _render_dirty_rows_only  # type: ignore[method-assign]
    Compositor.render_partial_update = _partial_update_with_spans  # type: ignore[method-assign]


def next_update(screen: Screen[object], *widgets: Widget, full: bool = False) -> str:
    """What the next screen update would write to the terminal for ``widgets``' pending repaints,
    or for the whole screen (tests read it: there is no public view of it, and a headless app
    writes nothing)."""
    compositor = screen._compositor
    compositor.update_widgets(set(widgets))
    update = compositor.render_update(full=full)
    return "" if update is None else update.render_segments(screen.app.console)


@contextmanager
def frames_written(app: App[object]) -> Iterator[list[str]]:
    """What each screen update made inside the block writes to the terminal, frame by frame
    (tests read it: a headless app writes nothing, and ``App._display`` is where a frame goes)."""
    frames: list[str] = []
    display = app._display

    def recording(screen: Screen[object], renderable: RenderableType | None) -> None:
        if isinstance(renderable, (ChopsUpdate, LayoutUpdate)) and not app._batch_count:
            frames.append(renderable.render_segments(app.console))
        display(screen, renderable)

    app._display = recording  # type: ignore[method-assign]
    try:
        yield frames
    finally:
        del app._display  # the class's own again


def only_rows_dirty(
    widget: Widget, top: int, bottom: int, also: Collection[int] = frozenset()
) -> bool:
    """Whether Textual would draw no row of ``widget`` again outside rows ``top`` to ``bottom``
    (widget coordinates, ``bottom`` excluded) and ``also`` (rows the widget marked itself, which
    the same frame may ask for next): it keeps every other row as it drew it last, styles and
    all. A full refresh (a new theme, focus, a new size) drops them all."""
    cache = widget._styles_cache
    return bool(cache._cache) and all(top <= y < bottom or y in also for y in cache._dirty_lines)


def only_row_dirty(widget: Widget, y: int) -> bool:
    """``only_rows_dirty`` for row ``y`` alone."""
    return only_rows_dirty(widget, y, y + 1)


def drawn_elsewhere(widget: Widget, top: int, bottom: int) -> None:
    """Rows ``top`` to ``bottom`` of ``widget`` were painted without Textual's ``render_lines``:
    what Textual kept of them is out of date, so it forgets them (and draws them itself when next
    asked) instead of keeping them marked as to be drawn again."""
    cache = widget._styles_cache
    for y in range(top, bottom):
        cache._dirty_lines.discard(y)
        cache._cache.pop(y, None)


def drawn_row(widget: Widget, y: int) -> Strip | None:
    """Row ``y`` of ``widget`` as Textual drew it last, before the app's line filters."""
    return widget._styles_cache._cache.get(y)


def set_border_subtitle_quietly(widget: Widget, subtitle: Text | None) -> None:
    """``widget.border_subtitle = subtitle`` without the whole-widget refresh the setter asks for
    (Textual's ``_BorderTitle`` descriptor calls ``refresh()``): the caller refreshes the border
    row alone. The refresh is swallowed by shadowing the method on the instance for the call."""
    widget.refresh = _no_refresh  # type: ignore[method-assign]
    try:
        widget.border_subtitle = subtitle
    finally:
        del widget.refresh


def _no_refresh(*regions: object, **options: object) -> Widget | None:
    return None


def repaint_quietly(widget: Widget, *regions: Region) -> None:
    """``widget.refresh(*regions)`` (regions in content coordinates) without the two messages
    each call costs: ``refresh`` prompts the widget, whose idle handler then posts ``Update`` to
    the screen. A live Charts tab repainted each chart's border row that way at every update,
    two dispatches per chart through the message loop; here the regions are marked dirty and
    the widget is handed to the screen at once, which paints it in its next frame as before.
    A widget not on screen yet is refreshed the usual way."""
    if not widget.is_mounted or not widget.display or not regions:
        widget.refresh(*regions)
        return
    screen = widget.screen
    widget._set_dirty(*regions)
    if screen in screen._compositor:
        screen._dirty_widgets.add(widget)
        screen.check_idle()


def set_cell_quietly(table: DataTable[Text], row: str, column: str, value: Text) -> None:
    """``table.update_cell(row, column, value, update_width=True)``, repainting that row alone
    when the value fits its column.

    ``DataTable.update_cell`` bumps the table's update count, which every cache of rendered
    cells, rows and lines is keyed by, and refreshes the whole table: a live summary whose
    values change four times a second rendered every cell of every row again, through Rich,
    each time (most of a live Overview's CPU in py-spy). Here only the caches of the changed
    cell, its row's cells and that row's lines are dropped. A wider value widens its column at
    once, and the whole table is drawn again (Textual measures it only once idle, after painting
    the row cut)."""
    row_key, column_key = RowKey(row), ColumnKey(column)
    index = table._row_locations.get(row_key)
    column_ = table.columns.get(column_key)
    if index is None or column_ is None:
        table.update_cell(row, column, value, update_width=True)  # raises CellDoesNotExist
        return
    table._data[row_key][column_key] = value
    if value.cell_len > column_.content_width:
        column_.content_width = value.cell_len
        table._update_count += 1  # every cache out of date: the column widths moved
        table._require_update_dimensions = True  # the table's virtual size, once idle
        table.refresh()
        return
    cells, rows, lines = table._cell_render_cache, table._row_render_cache, table._line_cache
    renderables = table._row_renderable_cache  # (update count, row index): the row's cells
    for key in [key for key in renderables.keys() if key[1] == index]:
        renderables.discard(key)
    for key in [key for key in cells.keys() if key[0] == row_key and key[1] == column_key]:
        cells.discard(key)
    for key in [key for key in rows.keys() if key[0] == row_key]:
        rows.discard(key)
    header = table.header_height if table.show_header else 0
    ys = {header + y for y, (key, _line) in enumerate(table._y_offsets) if key == row_key}
    for key in [key for key in lines.keys() if key[0] in ys]:
        lines.discard(key)
    table.refresh_row(index)
