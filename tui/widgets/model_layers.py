"""A model summary document (model.json) read into layers: the tree the Model tab shows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runview.tui.safe_text import visible


def human_count(n: int) -> str:
    """``1234567`` as ``1.2M``: one decimal from a thousand up, exact below."""
    if abs(n) < 1000:
        return str(n)
    value = float(n)
    for unit in "KMBT":
        value /= 1000
        if abs(value) < 999.95 or unit == "T":
            return f"{value:.1f}{unit}"
    return str(n)  # pragma: no cover


def format_shape(shape: Any) -> str:
    """An output shape as ``1×16×28×28``; tuples of outputs in parentheses; text as given."""
    if shape is None:
        return ""
    if isinstance(shape, str):
        return shape
    if isinstance(shape, (list, tuple)):
        if all(isinstance(d, (int, float)) or d is None for d in shape):
            return "×".join("?" if d is None else str(d) for d in shape) if shape else "scalar"
        return "(" + ", ".join("None" if s is None else format_shape(s) for s in shape) + ")"
    if isinstance(shape, Mapping):
        return "{" + ", ".join(f"{k}: {format_shape(v)}" for k, v in shape.items()) + "}"
    return str(shape)


def _int(value: Any, default: int | None = None) -> int | None:
    return (
        int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
    )


@dataclass(slots=True)
class Layer:
    """One module of the model, placed in the tree."""

    index: int
    name: str  # full dotted name; "" for the root
    label: str  # the part of the name below its parent
    type: str
    shape: str
    params: int
    trainable: int
    subtree_params: int
    subtree_trainable: int
    parent: int  # -1 for the root
    shared: int = 0  # tied parameters already counted at an earlier layer
    depth: int = 0
    children: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ModelLayers:
    """The parsed ``model.json``: layers in module order, root first, plus the model's totals."""

    layers: list[Layer]
    total_params: int
    trainable_params: int
    source: str

    @property
    def layer_count(self) -> int:
        return len(self.layers) - 1  # the root is the model, not a layer

    def search(
        self, pattern: re.Pattern[str], limit: int | None = None
    ) -> tuple[list[int], set[int], int]:
        """Matching layers (by full name or type) in module order, those plus their ancestors, and
        how many matched in all; past ``limit`` shown nodes the rest of the matches are left out."""
        layers = self.layers
        matches: list[int] = []
        visible: set[int] = {0}
        total = 0
        for layer in layers[1:]:
            if not layer_matches(pattern, layer):
                continue
            total += 1
            if limit is not None and len(visible) >= limit:
                continue
            matches.append(layer.index)
            index = layer.index
            while index not in visible:
                visible.add(index)
                index = layers[index].parent
        return matches, visible, total


def layer_matches(pattern: re.Pattern[str], layer: Layer) -> bool:
    # The type too: people look for "the Conv2d layers" as often as for "encoder.layer.3".
    return bool(pattern.search(layer.name) or pattern.search(layer.type))


def parse_model(document: Mapping[str, Any]) -> ModelLayers:
    """Turn the ``model.json`` document into a tree; tolerant of missing fields and odd rows.

    A layer's parent is the nearest layer whose name is a dotted prefix of its own, so rows from
    any framework nest as long as their names are dotted; rows without one hang from the root.
    """
    given = document.get("layers")
    rows = [row for row in given if isinstance(row, Mapping)] if isinstance(given, list) else []
    root_row = next((row for row in rows if str(row.get("name") or "") == ""), None)
    if root_row is None:
        root_row = {
            "name": "",
            "type": str(document.get("type") or "model"),
            "params": 0,
            "trainable": 0,
        }
    else:
        rows = [row for row in rows if row is not root_row]
    layers: list[Layer] = []
    by_name: dict[str, int] = {}
    for row in [root_row, *rows]:
        name = visible(row.get("name") or "")
        params = _int(row.get("params"), 0) or 0
        layer = Layer(
            index=len(layers),
            name=name,
            label=name,
            type=visible(row.get("type") or ""),
            shape=format_shape(row.get("output_shape")),
            params=params,
            trainable=_int(row.get("trainable"), params) or 0,
            subtree_params=_int(row.get("subtree_params"), -1) or 0,  # -1: summed below
            subtree_trainable=_int(row.get("subtree_trainable"), -1) or 0,
            parent=-1,
            shared=_int(row.get("shared_params"), 0) or 0,
        )
        layers.append(layer)
        by_name.setdefault(name, layer.index)
    for layer in layers[1:]:
        parent, prefix = 0, layer.name
        while "." in prefix:
            prefix = prefix.rsplit(".", 1)[0]
            candidate = by_name.get(prefix)
            if candidate:  # not the root: names that hang from it have no dot
                parent = candidate
                break
        layer.parent = parent
        layer.label = layer.name[len(layers[parent].name) + 1 :] if parent else layer.name
        layer.label = layer.label or "(unnamed)"
        layers[parent].children.append(layer.index)
    _fill_depth_and_subtrees(layers)
    total = _int(document.get("total_params"))
    trainable_total = _int(document.get("trainable_params"))
    return ModelLayers(
        layers=layers,
        total_params=layers[0].subtree_params if total is None else total,
        trainable_params=layers[0].subtree_trainable
        if trainable_total is None
        else trainable_total,
        source=str(document.get("source") or ""),
    )


def _fill_depth_and_subtrees(layers: list[Layer]) -> None:
    # pre-order, iterative: models can be deeper than Python's recursion limit
    order: list[int] = []
    stack = [0]
    while stack:
        index = stack.pop()
        order.append(index)
        for child in layers[index].children:
            layers[child].depth = layers[index].depth + 1
            stack.append(child)
    for index in reversed(order):  # children before parents
        layer = layers[index]
        if layer.subtree_params < 0:
            layer.subtree_params = layer.params + sum(
                layers[c].subtree_params for c in layer.children
            )
        if layer.subtree_trainable < 0:
            layer.subtree_trainable = layer.trainable + sum(
                layers[c].subtree_trainable for c in layer.children
            )
