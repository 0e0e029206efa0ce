"""Read the media files a run references: PNG images (stdlib decoder, Pillow when present) and
tables.

The built-in decoder reads 8-bit grey, grey+alpha, RGB and RGBA PNGs, non-interlaced, with
every filter type (foreign encoders use all five). Anything else raises ``MediaError`` with a
message a user can act on. When Pillow is importable it decodes everything instead.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 40_000_000  # refuse decompression bombs: 40 Mpx of RGBA is 160 MB
MAX_TABLE_BYTES = 64 * 1024 * 1024
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
_MORE = "install Pillow for more formats"


class MediaError(Exception):
    """A media file that is missing, unreadable or in a form this reader cannot decode."""


def resolve(run_dir: Path, ref_path: Any) -> Path:
    """The file a ref's ``path`` names, refusing paths that leave the run directory."""
    if not isinstance(ref_path, str) or not ref_path:
        raise MediaError("the media ref has no path")
    root = run_dir.resolve()
    path = (root / ref_path).resolve()
    if not path.is_relative_to(root):
        raise MediaError(f"{ref_path}: path leaves the run directory")
    return path


def load_image(path: Path) -> np.ndarray:
    """Pixels of an image file as uint8 HxWxC (C = 1, 2, 3 or 4)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MediaError(f"{path.name}: file not found") from None
    except OSError as exc:
        raise MediaError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    pil = _pillow()
    if pil is not None:
        return _decode_with_pillow(pil, path, data)
    try:
        return decode_png(data)
    except MediaError as exc:
        raise MediaError(f"{path.name}: {exc}") from None


def _pillow() -> Any:
    try:
        from PIL import Image as PILImage
    except Exception:
        return None
    return PILImage


def _decode_with_pillow(pil: Any, path: Path, data: bytes) -> np.ndarray:
    import io

    try:
        with pil.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise MediaError(f"{path.name}: {image.width}x{image.height} is too large to show")
            mode = (
                image.mode
                if image.mode in ("L", "LA", "RGB", "RGBA")
                else ("RGBA" if "A" in image.mode else "RGB")
            )
            pixels = np.asarray(image.convert(mode), dtype=np.uint8)
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError(f"{path.name}: cannot decode ({exc})") from None
    return pixels[..., None] if pixels.ndim == 2 else pixels


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNG bytes to uint8 HxWxC; raises ``MediaError`` for what it does not support."""
    if not data.startswith(PNG_SIGNATURE):
        kind = "JPEG" if data[:2] == b"\xff\xd8" else "GIF" if data[:3] == b"GIF" else "not a PNG"
        raise MediaError(f"cannot decode ({kind}); {_MORE}")
    pos, header, idat = len(PNG_SIGNATURE), None, []
    while pos + 8 <= len(data):
        length, tag = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if pos + 12 + length > len(data):
            raise MediaError("truncated PNG")
        if (
            zlib.crc32(tag + body) & 0xFFFFFFFF
            != struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        ):
            raise MediaError(f"corrupt PNG (bad CRC in {tag.decode('latin-1')})")
        if tag == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        elif tag == b"IDAT":
            idat.append(body)
        elif tag == b"IEND":
            break
        pos += 12 + length
    if header is None or not idat:
        raise MediaError("corrupt PNG (no IHDR or IDAT)")
    width, height, depth, color, _compression, _filter, interlace = header
    if interlace:
        raise MediaError(f"cannot decode (interlaced PNG); {_MORE}")
    if depth != 8:
        raise MediaError(f"cannot decode ({depth}-bit PNG); {_MORE}")
    if color not in _CHANNELS:
        raise MediaError(
            f"cannot decode (palette PNG); {_MORE}"
            if color == 3
            else f"unknown PNG colour type {color}"
        )
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise MediaError(f"{width}x{height} is too large or empty to show")
    channels = _CHANNELS[color]
    stride = width * channels
    expected = height * (stride + 1)
    try:
        raw = zlib.decompressobj().decompress(b"".join(idat), expected)
    except zlib.error as exc:
        raise MediaError(f"corrupt PNG ({exc})") from None
    if len(raw) < expected:
        raise MediaError("truncated PNG (image data ends early)")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    pixels = unfilter(rows[:, 1:], rows[:, 0], channels)
    return pixels.reshape(height, width, channels)


def unfilter(scan: np.ndarray, filters: np.ndarray, bpp: int) -> np.ndarray:
    """Undo PNG filters 0-4 row by row (vectorised None/Sub/Up, byte loops for Average/Paeth)."""
    height, stride = scan.shape
    out = np.empty((height, stride), dtype=np.uint8)
    prior = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = int(filters[y]), scan[y]
        if kind == 0:
            row = line
        elif kind == 1:  # Sub: running sum of each channel along the row, mod 256
            row = (
                (np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint64) & 0xFF)
                .astype(np.uint8)
                .reshape(-1)
            )
        elif kind == 2:  # Up
            row = line + prior
        elif kind == 3:  # Average: depends on the pixel just decoded, so a byte loop
            row = _average(bytearray(line.tobytes()), prior.tobytes(), bpp)
        elif kind == 4:  # Paeth
            row = _paeth(bytearray(line.tobytes()), prior.tobytes(), bpp)
        else:
            raise MediaError(f"corrupt PNG (unknown filter type {kind})")
        out[y] = row
        prior = out[y]
    return out


def _average(cur: bytearray, up: bytes, bpp: int) -> np.ndarray:
    for i in range(len(cur)):
        left = cur[i - bpp] if i >= bpp else 0
        cur[i] = (cur[i] + ((left + up[i]) >> 1)) & 0xFF
    return np.frombuffer(bytes(cur), dtype=np.uint8)


def _paeth(cur: bytearray, up: bytes, bpp: int) -> np.ndarray:
    for i in range(len(cur)):
        if i >= bpp:
            a, b, c = cur[i - bpp], up[i], up[i - bpp]
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
        else:
            pred = up[i]
        cur[i] = (cur[i] + pred) & 0xFF
    return np.frombuffer(bytes(cur), dtype=np.uint8)


def load_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of a ``*.table.json`` file."""
    try:
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise MediaError(f"{path.name}: table larger than {MAX_TABLE_BYTES >> 20} MiB")
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise MediaError(f"{path.name}: file not found") from None
    except OSError as exc:
        raise MediaError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise MediaError(f"{path.name}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise MediaError(f"{path.name}: not a table (needs columns and data)")
    rows = [row if isinstance(row, list) else [row] for row in document["data"]]
    columns = document.get("columns")
    width = max([len(r) for r in rows] or [0])
    names = [str(c) for c in columns] if isinstance(columns, list) else []
    names += [f"col{i}" for i in range(len(names), width)]
    return names, rows
