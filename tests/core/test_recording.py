"""Recordings keep raw lines exactly, survive a killed writer, and refuse foreign files."""

from __future__ import annotations

import json

import pytest

from sensorscope.errors import UserError
from sensorscope.model import Frame
from sensorscope.recording import RecordingReader, RecordingWriter, read_header


def frames():
    return [
        Frame(100.0, "ttyACM0", event="connect", detail="/dev/pts/3"),
        Frame(100.5, "ttyACM0", "temp:21.5 hum:40", first=True),
        Frame(101.0, "ttyACM0", "temp:21.\ufffd", raw=b"temp:21.\xff"),
        Frame(101.5, "ttyACM0", "x" * 16, cut=True),
        Frame(102.0, "ttyACM0", event="disconnect", detail="device reports readiness"),
    ]


def test_written_frames_read_back_identically(tmp_path):
    path = tmp_path / "rec.jsonl"
    w = RecordingWriter(str(path), {"ttyACM0": {"kind": "serial"}})
    w.write(frames())
    w.close()
    assert list(RecordingReader(str(path))) == frames()
    header = read_header(str(path))
    assert header["sensorscope"] == 1 and "ttyACM0" in header["sources"]


def test_each_line_is_on_disk_before_close(tmp_path):
    path = tmp_path / "rec.jsonl"
    w = RecordingWriter(str(path))
    w.write(frames()[:2])
    # No close: a killed process must still leave these lines behind.
    assert len(list(RecordingReader(str(path)))) == 2
    w.close()


def test_bytes_that_are_not_utf8_are_stored_as_base64(tmp_path):
    path = tmp_path / "rec.jsonl"
    w = RecordingWriter(str(path))
    w.write([Frame(1.0, "s", "\ufffd", raw=b"\xff")])
    w.close()
    obj = json.loads(path.read_text().splitlines()[1])
    assert obj == {"t": 1.0, "src": "s", "b64": "/w=="}


def test_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "rec.jsonl"
    w = RecordingWriter(str(path))
    w.write(frames()[:2])
    w.close()
    with open(path, "a") as fh:
        fh.write('{"t": 103.0, "src": "ttyACM0", "li')
    reader = RecordingReader(str(path))
    assert len(list(reader)) == 2
    assert reader.skipped == 1


def test_appending_to_existing_recording_continues_it_after_a_torn_line(tmp_path):
    path = tmp_path / "rec.jsonl"
    w = RecordingWriter(str(path))
    w.write(frames()[:2])
    w.close()
    with open(path, "a") as fh:
        fh.write('{"t": 103.0, "sr')
    w = RecordingWriter(str(path))
    w.write([Frame(104.0, "ttyACM0", "temp:22")])
    w.close()
    got = list(RecordingReader(str(path)))
    assert [f.line for f in got][-1] == "temp:22"
    assert len(got) == 3
    assert path.read_text().count('"sensorscope"') == 1


def test_a_file_that_is_not_a_recording_is_refused(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text("hello\n")
    with pytest.raises(UserError, match="not a sensorscope recording"):
        read_header(str(path))
    with pytest.raises(UserError, match="not a sensorscope recording"):
        RecordingWriter(str(path))
