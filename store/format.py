"""Names, version and value encoding of run directory format v1 (docs/run-format.md)."""

from __future__ import annotations

import math
from typing import Any

FORMAT_NAME = "runview"
FORMAT_VERSION = 1

# Small documents, replaced atomically (write a temp file beside, then rename).
MARKER_FILE = "runview.json"  # {"format": "runview", "version": 1}; written first, marks a run dir
META_FILE = "meta.json"  # who/where/when: name, project, host, git, command ...
CONFIG_FILE = "config.json"  # the run's config, nested as the user gave it
SUMMARY_FILE = "summary.json"  # final/best values per metric
STATUS_FILE = "status.json"  # state, heartbeat, pid, exit code, error
MODEL_FILE = "model.json"  # model summary rows
METRICS_FILE = "metrics.json"  # define_metric choices: {"val/acc": {"summary": "max"}}

# Append-only streams.
HISTORY_FILE = "history.jsonl"  # one JSON object per log() call, keys flattened with "/"
SYSTEM_FILE = "system.jsonl"  # one JSON object per collector sample
CONSOLE_FILE = "console.log"  # raw bytes of stdout and stderr, as the terminal saw them

# Optional acceleration beside the JSONL (see the format document).
COLUMNS_DIR = "columns"
COLUMNS_INDEX = "columns/index.json"

# Folders for what later issues add.
FILES_DIR = "files"  # user files saved with run.save
FILES_INDEX = "files.json"  # what run.save copied into files/, from where, and what it could not
CODE_DIR = "code"  # the code state at init: code.json, diff.patch, upstream.patch, packages
ARTIFACTS_FILE = "artifacts.json"  # the artifacts this run used and produced
MEDIA_DIR = "media"  # images and tables logged in history
ARTIFACTS_ROOT = ".artifacts"  # content-addressed store shared by all runs under a root

# Media values in history rows (docs/media.md): {"_type": MEDIA_IMAGES | MEDIA_TABLE, ...}.
MEDIA_TYPE_KEY = "_type"
MEDIA_IMAGES = "images"  # {"_type": "images", "items": [{"path", "caption", "width", "height"}]}
MEDIA_TABLE = "table"  # {"_type": "table", "path", "rows", "columns"}
MEDIA_TABLE_SUFFIX = ".table.json"  # {"columns": [...], "data": [[...], ...]}

# In summary.json: the keys set with run.summary[...] = v, which a reader never replaces with
# history's last values (keys of summary.json beginning with "_" belong to the format).
SUMMARY_EXPLICIT_KEY = "_explicit"

STEP_KEY = "_step"
TIME_KEY = "_time"
RUNTIME_KEY = "_runtime"

STATE_RUNNING = "running"
STATE_FINISHED = "finished"
STATE_FAILED = "failed"
STATE_CRASHED = "crashed"

# JSON has no spelling for non-finite floats. v1 writes them as a one-key object, which no
# flattened history value can otherwise be: {"$float": "nan" | "inf" | "-inf"}.
FLOAT_TAG = "$float"
_NONFINITE_NAMES = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode_nonfinite(value: float) -> dict[str, str]:
    """The v1 spelling of a NaN or infinite float."""
    if math.isnan(value):
        return {FLOAT_TAG: "nan"}
    return {FLOAT_TAG: "inf" if value > 0 else "-inf"}


def decode_value(value: Any) -> Any:
    """Undo the v1 encoding of one history value (non-finite floats); other values pass through."""
    if type(value) is dict and len(value) == 1 and FLOAT_TAG in value:
        return _NONFINITE_NAMES.get(value[FLOAT_TAG], math.nan)
    return value


def decode_tree(value: Any) -> Any:
    """``decode_value`` through nested objects and lists (config and summary documents)."""
    if type(value) is dict:
        if len(value) == 1 and FLOAT_TAG in value:
            return decode_value(value)
        return {k: decode_tree(v) for k, v in value.items()}
    if type(value) is list:
        return [decode_tree(v) for v in value]
    return value
