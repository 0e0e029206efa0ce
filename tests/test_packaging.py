"""Packaging: the mapped folders install as runview.*, and the logger stays light."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("textual", "rich", "plotext")


def python(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.mark.parametrize(
    "module",
    [
        "runview",
        "runview.store.reader",
        "runview.store.writer",
        "runview.collectors.host",
        "runview.collectors.sampler",
        "runview.collectors.console",
        "runview.collectors.model",
    ],
)
def test_logger_side_never_imports_the_viewer_stack(module: str, tmp_path: Path) -> None:
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = python("-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_wheel_contains_and_imports_every_module(tmp_path: Path) -> None:
    built = python(
        "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)
    )
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("runview-*.whl"))
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(target)
    assert "runview/tui/runview.tcss" in names and "runview/py.typed" in names
    sheets = {f"runview/tui/styles/{p.name}" for p in (REPO / "tui" / "styles").glob("*.tcss")}
    assert sheets and sheets <= set(names), sorted(sheets - set(names))
    sources = [
        p
        for p in REPO.glob("*/**/*.py")
        if p.parts[len(REPO.parts)] in ("runview", "store", "collectors", "tui")
    ]
    prefix = {
        "runview": "runview",
        "store": "runview/store",
        "collectors": "runview/collectors",
        "tui": "runview/tui",
    }
    expected = {
        f"{prefix[p.relative_to(REPO).parts[0]]}/{'/'.join(p.relative_to(REPO).parts[1:])}"
        for p in sources
    }
    assert expected <= set(names), sorted(expected - set(names))
    modules = sorted(
        n[:-3].replace("/", ".").removesuffix(".__init__")
        for n in names
        if n.endswith(".py") and "__main__" not in n
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(target)!r}), (name, module.__file__)\n"
        "print(len(sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = python("-P", "-c", code, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_normal_install_works_from_inside_the_clone(tmp_path: Path) -> None:
    """Python started inside the clone imports its ``runview/`` folder, not the installed one.

    The folder holds only the facade; the subpackages must still be found (they sit beside it),
    or ``import runview.store`` and the demo's ``python -m runview.examples.spirals`` fail there.
    """
    site = tmp_path / "site"
    built = python(
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        str(site),
        str(REPO),
    )
    assert built.returncode == 0, built.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = (
        "import runview.store.reader, runview.collectors.host, runview.tui.cli; "
        "print(runview.store.reader.__file__)"
    )
    result = python("-c", code, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(REPO / "store" / "reader.py")
    example = python("-m", "runview.examples.spirals", "--help", cwd=REPO, env=env)
    assert example.returncode == 0, example.stderr[-2000:]
    assert "--steps" in example.stdout


def imported_after(code: str, modules: tuple[str, ...], cwd: Path) -> str:
    """Which of ``modules`` a fresh interpreter has imported once ``code`` ran (comma-separated)."""
    check = f"import sys\n{code}print(','.join(m for m in {modules!r} if m in sys.modules))\n"
    result = python("-c", check, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_run_imports_nothing_heavy_into_the_training_process(tmp_path: Path) -> None:
    """numpy (columns are built by the helper process), OpenSSL (``secrets``, ``hashlib``) and
    ``importlib.metadata`` cost a training process megabytes; logging plain scalars needs none."""
    code = (
        "import runview\n"
        f"run = runview.init(project='p', dir={str(tmp_path)!r}, quiet=True)\n"
        "run.log({'loss': 0.5, 'acc': 1})\n"
        "run.finish()\n"
    )
    heavy = ("numpy", "_hashlib", "importlib.metadata", "textual", "rich", "plotext")
    assert imported_after(code, heavy, tmp_path) == ""


def test_the_run_pages_first_frame_imports_nothing_it_does_not_show(tmp_path: Path) -> None:
    """Start-up: what the page and its Overview import on the UI thread before the first frame.

    numpy (with the reader), plotext (charts), psutil and watchdog (liveness, watching) are
    imported by the page's reader worker, after the skeleton and the run's name are on screen.
    """
    code = (
        "import runview.tui.cli, runview.tui.app, runview.tui.run_page\n"
        "import runview.tui.tabs.overview\n"
    )
    heavy = ("numpy", "plotext", "psutil", "watchdog", "runview.store.reader")
    assert imported_after(code, heavy, tmp_path) == ""
