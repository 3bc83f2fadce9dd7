"""The app the snapshot tests photograph: the bundled demo replayed to its end.

Built with the same ``make_app`` as the CLI. To look at it by hand:
``python tests/tui/snapshot_app.py``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from sensorscope.model import Settings
from sensorscope.monitor import build_monitor
from sensorscope.tui.announcer import alert_notice
from sensorscope.tui.app import SensorscopeApp, make_app

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "demo.jsonl"


def build_app(
    labels: str = "demo.labels.jsonl", keymap: dict[str, str] | None = None
) -> SensorscopeApp:
    """The demo replayed as fast as possible, with a labels file of its own (relative, so
    the status line reads the same wherever the test runs: chdir to an empty directory),
    and the user's keys when given (as ``cli.monitor.user_keys`` reads them)."""
    monitor = build_monitor([str(DEMO)], Settings(), labels=labels, speed=None)
    return make_app(monitor, keymap=keymap)


def replay_over(app: SensorscopeApp) -> bool:
    snap = app.snapshot
    return (
        snap is not None
        and snap.replay is not None
        and snap.replay.done
        and app.alert_log.row_count == len(snap.alerts)
    )


async def settle(pilot) -> None:
    """Wait until the end of the replay is on screen; drop what depends on the clock.

    lines/s is measured over windows of half a second: once the replay is over, the
    window after the next one reads 0 for good. The notice line depends on how many alerts
    one UI tick happened to bring (a burst gets one summary): it is set to the newest
    alert's own notice, what a replay slow enough for one alert a tick ends with.
    """
    app = pilot.app
    deadline = time.monotonic() + 30
    while not replay_over(app):
        if time.monotonic() > deadline:
            raise TimeoutError("the demo replay did not finish")
        await pilot.pause(0.05)
    await pilot.pause(1.2)
    assert app.monitor.snapshot(points=1).lines_per_s == 0
    app.apply(app.pull(), force_chart=True)
    app.clear_notifications()
    if app.snapshot.alerts:
        last = alert_notice(app.snapshot.alerts[-1])
        app.say(last.message, last.severity, title=last.title, timeout=last.timeout)
    await pilot.pause()


if __name__ == "__main__":
    os.chdir(tempfile.mkdtemp())
    build_app().run()
