"""What a person types to send to a board, as the bytes that go down the wire.

The text may hold escapes, so a line of any bytes can be typed: ``\\xNN`` (a byte in hex),
``\\r``, ``\\n``, ``\\t``, ``\\0`` and ``\\\\``. The line ending (none, LF or CR LF) is added
after it. Anything else after a backslash is a mistake the sender is told about in one line,
never sent half-understood.
"""

from __future__ import annotations

import re

from sensorscope.errors import UserError
from sensorscope.model import LineEnding

__all__ = ["encode_send", "sent_text"]

_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[rnt0\\])|\\(x.{0,2}|.?)", re.DOTALL)
_SIMPLE = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\x00", "\\": b"\\"}


def encode_send(text: str, ending: LineEnding = LineEnding.LF) -> bytes:
    r"""The bytes ``text`` stands for, with the line ending.

    >>> encode_send("AT+RST"), encode_send(r"\x02go\x03", LineEnding.NONE)
    (b'AT+RST\n', b'\x02go\x03')
    >>> encode_send("rate 50", LineEnding.CRLF)
    b'rate 50\r\n'
    """
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        out += text[pos : m.start()].encode("utf-8")
        good, bad = m.group(1), m.group(2)
        if bad is not None:
            raise UserError(
                f"cannot send {text!r}: '\\{bad}' is no escape "
                "(\\xNN for a byte, \\r, \\n, \\t, \\0, \\\\ for a backslash)"
            )
        out += bytes([int(good[1:], 16)]) if good[0] == "x" else _SIMPLE[good]
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return bytes(out) + ending.bytes


def sent_text(data: bytes) -> str:
    r"""How sent bytes read in the raw pane and the recording: the text, with the bytes
    that are not printable ASCII written as escapes (so they can be typed again).

    >>> sent_text(b"AT+RST\r\n"), sent_text(b"\x02go\xff")
    ('AT+RST\\r\\n', '\\x02go\\xff')
    """
    out = []
    for b in data:
        if b == 0x5C:
            out.append("\\\\")
        elif 32 <= b < 127:
            out.append(chr(b))
        elif b in (10, 13, 9):
            out.append({10: "\\n", 13: "\\r", 9: "\\t"}[b])
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)
