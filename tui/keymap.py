"""The user's keys: a ``[keys]`` table (key id -> keys) checked against the key table.

The command line reads the table from the settings file (``sensorscope.settings.read_keys``)
and checks it here before the monitor opens, so that a typo is one line and exit 2, not a
key that silently does nothing: an id the table does not have, a name that is no key
Textual sends, and a key that would then do two things (two of ours, or one of ours and one
a widget or Textual binds, such as ``tab`` or ``j``) are refused. What it returns is the
keymap ``SensorscopeApp`` hands ``App.set_keymap``, each key in Textual's own name.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import App
from textual.binding import Binding
from textual.keys import _character_to_key, format_key
from textual.screen import Screen

from sensorscope.errors import UserError
from sensorscope.tui.keys import BY_ID, NAMED_KEYS, ROWS
from sensorscope.tui.widgets.alert_log import AlertLog
from sensorscope.tui.widgets.channel_table import ChannelTable

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
EXAMPLES = "f, F, ctrl+x, f5, space, left, '+' or plus"


def key_name(text: str) -> str | None:
    """The name Textual gives the key ``text`` writes ("plus" for "+" and for "plus"), or
    None when it writes no key."""
    mods, sep, base = text.rpartition("+")
    if text == "+":
        mods, sep, base = "", "", "+"
    if sep and not all(m in MODIFIERS for m in mods.split("+")):
        return None
    if base in NAMED_KEYS:
        return text
    char = base if len(base) == 1 else format_key(base)
    if len(char) != 1 or not char.isprintable() or char.isspace():
        return None
    # Textual's own name for a character: what it sends, and what set_keymap would make of
    # a lone "+" (it normalises with this same function).
    return f"{mods}{sep}{_character_to_key(char)}"


def _bound_by(cls: type) -> dict[str, Binding]:
    """The keys a Textual class binds, merged as Textual merges them (a subclass's binding
    of a key replaces its base's)."""
    keys: dict[str, Binding] = {}
    for base in reversed(cls.__mro__):
        for binding in Binding.make_bindings(base.__dict__.get("BINDINGS", [])):
            keys[binding.key] = binding
    return keys


def taken_keys() -> dict[str, str]:
    """Keys that are not ours to give, with what they do: those Textual and the main
    screen's widgets bind (apart from the ones they bind under our ids)."""
    taken = {App.COMMAND_PALETTE_BINDING: "the command palette"}
    for cls in (App, Screen, ChannelTable, AlertLog):
        for key, binding in _bound_by(cls).items():
            if binding.id not in BY_ID:
                taken.setdefault(key, binding.description or binding.action)
    return taken


def check_keymap(table: Mapping[str, str], where: str) -> dict[str, str]:
    """``table`` as the app's keymap (key id -> Textual's key names, comma separated), or a
    UserError of one line naming ``where`` and the first problem."""
    keymap: dict[str, str] = {}
    for kid, text in table.items():
        if kid not in BY_ID:
            raise UserError(f"{where}: [keys] has no key {kid!r}; the ids are {', '.join(BY_ID)}")
        names = []
        for part in text.split(","):
            name = key_name(part.strip())
            if name is None:
                raise UserError(
                    f"{where}: [keys] {kid} = {text!r}: {part.strip()!r} is not a key "
                    f"(keys are written {EXAMPLES}; a comma is comma)"
                )
            names.append(name)
        keymap[kid] = ",".join(dict.fromkeys(names))
    _check_clashes(keymap, where)
    return keymap


def _check_clashes(keymap: Mapping[str, str], where: str) -> None:
    taken = taken_keys()
    owner: dict[str, str] = {}
    for key in (k for row in ROWS for k in row.keys):
        for name in key.keys(keymap):
            mine = f"[keys] {key.id} = {keymap[key.id]!r}" if key.id in keymap else key.id
            if name in taken:
                raise UserError(f"{where}: {mine}: {name!r} is taken ({taken[name]})")
            other = owner.setdefault(name, key.id)
            if other == key.id:
                continue
            if other in keymap and key.id in keymap:
                raise UserError(f"{where}: [keys] gives {name!r} to both {other} and {key.id}")
            moved, stays = (other, key.id) if other in keymap else (key.id, other)
            raise UserError(
                f"{where}: [keys] {moved} = {keymap[moved]!r}: {name!r} is already {stays}'s "
                f"key (give {stays} another one too)"
            )
