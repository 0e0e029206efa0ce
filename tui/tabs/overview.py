"""Overview: who and what the run is, its status, its config and its summary."""

from __future__ import annotations

import re
import shlex
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import var
from textual.widgets import Input, Label, Static

from runview.store.failure import Failure
from runview.tui.focus import focus_now, focused_now
from runview.tui.key_hold import after_typed_keys
from runview.tui.safe_text import safe_text, visible
from runview.tui.tabs.base import RunTab
from runview.tui.text_filter import AppliedText, filter_key, read_filter, text_box_keys
from runview.tui.widgets.kv_table import KeyValueTable
from runview.tui.widgets.status_badge import format_duration

if TYPE_CHECKING:
    from runview.store.reader import RunSnapshot

DIGIT = re.compile(r"[0-9]")


class OverviewTab(RunTab):
    tab_name = "overview"
    STYLES = ("overview",)
    WIDE = 140  # from this width the facts take two columns, so the tables start higher
    BINDINGS: ClassVar[list[BindingType]] = [
        filter_key("filter", "Filter", "config and summary keys by a regex, case-insensitive"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        *text_box_keys(),
    ]

    # The filter box takes no rows until "/" opens it.
    filtering: var[bool] = var(False, toggle_class="-filtering")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._snapshot: RunSnapshot | None = None
        self._config: dict[str, Any] | None = None  # the config last shown
        self._facts_shape: object = None  # what the facts' height depends on, as last shown
        self._filter_applied = AppliedText()  # applied once (``AppliedText``)

    def compose(self) -> ComposeResult:
        # Focusable: at 80x24 the facts can be longer than their share of the screen, and the
        # keyboard must reach what is below (tab, then arrows or page keys).
        with VerticalScroll(id="facts-scroll"):
            yield Static("", id="facts")
        yield Input(placeholder="filter config and summary (regex) — esc clears", id="kv-filter")
        with Horizontal(id="kv-tables"):
            with Vertical(classes="kv-column"):
                yield Label("Config", classes="section-title")
                yield KeyValueTable(id="config-table")
            with Vertical(classes="kv-column"):
                yield Label("Summary", classes="section-title")
                yield KeyValueTable(id="summary-table")

    def focus_default(self) -> None:
        # Now, not deferred: a key typed right behind the digit that showed this tab ("1/") is
        # routed by the focus, and the tab left behind still had it.
        focus_now(self.query_one("#summary-table"), scroll_visible=False)

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        self._snapshot = snapshot
        self._show_facts()
        if snapshot.config is not self._config:  # the reader keeps the same object while unchanged
            self._config = snapshot.config
            self.query_one("#config-table", KeyValueTable).set_data(snapshot.config)
        self.query_one("#summary-table", KeyValueTable).set_data(snapshot.summary)

    def on_resize(self) -> None:
        self._show_facts()

    def _show_facts(self) -> None:
        snapshot = self._snapshot
        if snapshot is not None:
            pairs = 2 if self.size.width >= self.WIDE else 1
            rows = facts_rows(snapshot, pairs)
            # A live run's facts change at every update (steps, runtime), nearly always only in
            # their digits: the same rows with the same lengths and spaces wrap the same, so the
            # grid keeps its height and the page is not laid out again (four times a second).
            shape = (
                self.size.width,
                [(label.plain, DIGIT.sub("0", value.plain)) for label, value in rows],
            )
            layout, self._facts_shape = shape != self._facts_shape, shape
            self.query_one("#facts", Static).update(facts_grid(rows, pairs), layout=layout)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("text_box_done", "text_box_cancel"):
            return focused_now(self.query_one("#kv-filter", Input))
        return action != "filter" or not self.text_box_focused()

    def action_filter(self) -> None:
        self.filtering = True
        focus_now(self.query_one("#kv-filter", Input))

    def action_clear_filter(self) -> None:
        after_typed_keys(self.query_one("#kv-filter", Input), self._clear_filter)

    def _clear_filter(self) -> None:
        self.query_one("#kv-filter", Input).value = ""
        self.filtering = False
        self._filter_done()

    def action_text_box_done(self) -> None:
        after_typed_keys(self.query_one("#kv-filter", Input), self._filter_done)

    def _filter_done(self) -> None:
        self._apply_filter()
        focus_now(self.query_one("#summary-table"), scroll_visible=False)

    def action_text_box_cancel(self) -> None:
        self.action_clear_filter()

    @on(Input.Changed, "#kv-filter")
    def _apply_filter(self) -> None:
        box = self.query_one("#kv-filter", Input)
        if not self._filter_applied.is_new(box):
            return
        pattern, valid = read_filter(box)
        if not valid:
            return  # keep the last valid filter
        for table in self.query(KeyValueTable):
            table.set_filter(pattern)


def facts_rows(snapshot: RunSnapshot, pairs: int = 1) -> list[tuple[Text, Text]]:
    """The run's identity and provenance as label/value pairs, all Text (never markup)."""
    meta = snapshot.meta
    rows: list[tuple[Text, Text]] = []

    def row(label: str, value: object) -> None:
        if value not in (None, "", [], {}):
            rows.append((Text(label), value if isinstance(value, Text) else safe_text(value)))

    state = Text(snapshot.liveness.state, style="bold")
    if snapshot.liveness.reason not in (snapshot.liveness.state, ""):
        state.append(f" — {visible(snapshot.liveness.reason)}")
    row("name", meta.get("name") or snapshot.path.name)
    row("notes", meta.get("notes"))
    row("tags", ", ".join(str(t) for t in meta.get("tags") or []))
    row("status", state)
    failure = Failure.from_status(snapshot.status)
    if failure is not None and failure.location is not None:
        row("raised at", str(failure.location))
    runtime = format_duration(snapshot.runtime)
    start = meta.get("start_time")
    if isinstance(start, (int, float)):
        runtime += f"  (started {datetime.fromtimestamp(start).strftime('%Y-%m-%d %H:%M:%S')})"
    row("runtime", runtime)
    host = " · ".join(
        str(p) for p in (meta.get("host"), meta.get("os"), _python(meta, wide=pairs > 1)) if p
    )
    row("host", host)
    argv = meta.get("argv")
    if isinstance(argv, list):
        row("command", shlex.join(str(a) for a in argv))
    row("cwd", meta.get("cwd"))
    git = meta.get("git")
    if isinstance(git, dict):
        commit = str(git.get("commit", ""))[:12]
        extra = " (dirty)" if git.get("dirty") else ""
        remote = f"  {git['remote']}" if git.get("remote") else ""
        row("git", f"{commit} {git.get('branch', '')}{extra}{remote}".strip())
    gpu = meta.get("gpu")
    if isinstance(gpu, dict):
        devices = gpu.get("devices") or []
        row(
            "gpu",
            ", ".join(f"{d.get('index')}: {d.get('name')}" for d in devices) or gpu.get("reason"),
        )
    running = snapshot.liveness.state == "running"
    data = (
        f"{snapshot.history.rows} steps"
        if snapshot.history.rows
        else ("no rows logged yet" if running else "no rows logged")
    )
    if snapshot.system.rows:
        data += f" · {snapshot.system.rows} system samples"
    row("history", data)
    row("directory", str(snapshot.path))
    return rows


def facts_grid(rows: list[tuple[Text, Text]], pairs: int = 1) -> Table:
    """``rows`` laid out in ``pairs`` label/value column pairs, filled column by column."""
    grid = Table.grid(padding=(0, 2), expand=pairs > 1)
    for _ in range(pairs):
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold", ratio=1)
    per_column = -(-len(rows) // pairs)
    for i in range(per_column):
        cells: list[Text] = []
        for p in range(pairs):
            index = p * per_column + i
            cells.extend(rows[index] if index < len(rows) else (Text(""), Text("")))
        grid.add_row(*cells)
    return grid


def _python(meta: dict, wide: bool) -> str:
    version = meta.get("python")
    if not version:
        return ""
    return (
        f"Python {version} ({meta['executable']})"
        if wide and meta.get("executable")
        else f"Python {version}"
    )
