"""Every key of the monitor, declared once: the app's bindings (and so its footer), the help
screen's rows and the command palette's entries are all derived from ``ROWS``.

Each key has a stable id, the name a user's ``[keys]`` table remaps it by (Textual's
keymap: ``App.set_keymap``, which replaces the key of every binding with that id, in every
screen and widget). The help and the palette are derived with the keymap in use, so they
name the keys the user pressed; the footer is Textual's, from the remapped bindings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from textual.binding import Binding
from textual.keys import Keys, format_key

#: A user's keymap: key id -> Textual's key string ("f", "plus,equals_sign"), as
#: ``App.set_keymap`` takes it.
Keymap = Mapping[str, str]
NO_KEYMAP: Keymap = {}

#: Keys with a name of their own (not a character): written by name ("left", "space").
NAMED_KEYS = frozenset(k.value for k in Keys if "+" not in k.value and not k.value.startswith("<"))


def shown(key: str) -> str:
    """How the help writes a key: a character as itself ("+" for "plus"), a named key and
    the modifiers by their names ("left", "ctrl+x"); a comma by its name, since a comma
    is what separates the keys of one action."""
    if key in (",", "comma"):
        return "comma"
    if len(key) == 1:
        return key
    mods, sep, base = key.rpartition("+")
    base = base if base in NAMED_KEYS or len(base) == 1 else format_key(base)
    return f"{mods}{sep}{base}"


@dataclass(frozen=True)
class Key:
    """One key the app binds, with its words in the footer, the help and the palette."""

    id: str  # what a [keys] table calls it: stable, whatever the key or the words
    key: str  # Textual's name of the key (the default)
    action: str
    description: str  # the footer's word (and Textual's key panel's)
    command: str  # the palette's name for the action
    command_help: str  # the palette's line under the name
    footer: bool = False

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.description, show=self.footer, id=self.id)

    def keys(self, keymap: Keymap = NO_KEYMAP) -> tuple[str, ...]:
        """The keys it is on: the keymap's, else its own."""
        text = keymap.get(self.id, self.key)
        return tuple(dict.fromkeys(k.strip() for k in text.split(",")))

    def shown(self, keymap: Keymap = NO_KEYMAP) -> str:
        return ", ".join(shown(k) for k in self.keys(keymap))


@dataclass(frozen=True)
class Row:
    """One line of the help: the keys it names and what they do."""

    what: str
    keys: tuple[Key, ...] = ()
    # Keys a widget or Textual binds (not the app), written after the app's own.
    others: tuple[str, ...] = ()
    # The palette's order of this row's commands, as indexes into keys, when not theirs.
    palette_order: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.palette_order is not None and sorted(self.palette_order) != list(
            range(len(self.keys))
        ):
            raise ValueError(f"palette_order {self.palette_order} does not order {self.what!r}")

    def shown(self, keymap: Keymap = NO_KEYMAP) -> str:
        return " / ".join([k.shown(keymap) for k in self.keys] + list(self.others))

    def commands(self) -> tuple[Key, ...]:
        if self.palette_order is None:
            return self.keys
        return tuple(self.keys[i] for i in self.palette_order)


ROWS: tuple[Row, ...] = (
    # One line each in the help panel at 80 columns (at most WHAT_WIDTH characters), so
    # that the whole list fits an 80x24 terminal.
    Row("select a channel (alert log: an alert)", others=("up / down, j / k",)),
    Row("focus the channel table or the alert log", others=("tab",)),
    Row(
        "pause / resume (live: recording goes on)",
        (
            Key(
                "pause",
                "space",
                "toggle_pause",
                "Pause",
                "Pause / resume",
                "Freeze the display (live) or pause the replay",
                footer=True,
            ),
        ),
    ),
    Row(
        "label the alert a false positive / an anomaly",
        (
            Key(
                "label_fp",
                "f",
                "label('false_positive')",
                "False pos",
                "Label false positive",
                "Label the highlighted alert a false positive",
                footer=True,
            ),
            Key(
                "label_anomaly",
                "a",
                "label('anomaly')",
                "Anomaly",
                "Label anomaly",
                "Label the highlighted alert a true anomaly",
                footer=True,
            ),
        ),
    ),
    Row(
        "label a missed anomaly (a span) / undo a label",
        (
            Key(
                "mark_missed",
                "m",
                "mark_missed",
                "Missed",
                "Mark missed anomaly",
                "Label a span on the selected channel as an anomaly",
                footer=True,
            ),
            Key(
                "undo",
                "u",
                "undo",
                "Undo",
                "Undo last label",
                "Retract the last label made",
                footer=True,
            ),
        ),
    ),
    Row(
        "channel threshold up / down 0.01 / reset",
        (
            Key(
                "threshold_up",
                "plus",
                "threshold(1)",
                "Threshold +",
                "Raise threshold",
                "Selected channel's threshold +0.01",
            ),
            Key(
                "threshold_down",
                "minus",
                "threshold(-1)",
                "Threshold -",
                "Lower threshold",
                "Selected channel's threshold -0.01",
            ),
            Key(
                "threshold_reset",
                "equals_sign",
                "reset_threshold",
                "Threshold reset",
                "Reset threshold",
                "Selected channel's threshold back to the default",
            ),
        ),
    ),
    Row(
        "keep thresholds, units, scales (sensorscope.toml)",
        (
            Key(
                "save_settings",
                "ctrl+s",
                "save_settings",
                "Save settings",
                "Save channel settings",
                "Keep each channel's threshold, unit, scale and range in sensorscope.toml",
            ),
        ),
    ),
    Row(
        "replay slower / faster (0.25x to 64x, max)",
        (
            Key(
                "slower",
                "left_square_bracket",
                "speed(-1)",
                "Slower",
                "Replay slower",
                "Next replay speed down",
            ),
            Key(
                "faster",
                "right_square_bracket",
                "speed(1)",
                "Faster",
                "Replay faster",
                "Next replay speed up",
            ),
        ),
        palette_order=(1, 0),  # the palette has always offered "faster" first
    ),
    Row(
        "replay: seek 10 s back / forward / restart",
        (
            Key(
                "seek_back",
                "left",
                "seek(-10)",
                "Seek -10 s",
                "Seek back 10 s",
                "Replay: go back 10 seconds",
            ),
            Key(
                "seek_forward",
                "right",
                "seek(10)",
                "Seek +10 s",
                "Seek forward 10 s",
                "Replay: skip 10 seconds ahead",
            ),
            Key(
                "restart", "r", "restart", "Restart", "Restart replay", "Replay from the beginning"
            ),
        ),
    ),
    Row(
        "chart: zoom in / out, back / forward, live",
        (
            Key(
                "zoom_in",
                "z",
                "zoom(-1)",
                "Zoom in",
                "Chart: zoom in",
                "Show a shorter stretch of the selected channel's history",
            ),
            Key(
                "zoom_out",
                "Z",
                "zoom(1)",
                "Zoom out",
                "Chart: zoom out",
                "Show a longer stretch of its history, up to all of it (mouse wheel too)",
            ),
            Key(
                "pan_back",
                "comma",
                "pan(-1)",
                "Back",
                "Chart: back in time",
                "Move the chart's window half its width back (with the cursor on: the cursor)",
            ),
            Key(
                "pan_forward",
                "full_stop",
                "pan(1)",
                "Forward",
                "Chart: forward in time",
                "Move the chart's window half its width on; onto the newest it follows the data",
            ),
            Key(
                "chart_live",
                "g",
                "chart_live",
                "Live",
                "Chart: follow the data",
                "Back to the newest samples, the window following them",
            ),
        ),
    ),
    Row(
        "chart: cursor / time axis / y: auto, fixed, range",
        (
            Key(
                "cursor",
                "c",
                "cursor",
                "Cursor",
                "Chart: cursor",
                "A cursor on the chart (comma / . move it), its time, value, score and alert",
            ),
            Key(
                "time_axis",
                "t",
                "time_axis",
                "Time axis",
                "Chart: time axis",
                "The chart's times as the clock (UTC) or as time before the newest sample",
            ),
            Key(
                "y_scale",
                "y",
                "y_scale",
                "Y scale",
                "Chart: value axis",
                "Fitted to the window, held where it is, or the channel's --range",
            ),
        ),
    ),
    Row(
        "chart: overlay it / clear / own scales or shared",
        (
            Key(
                "overlay",
                "o",
                "overlay",
                "Overlay",
                "Chart: overlay the channel",
                "Draw the selected channel over whichever is selected next (again: take it off)",
            ),
            Key(
                "overlay_clear",
                "O",
                "overlay_clear",
                "No overlay",
                "Chart: no overlay",
                "Take every overlaid channel off the chart",
            ),
            Key(
                "overlay_scale",
                "Y",
                "overlay_scale",
                "Overlay axis",
                "Chart: overlay scale",
                "Overlaid channels each on its own scale, or all on one value axis",
            ),
        ),
    ),
    Row(
        "filter channels by name (Escape clears)",
        (
            Key(
                "filter",
                "slash",
                "filter",
                "Filter",
                "Filter channels",
                "Show only channels whose name contains a text",
            ),
        ),
    ),
    Row(
        "sort the table by name, score or alerts",
        (
            Key(
                "sort",
                "s",
                "cycle_sort",
                "Sort",
                "Cycle sort",
                "Sort channels by name, score or alerts",
            ),
        ),
    ),
    Row(
        "raw lines pane / every line / hex / line times",
        (
            Key(
                "raw_lines",
                "l",
                "toggle_raw",
                "Raw lines",
                "Toggle raw lines",
                "Show the lines that did not parse",
            ),
            Key(
                "raw_every",
                "L",
                "raw_mode('every')",
                "All lines",
                "Raw lines: every line",
                "Show every received line, or only those that did not parse",
            ),
            Key(
                "raw_hex",
                "X",
                "raw_mode('hex')",
                "Hex",
                "Raw lines: hex",
                "Show the raw lines' bytes in hex, or as text",
            ),
            Key(
                "raw_delta",
                "D",
                "raw_mode('delta')",
                "Line times",
                "Raw lines: time between lines",
                "Show each raw line's time since the one before, or its receive time",
            ),
        ),
    ),
    Row(
        "write to the board (Enter sends, Escape closes)",
        (
            Key(
                "send",
                "w",
                "send_line",
                "Send",
                "Send to the board",
                "Type a line for the selected channel's port (history, line ending, \\xNN)",
            ),
        ),
    ),
    Row(
        "metrics of the labels so far",
        (
            Key(
                "metrics",
                "e",
                "metrics",
                "Metrics",
                "Label metrics",
                "Precision and false alerts per hour from the labels so far",
            ),
        ),
    ),
    Row(
        "this help / the command palette",
        (Key("help", "question_mark", "help", "Help", "Help", "List every key", footer=True),),
        others=("ctrl+p",),  # Textual's palette key
    ),
    Row(
        "quit (labels and recording flushed first)",
        (
            Key(
                "quit",
                "q",
                "quit",
                "Quit",
                "Quit",
                "Flush labels and recording, then quit",
                footer=True,
            ),
        ),
    ),
)

WHAT_WIDTH = 49  # beside the widest keys (21), in the help panel at 80 columns

#: Every key by its id.
BY_ID: dict[str, Key] = {k.id: k for row in ROWS for k in row.keys}


def help_rows(keymap: Keymap = NO_KEYMAP) -> tuple[tuple[str, str], ...]:
    """What the help lists: (the keys as written, what they do), one row each."""
    return tuple((row.shown(keymap), row.what) for row in ROWS)


KEYS: tuple[tuple[str, str], ...] = help_rows()  # the help with the default keys


class Command(NamedTuple):
    """One of the palette's sensorscope commands."""

    name: str
    help: str  # the line under the name, which ends with the keys it is on
    action: str  # the app's action it runs


def commands(keymap: Keymap = NO_KEYMAP) -> tuple[Command, ...]:
    """The palette's sensorscope commands, in its order, each naming its keys."""
    return tuple(
        Command(k.command, f"{k.command_help} (key: {k.shown(keymap)})", k.action)
        for row in ROWS
        for k in row.commands()
    )


def bindings() -> list[Binding]:
    """The app's BINDINGS, in the help's order (the footer shows them in this order)."""
    return [k.binding() for row in ROWS for k in row.keys]
