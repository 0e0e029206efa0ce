"""Static checks that guard the package layout: no bare folder imports, no undefined names."""

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


def test_no_bare_folder_imports_and_no_pyflakes_errors() -> None:
    # TID251: `import store` works by accident from the repo root and breaks once installed;
    # F: undefined names, unused imports and the like, in shipped code.
    result = subprocess.run(
        [*ruff(), "check", "--select", "F,TID251", "--output-format", "concise",
         "runview", "store", "collectors", "tui"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
