"""The model summary: a real torch CNN on CPU, framework-free rows, and torch staying optional."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings

import pytest

from runview.collectors.model import summary_from_rows, summary_from_torch, watch

torch = pytest.importorskip("torch")
nn = torch.nn


class TiedLM(nn.Module):
    """An embedding and an output projection that share one weight."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.project = nn.Linear(8, 20, bias=False)
        self.project.weight = self.embed.weight

    def forward(self, tokens):
        return self.project(self.embed(tokens))


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(16 * 14 * 14, 10)
        self.lm = TiedLM()
        self.head.bias.requires_grad_(False)

    def forward(self, x):
        logits = self.head(self.features(x).flatten(1))
        return logits, self.lm(torch.zeros(1, 5, dtype=torch.long))


def unique_params(model) -> tuple[int, int]:
    params = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def test_watch_records_layers_shapes_and_unique_totals():
    model = SmallCNN()
    summaries: list[dict] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        watch(model, summaries.append)
    assert summaries == []  # nothing until the first forward pass
    model(torch.zeros(1, 1, 28, 28))
    model(torch.zeros(2, 1, 28, 28))
    assert len(summaries) == 1
    doc = summaries[0]
    json.dumps(doc, allow_nan=False)
    total, trainable = unique_params(model)
    assert (doc["format"], doc["source"]) == (1, "torch")
    assert doc["total_params"] == total == sum(p.numel() for p in model.parameters())
    assert doc["trainable_params"] == trainable == total - 10
    layers = {layer["name"]: layer for layer in doc["layers"]}
    assert [layer["name"] for layer in doc["layers"]] == [name for name, _ in model.named_modules()]
    assert doc["layers"][0]["name"] == "" and doc["layers"][0]["type"] == "SmallCNN"
    conv = layers["features.0"]
    assert (conv["type"], conv["depth"], conv["output_shape"]) == ("Conv2d", 2, [1, 16, 28, 28])
    assert conv["params"] == conv["subtree_params"] == 16 * 9 + 16
    assert layers["features.1"]["type"] == "ReLU" and layers["features.1"]["params"] == 0
    assert layers["features.2"]["output_shape"] == [1, 16, 14, 14]
    assert layers["features"]["subtree_params"] == 160 and layers["features"]["params"] == 0
    head = layers["head"]
    assert head["output_shape"] == [1, 10]  # the first pass, not the second (batch 2)
    assert (head["params"], head["trainable"]) == (3136 * 10 + 10, 3136 * 10)
    # The tied weight counts once, at the embedding; the projection says it shares it.
    assert layers["lm.embed"]["params"] == 160
    assert layers["lm.project"]["params"] == 0 and layers["lm.project"]["shared_params"] == 160
    assert layers["lm"]["subtree_params"] == 160
    assert layers[""]["output_shape"] == [[1, 10], [1, 5, 20]]  # a tuple output: one shape each


def test_hooks_remove_themselves_after_the_first_forward_pass():
    model = SmallCNN()
    unwatch = watch(model, lambda doc: None, log=None)
    assert all(len(m._forward_hooks) == 1 for m in model.modules())
    model(torch.zeros(1, 1, 28, 28))
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    unwatch()  # nothing left to remove; still fine


def test_unwatch_before_any_forward_removes_hooks_and_summarises_without_shapes():
    model = SmallCNN()
    summaries: list[dict] = []
    unwatch = watch(model, summaries.append, log=None)
    unwatch()
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    assert summaries[0]["total_params"] == unique_params(model)[0]
    assert all(layer["output_shape"] is None for layer in summaries[0]["layers"])


def test_a_failing_on_summary_never_reaches_training():
    model = SmallCNN()

    def broken(doc: dict) -> None:
        raise OSError("disk full")

    watch(model, broken, log=None)
    with pytest.warns(RuntimeWarning, match="model summary not recorded"):
        model(torch.zeros(1, 1, 28, 28))
    model(torch.zeros(1, 1, 28, 28))


def test_log_gradients_warns_once():
    import runview.collectors.model as model_module

    model_module._warned_log = False
    with pytest.warns(RuntimeWarning, match="histograms are not recorded"):
        watch(nn.Linear(2, 2), lambda doc: None, log="all", log_freq=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        watch(nn.Linear(2, 2), lambda doc: None, log="gradients")
        watch(nn.Linear(2, 2), lambda doc: None, log=None)


def test_summary_from_rows_builds_the_tree_from_dotted_names():
    doc = summary_from_rows(
        [
            {
                "name": "encoder.layers.0.attn",
                "type": "Attention",
                "output_shape": (None, 16, 64),
                "params": 100,
            },
            {"name": "encoder", "type": "Encoder"},
            {"name": "head", "type": "Dense", "shape": [None, 10], "params": 650, "trainable": 0},
            {"name": "encoder.layers.1.attn", "type": "Attention", "params": 100},
            {"name": "encoder.norm", "type": "LayerNorm", "params": 128},
        ]
    )
    json.dumps(doc, allow_nan=False)
    assert (doc["source"], doc["total_params"], doc["trainable_params"]) == ("rows", 978, 328)
    names = [layer["name"] for layer in doc["layers"]]
    assert names == [
        "",
        "encoder",
        "encoder.layers",
        "encoder.layers.0",
        "encoder.layers.0.attn",
        "encoder.layers.1",
        "encoder.layers.1.attn",
        "encoder.norm",
        "head",
    ]
    layers = {layer["name"]: layer for layer in doc["layers"]}
    assert layers[""]["type"] == "Model"
    assert (
        layers["encoder.layers"]["type"] == "" and layers["encoder.layers"]["subtree_params"] == 200
    )
    assert layers["encoder"]["subtree_params"] == 328
    assert layers["encoder.layers.0.attn"]["depth"] == 4
    assert layers["encoder.layers.0.attn"]["output_shape"] == [None, 16, 64]
    assert layers["head"]["output_shape"] == [None, 10] and layers["head"]["subtree_trainable"] == 0


def test_rows_and_torch_agree():
    model = SmallCNN()
    from_torch = summary_from_torch(model)
    rows = [
        {
            "name": layer["name"],
            "type": layer["type"],
            "params": layer["params"],
            "trainable": layer["trainable"],
        }
        for layer in from_torch["layers"]
    ]
    from_rows = summary_from_rows(rows)

    def strip(doc: dict) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "shared_params"} for row in doc["layers"]]

    assert strip(from_rows) == strip(from_torch)
    assert from_rows["total_params"] == from_torch["total_params"]


def test_five_thousand_layers_in_reasonable_time():
    blocks = [nn.Sequential(nn.Linear(4, 4), nn.ReLU()) for _ in range(1700)]
    model = nn.Sequential(*blocks)
    summaries: list[dict] = []
    start = time.perf_counter()
    watch(model, summaries.append, log=None)
    model(torch.zeros(2, 4))
    elapsed = time.perf_counter() - start
    doc = summaries[0]
    assert len(doc["layers"]) == 5101
    assert doc["total_params"] == 1700 * 20
    assert doc["layers"][-1]["output_shape"] == [2, 4]
    assert elapsed < 5, elapsed

    rows = [
        {"name": f"blocks.{i}.layers.{j}", "type": "Dense", "params": 10}
        for i in range(100)
        for j in range(50)
    ]
    start = time.perf_counter()
    doc = summary_from_rows(rows)
    assert time.perf_counter() - start < 2
    assert len(doc["layers"]) == 1 + 1 + 100 + 100 + 5000 and doc["total_params"] == 50_000


def test_importing_the_model_collector_does_not_import_torch():
    code = (
        "import sys\n"
        "import runview.collectors.model as m\n"
        "doc = m.summary_from_rows([{'name': 'a.b', 'params': 3}])\n"
        "assert doc['total_params'] == 3\n"
        "banned = [n for n in ('torch', 'textual', 'rich', 'plotext') if n in sys.modules]\n"
        "print(banned)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_collectors_never_import_the_ui():
    code = (
        "import sys\n"
        "import runview.collectors.sampler, runview.collectors.gpu, runview.collectors.system\n"
        "print([n for n in ('torch', 'textual', 'rich', 'plotext') if n in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
