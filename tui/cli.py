"""The ``runview`` command: open a run, a table of runs or a comparison, print facts, or start the
demo."""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
import threading
from pathlib import Path

from runview.store.run_dirs import NotARunError, check_run_dir, is_run_dir, read_title
from runview.tui.tabs import TAB_NAMES

EXIT_USAGE = 2
# The viewer starts with the cyclic garbage collector paused for this long: the start allocates
# Textual, the page and its first charts and frees almost nothing, so the collector's passes over
# the growing heap (a full collection among them) cost the first charts CPU and find nothing.
START_WITHOUT_GC_S = 2.0

USAGE = """\
runview [ROOT]               the table of the runs under ROOT ($RUNVIEW_DIR or ./runs by default)
runview ROOT/PROJECT         the table of one project's runs
runview RUN [--tab TAB]      the run page of the run directory RUN
runview RUN RUN ...          the runs compared: charts overlaid, what differs
runview info PATH [--json]   a run's facts, or the runs under a root or project, without a UI
runview demo [--steps N]     start a small real training run and watch it live
runview gc ROOT [--delete]   list (or remove) what ROOT's artifact store no longer needs
"""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("runview")
    except Exception:
        return "unknown"


class _PrintVersion(argparse.Action):
    """``--version``, looked up only when asked: ``importlib.metadata`` would add ~25 ms to every
    start of the viewer."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, help="show the version")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"runview {_version()}")
        parser.exit()


def _open_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runview",
        usage=USAGE,
        description="A terminal run page for ML training runs.",
        epilog="Keys inside the viewer: ? lists them; backspace goes back; q quits.",
    )
    parser.add_argument(
        "paths",
        type=Path,
        nargs="*",
        help="a run directory (runs/<project>/<time>-<id>), several to compare, or a root or "
        "project folder for the table of its runs",
    )
    parser.add_argument("--tab", choices=TAB_NAMES, default="overview", help="the tab to open on")
    parser.add_argument("--version", action=_PrintVersion)
    return parser


def default_root() -> Path:
    """Where runs are written unless told otherwise (``runview.init``'s default)."""
    return Path(os.environ.get("RUNVIEW_DIR") or "runs")


def _usage_error(message: str) -> int:
    print(f"runview: {message}", file=sys.stderr)
    return EXIT_USAGE


def _folder(path: Path) -> Path | None:
    """``path`` resolved when it is a folder to list runs from; None (said on stderr) if not."""
    what = "a run, a project folder or a root of runs"
    if not path.exists():
        _usage_error(f"{path}: no such directory ({what})")
    elif not path.is_dir():
        _usage_error(f"{path}: not a directory ({what})")
    elif not os.access(path, os.R_OK | os.X_OK):
        _usage_error(f"{path}: permission denied")
    else:
        return path.resolve()
    return None


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
    paths: list[Path] = options.paths or [default_root()]
    if not options.paths and not paths[0].exists():  # a first try, in a folder with no runs
        return _usage_error(
            f"no runs here: {paths[0]} does not exist (runview.init writes under ./runs, or "
            "$RUNVIEW_DIR); give a run or a folder of runs, or try: runview demo"
        )
    if len(paths) > 1:
        try:
            runs = [check_run_dir(path) for path in paths]
        except NotARunError as exc:
            return _usage_error(f"{exc}; several paths are compared, and each must be a run")
        return _open(compare=runs, tab=options.tab)
    if is_run_dir(paths[0]):
        try:
            return _open(run=check_run_dir(paths[0]), tab=options.tab)
        except NotARunError as exc:
            return _usage_error(str(exc))
    folder = _folder(paths[0])
    return EXIT_USAGE if folder is None else _open(table=folder)


def _open(
    run: Path | None = None,
    table: Path | None = None,
    compare: list[Path] | None = None,
    tab: str = "overview",
) -> int:
    pause_gc(START_WITHOUT_GC_S)
    from runview.tui.app import RunviewApp
    from runview.tui.terminal import follow_the_real_terminal_size

    follow_the_real_terminal_size()
    # Read here, before Textual starts, so that the page's first frame is headed with it.
    title = None if run is None else read_title(run)
    app = RunviewApp(run, tab=tab, table=table, compare=compare or (), run_title=title)
    app.run()
    # A crash inside the app has been shown by Textual already; the exit status must say it too.
    return app.return_code or 0


def pause_gc(seconds: float) -> None:
    """No cyclic garbage collection for ``seconds`` from now (reference counting frees as ever)."""
    gc.disable()
    resume = threading.Timer(seconds, gc.enable)
    resume.daemon = True
    resume.start()


def _info(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="runview info",
        description="Print a run's facts, or list the runs under a root or project, without a UI.",
    )
    parser.add_argument("path", type=Path, help="a run, a project folder or a root of runs")
    parser.add_argument("--json", action="store_true", help="one JSON document, for scripts")
    options = parser.parse_args(args)
    # `runview info ... | head` closes the pipe early: end quietly, as cat or grep would.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if not is_run_dir(options.path):
        return _info_listing(options.path, options.json)
    try:
        path = check_run_dir(options.path)
    except NotARunError as exc:
        return _usage_error(str(exc))
    from runview.store.reader import RunReader
    from runview.tui.info import print_info, run_facts

    document = run_facts(path, RunReader(path).refresh())
    if options.json:
        _print_json(document)
    else:
        print_info(document)
    sys.stdout.flush()
    return 0


def _info_listing(path: Path, as_json: bool) -> int:
    """The runs under a root or project folder: the run table's fields; nothing written anywhere."""
    folder = _folder(path)
    if folder is None:
        return EXIT_USAGE
    from runview.store.run_scan import RunScanner
    from runview.tui.info_runs import listing_facts, print_listing

    scanner = RunScanner(folder)  # reads the row cache, never writes it
    rows = scanner.read_all()
    document = listing_facts(folder, rows, scanner.problems)
    if as_json:
        _print_json(document)
    else:
        print_listing(document, rows)
    sys.stdout.flush()
    return 0


def _print_json(document: object) -> None:
    json.dump(document, sys.stdout, indent=2, default=str, allow_nan=True)
    sys.stdout.write("\n")
