"""runview: a local run page for ML training, in the terminal.

    import runview
    run = runview.init(project="mnist", config={"lr": 1e-3})
    run.log({"train/loss": 0.31})
    run.finish()

Importing this module never imports textual, rich or plotext: it lives in training processes.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"


def _source_checkout_subpackages() -> None:
    """In a clone, find ``runview.store``, ``runview.tui`` and ``runview.collectors`` beside this
    folder.

    The build maps the top-level ``store/``, ``tui/`` and ``collectors/`` folders onto
    ``runview.*`` (pyproject's package-dir). Python run from inside a clone imports this folder
    rather than the installed package (the working directory comes first on ``sys.path``), so
    the package also looks in the clone's root: the source tree then behaves as the install does.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    installed = os.path.isdir(os.path.join(here, "store"))
    in_checkout = all(
        os.path.isfile(os.path.join(root, *parts))
        for parts in (("pyproject.toml",), ("store", "__init__.py"), ("tui", "__init__.py"))
    )
    if in_checkout and not installed and root not in __path__:
        __path__.append(root)


_source_checkout_subpackages()
from collections.abc import Mapping, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any

from runview import _lifecycle

if TYPE_CHECKING:
    from runview._artifact import Artifact, ArtifactCorrupt, ArtifactFile, ArtifactNotFound
    from runview._media import Image, Table
    from runview._run import Run

# The public classes load on first use, so `import runview` stays cheap: the viewer imports this
# package too (runview.tui lives under it), and a script pays for the writer only at init().
_LAZY = {
    "Run": "runview._run",
    "Image": "runview._media",
    "Table": "runview._media",
    "Artifact": "runview._artifact",
    "ArtifactFile": "runview._artifact",
    "ArtifactNotFound": "runview._artifact",
    "ArtifactCorrupt": "runview._artifact",
}

__all__ = [
    "Run",
    "Image",
    "Table",
    "Artifact",
    "ArtifactFile",
    "ArtifactNotFound",
    "ArtifactCorrupt",
    "init",
    "log",
    "finish",
    "define_metric",
    "watch",
    "save",
    "log_artifact",
    "use_artifact",
    "run",
]


def init(
    project: str | None = None,
    name: str | None = None,
    notes: str | None = None,
    tags: Sequence[str] | None = None,
    config: Mapping[str, Any] | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    *,
    console: bool = True,
    system_interval: float | None = 2.0,
    heartbeat_interval: float = 2.0,
    save_code: bool = True,
    quiet: bool = False,
) -> Run:
    """Start a run and make it the current one; a run still open in this process is finished first.

    ``dir`` is the root that holds projects (default ``./runs``, or ``$RUNVIEW_DIR``);
    ``console=False`` leaves stdout/stderr alone; ``system_interval=None`` turns off the
    system and GPU sampler; ``save_code=False`` skips the code state (git patches, packages).
    One line on stderr says where the run is and how to view it; ``quiet=True`` (or
    ``RUNVIEW_QUIET=1``) leaves it out.
    """
    from runview._run import Run, RunOptions

    options = RunOptions(
        project, name, notes, tags, config, dir, id,
        console, system_interval, heartbeat_interval, save_code, quiet,
    )  # fmt: skip
    previous = _lifecycle.current()
    if previous is not None:
        previous.finish()
    run = Run(options)
    _lifecycle.adopt(run)
    return run


def _active() -> Run:
    run = _lifecycle.current()
    if run is None:
        raise RuntimeError("no active run: call runview.init() first")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
    """``log`` on the current run."""
    _active().log(data, step=step, commit=commit)


def finish(exit_code: int | None = None) -> None:
    """Finish the current run, if any."""
    run = _lifecycle.current()
    if run is not None:
        run.finish(exit_code)


def define_metric(name: str, summary: str | None = None, step_metric: str | None = None) -> None:
    _active().define_metric(name, summary=summary, step_metric=step_metric)


def watch(model: Any, criterion: Any = None, log: str | None = None, log_freq: int = 1000) -> None:
    """``watch`` on the current run."""
    _active().watch(model, criterion, log=log, log_freq=log_freq, _stacklevel=2)


def save(
    glob_str: str | os.PathLike[str],
    base_path: str | os.PathLike[str] | None = None,
    policy: str = "live",
) -> None:
    """``save`` on the current run."""
    _active().save(glob_str, base_path=base_path, policy=policy)


def log_artifact(
    artifact: Any,
    name: str | None = None,
    type: str | None = None,
    aliases: Sequence[str] | None = None,
) -> Any:
    """``log_artifact`` on the current run."""
    return _active().log_artifact(artifact, name=name, type=type, aliases=aliases)


def use_artifact(artifact: Any, type: str | None = None) -> Artifact:
    """``use_artifact`` on the current run."""
    return _active().use_artifact(artifact, type=type)


def __getattr__(name: str) -> Any:
    if name == "run":  # runview.run is the current run or None, as wandb.run
        return _lifecycle.current()
    if name in ("config", "summary"):
        return getattr(_active(), name)
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module 'runview' has no attribute {name!r}")
