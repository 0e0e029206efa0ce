"""A model's layer tree (types, parameter counts, output shapes) for the run page's Model tab.

``watch`` takes the tree from a PyTorch model's first forward pass; ``summary_from_rows`` takes it
from plain rows, for any framework. Both give the same document (``model.json``, described in
docs/model-summary.md). torch is imported only inside functions: importing this module must not
pull torch into a process that does not use it.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

FORMAT = 1
SHAPE_ITEMS = 16  # a tuple/list/dict output records at most this many entries, nested at most
SHAPE_DEPTH = 3  # this deep, so one odd module cannot blow up model.json
_HISTOGRAM_LOGS = {"gradients", "parameters", "all"}
_warned_log = False


def watch(
    model: Any,
    on_summary: Callable[[dict[str, Any]], None],
    log: str | None = None,
    log_freq: int | None = 1000,
    stacklevel: int = 1,
) -> Callable[[], None]:
    """Summarise ``model`` after its first forward pass and hand the document to ``on_summary``.

    Forward hooks on every module record output shapes during the first pass through the model
    and remove themselves when it ends. ``log``/``log_freq`` are accepted as wandb's ``watch``
    takes them; histograms are not recorded, and asking for them warns once, attributed to the
    caller ``stacklevel`` frames up (1: whoever called ``watch``). Returns a function
    that removes any hooks still attached (and, if the model never ran forward, summarises it
    without output shapes).
    """
    _warn_about_log(log, stacklevel)
    modules = list(model.named_modules())
    names = {id(module): name for name, module in modules}
    shapes: dict[str, Any] = {}
    handles: list[Any] = []
    state = {"done": False}

    def finish() -> None:
        if state["done"]:
            return
        state["done"] = True
        for handle in handles:
            handle.remove()
        handles.clear()
        try:
            on_summary(summary_from_torch(model, shapes))
        except Exception as exc:  # never into training: the summary is a side show
            _warn(f"runview: model summary not recorded: {exc!r}")

    def record(module: Any, args: Any, output: Any) -> None:
        try:
            name = names.get(id(module))
            if name is not None and name not in shapes:
                shapes[name] = output_shape(output)
            if module is model:
                finish()
        except Exception:
            pass

    try:
        for _, module in modules:
            handles.append(module.register_forward_hook(record))
    except Exception:
        for handle in handles:
            handle.remove()
        raise

    def unwatch() -> None:
        try:
            finish()
        except Exception:
            pass

    return unwatch


def summary_from_torch(model: Any, input_shapes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary document of a ``torch.nn.Module``.

    ``input_shapes`` maps dotted module names to the output shapes seen in a forward pass (what
    ``watch`` records); modules without one get ``output_shape: null``. A parameter shared by
    several modules (tied weights) is counted once, at the first module that holds it in module
    order, so the totals equal torch's count of unique parameters.
    """
    shapes = input_shapes or {}
    counted: set[int] = set()
    layers: list[dict[str, Any]] = []
    for name, module in model.named_modules():
        own = trainable = shared = 0
        for param in module._parameters.values():
            if param is None:
                continue
            if id(param) in counted:
                shared += _numel(param)
                continue
            counted.add(id(param))
            count = _numel(param)
            own += count
            if param.requires_grad:
                trainable += count
        layer = {
            "name": name,
            "type": type(module).__name__,
            "output_shape": shapes.get(name),
            "params": own,
            "trainable": trainable,
        }
        if shared:
            layer["shared_params"] = shared
        layers.append(layer)
    return _document("torch", layers)


def summary_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The summary document from framework-free rows.

    Each row has ``name`` (dotted: ``encoder.layers.0.attn``; ``""`` is the root), and optionally
    ``type``, ``output_shape`` (or ``shape``), ``params`` (the layer's own parameters) and
    ``trainable`` (defaults to ``params``). Dots give the tree: missing ancestors are added with
    type ``""`` and no parameters, and a root of type ``"Model"`` is added when no row is ``""``.
    Layers come out in depth-first order, children in the order they first appear.
    """
    given: dict[str, dict[str, Any]] = {}
    children: dict[str, list[str]] = {"": []}
    linked: set[str] = set()
    for row in rows:
        name = str(row.get("name") or "")
        if name in given:
            continue  # the first row for a name wins
        params = _count(row.get("params"))
        trainable = _count(row.get("trainable", params))
        shape = row.get("output_shape", row.get("shape"))
        given[name] = {
            "name": name,
            "type": str(row.get("type") or ""),
            "output_shape": _jsonable_shape(shape),
            "params": params,
            "trainable": min(trainable, params),
        }
        _link(name, children, linked)
    if "" not in given:
        given[""] = {"name": "", "type": "Model", "output_shape": None, "params": 0, "trainable": 0}
    layers: list[dict[str, Any]] = []
    stack = [""]
    while stack:
        name = stack.pop()
        layer = given.get(name) or {
            "name": name,
            "type": "",
            "output_shape": None,
            "params": 0,
            "trainable": 0,
        }
        layers.append(layer)
        stack.extend(reversed(children.get(name, [])))
    return _document("rows", layers)


def _link(name: str, children: dict[str, list[str]], linked: set[str]) -> None:
    """Add ``name`` and its missing ancestors to the parent -> children map, once each."""
    while name and name not in linked:
        linked.add(name)
        parent = name.rpartition(".")[0]
        children.setdefault(parent, []).append(name)
        name = parent


def _document(source: str, layers: list[dict[str, Any]]) -> dict[str, Any]:
    """Add depth and subtree counts to layers in depth-first order, root first."""
    index: dict[str, int] = {}
    parents: list[int] = []
    for i, layer in enumerate(layers):
        name = layer["name"]
        layer["depth"] = 0 if name == "" else name.count(".") + 1
        layer["subtree_params"] = layer["params"]
        layer["subtree_trainable"] = layer["trainable"]
        index[name] = i
        parents.append(-1 if i == 0 else _parent_index(name, index))
    # Children come after their parents, so one backwards pass adds every subtree up.
    for i in range(len(layers) - 1, 0, -1):
        parent = parents[i]
        if parent >= 0:
            layers[parent]["subtree_params"] += layers[i]["subtree_params"]
            layers[parent]["subtree_trainable"] += layers[i]["subtree_trainable"]
    ordered = [
        {
            "name": layer["name"],
            "type": layer["type"],
            "depth": layer["depth"],
            "output_shape": layer["output_shape"],
            "params": layer["params"],
            "trainable": layer["trainable"],
            "subtree_params": layer["subtree_params"],
            "subtree_trainable": layer["subtree_trainable"],
            **({"shared_params": layer["shared_params"]} if layer.get("shared_params") else {}),
        }
        for layer in layers
    ]
    root = ordered[0] if ordered else {"subtree_params": 0, "subtree_trainable": 0}
    return {
        "format": FORMAT,
        "source": source,
        "total_params": root["subtree_params"],
        "trainable_params": root["subtree_trainable"],
        "layers": ordered,
    }


def _parent_index(name: str, index: Mapping[str, int]) -> int:
    """The nearest ancestor present (torch names a module's parent by its prefix)."""
    while name:
        name = name.rpartition(".")[0]
        if name in index:
            return index[name]
    return 0


def output_shape(output: Any, depth: int = 0) -> Any:
    """A forward output's shape: a tensor gives a list of ints; a tuple or list gives a list of
    those; a dict gives ``{key: shape}``; anything else ``None``."""
    shape = getattr(output, "shape", None)
    if shape is not None and hasattr(output, "dtype"):
        try:
            return [int(d) for d in shape]
        except (TypeError, ValueError):
            return None
    if depth >= SHAPE_DEPTH:
        return None
    if isinstance(output, Mapping):
        return {str(k): output_shape(v, depth + 1) for k, v in list(output.items())[:SHAPE_ITEMS]}
    if isinstance(output, (tuple, list)):
        return [output_shape(v, depth + 1) for v in output[:SHAPE_ITEMS]]
    return None


def _jsonable_shape(shape: Any, depth: int = 0) -> Any:
    if shape is None or isinstance(shape, str):
        return shape
    if isinstance(shape, bool):
        return None
    if isinstance(shape, int):
        return shape
    if isinstance(shape, float):
        return int(shape) if shape.is_integer() else None
    if depth >= SHAPE_DEPTH + 1:
        return None
    if isinstance(shape, Mapping):
        return {str(k): _jsonable_shape(v, depth + 1) for k, v in list(shape.items())[:SHAPE_ITEMS]}
    if isinstance(shape, Iterable):
        return [_jsonable_shape(v, depth + 1) for v in list(shape)[:64]]
    return None


def _numel(param: Any) -> int:
    try:
        return int(param.numel())
    except Exception:  # an uninitialised lazy parameter has no size yet
        return 0


def _count(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float) and value.is_integer():
        return max(0, int(value))
    return 0


def _warn_about_log(log: str | None, stacklevel: int) -> None:
    global _warned_log
    if log in _HISTOGRAM_LOGS and not _warned_log:
        _warned_log = True
        # frames: _warn, this function, watch, then watch's callers
        _warn(
            f"runview.watch(log={log!r}): gradient and parameter histograms are not recorded; "
            "only the model summary is",
            stacklevel=3 + stacklevel,
        )


def _warn(message: str, stacklevel: int = 3) -> None:
    try:
        warnings.warn(message, RuntimeWarning, stacklevel=stacklevel)
    except Exception:
        print(message, file=sys.stderr)
