"""``runview info ROOT``: the runs under a root or a project, as JSON for scripts or as a table.

The fields are the run table's (``RunRow.to_json``); the shape is documented in the README.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO, Any

from runview.store.run_row import RunRow


def listing_facts(target: Path, rows: list[RunRow], problems: tuple[str, ...]) -> dict[str, Any]:
    """The document ``runview info ROOT --json`` prints: newest run first."""
    now = time.time()
    ordered = sorted(rows, key=lambda row: (row.started or 0.0, row.key), reverse=True)
    return {
        "path": str(target),
        "runs": [row.to_json(now) for row in ordered],
        "problems": list(problems),
    }


def print_listing(document: dict[str, Any], rows: list[RunRow], out: IO[str] | None = None) -> None:
    """One line per run with the table's automatic columns; whole lines, unpadded, in a pipe."""
    from rich.table import Table
    from rich.text import Text

    from runview.store.run_columns import auto_columns, column
    from runview.tui.info import print_blocks
    from runview.tui.run_cells import cell_text

    out = out or sys.stdout
    by_key = {row.key: row for row in rows}
    ordered = [by_key[run["path"]] for run in document["runs"]]
    columns = [c for c in (column(i) for i in auto_columns(ordered)) if c is not None]
    table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False)
    for col in columns:
        table.add_column(Text(col.title), no_wrap=True, overflow="ellipsis", max_width=40)
    now = time.time()
    for row in ordered:
        table.add_row(*(cell_text(col, row, now) for col in columns))
    blocks: list[Any] = [table] if ordered else [Text(f"no runs under {document['path']}")]
    blocks += [Text(f"! {problem}", style="yellow") for problem in document["problems"]]
    blocks += [
        Text(f"! {row.name}: {'; '.join(row.problems)}", style="yellow")
        for row in ordered
        if row.problems
    ]
    print_blocks(blocks, out)
