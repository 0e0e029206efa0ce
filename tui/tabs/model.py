"""Model tab: the model's totals and its layers as a searchable, collapsible tree."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import Input, Static, Tree
from textual.worker import Worker

from runview.store import format as fmt
from runview.store.reader import RunSnapshot
from runview.tui.focus import focus_now, focused_now
from runview.tui.key_hold import after_typed_keys
from runview.tui.tabs.base import RunTab
from runview.tui.text_filter import AppliedText, filter_key, read_filter, text_box_keys
from runview.tui.widgets.layer_tree import LayerTree
from runview.tui.widgets.model_layers import Layer, ModelLayers, human_count, parse_model
from runview.tui.worker_failures import thread_worker

SEARCH_TIP = "layer names and types by a case-insensitive regex (an invalid one: as plain text)"
MISSING = (
    "no model summary in this run — call run.watch(model) before the first forward pass "
    "(PyTorch), or run.log_model_summary(rows) for any framework"
)


def _count(n: int) -> Text:
    """``11.7M (11,689,512)``: human units for reading, the exact number for checking."""
    text = Text(human_count(n), style="bold")
    if abs(n) >= 1000:
        text.append(f" ({n:,})")
    return text


def totals_text(model: ModelLayers, width: int) -> Text:
    """The model's parameter totals and layer count, wrapped between items to fit ``width``."""
    frozen = model.total_params - model.trainable_params
    parts = [
        Text.assemble("params ", _count(model.total_params)),
        Text.assemble("trainable ", _count(model.trainable_params)),
        Text.assemble("non-trainable ", _count(frozen)),
        Text.assemble(Text(f"{model.layer_count:,}", style="bold"), " layers"),
    ]
    if model.source:
        parts.append(Text(f"from {model.source}"))
    text = parts[0]
    line = text.cell_len
    for part in parts[1:]:
        if width > 0 and line + 3 + part.cell_len > width:
            text = Text.assemble(text, "\n", part)
            line = part.cell_len
        else:
            text = Text.assemble(text, " · ", part)
            line += 3 + part.cell_len
    return text


def detail_text(layer: Layer) -> Text:
    """Everything about the layer under the cursor, on one line."""
    text = Text(layer.name or "(model)", style="bold", no_wrap=True, overflow="ellipsis")
    if layer.type:
        text.append(f"  {layer.type}")
    if layer.shape:
        text.append(f"  out {layer.shape}")
    text.append(f"  own {layer.params:,}")
    if layer.trainable != layer.params:
        text.append(f" ({layer.trainable:,} trainable)")
    if layer.shared:
        text.append(f"  shares {layer.shared:,} counted earlier")
    if layer.children:
        text.append(f"  subtree {layer.subtree_params:,}")
        if layer.subtree_trainable != layer.subtree_params:
            text.append(f" ({layer.subtree_trainable:,} trainable)")
        n = len(layer.children)
        text.append(f"  {n:,} child" if n == 1 else f"  {n:,} children")
    return text


class ModelTab(RunTab):
    tab_name = "model"
    STYLES = ("model",)
    # Settled once its summary is shown (parsed off the UI thread) or said to be missing: "/"
    # searches only a summary, and "4/conv" typed in one burst must find one.
    settles_on_snapshot = True

    BINDINGS: ClassVar[list[BindingType]] = [
        filter_key("search", "Search", SEARCH_TIP),
        Binding("escape", "clear_search", "Clear search", show=False),
        *text_box_keys(),
        Binding("down", "focus_tree", show=False),  # from the search box down into the tree
    ]

    # A summary is shown (else the message saying how to log one): its keys work.
    has_model: var[bool] = var(False, toggle_class="-has-model", bindings=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._document: dict[str, Any] | None = None
        self._fingerprint: int | None = None
        self._model: ModelLayers | None = None
        self._search_applied = AppliedText()  # applied once (``AppliedText``)

    def compose(self) -> ComposeResult:
        yield Static("", id="model-empty", classes="empty-tab")
        with Vertical(id="model-body"):
            yield Static("", id="model-totals")
            with Horizontal(id="model-search-bar"):
                yield Input(
                    placeholder="/ search layers by name or type (regex)", id="model-search"
                )
                yield Static("", id="model-matches")
            yield Static("", id="model-columns")
            yield LayerTree(id="layer-tree")
            yield Static("", id="model-detail")

    def focus_default(self) -> None:
        if self.has_model:
            focus_now(self.query_one(LayerTree))
        else:
            # not a hidden tab's widget: its keys would show in the footer
            self.screen.set_focus(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Without a summary there is nothing to search: hide the key from the footer.
        if action in ("text_box_done", "text_box_cancel"):
            return focused_now(self.query_one("#model-search", Input))
        return action != "search" or (self.has_model and not self.text_box_focused())

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        document = snapshot.model
        if document is not None and document is self._document:
            return  # the reader re-parses model.json only when the file changed
        self._document = document
        if document is None:
            waiting = snapshot.liveness.state == fmt.STATE_RUNNING
            self._show_missing(MISSING + ("; this tab updates when it appears" if waiting else ""))
            return
        self._parse(document)

    class Parsed(Message):
        """A model.json document was fingerprinted and parsed off the UI thread."""

        def __init__(
            self, document: dict, fingerprint: int, model: ModelLayers | None, error: str | None
        ) -> None:
            super().__init__()
            self.document, self.fingerprint, self.model, self.error = (
                document,
                fingerprint,
                model,
                error,
            )

    @thread_worker(group="model", description="parse model.json")
    def _parse(self, document: dict) -> None:
        # Tens of milliseconds at 5k layers, a quarter second at 50k: not on the UI thread.
        fingerprint = hash(repr(document))
        try:
            model, error = parse_model(document), None
        # a document this viewer does not understand must not take the page down
        except Exception as exc:
            model, error = None, f"model.json could not be shown: {exc!r}"
        self.post_message(self.Parsed(document, fingerprint, model, error))

    @on(Parsed)
    def _on_parsed(self, message: Parsed) -> None:
        if message.document is not self._document:
            return  # a newer document is on its way
        if message.fingerprint == self._fingerprint:
            return  # rewritten with the same content: keep the tree, its cursor and open branches
        self._fingerprint = message.fingerprint
        model = message.model
        if model is None:
            self._show_missing(message.error or "model.json could not be shown")
            return
        if model.layer_count == 0 and not model.total_params:
            self._show_missing("model.json has no layers — " + MISSING.split(" — ", 1)[1])
            return
        had_model, self._model = self.has_model, model
        self.has_model = True
        if not had_model:
            self.focus_default()  # the tab opened (or the summary appeared) with nothing to focus
        self._show_totals()
        self.query_one(LayerTree).set_model(model)
        self._show_matches()
        self._highlighted()
        self.mark_settled()

    def on_resize(self) -> None:
        self._show_totals()

    def _show_totals(self) -> None:
        if self._model is not None:
            totals = self.query_one("#model-totals", Static)
            totals.update(
                totals_text(self._model, totals.content_region.width or self.size.width - 2)
            )

    def _show_missing(self, message: str) -> None:
        self._fingerprint, self._model = None, None
        if self.app.focused is not None and self.app.focused in self.query("#model-body *"):
            self.app.set_focus(None)
        self.query_one("#model-empty", Static).update(Text(message))
        self.has_model = False
        self.mark_settled()

    def worker_ended_unanswered(self, worker: Worker[Any]) -> None:
        self.mark_settled()  # the parse failed: nothing more will come to wait for

    # -- search ----------------------------------------------------------------------------------
    def action_search(self) -> None:
        if self.has_model:
            focus_now(self.query_one("#model-search", Input))

    def action_clear_search(self) -> None:
        after_typed_keys(self.query_one("#model-search", Input), self._clear_search)

    def _clear_search(self) -> None:
        self.query_one("#model-search", Input).value = ""
        self._search_done()

    def action_text_box_done(self) -> None:
        after_typed_keys(self.query_one("#model-search", Input), self._search_done)

    def _search_done(self) -> None:
        self._apply_search()
        self.focus_default()

    def action_text_box_cancel(self) -> None:
        self.action_clear_search()

    def action_focus_tree(self) -> None:
        self.focus_default()

    @on(Input.Changed, "#model-search")
    def _apply_search(self) -> None:
        box = self.query_one("#model-search", Input)
        if not self._search_applied.is_new(box):
            return
        # Unlike the other filter boxes, an invalid regex is searched for literally, so typing
        # "conv(" still finds something while the box says the regex is invalid.
        pattern, valid = read_filter(box, literal_fallback=True)
        self.query_one(LayerTree).set_filter(pattern)
        self._show_matches(valid)
        self._highlighted()

    def _show_matches(self, valid: bool = True) -> None:
        tree = self.query_one(LayerTree)
        label = self.query_one("#model-matches", Static)
        if tree.pattern is None or tree.model is None:
            label.update("")
            return
        text = Text()
        if not valid:
            text.append("invalid regex, matching as text · ", style="bold")
        shown, found = len(tree.matches), tree.total_matches
        if not found:
            text.append("no layer matches")
        elif shown < found:
            text.append(f"first {shown:,} of {found:,} matches shown")
        else:
            text.append(f"{found:,} of {tree.model.layer_count:,} match")
        label.update(text)

    # -- tree ------------------------------------------------------------------------------------
    @on(LayerTree.ColumnsChanged)
    def _columns_changed(self, event: LayerTree.ColumnsChanged) -> None:
        self.query_one("#model-columns", Static).update(event.header)

    @on(Tree.NodeHighlighted, "#layer-tree")
    def _highlighted(self) -> None:
        layer = self.query_one(LayerTree).layer_at_cursor()
        self.query_one("#model-detail", Static).update(detail_text(layer) if layer else "")
