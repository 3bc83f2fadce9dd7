"""A line format is one class plus one registration: the worked example.

The "at" format below (``@temp=21.5;hum=40``, from a made-up logger) is all a new format
needs; in the source tree it would be ``core/formats/at.py`` plus one line in
``formats/registry.py``. Registered, it is detected, locked, scored and alerted on like
any built-in format, and ``--format at`` selects it.
"""

from __future__ import annotations

import csv
import random

import pytest

from sensorscope import formats
from sensorscope.cli import main
from sensorscope.formats import LineParser, ParseError
from sensorscope.formats.base import Parsed
from sensorscope.formats.columns import Columns
from sensorscope.formats.values import collect, conv_units
from sensorscope.model import Frame, Settings
from sensorscope.pipeline import Pipeline
from sensorscope.recording import RecordingWriter


class AtFormat:
    """``@name=value;name=value``: a leading '@', pairs separated by ';'."""

    name = "at"
    leads = "@"
    exclusive = True  # an '@' line that is not this format is no data in another one
    priority = 0
    self_describing = True
    positional = False
    template = None  # no fast path

    def parse(self, s: str, strict: bool, cols: Columns) -> Parsed:
        if s[0] != "@":
            return None
        pairs = []
        for piece in s[1:].split(";"):
            k, sep, v = piece.partition("=")
            if not sep or not k.strip():
                return None
            pairs.append((k.strip(), v.strip()))
        return collect(pairs, conv_units, cols.known)

    def keyed(self, s: str) -> bool:
        return True


@pytest.fixture
def at_format():
    formats.register(AtFormat())
    yield "at"
    formats.unregister("at")


def at_lines(n: int = 1500, spike: int = 1000) -> list[str]:
    rng = random.Random(3)
    lines = [
        f"@temp={21.5 + rng.gauss(0, 0.1):.2f};hum={40 + rng.gauss(0, 0.2):.2f}" for _ in range(n)
    ]
    lines[spike] = "@temp=35.00;hum=40.00"
    return lines


def frames(lines: list[str]) -> list[Frame]:
    return [Frame(1000.0 + i * 0.1, "dev", line) for i, line in enumerate(lines)]


def test_a_registered_format_is_detected_and_scored_end_to_end(at_format):
    lines = at_lines()
    first = dict(pair.split("=") for pair in lines[0][1:].split(";"))
    out = []
    p = Pipeline(Settings(), ["dev"], on_sample=out.append)
    p.process(frames(lines))
    p.finish()
    assert p.parsers["dev"].format == "at"
    assert [(s.channel, s.value) for s in out[:2]] == [
        ("temp", float(first["temp"])),
        ("hum", float(first["hum"])),
    ]
    assert {s.channel for s in out} == {"temp", "hum"} and len(out) == 2 * len(lines)
    assert out[2 * 1000].channel == "temp" and out[2 * 1000].value == 35.0
    assert out[2 * 1000].alert
    spike = [a for a in p.alerts if a.channel == "temp" and a.start <= 1100.0 <= a.until]
    assert len(spike) == 1 and spike[0].peak_value == 35.0


def test_format_name_selects_a_registered_format(at_format, tmp_path):
    assert LineParser("dev", "at").format == "at"
    p = Pipeline(Settings(fmt="at"), ["dev"])
    p.process(frames(["temp=1;hum=2", "@temp=21.5;hum=40"]))  # kv would take the first
    assert p.parsers["dev"].format == "at" and p.parsers["dev"].channels == ["temp", "hum"]

    rec, scores = tmp_path / "at.jsonl", tmp_path / "scores.csv"
    writer = RecordingWriter(str(rec), {"dev": {"kind": "serial"}})
    writer.write(frames(at_lines()))
    writer.close()
    with pytest.raises(SystemExit) as done:
        main(["score", str(rec), "--format", "at", "-o", str(scores), "--no-progress"])
    assert done.value.code == 0
    with scores.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["channel"] for r in rows} == {"temp", "hum"} and len(rows) == 2 * 1500
    spike = [r for r in rows if r["channel"] == "temp" and r["value"] == "35.0"]
    assert len(spike) == 1 and spike[0]["alert"] == "1"


def test_without_the_registration_the_name_is_unknown_and_at_lines_are_kv():
    with pytest.raises(ParseError, match="unknown format 'at'"):
        LineParser("dev", "at")
    p = LineParser("dev")
    p.feed("@temp=21.5;hum=40", 1.0)
    assert p.format == "kv" and p.channels == ["@temp", "hum"]


def test_a_format_name_is_taken_once(at_format):
    with pytest.raises(ValueError, match="exists already"):
        formats.register(AtFormat())
    clash = AtFormat()
    clash.name = "csv"
    with pytest.raises(ValueError, match="exists already"):
        formats.register(clash)
    assert formats.registry.names()[-1] == "at" and formats.FORMATS[-1] == "nmea"
