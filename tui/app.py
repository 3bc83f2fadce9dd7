"""The monitor app: pulls a snapshot from the core's Monitor on a timer and shows it.

The UI never receives a message per sample. A timer (20 Hz) asks the monitor for a
snapshot (a copy made under a lock, fast) and applies it: cells that changed, the chart
if its data changed, new alerts, new raw lines. Key presses call the monitor, which
returns at once (labels go to its writer thread). Nothing here parses, scores or writes
a file.
"""

from __future__ import annotations

import gc
import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.errors import MarkupError
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Container, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer

from sensorscope.errors import UserError
from sensorscope.model import HistoryWindow, Snapshot, ViewRequest
from sensorscope.monitor import Monitor
from sensorscope.tui.announcer import Announcer
from sensorscope.tui.chart_view import MAX_OVERLAY, OverlayScale
from sensorscope.tui.commands import SensorscopeCommands
from sensorscope.tui.keys import BY_ID, Keymap, bindings
from sensorscope.tui.labelling import Labelling
from sensorscope.tui.overlay import Overlaid
from sensorscope.tui.overlay import colours as overlay_colours
from sensorscope.tui.screens.help import HelpScreen
from sensorscope.tui.screens.metrics import MetricsScreen
from sensorscope.tui.timefmt import fmt_speed, printable
from sensorscope.tui.widgets.alert_log import AlertLog
from sensorscope.tui.widgets.built_plot import BuiltPlot
from sensorscope.tui.widgets.channel_table import ChannelTable, spark_points
from sensorscope.tui.widgets.detail_chart import DetailChart
from sensorscope.tui.widgets.filter_input import FilterInput
from sensorscope.tui.widgets.notice_line import NoticeLine
from sensorscope.tui.widgets.raw_lines import RawLines
from sensorscope.tui.widgets.send_line import SendLine
from sensorscope.tui.widgets.status_bar import StatusBar, StatusView

if TYPE_CHECKING:
    from sensorscope.split import ChildMonitor

UI_SWITCH_INTERVAL = 0.0005  # seconds
WIDE = 120  # columns from which the chart and the alert log sit side by side
FULL_HISTORY = 4096  # samples per channel kept for browsing a paused display


class SensorscopeApp(Labelling, App[int]):
    """Status line, channel table, detail chart, alert log, raw lines, footer.

    Size: over 300 lines because every action the one key table binds is a method here
    (Textual finds a binding's action on the app), one short hand-off each; what they do is
    the monitor's, the widgets' and the announcer's.
    """

    CSS_PATH = "app.tcss"
    TITLE = "sensorscope"
    COMMANDS = App.COMMANDS | {SensorscopeCommands}
    BINDINGS = bindings()  # tui/keys.py: the one key table

    # The widgets, found once on mount.
    channel_table: ChannelTable
    alert_log: AlertLog
    detail: DetailChart
    status_bar: StatusBar
    raw_lines: RawLines
    filter_input: FilterInput
    body: Vertical | None = None

    def __init__(
        self,
        monitor: Monitor | ChildMonitor,
        *,
        bell: bool = False,
        tick: float = 1 / 20,
        keymap: Keymap | None = None,
        own_process: bool = False,
    ) -> None:
        super().__init__()
        # The user's keys (checked by the command line, tui/keymap.py): Textual rebinds
        # them; the help and the palette read them here. Textual is handed every id, the
        # unchanged ones too: it moves a rebound key to the end of its bindings, and so of
        # the footer, unless all of them move, in their order.
        self.user_keys: dict[str, str] = dict(keymap or {})
        self.set_keymap({k.id: ",".join(k.keys(self.user_keys)) for k in BY_ID.values()})
        self.monitor = monitor
        self.ring_bell = bell
        self.tick_interval = tick
        self.selected: str | None = None
        self.snapshot: Snapshot | None = None  # the one on screen
        self.live_paused = False
        self.notices: deque[tuple[str, str]] = deque(maxlen=200)
        self._pause_base = 0
        self._pause_samples = 0
        self._pulled: ViewRequest | None = None  # the chart's window the snapshot holds
        self._frozen_end: float | None = None  # where a paused display froze the chart
        self.announcer = Announcer(monitor.unmatched_ranges)
        self._view = StatusView(labels_path=monitor.labels_path)
        self._stopped = False
        self.own_process = own_process  # see make_app

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield FilterInput(id="filter")
        with Vertical(id="main"):
            yield ChannelTable(id="channels")
            with Container(id="lower"):
                yield DetailChart(id="detail")
                with Vertical(id="side"):
                    yield AlertLog(id="alerts")
                    yield RawLines(id="raw")
        yield SendLine(id="send")
        yield NoticeLine(id="notice")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # The scoring worker is pure Python and holds the GIL in long stretches; every
        # time this thread waits on I/O it must get the GIL back, by default after up to
        # 5 ms, many times a frame. A short interval keeps keys and frames prompt under a
        # flood, at a small cost in scoring throughput (bench/ui.py measures both).
        sys.setswitchinterval(UI_SWITCH_INTERVAL)
        # Found once: the timer may still fire while the app closes, when queries find nothing.
        self.body = self.query_one("#main", Vertical)
        self.channel_table = self.query_one("#channels", ChannelTable)
        self.alert_log = self.query_one("#alerts", AlertLog)
        self.detail = self.query_one("#detail", DetailChart)
        self.status_bar = self.query_one("#status", StatusBar)
        self.raw_lines = self.query_one("#raw", RawLines)
        self.filter_input = self.query_one("#filter", FilterInput)
        self.send_line = self.query_one("#send", SendLine)
        for plot in self.query(BuiltPlot):
            plot.apart = self.own_process
        self._fit(self.size.width)
        self.channel_table.focus()
        try:
            self.monitor.start()
        except UserError as exc:
            self._stop_monitor()
            self.exit(2, return_code=2, message=f"sensorscope: error: {exc}")
            return
        self.set_interval(self.tick_interval, self.tick)
        self.tick()
        if self.own_process:
            self.call_after_refresh(_freeze_what_is_built)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        if self.body is not None:
            self.body.set_class(width >= WIDE, "-wide")

    # -- the tick -------------------------------------------------------------------------

    def tick(self) -> None:
        """Pull a snapshot and show it (while a live display is paused: only the count)."""
        if self._stopped or not self.status_bar.is_attached:
            return
        if self.live_paused:
            self._view.alerts_since_pause = max(0, self.monitor.alert_total() - self._pause_base)
            self._view.samples_since_pause = max(
                0, self.monitor.sample_total() - self._pause_samples
            )
            self.status_bar.show(self.snapshot, self._view)
            return
        self.apply(self.pull())

    def pull(self, points: int | None = None) -> Snapshot:
        """A snapshot with the selected channel's ring and its chart's window of its whole
        history, and enough of the others' for their sparklines."""
        if points is None:
            points = spark_points(self.channel_table.spark_width)
        self._pulled = self.detail.view.request(self.detail.points())
        return self.monitor.snapshot(detail=self.selected, points=points, view=self._pulled)

    def apply(self, snap: Snapshot, *, force_chart: bool = False) -> None:
        self.snapshot = snap
        notices, new_alerts = self.announcer.news(snap)
        for n in notices:
            self.say(n.message, n.severity, title=n.title, timeout=n.timeout)
        if new_alerts and self.ring_bell:
            self.bell()
        table = self.channel_table
        table.update_from(snap)
        if self.selected is None or self.selected not in snap.channels:
            self.selected = table.selected if table.selected is not None else self.selected
        self.alert_log.update_alerts(snap.alerts)
        self._show_detail(force=force_chart)
        self.raw_lines.update_lines(snap.raw_lines, snap.all_lines)
        self.status_bar.show(snap, self._view)

    def _show_detail(self, force: bool = False) -> None:
        snap = self.snapshot
        if snap is None:
            return
        ch = snap.channels.get(self.selected) if self.selected is not None else None
        if not force and not self.detail.due(None if ch is None else ch.name):
            return  # drawn a moment ago: no windows to ask the core for until it may redraw
        window = None
        if ch is not None and (ch.view is None or self._pulled != self._request()):
            # The window moved since the snapshot (a key, a paused display scrolled): ask
            # for it alone, at O(points) under the state's lock, scoring going on.
            window = self.monitor.window(ch.name, self._request())
        shown = window if window is not None or ch is None else ch.view
        self.detail.show(
            ch,
            snap.alerts,
            snap.labels,
            window,
            overlays=self._overlays(snap, shown),
            limits=None if ch is None else self.monitor.limits(ch.name),
            force=force,
        )

    def _overlays(self, snap: Snapshot, shown: HistoryWindow | None) -> list[Overlaid]:
        """The overlaid channels' windows over the stretch the selected channel shows (the
        same start and end, so the lines line up), O(points) each."""
        if shown is None or not len(shown):
            return []
        out = []
        request = ViewRequest(
            span=shown.end - shown.start, end=shown.end, points=self.detail.points()
        )
        for i, name in enumerate(self.detail.view.overlay):
            ch = snap.channels.get(name)
            if name == self.selected or ch is None:
                continue
            win = self.monitor.window(name, request)
            if win is not None:
                out.append(Overlaid(name, ch.unit, win, *overlay_colours(i)))
        return out

    def _request(self) -> ViewRequest:
        return self.detail.view.request(self.detail.points())

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Shown on the notice line, not as a toast (toasts cover the table at 80x24); the
        texts are also kept in ``notices`` (tests, debugging)."""
        self.notices.append((severity, message))
        lines = self.screen_stack[0].query(NoticeLine) if self.screen_stack else []
        if not lines:
            super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)
            return
        text = message
        if markup:
            try:
                text = Text.from_markup(message).plain
            except MarkupError:
                pass  # shown as it is
        lines.first().show(text, severity, timeout)

    def say(
        self,
        message: str,
        severity: SeverityLevel = "information",
        title: str = "",
        timeout: float | None = None,
    ) -> None:
        """A notification without markup: ours carry channel names, paths and device
        text, which must show as they are."""
        self.notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # -- selection --------------------------------------------------------------------------

    def on_channel_table_channel_highlighted(self, event: ChannelTable.ChannelHighlighted) -> None:
        if event.channel == self.selected or event.channel is None:
            return
        self.selected = event.channel
        self.detail.view.unfix()
        if self.live_paused or self.snapshot is None:
            self._show_detail(force=True)
            return
        # The new channel's whole history, now rather than at the next tick.
        self.apply(self.pull(), force_chart=True)

    # -- actions ---------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        if self.monitor.is_replay:
            paused = self.monitor.toggle_pause()
            self.say("replay paused" if paused else "replay resumed")
            self.tick()
            return
        self.live_paused = not self.live_paused
        self._view.paused_live = self.live_paused
        if self.live_paused:
            self._pause_base = self.monitor.alert_total()
            self._pause_samples = self.monitor.sample_total()
            self._view.alerts_since_pause = self._view.samples_since_pause = 0
            # One last frame with every channel's whole history, to browse while frozen.
            self.apply(self.pull(FULL_HISTORY))
            # The chart stops following the data where it is; zoom and pan keep working
            # over the history, which goes on growing behind it.
            shown = self.detail.shown
            self._frozen_end = shown.end if shown is not None and self.detail.view.live else None
            self.detail.view.freeze(self._frozen_end)
            self.say("display paused; recording and scoring go on")
        else:
            if self._frozen_end is not None and self.detail.view.end == self._frozen_end:
                self.detail.view.go_live()  # not scrolled meanwhile: follow the data again
            self._frozen_end = None
            self.say("display resumed")
            self.tick()

    # -- the chart's window ---------------------------------------------------------------

    def action_zoom(self, step: int) -> None:
        self.detail.view.zoom(self.detail.shown, step)
        self._chart_moved()

    def action_pan(self, direction: int) -> None:
        if self.detail.shown is None:
            self.say("no channel with data selected", "warning")
            return
        self.detail.view.pan(self.detail.shown, direction)
        self._chart_moved()

    def action_chart_live(self) -> None:
        self.detail.view.go_live(self.detail.shown)
        self._chart_moved()

    def action_cursor(self) -> None:
        on = self.detail.view.toggle_cursor(self.detail.shown)
        if on:
            self.say("cursor on: , and . move it")
        self._chart_moved()

    def action_y_scale(self) -> None:
        ch = self.selected
        has_range = ch is not None and self.monitor.limits(ch) is not None
        scale = self.detail.view.next_yscale(self.detail.ylim, has_range)
        words = {"auto": "fitted to the window", "fixed": "held where it is"}
        self.say(f"y axis: {words.get(scale.value, 'the channel range (--range)')}")
        self._chart_moved()

    def action_overlay(self) -> None:
        ch = self.selected
        if ch is None:
            self.say("no channel selected", "warning")
            return
        added = self.detail.view.toggle_overlay(ch)
        if added is None:
            self.say(f"at most {MAX_OVERLAY} channels overlaid: o on one takes it off", "warning")
            return
        if added:
            self.say(f"{printable(ch)} overlaid: select another channel to see them together")
        else:
            self.say(f"{printable(ch)} no longer overlaid")
        self._mark_overlay()

    def action_overlay_clear(self) -> None:
        self.detail.view.overlay.clear()
        self.say("no channel overlaid")
        self._mark_overlay()

    def action_overlay_scale(self) -> None:
        scale = self.detail.view.toggle_overlay_scale()
        self.say(
            "overlay: one shared value axis"
            if scale is OverlayScale.SHARED
            else "overlay: each channel on its own scale"
        )
        self._chart_moved()

    def _mark_overlay(self) -> None:
        self.channel_table.mark(
            {n: overlay_colours(i)[1] for i, n in enumerate(self.detail.view.overlay)}
        )
        self._chart_moved()

    def action_time_axis(self) -> None:
        axis = self.detail.view.toggle_axis()
        self.say(f"time axis: {axis.value}")
        self._chart_moved()

    def on_detail_chart_view_changed(self, event: DetailChart.ViewChanged) -> None:
        self._chart_moved()

    def _chart_moved(self) -> None:
        self._show_detail(force=True)

    def action_threshold(self, step: int) -> None:
        channel = self.selected
        if channel is None:
            self.say("no channel selected", "warning")
            return
        current = self.channel_table.threshold_of(channel)
        if current is None:
            current = self.monitor.default_threshold
        value = min(1.0, max(0.0, round(current + 0.01 * step, 2)))
        self._set_threshold(channel, value)

    def action_reset_threshold(self) -> None:
        channel = self.selected
        if channel is None:
            self.say("no channel selected", "warning")
            return
        self._set_threshold(channel, None)

    def _set_threshold(self, channel: str, value: float | None) -> None:
        self.monitor.set_threshold(channel, value)
        shown = self.monitor.default_threshold if value is None else value
        self.channel_table.show_threshold(channel, shown)
        reset = " (default)" if value is None else ""
        self.say(f"{channel} threshold {shown:.2f}{reset}")

    def action_save_settings(self) -> None:
        # A file write (and a read of the file first): in a thread, so a slow disk never
        # holds up the screen; what happened comes back as a notice.
        self.run_worker(self._save_settings, thread=True, group="save-settings", exclusive=True)

    def _save_settings(self) -> None:
        try:
            saved = self.monitor.save_settings()
        except UserError as exc:
            self.call_from_thread(self.say, str(exc), "error")
            return
        self.call_from_thread(self.say, f"settings saved to {saved.path}")

    def _replay_only(self) -> bool:
        if not self.monitor.is_replay:
            self.say("replay only", "warning")
            return False
        return True

    def action_speed(self, step: int) -> None:
        if self._replay_only():
            speed = self.monitor.faster() if step > 0 else self.monitor.slower()
            self.say(f"speed {fmt_speed(speed)}")
            self.tick()

    def action_seek(self, seconds: float) -> None:
        if self._replay_only():
            self.monitor.seek(seconds)
            self.say(f"seek {seconds:+g} s")

    def action_restart(self) -> None:
        if self._replay_only():
            self.monitor.restart()
            self.say("replay restarted")

    def action_filter(self) -> None:
        self.filter_input.open(self.channel_table.filter_text)

    def on_filter_input_applied(self, event: FilterInput.Applied) -> None:
        self.channel_table.set_filter(event.text)
        self._view.filter_text = self.channel_table.filter_text
        self.channel_table.focus()
        self.selected = self.channel_table.selected
        self._show_detail(force=True)
        self.status_bar.show(self.snapshot, self._view)

    def action_cycle_sort(self) -> None:
        self._view.sort = self.channel_table.cycle_sort()
        self.say(f"sorted by {self._view.sort}")
        self.status_bar.show(self.snapshot, self._view)

    def action_toggle_raw(self) -> None:
        if self.body is not None:
            self.body.toggle_class("-raw")

    def action_raw_mode(self, what: str) -> None:
        """Switch one of the raw pane's modes (``every``, ``hex``, ``delta``), showing the
        pane if it was hidden."""
        mode = self.raw_lines.mode
        mode = replace(mode, **{what: not getattr(mode, what)})
        snap = self.snapshot
        self.raw_lines.set_mode(
            mode, snap.all_lines if snap else [], snap.raw_lines if snap else []
        )
        if self.body is not None and not self.body.has_class("-raw"):
            self.body.add_class("-raw")
        self.say(mode.describe())

    def action_send_line(self) -> None:
        """Open the send line for the selected channel's source, or say why it cannot be."""
        source, why = self.monitor.send_target(self.selected)
        if source is None:
            self.say(why, "warning")
            return
        first = not self.send_line.history and not self.send_line.source
        self.send_line.open(source, self.monitor.line_ending if first else None)

    def on_send_line_send(self, event: SendLine.Send) -> None:
        try:
            shown = self.monitor.send(event.source, event.text, event.ending)
        except UserError as exc:
            self.say(str(exc), "error")
            return
        self.say(f"sent to {event.source}: {shown}")

    def action_metrics(self) -> None:
        # The labels and alerts of the monitor now, not of a frozen (paused) display.
        self.push_screen(MetricsScreen(lambda: self.monitor.live_metrics()))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.user_keys))

    async def action_quit(self) -> None:
        self._stop_monitor()
        self.exit(0)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Our own "Quit" (in SensorscopeCommands) says that it flushes first.
        for command in super().get_system_commands(screen):
            if command.title != "Quit":
                yield command

    # -- shutting down ------------------------------------------------------------------------

    def _stop_monitor(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.monitor.stop()

    def on_unmount(self) -> None:
        self._stop_monitor()


def _freeze_what_is_built() -> None:
    """Leave what start-up built (modules, the DOM, styles) out of garbage collection: a full
    collection walks every object the collector tracks, and with them it paused the screen
    for up to 180 ms a few times a minute under a flood (bench/ui_pty.py's worst key)."""
    gc.collect()
    gc.freeze()


def make_app(
    monitor: Monitor | ChildMonitor,
    *,
    bell: bool = False,
    tick: float = 1 / 20,
    keymap: Keymap | None = None,
    own_process: bool = False,
) -> SensorscopeApp:
    """The one way to build the app: for the CLI, the Pilot tests and the snapshot app.

    ``own_process``: the one app of a process, in a terminal (the CLI). It then
    :func:`gc.freeze` s what start-up built, and builds the chart's figures off the UI thread
    (:class:`~sensorscope.tui.widgets.built_plot.BuiltPlot`). Tests run many apps in one
    process, whose objects a freeze would keep, and read the chart right after a redraw."""
    return SensorscopeApp(monitor, bell=bell, tick=tick, keymap=keymap, own_process=own_process)
