"""The ``runview`` command: open a run, print its facts, or start the demo."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from runview.store.reader import NotARunError, RunReader, check_run_dir, is_run_dir
from runview.tui.tabs import TAB_NAMES

EXIT_USAGE = 2

USAGE = """\
runview PATH [--tab TAB]     open the run page of the run directory PATH
runview info PATH [--json]   print a run's metadata, status, config and summary
runview demo [--steps N]     start a small real training run and watch it live
runview gc ROOT [--delete]   list (or remove) what ROOT's artifact store no longer needs
"""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("runview")
    except Exception:
        return "unknown"


def _open_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runview",
        usage=USAGE,
        description="A terminal run page for ML training runs.",
        epilog="Keys inside the viewer: 1-7 switch tabs, [ ] previous/next, ? help, q quit.",
    )
    parser.add_argument("path", type=Path, help="a run directory (runs/<project>/<time>-<id>)")
    parser.add_argument("--tab", choices=TAB_NAMES, default="overview", help="the tab to open on")
    parser.add_argument("--version", action="version", version=f"runview {_version()}")
    return parser


def _not_a_run(path: Path, error: NotARunError) -> int:
    """One line: what is wrong, and the newest run below ``path`` when it is a root or a project."""
    message = f"runview: {error}"
    if path.is_dir():
        runs = sorted(
            (
                p
                for pattern in ("*", "*/*")
                for p in path.glob(pattern)
                if not any(part.startswith(".") for part in p.relative_to(path).parts)
                and is_run_dir(p)
            ),
            key=lambda p: p.name,
        )
        if runs:
            newest = runs[-1]
            message += f"; it holds {len(runs)} run(s), the newest: runview {newest}"
    print(message, file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "info":
        return _info(args[1:])
    if args and args[0] == "gc":
        from runview.tui.gc_command import main as gc_main

        return gc_main(args[1:])
    if args and args[0] == "demo":
        from runview.tui.demo import main as demo_main

        return demo_main(args[1:])
    options = _open_parser().parse_args(args)
    try:
        path = check_run_dir(options.path)
    except NotARunError as exc:
        return _not_a_run(options.path, exc)
    from runview.tui.app import RunviewApp
    from runview.tui.terminal import follow_the_real_terminal_size

    follow_the_real_terminal_size()
    app = RunviewApp(path, tab=options.tab)
    app.run()
    # A crash inside the app has been shown by Textual already; the exit status must say it too.
    return app.return_code or 0


def _info(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="runview info", description="Print a run's facts without a UI."
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--json", action="store_true", help="one JSON document, for scripts")
    options = parser.parse_args(args)
    try:
        path = check_run_dir(options.path)
    except NotARunError as exc:
        return _not_a_run(options.path, exc)
    snapshot = RunReader(path).refresh()
    from runview.tui.info import print_info, run_facts

    document = run_facts(path, snapshot)
    # `runview info ... | head` closes the pipe early: end quietly, as cat or grep would.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if options.json:
        json.dump(document, sys.stdout, indent=2, default=str, allow_nan=True)
        sys.stdout.write("\n")
    else:
        print_info(document)
    sys.stdout.flush()
    return 0
