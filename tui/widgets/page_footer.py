"""The run page's footer, made again only when the keys it shows change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from runview.tui.coalesce import Coalesced

KeyRow = tuple[object, ...]


class PageFooter(Footer):
    """Textual's Footer builds its keys again at every change of the screen's bindings: each
    focus move, each reactive that refreshes them; five times while a run page opens, each a
    layout and a paint of the screen that the chart worker waits behind. This one looks once per
    burst of changes, and builds them again only when they differ from those on show."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[KeyRow, ...] | None = None
        self._look_again = Coalesced(self.call_after_refresh, self._recompose_if_changed)

    def _keys(self) -> tuple[KeyRow, ...]:
        """What ``Footer.compose`` shows, as comparable rows."""
        return tuple(
            (
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                binding.group,
                enabled,
                tooltip,
            )
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )

    def compose(self) -> ComposeResult:
        self._shown = self._keys() if self._bindings_ready else None
        yield from super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self._look_again()

    async def _recompose_if_changed(self) -> None:
        if self.is_attached and self._keys() != self._shown:
            await self.recompose()
