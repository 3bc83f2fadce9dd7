"""What an interactive monitor asks of the core: one object over runner, labels and replay.

The UI holds a :class:`Monitor`, polls :meth:`Monitor.snapshot` on a timer and calls its
methods on key presses. Every method returns at once: labels go to a writer thread and to
the pipeline (whose snapshots carry them, joined to their alerts), replay controls set
flags the replaying thread reads, thresholds are queued for the scoring worker. The
monitor asks the pipeline through its methods only; it never takes its lock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensorscope.channel_file import (
    FILE_NAME,
    Saved,
    channel_configs,
    channels_path,
    for_channel,
    read_channels,
    update_channels,
    with_channels,
)
from sensorscope.errors import UserError
from sensorscope.faults import unmatched_limits_message
from sensorscope.labels import LabelStore, is_ground_truth, new_label
from sensorscope.model import (
    ChannelMetrics,
    HistoryWindow,
    Label,
    LabelKind,
    LineEnding,
    MonitorEnd,
    ReplayState,
    Settings,
    Snapshot,
    ViewRequest,
)
from sensorscope.pipeline import Pipeline
from sensorscope.recording import RecordingWriter
from sensorscope.runner import Runner
from sensorscope.send import encode_send, sent_text
from sensorscope.sources.base import DEFAULT_MAX_LINE, Source
from sensorscope.sources.open import describe_sources, make_source
from sensorscope.sources.replay import FollowSource, RecordingSource, ReplaySource
from sensorscope.sources.serial import DEFAULT_BAUD
from sensorscope.state_file import StateFile, state_path

if TYPE_CHECKING:
    from sensorscope.hooks import AlertHooks, HookSpec

SPEEDS: tuple[float | None, ...] = (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, None)


def default_labels_path(sources: Sequence[Source], record: str | None) -> str:
    """Beside the recording watched, else beside the one being written, else here.

    Beside a recording that is ``NAME.labels.jsonl``, unless that file is its ground
    truth (the demo's, a simulator's): then the user's labels go to
    ``NAME.mylabels.jsonl``, so a default never writes into ground truth.
    """
    for src in sources:
        if isinstance(src, (RecordingSource, FollowSource)):
            return _beside(src.path)
    if record:
        return _beside(record)
    return f"sensorscope-{time.strftime('%Y%m%d-%H%M%S')}.labels.jsonl"


def _beside(path: str) -> str:
    p = Path(path)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    labels = str(p.with_name(stem + ".labels.jsonl"))
    return str(p.with_name(stem + ".mylabels.jsonl")) if is_ground_truth(labels) else labels


class Monitor:
    """Runs the pipeline for a UI and carries out what the user asks of it."""

    def __init__(
        self,
        sources: Sequence[Source],
        settings: Settings,
        labels_path: str,
        recorder: RecordingWriter | None = None,
        hooks: AlertHooks | None = None,
        ground_truth_ok: bool = False,
        state_path: str | None = None,
    ) -> None:
        self.sources = list(sources)
        self.settings = settings
        self.hooks = hooks
        self.pipeline = Pipeline(
            settings,
            [n for s in self.sources for n in s.names],
            on_alert=hooks.on_alert if hooks is not None else None,
        )
        # The detectors' state (--state): restored now, before any data; saved by the
        # scoring worker every minute and when the monitor stops (the UI never writes it).
        self.state_file = None if state_path is None else StateFile(state_path, settings)
        self.state_notice = (
            self.state_file.load(self.pipeline) if self.state_file is not None else None
        )
        self.runner = Runner(self.sources, self.pipeline, recorder, state_file=self.state_file)
        self.runner.share_with_ui = True
        self.labels_path = labels_path
        self.store = LabelStore(labels_path, ground_truth_ok)
        # False positives labelled before (a replay of a recording labelled earlier) act as
        # they did then: each teaches its channel when the episode it covers closes.
        self.pipeline.show_labels(self.store.labels())
        self.replays = [s for s in self.sources if isinstance(s, ReplaySource)]
        self.is_replay = bool(self.replays) and len(self.replays) == len(self.sources)
        for src in self.replays:
            src.hold_at_end = True
        self.default_threshold = self.pipeline.default_threshold
        self._started = False
        self._stopped = False
        self._rate: tuple[float, int] | None = None
        self._lines_per_s = 0.0
        #: What the send line adds after a line unless the user picks another ending.
        self.line_ending = LineEnding.LF
        #: Where :meth:`save_settings` writes the channels' settings (build_monitor's
        #: choice; the working directory's sensorscope.toml for a monitor built alone).
        self.settings_path = FILE_NAME

    # -- life cycle -----------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether :meth:`start` ran (its sources opened and read)."""
        return self._started

    def start(self) -> None:
        if not self._started:
            self._started = True
            if self.hooks is not None:
                self.hooks.start()
            self.runner.start()

    def stop(self) -> None:
        """Stop reading, flush labels and the recording; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.store.close()
        if self._started:
            self.runner.stop(timeout=2.0)
        elif self.runner.recorder is not None:
            self.runner.recorder.close()
        for src in self.sources:
            src.close()
        if self.hooks is not None:
            self.hooks.close()

    def ending(self) -> MonitorEnd:
        """What ``watch`` says after the monitor stopped, besides the counts."""
        kept = self.state_file
        return MonitorEnd(
            self.runner.left_unscored,
            None if kept is None else kept.path,
            kept is not None and bool(kept.saves),
            list(self.runner.errors),
        )

    # -- talking to the board ---------------------------------------------------------------

    def send_target(self, channel: str | None) -> tuple[str | None, str]:
        """The source a line typed with ``channel`` selected goes to, or None and why not
        (said instead of opening the send line)."""
        src = self._source_of(channel)
        if src is None:
            return None, "no source to send to"
        if not src.writable:
            what = "a replay" if isinstance(src, ReplaySource) else f"a {src.kind} source"
            return None, f"{src.name} is {what}: read-only, nothing can be sent to it"
        return src.name, ""

    def _source_of(self, channel: str | None) -> Source | None:
        if len(self.sources) == 1:
            return self.sources[0]
        prefix = (channel or "").split("/", 1)[0]
        return next((s for s in self.sources if prefix in s.names), None)

    def send(self, source: str, text: str, ending: LineEnding) -> str:
        """Send ``text`` (escapes allowed) with ``ending`` to a writable source; returns at
        once (the source's reader writes it). A bad escape raises UserError."""
        src = next((s for s in self.sources if s.name == source and s.writable), None)
        if src is None:
            raise UserError(f"{source} cannot be sent to")
        data = encode_send(text, ending)
        src.send(data)
        return sent_text(data)

    # -- reading -------------------------------------------------------------------------

    def snapshot(
        self, detail: str | None = None, points: int = 200, view: ViewRequest | None = None
    ) -> Snapshot:
        """A copy of the state: ``points`` samples of each channel, all the ring holds of
        ``detail``, and ``view``'s stretch of ``detail``'s whole history if asked."""
        snap = self.runner.snapshot(points, detail, view)
        if self.store.error:
            snap.errors.append(self.store.error)
        if self.store.notice:
            snap.notices.append(self.store.notice)
        if self.state_notice:
            snap.notices.append(self.state_notice)
        for src in self.sources:
            skipped = getattr(src, "skipped", 0)
            if skipped:
                # Worded without the count's later growth, so it is shown once, not per line.
                snap.notices.append(
                    f"{src.path}: skipped damaged lines (not complete records; "
                    "a torn last line is left by an interrupted write)"
                )
        if self.hooks is not None:
            snap.errors.extend(self.hooks.errors())
        snap.data_t = max((c.last_t for c in snap.channels.values()), default=None)
        snap.lines_per_s = self._rate_of(snap.counters.lines)
        live = any(not isinstance(src, ReplaySource) for src in self.sources)
        if live:
            snap.clock = time.time()
        elif self.replays:
            # A replay's "now" is where scoring has got to, not where the reader is: under
            # load the reader runs ahead, and its lead is no silence of the channels.
            reader = self.replays[0].pacer.t
            done = snap.processed_t
            snap.clock = reader if done is None or reader is None else min(reader, done)
        if self.replays:
            pacer = self.replays[0].pacer
            statuses = [s.status for s in self.replays]
            snap.replay = ReplayState(
                position=sum(st.position for st in statuses) / len(statuses),
                t=pacer.t,
                speed=pacer.speed,
                paused=pacer.paused,
                done=all(st.state == "eof" for st in statuses) and self.runner.idle(),
            )
        return snap

    def window(self, channel: str, view: ViewRequest) -> HistoryWindow | None:
        """A stretch of a channel's whole history, e.g. for a paused display scrolled back
        while scoring goes on (returns at once: O(points + log), under the state's lock)."""
        return self.pipeline.window(channel, view)

    def sample_total(self) -> int:
        """Samples scored so far, every channel (cheap: for a paused display's status)."""
        return self.pipeline.sample_total()

    def _rate_of(self, lines: int) -> float:
        now = time.monotonic()
        if self._rate is not None:
            t0, n0 = self._rate
            if now - t0 >= 0.5:
                rate = max(0, lines - n0) / (now - t0)
                self._lines_per_s = rate if lines >= n0 else 0.0
                self._rate = (now, lines)
        else:
            self._rate = (now, lines)
        return self._lines_per_s

    def live_metrics(self, snap: Snapshot | None = None) -> dict[str, ChannelMetrics]:
        """:func:`metrics_of` the snapshot given, else of a fresh one."""
        return metrics_of(snap or self.snapshot(points=0))

    def alert_total(self) -> int:
        return self.pipeline.alert_total()

    # -- labels ---------------------------------------------------------------------------

    def label_alert(self, alert_id: int, kind: str) -> Label:
        """Label an alert; a false positive also teaches the channel (the scoring worker
        learns the episode and stops alerting on repeats of it at its next batch)."""
        alert = self.pipeline.alert(alert_id)
        if alert is None:
            raise KeyError(alert_id)
        rec = self.store.add(
            new_label(alert.channel, alert.start, alert.until, kind, alert=alert_id)
        )
        self.pipeline.add_label(rec)
        return rec

    def label_span(self, channel: str, start: float, end: float, kind: str = "anomaly") -> Label:
        rec = self.store.add(new_label(channel, start, end, kind))
        self.pipeline.add_label(rec)
        return rec

    def undo(self) -> Label | None:
        rec = self.store.undo()
        if rec is not None:
            self.pipeline.retract_label(rec)
        return rec

    # -- thresholds ------------------------------------------------------------------------

    def set_threshold(self, channel: str, value: float | None) -> None:
        if value is not None:
            value = min(1.0, max(0.0, round(value, 4)))
        self.pipeline.set_threshold(channel, value)

    def threshold(self, channel: str) -> float:
        return self.pipeline.threshold_for(channel)

    def limits(self, channel: str) -> tuple[float, float] | None:
        """The channel's physical range (``--range``, a ``[channels.NAME]`` range), if any."""
        return for_channel(channel, self.settings.limits)

    def unmatched_ranges(self, channels: Sequence[str]) -> str:
        """What to say about --range names that match none of ``channels`` ("" if all do)."""
        return unmatched_limits_message(self.settings.limits, channels)

    # -- per-channel settings (sensorscope.toml) ----------------------------------------

    def save_settings(self) -> Saved:
        """Write the channels' settings into :attr:`settings_path` (``update_channels``).
        Quick, but file I/O: a UI calls it off its own thread. A UserError says why not."""
        return update_channels(self.settings_path, channel_configs(self.pipeline, self.settings))

    # -- replay controls -------------------------------------------------------------------

    def toggle_pause(self) -> bool:
        if not self.replays:
            return False
        paused = not self.replays[0].pacer.paused
        for src in self.replays:
            src.pacer.set_paused(paused)
        return paused

    def _set_speed(self, step: int) -> float | None:
        if not self.replays:
            return None
        speed = self.replays[0].pacer.speed
        i = SPEEDS.index(speed) if speed in SPEEDS else SPEEDS.index(1)
        new = SPEEDS[min(len(SPEEDS) - 1, max(0, i + step))]
        for src in self.replays:
            src.pacer.set_speed(new)
        return new

    def faster(self) -> float | None:
        return self._set_speed(+1)

    def slower(self) -> float | None:
        return self._set_speed(-1)

    def seek(self, seconds: float) -> None:
        for src in self.replays:
            src.pacer.seek(seconds)

    def restart(self) -> None:
        for src in self.replays:
            src.pacer.restart()


def metrics_of(snap: Snapshot) -> dict[str, ChannelMetrics]:
    """What the labels made so far say about the alerts seen, per channel and in all.

    Precision is over the alerts that have a label (true anomaly vs false positive);
    recall counts missed-anomaly labels (``m``) against the alerts confirmed true;
    false alerts per hour are over the data time watched.
    """
    missed: dict[str, int] = {}
    for lab in snap.labels:
        if lab.kind is LabelKind.ANOMALY and lab.alert is None:
            if not any(lab.covers(a) for a in snap.alerts):
                missed[lab.channel] = missed.get(lab.channel, 0) + 1
    rows: dict[str, ChannelMetrics] = {}
    channels = sorted({*snap.channels, *missed})
    for name in [*channels, "all"]:
        alerts = [a for a in snap.alerts if name in ("all", a.channel)]
        true = sum(a.label == "anomaly" for a in alerts)
        false = sum(a.label == "false_positive" for a in alerts)
        miss = sum(missed.values()) if name == "all" else missed.get(name, 0)
        watched = [c for c in snap.channels.values() if name in ("all", c.name)]
        hours = max((c.last_t - c.first_t for c in watched), default=0.0) / 3600.0
        rows[name] = ChannelMetrics(
            alerts=len(alerts),
            labeled=true + false,
            true=true,
            false=false,
            missed=miss,
            precision=true / (true + false) if true + false else None,
            recall=true / (true + miss) if true + miss else None,
            false_per_hour=false / hours if hours > 0 else None,
        )
    return rows


def build_monitor(
    specs: Sequence[str],
    settings: Settings,
    labels: str | None = None,
    record: str | None = None,
    follow: bool = False,
    speed: float | None = 1.0,
    loop: bool = False,
    baud: int = DEFAULT_BAUD,
    max_line: int = DEFAULT_MAX_LINE,
    mqtt: Any = None,
    hooks: HookSpec | None = None,
    stdin: int | None = None,
    state: str | None = None,
    send_on_connect: str | None = None,
    line_ending: LineEnding = LineEnding.LF,
    config: str | None = None,
) -> Monitor:
    """Open the sources and files a ``watch`` asks for; a UserError says what is wrong.

    ``mqtt`` (a :class:`sensorscope.mqtt.MqttOptions`) holds broker credentials and TLS files;
    ``hooks`` the alert hooks to run, checked here and started with the monitor;
    ``stdin`` the descriptor ``-`` reads, when the data was moved off descriptor 0;
    ``state`` the ``--state`` asked for (a file, ``auto`` or None);
    ``send_on_connect`` what a port is sent on each connect (escapes allowed, with
    ``line_ending``, which is also what the send line adds);
    ``config`` the ``--config`` file, where the channels' settings are read and saved
    (else ``sensorscope.toml`` beside the recording, :func:`channels_path`).
    """
    if list(specs).count("-") > 1:
        raise UserError("standard input ('-') can be read only once")
    on_connect = None if send_on_connect is None else encode_send(send_on_connect, line_ending)
    sources = [
        make_source(
            s,
            baud=baud,
            speed=speed,
            max_line=max_line,
            follow=follow,
            loop=loop,
            mqtt=mqtt,
            stdin=stdin,
            send_on_connect=on_connect,
        )
        for s in specs
    ]
    if on_connect is not None and not any(s.writable for s in sources):
        raise UserError("--send-on-connect needs a port to send to (the sources are read-only)")
    if record and not any(s.live and not isinstance(s, FollowSource) for s in sources):
        raise UserError("--record needs a live source (a port, URL or '-')")
    files = [s.path for s in sources if isinstance(s, (ReplaySource, FollowSource))]
    settings_at = channels_path(config, record, files)
    if os.path.isdir(settings_at):
        raise UserError(f"{settings_at} is a directory, not a settings file")
    if os.path.exists(settings_at):
        # What the monitor kept last time; the options given on the command line win.
        settings = with_channels(settings, read_channels(settings_at))
    # Build the pipeline's parts before opening ports, so a bad option leaves nothing open.
    Pipeline(settings, [])
    labels_path = labels or default_labels_path(sources, record)
    state_at = None if state is None else state_path(state, record, files)
    if os.path.isdir(labels_path):
        raise UserError(f"--labels {labels_path} is a directory")
    names = [n for s in sources for n in s.names]
    alert_hooks = hooks.build(mqtt, broker_of(sources), names) if hooks else None
    for src in sources:
        src.open()
    recorder = None
    try:
        if record:
            recorder = RecordingWriter(record, describe_sources(sources))
        # A path the user named is written whatever it holds; only a default is kept off
        # ground truth (default_labels_path does not choose one).
        monitor = Monitor(
            sources, settings, labels_path, recorder, alert_hooks, labels is not None, state_at
        )
        monitor.line_ending = line_ending
        monitor.settings_path = settings_at
        return monitor
    except UserError:
        # A labels file that cannot be used: leave no port or recording open behind.
        if recorder is not None:
            recorder.close()
        for src in sources:
            src.close()
        raise


def broker_of(sources: Sequence[Source]) -> Any:
    """The broker the first MQTT source reads from (where a bare ``--mqtt-alerts TOPIC``
    goes), or None."""
    for src in sources:
        url = getattr(src, "broker_url", None)
        if url is not None:
            return url
    return None
