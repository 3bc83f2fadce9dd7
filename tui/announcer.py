"""What the monitor tells the user from each snapshot: errors, damaged files, new alerts and
a --range that names no channel, each said once.

Kept apart from the app so that the rules of what is worth saying (once per error, one
summary for a burst of alerts, the range check made once the channels are known) are one
thing, and the app only shows what it is given. Work per snapshot does not grow with the
history: alerts are checked against what was seen by id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from textual.notifications import SeverityLevel

from sensorscope.model import Alert, Snapshot
from sensorscope.tui.timefmt import utc_clock

MAX_ALERT_NOTICES = 3  # more new alerts than this in one tick get one summary notice
RANGE_CHECK_TICKS = 48  # about 4 s of ticks with channels


@dataclass(frozen=True)
class Notice:
    message: str
    severity: SeverityLevel
    title: str
    timeout: float | None = None


def alert_notice(a: Alert) -> Notice:
    """The notice one new alert gets."""
    why = f" ({a.reason})" if a.reason else ""
    text = f"#{a.id} on {a.channel} at {utc_clock(a.start)}: score {a.peak_score:.3f}{why}"
    return Notice(text, "warning", "alert")


class Announcer:
    """Turns snapshots into notices; :meth:`news` gives what is new in one."""

    def __init__(self, unmatched_ranges: Callable[[Sequence[str]], str]) -> None:
        self._unmatched_ranges = unmatched_ranges
        self._said: set[str] = set()
        self._alerts_seen: dict[int, float] = {}
        self._ranges_ticks = 0  # ticks with channels before --range names are checked

    def news(self, snap: Snapshot) -> tuple[list[Notice], bool]:
        """The notices ``snap`` brings, in order, and whether a new alert came (the bell)."""
        out = self._once(snap.errors, "error", "error")
        out += self._once(snap.notices, "warning", "damaged file")
        alerts = self._alerts(snap.alerts)
        out += alerts
        out += self._ranges(snap)
        return out, bool(alerts)

    def _once(self, texts: Iterable[str], severity: SeverityLevel, title: str) -> list[Notice]:
        out = []
        for text in texts:
            if text not in self._said:
                self._said.add(text)
                out.append(Notice(text, severity, title, 15))
        return out

    def _alerts(self, alerts: list[Alert]) -> list[Notice]:
        new = [a for a in alerts if self._alerts_seen.get(a.id) != a.start]
        for a in new:
            self._alerts_seen[a.id] = a.start
        if len(new) > MAX_ALERT_NOTICES:
            last = new[-1]
            text = f"{len(new)} new alerts, the newest #{last.id} on {last.channel}"
            return [Notice(text, "warning", "alerts")]
        return [alert_notice(a) for a in new]

    def _ranges(self, snap: Snapshot) -> list[Notice]:
        """Once the channels are known (a few seconds of them, or the replay's end), which
        --range names match none; checked once, so a tick's work does not grow."""
        if self._ranges_ticks < 0 or not snap.channels:
            return []
        self._ranges_ticks += 1
        ended = snap.done or (snap.replay is not None and snap.replay.done)
        if self._ranges_ticks < RANGE_CHECK_TICKS and not ended:
            return []
        self._ranges_ticks = -1
        message = self._unmatched_ranges(list(snap.channels))
        return [Notice(message, "warning", "--range", 10)] if message else []
