"""Every key the running app binds is in the help screen and in the command palette, as the
user reads them there; a key bound without a word in either fails here."""

from __future__ import annotations

import re
from functools import partial

import pytest
from textual.app import App
from textual.command import CommandList, CommandPalette
from textual.keys import format_key
from tui_support import wait_for

from sensorscope.tui.app import make_app
from sensorscope.tui.keymap import check_keymap
from sensorscope.tui.screens.help import HelpScreen

SIZE = (100, 40)
# Textual's own keys (ctrl+q, ctrl+c, ctrl+p): not ours to document, except as the help wants.
TEXTUAL_KEYS = {b.key for b in App.BINDINGS} | {App.COMMAND_PALETTE_BINDING}


async def app_bindings(app, pilot) -> list:
    """The running app's own bindings: with nothing focused no widget shadows one."""
    app.screen.set_focus(None)
    await pilot.pause()
    return [
        active.binding
        for active in app.screen.active_bindings.values()
        if active.node is app and active.binding.key not in TEXTUAL_KEYS
    ]


async def help_keys(app, pilot) -> set[str]:
    """The keys as the help screen writes them, one token each ("+ / - / =" is three)."""
    app.action_help()  # whichever key it is on
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, HelpScreen) and app.screen.query("#help-keys"),
        what="the help",
    )
    table = app.screen.query_one("#help-keys").content
    keys, what = (list(column.cells) for column in table.columns)
    assert all(str(w).strip() for w in what), "a help row says nothing"
    await pilot.press("escape")
    return {token.strip() for cell in keys for token in re.split(r" / |, ", str(cell))}


async def palette_actions(app, pilot) -> dict[str, str]:
    """What each entry of the opened palette runs: action -> the name it shows."""
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
    listing = app.screen.query_one(CommandList)
    counts: list[int] = []

    def settled() -> bool:
        counts.append(listing.option_count)
        return len(counts) > 5 and counts[-1] > 0 and len(set(counts[-5:])) == 1

    await wait_for(pilot, settled, what="the palette's entries")
    actions = {}
    for option in listing.options:
        run = option.hit.command
        if isinstance(run, partial) and run.func == app.run_action:
            actions[run.args[0]] = str(option.hit.text or option.prompt)
    await pilot.press("escape")
    return actions


# The keys as they come, and a user's (checked as the command line checks them).
KEYMAPS = [{}, {"label_fp": "x", "faster": "ctrl+f,greater_than_sign", "help": "h", "quit": "Q"}]


@pytest.mark.parametrize("keymap", KEYMAPS, ids=["default", "remapped"])
async def test_every_key_the_app_binds_is_in_the_help_and_in_the_palette(replay, keymap):
    app = make_app(replay, keymap=check_keymap(keymap, "test"))
    async with app.run_test(size=SIZE) as pilot:
        bindings = await app_bindings(app, pilot)
        assert {b.key for b in bindings} >= {k for text in keymap.values() for k in text.split(",")}
        assert len(bindings) >= 19  # the footer's keys and the hidden ones
        shown = await help_keys(app, pilot)
        actions = await palette_actions(app, pilot)
        for binding in bindings:
            assert {binding.key, format_key(binding.key)} & shown, f"{binding.key} not in help"
            assert binding.action in actions, f"{binding.key} ({binding.action}) not in palette"
            assert actions[binding.action].strip()
