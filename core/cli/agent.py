"""``agent``: score sources headlessly and publish what happens to an MQTT broker."""

from __future__ import annotations

import click

from sensorscope.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    open_sources,
    parse_speed,
    run_until_done,
)
from sensorscope.cli.options import (
    SPEED_HELP,
    apply,
    source_options,
    state_option,
    with_hooks,
    with_mqtt,
    with_settings,
)
from sensorscope.errors import UserError


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--mqtt",
    "mqtt_url",
    required=True,
    metavar="URL",
    help="broker and topic prefix: mqtt://HOST[:PORT]/PREFIX (mqtts:// for TLS)",
)
@click.option(
    "--qos",
    type=click.IntRange(0, 1),
    default=1,
    show_default=True,
    help="QoS of readings (alerts and events are always sent with QoS 1)",
)
@click.option(
    "--buffer",
    type=click.IntRange(1),
    default=10000,
    show_default=True,
    help="readings kept while the broker is away; beyond, the oldest are dropped",
)
@click.option("--record", "record_path", default=None, help="also record the raw lines here")
@click.option("--speed", default=None, help=SPEED_HELP + " (default 1)")
@click.option("--duration", type=click.FloatRange(0, min_open=True), help="stop after N seconds")
@state_option
@apply(source_options)
@with_mqtt
@with_hooks
@with_settings
def agent(sources, mqtt_url, qos, buffer, record_path, speed, duration, state, baud, max_line,
          mqtt, hooks, settings):  # fmt: skip
    """Score SOURCES headlessly and publish readings, alerts and events to an MQTT broker.

    Topics: PREFIX/SOURCE/reading, PREFIX/SOURCE/alert, PREFIX/SOURCE/event (JSON). While
    the broker is away readings wait in a buffer (--buffer) and alerts wait without bound;
    the agent reconnects by itself. Watch a fleet with `sensorscope watch mqtt://HOST/PREFIX/#`.
    """
    from sensorscope.agent import Agent
    from sensorscope.hooks import stderr_log
    from sensorscope.mqtt import parse_url
    from sensorscope.recording import RecordingWriter
    from sensorscope.sources.open import describe_sources
    from sensorscope.sources.replay import FollowSource, ReplaySource
    from sensorscope.state_file import state_path

    url = parse_url(mqtt_url, topic="prefix")
    srcs = open_sources(sources, baud, parse_speed(speed, 1.0), max_line, mqtt)
    if any(s.kind == "mqtt" for s in srcs):
        raise UserError(
            "an agent publishes ports, files or '-'; a broker's topics are already there"
        )
    log = stderr_log()
    names = [n for s in srcs for n in s.names]
    alert_hooks = hooks.build(mqtt, url, names, log) if hooks else None
    files = [s.path for s in srcs if isinstance(s, (ReplaySource, FollowSource))]
    state_at = None if state is None else state_path(state, record_path, files)
    recorder = None
    if record_path:
        if not any(s.live for s in srcs):
            raise UserError("--record needs a live source (a port, URL or '-')")
        recorder = RecordingWriter(record_path, describe_sources(srcs))
    fleet = Agent(srcs, settings, url, mqtt, qos=qos, buffer=buffer, recorder=recorder,
                  hooks=alert_hooks, log=log, state=state_at)  # fmt: skip
    if fleet.state_notice:
        log(f"warning: {fleet.state_notice}")
    try:
        fleet.start()
    except UserError:
        if recorder is not None:
            recorder.close()
        raise
    log(f"publishing to {url.broker}: {', '.join(fleet.topics())} (Ctrl-C to stop)")
    interrupted = run_until_done(fleet.runner, duration, False)
    if left := fleet.publisher.buffered:
        log(f"sending what is buffered ({left} reading{'s' * (left != 1)})")
    fleet.stop()
    for line in fleet.summary():
        log(line)
    for e in fleet.runner.errors:
        log(f"error: {e}")
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_USAGE if fleet.runner.errors else 0
