"""The settings a user gives, declared once: how the command line takes each and how the
settings file holds it.

:data:`SETTINGS` lists every :class:`~sensorscope.model.Settings` field a user controls, in
the order ``--help`` shows them. Each entry says how its command-line option reads
(:class:`Option`: flag, kind of value, help) and how the ``[detect]`` table of a settings
file holds it (:class:`Key`). The CLI's options (``sensorscope.cli.options``), the keys
:func:`read_config` accepts and checks, the file :func:`to_toml` writes and the merging of
file and options in :func:`build_settings` are all derived from it, so a new setting is one
entry here (and its field on ``Settings``). ``capacity`` and ``hold`` are not a user's to
set: they have neither an option nor a key.

Detector parameters are one setting among them: ``--param K=V`` (repeatable) and the
``[detect.params]`` table, both adding to the detector's own.

This module imports nothing of the command line (no click): the kinds of value say what
they take, and the CLI turns each kind into its click type.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sensorscope.errors import UserError
from sensorscope.model import Settings

# --------------------------------------------------------------------------- kinds of value


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Text:
    """A string: a name on the command line, a name in quotes in the file."""

    def problem(self, v: Any) -> str:
        return "" if isinstance(v, str) else "expected a name in quotes"


@dataclass(frozen=True)
class Number:
    """A finite number, from ``lo`` and up to ``hi`` when they are given."""

    lo: float | None = None
    hi: float | None = None

    def problem(self, v: Any) -> str:
        if _number(v) and (self.lo is None or v >= self.lo) and (self.hi is None or v <= self.hi):
            return ""
        return "expected a number" + _bounds(self.lo, self.hi)


@dataclass(frozen=True)
class Whole:
    """A whole number, from ``lo`` and up when it is given."""

    lo: int | None = None

    def problem(self, v: Any) -> str:
        if _whole(v) and (self.lo is None or v >= self.lo):
            return ""
        return "expected a whole number" + _bounds(self.lo, None)


@dataclass(frozen=True)
class OneOf:
    """One of a few names."""

    choices: tuple[str, ...]

    def problem(self, v: Any) -> str:
        if v in self.choices:
            return ""
        *rest, last = (f'"{c}"' for c in self.choices)
        return "expected " + (f"{', '.join(rest)} or {last}" if rest else last)


@dataclass(frozen=True)
class Flag:
    """On or off: a flag on the command line, true or false in the file."""

    def problem(self, v: Any) -> str:
        return "" if isinstance(v, bool) else "expected true or false"


@dataclass(frozen=True)
class Names:
    """A list of names (the file's form of a comma-separated option)."""

    def problem(self, v: Any) -> str:
        ok = isinstance(v, list) and all(isinstance(x, str) for x in v)
        return "" if ok else "expected a list of names"


@dataclass(frozen=True)
class Table:
    """A table of NAME = VALUE."""

    def problem(self, v: Any) -> str:
        return "" if isinstance(v, dict) else "expected a table of NAME = VALUE"


@dataclass(frozen=True)
class Loaded:
    """Checked as it is loaded (its :attr:`Key.load` says what is wrong, in its own words)."""

    def problem(self, v: Any) -> str:  # noqa: ARG002 - every kind answers the same question
        return ""


Kind = Text | Number | Whole | OneOf | Flag | Names | Table | Loaded


def _bounds(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" from {lo:g} to {hi:g}"
    return f" of at least {lo:g}" if lo is not None else ""


# --------------------------------------------------------------------------- the declaration


@dataclass(frozen=True)
class Option:
    """How the command line takes a setting."""

    flag: str
    kind: Kind
    #: Or a function giving it when it is shown (what it lists is loaded only then).
    help: str | Callable[[], str]
    #: Its parameter name in a command function (default: the field's name).
    dest: str = ""
    #: The option's value when it is not given (None: the ``Settings`` default stands).
    default: Any = None
    show_default: bool = False
    #: Repeatable: the values come as a tuple.
    multiple: bool = False
    metavar: str | None = None
    #: The option's value -> the field's (may raise UserError); None: as it is.
    parse: Callable[[Any], Any] | None = None
    #: The parsed value adds to the field's table (the file's, if any) instead of replacing it.
    merge: bool = False


@dataclass(frozen=True)
class Key:
    """How the ``[detect]`` table of a settings file holds a setting."""

    #: Place in the file :func:`to_toml` writes; None: read but never written.
    rank: int | None
    #: The key in ``[detect]`` (default: the field's name).
    name: str = ""
    #: What values the file may hold; None: what the option takes.
    kind: Kind | None = None
    #: The checked value -> the value :func:`read_config` returns (may raise UserError).
    load: Callable[[Any, str], Any] | None = None
    #: What ``read_config`` returns -> the field's value; None: as it is.
    to_field: Callable[[Any], Any] | None = None
    #: The field's value -> the value written; None: as it is.
    to_file: Callable[[Any], Any] | None = None
    #: A sub-table ``[detect.NAME]`` of NAME = VALUE, written after the plain keys.
    table: bool = False
    #: The sub-table's names are written in quotes (they are channel names, not identifiers).
    quoted: bool = False
    #: Held in ``[detect]``; False for what the ``[channels.NAME]`` tables hold instead
    #: (``sensorscope.channel_file``), which ``[detect]`` then refuses.
    detect: bool = True


@dataclass(frozen=True)
class Setting:
    """One field of :class:`~sensorscope.model.Settings` as the command line and the file
    know it."""

    field: str
    option: Option
    file: Key

    @property
    def param(self) -> str:
        """The option's parameter name in a command function."""
        return self.option.dest or self.field

    @property
    def key(self) -> str:
        """The key in ``[detect]``."""
        return self.file.name or self.field


def parse_limit(text: str) -> tuple[str, tuple[float, float]]:
    """``"temp=-40:125"`` -> ``("temp", (-40.0, 125.0))``; either side may be empty.

    >>> parse_limit("temp=-40:125"), parse_limit("hum=:100")
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


def _params(texts: tuple[str, ...]) -> dict[str, Any]:
    # The detectors load only when a run needs them.
    from sensorscope.detect.factory import parse_param

    return dict(parse_param(p) for p in texts)


# The per-channel options (their file form is sensorscope.channel_file's).
def _pair(text: str, flag: str, what: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not (eq and name.strip() and value.strip()):
        raise UserError(f"bad {flag} {text!r}: expected CHANNEL={what}")
    return name.strip(), value.strip()


def parse_units(texts: Sequence[str]) -> dict[str, str]:
    """``--unit temp=°C`` (repeatable) -> ``{"temp": "°C"}``.

    >>> parse_units(["temp=°C", "hum = %"])
    {'temp': '°C', 'hum': '%'}
    """
    return dict(_pair(t, "--unit", "UNIT") for t in texts)


def _factors(texts: Sequence[str], flag: str, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for text in texts:
        name, value = _pair(text, flag, what)
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise UserError(f"bad {flag} {text!r}: {value!r} is not a number")
        out[name] = number
    return out


def parse_scales(texts: Sequence[str]) -> dict[str, float]:
    """``--scale temp=0.1`` (repeatable) -> ``{"temp": 0.1}``."""
    scales = _factors(texts, "--scale", "FACTOR")
    for name, factor in scales.items():
        if factor == 0:
            # Every value would be the offset: the channel would say nothing at all.
            raise UserError(f"bad --scale {name}=0: the factor must not be 0")
    return scales


def parse_offsets(texts: Sequence[str]) -> dict[str, float]:
    """``--offset temp=-40`` (repeatable) -> ``{"temp": -40.0}``."""
    return _factors(texts, "--offset", "OFFSET")


def _features(text: str) -> tuple[str, ...]:
    return tuple(f.strip() for f in text.split(",") if f.strip())


def _sentinels(texts: tuple[str, ...]) -> tuple[float, ...]:
    if [x.lower() for x in texts] == ["none"]:
        return ()
    try:
        return tuple(float(x) for x in texts)
    except ValueError:
        raise UserError(f"bad --sentinel {', '.join(texts)}: expected numbers or 'none'") from None


def _numbers(value: Any, path: str, what: str) -> list[float]:
    if not isinstance(value, list) or not all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in value
    ):
        raise UserError(f"{path}: {what} must be a list of numbers")
    return [float(x) for x in value]


def _load_sentinels(value: Any, path: str) -> list[float]:
    return _numbers(value, path, "sentinels")


def _load_limits(limits: Any, path: str) -> dict[str, tuple[float, float]]:
    if not isinstance(limits, dict):
        raise UserError(f"{path}: [detect.limits] must be a table of CHANNEL = [LOW, HIGH]")
    for name, span in limits.items():
        lo_hi = _numbers(span, path, f"limits for {name}")
        if len(lo_hi) != 2 or not lo_hi[0] < lo_hi[1]:
            raise UserError(f"{path}: limits for {name} must be [LOW, HIGH], LOW below HIGH")
        limits[name] = tuple(lo_hi)
    return limits


# In the order ``--help`` shows the options; each Key's rank is its place in the file, which
# holds the plain keys first and the tables after them.
def _format_help() -> str:
    # The names come from the format registry, which loads every format: a command that
    # parses nothing (--help of another, ports, simulate) need not pay for it.
    from sensorscope.formats.registry import FORMATS

    return "line format: " + ", ".join(("auto", *FORMATS))


SETTINGS: tuple[Setting, ...] = (
    Setting("fmt", Option(
        "--format", Text(), default="auto", show_default=True,
        help=_format_help,
    ), Key(rank=None, name="format")),
    Setting("detector", Option(
        "--detector", Text(), default="default", show_default=True,
        help="default (calibrated HST, forecaster, profiles and rules), hst-raw (plain "
        "Half-Space Trees), or any river anomaly detector by class name (hst: river's own)",
    ), Key(rank=1)),
    Setting("params", Option(
        "--param", Text(), multiple=True, metavar="K=V", help="detector parameter",
        parse=_params, merge=True,
    ), Key(rank=11, kind=Table(), to_field=dict, table=True)),
    Setting("threshold", Option(
        "--threshold", Number(0.0, 1.0),
        help="score that opens an alert (default: the detector's, 0.55 for default)",
    ), Key(rank=2)),
    Setting("hysteresis", Option(
        "--hysteresis", Whole(1),
        help="samples below the threshold that close an alert (default 10)",
    ), Key(rank=3)),
    Setting("warmup", Option(
        "--warmup", Whole(1), help="samples to learn ranges (250)",
    ), Key(rank=4)),
    Setting("features", Option(
        "--features", Text(), parse=_features,
        help="comma-separated features: default/hst-raw HST (value, diff, dev, lag1..lag5, "
        "diff2, range8; default value); river detectors (value, diff, std; default value,std)",
    ), Key(rank=5, kind=Names(), to_field=tuple, to_file=list)),
    Setting("impute", Option(
        "--impute", OneOf(("mean", "last")), default="mean", show_default=True,
        help="fill missing values with the running mean or the last value",
    ), Key(rank=6)),
    Setting("limits", Option(
        "--range", Text(), dest="ranges", multiple=True, metavar="CH=LO:HI",
        help="physical range of a channel (name or pattern, e.g. temp=-40:125); beyond it "
        "always alerts",
        parse=lambda texts: dict(parse_limit(t) for t in texts), merge=True,
    ), Key(
        rank=12, kind=Loaded(), load=_load_limits, table=True, quoted=True,
        to_field=lambda limits: {str(k): v for k, v in limits.items()}, to_file=list,
    )),
    Setting("sentinels", Option(
        "--sentinel", Text(), multiple=True, metavar="VALUE", parse=_sentinels,
        help="a value the sensor prints on failure (repeatable; 'none' for no sentinels; "
        "default -127, 85, -999, -9999, -32768, 32767, 65535)",
    ), Key(
        rank=8, kind=Loaded(), load=_load_sentinels, to_field=tuple,
        to_file=lambda values: [float(x) for x in values],
    )),
    Setting("dropout", Option(
        "--dropout", Number(0),
        help="alert when a channel is silent this many times its usual interval (0: never; "
        "default 5)",
    ), Key(rank=7, to_file=float)),
    Setting("learn_in_alerts", Option(
        "--learn-during-alerts", Flag(),
        help="learn from samples inside alert episodes too (default: not)",
    ), Key(rank=9)),
    Setting("seed", Option(
        "--seed", Whole(), default=42, show_default=True, help="detector seed",
    ), Key(rank=10)),
    Setting("units", Option(
        "--unit", Text(), multiple=True, metavar="CH=UNIT", merge=True,
        help="the unit a channel (name or pattern) is shown in, over the one the device "
        "prints (repeatable)",
        parse=parse_units,
    ), Key(rank=None, detect=False)),
    Setting("scales", Option(
        "--scale", Text(), multiple=True, metavar="CH=FACTOR", merge=True,
        help="multiply a channel's values by FACTOR before scoring (repeatable; thresholds, "
        "--range and the scores are then in the scaled units)",
        parse=parse_scales,
    ), Key(rank=None, detect=False)),
    Setting("offsets", Option(
        "--offset", Text(), multiple=True, metavar="CH=OFFSET", merge=True,
        help="add OFFSET to a channel's values after --scale (repeatable)",
        parse=parse_offsets,
    ), Key(rank=None, detect=False)),
    Setting("joint", Option(
        "--joint/--no-joint", Flag(), default=True, show_default=True,
        help="score each source's channels together too (faults that break how they move "
        "together)",
    ), Key(rank=13)),
)  # fmt: skip

#: The settings a file may hold, by their key in ``[detect]``.
FILE_KEYS: dict[str, Setting] = {s.key: s for s in SETTINGS if s.file.detect}


# --------------------------------------------------------------------------- the file


def read_toml(path: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not TOML ({exc})") from None


def read_keys(path: str) -> dict[str, str]:
    """The ``[keys]`` table of a settings file (key id = "keys"), checked for its shape; the
    monitor checks the ids and the keys (``sensorscope.tui.keymap``)."""
    keys = read_toml(path).get("keys", {})
    if not isinstance(keys, dict):
        raise UserError(f'{path}: [keys] must be a table of id = "key" lines')
    for kid, value in keys.items():
        if not isinstance(value, str):
            raise UserError(
                f'{path}: [keys] {kid} = {value!r}: expected keys in quotes, e.g. "f" or "plus,="'
            )
    return keys


def read_config(path: str) -> dict[str, Any]:
    """The ``[detect]`` table of a settings file, checked."""
    data = read_toml(path)
    detect = data.get("detect", {})
    if not isinstance(detect, dict):
        raise UserError(f"{path}: [detect] must be a table")
    unknown = sorted(set(detect) - set(FILE_KEYS))
    if unknown:
        raise UserError(f"{path}: unknown setting {unknown[0]!r} in [detect]")
    # Every value as its option would check it first; then the ones that load themselves.
    for key, value in detect.items():
        s = FILE_KEYS[key]
        problem = (s.file.kind or s.option.kind).problem(value)
        if problem:
            raise UserError(f"{path}: {key} = {value!r} in [detect]: {problem}")
    for s in _by_rank(lambda f: f.load is not None):
        if s.key in detect:
            detect[s.key] = s.file.load(detect[s.key], path)
    return detect


def _by_rank(which: Callable[[Key], bool]) -> list[Setting]:
    chosen = [s for s in SETTINGS if which(s.file)]
    return sorted(chosen, key=lambda s: (s.file.rank is None, s.file.rank or 0))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_toml(settings: Settings) -> str:
    """The ``--config`` file for these settings: the plain keys, then the tables, each in
    the order of its :attr:`Key.rank`; a key whose value is None (or off) is left out."""
    lines = ["# sensorscope settings (sensorscope watch|score|evaluate --config FILE)", "[detect]"]
    for s in _by_rank(lambda f: f.rank is not None and not f.table):
        value = getattr(settings, s.field)
        if value is None or value is False:
            continue
        lines.append(f"{s.key} = {_toml_value(_written(s.file, value))}")
    for s in _by_rank(lambda f: f.rank is not None and f.table):
        table = getattr(settings, s.field)
        if not table:
            continue
        lines += ["", f"[detect.{s.key}]"]
        for name, value in sorted(table.items()):
            shown = _toml_value(name) if s.file.quoted else name
            lines.append(f"{shown} = {_toml_value(_written(s.file, value))}")
    return "\n".join(lines) + "\n"


def _written(key: Key, value: Any) -> Any:
    return value if key.to_file is None else key.to_file(value)


# --------------------------------------------------------------------------- building


def build_settings(
    values: Mapping[str, Any],
    config: str | None = None,
    given: Callable[[str], bool] = lambda param: True,
) -> Settings:
    """Settings from a config file, then from the options given on the command line.

    ``values`` holds each setting's option value by its :attr:`Setting.param` (one left
    out is not given: ``demo --config`` passes none); ``given``
    says whether the user gave an option (an option left at its default must not undo what
    the config file says). Empty values (None, ``""``, no repeats) change nothing.
    """
    s = Settings()
    if config:
        conf = read_config(config)
        for setting in SETTINGS:
            if setting.key in conf:
                value = conf[setting.key]
                to_field = setting.file.to_field
                setattr(s, setting.field, value if to_field is None else to_field(value))
    for setting in SETTINGS:
        raw = values.get(setting.param)
        if not (given(setting.param) or not config) or raw is None or raw in ("", ()):
            continue
        option = setting.option
        value = raw if option.parse is None else option.parse(raw)
        if option.merge:
            getattr(s, setting.field).update(value)
        else:
            setattr(s, setting.field, value)
    return s
