"""The command palette's sensorscope commands: every key's action, by name, with the keys it
is on in the keymap in use (tui/keys.py)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from sensorscope.tui.keys import NO_KEYMAP, Command, commands


class SensorscopeCommands(Provider):
    def _commands(self) -> tuple[Command, ...]:
        # The app is always SensorscopeApp, which imports this module: read its keys by name.
        return commands(getattr(self.app, "user_keys", NO_KEYMAP))

    async def discover(self) -> Hits:
        for name, help_text, action in self._commands():
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(self.app.run_action, action),
                    text=name,
                    help=help_text,
                )
