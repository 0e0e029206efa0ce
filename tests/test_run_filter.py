"""The run table's filter language and its automatic columns, on rows read from real run dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from runview.store.run_columns import auto_columns, column, sort_key
from runview.store.run_filter import FilterError, parse_filter
from runview.store.run_row import RunRow
from runview.store.run_scan import RunScanner
from tests.handmade_runs import write_run


@pytest.fixture
def rows(tmp_path: Path) -> list[RunRow]:
    root = tmp_path / "runs"
    write_run(
        root,
        "p",
        "baseline",
        config={"lr": 0.1, "opt": "Adam", "my key": 3, "a:b": 1, "seed": 0, "amp": True},
        summary={"val/acc": 0.91, "loss": 0.2},
        tags=["cnn", "keep"],
    )
    write_run(
        root,
        "p",
        "wide-lr",
        config={"lr": 0.001, "opt": "sgd", "my key": 7, "seed": 1, "amp": False},
        summary={"val/acc": 0.5, "loss": {"$float": "nan"}},
        tags=["cnn"],
        state="failed",
    )
    write_run(
        root,
        "q",
        "other",
        config={"lr": "1e-2", "seed": 2, "path": "/data/" + "x" * 60},
        summary={"loss": 0.3},
        state="crashed",
        host="gpu-02",
    )
    return RunScanner(root, cache=False).read_all()


def names(rows: list[RunRow], text: str) -> list[str]:
    chosen = parse_filter(text)
    return sorted(row.name for row in rows if chosen.matches(row))


def test_terms_all_hold(rows: list[RunRow]) -> None:
    assert names(rows, "") == ["baseline", "other", "wide-lr"]
    assert names(rows, "lr<0.05") == ["other", "wide-lr"]  # "1e-2" is a number too
    assert names(rows, "lr < 0.05 tag:cnn") == ["wide-lr"]  # spaces around the operator
    assert names(rows, "lr>=0.1") == ["baseline"]
    assert names(rows, "val/acc>0.6") == ["baseline"]  # a summary value
    assert names(rows, "opt=adam") == ["baseline"]  # text: case-insensitive
    assert names(rows, "opt!=adam") == ["wide-lr"]  # a run without the key never matches
    assert names(rows, "amp=true") == ["baseline"]
    assert names(rows, "loss=nan") == ["wide-lr"]
    assert names(rows, "loss!=nan") == ["baseline", "other"]
    assert names(rows, '"my key">5') == ["wide-lr"]
    assert names(rows, "'a:b'=1") == ["baseline"]
    assert names(rows, "host=gpu-02") == ["other"]  # the row's own fields come last


def test_bare_words_tags_and_states(rows: list[RunRow]) -> None:
    assert names(rows, "^wide") == ["wide-lr"]
    assert names(rows, "KEEP") == ["baseline"]  # a regex on tags too, case-insensitive
    assert names(rows, "tag:keep") == ["baseline"]
    assert names(rows, "tag:ke") == []  # tags match whole
    assert names(rows, "state:failed,crashed") == ["other", "wide-lr"]
    assert names(rows, "state:fail,cr") == ["other", "wide-lr"]  # the start of a state will do
    assert names(rows, "state:finished cnn") == ["baseline"]
    chosen = parse_filter("base(")
    assert chosen.notes and names(rows, "base(") == []  # not a regex: searched as text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("lr<", "a value is missing after <"),
        ("< 3", "a key is missing before <"),
        ('"unclosed', "the quote is not closed"),
        ("state:sleeping", "states are running"),
        ("state:fin,x", "states are running"),
        ("tag:", "needs a tag"),
    ],
)
def test_what_is_not_a_filter_says_why(text: str, says: str) -> None:
    with pytest.raises(FilterError, match=says):
        parse_filter(text)


def test_automatic_columns(rows: list[RunRow]) -> None:
    chosen = auto_columns(rows)
    assert chosen[:2] == ["name", "project"]  # two projects: the column tells runs apart
    assert "host" in chosen and "tags" in chosen
    config = [c for c in chosen if c.startswith("config:")]
    assert {"config:lr", "config:seed", "config:opt"} <= set(config)
    assert "config:path" not in config  # long text (paths, stamps) is left to the user
    summary = [c for c in chosen if c.startswith("summary:")]
    assert summary[0] == "summary:loss"  # shared by all three runs
    assert "summary:val/acc" in summary  # by two of three
    one_project = [r for r in rows if r.project == "p"]
    assert "project" not in auto_columns(one_project) and "host" not in auto_columns(one_project)


def test_columns_sort_numbers_text_and_gaps(rows: list[RunRow]) -> None:
    lr = column("config:lr")
    assert lr is not None and column("bogus") is None
    ordered = sorted(rows, key=lambda r: sort_key(lr.value(r, 0.0)))
    assert [r.name for r in ordered] == ["wide-lr", "baseline", "other"]  # numbers, then text
    loss = column("summary:loss")
    ordered = sorted(rows, key=lambda r: sort_key(loss.value(r, 0.0)))
    assert [r.name for r in ordered] == ["baseline", "other", "wide-lr"]  # NaN after numbers
