"""The command palette's commands: every key binding of the current screen and of the app, by name, and what
the screen offers beyond its keys (`palette_commands()`: the search screen's saved searches and actions on
every result)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

_SKIP_ACTIONS = {"command_palette"}
_EXPLAINERS = ("why_not(",)  # a key's fallback that says why its action does not apply: not a command


def _own_bindings(obj: type, stop: type) -> list[Binding]:
    """`BINDINGS` declared by our classes (not Textual's base classes), most derived first."""
    out: list[Binding] = []
    for cls in obj.__mro__:
        if cls is stop or not cls.__module__.startswith("tui."):
            continue
        out += [b for b in cls.__dict__.get("BINDINGS", [])
                if isinstance(b, Binding) and not b.action.startswith(_EXPLAINERS)]
    return out


def bindings_of(screen: Screen[Any]) -> list[tuple[str, list[Binding]]]:
    """(group, bindings) for the screen and for the app, for the help screen and the palette."""
    from tui.app import ArchivistApp

    app_bindings = _own_bindings(type(screen.app), ArchivistApp.__mro__[1])
    name = getattr(screen, "HELP_TITLE", type(screen).__name__.removesuffix("Screen"))
    return [(name, _own_bindings(type(screen), Screen)), ("Everywhere", app_bindings)]


class ActionsProvider(Provider):
    """Offers what the keys do, so every action can be found by name without knowing its key."""

    def _commands(self) -> Iterator[tuple[str, str, Any]]:
        screen = self.screen
        for group, bindings in bindings_of(screen):
            target = screen if group != "Everywhere" else self.app
            for b in bindings:
                if b.action in _SKIP_ACTIONS or target.check_action(b.action, ()) is False:
                    continue  # what does not apply here (an archived article's Archive) is not offered
                yield b.description, f"{group} · {b.key.split(',')[0]}", partial(target.run_action, b.action)
        more = getattr(screen, "palette_commands", None)
        if more is not None:
            yield from more()

    async def discover(self) -> Hits:
        for name, help_text, run in self._commands():
            yield DiscoveryHit(name, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, run in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), run, text=name, help=help_text)
