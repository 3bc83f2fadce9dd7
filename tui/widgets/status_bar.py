"""The status line: each source's state, throughput, error counts, replay position, labels.

Two lines, fixed height, so the layout below never jumps. Everything said in colour is
also said in words (``PAUSED``, ``reconnecting``), so it reads the same with NO_COLOR.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from sensorscope.model import Snapshot, SourceStatus
from sensorscope.tui.timefmt import fmt_speed, printable, utc_datetime

STATE_WORDS = {
    "starting": "starting",
    "connected": "connected",
    "following": "following",
    "reconnecting": "reconnecting",
    "eof": "end of file",
    "stopped": "stopped",
    "error": "error",
}
REPLAY_KINDS = ("recording", "csv")
STATE_STYLES = {"reconnecting": "bold yellow", "error": "bold red", "eof": "dim"}


@dataclass
class StatusView:
    """What the status line shows besides the snapshot itself."""

    labels_path: str
    paused_live: bool = False
    alerts_since_pause: int = 0
    samples_since_pause: int = 0  # scored behind a paused display: the data still comes
    filter_text: str = ""
    sort: str = "name"


def source_text(status: SourceStatus, replay_paused: bool, detail_room: int | None = None) -> Text:
    """``name: state`` with the reason a source is not delivering, if any, cut to
    ``detail_room`` characters (``None``: whole)."""
    state = status.state
    word = STATE_WORDS.get(state, state)
    if status.kind in REPLAY_KINDS and state == "connected":
        word = "paused" if replay_paused else "replaying"
    out = Text(f"{printable(status.name)}: ")
    out.append(word, style=STATE_STYLES.get(state, "bold" if word == "paused" else ""))
    if state in ("reconnecting", "error") and status.detail:
        detail = printable(status.detail)
        if detail_room is not None and len(detail) > detail_room:
            detail = detail[: max(0, detail_room - 1)] + "…"
        out.append(f" ({detail})")
    if status.reconnects:
        out.append(f" ↻{status.reconnects}")
    return out


def shorten_left(path: str, width: int) -> str:
    """Keep the end of a path, which names the file.

    >>> shorten_left("/very/long/path/to/demo.labels.jsonl", 19)
    '…/demo.labels.jsonl'
    """
    if len(path) <= width:
        return path
    if width <= 1:
        return "…"[:width]
    return "…" + path[-(width - 1) :]


def status_lines(snap: Snapshot | None, view: StatusView, width: int) -> tuple[Text, Text]:
    """The two status lines for a terminal ``width`` columns wide."""
    sep = " · "
    first = Text()
    replay = snap.replay if snap is not None else None
    if view.paused_live:
        n = view.alerts_since_pause
        s = view.samples_since_pause
        first.append(
            f" PAUSED +{n} alert{'s' if n != 1 else ''} +{s} sample{'s' if s != 1 else ''} ",
            style="bold reverse",
        )
        first.append(" ")
    elif replay is not None and replay.paused:
        first.append(" PAUSED ", style="bold reverse")
        first.append(" ")
    if snap is None:
        first.append("starting…")
    else:
        paused = bool(replay and replay.paused)
        statuses = list(snap.sources.values())
        extra: list[Text] = []
        if replay is not None:
            where = "end" if replay.done else f"{replay.position:.0%}"
            extra.append(
                Text(f"replay {where} {utc_datetime(replay.t)} UTC {fmt_speed(replay.speed)}")
            )
        # A source's reason (why it is not delivering) gets whatever the line has left, shared
        # by the sources that have one: whole on a wide terminal, cut only where it must be.
        bare = [source_text(st, paused, detail_room=0) for st in statuses]
        used = len(first) + sum(len(t) for t in bare + extra) + len(sep) * (len(bare + extra) - 1)
        telling = [st for st in statuses if st.state in ("reconnecting", "error") and st.detail]
        room = (width - used) // len(telling) if telling else None
        parts = [source_text(st, paused, detail_room=room) for st in statuses]
        first.append_text(Text(sep).join(parts + extra))
    # The table's filter and sort go where there is room: after the sources, else below.
    tail = ""
    if view.filter_text:
        tail += f"{sep}filter: {printable(view.filter_text)}"
    if view.sort != "name":
        tail += f"{sep}sort: {view.sort}"
    if tail and len(first) + len(tail) <= width:
        first.append(tail)
        tail = ""
    first.truncate(width, overflow="ellipsis")

    second = Text()
    if snap is not None:
        c = snap.counters
        second.append(f"{snap.lines_per_s:,.0f} lines/s")
        second.append(sep)
        second.append(f"{c.parse_errors} parse errors", style="bold" if c.parse_errors else "")
        second.append(sep)
        second.append(f"{c.garbage} garbage", style="bold" if c.garbage else "")
        second.append(sep)
        if c.ghosts:
            second.append(f"{c.ghosts} ghost values", style="bold")
            second.append(sep)
        unscored = sum(st.unscored for st in snap.sources.values())
        if unscored:
            second.append(f"{unscored} lines not scored (behind)", style="bold")
            second.append(sep)
    room = max(12, width - len(second) - len("labels: ") - len(tail))
    second.append(f"labels: {shorten_left(view.labels_path, room)}")
    second.append(tail)
    second.truncate(width, overflow="ellipsis")
    return first, second


class StatusBar(Static):
    """Shows :func:`status_lines` for the latest snapshot the app applied."""

    DEFAULT_CSS = """
    StatusBar {
        height: 2;
        background: $panel;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.plain = ""  # the text shown, without styles
        self._shown: Text | None = None

    def show(self, snap: Snapshot | None, view: StatusView) -> None:
        width = self.size.width or self.app.size.width
        first, second = status_lines(snap, view, width)
        text = Text("\n").join([first, second])
        if self._shown is None or (text.plain, text.spans) != (
            self._shown.plain,
            self._shown.spans,
        ):
            self._shown = text
            self.plain = text.plain
            # Two fixed lines: a new text never changes the layout, and a relayout of the
            # whole screen on every tick is what a flood cannot afford.
            self.update(text, layout=False)
