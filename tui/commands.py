"""The command palette's sensorscope commands: the main actions, by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (name, help, app action)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Pause / resume", "Freeze the display (live) or pause the replay", "toggle_pause"),
    (
        "Label false positive",
        "Label the highlighted alert a false positive",
        "label('false_positive')",
    ),
    ("Label anomaly", "Label the highlighted alert a true anomaly", "label('anomaly')"),
    ("Mark missed anomaly", "Label a span on the selected channel as an anomaly", "mark_missed"),
    ("Undo last label", "Retract the last label made", "undo"),
    ("Raise threshold", "Selected channel's threshold +0.01", "threshold(1)"),
    ("Lower threshold", "Selected channel's threshold -0.01", "threshold(-1)"),
    ("Reset threshold", "Selected channel's threshold back to the default", "reset_threshold"),
    ("Replay faster", "Next replay speed up", "speed(1)"),
    ("Replay slower", "Next replay speed down", "speed(-1)"),
    ("Seek back 10 s", "Replay: go back 10 seconds", "seek(-10)"),
    ("Seek forward 10 s", "Replay: skip 10 seconds ahead", "seek(10)"),
    ("Restart replay", "Replay from the beginning", "restart"),
    ("Filter channels", "Show only channels whose name contains a text", "filter"),
    ("Cycle sort", "Sort channels by name, score or alerts", "cycle_sort"),
    ("Toggle raw lines", "Show the lines that did not parse", "toggle_raw"),
    ("Label metrics", "Precision and false alerts per hour from the labels so far", "metrics"),
    ("Help", "List every key", "help"),
    ("Quit", "Flush labels and recording, then quit", "quit"),
)


class SensorscopeCommands(Provider):
    async def discover(self) -> Hits:
        for name, help_text, action in COMMANDS:
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(self.app.run_action, action),
                    text=name,
                    help=help_text,
                )
