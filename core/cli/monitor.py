"""``watch``, ``demo`` and ``serve``: the commands that show the monitor (the only ones that
import the UI, and only when they run)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from sensorscope.cli.common import console, parse_speed
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
from sensorscope.cli.score import score
from sensorscope.errors import UserError
from sensorscope.model import LineEnding


def demo_recording() -> Path:
    """The bundled demo; looked up beside the package, as an editable install has it."""
    here = Path(__file__).resolve().parents[2] / "recordings" / "demo.jsonl"
    if not here.exists():
        raise UserError(f"demo recording not found at {here} (install from a checkout)")
    return here


def user_keys(config: str | None) -> dict[str, str]:
    """The settings file's ``[keys]`` table checked against the monitor's keys, before
    anything opens (a problem is one line and exit 2): the keymap the app is built with."""
    if not config:
        return {}
    from sensorscope.settings import read_keys
    from sensorscope.tui.keymap import check_keymap

    return check_keymap(read_keys(config), config)


def scores_apart(score_in: str, specs: Sequence[str], check: bool) -> bool:
    """Whether ``watch`` scores in a child process (``--score-in``).

    ``auto`` does for live sources (ports, URLs, brokers): they are what can flood. A
    replay's pace is the user's, and a child costs a second of start-up. Standard input
    stays in this process: its descriptor is the UI's to hand over.
    """
    if check or score_in == "thread":
        return False
    if "-" in specs:
        if score_in == "process":
            raise UserError("--score-in process cannot read standard input ('-'); "
                            "use --score-in thread")  # fmt: skip
        return False
    return score_in == "process" or any(not os.path.isfile(s) for s in specs)


def run_monitor(monitor, bell: bool, keymap: dict[str, str]) -> int:
    from sensorscope.tui.app import make_app

    app = make_app(monitor, bell=bell, keymap=keymap, own_process=True)
    try:
        app.run()
    finally:
        monitor.stop()
    end = monitor.ending()
    err = console(stderr=True)
    if monitor.started:
        from sensorscope.cli.score import counts_lines

        # What was read and scored, as `score` says it: a watch that fell behind says so.
        for line in counts_lines(monitor.snapshot(points=0), end.left_unscored):
            err.print(line, markup=False)
    err.print(f"labels: {monitor.labels_path}", markup=False)
    if end.state_path is not None:
        failed = [e for e in end.errors if end.state_path in e]
        for e in failed:
            err.print(f"error: {e}", markup=False)
        if end.state_saved and not failed:
            err.print(f"state: {end.state_path}", markup=False)
    return app.return_code or 0


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--labels", "labels_path", default=None, help="labels file (default: beside the recording)"
)
@click.option("--record", "record_path", default=None, help="record the raw lines here")
@click.option("--follow", is_flag=True, help="tail a recording that is still being written")
@click.option("--speed", default=None, help=SPEED_HELP + " (default 1)")
@click.option("--loop", is_flag=True, help="start a replay again when it ends")
@click.option("--bell", is_flag=True, help="ring the terminal bell on each new alert")
@click.option("--check", is_flag=True, hidden=True, help="open everything, then exit (serve)")
@click.option(
    "--score-in",
    type=click.Choice(["auto", "thread", "process"]),
    default="auto",
    show_default=True,
    help="score in a thread of the UI's process, or in a child process of its own so a "
    "flood cannot slow the screen (auto: a child process for live sources)",
)
@send_on_connect_option
@line_ending_option("what is sent after a line (the send line's default, and --send-on-connect's)")
@state_option
@apply(source_options)
@with_mqtt
@with_hooks
@with_settings(config=True)
def watch(
    sources,
    score_in,
    labels_path,
    record_path,
    follow,
    speed,
    loop,
    bell,
    check,
    send_on_connect,
    line_ending,
    state,
    baud,
    max_line,
    mqtt,
    hooks,
    settings,
    config,
):
    """Open the live monitor on SOURCES (ports, URLs, recordings, CSV series or '-').

    Keys: up/down select, tab switches table and alert log, space pauses, f/a label the
    highlighted alert false positive/anomaly, m marks a missed anomaly, u undoes, +/-/=
    threshold, [ ] speed, left/right seek, r restart, / filter, s sort, l raw lines,
    w writes a line to the board, ctrl+s keeps the channels' settings (sensorscope.toml),
    ? help, q quit. A [keys] table in the --config file remaps them (README: "Your own
    keys").
    """
    keymap = user_keys(config)
    from sensorscope.monitor import build_monitor
    from sensorscope.sources.stdin import keys_from_terminal

    # The UI reads keys from descriptor 0: with the data there, it moves to one of its own.
    stdin = keys_from_terminal() if "-" in sources and not check else None
    options = dict(
        specs=sources,
        settings=settings,
        labels=labels_path,
        record=record_path,
        follow=follow,
        speed=parse_speed(speed, 1.0),
        loop=loop,
        baud=baud,
        max_line=max_line,
        mqtt=mqtt,
        hooks=hooks,
        stdin=stdin,
        state=state,
        send_on_connect=send_on_connect,
        line_ending=LineEnding(line_ending),
        config=config,
    )
    if scores_apart(score_in, sources, check):
        from sensorscope.split import ChildMonitor

        monitor = ChildMonitor(options)
    else:
        monitor = build_monitor(**options)
    if check:
        monitor.stop()
        return 0
    return run_monitor(monitor, bell, keymap)


@click.command()
@click.option("--headless", is_flag=True, help="print the alert episodes instead of the monitor")
@click.option(
    "--labels",
    "labels_path",
    default="sensorscope-demo.labels.jsonl",
    show_default=True,
    help="where labels you make in the demo go",
)
@click.option(
    "--config",
    "config",
    default=None,
    help="settings file, as watch takes it: [detect] settings and [keys] for the keys",
)
@click.pass_context
def demo(ctx, headless, labels_path, config):
    """Open the monitor on the bundled demo recording (looping, real time)."""
    path = demo_recording()
    if headless:
        return ctx.invoke(score, sources=(str(path),), config_path=config)
    keymap = user_keys(config)
    from sensorscope.monitor import build_monitor
    from sensorscope.settings import build_settings

    settings = build_settings({}, config)
    # The demo's channel settings go where its labels do, not into the bundled recordings.
    monitor = build_monitor(
        [str(path)], settings, labels=labels_path, speed=1.0, loop=True,
        config=config or "sensorscope-demo.toml",
    )  # fmt: skip
    return run_monitor(monitor, bell=False, keymap=keymap)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("watch_args", nargs=-1, type=click.UNPROCESSED, metavar="SOURCE... [WATCH OPTIONS]")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="address to listen on (0.0.0.0: every interface, with no login!)",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--public-url",
    default=None,
    help="the address browsers use, if not http://HOST:PORT (a proxy, --host 0.0.0.0)",
)
def serve(watch_args, host, port, public_url):
    """The monitor in a browser: takes what `sensorscope watch` takes.

    Each browser tab runs a monitor of its own; run --record and alert hooks in an
    `agent` (or `record`) beside it, not here.
    """
    import shlex
    import socket

    args = list(watch_args)
    try:
        ctx = watch.make_context("sensorscope serve", list(args))
    except click.exceptions.Exit:
        return 0
    p = ctx.params
    if "-" in p["sources"]:
        raise UserError("serve runs one monitor per browser tab and cannot hand them standard "
                        "input: record it with `sensorscope record - -o FILE.jsonl` and serve "
                        "FILE.jsonl --follow")  # fmt: skip
    if p["record_path"]:
        raise UserError("serve runs one monitor per browser tab: record with `sensorscope "
                        "record` (or `agent --record`) beside it")  # fmt: skip
    if p["state"]:
        raise UserError("serve runs one monitor per browser tab, each of which would write "
                        "the state file: keep --state in `sensorscope agent`")  # fmt: skip
    if p["on_alert_cmds"] or p["webhooks"] or p["mqtt_alerts"]:
        raise UserError("serve runs one monitor per browser tab, so hooks would fire once per "
                        "tab: run them in `sensorscope agent` instead")  # fmt: skip
    # Fail here, in one line, rather than in a browser tab: open the sources once.
    watch.main(args=[*args, "--check"], prog_name="sensorscope watch", standalone_mode=False)
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    from sensorscope.tui.serve import serve_in_browser

    if public_url is None and host in ("0.0.0.0", "::", ""):
        public_url = f"http://{socket.getfqdn()}:{port}"
    command = shlex.join([sys.executable, "-m", "sensorscope.cli", "watch", *args])
    serve_in_browser(command, host, port, public_url)
    return 0
