"""Files read a block at a time give exactly the frames a line-by-line read gives."""

from __future__ import annotations

import base64
import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sensorscope.recording
from sensorscope.formats import parse_time, parse_times
from sensorscope.model import Frame
from sensorscope.recording import RecordingReader, RecordingWriter, decode_record
from sensorscope.sources import FILE_BATCH, CsvSource, RecordingSource, decode_line


def line_by_line(path) -> tuple[list[Frame], int]:
    """The recording's frames read the plain way: one json.loads per line."""
    frames, skipped = [], 0
    with open(path, "rb") as fh:
        fh.readline()
        for raw in fh:
            if not raw.strip():
                continue
            frame = decode_record(raw)
            if frame is None:
                skipped += 1
            else:
                frames.append(frame)
    return frames, skipped


def csv_line_by_line(path, ti: int) -> list[Frame]:
    frames, last_t = [], 0.0
    with open(path, "rb") as fh:
        fh.readline()
        for raw_line in fh:
            text, raw = decode_line(raw_line.rstrip(b"\r\n"))
            if not text.strip():
                continue
            fields = text.split(",")
            t = parse_time(fields[ti]) if ti < len(fields) else None
            last_t = t if t is not None else last_t
            frames.append(Frame(last_t, path.stem, text, raw))
    return frames


ODD_LINES = [
    "temp:21.5", "", 'say "hi"', "back\\slash", "tab\there", "Temperatur 23 °C", "emoji 🌡",
    "line\u2028sep", "nul\x00byte", "del\x7f", "a\rb", "\ufffd",
]  # fmt: skip


def odd_recording(path) -> None:
    w = RecordingWriter(str(path), {"dev": {"kind": "serial"}})
    frames = [Frame(1700000000.0 + i * 0.02, "dev", x) for i, x in enumerate(ODD_LINES)]
    frames += [
        Frame(1700000001.0, "dev", event="connect", detail="/dev/pts/3"),
        Frame(1700000001.5, "dev", "first", first=True),
        Frame(1700000002.0, "dev", "x" * 40, cut=True),
        Frame(1700000002.5, "dev", "\ufffd\ufffd", raw=b"\xff\xfe"),
        Frame(1700000003.0, "other", "hum:40"),
    ]
    w.write(frames)
    w.close()
    with open(path, "ab") as fh:
        fh.write(b"\n   \n")  # blank lines are no records
        fh.write(b'{"t": 1700000004, "src": "dev", "line": "int time"}\n')
        fh.write(b'{"t": 1.7e9, "src": "dev", "line": "exponent"}\n')
        fh.write(b'{"t": -5.5, "src": "dev", "line": "negative"}\n')
        fh.write(b'{"t": 1700000005.0, "src": "dev", "line": "crlf"}\r\n')
        fh.write(b'{"t":1700000006.0,"src":"dev","line":"compact"}\n')
        fh.write(b'{"t": 1700000007.0, "src": "dev", "line": "da\xffmaged"}\n')
        fh.write(b'{"t": 1700000008.0, "src": "dev", "li\n')  # damage in the middle
        fh.write(b'[1, 2]\n{"t": "9", "src": 5, "line": 6}\n')
        fh.write(b'{"t": 1700000009.0, "src": "dev", "line": "two"} {"t": 1}\n')
        fh.write(b'{"t": 1700000010.0, "src": "dev", "line": "last"}')  # no newline


@pytest.mark.parametrize("block", [7, 64, 1000, 1 << 18])
def test_block_reads_give_the_line_by_line_frames_and_skips(tmp_path, monkeypatch, block):
    monkeypatch.setattr(sensorscope.recording, "READ_BLOCK", block)
    path = tmp_path / "odd.jsonl"
    odd_recording(path)
    reader = RecordingReader(str(path))
    frames = list(reader)
    expected, skipped = line_by_line(path)
    assert frames == expected
    assert reader.skipped == skipped == 4
    assert [f.line for f in frames[: len(ODD_LINES)]] == ODD_LINES
    assert frames[-1].line == "last"
    assert reader.offset == path.stat().st_size


def test_a_torn_last_line_is_skipped_after_block_reads(tmp_path):
    path = tmp_path / "torn.jsonl"
    odd_recording(path)
    with open(path, "ab") as fh:
        fh.write(b'\n{"t": 1700000011.0, "src": "dev", "line": "tor')
    reader = RecordingReader(str(path))
    frames = list(reader)
    assert frames == line_by_line(path)[0]
    assert frames[-1].line == "last"
    assert reader.skipped == 5


record_text = st.text(st.characters(codec="utf-8"), max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 2e9) | st.integers(0, 2 * 10**9).map(float),
            st.sampled_from(["dev", "a/b", "ü"]),
            record_text,
            st.booleans(),
        ),
        max_size=40,
    ),
    st.lists(st.binary(max_size=20), max_size=3),
    st.integers(1, 300),
)
def test_any_recording_reads_back_as_line_by_line(tmp_path_factory, rows, junk, block):
    path = tmp_path_factory.mktemp("r") / "rec.jsonl"
    w = RecordingWriter(str(path))
    w.write([Frame(t, src, line, first=first) for t, src, line, first in rows])
    w.close()
    with open(path, "ab") as fh:
        for j in junk:
            fh.write(j.replace(b"\n", b" ") + b"\n")
    old = sensorscope.recording.READ_BLOCK
    sensorscope.recording.READ_BLOCK = block
    try:
        reader = RecordingReader(str(path))
        frames = list(reader)
    finally:
        sensorscope.recording.READ_BLOCK = old
    expected, skipped = line_by_line(path)
    assert frames == expected
    assert reader.skipped == skipped
    assert frames[: len(rows)] == [Frame(t, s, x, first=f) for t, s, x, f in rows]


def test_a_max_speed_replay_delivers_every_frame_in_big_batches(tmp_path):
    path = tmp_path / "big.jsonl"
    w = RecordingWriter(str(path), {"dev": {"kind": "serial"}})
    frames = [Frame(1700000000.0 + i / 50, "dev", f"temp:{i % 97}.5 hum:40") for i in range(20000)]
    w.write(frames[:10])
    w.write([Frame(1700000000.1, "dev", event="connect", detail="x")])
    w.write(frames[10:])
    w.close()
    src = RecordingSource(str(path))
    batches = list(src.batches(threading.Event()))
    got = [f for b in batches for f in b]
    assert [f for f in got if f.event is None] == frames
    assert [len(b) for b in batches[:-1]] == [FILE_BATCH] * (len(batches) - 1)
    assert src.status.lines == 20000
    assert src.status.position == 1.0 and src.status.state == "eof"
    assert src.pacer.t == frames[-1].t


def test_a_paced_replay_still_goes_frame_by_frame(tmp_path):
    path = tmp_path / "paced.jsonl"
    w = RecordingWriter(str(path))
    w.write([Frame(100.0 + i / 1000, "dev", f"v:{i}") for i in range(30)])
    w.close()
    src = RecordingSource(str(path), speed=64)
    batches = list(src.batches(threading.Event()))
    assert [len(b) for b in batches] == [1] * 30
    assert [b[0].line for b in batches] == [f"v:{i}" for i in range(30)]
    assert src.status.lines == 30


def nab_file(path, rows: list[str], newline: bytes = b"\n") -> None:
    with open(path, "wb") as fh:
        fh.write(b"timestamp,value" + newline)
        for r in rows:
            fh.write(r.encode("utf-8") + newline)


NAB_ROWS = [
    "2014-04-01 00:00:00,12.5", "2014-04-01 00:05:00,13", "bad time,14", "", "  ",
    "2014-04-01T00:15:00Z,15", "1396311600,16", "2014-02-30 00:00:00,17", "no comma",
    "2014-04-01 00:25:00.250,18", "2014-04-01 00:30:00 ,19", "Ünïcode,20",
]  # fmt: skip


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
@pytest.mark.parametrize("block", [5, 1000, 1 << 18])
def test_csv_rows_read_in_blocks_match_line_by_line(tmp_path, monkeypatch, newline, block):
    monkeypatch.setattr(sensorscope.recording, "READ_BLOCK", block)
    path = tmp_path / "nab.csv"
    # Undecodable bytes past the part of the file the header is read from.
    nab_file(path, NAB_ROWS * 100, newline)
    with open(path, "ab") as fh:
        fh.write(b"2014-04-01 01:00:00,bad\xffbyte" + newline + b"2014-04-01 02:00:00,21")
    src = CsvSource(str(path))
    got = [f for b in src.batches(threading.Event()) for f in b]
    assert got == csv_line_by_line(path, 0)
    assert got[0].t == 1396310400.0 and got[2].t == got[1].t
    assert got[-2].raw == b"2014-04-01 01:00:00,bad\xffbyte"
    assert src.status.lines == len(got)


def test_a_wide_csv_with_its_time_column_later_matches_line_by_line(tmp_path):
    path = tmp_path / "wide.csv"
    rows = [f"{i},{20 + i / 10},2014-04-01T00:{i % 60:02d}:00Z,40" for i in range(500)]
    rows[7] = "8,21"  # too short to reach the time column
    with open(path, "w") as fh:
        fh.write("n,temp,time,hum\n" + "\n".join(rows) + "\n")
    src = CsvSource(str(path))
    got = [f for b in src.batches(threading.Event()) for f in b]
    assert got == csv_line_by_line(path, 2)
    assert got[7].t == got[6].t


iso_like = st.builds(
    "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}".format,
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.sampled_from("Tt -"),
    st.integers(0, 25), st.integers(0, 61), st.integers(0, 61),
    st.sampled_from(["", "Z", "z", " ", ".5", "+01:00", "X"]),
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.lists(iso_like | st.text(max_size=22) | st.integers(0, 10**19).map(str), max_size=50))
def test_parse_times_is_parse_time_of_each(texts):
    assert parse_times(texts) == [parse_time(x) for x in texts]


def test_b64_records_keep_their_bytes_after_block_reads(tmp_path):
    path = tmp_path / "b.jsonl"
    w = RecordingWriter(str(path))
    w.write([Frame(1.0, "s", "\ufffd", raw=b"\xff"), Frame(2.0, "s", "ok")])
    w.close()
    frames = list(RecordingReader(str(path)))
    assert frames[0].raw == b"\xff" and frames[1].line == "ok"
    assert json.loads(path.read_text().splitlines()[1])["b64"] == base64.b64encode(b"\xff").decode()
