"""The monitor run in a child process, so that scoring never holds the UI's interpreter lock.

At a flood (100k values/s) the scoring thread holds the GIL most of the time, and the UI in
the same process cannot use the second core: bench/ui_pty.py runs each flood both ways (the
README's Speed section has the figures). ``watch --score-in process`` builds the whole
:class:`~sensorscope.monitor.Monitor` (sources, recording, labels, hooks, pipeline) in a
child process; the UI's process keeps only the screen. :class:`ChildMonitor` has the methods
the UI calls on a Monitor, each one request and one reply over a pipe (snapshots over a
pipe of their own, so that a key never waits behind one): the reply is a record
(a Snapshot, a HistoryWindow, a Label), as the Monitor returns it.

The child is started with ``spawn``: forking a process that already runs threads (Textual's,
a source's) copies locks in whatever state they were in.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sensorscope.channel_file import for_channel
from sensorscope.errors import UserError
from sensorscope.faults import unmatched_limits_message
from sensorscope.model import (
    ChannelMetrics,
    HistoryWindow,
    Label,
    LineEnding,
    MonitorEnd,
    RawLine,
    Settings,
    Snapshot,
    ViewRequest,
)
from sensorscope.monitor import Monitor, build_monitor, metrics_of
from sensorscope.state import RAW_LINES

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from sensorscope.channel_file import Saved

# How long the child may take to open its sources and say it is ready (s): a spawn imports
# numpy and the detector first, and a URL may take its connect timeout.
STARTUP = 60.0
# How long a call may wait for its reply (s) before the child counts as hung. Replies take
# milliseconds; saving the channels' settings or stopping (which waits for scoring to catch
# up, at most a few seconds) are the slow ones.
REPLY = 30.0

# What the UI may ask of the child: the Monitor's methods, nothing else.
CALLS = frozenset(
    {
        "start", "stop", "send_target", "send", "snapshot", "window", "sample_total",
        "alert_total", "label_alert", "label_span", "undo", "set_threshold",
        "threshold", "save_settings", "toggle_pause", "faster", "slower", "seek", "restart",
        "ending",
    }
)  # fmt: skip


@dataclass(frozen=True)
class MonitorFacts:
    """What a monitor is, fixed once it is built: read in the UI's process without a call."""

    is_replay: bool
    default_threshold: float
    labels_path: str
    line_ending: LineEnding
    settings_path: str
    settings: Settings


@dataclass(frozen=True)
class Reply:
    """One answer from the child: a value, or the error the Monitor raised."""

    value: Any = None
    #: A UserError's or KeyError's text, raised again as such in the UI's process.
    user_error: str | None = None
    key_error: int | None = None  # the alert id a label named that is gone
    #: Anything else that went wrong in the child, as one line.
    failure: str | None = None


@dataclass
class _Ending:
    """What a stopped child left: its last snapshot and its summary (the child has ended)."""

    snapshot: Snapshot
    end: MonitorEnd


def _facts(monitor: Monitor) -> MonitorFacts:
    return MonitorFacts(
        monitor.is_replay,
        monitor.default_threshold,
        monitor.labels_path,
        monitor.line_ending,
        monitor.settings_path,
        monitor.settings,
    )


def serve(conn: Connection, snaps: Connection, options: dict[str, Any]) -> None:
    """The child's side: build the monitor ``build_monitor(**options)`` and answer calls on
    ``conn`` until the UI's process says ``close`` or goes away, and snapshots on ``snaps``
    (in a thread of their own, so that a key's call never waits behind a snapshot)."""
    # The terminal is the UI's: a key the UI reads as ctrl+c must not stop scoring, and
    # nothing the child might print may land on the screen.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A hang-up (the SSH session gone) ends the UI's process; the pipe's end then stops this
    # one cleanly, its recording and labels flushed, as the default action would not.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    # Replies wait for the GIL behind the scoring thread: hand it over sooner.
    sys.setswitchinterval(0.001)
    try:
        monitor = build_monitor(**options)
    except UserError as exc:
        conn.send(Reply(user_error=str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - said in the UI's process, in one line
        conn.send(Reply(failure=f"{type(exc).__name__}: {exc}"))
        return
    # Nothing competes with scoring for this process's GIL but the replies.
    monitor.runner.share_with_ui = False
    conn.send(Reply(value=_facts(monitor)))
    threading.Thread(
        target=_answer_snapshots, args=(snaps, monitor), name="snapshots", daemon=True
    ).start()
    try:
        _answer(conn, monitor, CALLS)
    finally:
        monitor.stop()


def _answer(conn: Connection, monitor: Monitor, calls: frozenset[str]) -> None:
    while True:
        try:
            name, args = conn.recv()
        except (EOFError, OSError):
            return  # the UI's process ended: stop (the caller) and go
        if name == "close":
            conn.send(Reply())
            return
        if name not in calls:
            conn.send(Reply(failure=f"no such call: {name}"))
            continue
        try:
            reply = Reply(value=getattr(monitor, name)(*args))
        except UserError as exc:
            reply = Reply(user_error=str(exc))
        except KeyError as exc:
            reply = Reply(key_error=exc.args[0] if exc.args else None)
        except Exception as exc:  # noqa: BLE001 - one line for the UI, the child lives on
            reply = Reply(failure=f"{name}: {type(exc).__name__}: {exc}")
        conn.send(reply)


def _after(lines: list[RawLine], last: RawLine | None) -> tuple[list[RawLine], bool]:
    """The lines after ``last`` (the newest sent before, found by identity) and False, or
    all of them and True when it is gone from them (rotated out, or the lines were reset)."""
    if last is not None:
        for i in range(len(lines) - 1, -1, -1):
            if lines[i] is last:
                return lines[i + 1 :], False
    return lines, True


def _answer_snapshots(conn: Connection, monitor: Monitor) -> None:
    """Snapshots, with only the raw lines that are new since the last one sent: the UI's
    process keeps the rest (:class:`_LineBook`). A thousand lines unpickled on every tick
    were most of what the UI's process allocated, and so of its garbage collections."""
    last_raw: RawLine | None = None
    last_all: RawLine | None = None
    while True:
        try:
            _name, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            snap = monitor.snapshot(*args)
        except Exception as exc:  # noqa: BLE001 - one line for the UI, the child lives on
            conn.send(Reply(failure=f"snapshot: {type(exc).__name__}: {exc}"))
            continue
        raw, all_ = snap.raw_lines, snap.all_lines
        snap.raw_lines, raw_full = _after(raw, last_raw)
        snap.all_lines, all_full = _after(all_, last_all)
        last_raw = raw[-1] if raw else None
        last_all = all_[-1] if all_ else None
        conn.send(Reply(value=(snap, raw_full, all_full)))


class _LineBook:
    """The UI's process's copy of the child's latest raw lines, kept up by the new ones each
    snapshot brings."""

    def __init__(self) -> None:
        self.raw: deque[RawLine] = deque(maxlen=RAW_LINES)
        self.all: deque[RawLine] = deque(maxlen=RAW_LINES)

    def take(self, reply: tuple[Snapshot, bool, bool]) -> Snapshot:
        snap, raw_full, all_full = reply
        for kept, new, full in ((self.raw, snap.raw_lines, raw_full),
                                (self.all, snap.all_lines, all_full)):  # fmt: skip
            if full:
                kept.clear()
            kept.extend(new)
        snap.raw_lines, snap.all_lines = list(self.raw), list(self.all)
        return snap


class ChildGone(UserError):
    """The child process ended or stopped answering."""


class _Pipe:
    """One pipe to the child: a request, then its reply, one caller at a time."""

    def __init__(self, conn: Connection, proc: BaseProcess) -> None:
        self.conn = conn
        self.proc = proc
        # Calls come from the UI thread and from workers (saving settings).
        self.lock = threading.Lock()
        self.closed = False

    def ask(self, name: str, args: tuple[Any, ...]) -> None:
        if self.closed:
            raise ChildGone("the scoring process has ended")
        try:
            self.conn.send((name, args))
        except (OSError, ValueError) as exc:
            raise ChildGone(f"the scoring process is gone ({exc})") from None

    def reply(self, timeout: float, what: str) -> Any:
        try:
            ready = self.conn.poll(timeout)
            reply = self.conn.recv() if ready else None
        except (EOFError, OSError):
            reply = None
            ready = True
        if reply is None:
            # A reply that comes late would be read as the next call's: the pipe is done.
            self.closed = True
            code = self.proc.exitcode
            why = "stopped answering" if not ready else f"ended (exit code {code})"
            raise ChildGone(f"the scoring process {why} during {what}")
        if reply.user_error is not None:
            raise UserError(reply.user_error)
        if reply.key_error is not None:
            raise KeyError(reply.key_error)
        if reply.failure is not None:
            raise UserError(f"scoring process: {reply.failure}")
        return reply.value

    def call(self, name: str, args: tuple[Any, ...], timeout: float = REPLY) -> Any:
        with self.lock:
            self.ask(name, args)
            return self.reply(timeout, name)


class ChildMonitor:
    """A :class:`~sensorscope.monitor.Monitor` in a child process, with its methods.

    Built with the options of :func:`~sensorscope.monitor.build_monitor`; a UserError the
    child raised while building (a bad port, a bad file) is raised here, before any UI.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        ctx = multiprocessing.get_context("spawn")
        calls, their_calls = ctx.Pipe()
        snaps, their_snaps = ctx.Pipe()
        self._proc = ctx.Process(
            target=serve, args=(their_calls, their_snaps, options), name="sensorscope-score",
            daemon=True,
        )  # fmt: skip
        self._proc.start()
        their_calls.close()
        their_snaps.close()
        self._calls = _Pipe(calls, self._proc)
        self._snaps = _Pipe(snaps, self._proc)
        self._ending: _Ending | None = None
        self._last: Snapshot | None = None
        # The arguments of the snapshot asked for ahead (its reply not read yet), and of
        # the last one asked: a snapshot is asked ahead only while they stay the same.
        self._ahead: tuple[Any, ...] | None = None
        self._asked_last: tuple[Any, ...] | None = None
        self._book = _LineBook()
        self._started = False
        try:
            facts = self._calls.reply(STARTUP, "start-up")
        except BaseException:
            self._end_child()
            raise
        if not isinstance(facts, MonitorFacts):
            self._end_child()
            raise UserError("the scoring process did not start")
        self.is_replay = facts.is_replay
        self.default_threshold = facts.default_threshold
        self.labels_path = facts.labels_path
        self.line_ending = facts.line_ending
        self.settings_path = facts.settings_path
        self.settings = facts.settings

    def _call(self, name: str, *args: Any, timeout: float = REPLY) -> Any:
        return self._calls.call(name, args, timeout)

    def _end_child(self) -> None:
        for pipe in (self._calls, self._snaps):
            pipe.closed = True
            pipe.conn.close()
        self._proc.join(2.0)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(2.0)

    # -- life cycle -------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._started

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._call("start")

    def stop(self) -> None:
        """Stop the child's monitor and keep what it said last; safe to call twice."""
        if self._ending is not None:
            return
        try:
            self._call("stop")
            snap = self._call("snapshot", None, 0)
            end = self._call("ending")
            self._call("close", timeout=5.0)
        except UserError as exc:
            snap = self._last or _empty_snapshot()
            end = MonitorEnd(0, None, False, [str(exc)])
        self._ending = _Ending(snap, end)
        self._end_child()

    # -- reading ----------------------------------------------------------------------------

    def snapshot(
        self, detail: str | None = None, points: int = 200, view: ViewRequest | None = None
    ) -> Snapshot:
        """The child's state. A UI polls with the same arguments tick after tick, so the
        next tick's snapshot is asked for as soon as this one is read: the child makes it
        while the UI draws, and the UI waits for no reply (what it shows is as old as
        the last tick)."""
        if self._ending is not None:
            return self._ending.snapshot
        args = (detail, points, view)
        pipe = self._snaps
        try:
            with pipe.lock:
                snap = None
                if self._ahead is not None:
                    asked, self._ahead = self._ahead, None
                    # Taken into the book even when not wanted: the next brings only
                    # the lines after it.
                    snap = self._book.take(pipe.reply(REPLY, "snapshot"))
                    if asked != args:
                        snap = None
                if snap is None:
                    pipe.ask("snapshot", args)
                    snap = self._book.take(pipe.reply(REPLY, "snapshot"))
                if args == self._asked_last:
                    pipe.ask("snapshot", args)
                    self._ahead = args
                self._asked_last = args
        except ChildGone as exc:
            # Say it on screen, with the last state the child gave, rather than fail the UI.
            snap = self._last or _empty_snapshot()
            if str(exc) not in snap.errors:
                snap.errors.append(str(exc))
            snap.done = True
            return snap
        self._last = snap
        return snap

    def window(self, channel: str, view: ViewRequest) -> HistoryWindow | None:
        try:
            return self._call("window", channel, view)
        except ChildGone:
            return None

    def sample_total(self) -> int:
        return self._or(0, "sample_total")

    def alert_total(self) -> int:
        return self._or(0, "alert_total")

    def _or(self, default: Any, name: str, *args: Any) -> Any:
        """The call's reply, or ``default`` once the child is gone (the snapshot on screen
        says so): a key pressed then must not fail the screen."""
        try:
            return self._call(name, *args)
        except ChildGone:
            return default

    def live_metrics(self, snap: Snapshot | None = None) -> dict[str, ChannelMetrics]:
        return metrics_of(snap or self.snapshot(points=0))

    def ending(self) -> MonitorEnd:
        if self._ending is not None:
            return self._ending.end
        return self._call("ending")

    # -- what the user does -----------------------------------------------------------------
    # Labels, undo, sending and saving raise ChildGone (a UserError) when the child is gone:
    # the UI says it was not done. The rest do nothing then.

    def send_target(self, channel: str | None) -> tuple[str | None, str]:
        try:
            return self._call("send_target", channel)
        except ChildGone as exc:
            return None, str(exc)

    def send(self, source: str, text: str, ending: LineEnding) -> str:
        return self._call("send", source, text, ending)

    def label_alert(self, alert_id: int, kind: str) -> Label:
        return self._call("label_alert", alert_id, kind)

    def label_span(self, channel: str, start: float, end: float, kind: str = "anomaly") -> Label:
        return self._call("label_span", channel, start, end, kind)

    def undo(self) -> Label | None:
        return self._call("undo")

    def set_threshold(self, channel: str, value: float | None) -> None:
        self._or(None, "set_threshold", channel, value)

    def threshold(self, channel: str) -> float:
        last = self._last.channels.get(channel) if self._last is not None else None
        return self._or(self.default_threshold if last is None else last.threshold,
                        "threshold", channel)  # fmt: skip

    def limits(self, channel: str) -> tuple[float, float] | None:
        return for_channel(channel, self.settings.limits)

    def unmatched_ranges(self, channels: Sequence[str]) -> str:
        return unmatched_limits_message(self.settings.limits, channels)

    def save_settings(self) -> Saved:
        return self._call("save_settings")

    def toggle_pause(self) -> bool:
        return self._or(False, "toggle_pause")

    def faster(self) -> float | None:
        return self._or(None, "faster")

    def slower(self) -> float | None:
        return self._or(None, "slower")

    def seek(self, seconds: float) -> None:
        self._or(None, "seek", seconds)

    def restart(self) -> None:
        self._or(None, "restart")


def _empty_snapshot() -> Snapshot:
    from sensorscope.model import Counters

    return Snapshot(0, Counters(), {}, [], [], [], {}, [], True)
