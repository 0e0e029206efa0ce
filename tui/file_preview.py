"""What the Files tab shows for one file: built in a worker from at most the first 1 MiB.

Text is syntax-highlighted by its file name (pygments, through rich), patches are coloured by
line, PNG images become half-block cells, anything else is a short hex dump. Every byte shown
goes through ``visible`` first: no control character from a file reaches the terminal.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from rich.syntax import Syntax
from rich.text import Text

from runview.store.media import MediaError, decode_png
from runview.store.run_files import PREVIEW_LIMIT, Peek, peek
from runview.tui.format import format_bytes
from runview.tui.safe_text import safe_text, visible
from runview.tui.widgets.halfblock import HalfBlockImage

HEX_PREVIEW_BYTES = 1024
HEX_WIDTH = 16
HIGHLIGHT_LIMIT = 256 * 1024  # beyond this, text is shown plain: highlighting 1 MiB takes seconds
THEME = "ansi_dark"  # the terminal's own palette


@dataclass(frozen=True)
class Preview:
    """The header and body of one file's preview; ``lines`` or ``image`` (or neither)."""

    rel: str
    header: Text
    lines: list[Text] | None = None
    width: int = 0
    image: HalfBlockImage | None = None
    kind: str = ""


def build_preview(
    run_dir: Path,
    rel: str,
    *,
    is_dir: bool = False,
    link: str | None = None,
    size: int = 0,
    mtime: float | None = None,
    files: int = 0,
    saved: dict[str, Any] | None = None,
    image_cells: tuple[int, int] = (60, 20),
    no_color: bool = False,
) -> Preview:
    """The preview of ``rel`` (a path inside ``run_dir``); never raises for what the file holds."""
    header = _header(rel or run_dir.name, size, mtime, saved)
    if is_dir:
        header.append(f"\nfolder · {files:,} file{'s' if files != 1 else ''}", style="dim")
        return Preview(rel, header, kind="folder")
    if link is not None:
        note = safe_text(f"a symbolic link, not followed: → {link}", style="italic")
        return Preview(rel, header, [note], note.cell_len, kind="link")
    found = peek(run_dir, rel)
    if found.truncated:
        header.append(
            f"\nshowing the first {format_bytes(len(found.data))} of {format_bytes(found.size)}"
            " · p opens it in the pager",
            style="yellow",
        )
    if found.kind == "error":
        line = safe_text(f"cannot preview: {found.error}", style="bold red")
        return Preview(rel, header, [line], line.cell_len, kind="error")
    if found.kind == "empty":
        return Preview(rel, header, [Text("(empty file)", style="dim")], 12, kind="empty")
    if found.kind == "image":
        return _image(rel, header, found, image_cells, no_color)
    if found.kind == "binary":
        header.append("\nbinary · p opens a hex dump of the first 1 MiB", style="dim")
        per_row = HEX_WIDTH if image_cells[0] >= 79 else HEX_WIDTH // 2  # fit a narrow pane
        lines = hex_lines(found.data[:HEX_PREVIEW_BYTES], per_row=per_row)
        return Preview(rel, header, lines, _width(lines), kind="binary")
    lines = patch_lines(found) if found.kind == "patch" else text_lines(rel, found)
    return Preview(rel, header, lines, _width(lines), kind=found.kind)


def _header(rel: str, size: int, mtime: float | None, saved: dict[str, Any] | None) -> Text:
    header = safe_text(rel, style="bold")  # one line per fact (the stylesheet cuts, not wraps)
    header.append(f" · {format_bytes(size)}")
    if mtime is not None:
        header.append(f" · modified {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(mtime))}")
    if saved:
        # policy and state first: the source path is the part the edge may cut
        policy, copies = saved.get("policy"), saved.get("copies")
        header.append(f"\nsaved · {visible(policy)} · {copies} cop{'y' if copies == 1 else 'ies'}")
        state = saved.get("state")
        if state in ("incomplete", "error"):
            why = saved.get("incomplete") or saved.get("error") or ""
            header.append(visible(f" · {state}: {why}"), style="bold red")
        elif state == "pending":
            header.append(" · not copied yet", style="yellow")
        header.append(visible(f" · from {saved.get('source', '?')}"), style="dim")
    return header


def _decoded(found: Peek) -> str:
    text = found.text
    if found.truncated and "\n" in text:
        text = text[: text.rindex("\n")]  # no half line (or half character) at the cut
    return visible(text.replace("\r\n", "\n"))


def text_lines(rel: str, found: Peek) -> list[Text]:
    """Highlighted lines, by the lexer pygments picks from the file name (plain when unknown or
    larger than HIGHLIGHT_LIMIT)."""
    code = _decoded(found)
    lexer = _lexer(rel) if len(code) <= HIGHLIGHT_LIMIT else None
    if lexer is None:
        lines = [Text(line) for line in code.split("\n")]
    else:
        syntax = Syntax(code, lexer, theme=THEME, tab_size=4, word_wrap=False)
        lines = list(syntax.highlight(code).split("\n", allow_blank=True))
    for line in lines:
        line.expand_tabs(4)
    if lines and not lines[-1].plain and len(lines) > 1:
        lines.pop()  # the file's final newline
    return lines


def _lexer(rel: str) -> Any:
    from pygments.lexers import get_lexer_for_filename
    from pygments.util import ClassNotFound

    name = os.path.basename(rel)
    if name.endswith(".jsonl"):
        name = name[:-1]  # JSON lines are JSON, one per line
    try:
        return get_lexer_for_filename(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


PATCH_STYLES = (
    ("diff --git ", "bold"),
    ("index ", "dim"),
    ("--- ", "bold"),
    ("+++ ", "bold"),
    ("@@", "cyan"),
    ("+", "green"),
    ("-", "red"),
    ("new file mode", "dim"),
    ("deleted file mode", "dim"),
)


def patch_lines(found: Peek) -> list[Text]:
    """A unified diff, coloured line by line."""
    lines = []
    for raw in _decoded(found).split("\n"):
        style = next((s for prefix, s in PATCH_STYLES if raw.startswith(prefix)), "")
        line = Text(raw, style=style)
        line.expand_tabs(4)
        lines.append(line)
    if lines and not lines[-1].plain:
        lines.pop()
    return lines


def hex_lines(data: bytes, per_row: int = HEX_WIDTH) -> list[Text]:
    """``00000010  89 50 4e 47 ...  |.PNG....|`` lines."""
    return [Text(line) for line in _hex_rows(data, per_row)]


def _hex_rows(data: bytes, per_row: int = HEX_WIDTH) -> list[str]:
    rows = []
    width = per_row * 3 + (1 if per_row > 8 else 0)
    for start in range(0, len(data), per_row):
        chunk = data[start : start + per_row]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        if len(chunk) > 8:
            hexes = hexes[:23] + " " + hexes[23:]
        printable = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        rows.append(f"{start:08x}  {hexes:<{width}} |{printable}|")
    return rows


def _image(rel: str, header: Text, found: Peek, cells: tuple[int, int], no_color: bool) -> Preview:
    width, height = _png_size(found.data)
    if width:
        header.append(f"\nPNG image {width}×{height}", style="dim")
    if found.truncated:
        note = Text(f"larger than the {format_bytes(PREVIEW_LIMIT)} preview limit: not drawn")
        return Preview(rel, header, [note], note.cell_len, kind="image")
    try:
        pixels = _decode(found.data)
    except MediaError as exc:
        note = safe_text(f"cannot draw it: {exc}", style="yellow")
        return Preview(rel, header, [note], note.cell_len, kind="image")
    image = HalfBlockImage.from_pixels(pixels, cells[0], cells[1], no_color=no_color)
    return Preview(rel, header, image=image, kind="image")


def _decode(data: bytes) -> Any:
    """Pixels from PNG bytes: the built-in decoder, or Pillow (when installed) for the rest."""
    try:
        return decode_png(data)
    except MediaError as error:
        try:
            from PIL import Image as PILImage
        except ImportError:
            raise error from None
        import io

        import numpy as np

        try:
            with PILImage.open(io.BytesIO(data)) as image:
                return np.asarray(image.convert("RGBA"), dtype=np.uint8)
        except Exception as exc:
            raise MediaError(f"cannot decode ({exc})") from None


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) >= 24 and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 0, 0


def _width(lines: list[Text]) -> int:
    return max((line.cell_len for line in lines), default=0)


def export_for_pager(run_dir: Path, rel: str, kind: str, out: TextIO) -> None:
    """What ``p`` pages: text through the logs' sanitising, anything else as a hex dump of the
    first 1 MiB. Refuses paths that lead out of the run."""
    from runview.tui.pager import export_for_pager as export_text

    path = os.path.realpath(run_dir / rel)
    if not path.startswith(os.path.realpath(run_dir) + os.sep):
        raise OSError(0, "a link that leads out of the run")
    if kind in ("text", "patch", "empty"):
        export_text(Path(path), out)
        return
    found = peek(run_dir, rel)
    if found.kind == "error":
        raise OSError(0, found.error)
    out.write(f"{rel}: {found.size:,} bytes; the first {len(found.data):,} as hex\n")
    for row in _hex_rows(found.data):
        out.write(row + "\n")
