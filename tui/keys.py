"""Every key of the monitor, as the help screen lists them."""

from __future__ import annotations

KEYS: tuple[tuple[str, str], ...] = (
    # One line each in the help panel at 80 columns (at most WHAT_WIDTH characters), so
    # that the whole list fits an 80x24 terminal.
    ("up / down, j / k", "select a channel (alert log: an alert)"),
    ("tab", "focus the channel table or the alert log"),
    ("space", "pause / resume (live: recording goes on)"),
    ("f / a", "label the alert a false positive / an anomaly"),
    ("m", "label a missed anomaly (span editable)"),
    ("u", "undo the last label (appends a retraction)"),
    ("+ / - / =", "channel threshold up / down 0.01 / reset"),
    ("[ / ]", "replay slower / faster (0.25x to 64x, max)"),
    ("left / right", "replay: seek 10 s back / forward (they add up)"),
    ("r", "replay: restart from the beginning"),
    ("/", "filter channels by name (Escape clears)"),
    ("s", "sort the table by name, score or alerts"),
    ("l", "show or hide the lines that did not parse"),
    ("e", "metrics of the labels so far"),
    ("? / ctrl+p", "this help / the command palette"),
    ("q", "quit (labels and recording flushed first)"),
)

WHAT_WIDTH = 52
