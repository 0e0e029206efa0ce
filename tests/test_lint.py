"""Static checks over the whole tree: the pinned lint rules and the formatter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def ruff() -> list[str]:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (it is in the test extra)")
    return [found]


def test_the_whole_tree_passes_the_linter() -> None:
    # The rules are pinned in pyproject.toml: TID251 (`import store` works by accident from the
    # repo root and breaks once installed), pyflakes, pycodestyle with the 100-column limit,
    # import order, pyupgrade and bugbear, over shipped code, tests and benchmarks alike.
    result = subprocess.run(
        [*ruff(), "check", "--output-format", "concise", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_whole_tree_is_formatted() -> None:
    result = subprocess.run(
        [*ruff(), "format", "--check", "."], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, "run `ruff format .`\n" + result.stdout + result.stderr
