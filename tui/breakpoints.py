"""Terminal sizes where the run page's layout changes, as the classes Textual's breakpoints set on
the page; the style sheets (``runview.tcss``, ``styles/``) lay the page out by them."""

from __future__ import annotations

# From this many columns, a chart grid in "auto" columns shows this many charts side by side.
AUTO_COLUMNS = ((0, 1), (100, 2), (160, 3))
# From this many rows, two rows of charts fit on screen (below it, one); from VERY_TALL, charts
# stop growing (24 rows each).
TALL, VERY_TALL = 35, 60

HORIZONTAL = [(width, f"-auto-columns-{columns}") for width, columns in AUTO_COLUMNS]
VERTICAL = [(0, "-short"), (TALL, "-tall"), (VERY_TALL, "-very-tall")]


def auto_columns(width: int) -> int:
    """Chart columns in "auto" for a terminal ``width`` cells wide (what the page's class says)."""
    return max(columns for least, columns in AUTO_COLUMNS if width >= least)
