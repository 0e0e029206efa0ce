"""The run's files as a tree with sizes and times; rebuilt from a new listing without losing
which folders are open or where the cursor is."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from runview.store import format as fmt
from runview.store.run_files import FileListing, FileNode
from runview.tui.format import format_bytes
from runview.tui.key_help import key_group
from runview.tui.safe_text import visible

OPEN_ON_START = (fmt.FILES_DIR, fmt.CODE_DIR)  # saved files and the code state
MIN_NAME = 12  # a shortened name keeps this many cells before the size gives way


def node_label(node: FileNode, now: float, room: int | None = None) -> Text:
    """``name  12.3 MiB  10:01`` (folders end in ``/``; links show their target), fitted into
    ``room`` cells when given: the time goes first, then the size where the name would keep
    fewer than ``MIN_NAME`` cells, and a name still too long loses its middle, so that its start
    and its extension stay readable."""
    name = visible(node.name) + ("/" if node.is_dir else "")
    if node.link is not None:
        label = Text(name, no_wrap=True)
        label.append(f" → {visible(node.link)}", style="italic dim")
        if room is not None and label.cell_len > room:
            label.truncate(max(room, 1), overflow="ellipsis")
        return label
    size, when = f"  {format_bytes(node.size)}", f"  {short_time(node.mtime, now)}"
    extras: tuple[str, ...] = (size, when)
    if room is not None and cell_len(name + size + when) > room:
        extras = (size,) if room - cell_len(size) >= min(cell_len(name), MIN_NAME) else ()
        name = shortened(name, room - sum(map(cell_len, extras)))
    label = Text(name, no_wrap=True)
    for extra in extras:
        label.append(extra, style="dim")
    return label


def shortened(name: str, room: int) -> str:
    """``name`` in at most ``room`` cells, its middle replaced by ``…`` (at least one cell)."""
    if cell_len(name) <= room:
        return name
    room = max(room, 1)
    if room == 1:
        return "…"
    tail = (room - 1) // 2
    head = set_cell_size(name, room - 1 - tail).rstrip()
    end = ""
    for char in reversed(name):
        if cell_len(char + end) > tail:
            break
        end = char + end
    return set_cell_size(f"{head}…{end}", room).rstrip()


def short_time(stamp: float, now: float) -> str:
    """``10:01:02`` today, ``Dec 03 10:01`` this year, else ``2025-12-03``."""
    local, today = time.localtime(stamp), time.localtime(now)
    if local[:3] == today[:3]:
        return time.strftime("%H:%M:%S", local)
    if local.tm_year == today.tm_year:
        return time.strftime("%b %d %H:%M", local)
    return time.strftime("%Y-%m-%d", local)


class FileTree(Tree[FileNode]):
    """A tree of one run's files."""

    HELP_TITLE = "In the file tree"
    # Tree's own keys (and j / k) declared again, with what they do here, so that ? lists them.
    BINDINGS: ClassVar[list[BindingType]] = [
        *key_group(
            "Move between files (the preview follows)",
            ("up,k", "cursor_up", "Up"),
            ("down,j", "cursor_down", "Down"),
        ),
        *key_group(
            "Open / close a folder",
            ("enter", "select_cursor", "Open / close"),
            ("space", "toggle_node", "Open / close"),
        ),
        Binding(
            "tab",
            "app.focus_next",
            "To the preview",
            show=False,
            tooltip="to scroll it (arrows, PgUp / PgDn, g / G); shift+tab comes back",
        ),
    ]

    _restore_to: TreeNode[FileNode] | None = None  # the cursor's place after a rebuild

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("run", id=id)
        self.show_root = True
        self.guide_depth = 2
        self._open: set[str] | None = None  # folder paths open; None until the first listing
        self._by_path: dict[str, TreeNode[FileNode]] = {}
        self._shape: tuple[str, ...] = ()
        self._seen: set[str] = set()  # folders shown before
        self._now = time.time()  # when the labels were made: today's times show as clock times

    def render_label(self, node: TreeNode[FileNode], base_style: Style, style: Style) -> Text:
        """The label fitted to the tree's width (Tree re-renders every line on a resize), so that
        a long name never hides its size and time off to the right, or scrolls the tree sideways."""
        data = node.data
        room = self.scrollable_content_region.width - self.guide_depth * _depth(node)
        room -= cell_len(self.ICON_NODE) if node.allow_expand else 0
        if data is None or node.label.cell_len <= room or room <= 0:
            return super().render_label(node, base_style, style)
        drawn = super().render_label(node, base_style, style)  # the open/close icon, clickable
        icon = drawn[: drawn.cell_len - node.label.cell_len]
        label = node_label(data, self._now, room)
        label.stylize(style)
        return Text.assemble(icon, label)

    def show_listing(self, listing: FileListing) -> None:
        """Show ``listing``: labels updated in place when the same files are there, else the tree
        is rebuilt keeping open folders and the cursor's file."""
        shape = tuple(_paths(listing.root))
        now = self._now = time.time()
        if shape == self._shape and self._by_path:
            for node in _all(listing.root):
                tree_node = self._by_path.get(node.path)
                if tree_node is not None and tree_node.data != node:
                    tree_node.data = node
                    tree_node.set_label(node_label(node, now))
            return
        self._shape = shape
        cursor = self.cursor_node.data.path if self.cursor_node and self.cursor_node.data else None
        self._open = {""} if self._open is None else self._open_paths()
        # Saved files and the code state open when they first appear (at start, or later in a
        # live run); a folder the user closed stays closed.
        for child in listing.root.children:
            if child.is_dir and child.name in OPEN_ON_START:
                self._open |= {n.path for n in _folders(child) if n.path not in self._seen}
        self._seen = {n.path for n in _folders(listing.root)}
        self.clear()
        self._by_path = {"": self.root}
        self.root.data = listing.root
        self.root.set_label(node_label(listing.root, now))
        target = self._add_children(self.root, listing.root, now, cursor)
        if "" in self._open:
            self.root.expand()
        # The tree numbers its lines on the next refresh; the cursor can move only then, unless
        # the user moved it first.
        self._restore_to = target or self.root
        self.call_after_refresh(self._restore_cursor, self._restore_to)

    def _restore_cursor(self, target: TreeNode[FileNode]) -> None:
        if self._restore_to is target:
            self.move_cursor(target)
            self._restore_to = None

    def watch_cursor_line(self, previous_line: int, line: int) -> None:
        super().watch_cursor_line(previous_line, line)
        if self._restore_to is not None and self.cursor_node is not self._restore_to:
            self._restore_to = None  # moved by hand since the rebuild: keep it there

    def _add_children(
        self, parent: TreeNode[FileNode], node: FileNode, now: float, cursor: str | None
    ) -> TreeNode[FileNode] | None:
        assert self._open is not None
        found = None
        for child in node.children:
            label = node_label(child, now)
            if child.is_dir:
                branch = parent.add(label, child, expand=child.path in self._open)
                inner = self._add_children(branch, child, now, cursor)
                found = found or inner
                leaf = branch
            else:
                leaf = parent.add_leaf(label, child)
            self._by_path[child.path] = leaf
            if cursor is not None and child.path == cursor:
                found = leaf
        return found

    def _open_paths(self) -> set[str]:
        opened = set()
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.is_expanded and node.data is not None:
                opened.add(node.data.path)
            stack.extend(node.children)
        return opened


def _depth(node: TreeNode[FileNode]) -> int:
    depth = 0
    while node.parent is not None:
        node = node.parent
        depth += 1
    return depth


def _all(node: FileNode) -> list[FileNode]:
    found = [node]
    for child in node.children:
        found.extend(_all(child))
    return found


def _paths(node: FileNode) -> list[str]:
    return [n.path for n in _all(node)]


def _folders(node: FileNode) -> list[FileNode]:
    found = [node]
    for child in node.children:
        if child.is_dir:
            found.extend(_folders(child))
    return found
