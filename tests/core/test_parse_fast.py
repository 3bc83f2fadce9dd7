"""The template path and feed_many give what the full parse gives, line for line."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensorscope.formats import LineParser

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def full_only(source: str = "dev", fmt: str = "auto", header=None) -> LineParser:
    """A parser that never learns a template: every line takes the full path."""
    p = LineParser(source, fmt, header=header)
    p._learn_template = lambda *args: None  # type: ignore[method-assign]
    return p


def outcome(p: LineParser, r) -> tuple:
    values = None if r is None else (r.t, r.source, list(r.values.items()))
    return values, p.last_kind, p.last_errors


def state(p: LineParser) -> tuple:
    cols = p._cols  # headers and positional names live in formats.columns
    return (
        p.counters,
        p.channels,
        p.format,
        cols.names,
        cols.width,
        cols.wdelim,
        cols.cand,
        p._miss,
    )


def assert_same(lines, fmt="auto", header=None) -> LineParser:
    fast, full = LineParser("dev", fmt, header=header), full_only("dev", fmt, header)
    for i, (line, first, cut) in enumerate(lines):
        t = 1000.0 + i
        a = fast.feed(line, t, first=first, cut=cut)
        b = full.feed(line, t, first=first, cut=cut)
        assert outcome(fast, a) == outcome(full, b), (i, line)
    assert state(fast) == state(full)
    return fast


numbers = st.one_of(
    st.integers(-999, 99999).map(str),
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0", "-0", "+1", ".5", "5.", "-.5", "1.2.3", "--1", "+", "-", ".", "1e5",
                     "1" * 45, "1" * 400, "1e999", "-1e400", "0x1F", "nan", "NaN", "inf", "-inf",
                     "ovf", "", "12C", "1,5", "\u0663", " 3", "3 "]),
)  # fmt: skip
labels = st.sampled_from(["temp", "hum", "T", "H", "t", "time", "pm2.5", "co2-ppm", "E", "a_b"])


@st.composite
def shaped_lines(draw):
    """Lines of one device shape with varying numbers, and now and then something else."""
    kind = draw(st.sampled_from(["plotter", "kv", "kv_bare", "csv", "ssv", "tsv", "nab"]))
    k = draw(st.integers(1, 5))
    names = draw(st.lists(labels, min_size=k, max_size=k))
    sep = draw(
        st.sampled_from({
            "plotter": [" ", "\t", ",", ", ", ";", " \t"],
            "kv": [", ", ",", " , ", ",,"],
            "kv_bare": [" ", "  ", "\t"],
            "csv": [",", ", ", " ,"],
            "ssv": [" ", "  "],
            "tsv": ["\t"],
            "nab": [",", ", ", " ", "\t", ";"],
        }[kind])
    )  # fmt: skip
    trail = draw(st.sampled_from(["", "", sep, "\t", " "]))

    def row(nums):
        if kind == "plotter":
            body = sep.join(f"{n}:{v}" for n, v in zip(names, nums, strict=False))
        elif kind in ("kv", "kv_bare"):
            eq = draw(st.sampled_from(["=", "=", " = "]))
            body = sep.join(f"{n}{eq}{v}" for n, v in zip(names, nums, strict=False))
        elif kind == "nab":
            stamp = draw(
                st.sampled_from(["2014-04-01 00:00:00", "2014-04-01T00:05:00Z", "1396310400",
                                 "2014-02-30 00:00:00", "bad", "2014-04-01 00:00:00.5"])
            )  # fmt: skip
            body = stamp + sep + sep.join(nums)
        else:
            body = sep.join(nums)
        return body + trail

    header = None
    out = []
    if kind in ("csv", "ssv", "tsv") and draw(st.booleans()):
        out.append((sep.join(names), False, False))
    if kind == "nab":
        header = ["timestamp", *names]
    for _ in range(draw(st.integers(1, 40))):
        roll = draw(st.integers(0, 19))
        if roll == 0:
            line = draw(
                st.sampled_from(["", "   ", "Booting...", "Error: 3 retries", "\x1b[0;32m",
                                 sep.join(names), "x,y,z", "[18:13:07.488] temp:1",
                                 "I (1234) app: temp:2", "temp:\thum:", "{\"temp\": 1}"])
            )  # fmt: skip
        else:
            n = k + (draw(st.integers(-1, 1)) if roll == 1 else 0)
            plain = st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: f"{x:.2f}")
            nums = [draw(numbers if roll < 4 else plain) for _ in range(max(0, n))]
            line = row(nums)
        flags = draw(st.sampled_from([(False, False)] * 12 + [(True, False), (False, True)]))
        out.append((line, *flags))
    return out, header


@FAST
@given(shaped_lines(), st.sampled_from(["auto", "auto", "plotter", "kv", "csv"]))
def test_template_path_gives_what_the_full_parse_gives(shaped, fmt):
    lines, header = shaped
    assert_same(lines, "csv" if header else fmt, header)


@FAST
@given(st.lists(shaped_lines(), min_size=2, max_size=4))
def test_a_device_that_changes_its_output_is_parsed_the_same_either_way(parts):
    assert_same([line for lines, _header in parts for line in lines])


def feed_each(p: LineParser, lines, ts):
    out = []
    for (line, first, cut), t in zip(lines, ts, strict=True):
        out.append(outcome(p, p.feed(line, t, first=first, cut=cut)))
    return out


@FAST
@given(st.lists(shaped_lines(), min_size=1, max_size=3), st.integers(0, 2**32))
def test_feed_many_gives_what_repeated_feed_gives(parts, seed):
    lines = [line for ls, _header in parts for line in ls]
    ts = [1000.0 + i * 0.5 for i in range(len(lines))]
    header = parts[0][1]
    one, many = LineParser("dev", header=header), LineParser("dev", header=header)
    expected = feed_each(one, lines, ts)
    got = []
    rng = random.Random(seed)
    i = 0
    while i < len(lines):
        j = min(len(lines), i + rng.choice([1, 2, 5, 50]))
        chunk = lines[i:j]
        flags = rng.random() < 0.5
        res = many.feed_many(
            [x[0] for x in chunk], ts[i:j],
            [x[1] for x in chunk] if flags or any(x[1] for x in chunk) else None,
            [x[2] for x in chunk] if flags or any(x[2] for x in chunk) else None,
        )  # fmt: skip
        readings = res.every_reading("dev")
        assert len(readings) == len(res.kinds) == len(res.errors) == j - i
        for r, kind, errors in zip(readings, res.kinds, res.errors, strict=True):
            values = None if r is None else (r.t, r.source, list(r.values.items()))
            got.append((values, kind, errors))
        i = j
    assert got == expected
    assert state(many) == state(one)
    assert (many.last_kind, many.last_errors) == (one.last_kind, one.last_errors)


def test_a_clean_line_teaches_a_template_that_later_lines_use():
    p = LineParser("dev")
    p.feed("temp:21.5 hum:40.2", 1.0)
    assert p._fast is not None
    r = p.feed("temp:22.5 hum:41.0", 2.0)
    assert r.values == {"temp": 22.5, "hum": 41.0} and r.t == 2.0
    assert p.counters.data == 2 and p.last_kind == "data"


def test_a_header_that_reappears_renames_columns_even_after_template_rows():
    lines = ["a,b", "1,2", "3,4", "x,y", "5,6", "7,8"]
    p = assert_same([(x, False, False) for x in lines])
    assert p.channels == ["a", "b", "x", "y"]


def test_nab_rows_take_their_time_from_the_time_column_on_the_template_path():
    p = LineParser("nab", "csv", header=["timestamp", "value"])
    rows = ["2014-04-01 00:00:00,10", "2014-04-01 00:05:00,11", "bad,12", "2014-04-01 00:15:00,13"]
    got = [p.feed(x, 5.0) for x in rows]
    assert p._fast is not None
    assert [r.t for r in got] == [1396310400.0, 1396310700.0, 5.0, 1396311300.0]
    assert [r.values for r in got] == [{"value": v} for v in (10.0, 11.0, 12.0, 13.0)]


def test_numbers_of_a_stream_that_never_repeats_are_still_right():
    rng = random.Random(1)
    values = [rng.uniform(-1e6, 1e6) for _ in range(20000)]
    p = LineParser("dev")
    got = p.feed_many([f"x:{v!r}" for v in values], [0.0] * len(values))
    assert [r.values["x"] for r in got.every_reading("dev")] == values
    assert p._number is float  # the number cache stepped aside


def test_feed_many_on_a_nab_series_parses_its_times_like_feed():
    stamps = ["2014-04-01 00:00:00", "2014-04-01 00:05:00", "2014-02-30 00:00:00", "bad",
              "1396311600", "2014-04-01T00:20:00Z", "2014-04-01 00:25:00.5"]  # fmt: skip
    rows = [f"{stamps[i % len(stamps)]},{i % 17}.5" for i in range(300)]
    ts = [float(i) for i in range(300)]
    one = LineParser("nab", "csv", header=["timestamp", "value"])
    many = LineParser("nab", "csv", header=["timestamp", "value"])
    expected = [outcome(one, one.feed(x, t)) for x, t in zip(rows, ts, strict=True)]
    res = many.feed_many(rows, ts)
    got = [
        (None if r is None else (r.t, r.source, list(r.values.items())), k, e)
        for r, k, e in zip(res.every_reading("nab"), res.kinds, res.errors, strict=True)
    ]
    assert got == expected
    assert got[0][0][0] == 1396310400.0 and got[2][0][0] == 2.0


def test_feed_many_takes_flags_as_any_sequence_of_bools():
    import numpy as np

    lines = ["a:1 b:2", "a:2 b:3", "junk", "a:3 b:4", "a:4 b:5"]
    p = LineParser("dev")
    out = p.feed_many(lines, [0.0, 1.0, 2.0, 3.0, 4.0], np.array([1, 0, 0, 0, 0], bool),
                      [False, False, False, False, True])  # fmt: skip
    assert out.kinds == ["partial", "data", "text", "data", "overlong"]
    assert [r and r.values for r in out.every_reading("dev")] == [
        None, {"a": 2.0, "b": 3.0}, None, {"a": 3.0, "b": 4.0}, None,
    ]  # fmt: skip
