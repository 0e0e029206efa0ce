"""Images and tables logged as media: files under ``media/``, JSON refs in history (docs/media.md).

Everything here runs inside ``log()`` on the training thread, only for rows that hold media
(they are rare). Nothing here raises into training: a value that cannot be stored is dropped
with one warning. numpy is imported lazily, so ``import runview`` stays light, and Pillow is
never needed: arrays are written by a small stdlib PNG encoder.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from runview.store import format as fmt
from runview.store.encode import _UNSUPPORTED

Warn = Callable[[str, str], None]
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)
_PNG_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}
_CHANNELS = (1, 3, 4)


class Image:
    """An image to log: a numpy array / torch tensor (HxW, HxWx3, HxWx4, CHW) or an image file path.

    Arrays are captured when the Image is made (later changes to the buffer do not show), as
    uint8: floats are clipped to [0, 1], integers to [0, 255]. A path is copied as is when logged.
    Making an Image never raises; a bad input is reported by ``log()``, which then drops it.
    """

    def __init__(self, data: Any, caption: str | None = None) -> None:
        self.caption = None if caption is None else str(caption)
        self.pixels: Any = None  # numpy uint8, HxW or HxWxC
        self.source: Path | None = None
        self.error: str | None = None
        try:
            if isinstance(data, (str, os.PathLike)):
                self.source = Path(data)
            else:
                self.pixels = to_pixels(data)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def __repr__(self) -> str:
        what = self.source if self.source is not None else getattr(self.pixels, "shape", self.error)
        return f"<runview.Image {what} caption={self.caption!r}>"


class Table:
    """A table to log: ``Table(columns=[...], data=[[...], ...])``, rows added with ``add_data``.

    Cells are stored as JSON numbers, strings, booleans or null (NaN and infinities become
    null); anything else is stored as its ``str()``.
    """

    def __init__(
        self, columns: Sequence[Any] | None = None, data: Iterable[Iterable[Any]] | None = None
    ) -> None:
        self.columns: list[str] = [str(c) for c in columns] if columns is not None else []
        self.data: list[list[Any]] = []
        if data is not None:
            for row in data:
                self.add_data(*row)

    def add_data(self, *row: Any) -> None:
        """Append one row (one value per column)."""
        self.data.append(list(row))

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"<runview.Table {len(self.columns)} columns x {len(self.data)} rows>"


# -- pixels and PNG -------------------------------------------------------------------------------
def to_pixels(data: Any) -> Any:
    """A C-contiguous uint8 copy of ``data`` shaped HxW or HxWxC (C in 2, 3, 4)."""
    import numpy as np

    if not isinstance(data, np.ndarray):
        if hasattr(data, "detach"):  # torch: leave the graph and the device
            data = data.detach()
        if hasattr(data, "cpu"):
            data = data.cpu()
        if hasattr(data, "numpy"):
            try:
                data = data.numpy()
            except TypeError:  # bfloat16 and friends have no numpy dtype
                data = data.float().numpy()
    arr = np.asarray(data)
    if arr.ndim == 3 and arr.shape[0] in _CHANNELS and arr.shape[-1] not in _CHANNELS:
        arr = arr.transpose(1, 2, 0)  # channels first (CHW) -> last
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if (
        arr.ndim not in (2, 3)
        or (arr.ndim == 3 and arr.shape[-1] not in (2, 3, 4))
        or 0 in arr.shape
    ):
        raise ValueError(f"image shape {tuple(arr.shape)} is not HxW, HxWx3, HxWx4 or CHW")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype.kind == "f":
        arr = (np.clip(np.nan_to_num(arr, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif arr.dtype.kind in "iu":
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    else:
        raise TypeError(f"image dtype {arr.dtype} is not a number")
    return np.array(arr, dtype=np.uint8, order="C", copy=True)


def encode_png(pixels: Any) -> bytes:
    """PNG bytes of a uint8 HxW / HxWxC array: 8-bit, non-interlaced, filter 0 (stdlib only)."""
    import numpy as np

    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    raw = np.zeros((height, 1 + width * channels), dtype=np.uint8)  # leading 0: filter type None
    raw[:, 1:] = pixels.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOR_TYPES[channels], 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(tag: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + tag
        + body
        + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
    )


def image_size(data: bytes) -> tuple[int | None, int | None]:
    """(width, height) from the header of PNG, GIF or JPEG bytes; (None, None) when unknown."""
    try:
        if data.startswith(_PNG_SIGNATURE):
            return struct.unpack(">II", data[16:24])
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return struct.unpack("<HH", data[6:10])
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                    i += 1 if marker == 0xFF else 2
                    continue
                length = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                    return width, height
                i += 2 + length
    except struct.error:
        pass
    return None, None


# -- files ----------------------------------------------------------------------------------------
def media_folder(key: str) -> str:
    """The folder of a key under ``media/``: ``/`` becomes ``__``, other unsafe characters ``-``."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", key.replace("/", "__")).lstrip(".")
    return name[:150] or "media"


def _write_once(path: Path, data: bytes) -> None:
    """Write a content-named file atomically (a reader never sees half of it); skip if present."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _save_image(run_dir: Path, folder: str, step: int, index: int, image: Image) -> dict[str, Any]:
    if image.error is not None:
        raise ValueError(image.error)
    if image.source is not None:
        data = image.source.read_bytes()
        width, height = image_size(data)
        suffix = (
            image.source.suffix.lower()
            if re.fullmatch(r"\.[A-Za-z0-9]{1,5}", image.source.suffix)
            else ".img"
        )
    else:
        data = encode_png(image.pixels)
        height, width = image.pixels.shape[:2]
        suffix = ".png"
    import hashlib  # here: OpenSSL is a few MB, and only media needs it

    name = f"{step}_{index}_{hashlib.sha1(data).hexdigest()[:8]}{suffix}"
    relative = f"{fmt.MEDIA_DIR}/{folder}/{name}"
    _write_once(run_dir / relative, data)
    return {"path": relative, "caption": image.caption, "width": width, "height": height}


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):  # numpy scalars, 0-d tensors
        try:
            return _cell(value.item())
        except Exception:
            pass
    return str(value)


def _save_table(run_dir: Path, folder: str, step: int, table: Table) -> dict[str, Any]:
    width = max([len(table.columns), *(len(row) for row in table.data)])
    columns = table.columns + [f"col{i}" for i in range(len(table.columns), width)]
    rows = [[_cell(v) for v in row] + [None] * (width - len(row)) for row in table.data]
    document = {"columns": columns, "data": rows}
    data = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
        "utf-8"
    )
    import hashlib

    digest = hashlib.sha1(data).hexdigest()[:8]
    relative = f"{fmt.MEDIA_DIR}/{folder}/{step}_{digest}{fmt.MEDIA_TABLE_SUFFIX}"
    _write_once(run_dir / relative, data)
    return {
        fmt.MEDIA_TYPE_KEY: fmt.MEDIA_TABLE,
        "path": relative,
        "rows": len(rows),
        "columns": columns,
    }


def media_ref(run_dir: Path, key: str, step: int, value: Any, warn: Warn) -> Any:
    """Store ``value`` if it is media and return its history ref; ``_UNSUPPORTED`` otherwise.

    A dropped value is reported under the warning key ``unsupported:<key>``, the one the run
    uses for unsupported values, so the caller's own "unsupported" warning stays silent.
    """
    if isinstance(value, Image):
        images: Sequence[Any] = [value]
    elif isinstance(value, (list, tuple)) and any(isinstance(v, Image) for v in value):
        images = value
    elif not isinstance(value, Table):
        return _UNSUPPORTED
    try:
        folder = media_folder(key)
        if isinstance(value, Table):
            return _save_table(run_dir, folder, step, value)
        items, problems = [], []
        for index, image in enumerate(images):
            try:
                if not isinstance(image, Image):
                    raise TypeError(f"{type(image).__name__} is not a runview.Image")
                items.append(_save_image(run_dir, folder, step, index, image))
            except Exception as exc:
                problems.append(f"{key!r}[{index}]: {exc}")
        if not items:
            warn(f"unsupported:{key}", f"cannot log {problems[0]}; value dropped")
            return _UNSUPPORTED
        if problems:
            warn(
                f"media-item:{key}",
                f"cannot log {problems[0]}; skipped ({len(problems)} of {len(images)} items)",
            )
        return {fmt.MEDIA_TYPE_KEY: fmt.MEDIA_IMAGES, "items": items}
    except Exception as exc:  # disk full, unreadable source file, ...: never into training
        warn(f"unsupported:{key}", f"cannot log media {key!r}: {exc!r}; value dropped")
        return _UNSUPPORTED


def media_hook(run_dir: Path, step: int, warn: Warn) -> Callable[[str, Any], Any]:
    """The ``on_media`` hook of ``encode_row`` for one row at ``step``."""

    def on_media(key: str, value: Any) -> Any:
        return media_ref(run_dir, key, step, value, warn)

    return on_media
