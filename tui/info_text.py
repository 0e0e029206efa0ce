"""``runview info`` as plain, sanitised text for a terminal or a pipe."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from runview.tui.safe_text import safe_text
from runview.tui.widgets.kv_table import flatten, format_value
from runview.tui.widgets.status_badge import format_duration


def print_info(document: dict[str, Any]) -> None:
    console = Console(highlight=False)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    meta = document["meta"]
    for label, value in (
        ("name", document["name"]),
        ("project", document["project"]),
        ("id", document["id"]),
        (
            "status",
            document["status"]
            + ("" if document["reason"] == document["status"] else f" — {document['reason']}"),
        ),
        ("exit code", document["exit_code"]),
        ("runtime", format_duration(document["runtime"])),
        ("steps", document["steps"]),
        ("host", meta.get("host")),
        ("command", " ".join(str(a) for a in meta.get("argv") or [])),
        ("git", (meta.get("git") or {}).get("commit")),
        ("path", document["path"]),
    ):
        if value not in (None, ""):
            head.add_row(Text(label), safe_text(value))
    console.print(head)
    for title in ("config", "summary"):
        values = flatten(document[title])
        if not values:
            continue
        table = Table(
            title=title, title_justify="left", show_header=False, box=None, padding=(0, 2)
        )
        table.add_column(style="bold")
        table.add_column()
        for key, value in sorted(values.items()):
            table.add_row(safe_text(key), safe_text(format_value(value)))
        console.print(table)
    for problem in document["problems"]:
        console.print(safe_text(f"! {problem}", style="yellow"))
