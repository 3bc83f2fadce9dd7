"""The scoring path's ingest: runs of template lines reach the scorer as columns, and a CSV
source's time column is parsed once; either way every reading is what parsing the lines
one at a time gives, and every line is shown and counted as it was."""

from __future__ import annotations

import json
import math
import random
from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensorscope.formats import LineParser
from sensorscope.formats.times import epochs, parse_time, parse_times
from sensorscope.model import Frame, RawLine, Settings
from sensorscope.pipeline import SHOWN_AS_PARSED, Pipeline, _Rows, parse_run
from sensorscope.recording import decode_block, decode_record
from sensorscope.sources.csv import CsvSource

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FILES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PANE = 40


class Numbering:
    """Channel numbers in the order first asked for, as the pipeline's registry gives them."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, name: str, prefix: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)


def nan_free(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) else v


def one_at_a_time(parser: LineParser, frames: list[Frame], prefix: str = ""):
    """What the scorer gets from the lines parsed by ``feed`` one by one: per reading its
    time, receive time, source, line and (channel, value) pairs; and the raw-lines pane."""
    out = []
    raw: deque[RawLine] = deque(maxlen=PANE)
    every: deque[RawLine] = deque(maxlen=PANE)
    number = Numbering()
    for f in frames:
        line = f.line or ""
        reading = parser.feed(line, f.t, first=f.first, cut=f.cut)
        kind, errors = parser.last_kind, parser.last_errors
        for held, held_line in parser.take_released():
            pairs = [(number(prefix + k, prefix), nan_free(v)) for k, v in held.values.items()]
            out.append((held.t, held.t, f.src, held_line, pairs))
        every.append(RawLine(f.t, f.src, line, kind, f.raw, kind in SHOWN_AS_PARSED and not errors))
        if kind not in SHOWN_AS_PARSED or errors:
            raw.append(RawLine(f.t, f.src, line, kind, f.raw))
        if reading is not None:
            pairs = [(number(prefix + k, prefix), nan_free(v)) for k, v in reading.values.items()]
            out.append((reading.t, f.t, f.src, line, pairs))
    return out, list(raw), list(every), number.names


def in_batches(parser: LineParser, frames: list[Frame], sizes: list[int], prefix: str = ""):
    """The same through parse_run, a batch of ``sizes`` frames at a time."""
    rows = _Rows()
    raw: deque[RawLine] = deque(maxlen=PANE)
    every: deque[RawLine] = deque(maxlen=PANE)
    number = Numbering()
    i = 0
    for size in sizes:
        if i < len(frames):
            parse_run(parser, frames[i : i + size], prefix, number, raw, every, rows)
        i += size
    if i < len(frames):
        parse_run(parser, frames[i:], prefix, number, raw, every, rows)
    out = []
    at = 0
    for k, n in enumerate(rows.n):
        pairs = [
            (c, nan_free(v))
            for c, v in zip(rows.ch[at : at + n], rows.val[at : at + n], strict=True)
        ]
        rx, src, line = rows.readings[k]
        assert rows.rx[k] == rx
        out.append((rows.t[k], rx, src, line, pairs))
        at += n
    assert at == len(rows.ch) == len(rows.val)
    return out, list(raw), list(every), number.names


def parser_state(p: LineParser) -> tuple:
    return p.counters, p.channels, p.format, p.last_kind, p.last_errors, p.units


def assert_same_rows(lines, sizes, fmt="auto", header=None, flags=None) -> None:
    flags = flags or [(False, False)] * len(lines)
    frames = [Frame(1000.0 + i * 0.25, "dev", line, None, None, "", cut, first)
              for i, (line, (first, cut)) in enumerate(zip(lines, flags, strict=True))]  # fmt: skip
    one, many = LineParser("dev", fmt, header=header), LineParser("dev", fmt, header=header)
    assert in_batches(many, frames, sizes) == one_at_a_time(one, frames)
    assert parser_state(many) == parser_state(one)


values = st.one_of(
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.integers(-99, 999).map(str),
    st.sampled_from(["1.2.3", "+", "-", ".", "nan", "", "12C", "1e5", "--1", "0x1F"]),
)
others = st.sampled_from(["", "   ", "Booting...", "Error: 3 retries", "\x1b[0;32mok", "x,y,z",
                          "\x00\xff\x01garbage", "[18:13:07.488] temp:1", "temp:\thum:",
                          "a:1\na:2", "1,2\n3,4", "{\"temp\": 1}", "temp,hum"])  # fmt: skip


@st.composite
def device_lines(draw):
    """Lines of one or two device shapes (plotter, kv, csv), with now and then a line of
    text or garbage, an empty one, a first line after a reconnect or a cut one."""
    lines, flags = [], []
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(["plotter", "kv", "csv", "bare"]))
        names = draw(
            st.lists(st.sampled_from(["temp", "hum", "a", "b", "co2"]), min_size=1, max_size=4)
        )
        for _ in range(draw(st.integers(1, 60))):
            roll = draw(st.integers(0, 15))
            if roll == 0:
                line = draw(others)
            else:
                nums = [
                    draw(values) if roll < 3 else f"{draw(st.integers(0, 30)) / 4}" for _ in names
                ]
                if kind == "plotter":
                    line = " ".join(f"{n}:{v}" for n, v in zip(names, nums, strict=True))
                elif kind == "kv":
                    line = ", ".join(f"{n}={v}" for n, v in zip(names, nums, strict=True))
                elif kind == "csv":
                    line = ",".join(nums)
                else:
                    line = " ".join(nums)
            lines.append(line)
            flags.append(
                draw(st.sampled_from([(False, False)] * 14 + [(True, False), (False, True)]))
            )
    return lines, flags


@FAST
@given(device_lines(), st.lists(st.integers(1, 90), max_size=6))
def test_columns_give_the_readings_lines_and_counts_that_parsing_line_by_line_gives(drawn, sizes):
    lines, flags = drawn
    assert_same_rows(lines, sizes, flags=flags)


@FAST
@given(
    device_lines(),
    st.lists(st.integers(1, 90), max_size=4),
    st.sampled_from(["plotter", "kv", "csv"]),
)
def test_a_forced_format_gives_the_same_rows_in_columns(drawn, sizes, fmt):
    lines, flags = drawn
    assert_same_rows(lines, sizes, fmt, flags=flags)


def test_a_long_run_with_a_bad_number_and_a_line_holding_a_newline_in_it():
    rng = random.Random(3)
    lines = [f"temp:{rng.randint(0, 400) / 10} hum:{rng.randint(0, 99)}" for _ in range(9000)]
    lines[5000] = "temp:1.2.3 hum:4"  # matches the template, is no number: ends the run
    lines[7000] = "temp:1 hum:2\ntemp:3 hum:4"
    lines[7001] = ""
    assert_same_rows(lines, [4096, 4096, 4096])


def test_a_header_naming_a_column_twice_and_rows_shorter_than_the_header():
    header = ["timestamp", "a", "b", "a", "c"]
    rows = [f"17000000{i:02d},{i},{i + 1},{i + 2},{i + 3}" for i in range(30)]
    rows += [f"17000001{i:02d},{i},{i + 1}" for i in range(30)]  # c and the second a: None
    assert_same_rows(rows, [7, 50], "csv", header)
    p = LineParser("dev", "csv", header=header)
    res = p.feed_many(rows, [0.0] * len(rows))
    assert res.runs and all(r.names == ("a", "b", "c") for r in res.runs)
    assert res.every_reading("dev")[1].values == {"a": 3.0, "b": 2.0, "c": 4.0}
    assert res.every_reading("dev")[-1].values == {"a": None, "b": 30.0, "c": None}


def test_a_one_channel_template_runs_as_columns():
    lines = [f"{i % 7}.5" for i in range(100)]
    p = LineParser("dev")
    res = p.feed_many(lines, [float(i) for i in range(100)])
    assert [(r.start, r.stop, r.names) for r in res.runs] == [(1, 100, ("ch0",))]
    assert res.runs[0].values[:3] == [1.5, 2.5, 3.5] and res.runs[0].times[:2] == [1.0, 2.0]
    assert_same_rows(lines, [33, 33])


# -- the CSV source's time column, parsed once -------------------------------------------

stamps = st.one_of(
    st.integers(1_000_000_000, 9_999_999_999).map(str),
    st.integers(1_000_000_000_000, 9_999_999_999_999).map(str),
    st.floats(1e9, 9.9e9).map(lambda x: f"{x:.2f}"),
    st.sampled_from(["2014-04-01 00:00:00", "2014-04-01T00:05:00Z", "2014-02-30 00:00:00",
                     "2014-04-01 00:00:00.5", "2014-04-01T00:05:00+02:00", "bad", "", "12345",
                     " 1396310400", "1396310400 ", "nan", "2014-04-01"]),
)  # fmt: skip


@st.composite
def csv_files(draw):
    names = draw(st.sampled_from([["timestamp", "a", "b"], ["a", "time", "b"], ["a", "b", "t"],
                                  ["date", "time", "a"], ["timestamp", "value"]]))  # fmt: skip
    ti = next(i for i, n in enumerate(names) if n in ("timestamp", "time", "t", "date"))
    rows = []
    for _ in range(draw(st.integers(1, 300))):
        roll = draw(st.integers(0, 25))
        if roll == 0:
            rows.append(draw(st.sampled_from(["oops", "", "a,b", ";;", "1;2;3"])))
            continue
        fields = [f"{draw(st.integers(0, 40)) / 8}" for _ in names]
        for k, n in enumerate(names):
            if n in ("timestamp", "time", "t", "date"):
                fields[k] = draw(stamps) if k == ti or roll < 3 else "2014-04-01"
        if roll == 1:
            fields = fields[:-1]
        rows.append(",".join(fields))
    return names, rows


def scored(path: str, time_column: bool) -> list:
    src = CsvSource(path)
    batches = []
    pipeline = Pipeline(Settings(), src.names, on_batch=batches.append)
    args = dict(src.parser_args)
    if not time_column:
        args.pop("time_column")
    pipeline.use_parser(src.name, **args)
    for frames, _n in src.chunks():
        pipeline.process(frames)
    pipeline.finish()
    got = [(b.t.tolist(), b.channel.tolist(), [nan_free(v) for v in b.value.tolist()], b.readings)
           for b in batches]  # fmt: skip
    return got, pipeline.totals(), list(pipeline.state.raw_lines)


@FILES
@given(csv_files())
def test_the_time_column_parsed_by_the_source_alone_gives_the_same_times(tmp_path, drawn):
    names, rows = drawn
    path = tmp_path / "series.csv"
    path.write_text("\n".join([",".join(names), *rows]) + "\n")
    assert scored(str(path), True) == scored(str(path), False)


def test_a_nab_series_with_bad_times_keeps_their_place_at_the_last_good_time(tmp_path):
    path = tmp_path / "nab.csv"
    stamps_ = ["2014-04-01 00:00:00", "2014-04-01 00:05:00", "bad", "2014-02-30 00:00:00",
               "2014-04-01 00:15:00", "", "1396311600"]  # fmt: skip
    path.write_text("timestamp,value\n" + "".join(f"{s},{i}\n" for i, s in enumerate(stamps_ * 40)))
    (got, _totals, _raw), want = scored(str(path), True), scored(str(path), False)
    assert (got, _totals, _raw) == want
    t = [x for b in got for x in b[0]]
    assert t[:7] == [1396310400.0, 1396310700.0, 1396310700.0, 1396310700.0, 1396311300.0,
                     1396311300.0, 1396311600.0]  # fmt: skip


# -- epoch stamps, parsed at once ------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(1e8, 1e20).map(repr),
    st.floats(1e8, 1e20).map(lambda x: f"{x:.3f}"),
    st.integers(10**8, 10**20).map(str),
    st.sampled_from(["1e9", "1e10", "1e12", "9999999999.9999999", " 1700000000 ", "+1e15", "-1e9"]),
), min_size=8, max_size=50))  # fmt: skip
def test_a_column_of_epoch_numbers_parses_as_each_one_alone(texts):
    assert parse_times(texts) == [parse_time(x) for x in texts]
    assert epochs(texts) == [parse_time(x) for x in texts]


@pytest.mark.parametrize("texts", [["1700000000", "2014-04-01"] * 5, ["1700000000", "١٢"] * 5])
def test_a_column_that_is_not_all_ascii_numbers_is_left_to_parse_time(texts):
    assert epochs(texts) is None
    assert parse_times(texts) == [parse_time(x) for x in texts]


# -- a recording's blocks --------------------------------------------------------------

records = st.one_of(
    st.builds(
        lambda t, line: json.dumps({"t": t, "src": "sim", "line": line}),
        st.floats(0, 2e9).map(lambda x: round(x, 3)),
        st.sampled_from(["temp:21.5 hum:40", "1,2,3", "", "a b"]),
    ),
    st.sampled_from([
        '{"t": 1.5, "src": "sim", "event": "connect", "detail": "simulator"}',
        '{"t": 2.0, "src": "sim", "line": "tab\\there"}',
        '{"t": 2.5, "src": "sim", "b64": "/wE="}',
        '{"t": 3, "src": "sim", "line": "x:1", "first": true}',
        '{"t": 4.0, "src": "sim", "line": "x:2',
        "", "   ", "not json",
    ]),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(records, max_size=30), st.booleans())
def test_a_recorded_block_decodes_as_its_records_one_by_one(lines, newline):
    data = ("\n".join(lines) + ("\n" if newline and lines else "")).encode()
    frames, n_lines, bad = decode_block(data)
    want = [decode_record(raw) for raw in data.split(b"\n") if raw.strip()]
    assert frames == [f for f in want if f is not None]
    assert n_lines == sum(f.event is None for f in frames)
    assert bad == sum(f is None for f in want)
