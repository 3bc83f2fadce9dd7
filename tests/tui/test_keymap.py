"""Keys the user changes: a ``[keys]`` table in the settings file, read by the command line
(``cli.monitor.user_keys``, as ``watch --config`` and ``demo --config`` do) and handed to
the real app replaying the demo. The new key does the action and the old one no longer
does; the footer, the help and the palette name the new key."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets._footer import FooterKey
from tui_support import wait_for

from sensorscope.cli.monitor import user_keys
from sensorscope.tui.app import make_app
from sensorscope.tui.keys import BY_ID, ROWS
from sensorscope.tui.screens.help import HelpScreen

SNAPSHOT_APP = runpy.run_path(str(Path(__file__).with_name("snapshot_app.py")))
build_app = SNAPSHOT_APP["build_app"]
replay_over = SNAPSHOT_APP["replay_over"]

SIZE = (100, 40)
KEYS_TOML = """\
[keys]
label_fp = "x"
help = "h"
seek_back = "semicolon"
threshold_up = "ctrl+u,+"
"""


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def remapped(tmp_path):
    """The demo app with KEYS_TOML's keys, and where its labels go."""
    conf = tmp_path / "sensorscope.toml"
    conf.write_text(KEYS_TOML)
    labels = tmp_path / "labels.jsonl"
    app = build_app(labels=str(labels), keymap=user_keys(str(conf)))
    yield app, labels
    app.monitor.stop()


def footer_keys(app) -> dict[str, str]:
    """What the footer shows: action -> the key written beside its word."""
    return {k.action: k.key_display for k in app.screen.query(FooterKey)}


async def test_a_remapped_key_labels_and_the_old_key_no_longer_does(remapped):
    app, labels = remapped
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_over(app), timeout=30, what="the demo replay")
        newest = app.alert_log.highlighted_alert()
        assert newest is not None
        await pilot.press("f")
        await pilot.pause(0.3)
        assert records(labels) == []
        assert not any("false positive" in text for _, text in app.notices)
        await pilot.press("x")
        await wait_for(pilot, lambda: records(labels), what="the label on disk")
        (rec,) = records(labels)
        assert (rec["label"], rec["alert"]) == ("false_positive", newest.id)


async def test_the_footer_shows_the_new_key(remapped):
    app, _ = remapped
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: footer_keys(app), what="the footer")
        shown = footer_keys(app)
        assert shown["label('false_positive')"] == "x"
        assert shown["help"] == "h"
        assert shown["label('anomaly')"] == "a"  # not remapped: as it was


async def test_the_help_opens_on_its_new_key_and_lists_the_new_keys(remapped):
    app, _ = remapped
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        table = app.screen.query_one("#help-keys").content
        keys, what = (list(map(str, column.cells)) for column in table.columns)
        rows = dict(zip(what, keys, strict=True))
        assert rows["label the alert a false positive / an anomaly"] == "x / a"
        assert rows["channel threshold up / down 0.01 / reset"] == "ctrl+u, + / - / ="
        assert rows["replay: seek 10 s back / forward / restart"] == "; / right / r"
        assert rows["this help / the command palette"] == "h / ctrl+p"
        await pilot.press("h")  # its own key closes it, as "?" did
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="closed")


async def test_the_palette_names_the_new_key(remapped):
    app, labels = remapped
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"label false")
        listing = app.screen.query_one(CommandList)
        await wait_for(pilot, lambda: listing.option_count > 0, what="the palette's entries")
        helps = [str(option.hit.help) for option in listing.options]
        assert any(h.endswith("(key: x)") for h in helps), helps


async def test_the_tables_seek_keys_follow_the_keymap(remapped):
    """The channel table binds left/right itself (they would scroll it): under the same
    ids, so that with the table focused the old key is gone there too."""
    app, _ = remapped
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused is app.channel_table
        await pilot.pause()
        active = app.screen.active_bindings
        assert active["semicolon"].binding.action == "app.seek(-10)"
        assert "left" not in active
        assert active["right"].binding.action == "app.seek(10)"


def test_every_key_has_a_stable_id_of_its_own():
    assert len(BY_ID) == sum(len(row.keys) for row in ROWS)
    assert all(kid.isidentifier() for kid in BY_ID)


def test_the_readme_lists_every_key_id_with_its_key():
    """The README's list is this line (regenerate it from here when a key changes)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    listed = ", ".join(f"`{k.id}` ({k.shown()})" for row in ROWS for k in row.keys)
    assert f"The ids, with their keys as they come: {listed}." in readme


async def test_the_footer_keeps_its_order_with_keys_remapped(remapped, replay):
    """Textual re-adds a rebound key after the others: the footer must not reshuffle."""
    app, _ = remapped
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: footer_keys(app), what="the footer")
        order = list(footer_keys(app))
    plain = make_app(replay)
    async with plain.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: footer_keys(plain), what="the footer")
        assert list(footer_keys(plain)) == order
