"""The ``sensorscope`` command line. Headless commands print with rich.

Errors a user can cause end in one line on stderr and exit code 2; Ctrl-C flushes what was
recorded or written and exits 130.
"""

from __future__ import annotations

import functools
import json
import math
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from sensorscope.errors import UserError
from sensorscope.formats import FORMATS
from sensorscope.output import ScoreFileWriter, ScoreWriter, iso

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
SPEED_HELP = "replay speed: 1 = real time, N = N x, 'max' = as fast as possible"


PIPED_WIDTH = 10_000  # columns of a console that is not a terminal: nothing is cropped


def _console(stderr: bool = False):
    from rich.console import Console

    # Piped or redirected there is no screen to fit, and rich's default of 80 columns would
    # crop the summary's tables; a COLUMNS the user set still wins.
    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, highlight=False, width=PIPED_WIDTH if piped else None)


def parse_speed(text: str | None, default: float | None) -> float | None:
    if text is None:
        return default
    if text.lower() in ("max", "inf", "0"):
        return None
    try:
        speed = float(text.rstrip("xX"))
    except ValueError:
        raise UserError(f"bad --speed {text!r}: a number like 1, 4 or 0.5, or 'max'") from None
    if not speed > 0:
        raise UserError(f"bad --speed {text!r}: must be above 0")
    return speed


class _Interrupted(Exception):
    pass


def _on_sigterm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise _Interrupted


# --------------------------------------------------------------------------- options

source_options = [
    click.option("--baud", type=int, default=115200, show_default=True, help="serial baud rate"),
    click.option(
        "--max-line",
        type=click.IntRange(16, 1 << 20),
        default=4096,
        show_default=True,
        help="longer lines are cut, counted and kept in the recording",
    ),
]

detect_options = [
    click.option(
        "--format",
        "fmt",
        default="auto",
        show_default=True,
        help="line format: " + ", ".join(("auto", *FORMATS)),
    ),
    click.option(
        "--detector",
        default="default",
        show_default=True,
        help="default (calibrated HST, forecaster, profiles and rules), hst-raw (plain "
        "Half-Space Trees), or any river anomaly detector by class name (hst: river's own)",
    ),
    click.option("--param", "params", multiple=True, metavar="K=V", help="detector parameter"),
    click.option(
        "--threshold",
        type=click.FloatRange(0.0, 1.0),
        default=None,
        help="score that opens an alert (default: the detector's, 0.55 for default)",
    ),
    click.option(
        "--hysteresis",
        type=click.IntRange(1),
        default=None,
        help="samples below the threshold that close an alert (default 10)",
    ),
    click.option(
        "--warmup", type=click.IntRange(1), default=None, help="samples to learn ranges (250)"
    ),
    click.option(
        "--features",
        default=None,
        help="comma-separated features: default/hst-raw HST (value, diff, dev, lag1..lag5, "
        "diff2, range8; default value); river detectors (value, diff, std; default value,std)",
    ),
    click.option(
        "--impute",
        type=click.Choice(["mean", "last"]),
        default="mean",
        show_default=True,
        help="fill missing values with the running mean or the last value",
    ),
    click.option(
        "--range",
        "ranges",
        multiple=True,
        metavar="CH=LO:HI",
        help="physical range of a channel (name or pattern, e.g. temp=-40:125); beyond it "
        "always alerts",
    ),
    click.option(
        "--sentinel",
        "sentinels",
        multiple=True,
        metavar="VALUE",
        help="a value the sensor prints on failure (repeatable; 'none' for no sentinels; "
        "default -127, 85, -999, -9999, -32768, 32767, 65535)",
    ),
    click.option(
        "--dropout",
        type=click.FloatRange(0),
        default=None,
        help="alert when a channel is silent this many times its usual interval (0: never; "
        "default 5)",
    ),
    click.option(
        "--learn-during-alerts",
        "learn_in_alerts",
        is_flag=True,
        default=None,
        help="learn from samples inside alert episodes too (default: not)",
    ),
    click.option("--seed", type=int, default=42, show_default=True, help="detector seed"),
    click.option(
        "--config",
        "config_path",
        default=None,
        help="settings file ([detect] table, as `sensorscope tune` writes it)",
    ),
]

DETECT_KEYS = ("fmt", "detector", "params", "threshold", "hysteresis", "warmup", "features",
               "impute", "seed", "config_path", "ranges", "sentinels", "dropout",
               "learn_in_alerts")  # fmt: skip


def apply(options):
    def deco(f):
        for opt in reversed(options):
            f = opt(f)
        return f

    return deco


def with_settings(f):
    """Add the detection options to a command and hand it one ``settings`` object."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        opts = {k: kwargs.pop(k) for k in DETECT_KEYS}
        kwargs["settings"] = make_settings(**opts)
        return f(*args, **kwargs)

    return apply(detect_options)(wrapper)


def make_settings(
    fmt="auto", detector="default", params=(), threshold=None, hysteresis=None, warmup=None,
    features=None, impute="mean", seed=42, config_path=None, ranges=(), sentinels=(),
    dropout=None, learn_in_alerts=None,
):  # fmt: skip
    """Settings from a config file, then from the options given on the command line."""
    from sensorscope.detect import parse_param
    from sensorscope.model import Settings

    s = Settings()
    if config_path:
        from sensorscope.tune import read_config

        conf = read_config(config_path)
        for key in ("detector", "threshold", "hysteresis", "warmup", "impute", "seed",
                    "dropout", "learn_in_alerts"):  # fmt: skip
            if key in conf:
                setattr(s, key, conf[key])
        if "format" in conf:
            s.fmt = conf["format"]
        if "features" in conf:
            s.features = tuple(conf["features"])
        if "params" in conf:
            s.params = dict(conf["params"])
        if "sentinels" in conf:
            s.sentinels = tuple(conf["sentinels"])
        if "limits" in conf:
            s.limits = {str(k): v for k, v in conf["limits"].items()}
    ctx = click.get_current_context(silent=True)

    def given(name: str) -> bool:
        # An option left at its default must not undo what the config file says.
        if ctx is None:
            return True
        src = ctx.get_parameter_source(name)
        return src is not None and src != click.core.ParameterSource.DEFAULT

    if given("fmt") or not config_path:
        s.fmt = fmt
    if given("detector") or not config_path:
        s.detector = detector
    if given("impute") or not config_path:
        s.impute = impute
    if given("seed") or not config_path:
        s.seed = seed
    if params:
        s.params.update(parse_param(p) for p in params)
    if threshold is not None:
        s.threshold = threshold
    if hysteresis is not None:
        s.hysteresis = hysteresis
    if warmup is not None:
        s.warmup = warmup
    if features:
        s.features = tuple(f.strip() for f in features.split(",") if f.strip())
    if ranges:
        s.limits.update(_limits(r) for r in ranges)
    if sentinels:
        if [x.lower() for x in sentinels] == ["none"]:
            s.sentinels = ()
        else:
            try:
                s.sentinels = tuple(float(x) for x in sentinels)
            except ValueError:
                bad = ", ".join(sentinels)
                raise UserError(f"bad --sentinel {bad}: expected numbers or 'none'") from None
    if dropout is not None:
        s.dropout = dropout
    if learn_in_alerts:
        s.learn_in_alerts = True
    return s


def _limits(text: str) -> tuple[str, tuple[float, float]]:
    """``"temp=-40:125"`` -> ``("temp", (-40.0, 125.0))``; either side may be empty.

    >>> _limits("temp=-40:125"), _limits("hum=:100")
    (('temp', (-40.0, 125.0)), ('hum', (-inf, 100.0)))
    """
    name, eq, span = text.partition("=")
    lo_s, colon, hi_s = span.partition(":")
    try:
        if not (name.strip() and eq and colon):
            raise ValueError
        lo = float(lo_s) if lo_s.strip() else -math.inf
        hi = float(hi_s) if hi_s.strip() else math.inf
    except ValueError:
        raise UserError(f"bad --range {text!r}: expected CHANNEL=LOW:HIGH") from None
    if not lo < hi:
        raise UserError(f"bad --range {text!r}: LOW must be below HIGH")
    return name.strip(), (lo, hi)


# Fleet options: broker credentials and TLS, and alert hooks (README: "MQTT", "Alert hooks").
mqtt_options = [
    click.option("--mqtt-user", default=None, help="MQTT user name (or USER@ in the URL)"),
    click.option(
        "--mqtt-password",
        default=None,
        envvar="SENSORSCOPE_MQTT_PASSWORD",
        show_envvar=True,
        help="MQTT password (the variable keeps it out of `ps`)",
    ),
    click.option("--mqtt-ca", default=None, help="CA certificate(s) to trust for mqtts:// (PEM)"),
    click.option("--mqtt-cert", default=None, help="client certificate for mqtts:// (PEM)"),
    click.option("--mqtt-key", default=None, help="the client certificate's key, if apart"),
]
hook_options = [
    click.option("--on-alert", "on_alert_cmds", multiple=True, metavar="CMD",
                 help="run CMD (no shell) as each alert opens and closes; fields in "
                      "SENSORSCOPE_* variables"),
    click.option("--webhook", "webhooks", multiple=True, metavar="URL",
                 help="POST each alert opening and closing as JSON (5 s timeout, 3 retries)"),
    click.option("--mqtt-alerts", multiple=True, metavar="TOPIC|URL",
                 help="publish each alert opening and closing on an MQTT topic (QoS 1)"),
]  # fmt: skip
MQTT_KEYS = ("mqtt_user", "mqtt_password", "mqtt_ca", "mqtt_cert", "mqtt_key")
HOOK_KEYS = ("on_alert_cmds", "webhooks", "mqtt_alerts")


def with_mqtt(f):
    """Add the broker options to a command and hand it one ``mqtt`` (MqttOptions)."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from sensorscope.mqtt import MqttOptions

        user, password, ca, cert, key = (kwargs.pop(k) for k in MQTT_KEYS)
        kwargs["mqtt"] = MqttOptions(user, password, ca, cert, key)
        return f(*args, **kwargs)

    return apply(mqtt_options)(wrapper)


def with_hooks(f):
    """Add the alert hook options to a command and hand it one ``hooks`` (HookSpec)."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from sensorscope.hooks import HookSpec

        kwargs["hooks"] = HookSpec(*(tuple(kwargs.pop(k)) for k in HOOK_KEYS))
        return f(*args, **kwargs)

    return apply(hook_options)(wrapper)


def open_sources(
    specs: Sequence[str], baud: int, speed: float | None, max_line: int, mqtt=None
):  # fmt: skip
    from sensorscope.sources.open import make_source

    if list(specs).count("-") > 1:
        raise UserError("standard input ('-') can be read only once")
    srcs = [make_source(s, baud=baud, speed=speed, max_line=max_line, mqtt=mqtt) for s in specs]
    # Open everything before any file is created, so a bad port leaves nothing behind.
    for s in srcs:
        s.open()
    return srcs


# --------------------------------------------------------------------------- output


def print_summary(snapshot, console) -> None:
    from rich.table import Table

    c = snapshot.counters
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
            )
        console.print(table)
    else:
        console.print("no alert episodes")
    console.print(
        f"{c.lines} lines, {c.parsed} parsed, {len(snapshot.channels)} channels, "
        f"{c.samples} samples ({c.imputed} imputed), {c.parse_errors} parse errors, "
        f"{c.garbage} garbage, {c.overlong} cut, {c.text} text, {c.reconnects} reconnects"
        # Said only when there are any, so that a clean stream's summary stays as it was.
        + (f", {c.ghosts} values of no channel" if c.ghosts else "")
    )
    unscored = sum(st.unscored for st in snapshot.sources.values())
    if unscored:
        console.print(f"{unscored} lines recorded but not scored: scoring fell behind the source")
    for err in snapshot.errors:
        console.print(f"[red]error:[/red] {err}")


def run_until_done(runner, duration: float | None, progress: bool) -> bool:
    """Wait for the runner; True when interrupted by Ctrl-C or SIGTERM."""
    deadline = None if duration is None else time.monotonic() + duration
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    bar = None
    try:
        if progress:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(
                TextColumn("scoring"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeRemainingColumn(),
                console=_console(stderr=True),
                transient=True,
            )
            bar.start()
            task = bar.add_task("score", total=1.0)
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            if runner.wait(0.25 if left is None else min(0.25, left)):
                break
            if bar is not None:
                files = [s.status.position for s in runner.sources if not s.live]
                if files:
                    bar.update(task, completed=sum(files) / len(files))
        return False
    except (KeyboardInterrupt, _Interrupted):
        return True
    finally:
        if bar is not None:
            bar.stop()
        signal.signal(signal.SIGTERM, old)
        runner.stop()


# --------------------------------------------------------------------------- commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sensorscope")
def cli() -> None:
    """sensorscope: watch, record, score and evaluate sensor streams."""


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", default=None, help="scores file: .csv or .jsonl ('-' = stdout)")
@click.option("--speed", default=None, help=SPEED_HELP + " (default max)")
@click.option("--duration", type=click.FloatRange(0, min_open=True), help="stop after N seconds")
@click.option("--record", "record_path", default=None, help="also record the raw lines here")
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on a tty)")
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
    from sensorscope.pipeline import Pipeline, Runner
    from sensorscope.recording import RecordingWriter
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
    runner = Runner(srcs, pipeline, recorder)
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
            _console(stderr=True).print(f"subscribed to {s.url}", markup=False)
    if progress is None:
        progress = sys.stderr.isatty() and not any(s.live for s in srcs)
    interrupted = run_until_done(runner, duration, progress)
    if writer is not None:
        try:
            writer.close()
        except UserError:
            pass  # writer.error says why, after the summary
    if alert_hooks is not None:
        alert_hooks.close()
    out = _console(stderr=output == "-")
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
    from sensorscope.engine import unmatched_limits_message

    unmatched = unmatched_limits_message(settings.limits, final.channels) if final.channels else ""
    if unmatched:
        click.echo(f"sensorscope: error: {unmatched}", err=True)
    if (runner.errors or unmatched) and not interrupted:
        return EXIT_USAGE
    return EXIT_INTERRUPTED if interrupted else 0


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="recording file (.jsonl); appended to")
@click.option("--duration", type=click.FloatRange(0, min_open=True), help="stop after N seconds")
@apply(source_options)
@with_mqtt
def record(sources, output, duration, baud, max_line, mqtt):
    """Record raw lines from SOURCES to a JSONL recording, headless.

    Meant to run detached (nohup, systemd, tmux): a dropped SSH session loses nothing, and
    a monitor can replay or follow the growing file.
    """
    # Open the port before the heavy imports (the pipeline pulls in numpy): a board's
    # output before the open may be gone, and the open itself keeps what the tty holds.
    srcs = open_sources(sources, baud, None, max_line, mqtt)

    from sensorscope.pipeline import Runner
    from sensorscope.recording import RecordingWriter
    from sensorscope.sources.open import describe_sources

    if not all(s.live for s in srcs):
        raise UserError("record reads ports, URLs or '-'; to copy a recording, copy the file")
    recorder = RecordingWriter(output, describe_sources(srcs))
    runner = Runner(srcs, None, recorder)
    err = _console(stderr=True)
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


@cli.command()
def ports():
    """List serial ports with description, VID:PID and /dev/serial/by-id names."""
    from rich.table import Table
    from serial.tools import list_ports

    by_id: dict[str, list[str]] = {}
    by_id_dir = Path("/dev/serial/by-id")
    if by_id_dir.is_dir():
        for link in sorted(by_id_dir.iterdir()):
            by_id.setdefault(os.path.realpath(link), []).append(str(link))
    found = sorted(list_ports.comports(), key=lambda p: p.device)
    out = _console()
    if not found:
        out.print("no serial ports found (try `sensorscope simulate` for a virtual board)")
        return 0
    table = Table()
    for col in ("port", "description", "VID:PID", "by-id"):
        table.add_column(col)
    for p in found:
        vidpid = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None else ""
        names = by_id.get(os.path.realpath(p.device), [])
        table.add_row(p.device, p.description or "", vidpid, "\n".join(names))
    out.print(table)
    return 0


@cli.command()
@click.option("--link", default=None, help="also make this path a symlink to the port")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["plotter", "kv", "csv", "json"]),
    default="plotter",
    show_default=True,
)
@click.option("--rate", type=click.FloatRange(0.1, 5000), default=10.0, show_default=True)
@click.option("--channels", type=click.IntRange(1, 8), default=4, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--unplug-at", type=click.FloatRange(0), default=None, help="unplug after S s")
@click.option("--replug-after", type=click.FloatRange(0), default=2.0, show_default=True)
@click.option("--duration", type=click.FloatRange(0, min_open=True), default=None)
@click.option("--fault-every", type=click.FloatRange(0.5), default=10.0, show_default=True)
@click.option("--first-fault", type=click.FloatRange(0), default=10.0, show_default=True)
@click.option("--labels", "labels_path", default=None, help="ground-truth labels file")
@click.option(
    "-o",
    "--output",
    default=None,
    help="write the readings straight into this recording instead of serving a pty",
)
@click.option("--start", type=float, default=None, help="with -o: epoch time of sample 0")
def simulate(
    link,
    fmt,
    rate,
    channels,
    seed,
    unplug_at,
    replug_after,
    duration,
    fault_every,
    first_fault,
    labels_path,
    output,
    start,
):
    """A virtual board on a pty printing readings with injected faults.

    Prints its port path; writes the faults as ground-truth labels when it stops. With -o
    it writes DURATION seconds of readings into a recording at once, without a pty.
    """
    from sensorscope.simulate import Board, run_simulator, write_board_recording

    if output is not None:
        if duration is None:
            raise UserError("-o needs --duration (seconds of readings to write)")
        try:
            board = Board(channels, rate, seed, fmt, fault_every, first_fault)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        labels_path = labels_path or str(Path(output).with_suffix("")) + ".labels.jsonl"
        t0 = float(int(time.time())) if start is None else start
        lines, labels = write_board_recording(output, board, duration, t0, labels_path)
        _console().print(f"{lines} lines -> {output}; {labels} labels -> {labels_path}")
        return 0

    return run_simulator(
        link=link,
        fmt=fmt,
        rate=rate,
        channels=channels,
        seed=seed,
        unplug_at=unplug_at,
        replug_after=replug_after,
        duration=duration,
        fault_every=fault_every,
        labels_path=labels_path,
        first_fault=first_fault,
    )


def demo_recording() -> Path:
    """The bundled demo; looked up beside the package, as an editable install has it."""
    here = Path(__file__).resolve().parent.parent / "recordings" / "demo.jsonl"
    if not here.exists():
        raise UserError(f"demo recording not found at {here} (install from a checkout)")
    return here


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def print_evaluation(result: dict[str, Any], console) -> None:
    from rich import box
    from rich.table import Table

    cols = {
        "events": [("win", "windows", None), ("hit", "tp", None),
                   ("alerts", "alerts", None), ("false", "fp", None),
                   ("prec", "precision", 2), ("recall", "recall", 2), ("F1", "f1", 2),
                   ("delay", "median_delay_s", 0), ("false/h", "false_alerts_per_hour", 2)],
        "points": [("precision", "precision", 3), ("recall", "recall", 3), ("F1", "f1", 3),
                   ("samples", "samples", None)],
    }  # fmt: skip

    def table(title: str, kind: str, rows: list[tuple[str, dict[str, Any]]]) -> Table:
        t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
        t.add_column("", no_wrap=True)
        for head, _, _ in cols[kind]:
            t.add_column(head, justify="right", min_width=len(head))
        for name, r in rows:
            src = {**r[kind], **{k: r[k] for k in ("windows", "alerts", "samples")}}
            t.add_row(name, *(_fmt(src[key], d or 0) for _, key, d in cols[kind]))
        return t

    multi_file = len(result["files"]) > 1
    rows = [
        (f"{Path(r['source']).name}:{r['channel']}" if multi_file else r["channel"], r)
        for r in result["channels"]
    ]
    if multi_file:
        rows += [(Path(r["source"]).name, r) for r in result["files"]]
    rows.append(("all", result["total"]))
    console.print(
        table(
            "alert episodes against labeled windows (hit: detected, delay: median s)",
            "events",
            rows,
        )
    )
    console.print(table("samples in alert against labeled samples", "points", rows))
    nab = result["nab"]
    if nab:
        table = Table(title="NAB score (0 = never alert, 100 = perfect)")
        for col in ("", "standard", "low FP", "low FN", "threshold"):
            table.add_column(col, justify="left" if col == "" else "right")
        profiles = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
        raw = nab["raw"]
        table.add_row("raw score, best threshold", *(f"{raw[p]['score']:.1f}" for p in profiles),
                      f"{raw['standard']['threshold']:.4g}")  # fmt: skip
        if "shipped" in nab:
            shipped = nab["shipped"]
            table.add_row(
                "alerts as shipped", *(f"{shipped[p]['score']:.1f}" for p in profiles), ""
            )
        console.print(table)
    else:
        console.print("no labeled anomaly windows: no NAB score")


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--labels", "labels_path", required=True, help="labels JSONL or NAB windows JSON")
@click.option(
    "--scores",
    multiple=True,
    help="score file, or folder of them, for the sources (matched by name; repeatable)",
)
@click.option("--json", "as_json", is_flag=True, help="print the metrics as JSON")
@click.option("--report", "report_path", default=None, help="write an HTML report here")
@click.option(
    "--feedback",
    is_flag=True,
    help="let false-positive labels act during the replay, as in the monitor: each teaches "
    "its channel when its episode closes, so repeats are not alerted again",
)
@with_settings
def evaluate(sources, labels_path, scores, as_json, report_path, feedback, settings):
    """Measure alerts and scores of SOURCES against labels.

    SOURCES are recordings or CSV series, scored now with the detector settings unless
    --scores gives their score files (`sensorscope score` output or NAB result files).
    LABELS is a labels file (.jsonl) or NAB windows (.json, matched by relative path or name).
    """
    from sensorscope.scored import evaluate_series, load_series, load_windows

    score_files = []
    for path in scores:
        if os.path.isdir(path):
            score_files += sorted(
                str(p) for p in Path(path).rglob("*") if p.suffix in (".csv", ".jsonl")
            )
        elif os.path.isfile(path):
            score_files.append(path)
        else:
            raise UserError(f"no such score file or folder: {path}")
    if feedback and scores:
        raise UserError("--feedback needs the sources scored now, not --scores")
    if feedback and labels_path.lower().endswith(".json"):
        raise UserError(
            "--feedback needs a labels file (.jsonl): NAB windows hold no false positives"
        )
    _check_labels(labels_path)
    series = load_series(
        list(sources), settings, score_files, feedback_labels=labels_path if feedback else None
    )
    windows = load_windows(labels_path, series)
    result = evaluate_series(series, windows)
    if as_json:
        click.echo(json.dumps(result, indent=1))
    else:
        print_evaluation(result, _console())
    if report_path:
        from sensorscope.report import write_report

        write_report(report_path, series, windows, result)
        _console(stderr=True).print(f"report: {report_path}")
    if not score_files and series:
        from sensorscope.engine import unmatched_limits_message

        unmatched = unmatched_limits_message(settings.limits, {s.channel for s in series})
        if unmatched:
            click.echo(f"sensorscope: error: {unmatched}", err=True)
            return EXIT_USAGE
    return 0


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--labels", "labels_path", required=True, help="labels JSONL or NAB windows JSON")
@click.option("--metric", type=click.Choice(["f1", "nab"]), default="f1", show_default=True)
@click.option(
    "--trials",
    type=click.IntRange(1),
    default=12,
    show_default=True,
    help="detector settings to score (each with every threshold and hysteresis)",
)
@click.option("-o", "--output", default="sensorscope.toml", show_default=True,
              help="where to write the best settings (for --config)")  # fmt: skip
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on a tty)")
@with_settings
def tune(sources, labels_path, metric, trials, output, progress, settings):
    """Search detector settings, threshold and hysteresis that do best against labels.

    Prints the best settings and their metrics beside the defaults' and writes them as a
    settings file that watch, score and evaluate accept with --config.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from sensorscope.scored import load_windows
    from sensorscope.tune import to_toml
    from sensorscope.tune import tune as run_tune

    for src in sources:
        if not os.path.isfile(src):
            raise UserError(f"no such file: {src}")
    _check_labels(labels_path)
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(TextColumn("tuning"), BarColumn(), MofNCompleteColumn(),
                   console=_console(stderr=True), transient=True, disable=not show)  # fmt: skip
    with bar:
        task = bar.add_task("tune", total=None)
        best, default = run_tune(
            list(sources),
            lambda series: load_windows(labels_path, series),
            settings,
            metric=metric,
            trials=trials,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    table = Table(title=f"best by {metric}")
    for col in ("", "defaults", "best"):
        table.add_column(col, justify="left" if not col else "right")

    def row(name: str, get) -> None:
        table.add_row(name, *(str(get(t)) for t in (default, best)))

    row("detector", lambda t: t.settings.detector)
    row("params", lambda t: ", ".join(f"{k}={v}" for k, v in sorted(t.settings.params.items())))
    row("features", lambda t: ",".join(t.settings.features))
    row("threshold", lambda t: t.settings.threshold)
    row("hysteresis", lambda t: t.settings.hysteresis)
    row(f"objective ({metric})", lambda t: _fmt(t.value, 3))
    row("event F1", lambda t: _fmt(t.result["total"]["events"]["f1"], 3))
    row("point-wise F1", lambda t: _fmt(t.result["total"]["points"]["f1"], 3))
    row("precision", lambda t: _fmt(t.result["total"]["events"]["precision"], 3))
    row("recall", lambda t: _fmt(t.result["total"]["events"]["recall"], 3))
    row("false alerts/h", lambda t: _fmt(t.result["total"]["events"]["false_alerts_per_hour"], 3))

    def shipped(t):
        return t.result["nab"].get("shipped", {}).get("standard", {}).get("score")

    row("NAB standard (shipped)", lambda t: _fmt(shipped(t), 1))
    _console().print(table)
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(to_toml(best.settings))
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    _console().print(f"best settings -> {output} (use with --config {output})")
    return 0


@cli.group()
def labels():
    """Show label files and move labels to and from NAB windows."""


def _warn(message: str) -> None:
    click.echo(f"sensorscope: warning: {message}", err=True)


def _check_labels(path: str) -> None:
    """Say on stderr, once per command, which lines of a labels file are skipped as
    damaged (the readers after this one skip them silently)."""
    if not path.lower().endswith(".json"):
        from sensorscope.labels import read_labels

        read_labels(path, report=_warn)


def _data_key(labels_path: str) -> str:
    """The data file a labels file belongs to: ``x.labels.jsonl`` (or the monitor's
    ``x.mylabels.jsonl``) -> ``x.csv`` or ``x.jsonl``."""
    p = Path(labels_path)
    stem = p.name.removesuffix(".jsonl").removesuffix(".labels").removesuffix(".mylabels")
    for ext in (".csv", ".jsonl"):
        if (p.parent / (stem + ext)).exists():
            return stem + ext
    return stem + ".jsonl"


@labels.command("show")
@click.argument("path")
def labels_show(path):
    """List the labels in force in a labels file (retracted ones left out)."""
    from rich.table import Table

    from sensorscope.labels import read_labels

    recs = read_labels(path, report=_warn)
    table = Table(title=f"{len(recs)} labels in {path} (UTC)")
    for col in ("id", "channel", "start", "end", "label", "alert"):
        table.add_column(col, no_wrap=col in ("start", "end"))

    def when(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")

    for r in recs:
        alert = "" if r.get("alert") is None else str(r["alert"])
        table.add_row(r["id"], r["channel"], when(r["start"]), when(r["end"]), r["label"], alert)
    _console().print(table)
    return 0


@labels.command("export")
@click.argument("path")
@click.option("--nab", "out", required=True, help="NAB windows JSON to write (merged if it exists)")
@click.option(
    "--file", "key", default=None, help="the file key in the JSON (default: the data file)"
)
def labels_export(path, out, key):
    """Write the anomaly labels of PATH as NAB windows ({"file": [["start", "end"], ...]})."""
    from sensorscope.labels import read_labels, read_nab_windows, to_nab_windows

    key = key or _data_key(path)
    data = read_nab_windows(out) if os.path.exists(out) else {}
    data.update(to_nab_windows(read_labels(path, report=_warn), key))
    tmp = f"{out}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, out)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    _console().print(f"{len(data[key])} windows for {key} -> {out}")
    return 0


@labels.command("import")
@click.argument("nab_json")
@click.option("-o", "--output", required=True, help="labels file to append to")
@click.option("--file", "key", default=None, help="which file's windows (needed if several)")
@click.option("--channel", default="value", show_default=True, help="channel the windows are on")
def labels_import(nab_json, output, key, channel):
    """Append the NAB windows of one file to a labels file as anomaly labels."""
    from sensorscope.labels import (
        append_labels,
        from_nab_windows,
        parse_nab_windows,
        read_nab_windows,
    )

    data = parse_nab_windows(read_nab_windows(nab_json), nab_json)
    if key is None:
        if len(data) != 1:
            raise UserError(f"{nab_json} has {len(data)} files; choose one with --file")
        key = next(iter(data))
    recs = from_nab_windows(data, key, channel)
    append_labels(output, recs)
    _console().print(f"{len(recs)} labels from {key} -> {output}")
    return 0


def run_monitor(monitor, bell: bool) -> int:
    from sensorscope.tui.app import make_app

    app = make_app(monitor, bell=bell)
    try:
        app.run()
    finally:
        monitor.stop()
    _console(stderr=True).print(f"labels: {monitor.labels_path}")
    return app.return_code or 0


@cli.command()
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
@apply(source_options)
@with_mqtt
@with_hooks
@with_settings
def watch(
    sources,
    labels_path,
    record_path,
    follow,
    speed,
    loop,
    bell,
    check,
    baud,
    max_line,
    mqtt,
    hooks,
    settings,
):
    """Open the live monitor on SOURCES (ports, URLs, recordings, CSV series or '-').

    Keys: up/down select, tab switches table and alert log, space pauses, f/a label the
    highlighted alert false positive/anomaly, m marks a missed anomaly, u undoes, +/-/=
    threshold, [ ] speed, left/right seek, r restart, / filter, s sort, l raw lines,
    ? help, q quit.
    """
    from sensorscope.monitor import build_monitor
    from sensorscope.sources.stdin import keys_from_terminal

    # The UI reads keys from descriptor 0: with the data there, it moves to one of its own.
    stdin = keys_from_terminal() if "-" in sources and not check else None
    monitor = build_monitor(
        sources,
        settings,
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
    )
    if check:
        monitor.stop()
        return 0
    return run_monitor(monitor, bell)


@cli.command()
@click.option("--headless", is_flag=True, help="print the alert episodes instead of the monitor")
@click.option(
    "--labels",
    "labels_path",
    default="sensorscope-demo.labels.jsonl",
    show_default=True,
    help="where labels you make in the demo go",
)
@click.pass_context
def demo(ctx, headless, labels_path):
    """Open the monitor on the bundled demo recording (looping, real time)."""
    path = demo_recording()
    if headless:
        return ctx.invoke(score, sources=(str(path),))
    from sensorscope.model import Settings
    from sensorscope.monitor import build_monitor

    monitor = build_monitor([str(path)], Settings(), labels=labels_path, speed=1.0, loop=True)
    return run_monitor(monitor, bell=False)


# --------------------------------------------------------------------------- fleet


@cli.command()
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
@apply(source_options)
@with_mqtt
@with_hooks
@with_settings
def agent(sources, mqtt_url, qos, buffer, record_path, speed, duration, baud, max_line, mqtt,
          hooks, settings):  # fmt: skip
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

    url = parse_url(mqtt_url, topic="prefix")
    srcs = open_sources(sources, baud, parse_speed(speed, 1.0), max_line, mqtt)
    if any(s.kind == "mqtt" for s in srcs):
        raise UserError(
            "an agent publishes ports, files or '-'; a broker's topics are already there"
        )
    log = stderr_log()
    names = [n for s in srcs for n in s.names]
    alert_hooks = hooks.build(mqtt, url, names, log) if hooks else None
    recorder = None
    if record_path:
        if not any(s.live for s in srcs):
            raise UserError("--record needs a live source (a port, URL or '-')")
        recorder = RecordingWriter(record_path, describe_sources(srcs))
    fleet = Agent(srcs, settings, url, mqtt, qos=qos, buffer=buffer, recorder=recorder,
                  hooks=alert_hooks, log=log)  # fmt: skip
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


@cli.command(context_settings={"ignore_unknown_options": True})
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


def main(argv: Sequence[str] | None = None) -> None:
    try:
        rv = cli.main(args=argv, prog_name="sensorscope", standalone_mode=False)
    except UserError as exc:
        click.echo(f"sensorscope: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        # One line, like every other error: the usage text is one --help away.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        message = " ".join(exc.format_message().split())
        click.echo(f"sensorscope: error: {message}{hint}", err=True)
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # `sensorscope score x -o - | head`: the reader left; that is not an error.
        sys.stderr.close()
        sys.exit(0)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
