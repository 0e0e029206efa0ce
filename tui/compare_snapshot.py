"""What a comparison's tabs are given: the compared runs' snapshots and how they are shown together.

Run ``i`` (in the order the runs were marked) is numbered ``i + 1`` and drawn in ``run_color(i)``
everywhere: the table's mark column, the legend, every chart. Hidden runs are left out of the
charts and tables; runs whose configs differ only in the grouping keys are drawn as one group
(their mean and min-max band), in the colour of its first run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from runview.store.reader import RunSnapshot
from runview.store.run_compare import config_groups


@dataclass(frozen=True, eq=False)
class CompareSnapshot:
    """Immutable: built on the UI thread from the reader worker's snapshots and the user's
    choices."""

    runs: tuple[RunSnapshot, ...]
    hidden: frozenset[int] = field(default_factory=frozenset)
    group_by: tuple[str, ...] = ()
    version: int = 0

    @property
    def shown(self) -> list[int]:
        return [i for i in range(len(self.runs)) if i not in self.hidden]

    @cached_property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        """The shown runs, grouped over ``group_by`` (each run alone when it is empty)."""
        shown = self.shown
        grouped = config_groups([self.runs[i].config for i in shown], self.group_by)
        return tuple(tuple(shown[j] for j in members) for members in grouped)

    @cached_property
    def project(self) -> str:
        """The project every run belongs to, or "" for runs of several projects."""
        projects = {str(run.meta.get("project") or "") for run in self.runs}
        return projects.pop() if len(projects) == 1 else ""

    @property
    def meta(self) -> dict[str, Any]:
        # What a chart tab reads to find the project whose saved layout it uses.
        return {"project": self.project}

    def label(self, index: int) -> str:
        return f"{index + 1} {self.runs[index].name}"

    def group_label(self, members: tuple[int, ...]) -> str:
        if len(members) == 1:
            return self.label(members[0])
        numbers = ",".join(str(i + 1) for i in members)
        return f"{numbers} {self.runs[members[0]].name} (mean of {len(members)})"
