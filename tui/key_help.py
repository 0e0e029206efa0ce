"""What ``?`` lists, built from the ``BINDINGS`` of the classes that handle the keys, so the help
cannot drift from the keys (nor from the footer, which reads the same bindings).

The rules, for whoever adds a key:

- Every binding with a description is a row: its keys (``end / G``), its description, then its
  tooltip (the longer explanation, which Textual also shows over the footer key). A binding
  without a description is internal and not listed.
- Bindings of one ``Binding.Group`` share a row under the group's description: ``s / S``; in a
  compact group their keys stand side by side (``←↓↑→ / hjkl``, and digits as a range: ``1–7``).
- Rows are grouped by where the keys work: the class's ``HELP_TITLE`` (else its name in words).
  Classes with the same title share a section.
- Only bindings declared by our own classes are listed: a Textual widget's built-in keys appear
  when one of our subclasses declares them again, with a description.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import zip_longest

from textual.binding import Binding, BindingType
from textual.keys import format_key


@dataclass(frozen=True)
class KeyRow:
    keys: str
    description: str
    tooltip: str = ""

    @property
    def text(self) -> str:
        return f"{self.description} — {self.tooltip}" if self.tooltip else self.description


@dataclass(frozen=True)
class KeySection:
    """Keys that work in one place (a tab, a widget in it, a screen it opens)."""

    title: str
    rows: tuple[KeyRow, ...]


def key_group(
    description: str,
    *members: tuple[str, str, str],
    compact: bool = False,
    priority: bool = False,
) -> list[Binding]:
    """Bindings that work as one idea (``(keys, action, description)`` each, not in the footer),
    listed under ``?`` as one row: ``key_group("Next / previous sibling", ...)``."""
    group = Binding.Group(description, compact=compact)
    return [
        Binding(keys, action, text, show=False, priority=priority, group=group)
        for keys, action, text in members
    ]


# Keys Textual's scrolling widgets already have, declared again where they matter, for ``?``.
PAGE_KEYS = key_group(
    "Scroll a page", ("pageup", "page_up", "Page up"), ("pagedown", "page_down", "Page down")
)


def declared_bindings(cls: type, shadowed: Collection[str] = ()) -> list[Binding]:
    """The bindings our classes in ``cls``'s MRO declare, base classes first; a subclass's binding
    of the same key replaces its base's, as Textual does. A key may have a priority binding
    beside its ordinary one (esc in a text box, and elsewhere): both are kept. Keys in
    ``shadowed`` (taken first by a priority binding of the page) are left out."""
    by_key: dict[tuple[str, bool], Binding] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.split(".")[0] == "textual" or "BINDINGS" not in vars(klass):
            continue
        declared: Sequence[BindingType] = vars(klass)["BINDINGS"]
        for binding in declared:
            binding = binding if isinstance(binding, Binding) else Binding(*binding)
            keys = [key for key in binding.key.split(",") if key.strip() not in shadowed]
            if not keys:
                continue
            if len(keys) < binding.key.count(",") + 1:
                binding = replace(binding, key=",".join(keys))
            by_key[binding.key, binding.priority] = binding
    return list(by_key.values())


def priority_keys(cls: type) -> frozenset[str]:
    """The keys ``cls`` binds with priority: on its screen they are its own, whatever widget
    has the focus (``?`` leaves them out of the focused widgets' keys)."""
    return frozenset(
        key.strip()
        for binding in declared_bindings(cls)
        if binding.priority
        for key in binding.key.split(",")
    )


def _keys(binding: Binding) -> list[str]:
    if binding.key_display:
        return [binding.key_display]
    return [_key(key.strip()) for key in binding.key.split(",")]


def _key(key: str) -> str:
    """``shift+down`` -> ``shift+↓``: the key as the footer writes it, modifiers kept in words
    (and enter too: ⏎ is easy to miss in a table of keys)."""
    *modifiers, name = key.split("+")
    return "+".join([*modifiers, name if name == "enter" else format_key(name)])


def _side_by_side(keys: list[str]) -> str:
    if len(keys) > 2 and all(k.isdigit() and len(k) == 1 for k in keys):
        numbers = [int(k) for k in keys]
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
            return f"{keys[0]}–{keys[-1]}"
    return "".join(keys)


def _row(description: str, members: list[Binding], group: Binding.Group | None) -> KeyRow:
    if group is not None and group.compact:
        columns = zip_longest(*(_keys(member) for member in members))
        keys = " / ".join(_side_by_side([k for k in column if k]) for column in columns)
    elif group is not None:
        keys = " / ".join(" ".join(_keys(member)) for member in members)
    else:
        keys = " / ".join(_keys(members[0]))
    tips = dict.fromkeys(member.tooltip for member in members if member.tooltip)
    return KeyRow(keys, description, "; ".join(tips))


def key_rows(bindings: Iterable[Binding]) -> list[KeyRow]:
    """One row per described binding, or per group of bindings, in the order declared."""
    order: list[Binding | Binding.Group] = []
    members: dict[Binding.Group, list[Binding]] = {}
    for binding in bindings:
        if not binding.description:
            continue
        if binding.group is None:
            order.append(binding)
        elif binding.group not in members:
            members[binding.group] = [binding]
            order.append(binding.group)
        else:
            members[binding.group].append(binding)
    return [
        _row(item.description, members[item], item)
        if isinstance(item, Binding.Group)
        else _row(item.description, [item], None)
        for item in order
    ]


def help_title(cls: type) -> str:
    """Where a class's keys work, as ``?`` heads them: its ``HELP_TITLE``, else its name in
    words."""
    title = getattr(cls, "HELP_TITLE", "")
    return title or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", cls.__name__).capitalize()


def key_sections(
    classes: Iterable[type], title: str | None = None, shadowed: Collection[str] = ()
) -> list[KeySection]:
    """The keys ``classes`` declare, a section per title (``title`` puts them all in one), but
    those in ``shadowed``."""
    sections: dict[str, list[KeyRow]] = {}
    for cls in classes:
        rows = key_rows(declared_bindings(cls, shadowed))
        if rows:
            kept = sections.setdefault(title or help_title(cls), [])
            kept.extend(row for row in rows if row not in kept)
    return [KeySection(name, tuple(rows)) for name, rows in sections.items()]


def hint_line(sections: Iterable[KeySection]) -> str:
    """The keys on one line, without tooltips: ``enter apply · esc cancel · …``."""
    return " · ".join(
        f"{row.keys} {row.description.lower()}" for section in sections for row in section.rows
    )
