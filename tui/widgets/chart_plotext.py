"""A chart plan drawn by plotext 5: the reference the rasteriser matches, and its fallback."""

from __future__ import annotations

from rich.text import Text

from runview.tui.widgets.chart_plan import ChartPlan


def plotext_draw(plan: ChartPlan) -> str | Text:
    """plotext's drawing of ``plan`` (text with ANSI styles, a newline after each row), or a
    Text saying why there is none. Uses plotext's global figure: UI thread only."""
    import plotext as plt  # only when a chart needs it: importing plotext costs ~0.1 s

    plt.clf()
    plt.theme("clear")
    plt.frame(False)  # the widget's border is the frame
    plt.plotsize(plan.width, plan.height)
    for line in plan.lines:
        plt.plot(
            line.x.tolist(), line.y.tolist(), color=line.color, marker=line.marker, label=line.label
        )
    if plan.x_lim is not None:
        plt.xlim(*plan.x_lim)
    plt.xticks(plan.x_ticks, plan.x_labels)
    if plan.log_y:
        plt.yscale("log")
    if plan.y_lim is not None:
        plt.ylim(*plan.y_lim)
    if plan.y_ticks is not None:
        plt.yticks(plan.y_ticks, plan.y_labels)
    if plan.cursor is not None:
        plt.vline(*plan.cursor)
    if plan.x_label is not None:
        plt.xlabel(plan.x_label)
    try:
        return plt.build()
    except Exception as exc:  # plotext has corner cases; a chart must never take the app down
        return Text(f"cannot draw this chart: {exc}", style="dim")
