"""One module per run-page tab; ``TABS`` gives their order, keys 1-7 follow it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line reads TAB_NAMES before anything heavy is imported
    from runview.tui.tabs.base import RunTab

# (name used by --tab, title, module, class)
TABS: tuple[tuple[str, str, str, str], ...] = (
    ("overview", "Overview", "overview", "OverviewTab"),
    ("charts", "Charts", "charts", "ChartsTab"),
    ("system", "System", "system", "SystemTab"),
    ("model", "Model", "model", "ModelTab"),
    ("logs", "Logs", "logs", "LogsTab"),
    ("files", "Files", "files", "FilesTab"),
    ("artifacts", "Artifacts", "artifacts", "ArtifactsTab"),
)
TAB_NAMES = tuple(name for name, *_ in TABS)


def load_tab(name: str) -> type[RunTab]:
    """The tab class for ``name``, imported on first use so heavy tabs cost nothing until opened."""
    for tab_name, _title, module, cls in TABS:
        if tab_name == name:
            return getattr(importlib.import_module(f"runview.tui.tabs.{module}"), cls)
    raise KeyError(name)
