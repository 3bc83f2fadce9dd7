"""``score`` and ``record``: the headless commands that run the sources through the pipeline or
straight into a recording."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import click

from sensorscope.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    console,
    open_sources,
    open_state,
    parse_speed,
    run_until_done,
)
from sensorscope.cli.options import (
    SPEED_HELP,
    apply,
    line_ending_option,
    send_on_connect_option,
    source_options,
    state_option,
    with_hooks,
    with_mqtt,
    with_settings,
)
from sensorscope.errors import UserError
from sensorscope.model import LineEnding
from sensorscope.output import ScoreFileWriter, ScoreWriter, iso


def counts_lines(snapshot, left: int = 0) -> list[str]:
    """What a run read and scored, as ``score`` and ``watch`` end with: the counts line,
    and the lines recorded but never scored (``left``: still queued at the end), if any."""
    c = snapshot.counters
    out = [
        f"{c.lines} lines, {c.parsed} parsed, {len(snapshot.channels)} channels, "
        f"{c.samples} samples ({c.imputed} imputed), {c.parse_errors} parse errors, "
        f"{c.garbage} garbage, {c.overlong} cut, {c.text} text, {c.reconnects} reconnects"
        # Said only when there are any, so that a clean stream's summary stays as it was.
        + (f", {c.ghosts} values of no channel" if c.ghosts else "")
    ]
    unscored = sum(st.unscored for st in snapshot.sources.values())
    if unscored:
        out.append(f"{unscored} lines recorded but not scored: scoring fell behind the source")
    if left:
        out.append(f"{left} lines recorded but not scored: still queued when the run ended")
    return out


def print_summary(snapshot, out) -> None:
    from rich.table import Table

    alerts = sorted(snapshot.alerts, key=lambda a: (a.start, a.id))
    if alerts:
        days = {iso(a.start)[:10] for a in alerts}
        one_day = len(days) == 1
        title = f"{len(alerts)} alert episode{'s' * (len(alerts) != 1)}"
        title += f" (UTC, {days.pop()})" if one_day else " (UTC)"
        table = Table(title=title)
        for col in ("id", "channel", "start", "duration"):
            table.add_column(col, justify="left" if col == "channel" else "right", no_wrap=True)
        # The reason before the numbers, and never squeezed to nothing on a narrow terminal.
        table.add_column("reason", min_width=18)
        for col in ("peak", "value"):
            table.add_column(col, justify="right")
        # Which part opened it and what it expected: wraps rather than pushing the rest out.
        table.add_column("why", min_width=12)
        for a in alerts:
            end = a.end if a.end is not None else a.start
            dt = datetime.fromtimestamp(a.start, timezone.utc)
            start = dt.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            table.add_row(
                str(a.id),
                a.channel,
                start[11:] if one_day else start,
                f"{end - a.start:.2f} s",
                a.reason,
                f"{a.peak_score:.3f}",
                f"{a.peak_value:.6g}",
                a.explain(),
            )
        out.print(table)
    else:
        out.print("no alert episodes")
    for line in counts_lines(snapshot):
        out.print(line, markup=False)
    for err in snapshot.errors:
        out.print(f"[red]error:[/red] {err}")


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", default=None, help="scores file: .csv or .jsonl ('-' = stdout)")
@click.option("--speed", default=None, help=SPEED_HELP + " (default max)")
@click.option("--duration", type=click.FloatRange(0, min_open=True), help="stop after N seconds")
@click.option("--record", "record_path", default=None, help="also record the raw lines here")
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on a tty)")
@state_option
@apply(source_options)
@with_mqtt
@with_hooks
@with_settings
def score(
    sources,
    output,
    speed,
    duration,
    record_path,
    progress,
    state,
    baud,
    max_line,
    mqtt,
    hooks,
    settings,
):
    """Score SOURCES headlessly: one row per channel sample, then a summary of alerts.

    SOURCES are serial ports (/dev/ttyACM0, /dev/ttyUSB0@9600, socket://host:port,
    rfc2217://host:port, loop://), recordings (.jsonl), CSV series or '-' for stdin.
    """
    from sensorscope.hooks import stderr_log
    from sensorscope.monitor import broker_of
    from sensorscope.pipeline import Pipeline
    from sensorscope.recording import RecordingWriter
    from sensorscope.runner import Runner
    from sensorscope.sources.open import describe_sources

    srcs = open_sources(sources, baud, parse_speed(speed, None), max_line, mqtt)
    names = [n for s in srcs for n in s.names]
    alert_hooks = hooks.build(mqtt, broker_of(srcs), names, stderr_log()) if hooks else None
    writer: ScoreWriter | ScoreFileWriter | None = None
    if output == "-":
        writer = ScoreWriter(output)
    elif output:
        writer = ScoreFileWriter(output)
    pipeline = Pipeline(
        settings,
        names,
        on_batch=writer.write_batch if writer is not None else None,
        on_alert=alert_hooks.on_alert if alert_hooks is not None else None,
    )
    recorder = None
    if record_path:
        if not any(s.live for s in srcs):
            raise UserError("--record needs a live source (a port, URL or '-')")
        recorder = RecordingWriter(record_path, describe_sources(srcs))
    try:
        keeper = open_state(state, settings, record_path, srcs, pipeline)
    except UserError:
        if recorder is not None:
            recorder.close()
        raise
    runner = Runner(srcs, pipeline, recorder, state_file=keeper)
    try:
        if alert_hooks is not None:
            alert_hooks.start()
        runner.start()
    except UserError:
        if recorder is not None:
            recorder.close()
        raise
    for s in srcs:
        if s.kind == "mqtt":
            console(stderr=True).print(f"subscribed to {s.url}", markup=False)
    if progress is None:
        progress = sys.stderr.isatty() and not any(s.live for s in srcs)
    interrupted = run_until_done(runner, duration, progress)
    return _finish(runner, srcs, writer, alert_hooks, output, settings, interrupted)


def _finish(runner, srcs, writer, alert_hooks, output, settings, interrupted: bool) -> int:
    """After a ``score`` run: close what it wrote, print its summary, and give the exit
    status (a scores file that could not be written, or a --range of no channel, is 2)."""
    if writer is not None:
        try:
            writer.close()
        except UserError:
            pass  # writer.error says why, after the summary
    if alert_hooks is not None:
        alert_hooks.close()
    out = console(stderr=output == "-")
    final = runner.snapshot()
    print_summary(final, out)
    extra = [s.summary() for s in srcs if s.kind == "mqtt"]
    for line in extra + (alert_hooks.summary() if alert_hooks is not None else []):
        out.print(line, markup=False)
    if writer is not None and writer.error is not None:
        if writer.error not in runner.errors:
            click.echo(f"sensorscope: error: {writer.error}", err=True)
        return EXIT_USAGE
    if writer is not None and output != "-":
        out.print(f"{writer.rows} rows written to {output}")
    # A --range that names no channel protected nothing: say so once the channels are known
    # (the scores are complete and written by now).
    from sensorscope.faults import unmatched_limits_message

    unmatched = unmatched_limits_message(settings.limits, final.channels) if final.channels else ""
    if unmatched:
        click.echo(f"sensorscope: error: {unmatched}", err=True)
    if (runner.errors or unmatched) and not interrupted:
        return EXIT_USAGE
    return EXIT_INTERRUPTED if interrupted else 0


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="recording file (.jsonl); appended to")
@click.option("--duration", type=click.FloatRange(0, min_open=True), help="stop after N seconds")
@send_on_connect_option
@line_ending_option("what is sent after --send-on-connect's text")
@apply(source_options)
@with_mqtt
def record(sources, output, duration, send_on_connect, line_ending, baud, max_line, mqtt):
    """Record raw lines from SOURCES to a JSONL recording, headless.

    Meant to run detached (nohup, systemd, tmux): a dropped SSH session loses nothing, and
    a monitor can replay or follow the growing file. What --send-on-connect sends is
    recorded too (``tx`` records).
    """
    from sensorscope.send import encode_send

    on_connect = (
        None if send_on_connect is None else encode_send(send_on_connect, LineEnding(line_ending))
    )
    # Open the port before the heavy imports (the pipeline pulls in numpy): a board's
    # output before the open may be gone, and the open itself keeps what the tty holds.
    srcs = open_sources(sources, baud, None, max_line, mqtt, on_connect)

    from sensorscope.recording import RecordingWriter
    from sensorscope.runner import Runner
    from sensorscope.sources.open import describe_sources

    if not all(s.live for s in srcs):
        raise UserError("record reads ports, URLs or '-'; to copy a recording, copy the file")
    recorder = RecordingWriter(output, describe_sources(srcs))
    runner = Runner(srcs, None, recorder)
    err = console(stderr=True)
    err.print(f"recording {', '.join(sources)} -> {output} (Ctrl-C to stop)")
    runner.start()
    interrupted = run_until_done(runner, duration, False)
    for s in srcs:
        st = s.status
        err.print(
            f"{st.name}: {st.lines} lines, {st.cut} cut, {st.reconnects} reconnects, {st.state}"
        )
    err.print(f"{recorder.frames} records in {output}")
    for e in runner.errors:
        err.print(f"error: {e}")
    return EXIT_INTERRUPTED if interrupted else 0
