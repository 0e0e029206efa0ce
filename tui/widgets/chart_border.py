"""A chart's bottom border row with new latest values, spliced from the row Textual last drew.

The latest values change at every live update, four times a second, in every chart on screen;
Textual draws a border row again from the widget's whole style context each time (its
backgrounds up the DOM, the theme, the title's and subtitle's styles, the label through
``Content``), about half a millisecond a chart. Between two such drawings nothing but the
values moves: the corners, the edge and the style each part of the values is painted in stay
the same. So the row Textual drew last is kept, with the painted style of each style the values
use (``dim`` for "last", a series' colour, bold); a new row is those corners and that edge
around the new values, right-aligned as Textual aligns a subtitle. Anything the kept row cannot
say exactly (a style it has not seen, a label Textual would cut short, a wide or control
character) is left to Textual, which draws it and is learnt from again.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

Key = tuple[object, ...]  # the styles over a label cell, in the order Text applies them


class BorderRow:
    """The bottom border row of one widget whose subtitle is right-aligned between two corners
    (a ``round`` or ``heavy`` border all round), learnt from the rows Textual draws."""

    def __init__(self) -> None:
        self._context: object = None  # what the kept row was drawn for (``learn``'s ``context``)
        self._width = 0
        self._left: Segment | None = None  # the left corner
        self._edge: Segment | None = None  # one cell of the edge
        self._right: list[Segment] = []  # the edge's last cell and the right corner
        self._styles: dict[Key, Style] = {}  # the styles over a cell -> its painted style

    def forget(self) -> None:
        self._context, self._left, self._styles = None, None, {}

    def learn(self, row: Strip, subtitle: Text | None, context: object) -> None:
        """Keep ``row``, the bottom border Textual drew with ``subtitle`` for ``context`` (the
        widget's size and visual style): its corners, its edge and the painted style of each of
        ``subtitle``'s styles."""
        if context != self._context:
            self.forget()
            self._context = context
        cells = _cells(row)
        width = len(cells)
        if width != row.cell_length or width < 6:
            self.forget()  # wide characters: not a row to splice
            return
        label = _label_cells(subtitle, width)
        if label is None and subtitle is not None and subtitle.plain:
            return  # drawn, but not as this splices: nothing learnt
        start = width - 2 - (len(label) if label else 0)
        painted = cells[start : width - 2]
        if label is not None:
            if [char for char, _style in painted] != [char for char, _key in label]:
                self.forget()  # not laid out as expected (another alignment, a filter)
                return
            for (_char, key), (_same, style) in zip(label, painted):
                self._styles[key] = style  # type: ignore[assignment]
        edges = {cell for cell in cells[1:start] + cells[width - 2 : width - 1]}
        if len(edges) != 1:
            self.forget()  # not one edge character in one style
            return
        self._width = width
        (edge,) = edges
        self._left = Segment(*cells[0])
        self._edge = Segment(*edge)
        self._right = [Segment(*cells[width - 2]), Segment(*cells[width - 1])]

    def draw(self, subtitle: Text, context: object) -> Strip | None:
        """The row with ``subtitle`` right-aligned in it, as Textual would draw it; None when the
        kept row cannot tell (Textual must draw it)."""
        left, edge = self._left, self._edge
        if left is None or edge is None or context != self._context:
            return None
        label = _label_cells(subtitle, self._width)
        if label is None:
            return None
        styles = self._styles
        segments = [left, Segment(edge.text * (self._width - 3 - len(label)), edge.style)]
        run_text, run_style = "", None
        for char, key in label:
            style = styles.get(key)
            if style is None:
                return None  # a style not seen yet
            if style is run_style or style == run_style:
                run_text += char
                continue
            if run_text:
                segments.append(Segment(run_text, run_style))
            run_text, run_style = char, style
        segments.append(Segment(run_text, run_style))
        segments.extend(self._right)
        return Strip(segments, self._width)


_PAD: Key = (object(),)  # the blank Textual puts either side of a label


def _label_cells(subtitle: Text | None, width: int) -> list[tuple[str, Key]] | None:
    """(character, style key) of each cell of the label Textual draws for ``subtitle`` in a
    bottom border ``width`` wide: a blank, the text, a blank; None where it would not be just
    that (nothing to draw, cut short, wide or control characters)."""
    if subtitle is None or not subtitle.plain:
        return None
    plain = subtitle.plain
    if len(plain) > width - 6 or not plain.isprintable() or cell_len(plain) != len(plain):
        return None
    base: Key = (subtitle.style,) if subtitle.style else ()
    keys: list[Key] = [base] * len(plain)
    for span in subtitle.spans:
        for i in range(max(0, span.start), min(len(plain), span.end)):
            keys[i] = (*keys[i], span.style)
    return [(" ", _PAD), *zip(plain, keys), (" ", _PAD)]


class SideBorders:
    """The left and right border cells of a widget's content rows, learnt from a row Textual
    drew: a new row of the drawing is those cells around the drawing's own strip, filtered as
    Textual filters it, where Textual would compute the whole style context again."""

    def __init__(self) -> None:
        self._context: object = None
        self._left: Segment | None = None
        self._right: Segment | None = None
        self._filters: tuple[object, ...] = ()
        self._background: object = None

    def learn(
        self,
        drawn: Strip,
        content: Strip,
        context: object,
        filters: tuple[object, ...],
        background: object,
    ) -> None:
        """Keep the sides of ``drawn``, a content row as Textual drew it before its line filters,
        if it is ``content`` between them and nothing else (no padding, tint or opacity)."""
        cells = _cells(drawn)
        if len(cells) < 3 or cells[1:-1] != _cells(content):
            self._context = None  # drawn otherwise than this splices
            return
        self._context, self._filters, self._background = context, filters, background
        self._left, self._right = Segment(*cells[0]), Segment(*cells[-1])

    def row(self, content: Strip, context: object, filters: tuple[object, ...]) -> Strip | None:
        """``content`` between the sides, as Textual would paint it; None when not known."""
        left, right = self._left, self._right
        if left is None or right is None or context != self._context or filters != self._filters:
            return None
        strip = Strip([left, *content, right], content.cell_length + 2)
        for line_filter in filters:
            strip = strip.apply_filter(line_filter, self._background)  # type: ignore[arg-type]
        return strip


def _cells(strip: Strip) -> list[tuple[str, Style | None]]:
    return [(char, style) for text, style, control in strip if not control for char in text]
