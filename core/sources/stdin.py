"""Lines piped in on standard input, and handing the terminal back to a UI's keys."""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from sensorscope.errors import UserError
from sensorscope.model import Frame
from sensorscope.sources.base import DEFAULT_MAX_LINE, READ_TIMEOUT, LineFramer, Source, decode_line


class StdinSource(Source):
    """Lines piped in on standard input (``ssh pi cat /dev/ttyACM0 | sensorscope score -``)."""

    kind = "stdin"
    live = True
    can_wait = True

    def __init__(
        self, name: str = "stdin", stream: Any = None, max_line: int = DEFAULT_MAX_LINE
    ) -> None:
        super().__init__(name)
        # A file object or a file descriptor; standard input when None.
        self._stream = stream
        self.framer = LineFramer(max_line)

    def _fd(self) -> int:
        if isinstance(self._stream, int):
            return self._stream
        stream = self._stream if self._stream is not None else sys.stdin.buffer
        return stream.fileno()

    def batches(self, stop: threading.Event) -> Iterator[list[Frame]]:
        self.status.state = "connected"
        fd = self._fd()
        while not stop.is_set():
            # Wait with a timeout so a stop request is seen even when the pipe is idle; then
            # take whatever is there so a slow pipe is seen line by line.
            try:
                ready, _, _ = select.select([fd], [], [], READ_TIMEOUT)
                if not ready:
                    continue
                data = os.read(fd, 65536)
            except OSError as exc:
                self.status.state = "error"
                self.status.detail = str(exc)
                break
            if not data:
                break
            frames = []
            for t, body, cut in self.framer.feed(data, time.time()):
                text, raw = decode_line(body)
                frames.append(Frame(t, self.name, text, raw, cut=cut))
            if frames:
                self.status.lines += len(frames)
                yield frames
        # A last line without a terminator still counts.
        rest = self.framer.feed(b"\n", time.time()) if not stop.is_set() else []
        frames = [Frame(t, self.name, *decode_line(b), cut=c) for t, b, c in rest if b]
        if frames:
            yield frames
        self.status.state = "eof"


def keys_from_terminal() -> int:
    """Standard input carries the data: move it to a descriptor of its own and put the
    controlling terminal on descriptor 0, as ``less`` and ``fzf`` do; return the data's.

    A full-screen UI reads its keys from descriptor 0. Left on the pipe, it and the stdin
    reader would each take a share of the bytes: lines torn apart and lost, keys never
    seen. After the swap the terminal's bytes (keys, escape sequences) reach only the UI
    and the pipe's only the reader, so neither can be merged into the other.
    """
    if os.isatty(0):
        raise UserError(
            "'-' reads the data from standard input, which is the terminal here: "
            "pipe the data in (producer | sensorscope watch -)"
        )
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise UserError(
            "watch -: no terminal to read keys from (standard input is the data); "
            "run it in a terminal, or score headless with `sensorscope score -`"
        ) from None
    data = os.dup(0)
    os.dup2(tty, 0)
    os.close(tty)
    # sys.stdin and sys.__stdin__ stay the objects they were: they wrap descriptor 0, so
    # they now ask the terminal (isatty, fileno), and nothing has read from them yet, so
    # no data is left in their buffers. (Replacing them would let the old object close
    # descriptor 0 when it is collected.)
    return data
