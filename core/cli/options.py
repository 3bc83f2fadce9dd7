"""The options commands share, as click decorators: sources, broker, hooks and the settings.

The settings' options are made from their one declaration, :data:`sensorscope.settings.SETTINGS`;
a command decorated with :func:`with_settings` receives one ``settings`` object built from the
config file and the options given.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from sensorscope.channel_file import read_channels, with_channels
from sensorscope.settings import (
    SETTINGS,
    Flag,
    Kind,
    Number,
    OneOf,
    Setting,
    Whole,
    build_settings,
)

SPEED_HELP = "replay speed: 1 = real time, N = N x, 'max' = as fast as possible"

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def apply(options: list[Decorator]) -> Decorator:
    def deco(f):
        for opt in reversed(options):
            f = opt(f)
        return f

    return deco


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


#: A run option, not a detection setting: where the detectors' state is kept between runs.
# Sending to a port: what is sent on each connect, and the line ending after a text.
send_on_connect_option = click.option(
    "--send-on-connect",
    default=None,
    metavar="TEXT",
    help="send TEXT to the port each time it connects (escapes: \\xNN \\r \\n \\t)",
)


def line_ending_option(what: str) -> Decorator:
    from sensorscope.model import LineEnding

    return click.option(
        "--line-ending",
        type=click.Choice([e.value for e in LineEnding]),
        default=LineEnding.LF.value,
        show_default=True,
        help=what,
    )


state_option = click.option(
    "--state",
    "state",
    default=None,
    metavar="FILE|auto",
    help="keep every channel's detector state in FILE: restored at the start (no new "
    "warm-up), saved at the end and every minute; 'auto': beside the recording",
)


def _click_type(kind: Kind) -> click.ParamType | type | None:
    """The click type that checks an option's value as the declaration's kind says."""
    if isinstance(kind, Number):
        return click.FloatRange(kind.lo, kind.hi)
    if isinstance(kind, Whole):
        return int if kind.lo is None else click.IntRange(kind.lo)
    if isinstance(kind, OneOf):
        return click.Choice(list(kind.choices))
    return None  # a string, click's own default


class _LateHelp(click.Option):
    """An option whose help text is worked out when it is shown."""

    def __init__(self, *args: Any, late_help: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._late_help = late_help

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = self._late_help()
        return super().get_help_record(ctx)


def _option(setting: Setting) -> Decorator:
    opt = setting.option
    kwargs: dict[str, Any] = {}
    if callable(opt.help):
        kwargs.update(cls=_LateHelp, late_help=opt.help)
    else:
        kwargs["help"] = opt.help
    if opt.multiple:
        kwargs["multiple"] = True
    else:
        kwargs["default"] = opt.default
    if isinstance(opt.kind, Flag):
        kwargs["is_flag"] = True
    elif (kind := _click_type(opt.kind)) is not None:
        kwargs["type"] = kind
    if opt.show_default:
        kwargs["show_default"] = True
    if opt.metavar is not None:
        kwargs["metavar"] = opt.metavar
    return click.option(opt.flag, setting.param, **kwargs)


detect_options = [_option(s) for s in SETTINGS] + [
    click.option(
        "--config",
        "config_path",
        default=None,
        help="settings file ([detect] table, as `sensorscope tune` writes it; [channels.NAME] "
        "tables; the monitor's [keys] too)",
    ),
]


def _given(param: str) -> bool:
    """Whether the user gave an option (not left at its default) in the running command."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True
    src = ctx.get_parameter_source(param)
    return src is not None and src != click.core.ParameterSource.DEFAULT


def with_settings(f=None, *, config: bool = False):
    """Add the detection options to a command and hand it one ``settings`` object; with
    ``config``, the settings file's path too (``config``), for its other tables (``[keys]``)."""
    if f is None:
        return functools.partial(with_settings, config=config)

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        values = {s.param: kwargs.pop(s.param) for s in SETTINGS}
        path = kwargs.pop("config_path")
        settings = build_settings(values, path, _given)
        if path:
            # The file's [channels.NAME] tables too; the options given win over them.
            settings = with_channels(settings, read_channels(path))
        kwargs["settings"] = settings
        if config:
            kwargs["config"] = path
        return f(*args, **kwargs)

    return apply(detect_options)(wrapper)


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
