"""sensorscope.formats under any input: never raises, counts every line, yields sane Readings."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensorscope.formats import FORMATS, LineParser

KINDS = {"data", "header", "text", "garbage", "empty", "partial", "overlong"}

# Pieces of every format, so that random joins reach the parsers' deeper branches too.
FRAGMENTS = [
    "temp", "hum", "T", "t", "time", "ts", "timestamp", "date", ":", "=", ",", ";", "\t", " ",
    "  ", "21.5", "-0.5", "1e999", "-inf", "nan", "ovf", "n/a", "-", "1700000000", "1700000000123",
    "2024-01-02T03:04:05Z", "2014-04-01 00:00:00", "\u0663", "0x1F", "°C", "Â°C", " %", "*C",
    "{", "}", "[", "]", '"', "\\", "null", "true", "$YXXDR", "$GPGGA", "*", "*00", "*4A", "!",
    ">", "§", "|", "|t", "|xy", "i", "u", "\ufffd", "\x00", "\x1b[0;32m", "\x07", "\r",
    "[18:13:07.488] ", "18:13:07.488 -> ", "I (1234) app: ", "Booting...", "Error: timeout",
    "env,room=lab", "23,5", "ch0", "value1", "MTW", "XDR", "C", "AIRTEMP", "1" * 400,
]  # fmt: skip

fragment_lines = st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join)
any_text = st.text(max_size=80)
noisy_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=("Cc", "Nd", "Po", "Sm", "Lu", "Zs")),
    max_size=60,
)
decoded_bytes = st.binary(max_size=80).map(lambda b: b.decode("utf-8", errors="replace"))
lines = st.one_of(fragment_lines, any_text, noisy_text, decoded_bytes)
feeds = st.lists(
    st.tuples(lines, st.booleans(), st.sampled_from([False] * 9 + [True])), max_size=40
)
formats = st.sampled_from(("auto", "bare", *FORMATS))
headers = st.one_of(
    st.none(), st.lists(st.sampled_from(["time", "temp", "hum", " a "]), max_size=4)
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(p: LineParser, batch: list[tuple[str, bool, bool]]) -> None:
    start = p.counters.lines
    for i, (line, first, cut) in enumerate(batch):
        r = p.feed(line, 1000.0 + i, first=first, cut=cut)
        assert p.last_kind in KINDS
        assert (r is not None) == (p.last_kind == "data")
        assert p.last_errors >= 0
        if r is not None:
            assert r.source == "dev"
            assert r.values, "a data Reading names at least one channel"
            assert isinstance(r.t, float) and math.isfinite(r.t)
            for name, v in r.values.items():
                assert isinstance(name, str) and name
                assert v is None or (isinstance(v, float) and math.isfinite(v))
            assert set(r.values) <= set(p.channels)
        c = p.counters
        assert c.lines == start + i + 1
        assert c.lines == (
            c.data + c.header + c.text + c.garbage + c.empty + c.partial + c.overlong
        )
        assert c.field_errors >= 0
    assert len(p.channels) == len(set(p.channels))


@FUZZ
@given(feeds, formats, headers)
def test_any_text_lines_never_raise_and_counters_add_up(batch, fmt, header):
    check(LineParser("dev", fmt, header=header), batch)


@FUZZ
@given(st.lists(st.tuples(decoded_bytes, st.booleans(), st.just(False)), max_size=40), formats)
def test_random_bytes_decoded_with_replacement_never_raise(batch, fmt):
    check(LineParser("dev", fmt), batch)


@FUZZ
@given(
    st.lists(st.sampled_from(["temp:1 hum:2", "a=1, b=2", "1,2,3", '{"x": 1}']), max_size=5),
    feeds,
)
def test_junk_after_a_locked_format_never_raises(prefix, batch):
    p = LineParser("dev")
    for line in prefix:
        p.feed(line, 0.0)
    check(p, batch)
