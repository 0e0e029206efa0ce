"""``runview demo``: a job that cannot start says why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_job_that_fails_to_start_shows_its_error(tmp_path: Path) -> None:
    # A folder named runview/ holding only an __init__.py shadows the package for the job, as an
    # old checkout's facade once did: the job dies on import, before its run exists.
    shadow = tmp_path / "work"
    (shadow / "runview").mkdir(parents=True)
    (shadow / "runview" / "__init__.py").write_text("")
    code = "from runview.tui.cli import main; raise SystemExit(main(['demo', '--dir', 'runs']))"
    # -P: the viewer itself imports the real runview; the job it starts sees the shadow.
    result = subprocess.run(
        [sys.executable, "-P", "-c", code], cwd=shadow, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "the training job did not start" in result.stderr
    # What the job printed before it died comes with it (which error depends on the install).
    said = result.stderr.split("its error output:", 1)[-1]
    assert "Traceback" in said and "Error" in said.strip().splitlines()[-1]
