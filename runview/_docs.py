"""Dict-like config and summary objects that write themselves through the run's writer."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any


def _as_dict(value: Any) -> dict[str, Any]:
    """A config given as a mapping, key/value pairs, or an object such as argparse.Namespace."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "__dict__") and not isinstance(value, (list, tuple)):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return dict(value)


class Config(MutableMapping[str, Any]):
    """``run.config``: a dict that is saved (config.json, atomically) on every change.

    Attribute access works too (``run.config.lr``), as in wandb.
    """

    def __init__(self, on_change: Callable[[dict[str, Any]], None], initial: Any = None) -> None:
        object.__setattr__(self, "_data", _as_dict(initial))
        object.__setattr__(self, "_on_change", on_change)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._on_change(dict(self._data))

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._on_change(dict(self._data))

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        """Merge many keys (a dict, pairs, or an argparse.Namespace) and save once."""
        self._data.update(_as_dict(other), **kwargs)
        self._on_change(dict(self._data))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled or deep-copied, a config is its plain dict (the run it saves through stays).
        return (dict, (dict(self._data),))

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __repr__(self) -> str:
        return f"Config({self._data!r})"


class Summary(MutableMapping[str, Any]):
    """``run.summary``: each metric's last value unless set here or defined otherwise."""

    def __init__(
        self,
        compute: Callable[[], dict[str, Any]],
        explicit: dict[str, Any],
        on_change: Callable[[], None],
    ) -> None:
        self._compute = compute
        self._explicit = explicit
        self._on_change = on_change

    def __getitem__(self, key: str) -> Any:
        return self._compute()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._explicit[key] = value
        self._on_change()

    def __delitem__(self, key: str) -> None:
        del self._explicit[key]
        self._on_change()

    def __iter__(self) -> Iterator[str]:
        return iter(self._compute())

    def __len__(self) -> int:
        return len(self._compute())

    def update(self, other: Any = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        self._explicit.update(other, **kwargs)
        self._on_change()

    def __repr__(self) -> str:
        return f"Summary({self._compute()!r})"
