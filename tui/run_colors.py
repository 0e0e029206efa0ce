"""One colour per compared run, the same in the table's mark column and in the overlaid charts.

Colours are xterm-256 codes, which both rich (``color(N)``) and plotext (an int) draw. Runs are
numbered in the order they were marked; the number is shown beside the colour, so a run is still
told apart without colour (``NO_COLOR``) and when more runs than colours are compared.
"""

from __future__ import annotations

# Chosen to be told apart on dark and light backgrounds: bright hues first, then mid tones.
RUN_COLORS = (
    12,  # blue
    208,  # orange
    10,  # green
    9,  # red
    13,  # magenta
    14,  # cyan
    11,  # yellow
    141,  # purple
    39,  # sky blue
    118,  # chartreuse
    197,  # deep pink
    214,  # gold
    45,  # turquoise
    99,  # slate blue
    172,  # dark orange
    40,  # green
    205,  # hot pink
    33,  # dodger blue
    190,  # lime
    160,  # crimson
    37,  # teal
    135,  # violet
    220,  # amber
    81,  # light blue
)


def run_color(index: int) -> int:
    """The xterm-256 colour of the run numbered ``index`` (from 0)."""
    return RUN_COLORS[index % len(RUN_COLORS)]


def run_style(index: int) -> str:
    """The rich style of that colour."""
    return f"bold color({run_color(index)})"
