"""``runview gc ROOT [--delete]``: list (or remove) what a root's artifact store no longer needs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runview.store.artifact_gc import MIN_AGE_S, GcReport, Leftover, collect, find_store_root, scan
from runview.tui.format import format_bytes

EXIT_USAGE = 2


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="runview gc",
        description="List blobs no artifact version references and the leftovers of "
        "interrupted writes in ROOT/.artifacts; --delete removes those older than an hour.",
    )
    parser.add_argument("root", type=Path, help="a root of runs (the folder holding .artifacts)")
    parser.add_argument(
        "--delete", action="store_true", help="remove what is listed and older than an hour"
    )
    options = parser.parse_args(args)
    root = find_store_root(options.root)
    if root is None:
        print(f"runview gc: {options.root}: no artifact store (.artifacts) here", file=sys.stderr)
        return EXIT_USAGE
    report = collect(root) if options.delete else scan(root)
    print(render(report, deleting=options.delete))
    return 1 if report.busy else 0


def render(report: GcReport, *, deleting: bool) -> str:
    """The report as plain lines, one per leftover, then what was (or would be) done."""
    lines = []
    total = sum(item.size for item in report.leftovers)
    lines.append(
        f"{report.root}: {len(report.leftovers)} item(s), {format_bytes(total)}"
        + ("" if report.leftovers else " — nothing to collect")
    )
    removed = {item.path for item in report.removed}
    for item in report.leftovers:
        lines.append("  " + _line(item, report.root, removed, deleting, report.blobs_safe))
    for problem in report.problems:
        lines.append(f"  ! {problem}")
    if report.in_use:
        lines.append(f"  {report.in_use} staging folder(s) of running processes left alone")
    if report.busy:
        lines.append("writers kept the store busy; nothing was deleted — try again later")
    elif deleting:
        freed = sum(item.size for item in report.removed)
        kept = len(report.leftovers) - len(report.removed)
        lines.append(
            f"removed {len(report.removed)} ({format_bytes(freed)}); kept {kept} "
            f"(younger than {MIN_AGE_S / 3600:g} h, in use, or unsafe)"
        )
    elif report.leftovers:
        old = sum(1 for item in report.leftovers if not item.young)
        lines.append(f"run with --delete to remove the {old} older than {MIN_AGE_S / 3600:g} h")
    return "\n".join(lines)


def _line(item: Leftover, root: Path, removed: set[Path], deleting: bool, blobs_safe: bool) -> str:
    where = item.path.relative_to(root) if item.path.is_relative_to(root) else item.path
    note = ""
    if item.young:
        note = "  (younger than 1 h: kept)"
    elif not blobs_safe and item.kind.startswith("unreferenced"):
        note = "  (kept: a manifest is unreadable)"
    elif deleting:
        note = "  removed" if item.path in removed else "  (could not remove)"
    return f"{item.kind:<38} {format_bytes(item.size):>10}  {_age(item.age_s):>9}  {where}{note}"


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min old"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h old"
    return f"{seconds / 86400:.0f} d old"
