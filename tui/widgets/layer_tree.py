"""A model's layers as a tree with aligned columns, built lazily: thousands of layers stay fast."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from runview.tui.key_help import key_group
from runview.tui.textual_private import BulkTree
from runview.tui.widgets.model_layers import (
    Layer,
    ModelLayers,
    human_count,
    layer_matches,
)

EVERYTHING = Binding.Group("Expand all / collapse all")
GUIDE_DEPTH = 2
MIN_NAME = 16
GAP = "  "
# Nodes: past this, expanding all (or showing every match) would take seconds, and no one reads it.
EXPAND_ALL_LIMIT = 20_000
_EMPTY = Text("")
_TOGGLE = Style.from_meta({"toggle": True})  # what Tree's own click handler looks for


@dataclass(frozen=True, slots=True)
class Columns:
    """Widths of the tree's columns for one model at one widget width."""

    name: int  # the whole name column, tree guides included
    type: int
    shape: int
    params: int
    subtree: int
    fill: int = 0  # blank cells after the last column, so a row spans the widget

    def header(self) -> Text:
        shape_title = "output shape" if self.shape >= 12 else "output"
        return Text.assemble(
            _cell("name", self.name),
            GAP,
            _cell("type", self.type),
            GAP,
            _cell(shape_title, self.shape),
            GAP,
            _cell("params", self.params, right=True),
            GAP,
            _cell("subtree", self.subtree, right=True),
            " " * self.fill,
        )


def _cell(value: str, width: int, right: bool = False, style: str | Style = "") -> Text:
    """``value`` cut with an ellipsis or padded to exactly ``width`` cells (wide characters too)."""
    text = Text(value, style=style, no_wrap=True)
    text.truncate(max(width, 0), overflow="ellipsis")
    text.align("right" if right else "left", max(width, 0))
    return text


def _highlight(cell: Text, pattern: re.Pattern[str], value: str, style: Style) -> None:
    """Mark where ``pattern`` matches ``value`` inside ``cell``, which shows ``value`` from its
    start."""
    for found in pattern.finditer(value):
        if found.end() > found.start() and found.start() < len(cell):
            cell.stylize(style, found.start(), min(found.end(), len(cell)))


def display_label(layer: Layer) -> str:
    """What the name column shows: the name below the parent; the model's class for the root."""
    return layer.label if layer.index else layer.type or "model"


def fit_columns(model: ModelLayers, width: int) -> Columns:
    """Columns for ``width`` cells: names as wide as the widest (indent included), data columns as
    wide as their widest value within limits; on narrow screens type and shape give way first."""
    layers = model.layers
    type_w = min(max([4, *(cell_len(layer.type) for layer in layers)]), 22)
    shape_w = min(max([12, *(cell_len(layer.shape) for layer in layers)]), 20)
    params_w = max([6, *(len(human_count(layer.params)) for layer in layers)])
    subtree_w = max([7, *(len(human_count(layer.subtree_params)) for layer in layers)])
    name_need = 1 + max(
        layer.depth * GUIDE_DEPTH + (2 if layer.children else 0) + cell_len(display_label(layer))
        for layer in layers
    )
    fixed = params_w + subtree_w + 4 * len(GAP)
    spare = width - fixed - MIN_NAME
    if type_w + shape_w > spare:
        type_w = max(6, min(type_w, spare // 2))
        shape_w = max(6, spare - type_w)
    name_w = max(MIN_NAME, min(name_need, width - fixed - type_w - shape_w))
    return Columns(
        name_w,
        type_w,
        shape_w,
        params_w,
        subtree_w,
        max(0, width - fixed - type_w - shape_w - name_w),
    )


class LayerTree(BulkTree[int]):
    """Layers of a model; node data is the layer index. Children are added when first expanded."""

    HELP_TITLE = "In the layer tree"
    # Tree's own keys are declared again, with what they do here, so that ? lists them.
    BINDINGS: ClassVar[list[BindingType]] = [
        *key_group("Move", ("down,j", "cursor_down", "Down"), ("up,k", "cursor_up", "Up")),
        *key_group(
            "First / last layer", ("g", "scroll_home", "First"), ("G", "scroll_end", "Last")
        ),
        Binding("right,l", "expand_or_down", "Open, or step in", show=False),
        Binding("left,h", "collapse_or_up", "Close, or step out", show=False),
        Binding("enter,space", "toggle_node", "Open / close the layer", show=False),
        *key_group(
            "Next / previous sibling",
            ("shift+down", "cursor_next_sibling", "Next sibling"),
            ("shift+up", "cursor_previous_sibling", "Previous sibling"),
        ),
        # In the footer: e E Expand all / collapse all.
        Binding("e", "expand_everything", "Expand all", group=EVERYTHING),
        Binding("E", "collapse_everything", "Collapse all", group=EVERYTHING),
    ]

    DEFAULT_CSS = """
    LayerTree {
        scrollbar-gutter: stable;
        overflow-x: hidden;
        & > .layer-tree--match { text-style: bold reverse; }
        & > .layer-tree--context { color: $text-muted; }
        & > .layer-tree--muted { color: $text-muted; }
        & > .layer-tree--frozen { color: $text-muted; text-style: italic; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = Tree.COMPONENT_CLASSES | {
        "layer-tree--match",
        "layer-tree--context",
        "layer-tree--muted",
        "layer-tree--frozen",
    }

    class ColumnsChanged(Message):
        """The column widths changed (new model or new width); ``header`` lines up with them."""

        def __init__(self, header: Text) -> None:
            super().__init__()
            self.header = header

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", data=0, **kwargs)
        self.guide_depth = GUIDE_DEPTH
        self.auto_expand = True
        self.model: ModelLayers | None = None
        self.pattern: re.Pattern[str] | None = None
        self.matches: list[int] = []  # shown matches, in module order
        self.total_matches = 0
        self._visible: set[int] | None = None  # in a search: the matches and their ancestors
        self._filtered: set[int] = set()  # in a search: nodes showing only matches' ancestors
        self._unfiltered: set[str] | None = None  # open branches before the search began
        self._layer_nodes: dict[int, TreeNode[int]] = {}
        self._by_name: dict[str, int] = {}
        self._columns: Columns | None = None

    # -- building -----------------------------------------------------------------------------
    def set_model(self, model: ModelLayers) -> None:
        """Show a new model; keep open branches, search and cursor where the names still exist."""
        first = self.model is None
        expanded = None if first or self.pattern is not None else self._expanded_names()
        cursor = self._cursor_name()
        self.model = model
        self._by_name = {}
        for layer in model.layers:
            self._by_name.setdefault(layer.name, layer.index)
        self._fit_columns()
        if expanded is None:  # the first view: two levels open
            expanded = {layer.name for layer in model.layers if layer.depth <= 1}
        if self.pattern is not None:
            self._search(self.pattern)
            self._rebuild(set(), cursor)
        else:
            self._rebuild(self._indices(expanded), cursor)

    def set_filter(self, pattern: re.Pattern[str] | None) -> None:
        """Show only layers whose name matches ``pattern``, with their ancestors; None shows all."""
        cursor = self._cursor_name()
        if self.pattern is None and pattern is not None:
            self._unfiltered = self._expanded_names()
        self.pattern = pattern
        if self.model is None:
            return
        if pattern is None:
            # Back to the whole tree as it was, plus the way down to the layer under the cursor.
            self.matches, self._visible, self.total_matches = [], None, 0
            expanded = self._indices(self._unfiltered or set()) | self._ancestors(cursor)
            self._rebuild(expanded, cursor)
            return
        self._search(pattern)
        first = self.model.layers[self.matches[0]].name if self.matches else None
        self._rebuild(set(), first)

    def _search(self, pattern: re.Pattern[str]) -> None:
        assert self.model is not None
        self.matches, self._visible, self.total_matches = self.model.search(
            pattern, EXPAND_ALL_LIMIT
        )

    def action_expand_everything(self) -> None:
        """Open every branch (in a search: everything below the matches)."""
        if self.model is None:
            return
        if len(self.model.layers) > EXPAND_ALL_LIMIT:
            self.notify(
                f"{len(self.model.layers):,} layers are too many to expand at once; "
                "open branches with → or search with /",
                severity="warning",
            )
            return
        self._rebuild(set(range(len(self.model.layers))), self._cursor_name())

    def action_collapse_everything(self) -> None:
        """Close every branch but the model itself; the cursor goes to its top-level layer."""
        if self.model is None:
            return
        self._rebuild({0}, self._top_level(self._cursor_name()))

    def _rebuild(self, expanded: set[int], cursor: str | None) -> None:
        """Recreate the nodes (in a search: matches and their ancestors); then open ``expanded``."""
        assert self.model is not None
        with self.adding_many():
            self.clear()
            self.root.data = 0
            self._layer_nodes = {0: self.root}
            self._filtered = set()
            if self._visible is not None:
                self._add_matches()
            self._open(expanded | {0})
        self._restore_cursor(cursor)

    def _add_matches(self) -> None:
        """In a search: the nodes of the matches and their ancestors, ancestors open."""
        assert self.model is not None and self._visible is not None
        layers, visible = self.model.layers, self._visible
        self._filtered.add(0)  # the root shows only what matched, even when nothing did
        shown = {0: [child for child in layers[0].children if child in visible]}
        stack = [0]
        while stack:  # pre-order, so a parent's node exists before its children's
            index = stack.pop()
            for child in shown[index]:
                shown[child] = [c for c in layers[child].children if c in visible]
                if shown[child]:
                    self._filtered.add(child)
                # Opened as it is added (TreeNode.add's expand): no NodeExpanded per node.
                self._add(child, expand=bool(shown[child]))
            stack.extend(reversed(shown[index]))

    def _add(self, index: int, expand: bool) -> TreeNode[int]:
        layer = self.model.layers[index]  # type: ignore[union-attr]
        node = self._layer_nodes[layer.parent].add(
            _EMPTY, data=index, expand=expand, allow_expand=bool(layer.children)
        )
        self._layer_nodes[index] = node
        return node

    def _open(self, expanded: set[int]) -> None:
        """Open the root and, below it, every shown layer that is in ``expanded``.

        New nodes are added already open (``TreeNode.add(expand=...)``), so expanding thousands
        of layers posts no message per node; only a node that existed before (the root, a match
        in a search) is opened with ``expand()``.
        """
        stack = [0]
        while stack:
            index = stack.pop()
            node = self._layer_nodes[index]
            self._populate(index, expanded)
            if not node.is_expanded:
                node.expand()
            stack.extend(child.data for child in node.children if child.data in expanded)  # type: ignore[misc]

    def _populate(self, index: int, expanded: set[int] | frozenset[int] = frozenset()) -> None:
        """Add the children of a layer's node, once, those in ``expanded`` open; a search keeps
        only its matches' ancestors."""
        if index in self._filtered:
            return
        node = self._layer_nodes[index]
        if node.children:
            return
        for child in self.model.layers[index].children:  # type: ignore[union-attr]
            self._add(child, expand=child in expanded)

    @on(Tree.NodeExpanded)
    def _on_expanded(self, event: Tree.NodeExpanded[int]) -> None:
        node = event.node
        if node.data is not None and self._layer_nodes.get(node.data) is node:
            self._populate(node.data)

    # -- keys ----------------------------------------------------------------------------------
    def action_expand_or_down(self) -> None:
        """→: open a closed branch, or step into an open one."""
        node = self.cursor_node
        if node is None or node.data is None:
            return
        if node.allow_expand and not node.is_expanded:
            self._populate(node.data)
            node.expand()
        elif node.children:
            self.last_line  # noqa: B018 - builds the line index so the child has a line number
            self.move_cursor(node.children[0])

    def action_collapse_or_up(self) -> None:
        """←: close an open branch, or step out to the parent."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded and node is not self.root:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)

    # -- drawing -------------------------------------------------------------------------------
    def on_resize(self) -> None:
        self._fit_columns()

    def _fit_columns(self) -> None:
        if self.model is None:
            return
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        columns = fit_columns(self.model, width)
        if columns != self._columns:
            self._columns = columns
            self.refresh()  # Tree caches lines by widget width: a new width draws them anew
            self.post_message(self.ColumnsChanged(columns.header()))

    def get_label_width(self, node: TreeNode[int]) -> int:
        # Every label fills the row, so this is arithmetic; Tree would otherwise render each one.
        if self._columns is None or self.model is None or node.data is None:
            return 0
        columns = self._columns
        depth = self.model.layers[node.data].depth
        data = (
            columns.type
            + columns.shape
            + columns.params
            + columns.subtree
            + 4 * len(GAP)
            + columns.fill
        )
        return max(columns.name - depth * GUIDE_DEPTH, 4) + data

    def render_label(self, node: TreeNode[int], base_style: Style, style: Style) -> Text:
        if self.model is None or node.data is None or self._columns is None:
            return Text("")
        layer = self.model.layers[node.data]
        columns = self._columns
        name_width = max(columns.name - layer.depth * GUIDE_DEPTH, 4)
        text = Text()
        if node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            text.append(icon, base_style + _TOGGLE)
            name_width -= len(icon)
        label = display_label(layer)
        name = _cell(label, max(name_width, 1))
        muted = self.get_component_rich_style("layer-tree--muted", partial=True)
        kind = _cell(layer.type if layer.index else "", columns.type, style=muted)
        if self._visible is not None and self.pattern is not None and layer.index:
            if layer_matches(self.pattern, layer):
                match_style = self.get_component_rich_style("layer-tree--match", partial=True)
                _highlight(name, self.pattern, label, match_style)
                _highlight(kind, self.pattern, layer.type, match_style)
            elif layer.index in self._filtered:  # an ancestor shown only to place the matches
                name.stylize(self.get_component_rich_style("layer-tree--context", partial=True))
        frozen = layer.trainable < layer.params
        params_style = (
            self.get_component_rich_style("layer-tree--frozen", partial=True) if frozen else ""
        )
        text.append_text(name)
        text.append(GAP)
        text.append_text(kind)
        text.append(GAP)
        text.append_text(_cell(layer.shape, columns.shape))
        text.append(GAP)
        own = "tied" if layer.shared and not layer.params else human_count(layer.params)
        text.append_text(_cell(own, columns.params, right=True, style=params_style))
        text.append(GAP)
        text.append_text(_cell(human_count(layer.subtree_params), columns.subtree, right=True))
        text.append(" " * columns.fill)
        text.stylize(style)
        return text

    # -- helpers -------------------------------------------------------------------------------
    def process_label(self, label: Any) -> Text:
        # Labels are drawn from the layer by render_label; nodes carry one shared empty Text.
        return _EMPTY if label is _EMPTY or label == "" else super().process_label(label)

    def _expanded_names(self) -> set[str]:
        assert self.model is not None
        return {
            self.model.layers[i].name for i, node in self._layer_nodes.items() if node.is_expanded
        }

    def _indices(self, names: Iterable[str]) -> set[int]:
        return {self._by_name[name] for name in names if name in self._by_name}

    def _cursor_name(self) -> str | None:
        node = self.cursor_node
        if node is None or node.data is None or self.model is None:
            return None
        return self.model.layers[node.data].name

    def _ancestors(self, name: str | None) -> set[int]:
        assert self.model is not None
        index = self._by_name.get(name, -1) if name is not None else -1
        found: set[int] = set()
        while index > 0:
            index = self.model.layers[index].parent
            found.add(index)
        return found

    def _top_level(self, name: str | None) -> str | None:
        """The top-level layer above the layer called ``name`` (or itself), for collapse-all."""
        if name is None or self.model is None:
            return None
        layers = self.model.layers
        index = self._by_name.get(name, 0)
        while layers[index].depth > 1:
            index = layers[index].parent
        return layers[index].name

    def _restore_cursor(self, name: str | None) -> None:
        """Put the cursor on the layer called ``name``, or its nearest ancestor that is shown."""
        assert self.model is not None
        self.last_line  # noqa: B018 - builds the line index, giving nodes their line numbers
        index = self._by_name.get(name, 0) if name is not None else 0
        while index > 0:
            node = self._layer_nodes.get(index)
            if node is not None and node.line >= 0:
                break
            index = self.model.layers[index].parent
        self.move_cursor(self._layer_nodes[max(index, 0)])

    def layer_at_cursor(self) -> Layer | None:
        node = self.cursor_node
        if node is None or node.data is None or self.model is None:
            return None
        return self.model.layers[node.data]

    def shown_names(self) -> Iterable[str]:
        """Full names of the layers on the tree's lines, in order, scrolled out of view or not."""
        assert self.model is not None
        for line in range(self.last_line + 1):
            node = self.get_node_at_line(line)
            if node is not None and node.data is not None:
                yield self.model.layers[node.data].name
