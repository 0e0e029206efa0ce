"""The Model tab in the real app, on run directories written by the real logger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import runview
from runview.tui.app import RunviewApp
from runview.tui.tabs.model import ModelTab
from runview.tui.widgets.layer_tree import LayerTree
from runview.tui.widgets.model_layers import format_shape, human_count, parse_model
from tests.pilot import screen_text, wait_for

torch = pytest.importorskip("torch")
nn = torch.nn


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10)
        )

    def forward(self, x: Any) -> Any:
        return self.classifier(self.features(x))


def new_run(tmp_path: Path) -> runview.Run:
    return runview.init(project="t", dir=tmp_path, console=False, system_interval=None)


def rows_run(tmp_path: Path, rows: list[dict[str, Any]], finish: bool = True) -> runview.Run:
    run = new_run(tmp_path)
    run.log_model_summary(rows)
    if finish:
        run.finish()
    return run


ROWS = [
    {"name": "encoder", "type": "Encoder", "params": 0},
    {
        "name": "encoder.embed",
        "type": "Embedding",
        "output_shape": [None, 16, 64],
        "params": 32_000,
    },
    {
        "name": "encoder.layers.0.attn",
        "type": "Attention",
        "output_shape": [None, 16, 64],
        "params": 16_640,
    },
    {
        "name": "encoder.layers.0.mlp",
        "type": "MLP",
        "output_shape": [None, 16, 64],
        "params": 33_088,
    },
    {
        "name": "encoder.layers.1.attn",
        "type": "Attention",
        "output_shape": [None, 16, 64],
        "params": 16_640,
    },
    {
        "name": "encoder.layers.1.mlp",
        "type": "MLP",
        "output_shape": [None, 16, 64],
        "params": 33_088,
    },
    {
        "name": "head[out]",
        "type": "Dense[bold]",
        "output_shape": [None, 10],
        "params": 650,
        "trainable": 0,
    },
]


def tree(app: RunviewApp) -> LayerTree:
    return app.screen.query_one(LayerTree)


def shown(app: RunviewApp) -> list[str]:
    return list(tree(app).shown_names())


async def open_tab(pilot: Any) -> None:
    await wait_for(
        pilot, lambda: bool(pilot.app.screen.query(LayerTree)) and tree(pilot.app).model is not None
    )
    await pilot.pause()


async def test_rows_show_totals_columns_and_first_two_levels(tmp_path: Path) -> None:
    run = rows_run(tmp_path, ROWS)
    app = RunviewApp(run.dir, tab="model")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot)
        text = screen_text(app)
        total = 32_000 + 2 * 16_640 + 2 * 33_088 + 650
        assert f"params {human_count(total)} ({total:,})" in text  # 132.1K (132,106)
        assert f"trainable {human_count(total - 650)} ({total - 650:,})" in text
        assert "non-trainable 650" in text
        assert "10 layers" in text  # 7 rows + the missing encoder.layers, .0 and .1
        assert "output shape" in text and "subtree" in text
        # Two levels open: the root's children and theirs, nothing deeper.
        assert shown(app) == ["", "encoder", "encoder.embed", "encoder.layers", "head[out]"]
        lines = text.splitlines()
        embed = next(line for line in lines if "embed" in line)
        assert "Embedding" in embed and "?×16×64" in embed and "32.0K" in embed
        # Layer names and types with brackets are shown as written, not read as markup.
        head = next(line for line in lines if "head[out]" in line)
        assert "Dense[bold]" in head and "650" in head
        # Columns line up: every type starts at the same column.
        assert embed.index("Embedding") == next(line for line in lines if "Encoder" in line).index(
            "Encoder"
        )


async def test_watch_records_a_real_cnn_with_shapes(tmp_path: Path) -> None:
    run = new_run(tmp_path)
    model = SmallCNN()
    model.features[0].weight.requires_grad_(False)
    run.watch(model, log=None)
    model(torch.zeros(2, 1, 28, 28))
    run.finish()
    n_params = sum(p.numel() for p in model.parameters())
    app = RunviewApp(run.dir, tab="model")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot)
        text = screen_text(app)
        assert f"({n_params:,})" in text and "non-trainable 144" in text and "12 layers" in text
        assert "from torch" in text
        convs = [line for line in text.splitlines() if "Conv2d" in line]
        linears = [line for line in text.splitlines() if "Linear" in line]
        assert "2×16×28×28" in convs[0] and "160" in convs[0]  # features.0
        assert "2×10" in linears[1] and "650" in linears[1]  # classifier.3
        assert "SmallCNN" in text and "Sequential" in text
        # The detail line explains the frozen weights of the layer under the cursor.
        await pilot.press("j", "j")
        assert tree(app).layer_at_cursor().name == "features.0"  # type: ignore[union-attr]
        await wait_for(pilot, lambda: "own 160 (16 trainable)" in screen_text(app))


async def test_search_narrows_to_matches_and_their_ancestors(tmp_path: Path) -> None:
    run = rows_run(tmp_path, ROWS)
    app = RunviewApp(run.dir, tab="model")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot)
        await pilot.press("slash", *"ATTN")
        assert shown(app) == [
            "", "encoder", "encoder.layers", "encoder.layers.0", "encoder.layers.0.attn",
            "encoder.layers.1", "encoder.layers.1.attn",
        ]  # fmt: skip
        await wait_for(pilot, lambda: "2 of 10 match" in screen_text(app))  # painted next
        assert tree(app).layer_at_cursor().name == "encoder.layers.0.attn"  # type: ignore[union-attr]
        # A regex; and the type is searched as well as the name.
        await pilot.press(*["backspace"] * 4, *r"^head\[|mlp$")
        assert [n for n in shown(app) if n.endswith(("mlp", "]"))] == [
            "encoder.layers.0.mlp",
            "encoder.layers.1.mlp",
            "head[out]",
        ]
        await pilot.press(*["backspace"] * 12, *"dense")
        assert shown(app) == ["", "head[out]"]
        # Enter goes to the tree; the cursor walks the matches; Esc shows everything again.
        await pilot.press("enter")
        assert isinstance(app.focused, LayerTree)
        await pilot.press("escape")
        assert app.screen.query_one("#model-search").value == ""  # type: ignore[attr-defined]
        assert "encoder.embed" in shown(app) and "head[out]" in shown(app)
        assert tree(app).layer_at_cursor().name == "head[out]"  # type: ignore[union-attr]


async def test_invalid_regex_is_marked_and_searched_as_text(tmp_path: Path) -> None:
    run = rows_run(tmp_path, ROWS)
    app = RunviewApp(run.dir, tab="model")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot)
        await pilot.press("slash", *"head[")
        search = app.screen.query_one("#model-search")
        assert search.has_class("-invalid")
        await wait_for(pilot, lambda: "invalid regex" in screen_text(app))  # painted next
        assert shown(app) == ["", "head[out]"]  # "head[" found literally
        await pilot.press("(", "?")
        assert shown(app) == [""]
        await wait_for(pilot, lambda: "no layer matches" in screen_text(app))  # painted next
        await pilot.press("escape")
        assert not search.has_class("-invalid") and len(shown(app)) == 5


async def test_keys_expand_collapse_and_move(tmp_path: Path) -> None:
    run = rows_run(tmp_path, ROWS)
    app = RunviewApp(run.dir, tab="model")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot)
        await pilot.press("e")
        assert len(shown(app)) == 11  # the root and every layer
        await pilot.press("E")
        assert shown(app) == ["", "encoder", "head[out]"]
        # → opens, → again steps in, ← steps out, ← closes.
        await pilot.press("j", "right")
        assert shown(app) == ["", "encoder", "encoder.embed", "encoder.layers", "head[out]"]
        await pilot.press("l", "j")
        assert tree(app).layer_at_cursor().name == "encoder.layers"  # type: ignore[union-attr]
        await pilot.press("space")  # opened lazily: its children are added now
        assert "encoder.layers.1" in shown(app)
        await pilot.press("enter")
        assert "encoder.layers.1" not in shown(app)
        await pilot.press("h", "h")
        assert tree(app).layer_at_cursor().name == "encoder"  # type: ignore[union-attr]
        assert shown(app) == ["", "encoder", "head[out]"]
        await pilot.press("left")
        assert tree(app).layer_at_cursor().name == ""  # type: ignore[union-attr]
        # The help screen lists the tab's keys.
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: "Expand all / collapse all" in screen_text(app))
        assert app.screen.keys("In the layer tree")["e / E"] == "Expand all / collapse all"


async def test_five_thousand_layers_open_fast_and_stay_lazy(tmp_path: Path) -> None:
    rows = [{"name": "blocks", "type": "ModuleList"}]
    for b in range(1250):
        for part, kind in (
            ("attn", "Attention"),
            ("mlp", "MLP"),
            ("norm", "LayerNorm"),
            ("drop", "Dropout"),
        ):
            rows.append(
                {
                    "name": f"blocks.{b}.{part}",
                    "type": kind,
                    "output_shape": [8, 128, 512],
                    "params": 1000,
                }
            )
    run = rows_run(tmp_path, rows)
    app = RunviewApp(run.dir, tab="model")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot)
        assert "6,251 layers" in screen_text(app) and "5.0M" in screen_text(app)
        # Fast because lazy (timing is a benchmark's job, not a test's on a shared machine):
        # only two levels have nodes, the blocks, not their 5,000 parts.
        assert len(tree(app)._layer_nodes) == 1 + 1 + 1250
        await pilot.press("e")
        assert len(shown(app)) == 6252
        await pilot.press("G")
        assert tree(app).layer_at_cursor().name == "blocks.1249.drop"  # type: ignore[union-attr]
        await pilot.press("slash", *"1249")
        # blocks.1249 and its 4 parts
        assert len(shown(app)) == 7
        await wait_for(pilot, lambda: "5 of 6,251 match" in screen_text(app))  # painted next
        await pilot.press("escape", "E")
        assert len(shown(app)) == 2


async def test_missing_model_says_how_to_log_one(tmp_path: Path) -> None:
    run = new_run(tmp_path)
    run.finish()
    app = RunviewApp(run.dir, tab="model")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "for any framework" in screen_text(app))
        text = " ".join(screen_text(app).split())
        assert "call run.watch(model) before the first forward pass (PyTorch)" in text
        assert "run.log_model_summary(rows) for any framework" in text
        assert not app.screen.query_one("#model-body").display
        assert "Search" not in screen_text(app) and "Expand all" not in screen_text(app)
        await pilot.press("slash", "e")  # no tree: keys do nothing and nothing breaks
        await pilot.pause(0.1)
        assert app.focused is None and not app.screen.query_one("#model-body").display
        assert "for any framework" in screen_text(app)


async def test_tree_is_rebuilt_only_when_the_summary_changes(tmp_path: Path) -> None:
    run = rows_run(tmp_path, ROWS, finish=False)
    try:
        app = RunviewApp(run.dir, tab="model")
        async with app.run_test(size=(80, 24)) as pilot:
            await open_tab(pilot)
            tab = app.screen.query_one(ModelTab)
            await pilot.press("j", "j")
            root, document = tree(app).root, tab._document
            run.log_model_summary(ROWS)  # the same summary again: a new file, same content
            await wait_for(pilot, lambda: tab._document is not document)
            assert tree(app).root is root and tree(app).layer_at_cursor().name == "encoder.embed"  # type: ignore[union-attr]
            run.log_model_summary(
                [*ROWS, {"name": "encoder.norm", "type": "LayerNorm", "params": 128}]
            )
            await wait_for(pilot, lambda: "encoder.norm" in shown(app))
            assert tree(app).root is not root
            assert tree(app).layer_at_cursor().name == "encoder.embed"  # type: ignore[union-attr]
    finally:
        run.finish()


def test_units_shapes_and_odd_documents() -> None:
    assert [human_count(n) for n in (0, 999, 1234, 999_960, 1_234_567, 7_000_000_000)] == [
        "0", "999", "1.2K", "1.0M", "1.2M", "7.0B",
    ]  # fmt: skip
    assert format_shape([1, 16, 28, 28]) == "1×16×28×28"
    assert format_shape([[1, 10], [1, 5, 20]]) == "(1×10, 1×5×20)"
    assert format_shape({"logits": [1, 10]}) == "{logits: 1×10}"
    assert format_shape(None) == "" and format_shape([]) == "scalar"
    # No root row, no totals, a row that is not a dict: still a tree with summed counts.
    model = parse_model(
        {"layers": [{"name": "a.b", "params": 3}, {"name": "a", "params": 2}, "junk"]}
    )
    assert [layer.name for layer in model.layers] == ["", "a.b", "a"]
    assert (
        model.layers[1].parent == 2
        and model.total_params == 5
        and model.layers[0].subtree_params == 5
    )
    assert parse_model({"layers": 5}).layer_count == 0
    odd = parse_model(
        {"layers": [{"name": 3, "type": None, "params": "x", "output_shape": {"a": [1, None]}}]}
    )
    assert (odd.layers[1].name, odd.layers[1].params, odd.layers[1].shape) == ("3", 0, "{a: 1×?}")


async def test_summary_logged_while_the_tab_is_open_appears_and_takes_focus(tmp_path: Path) -> None:
    run = new_run(tmp_path)
    try:
        app = RunviewApp(run.dir, tab="model")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: "updates when it appears" in screen_text(app))
            run.log_model_summary(ROWS)
            await wait_for(
                pilot, lambda: bool(app.screen.query(LayerTree)) and tree(app).model is not None
            )
            await pilot.pause()
            assert isinstance(app.focused, LayerTree)
            await pilot.press("j")
            assert tree(app).layer_at_cursor().name == "encoder"  # type: ignore[union-attr]
    finally:
        run.finish()


async def test_the_layer_tree_draws_without_colour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # Textual's monochrome filter once crashed on the tree
    run = rows_run(tmp_path, ROWS)
    app = RunviewApp(run.dir, tab="model")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "encoder" in screen_text(app))
        await pilot.press("e")  # expand all
        await wait_for(pilot, lambda: "Attention" in screen_text(app))
        assert app.return_code is None  # still running: nothing crashed
