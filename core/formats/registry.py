"""The line formats, in order: adding a format is one new module (a class and its
``FORMAT`` instance) and its line in ``_BUILTIN`` (with its name in the import).

:data:`FORMATS` (the ``--format`` names) follows this order; detection order comes from
each format's ``leads`` and ``priority`` (see :mod:`sensorscope.formats.base`). Code
outside the package (a plugin, a test) adds a format with :func:`register`.
"""

from __future__ import annotations

from sensorscope.formats import csv, influx, json, kv, nmea, plotter, prose, teleplot
from sensorscope.formats.base import LineFormat

_BUILTIN: tuple[LineFormat, ...] = (
    plotter.FORMAT,
    kv.FORMAT,
    csv.FORMAT,
    prose.FORMAT,
    teleplot.FORMAT,
    json.FORMAT,
    influx.FORMAT,
    nmea.FORMAT,
)

#: Other names ``--format`` accepts, and the format each means.
ALIASES = {"bare": "csv"}

#: The names of the built-in formats, in registry order.
FORMATS: tuple[str, ...] = tuple(f.name for f in _BUILTIN)

_formats: list[LineFormat] = list(_BUILTIN)


def formats() -> tuple[LineFormat, ...]:
    """Every format a parser made now knows: the built-in ones, then those registered."""
    return tuple(_formats)


def names() -> tuple[str, ...]:
    """The names of :func:`formats`."""
    return tuple(f.name for f in _formats)


def lookup(name: str) -> LineFormat | None:
    """The format called `name` (or an alias of it), None if there is none."""
    name = ALIASES.get(name, name)
    for f in _formats:
        if f.name == name:
            return f
    return None


def register(fmt: LineFormat) -> None:
    """Add a format after the others; parsers made from now on detect it and accept its
    name as ``fmt``. ValueError if the name is taken."""
    if fmt.name == "auto" or fmt.name in ALIASES or lookup(fmt.name) is not None:
        raise ValueError(f"a line format named {fmt.name!r} exists already")
    _formats.append(fmt)


def unregister(name: str) -> None:
    """Take a registered format out again (a built-in one stays)."""
    for i, f in enumerate(_formats):
        if f.name == name and f not in _BUILTIN:
            del _formats[i]
            return
    raise ValueError(f"no registered line format named {name!r}")
