"""The store's JSON parser and compact encoder: orjson when installed, the stdlib otherwise.

The logger may run in an environment without orjson (``pip install --no-deps``), so every
module that parses or writes JSON lines goes through here instead of choosing for itself.
"""

from __future__ import annotations

from typing import Any

try:
    import orjson

    loads = orjson.loads
    DECODE_ERRORS: tuple[type[BaseException], ...] = (orjson.JSONDecodeError, ValueError)

    def dumps(value: Any) -> bytes:
        """Compact JSON bytes (no newline)."""
        return orjson.dumps(value)
except ImportError:  # pragma: no cover - exercised only where orjson is missing
    import json

    loads = json.loads
    DECODE_ERRORS = (ValueError,)

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode("utf-8")


def as_object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (a document of the wrong shape)."""
    return value if isinstance(value, dict) else {}
