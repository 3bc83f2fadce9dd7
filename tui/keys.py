"""Every key of the monitor, as the help screen lists them."""

from __future__ import annotations

KEYS: tuple[tuple[str, str], ...] = (
    ("up / down, j / k", "select a channel (in the alert log: choose an alert)"),
    ("tab", "move focus between the channel table and the alert log"),
    ("space", "pause or resume (live: display freezes, recording goes on)"),
    ("f", "label the highlighted alert a false positive"),
    ("a", "label the highlighted alert a true anomaly"),
    ("m", "label a missed anomaly on the selected channel (span editable)"),
    ("u", "undo the last label (appends a retraction)"),
    ("+ / -", "raise / lower the selected channel's threshold by 0.01"),
    ("=", "reset the selected channel's threshold"),
    ("[ / ]", "replay slower / faster (0.25x to 64x, then max)"),
    ("left / right", "replay: seek 10 s back / forward (presses add up)"),
    ("r", "replay: restart from the beginning"),
    ("/", "filter channels by name (Enter applies, Escape clears)"),
    ("s", "cycle the table's sort: name, score, alerts"),
    ("l", "show or hide the lines that did not parse"),
    ("e", "metrics of the labels made so far (precision, false alerts per hour)"),
    ("?", "this help"),
    ("ctrl+p", "command palette"),
    ("q", "quit (labels and recording are flushed first)"),
)
