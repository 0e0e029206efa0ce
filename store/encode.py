"""Turn one ``log()`` call into one JSONL line of format v1, fast for the common case.

The fast path hands the row to orjson and checks that the line is already valid v1
(``is_plain``: finite numbers, or no nested object, no list and no ``null``, since orjson spells
NaN/inf as ``null``); anything else takes the slow path, which flattens, converts and spells
non-finite floats as the format says. Rows of plain scalars never pay for the slow path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from runview.store.format import STEP_KEY, TIME_KEY, encode_nonfinite

RESERVED_KEYS = frozenset((STEP_KEY, TIME_KEY))

try:  # orjson is a dependency, but a training environment may lack it: stdlib json then.
    import orjson

    # Non-string keys are not plain: they raise here and take the slow path, which names them.
    OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE

    def item_default(obj: Any) -> Any:
        # 0-d torch tensors and numpy arrays of one element; anything else goes to the slow path.
        if getattr(obj, "ndim", None) == 0 and hasattr(obj, "item"):
            return obj.item()
        raise TypeError

    # The hot path calls it as dumps(row, default=item_default, option=OPTIONS): orjson's own
    # vectorcall, no Python frame and no keyword dict (a functools.partial with keywords costs
    # ~0.25 µs a call building one).
    dumps: Callable[..., bytes] = orjson.dumps

    FAST_ERRORS: tuple[type[BaseException], ...] = (TypeError, orjson.JSONEncodeError)
except ImportError:  # pragma: no cover - exercised only where orjson is missing
    import json

    OPTIONS = 0

    def item_default(obj: Any) -> Any:
        if hasattr(obj, "item") and getattr(obj, "ndim", 0) == 0:
            return obj.item()
        raise TypeError

    def dumps(row: dict[str, Any], default: Any = None, option: int = 0) -> bytes:
        text = json.dumps(row, allow_nan=False, default=default, separators=(",", ":"))
        return text.encode("utf-8") + b"\n"

    FAST_ERRORS = (TypeError, ValueError)


def dumps_line(row: dict[str, Any]) -> bytes:
    """One JSONL line for ``row`` (orjson; numpy scalars and 0-d tensors as their value)."""
    return dumps(row, default=item_default, option=OPTIONS)


def is_plain(data: Mapping[str, Any], line: bytes) -> bool:
    """Whether ``line`` (orjson's encoding of a row with ``data``) is already valid v1.

    Plain Python numbers, all finite, are told by one ``sum``: its type is int or float only
    if every value was (a string, None, a list or a dict raises; numpy and torch values give
    their own types), and a NaN or an infinity makes ``total - total`` NaN (an overflow only
    costs the slow path). Otherwise the bytes say it (``plain_bytes``).
    """
    try:
        total = sum(data.values())
        if (type(total) is float or type(total) is int) and total - total == 0:
            return True
    except Exception:  # strings, None, lists, arrays...: the bytes decide
        pass
    return plain_bytes(line)


def plain_bytes(line: bytes) -> bool:
    """Whether an orjson line needs no conversion: orjson spells NaN and infinities as
    ``null``, and nested values or arrays bring ``[`` or a second ``{``."""
    return b"null" not in line and b"[" not in line and line.find(b"{", 1) < 0


Unsupported = Callable[[str, Any], None]
MediaHook = Callable[[str, Any], Any]


def encode_row(
    head: dict[str, Any],
    data: Mapping[str, Any],
    on_unsupported: Unsupported,
    on_media: MediaHook | None = None,
    fast_tried: bool = False,
) -> tuple[bytes, dict[str, Any] | None]:
    """Encode ``data`` plus ``head`` (``_step``, ``_time``: last, as ``Run.log`` writes them) as
    one line.

    Returns the line and, when the slow path ran, the flattened normalised values (so the caller
    can keep summaries of what was actually written); ``None`` means ``data`` was already flat.
    """
    if not fast_tried:  # Run.log tries the fast path inline, so it says so and skips it here
        row = {**data, **head}
        try:
            line = dumps_line(row)
            # (a row that tried to set _step/_time has fewer keys than head and data together)
            if len(row) == len(head) + len(data) and is_plain(data, line):
                return line, None
        except FAST_ERRORS:
            pass
    flat: dict[str, Any] = {}
    flatten_into(flat, "", data, on_unsupported, on_media)
    for key in RESERVED_KEYS & flat.keys():  # the format owns these; a row cannot move its step
        on_unsupported(key, flat.pop(key))
    row = {**flat, **head}
    try:
        return dumps_line(row), flat
    except FAST_ERRORS:
        # One value the encoder still refuses must not cost the row its other values.
        for key in list(flat):
            try:
                dumps_line({key: flat[key]})
            except FAST_ERRORS:
                on_unsupported(key, flat.pop(key))
        return dumps_line({**flat, **head}), flat


def flatten_into(
    out: dict[str, Any],
    prefix: str,
    data: Mapping[str, Any],
    on_unsupported: Unsupported,
    on_media: MediaHook | None = None,
) -> None:
    """Flatten nested mappings with ``/`` and convert every leaf to a v1 value."""
    for raw_key, value in data.items():
        key = f"{prefix}{raw_key}"
        if isinstance(value, Mapping):
            flatten_into(out, f"{key}/", value, on_unsupported, on_media)
            continue
        converted = to_json_value(value)
        if converted is _UNSUPPORTED and on_media is not None:
            converted = on_media(key, value)
        if converted is _UNSUPPORTED:
            on_unsupported(key, value)
            continue
        out[key] = converted


class _Unsupported:
    __slots__ = ()


_UNSUPPORTED: Any = _Unsupported()


def to_json_value(value: Any) -> Any:
    """A v1 JSON value for one scalar, or the ``_UNSUPPORTED`` sentinel."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        # JSON parsers (and orjson) stop at 64 bits; a bigger count is kept as a float.
        return int(value) if -(2**63) <= value < 2**63 else float(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else encode_nonfinite(value)
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", 0) == 0 or _is_single_element(value):
        try:
            return to_json_value(value.item())
        except (TypeError, ValueError, RuntimeError):
            return _UNSUPPORTED
    return _UNSUPPORTED


def _is_single_element(value: Any) -> bool:
    # torch tensors of shape (1,) or numpy arrays of size 1 log as their scalar, as in wandb.
    numel = getattr(value, "numel", None)
    if callable(numel):
        try:
            return numel() == 1
        except Exception:
            return False
    return getattr(value, "size", None) == 1 and hasattr(value, "item")
