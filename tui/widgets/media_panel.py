"""Logged media of a run: pick a key, step through its steps, see its images or its table.

Decoding, scaling and table loading run in a thread worker (group ``media``); the worker posts
ready-made renderables back, so the UI thread never touches a media file. Decoded images are
cached by path (the file names hold a content hash, so a path never changes meaning). What the
panel shows (media or not, images or a table, a message) is reactives that set classes, laid out
in ``styles/media.tcss``.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from runview.store import format as fmt
from runview.store.media import MediaError, load_image, load_table, resolve
from runview.tui.key_help import hint_line, key_group, key_sections
from runview.tui.widgets.chart import no_color
from runview.tui.widgets.halfblock import HalfBlockImage
from runview.tui.worker_failures import ReportsWorkerFailures, thread_worker

MIN_TILE_W, MIN_TILE_H, GAP = 8, 3, 1
MAX_TABLE_ROWS = 5000
CACHE_SIZE = 256
EMPTY = "no media logged yet — run.log({'val/examples': [runview.Image(array)]}) shows here"
HELP_TITLE = "Media panel (m)"
STEP = Binding.Group("Step")


def format_step(step: float) -> str:
    return str(int(step)) if float(step).is_integer() else f"{step:g}"


def grid_shape(count: int, width: int, height: int, aspect: float) -> tuple[int, int, int]:
    """(columns, tile width, tile height in cells) for ``count`` images of width/height ``aspect``.

    Picks the column count that draws the images largest while all of them fit; when none
    fits, tiles of the minimum width and the panel scrolls.
    """
    best: tuple[float, int, int, int] | None = None
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        tile_w = (width - GAP * (cols - 1)) // cols
        tile_h = height // rows - 1  # one line for the caption
        if tile_w < MIN_TILE_W or tile_h < MIN_TILE_H:
            continue
        size = min(tile_w, 2 * tile_h * aspect)  # drawn width in cells
        if best is None or size > best[0]:
            best = (size, cols, tile_w, tile_h)
    if best is not None:
        return best[1], best[2], best[3]
    cols = max(1, min(count, (width + GAP) // (MIN_TILE_W * 2 + GAP)))
    tile_w = max(MIN_TILE_W, (width - GAP * (cols - 1)) // cols)
    return cols, tile_w, max(MIN_TILE_H, int(tile_w / aspect / 2))


def cell_text(value: Any) -> Text:
    if value is None:
        return Text("null", style="dim")
    if isinstance(value, bool):
        return Text(str(value).lower())
    if isinstance(value, (int, float)):
        return Text(f"{value:.6g}" if isinstance(value, float) else str(value), justify="right")
    return Text(str(value), no_wrap=True, overflow="ellipsis")


class MediaKeys(OptionList):
    """The logged media keys; the highlighted one is shown."""

    HELP_TITLE = HELP_TITLE
    BINDINGS: ClassVar[list[BindingType]] = key_group(
        "Pick a media key", ("up", "cursor_up", "Previous key"), ("down", "cursor_down", "Next key")
    )


class MediaPanel(ReportsWorkerFailures, Container):
    """Media keys on the left; the chosen key's images or table at one step on the right."""

    HELP_TITLE = HELP_TITLE
    STYLES = ("media",)  # tui/styles, added before the Charts tab mounts it (``stylesheets``)
    # priority: the keys list would take the arrows first
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("comma,left", "step(-1)", "Prev step", priority=True, group=STEP),
        Binding("full_stop,right", "step(1)", "Next step", priority=True, group=STEP),
        *key_group(
            "First / last step",
            ("home", "edge(0)", "First step"),
            ("end", "edge(-1)", "Last step"),
            priority=True,
        ),
    ]

    has_media: var[bool] = var(False, toggle_class="-has-media")
    kind: var[str] = var("")  # what is drawn: fmt.MEDIA_IMAGES, fmt.MEDIA_TABLE or ""
    message: var[str] = var("", toggle_class="-message")  # a problem, or rows left out

    @dataclass
    class ImagesDrawn(Message):
        """The worker drew request ``seq``'s images into ``renderable``."""

        seq: int
        renderable: Any

    @dataclass
    class TableLoaded(Message):
        """The worker read request ``seq``'s table, or says why it could not."""

        seq: int
        columns: list[str]
        rows: list[list[Any]]
        error: str | None

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.run_dir: Path | None = None
        self.media: Mapping[str, tuple[tuple[float, Any], ...]] = {}
        self.key: str | None = None
        self.index = -1  # into media[key] (one entry per step); -1 follows the newest step
        self._shown: tuple[Any, ...] | None = None  # what is on screen, to skip equal redraws
        self._seq = 0
        self._cache: OrderedDict[Path, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.decodes = 0  # files decoded so far (tests read it to check the cache)
        self.drawn: Any = None  # the image grid on screen
        self._keys_hint = hint_line(key_sections([type(self)]))  # from BINDINGS, so it cannot drift
        # Mounted with the media it shows (``ChartsTab``): shown once its widgets exist.
        self._pending: tuple[Path, Mapping[str, tuple[tuple[float, Any], ...]]] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(EMPTY), classes="media-empty")
        with Horizontal(classes="media-body"):
            yield MediaKeys(classes="media-keys")
            with Vertical(classes="media-view"):
                yield Static("", classes="media-step")
                with VerticalScroll(classes="media-images-scroll"):
                    yield Static("", classes="media-images")
                yield DataTable(classes="media-table", cursor_type="row", zebra_stripes=True)
                yield Static("", classes="media-message")

    def on_mount(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self.show_media(*pending)

    def watch_kind(self, kind: str) -> None:
        self.set_class(kind == fmt.MEDIA_IMAGES, "-images")
        self.set_class(kind == fmt.MEDIA_TABLE, "-table")

    def watch_message(self, message: str) -> None:
        self.query_one(".media-message", Static).update(Text(message))

    @property
    def steps(self) -> tuple[tuple[float, Any], ...]:
        # The reader keeps one (step, ref) per step, in order.
        return self.media.get(self.key, ()) if self.key is not None else ()

    @property
    def current(self) -> tuple[int, float, Any] | None:
        """(position, step, ref) shown now, or None."""
        steps = self.steps
        if not steps:
            return None
        position = len(steps) - 1 if self.index < 0 else min(self.index, len(steps) - 1)
        return position, steps[position][0], steps[position][1]

    def focus_default(self) -> None:
        self.query_one(MediaKeys).focus()

    # -- data -----------------------------------------------------------------------------------
    def show_media(self, run_dir: Path, media: Mapping[str, tuple[tuple[float, Any], ...]]) -> None:
        """New snapshot: refresh the key list, keep the chosen step (or follow the newest)."""
        if not self.children:  # not composed yet: on_mount shows it
            self._pending = (run_dir, media)
            return
        self.run_dir = run_dir
        keys_changed = list(media) != list(self.media)
        steps_before = len(self.steps)
        self.media = media
        self.has_media = bool(media)
        if keys_changed:
            keys = sorted(media)
            options = self.query_one(MediaKeys)
            options.set_options(Option(Text(f"{k}  {self._kind(k)}"), id=k) for k in keys)
            if self.key not in media:
                self.key = keys[0] if keys else None
                self.index = -1
            if self.key is not None:
                options.highlighted = keys.index(self.key)
        if (steps_before > 1) != (len(self.steps) > 1):
            self.refresh_bindings()  # the step keys appear with a second step
        self.refresh_view()

    def _kind(self, key: str) -> str:
        entries = self.media.get(key) or ()
        ref = entries[-1][1] if entries else {}
        return "table" if ref.get(fmt.MEDIA_TYPE_KEY) == fmt.MEDIA_TABLE else "images"

    @on(OptionList.OptionHighlighted, ".media-keys")
    def _on_key(self, event: OptionList.OptionHighlighted) -> None:
        key = event.option.id
        if key != self.key and key in self.media:
            self.key, self.index = key, -1
            self.refresh_bindings()
            self.refresh_view()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("step", "edge"):
            return len(self.steps) > 1  # one step (or none): nothing to step through
        return True

    def action_step(self, delta: int) -> None:
        current = self.current
        if current is None:
            return
        position = max(0, min(len(self.steps) - 1, current[0] + delta))
        self.index = -1 if position == len(self.steps) - 1 else position
        self.refresh_view()

    def action_edge(self, which: int) -> None:
        self.index = -1 if which < 0 or len(self.steps) <= 1 else 0
        self.refresh_view()

    def on_resize(self) -> None:
        self._shown = None
        self.call_after_refresh(self.refresh_view)

    # -- drawing --------------------------------------------------------------------------------
    def refresh_view(self) -> None:
        """Draw the chosen key at the chosen step; the work itself goes to a thread worker."""
        view = self.query_one(".media-view")
        if self.run_dir is None or not view.size.width:
            return  # hidden (a resize brings us back): cost nothing per snapshot
        current = self.current
        if current is None:
            return
        position, step, ref = current
        total = len(self.steps)
        label = Text.assemble(
            (self.key or "", "bold"), f"  step {format_step(step)} ({position + 1} of {total})"
        )
        label.append(f"   {self._keys_hint}", style="dim")
        self.query_one(".media-step", Static).update(label)
        size = (view.size.width, view.size.height - 1)  # less the step line
        kind = ref.get(fmt.MEDIA_TYPE_KEY) if isinstance(ref, dict) else None
        shown = (self.key, step, repr(ref), size, no_color())
        if shown == self._shown:
            return
        self._shown = shown
        self._seq += 1
        self.kind = kind if kind in (fmt.MEDIA_IMAGES, fmt.MEDIA_TABLE) else ""
        self.message = ""
        if kind == fmt.MEDIA_IMAGES:
            items = [item for item in ref.get("items") or () if isinstance(item, dict)]
            self._draw_images(
                self._seq, self.run_dir, items, max(1, size[0] - 1), max(1, size[1]), no_color()
            )
        elif kind == fmt.MEDIA_TABLE:
            self._load_table(self._seq, self.run_dir, ref.get("path"))
        else:
            self.message = f"cannot show media of type {kind!r}: this runview does not know it"

    def _decoded(self, path: Path) -> np.ndarray:
        with self._cache_lock:
            if path in self._cache:
                self._cache.move_to_end(path)
                return self._cache[path]
        pixels = load_image(path)  # errors are not cached: a missing file may still arrive
        with self._cache_lock:
            self.decodes += 1
            self._cache[path] = pixels
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return pixels

    @thread_worker(group="media", description="decode media")
    def _draw_images(
        self,
        seq: int,
        run_dir: Path,
        items: list[dict[str, Any]],
        width: int,
        height: int,
        plain: bool,
    ) -> None:
        worker = get_current_worker()
        if not items:
            self.post_message(self.ImagesDrawn(seq, Text("this step holds no images")))
            return
        first = items[0]
        w, h = first.get("width"), first.get("height")
        aspect = w / h if isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0 else 1.0
        cols, tile_w, tile_h = grid_shape(len(items), width, height, aspect)
        grid = Table.grid(padding=(0, GAP, 0, 0))
        for _ in range(cols):
            grid.add_column(width=tile_w, no_wrap=True)
        cells = []
        for number, item in enumerate(items):
            if worker.is_cancelled:
                return
            try:
                pixels = self._decoded(resolve(run_dir, item.get("path")))
                picture: Any = HalfBlockImage.from_pixels(pixels, tile_w, tile_h, no_color=plain)
            except MediaError as exc:
                picture = Text(f"⚠ {exc}", style="bold red" if not plain else "", overflow="fold")
            except Exception as exc:  # a damaged file must never take the panel down
                picture = Text(f"⚠ cannot show {item.get('path')}: {exc!r}", overflow="fold")
            caption = item.get("caption")
            label = Text(
                str(caption) if caption is not None else f"#{number}",
                style="dim",
                no_wrap=True,
                overflow="ellipsis",
            )
            cells.append(Group(picture, label))
        for start in range(0, len(cells), cols):
            row = cells[start : start + cols]
            grid.add_row(*row, *([""] * (cols - len(row))))
        self.post_message(self.ImagesDrawn(seq, grid))

    @thread_worker(group="media", description="decode media")
    def _load_table(self, seq: int, run_dir: Path, path: Any) -> None:
        try:
            columns, rows = load_table(resolve(run_dir, path))
            self.post_message(self.TableLoaded(seq, columns, rows, None))
        except MediaError as exc:
            self.post_message(self.TableLoaded(seq, [], [], str(exc)))
        except Exception as exc:
            self.post_message(self.TableLoaded(seq, [], [], f"cannot show {path}: {exc!r}"))

    @on(ImagesDrawn)
    def _on_images(self, event: ImagesDrawn) -> None:
        if event.seq == self._seq:
            self.drawn = event.renderable
            self.query_one(".media-images", Static).update(event.renderable)

    @on(TableLoaded)
    def _on_table(self, event: TableLoaded) -> None:
        if event.seq != self._seq:
            return
        table = self.query_one(".media-table", DataTable)
        table.clear(columns=True)
        if event.error is not None:
            self.kind = ""
            self.message = f"⚠ {event.error}"
            return
        table.add_columns(*(Text(c) for c in event.columns))
        width = len(event.columns)
        rows = event.rows[:MAX_TABLE_ROWS]
        table.add_rows(
            [cell_text(v) for v in (row + [None] * (width - len(row)))[:width]] for row in rows
        )
        if len(event.rows) > len(rows):
            self.message = f"first {len(rows)} of {len(event.rows)} rows"
