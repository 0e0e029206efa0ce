"""The ``Run`` object behind ``runview.init``: the one place that joins the writer and the
collectors."""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import runview
from runview._docs import Config, Summary
from runview._media import media_hook
from runview._summary import MetricSummaries, jsonable
from runview.store import format as fmt
from runview.store.append import CHUNK_BYTES
from runview.store.encode import FAST_ERRORS, encode_row, plain_bytes
from runview.store.encode import OPTIONS as _OPTIONS
from runview.store.encode import dumps as _dumps
from runview.store.encode import item_default as _item_default
from runview.store.writer import RunWriter, claim_run_dir, process_identity

SUMMARY_KINDS = ("min", "max", "mean", "last", "none")
QUIET_ENV = "RUNVIEW_QUIET"  # "1": init prints nothing
STEP, TIME = fmt.STEP_KEY, fmt.TIME_KEY
_now = time.time


def _safe_name(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip(".-")
    return cleaned[:100] or "default"


def new_run_id() -> str:
    """8 random characters of [a-z0-9] (os.urandom: ``secrets`` would load OpenSSL, a few MB)."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    chars: list[str] = []
    while len(chars) < 8:
        chars += [alphabet[b % 36] for b in os.urandom(16) if b < 252]  # 252 = 7 * 36: no bias
    return "".join(chars[:8])


class RunOptions(NamedTuple):
    """``runview.init``'s arguments, as it received them."""

    project: str | None
    name: str | None
    notes: str | None
    tags: Sequence[str] | None
    config: Mapping[str, Any] | None
    dir: str | os.PathLike[str] | None
    id: str | None
    console: bool
    system_interval: float | None
    heartbeat_interval: float
    save_code: bool
    quiet: bool


class Run:
    """One training run. Create it with ``runview.init``; every method is safe inside training."""

    def __init__(self, options: RunOptions) -> None:
        """``runview.init`` makes runs: its signature is the one place options are documented
        and defaulted."""
        (
            project, name, notes, tags, config, dir, id,
            console, system_interval, heartbeat_interval, save_code, quiet,
        ) = options  # fmt: skip
        self.start_time = time.time()
        self.id = _safe_name(id) if id else new_run_id()
        self.project = project or os.environ.get("RUNVIEW_PROJECT") or "default"
        self.name = name or self.id
        self.notes = notes or ""
        self.tags = [str(t) for t in (tags or [])]
        root = Path(dir or os.environ.get("RUNVIEW_DIR") or "runs")
        stamp = datetime.fromtimestamp(self.start_time).strftime("%Y%m%d-%H%M%S")
        self.dir = (root / _safe_name(self.project) / f"{stamp}-{self.id}").absolute()

        self._next_step = 0
        self._last_step = -1
        self._summaries = MetricSummaries()
        # The hot path updates these two directly: no attribute hops per log() call.
        self._pending = self._summaries.pending
        self._definitions = self._summaries.definitions
        self._version = 0
        self._step_drops = 0
        self._finished = False
        self._exit_code: int | None = None
        self._error: dict[str, Any] | None = None
        self._console = None
        self._sampler = None
        self._unwatch: list[Any] = []
        self._outputs: Any = None

        self.dir = claim_run_dir(self.dir)
        self.root = self.dir.parent.parent
        self._writer = RunWriter(self.dir, heartbeat_interval=heartbeat_interval)
        self._bind_history()
        self._writer.set_summary_source(self._summary_snapshot, self._summaries.merge_if_long)
        self.meta: dict[str, Any] = self._initial_meta()
        self._writer.write_document(fmt.META_FILE, self.meta)
        self.config = Config(self._save_config, config)
        self._save_config(self.config.as_dict())
        self.summary = Summary(self._summaries.values, self._summaries.explicit, self._touch)
        self._writer.update_status(
            state=fmt.STATE_RUNNING,
            started=self.start_time,
            heartbeat=time.time(),
            heartbeat_interval=heartbeat_interval,
            hostname=self.meta.get("host"),
            **process_identity(),
        )
        self._writer.start()
        if not quiet and os.environ.get(QUIET_ENV, "") in ("", "0"):
            self._announce()  # before the console tee: it is for the terminal, not the run's log
        if console:
            self._start_console()
        # Before the sampler: the code capture's git processes are not training's children.
        self._start_outputs(save_code)
        if system_interval:
            self._start_sampler(system_interval)
        self._writer.write_document(fmt.META_FILE, self.meta)

    # -- set-up ---------------------------------------------------------------------------------
    def _bind_history(self) -> None:
        # log() appends to it directly: no attribute hops on the hot path.
        self._history = self._writer.history

    def _initial_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "notes": self.notes,
            "tags": self.tags,
            "start_time": self.start_time,
            "created": datetime.fromtimestamp(self.start_time, UTC).isoformat(),
            "runview_version": runview.__version__,
        }
        try:
            from runview.collectors.host import git_facts, host_facts

            meta.update(host_facts())
            git = git_facts()
            if git:
                meta["git"] = git
        except Exception as exc:
            self._warn_once("host", f"could not read host facts: {exc!r}")
        return meta

    def _announce(self) -> None:
        """One line on stderr, as wandb prints its link: where the run is and how to view it."""
        try:
            path = self.dir
            try:
                path = path.relative_to(Path.cwd())
            except ValueError:
                pass
            name = "".join(c if c.isprintable() else "?" for c in self.name)
            stderr = sys.stderr
            if stderr is not None:
                stderr.write(
                    f"runview: run {name} · view it with: runview {shlex.quote(str(path))}\n"
                )
                stderr.flush()
        except Exception:
            pass  # a closed or broken stderr must not stop the run

    def _start_console(self) -> None:
        try:
            from runview.collectors.console import ConsoleCapture

            capture = ConsoleCapture(self.dir / fmt.CONSOLE_FILE)
            if capture.start():
                self._console = capture
            self.meta["console"] = capture.mode
        except Exception as exc:
            self.meta["console"] = "off"
            self._warn_once("console", f"console capture is off: {exc!r}")

    def _start_sampler(self, interval: float) -> None:
        try:
            from runview.collectors.sampler import SystemSampler

            columns = self._writer.columns_helper
            helpers = {
                self._console.helper_pid if self._console is not None else None,
                columns.pid if columns is not None else None,
            }
            sampler = SystemSampler(
                self._emit_system,
                interval=interval,
                pid=os.getpid(),
                disk_path=self.dir,
                # the console tee and the column helper are ours, not training
                exclude_pids=frozenset(pid for pid in helpers if pid),
            )
            sampler.start()
            self._sampler = sampler
            self.meta["system"] = {"interval": interval}
            self.meta["gpu"] = {"reason": sampler.gpu_reason, "devices": sampler.gpu_devices}
        except Exception as exc:
            self.meta["system"] = {"interval": None, "reason": f"system metrics are off: {exc!r}"}
            self._warn_once("sampler", f"system metrics are off: {exc!r}")

    def _start_outputs(self, save_code: bool) -> None:
        try:
            from runview._outputs import RunOutputs

            self._outputs = RunOutputs(
                run_dir=self.dir,
                root=self.root,
                producer={
                    "run": f"{self.dir.parent.name}/{self.dir.name}",
                    "run_id": self.id,
                    "project": self.project,
                },
                write_document=self._writer.write_document,
                warn=self._warn_once,
                save_code=save_code,
            )
        except Exception as exc:
            self._warn_once("outputs", f"run.save and artifacts are off: {exc!r}")

    def _emit_system(self, record: dict[str, Any]) -> None:
        try:
            line, _ = encode_row({}, record, self._unsupported)
            self._writer.system.append(line)
        except Exception as exc:
            self._warn_once("system-record", f"dropped a system sample: {exc!r}")

    def _save_config(self, config: dict[str, Any]) -> None:
        self._writer.write_document(fmt.CONFIG_FILE, jsonable(config))

    # -- logging --------------------------------------------------------------------------------
    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
        """Append one row of metrics; rows logged at the same step merge (later keys win)."""
        if self._finished:
            if getattr(self, "_forked_child", False):
                self._warn_once(
                    "log-in-child",
                    "log() in a forked child process is ignored (log from the parent)",
                )
            else:
                self._warn_once("log-after-finish", "log() after finish() is ignored")
            return
        try:
            if step is None:
                step = self._next_step
            elif type(step) is not int or step < self._last_step:
                step = self._checked_step(step)
                if step is None:
                    return
            # The fast path of encode_row, inlined: this is the training thread's hot loop.
            # _step and _time go last: a copy of the caller's dict (its table copied at once)
            # plus two keys costs a third of inserting its keys one by one after them.
            now = _now()
            row = data.copy() if type(data) is dict else dict(data)
            row[STEP] = step
            row[TIME] = now
            try:  # positional: orjson matches no keyword names
                line = _dumps(row, _item_default, _OPTIONS)
            except FAST_ERRORS:
                line = None
            # A row that redefined _step/_time is not plain (the format reserves them).
            if line is not None and len(row) == len(data) + 2:
                try:  # is_plain, inlined: finite plain numbers are told by one sum()
                    # (from 0.0: sum's loop over C doubles from the first value; ints and
                    # bools add as doubles, numpy and torch values make a total of their type)
                    total = sum(data.values(), 0.0)
                    plain = type(total) is float and total - total == 0
                except Exception:  # strings, None, arrays...: the line's bytes decide
                    plain = False
                plain = plain or plain_bytes(line)
            else:
                plain = False
            if plain:
                values: Mapping[str, Any] = data
            else:
                # images, tables: docs/media.md
                on_media = media_hook(self.dir, step, self._warn_once)
                line, flat = encode_row(
                    {STEP: step, TIME: now}, data, self._unsupported, on_media, fast_tried=True
                )
                values = flat if flat is not None else dict(data)
            # Merged into the summary's last values in batches (MetricSummaries); a plain
            # row's own copy, not the caller's dict, which the caller may change and log again.
            self._pending.append(row if plain else values)
            # AppendStream.append, inlined (a call costs as much as what it does)
            history = self._history
            chunk = history.open_chunk
            chunk.write(line)
            if chunk.tell() >= CHUNK_BYTES:
                history.close_chunk(chunk)  # wakes the writer thread (store/append.py)
                self._summaries.merge_pending(wait=False)
            self._last_step = step
            self._next_step = step + 1 if commit else step
            if self._definitions:
                self._summaries.aggregate(values)
            self._version += 1
        except OSError as exc:  # a media file that could not be written (disk full, folder gone)
            self._writer.history.dropped += 1
            self._writer.warn_io(self._writer.history.path, exc)
        except Exception as exc:  # the logger never raises into training
            self._warn_once("log", f"log() failed and the row was dropped: {exc!r}")

    def _checked_step(self, step: Any) -> int | None:
        """An explicit step as a valid int, or None (the row is dropped, said once)."""
        try:
            as_int = int(step)
            valid = as_int == step and as_int >= 0
        except (TypeError, ValueError, OverflowError):
            valid = False
        if not valid:
            self._warn_once(
                "step-invalid", f"step={step!r} is not a non-negative integer; row dropped"
            )
            return None
        if as_int < self._last_step:
            self._step_drops += 1
            self._warn_once(
                "step-decrease",
                f"step {as_int} is lower than the last logged step {self._last_step}; row dropped "
                "(steps must not decrease; later such rows are dropped and counted without a "
                "warning)",
            )
            return None
        return as_int

    @property
    def step(self) -> int:
        """The step the next ``log()`` without ``step=`` will use."""
        return self._next_step

    def define_metric(
        self, name: str, summary: str | None = None, step_metric: str | None = None
    ) -> None:
        """Choose how a metric is summarised: min, max, mean, last or none (as in wandb)."""
        definition: dict[str, Any] = {}
        if summary is not None:
            kinds = [k.strip() for k in summary.split(",") if k.strip()]
            unknown = [k for k in kinds if k not in SUMMARY_KINDS]
            if unknown:
                self._warn_once(
                    f"define:{name}", f"define_metric({name!r}): unknown summary {unknown}"
                )
                kinds = [k for k in kinds if k in SUMMARY_KINDS]
            definition["summary"] = kinds[0] if len(kinds) == 1 else kinds
        if step_metric is not None:
            definition["step_metric"] = step_metric
        self._definitions[name] = definition
        self._writer.write_document(fmt.METRICS_FILE, self._definitions)
        self._touch()

    def log_model_summary(self, rows: Any) -> None:
        """Record a model summary from any framework: rows with dotted name, type, shape, params."""
        try:
            from runview.collectors.model import summary_from_rows

            self._writer.write_document(fmt.MODEL_FILE, summary_from_rows(rows))
        except Exception as exc:
            self._warn_once("model", f"model summary not recorded: {exc!r}")

    def watch(
        self,
        model: Any,
        criterion: Any = None,
        log: str | None = None,
        log_freq: int = 1000,
        *,
        _stacklevel: int = 1,
        **_: Any,
    ) -> None:
        """Record the module tree of a PyTorch model at its first forward pass.

        Gradient and parameter histograms are not recorded: ``log="gradients"`` (wandb's
        default, asked here only explicitly) warns once, pointing at the caller.
        """
        try:
            from runview.collectors.model import watch

            def save(summary: dict[str, Any]) -> None:
                self._writer.write_document(fmt.MODEL_FILE, summary)

            self._unwatch.append(
                watch(model, save, log=log, log_freq=log_freq, stacklevel=1 + _stacklevel)
            )
        except Exception as exc:
            self._warn_once("watch", f"watch() could not attach: {exc!r}")

    def save(
        self,
        glob_str: str | os.PathLike[str],
        base_path: str | os.PathLike[str] | None = None,
        policy: str = "live",
    ) -> None:
        """Copy files matching ``glob_str`` into the run's ``files/``: ``live`` keeps them current,
        ``now`` copies once, ``end`` at finish. ``base_path`` keeps the layout below it."""
        if self._outputs is None or self._finished:
            self._warn_once(
                "save-off", "run.save() is ignored: the run is finished or saving is off"
            )
            return
        self._outputs.save(glob_str, base_path, policy)

    def log_artifact(
        self,
        artifact: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: Sequence[str] | None = None,
    ) -> Any:
        """Record ``artifact`` (an Artifact, or a path) as an output; stored in the background."""
        if self._outputs is None or self._finished:
            self._warn_once("artifact-off", "log_artifact() is ignored: the run is finished")
            return artifact
        return self._outputs.log_artifact(artifact, name, type, aliases)

    def use_artifact(self, artifact: Any, type: str | None = None) -> Any:
        """Record ``"name:alias"`` (or ``:v3``, or an Artifact) as an input and return it."""
        if self._outputs is None or self._finished:
            raise RuntimeError("use_artifact() needs a running run")
        return self._outputs.use_artifact(artifact, type)

    # -- summary --------------------------------------------------------------------------------
    def _touch(self) -> None:
        self._version += 1

    def _summary_snapshot(self) -> tuple[int, Any]:
        version = self._version
        encoded = self._summaries.encoded()
        if encoded is not None:
            return version, encoded
        summary = self._summaries.values()
        # Readers let fresher history values replace every summary value but these (run-format.md).
        summary[fmt.SUMMARY_EXPLICIT_KEY] = sorted(str(k) for k in list(self._summaries.explicit))
        return version, summary

    # -- warnings -------------------------------------------------------------------------------
    def _unsupported(self, key: str, value: Any) -> None:
        if key in (STEP, TIME):
            self._warn_once(
                f"reserved:{key}", f"cannot log {key!r}: the run format reserves it; skipped"
            )
            return
        self._warn_once(
            f"unsupported:{key}",
            f"cannot log {key!r}: unsupported type {type(value).__name__}; skipped",
        )

    def _warn_once(self, key: str, message: str) -> None:
        self._writer.warn_once(key, message)

    # -- ending ---------------------------------------------------------------------------------
    def finish(self, exit_code: int | None = None) -> None:
        """End the run: finished when exit_code is 0 or None, failed otherwise."""
        if exit_code not in (None, 0) and self._error is None:
            self._error = {"message": f"exit code {exit_code}"}
        self._end(exit_code if exit_code is not None else 0)

    def mark_failed(
        self,
        exc: BaseException | None = None,
        *,
        signal_name: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        """Record why the run failed; ``finish`` or process exit writes it out."""
        error: dict[str, Any] = {}
        if exc is not None:
            error["type"] = type(exc).__name__
            error["message"] = str(exc)
            tail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            error["traceback"] = tail[-4000:]
        if signal_name:
            error["signal"] = signal_name
        self._error = error
        if exit_code is not None:
            self._exit_code = exit_code

    def _after_fork_in_child(self) -> None:
        # A data-loader worker forked from training: the run belongs to the parent. The child
        # must neither write records nor finish the run when it exits.
        self._finished = True
        self._forked_child = True
        self._summaries.after_fork()
        self._writer.disown()
        self._bind_history()
        self._sampler = None
        self._console = None
        if self._outputs is not None:
            self._outputs.disown()

    def _end(self, exit_code: int) -> None:
        if self._finished:
            return
        self._finished = True
        for unwatch in self._unwatch:
            try:
                unwatch()
            except Exception:
                pass
        interrupted: BaseException | None = None
        if self._outputs is not None:
            try:
                self._outputs.finish()  # saved files, artifacts, code capture
            except BaseException as exc:  # Ctrl-C abandons pending artifacts, not the run's end
                interrupted = exc
                self._warn_once("outputs-finish", f"saving files and artifacts stopped: {exc!r}")
        if self._sampler is not None:
            try:
                self._sampler.stop()
                # Which GPU metrics were recorded, and why the others are absent.
                self.meta["system"] = self._sampler.describe()
                self._writer.write_document(fmt.META_FILE, self.meta)
            except Exception:
                pass
        if self._console is not None:
            try:
                self._console.stop()
            except Exception:
                pass
        failed = self._error is not None or exit_code != 0
        status: dict[str, Any] = {
            "state": fmt.STATE_FAILED if failed else fmt.STATE_FINISHED,
            "exit_code": exit_code if not (failed and exit_code == 0) else 1,
            "ended": time.time(),
        }
        if self._error:
            status["error"] = self._error
        if self._step_drops:
            status["rows_dropped_for_lower_step"] = self._step_drops
        self._writer.close(**status)
        from runview import _lifecycle

        _lifecycle.forget(self)
        if isinstance(interrupted, KeyboardInterrupt):
            raise interrupted

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            self._end(0)
        elif isinstance(exc, SystemExit):
            from runview._lifecycle import exit_code_of

            code = exit_code_of(exc.code)
            if code and self._error is None:  # a signal already said why
                self._error = {"type": "SystemExit", "message": f"exit code {code}"}
            self._end(code)
        else:
            code = 130 if isinstance(exc, KeyboardInterrupt) else 1
            self.mark_failed(exc, signal_name="SIGINT" if code == 130 else None)
            self._end(code)
        return False

    def __repr__(self) -> str:
        return f"<runview.Run {self.project}/{self.name} at {self.dir}>"


__all__ = ["Run"]
