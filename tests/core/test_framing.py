"""Bytes from a port become lines: LF, CRLF and CR endings, split reads, a length cap."""

from __future__ import annotations

from sensorscope.sources import LineFramer, decode_line, split_baud


def lines(framer: LineFramer, *chunks: bytes) -> list[tuple[bytes, bool]]:
    out = []
    for i, chunk in enumerate(chunks):
        out += [(body, cut) for _, body, cut in framer.feed(chunk, float(i))]
    return out


def test_lf_crlf_and_cr_all_end_lines():
    assert lines(LineFramer(), b"a\nb\r\nc\rd\n") == [
        (b"a", False),
        (b"b", False),
        (b"c", False),
        (b"d", False),
    ]


def test_crlf_split_across_reads_is_one_line_end():
    assert lines(LineFramer(), b"temp:1\r", b"\ntemp:2\r\n") == [
        (b"temp:1", False),
        (b"temp:2", False),
    ]


def test_partial_line_waits_for_its_end_and_keeps_first_byte_time():
    framer = LineFramer()
    assert framer.feed(b"tem", 10.0) == []
    assert framer.feed(b"p:21.5\n", 11.0) == [(10.0, b"temp:21.5", False)]


def test_overlong_line_is_cut_counted_and_rest_dropped_until_next_line():
    framer = LineFramer(max_line=8)
    got = lines(framer, b"0123456789abcdef", b"ghij\nok\n")
    assert got == [(b"01234567", True), (b"ok", False)]
    assert framer.cut_lines == 1


def test_binary_noise_without_newlines_never_grows_the_buffer():
    framer = LineFramer(max_line=64)
    for _ in range(1000):
        framer.feed(bytes(range(14, 256)) * 4, 0.0)
    assert len(framer._buf) <= 64


def test_undecodable_bytes_keep_raw_copy():
    text, raw = decode_line(b"temp:21.5\xb0C")
    assert text == "temp:21.5\ufffdC" and raw == b"temp:21.5\xb0C"
    assert decode_line("temp:21.5°C".encode()) == ("temp:21.5°C", None)


def test_port_at_baud_splits_per_source_baud():
    assert split_baud("/dev/ttyUSB0@9600", 115200) == ("/dev/ttyUSB0", 9600)
    assert split_baud("/dev/ttyUSB0", 115200) == ("/dev/ttyUSB0", 115200)
    assert split_baud("socket://localhost:7000", 115200) == ("socket://localhost:7000", 115200)
