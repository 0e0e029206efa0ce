"""Each page's, tab's and dialog's styles, added to the app's stylesheet when it is first built.

``runview.tcss`` (the app's ``CSS_PATH``) holds what every run page shows: its header, tab bar
and progress row. The rest is in ``styles/<name>.tcss``, one file per screen, tab or panel, named
by the class's ``STYLES``. Textual parses its whole stylesheet before the first frame and matches
every widget it styles against all of it: a run opened on its Charts tab no longer pays for the
styles of the table of runs, the Logs tab or the chart editor (docs/benchmarks.md).

A sheet is added before the widgets it styles are mounted, so they are styled with it as they
are registered; it styles only them (and the screen or tab that loads it), never a widget that
was on screen before it.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App

STYLE_DIR = Path(__file__).resolve().parent / "styles"


def use_styles(app: App[object], owner: type) -> None:
    """Add the sheets ``owner.STYLES`` names to ``app``'s stylesheet, once each."""
    stylesheet = app.stylesheet
    for name in getattr(owner, "STYLES", ()):
        path = STYLE_DIR / f"{name}.tcss"
        if not stylesheet.has_source(str(path), ""):
            # add_source, not read: read leaves the rules looked up by type, class and id as
            # they were (Textual reparses the whole stylesheet after it, for a screen's CSS_PATH).
            stylesheet.add_source(path.read_text(encoding="utf-8"), read_from=(str(path), ""))
