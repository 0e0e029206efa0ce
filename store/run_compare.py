"""What a comparison of runs needs beyond their snapshots: groups of runs that differ only in keys
the user picked (say ``seed``), and the config and summary keys whose values differ."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runview.store.run_row import flatten_values


def config_groups(
    configs: Sequence[Mapping[str, Any]], over: Iterable[str]
) -> list[tuple[int, ...]]:
    """Indices of runs grouped by their config without the keys ``over`` (flattened, ``a/b``).

    Runs whose configs differ only in those keys form one group; groups and their members keep
    the order the runs were given in. With no keys, every run is a group of its own.
    """
    ignored = set(over)
    if not ignored:
        return [(i,) for i in range(len(configs))]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, config in enumerate(configs):
        flat = flatten_values(config)
        key = tuple(sorted((k, _same(v)) for k, v in flat.items() if k not in ignored))
        groups.setdefault(key, []).append(index)
    return [tuple(members) for members in groups.values()]


def differing_keys(values: Sequence[Mapping[str, Any]]) -> list[str]:
    """Keys whose value is not the same in every run (a key some runs lack differs), sorted."""
    keys: set[str] = set().union(*(v.keys() for v in values)) if values else set()
    out = []
    for key in keys:
        seen = {_same(v[key]) if key in v else _MISSING for v in values}
        if len(seen) > 1:
            out.append(key)
    return sorted(out)


_MISSING = object()


def _same(value: Any) -> Any:
    """A hashable stand-in under which equal values are equal (NaN included, 1 and True not)."""
    if type(value) is float and math.isnan(value):
        return ("nan",)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return (type(value) is bool, value)
