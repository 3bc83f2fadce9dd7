"""Every key of the monitor, declared once: the app's bindings (and so its footer), the help
screen's rows and the command palette's entries are all derived from ``ROWS``."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    """One key the app binds, with its words in the footer, the help and the palette."""

    key: str  # Textual's name of the key
    action: str
    description: str  # the footer's word (and Textual's key panel's)
    command: str  # the palette's name for the action
    command_help: str  # the palette's line under the name
    footer: bool = False
    shown: str = ""  # how the help writes the key, when not as its name ("+" for "plus")

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.description, show=self.footer)


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

    @property
    def shown(self) -> str:
        return " / ".join([k.shown or k.key for k in self.keys] + list(self.others))

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
                "f",
                "label('false_positive')",
                "False pos",
                "Label false positive",
                "Label the highlighted alert a false positive",
                footer=True,
            ),
            Key(
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
        "label a missed anomaly (span editable)",
        (
            Key(
                "m",
                "mark_missed",
                "Missed",
                "Mark missed anomaly",
                "Label a span on the selected channel as an anomaly",
                footer=True,
            ),
        ),
    ),
    Row(
        "undo the last label (appends a retraction)",
        (Key("u", "undo", "Undo", "Undo last label", "Retract the last label made", footer=True),),
    ),
    Row(
        "channel threshold up / down 0.01 / reset",
        (
            Key(
                "plus",
                "threshold(1)",
                "Threshold +",
                "Raise threshold",
                "Selected channel's threshold +0.01",
                shown="+",
            ),
            Key(
                "minus",
                "threshold(-1)",
                "Threshold -",
                "Lower threshold",
                "Selected channel's threshold -0.01",
                shown="-",
            ),
            Key(
                "equals_sign",
                "reset_threshold",
                "Threshold reset",
                "Reset threshold",
                "Selected channel's threshold back to the default",
                shown="=",
            ),
        ),
    ),
    Row(
        "replay slower / faster (0.25x to 64x, max)",
        (
            Key(
                "left_square_bracket",
                "speed(-1)",
                "Slower",
                "Replay slower",
                "Next replay speed down",
                shown="[",
            ),
            Key(
                "right_square_bracket",
                "speed(1)",
                "Faster",
                "Replay faster",
                "Next replay speed up",
                shown="]",
            ),
        ),
        palette_order=(1, 0),  # the palette has always offered "faster" first
    ),
    Row(
        "replay: seek 10 s back / forward (they add up)",
        (
            Key("left", "seek(-10)", "Seek -10 s", "Seek back 10 s", "Replay: go back 10 seconds"),
            Key(
                "right",
                "seek(10)",
                "Seek +10 s",
                "Seek forward 10 s",
                "Replay: skip 10 seconds ahead",
            ),
        ),
    ),
    Row(
        "replay: restart from the beginning",
        (Key("r", "restart", "Restart", "Restart replay", "Replay from the beginning"),),
    ),
    Row(
        "filter channels by name (Escape clears)",
        (
            Key(
                "slash",
                "filter",
                "Filter",
                "Filter channels",
                "Show only channels whose name contains a text",
                shown="/",
            ),
        ),
    ),
    Row(
        "sort the table by name, score or alerts",
        (Key("s", "cycle_sort", "Sort", "Cycle sort", "Sort channels by name, score or alerts"),),
    ),
    Row(
        "show or hide the lines that did not parse",
        (
            Key(
                "l",
                "toggle_raw",
                "Raw lines",
                "Toggle raw lines",
                "Show the lines that did not parse",
            ),
        ),
    ),
    Row(
        "metrics of the labels so far",
        (
            Key(
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
        (Key("question_mark", "help", "Help", "Help", "List every key", footer=True, shown="?"),),
        others=("ctrl+p",),  # Textual's palette key
    ),
    Row(
        "quit (labels and recording flushed first)",
        (
            Key(
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

WHAT_WIDTH = 52

# What the help lists: (the keys as written, what they do), one row each.
KEYS: tuple[tuple[str, str], ...] = tuple((row.shown, row.what) for row in ROWS)

# The palette's sensorscope commands: (name, help, app action).
COMMANDS: tuple[tuple[str, str, str], ...] = tuple(
    (k.command, k.command_help, k.action) for row in ROWS for k in row.commands()
)


def bindings() -> list[Binding]:
    """The app's BINDINGS, in the help's order (the footer shows them in this order)."""
    return [k.binding() for row in ROWS for k in row.keys]
