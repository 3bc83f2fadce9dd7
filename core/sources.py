"""Sources: serial ports and pyserial URLs, recordings, CSV series and stdin.

Every source turns its input into :class:`Frame` batches: one frame per received line (raw
text, never parsed here) plus connect/disconnect events. Live and replayed sources share
this one shape so that a replay runs exactly the parser and detector a live run does.

A source is driven by calling :meth:`Source.batches` with a stop event; a live runner does
that in one thread per source, a headless file scorer may do it in the main thread.
"""

from __future__ import annotations

import csv
import grp
import os
import re
import select
import stat
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import serial

from sensorscope.errors import UserError

DEFAULT_BAUD = 115200
DEFAULT_MAX_LINE = 4096
# Reads block at most this long so a stop request is seen promptly.
READ_TIMEOUT = 0.2
BACKOFF_START = 0.5
BACKOFF_MAX = 5.0
# While an unplugged device's path is gone, how often to look for it to come back: a stat
# is cheap, and every interval spent asleep is data a USB board sends to nobody.
APPEAR_POLL = 0.025
# How many frames a file replay hands over at once when it need not wait between lines.
FILE_BATCH = 2048


@dataclass(slots=True)
class Frame:
    """One received line (or a connection event) from one source.

    ``t`` is the receive time of the line's first byte (UTC epoch seconds). ``line`` is the
    text with its terminator removed; when the bytes were not valid UTF-8 it was decoded with
    replacement characters and ``raw`` keeps the original bytes for the recording.
    """

    t: float
    src: str
    line: str | None = None
    raw: bytes | None = None
    event: str | None = None
    detail: str = ""
    cut: bool = False
    first: bool = False


@dataclass
class SourceStatus:
    """What a UI shows about a source; written by its reader thread only."""

    name: str
    kind: str
    state: str = "starting"  # connected | reconnecting | eof | stopped | error
    detail: str = ""
    reconnects: int = 0
    lines: int = 0
    cut: int = 0
    position: float = 0.0  # replay: fraction of the file done
    replay_t: float | None = None


def decode_line(data: bytes) -> tuple[str, bytes | None]:
    """Decode a framed line; keep the bytes when they are not UTF-8 so nothing is lost."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), data


class LineFramer:
    """Splits a byte stream into lines on LF, CRLF or CR, with a cap on line length.

    A line longer than ``max_line`` is emitted cut at the cap (``cut=True``) and the rest of
    it, up to the next terminator, is dropped: without a cap a device spewing binary noise
    with no newline would grow the buffer forever.
    """

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._t_first: float | None = None
        self._skip_lf = False
        self._discarding = False
        self.cut_lines = 0

    def reset(self) -> None:
        self._buf.clear()
        self._t_first = None
        self._skip_lf = False
        self._discarding = False

    def feed(self, data: bytes, t: float) -> list[tuple[float, bytes, bool]]:
        """Return ``(t_first_byte, line, cut)`` for every line completed by ``data``."""
        out: list[tuple[float, bytes, bool]] = []
        if self._skip_lf and data[:1] == b"\n":
            data = data[1:]
        self._skip_lf = False
        if not data:
            return out
        parts = data.splitlines(keepends=True)
        for part in parts:
            if part.endswith(b"\r\n"):
                body, done = part[:-2], True
            elif part.endswith((b"\n", b"\r")):
                body, done = part[:-1], True
            else:
                body, done = part, False
            if self._discarding:
                if done:
                    self._discarding = False
                continue
            if self._t_first is None:
                self._t_first = t
            self._buf += body
            if len(self._buf) > self.max_line:
                out.append((self._t_first, bytes(self._buf[: self.max_line]), True))
                self.cut_lines += 1
                self._buf.clear()
                self._t_first = None
                self._discarding = not done
                continue
            if done:
                out.append((self._t_first, bytes(self._buf), False))
                self._buf.clear()
                self._t_first = None
        # A CR at the end of a read may be the first half of a CRLF split across reads.
        if data.endswith(b"\r"):
            self._skip_lf = True
        return out


class Source:
    """Base of all sources: a name, a status and a generator of frame batches."""

    kind = "source"
    live = True
    # True when reading later loses nothing: the input waits for the reader (a file on
    # disk, a pipe whose writer is then held back). A reader of such a source waits while
    # scoring is behind; a serial port or a broker would drop what is not read in time.
    can_wait = False
    # Set when the source knows how its lines must be parsed (a CSV file's header).
    parser_args: dict | None = None

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = SourceStatus(name=name, kind=self.kind)

    @property
    def names(self) -> list[str]:
        """Source names this source will emit (a recording may hold several)."""
        return [self.name]

    def open(self) -> None:
        """Check the source can be used at all; raise UserError with one clear line if not."""

    def batches(self, stop: threading.Event) -> Iterator[list[Frame]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the underlying device or file."""


# --------------------------------------------------------------------------- serial


def serial_name(spec: str) -> str:
    """A short source name for a port path or URL (``/dev/ttyACM0`` -> ``ttyACM0``)."""
    if "://" in spec:
        rest = spec.split("://", 1)[1].rstrip("/")
        return rest.split("?", 1)[0] or spec.split("://", 1)[0]
    return Path(spec).name


def split_baud(spec: str, default: int) -> tuple[str, int]:
    """``/dev/ttyUSB0@9600`` -> (``/dev/ttyUSB0``, 9600)."""
    m = re.fullmatch(r"(.+)@(\d+)", spec)
    if m and "://" not in spec.split("@")[-1]:
        return m.group(1), int(m.group(2))
    return spec, default


def _group_hint(path: str) -> str:
    try:
        gid = os.stat(path).st_gid
        group = grp.getgrgid(gid).gr_name
    except (OSError, KeyError):
        group = "dialout"
    return (
        f"add yourself to the '{group}' group (sudo usermod -aG {group} $USER, then log in again)"
    )


def open_error(port: str, exc: BaseException) -> UserError:
    """Translate what opening a port raised into one line a user can act on."""
    text = str(exc)
    errno = getattr(exc, "errno", None)
    if isinstance(exc, FileNotFoundError) or errno == 2 or "No such file" in text:
        return UserError(f"no such port: {port} (see `sensorscope ports`)")
    if isinstance(exc, PermissionError) or errno == 13 or "Permission denied" in text:
        return UserError(f"permission denied on {port}: {_group_hint(port)}")
    if "exclusively lock" in text or errno == 11:
        return UserError(f"port busy: {port} is already open in another program")
    if "Inappropriate ioctl" in text or errno == 25:
        return UserError(f"not a serial device: {port}")
    if isinstance(exc, ValueError):
        return UserError(f"cannot open {port}: {text}")
    return UserError(f"cannot open {port}: {text}")


class _KeepingSerial(serial.Serial):
    """A posix port that keeps what the tty already holds when it is opened.

    pyserial flushes the input queue on open; the lines a board printed just before (a CSV
    header, the first readings) would be thrown away.
    """

    _opening = False

    def open(self) -> None:
        self._opening = True
        try:
            super().open()
        finally:
            self._opening = False

    def _reset_input_buffer(self) -> None:
        if not self._opening:
            super()._reset_input_buffer()


class SerialSource(Source):
    """A serial port or pyserial URL, read by one thread, reconnecting after an unplug."""

    kind = "serial"

    def __init__(
        self,
        port: str,
        baud: int = DEFAULT_BAUD,
        name: str | None = None,
        max_line: int = DEFAULT_MAX_LINE,
    ) -> None:
        super().__init__(name or serial_name(port))
        self.port = port
        self.baud = baud
        self.framer = LineFramer(max_line)
        self._ser: serial.SerialBase | None = None

    def _connect(self) -> serial.SerialBase:
        if "://" not in self.port and hasattr(serial.Serial, "_reset_input_buffer"):
            ser = _KeepingSerial(None, baudrate=self.baud, timeout=READ_TIMEOUT, exclusive=True)
            ser.port = self.port
            ser.open()
            return ser
        ser = serial.serial_for_url(
            self.port,
            baudrate=self.baud,
            timeout=READ_TIMEOUT,
            exclusive=True,
            do_not_open=True,
        )
        ser.open()
        return ser

    def open(self) -> None:
        if self._ser is not None:
            return
        try:
            self._ser = self._connect()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise open_error(self.port, exc) from None
        self.status.state = "connected"
        self.status.detail = self._resolved()

    def _resolved(self) -> str:
        if "://" in self.port:
            return self.port
        return os.path.realpath(self.port)

    def close(self) -> None:
        if self._ser is not None:
            try:
                self._ser.close()
            except (serial.SerialException, OSError):
                pass  # closing a vanished device can fail; it is gone either way
            self._ser = None

    def batches(self, stop: threading.Event) -> Iterator[list[Frame]]:
        if self._ser is None:
            self.open()
        yield [Frame(time.time(), self.name, event="connect", detail=self.status.detail)]
        first = True
        while not stop.is_set():
            ser = self._ser
            if ser is None:
                ser = self._reconnect(stop)
                if ser is None:
                    break
                first = True
                self.status.reconnects += 1
                yield [Frame(time.time(), self.name, event="connect", detail=self.status.detail)]
            try:
                data = ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError, TypeError) as exc:
                # An unplugged USB device reports readiness with no data (pyserial raises
                # SerialException); that is a state to recover from, not a crash.
                self.close()
                self.framer.reset()
                self.status.state = "reconnecting"
                self.status.detail = str(exc) or type(exc).__name__
                yield [Frame(time.time(), self.name, event="disconnect", detail=self.status.detail)]
                continue
            if not data:
                continue
            now = time.time()
            frames = []
            for t, body, cut in self.framer.feed(data, now):
                text, raw = decode_line(body)
                frames.append(Frame(t, self.name, text, raw, cut=cut, first=first))
                first = False
            if frames:
                self.status.lines += len(frames)
                self.status.cut = self.framer.cut_lines
                yield frames
        self.close()
        self.status.state = "stopped"

    def _reconnect(self, stop: threading.Event) -> serial.SerialBase | None:
        delay = BACKOFF_START
        wait = BACKOFF_START
        path = None if "://" in self.port else self.port
        while not stop.is_set():
            if path is not None:
                # Open as soon as the device node (or its by-id link) is back; the back-off
                # is for a path that exists but will not open (busy, permissions).
                while not os.path.exists(path):
                    self.status.detail = f"retrying: {open_error(path, FileNotFoundError())}"
                    if stop.wait(APPEAR_POLL):
                        return None
                    wait = 0.0
            if wait and stop.wait(wait):
                return None
            try:
                self._ser = self._connect()
            except (serial.SerialException, OSError, ValueError) as exc:
                self.status.detail = f"retrying: {open_error(self.port, exc)}"
                wait = delay
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self.status.state = "connected"
            self.status.detail = self._resolved()
            return self._ser
        return None


# --------------------------------------------------------------------------- stdin


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


# --------------------------------------------------------------------------- replays


class Pacer:
    """Replay clock and controls: speed (None = max), pause, seek and restart.

    The replaying thread calls :meth:`wait` before each frame; the UI thread calls the
    controls. The clock maps data time to wall time from an anchor ``(data t, monotonic
    t)``; every control re-anchors it under one lock, at the data time it has reached, so
    a change of speed or a pause neither skips nor repeats a stretch of the recording. Each
    pass over the file (the first, a restart, a loop) anchors it anew at its first frame.

    A seek forward fast-forwards (frames still flow, unpaced, so every detector sees every
    sample); a seek back or a restart replays from the start up to the target, since
    detector state cannot be rewound. Seeks add up: a seek asked for before the replay has
    reached the previous one's target moves that target, not the position shown.
    """

    def __init__(self, speed: float | None) -> None:
        self.speed = speed
        self.paused = False
        # The position: data time of the last frame let through, or of a seek target reached.
        self.t: float | None = None
        self._origin: tuple[float, float] | None = None  # (data t, monotonic t)
        self._ff_until: float | None = None  # pending seek target
        self._restart = False
        # No frame of this pass let through yet: ``t`` is still where the last pass was.
        self._fresh = True
        self._lock = threading.Lock()

    # -- the clock (under the lock) ----------------------------------------------------

    def _reanchor(self) -> None:
        """Anchor the clock at the data time it has reached, from now on (a paused clock
        stands still at its anchor). Without an anchor (max speed, a fast-forward, nothing
        let through yet) the next frame makes one."""
        if self._origin is None or self.speed is None or self._ff_until is not None:
            self._origin = None
            return
        t0, m0 = self._origin
        now = time.monotonic()
        self._origin = (t0 if self.paused else t0 + (now - m0) * self.speed, now)

    # -- controls (any thread) -------------------------------------------------------

    def set_speed(self, speed: float | None) -> None:
        with self._lock:
            self._reanchor()
            self.speed = speed

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            self._reanchor()
            self.paused = paused

    def seek(self, seconds: float) -> None:
        with self._lock:
            if self.t is None:
                return
            # From the target of a seek not yet reached, so that quick presses add up.
            base = self._ff_until if self._ff_until is not None else self.t
            target = base + seconds
            if target < self.t and not self._fresh:
                # Behind what was let through: only a replay from the start gets there.
                self._restart = True
            self._ff_until = target
            self._origin = None

    def restart(self) -> None:
        with self._lock:
            self._restart = True
            self._ff_until = None
            self._origin = None

    # -- the replaying thread -----------------------------------------------------------

    def take_restart(self) -> bool:
        with self._lock:
            if self._restart:
                self._restart = False
                return True
            return False

    def rewind(self, asked: bool) -> None:
        """The replay starts again from its first frame, which anchors the clock anew.

        ``asked``: a restart or seek back was asked for, whose target (if any) still
        stands. Otherwise the replay reached its end and loops: a seek forward not reached
        by then was past the end, and would skip the whole of the next pass.
        """
        with self._lock:
            self._origin = None
            self._fresh = True
            if not asked and not self._restart:
                self._ff_until = None

    def at_end(self) -> None:
        """The replay holds at its end: a seek forward can go nowhere and is dropped, so a
        seek back after it counts from the end."""
        with self._lock:
            if not self._restart:
                self._ff_until = None

    def unhindered(self, stop: threading.Event) -> bool:
        """True when a whole batch may go through without a look at each frame: max speed,
        not paused, and no seek, restart or stop asked for."""
        return (
            self.speed is None
            and not self.paused
            and self._ff_until is None
            and not self._restart
            and not stop.is_set()
        )

    def passed(self, t: float) -> None:
        """Frames up to data time ``t`` went through unhindered."""
        with self._lock:
            self.t = t
            self._fresh = False

    @property
    def realtime(self) -> bool:
        """True when frames must be paced one by one (not max speed, not fast-forwarding)."""
        return self.speed is not None and self._ff_until is None

    def wait(self, t: float, stop: threading.Event) -> bool:
        """Wait until data time ``t`` is due; False if stopped or a restart is asked for."""
        while True:
            if stop.is_set() or self._restart:
                return False
            with self._lock:
                if self._fresh and self._ff_until is None:
                    # A new pass stands at its first frame (paused, after a restart).
                    self.t = t
                if self._ff_until is not None:
                    if t < self._ff_until:
                        self.t = t
                        self._fresh = False
                        return True
                    # The replay stands at the target now, even paused (at its first
                    # frame for a target before that), so the next seek counts from there.
                    self.t = t if self._fresh else self._ff_until
                    self._ff_until = None
                    self._origin = None
                if self.paused:
                    due = None
                elif self.speed is None:
                    self.t = t
                    self._fresh = False
                    return True
                else:
                    now = time.monotonic()
                    if self._origin is None:
                        self._origin = (t, now)
                    due = self._origin[1] + (t - self._origin[0]) / self.speed
                    if due <= now:
                        self.t = t
                        self._fresh = False
                        return True
            delay = READ_TIMEOUT if due is None else min(due - time.monotonic(), READ_TIMEOUT)
            if delay > 0:
                stop.wait(delay)


class ReplaySource(Source):
    """A file replayed through the same path as a live source, with replay controls."""

    live = False
    can_wait = True

    def __init__(self, name: str, path: str, speed: float | None, loop: bool = False) -> None:
        super().__init__(name)
        self.path = path
        self.pacer = Pacer(speed)
        self.loop = loop
        # An interactive monitor keeps a finished replay open for a seek back or a restart;
        # a headless scorer wants it to end.
        self.hold_at_end = False
        self.offset = 0
        self._size = 1

    def chunks(self) -> Iterator[tuple[list[Frame], int]]:
        """Every frame of the file from the start, in lists, each with how many of its
        frames are lines (not events); ``self.offset`` is at the end of each list's bytes."""
        raise NotImplementedError

    def batches(self, stop: threading.Event) -> Iterator[list[Frame]]:
        self.status.state = "connected"
        self._size = max(1, os.path.getsize(self.path))
        pacer = self.pacer
        while True:
            restarted = False
            batch: list[Frame] = []
            start = 0
            for chunk, lines in self.chunks():
                end = self.offset
                if pacer.unhindered(stop):
                    # At max speed with nothing asked of the replay, whole chunks go into
                    # batches of FILE_BATCH; a pause, seek or restart is seen at the next.
                    pacer.passed(chunk[-1].t)
                    self.status.lines += lines
                    batch += chunk
                    while len(batch) >= FILE_BATCH:
                        out, batch = batch[:FILE_BATCH], batch[FILE_BATCH:]
                        self._progress(out[-1])
                        yield out
                    start = end
                    continue
                n = len(chunk)
                stopped = False
                for i, frame in enumerate(chunk):
                    # Frame by frame, the read position is interpolated within the chunk.
                    self.offset = start + (end - start) * (i + 1) // n
                    if frame.event is None:
                        self.status.lines += 1
                    if pacer.realtime:
                        if batch:
                            yield batch
                            batch = []
                        if not pacer.wait(frame.t, stop):
                            restarted = pacer.take_restart()
                            stopped = True
                            break
                        self._progress(frame)
                        yield [frame]
                        continue
                    if not pacer.wait(frame.t, stop):
                        restarted = pacer.take_restart()
                        stopped = True
                        break
                    batch.append(frame)
                    if len(batch) >= FILE_BATCH:
                        self._progress(frame)
                        yield batch
                        batch = []
                if stopped:
                    break
                self.offset = start = end
            if batch:
                self._progress(batch[-1])
                yield batch
            if stop.is_set():
                break
            # A restart (or seek back) asked for as the last frame went through counts too.
            asked = restarted or pacer.take_restart()
            if not asked and not self.loop:
                self.status.position = 1.0
                self.status.state = "eof"
                while self.hold_at_end and not stop.wait(READ_TIMEOUT):
                    pacer.at_end()
                    if pacer.take_restart():
                        asked = True
                        break
                if not asked:
                    break
            # Every pass is paced by its own time stamps from its first frame on: the
            # clock of the pass before would find them all overdue and let them race.
            pacer.rewind(asked)
            self.status.state = "connected"
            self.status.lines = 0
            yield [Frame(pacer.t or 0.0, self.name, event="reset", detail="replay restarted")]
        if self.status.state != "eof":
            self.status.state = "stopped"

    def _progress(self, frame: Frame) -> None:
        self.status.position = min(1.0, self.offset / self._size)
        self.status.replay_t = frame.t


class RecordingSource(ReplaySource):
    """A sensorscope JSONL recording, replayed line by line through the same parser."""

    kind = "recording"

    def __init__(self, path: str, speed: float | None = None, loop: bool = False) -> None:
        from sensorscope.recording import read_header

        self.header = read_header(path)
        srcs = list(self.header.get("sources", {}) or {})
        super().__init__(srcs[0] if len(srcs) == 1 else Path(path).stem, path, speed, loop)
        self._names = srcs or [self.name]
        self.skipped = 0

    @property
    def names(self) -> list[str]:
        return self._names

    def chunks(self) -> Iterator[tuple[list[Frame], int]]:
        from sensorscope.recording import RecordingReader

        reader = RecordingReader(self.path)
        for frames, lines in reader.chunks():
            self.offset = reader.offset
            self.skipped = reader.skipped
            yield frames, lines
        self.skipped = reader.skipped


class FollowSource(Source):
    """A recording that another process is still writing, tailed like ``tail -f``.

    Reads what is there at once, then waits for more; a line is taken only once its
    newline is on disk, so a line being written is never read torn.
    """

    kind = "follow"
    live = True
    can_wait = True

    def __init__(self, path: str) -> None:
        from sensorscope.recording import read_header

        self.header = read_header(path)
        srcs = list(self.header.get("sources", {}) or {})
        super().__init__(srcs[0] if len(srcs) == 1 else Path(path).stem)
        self._names = srcs or [self.name]
        self.path = path
        self.skipped = 0

    @property
    def names(self) -> list[str]:
        return self._names

    def batches(self, stop: threading.Event) -> Iterator[list[Frame]]:
        from sensorscope.recording import decode_record

        self.status.state = "connected"
        with open(self.path, "rb") as fh:
            fh.readline()
            pending = b""
            while not stop.is_set():
                chunk = fh.read(1 << 20)
                if not chunk:
                    self.status.state = "following"
                    stop.wait(READ_TIMEOUT)
                    continue
                data = pending + chunk
                cut = data.rfind(b"\n") + 1
                pending = data[cut:]
                frames = []
                for raw in data[:cut].splitlines():
                    frame = decode_record(raw)
                    if frame is None:
                        self.skipped += raw.strip() != b""
                        continue
                    frames.append(frame)
                if frames:
                    self.status.lines += sum(f.event is None for f in frames)
                    self.status.replay_t = frames[-1].t
                    yield frames
        self.status.state = "stopped"


TIME_COLUMNS = ("timestamp", "time", "t", "ts", "date", "datetime")


class CsvSource(ReplaySource):
    """A CSV series: NAB layout (``timestamp,value``) or wide CSV with a time column.

    Rows go through the csv line parser like any device line; the time column becomes the
    reading's time, so scores and alerts carry the series' own timestamps.
    """

    kind = "csv"

    def __init__(self, path: str, speed: float | None = None, loop: bool = False) -> None:
        super().__init__(Path(path).stem, path, speed, loop)
        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                first = fh.readline()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {path}: {exc}") from None
        self.columns = next(csv.reader([first]), [])
        if not self.columns:
            raise UserError(f"{path}: empty CSV file")
        lowered = [c.strip().lower() for c in self.columns]
        self.time_index = next((i for i, c in enumerate(lowered) if c in TIME_COLUMNS), None)
        if self.time_index is None:
            raise UserError(
                f"{path}: no time column (expected one of {', '.join(TIME_COLUMNS)} in the header)"
            )
        self.parser_args = {"fmt": "csv", "header": [c.strip() for c in self.columns]}

    def chunks(self) -> Iterator[tuple[list[Frame], int]]:
        from sensorscope.recording import line_blocks

        last_t = 0.0
        with open(self.path, "rb") as fh:
            self.offset = len(fh.readline())
            for block in line_blocks(fh):
                frames, last_t = self._rows(block, last_t)
                self.offset += len(block)
                if frames:
                    yield frames, len(frames)

    def _rows(self, block: bytes, last_t: float) -> tuple[list[Frame], float]:
        """Frames of the rows in ``block`` (whole lines); a row with a bad time keeps its
        place in the series at the last good time."""
        from sensorscope.parse import parse_times

        rows: list[tuple[str, bytes | None]]
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            rows = [decode_line(x.rstrip(b"\r")) for x in block.split(b"\n")]
        else:
            cr = "\r" in text
            rows = [(x.rstrip("\r") if cr else x, None) for x in text.split("\n")]
        rows = [r for r in rows if r[0] and not r[0].isspace()]
        ti = self.time_index
        if ti == 0:
            stamps = [x.partition(",")[0] for x, _raw in rows]
        else:
            stamps = [x.split(",")[ti] if x.count(",") >= ti else "" for x, _raw in rows]
        name = self.name
        frames = []
        append = frames.append
        for (text, raw), t in zip(rows, parse_times(stamps), strict=True):
            if t is not None:
                last_t = t
            append(Frame(last_t, name, text, raw))
        return frames, last_t


# --------------------------------------------------------------------------- choosing


def several_sources(names: Sequence[str]) -> bool:
    """True when channels need their source's name in front of them: several sources, or
    one that stands for many (an MQTT topic filter with a wildcard, each topic a source).

    >>> several_sources(["ttyACM0"]), several_sources(["a", "b"]), several_sources(["mqtt:lab/#"])
    (False, True, True)
    """
    if len(set(names)) > 1:
        return True
    return any(n.startswith(("mqtt:", "mqtts:")) and ("#" in n or "+" in n) for n in names)


def describe_sources(sources: Sequence[Source]) -> dict[str, dict[str, Any]]:
    """What a recording's header says about its sources."""
    out: dict[str, dict[str, Any]] = {}
    for s in sources:
        info: dict[str, Any] = {"kind": s.kind}
        if isinstance(s, SerialSource):
            info.update(port=s.port, baud=s.baud)
        elif isinstance(getattr(s, "url", None), str):
            info.update(url=s.url)
        elif hasattr(s, "path"):
            info.update(path=s.path)
        for name in s.names:
            out[name] = info
    return out


def is_serial_spec(spec: str) -> bool:
    if "://" in spec:
        return True
    path = spec.split("@")[0]
    return path.startswith("/dev/") or path.upper().startswith("COM")


def make_source(
    spec: str,
    *,
    baud: int = DEFAULT_BAUD,
    speed: float | None = None,
    max_line: int = DEFAULT_MAX_LINE,
    follow: bool = False,
    loop: bool = False,
    mqtt: Any = None,
    stdin: int | None = None,
) -> Source:
    """Build the source a command-line argument names.

    ``-`` is stdin; ``*.csv`` a CSV series; a file that starts like a sensorscope recording is
    replayed (or tailed with ``follow``); ``mqtt://`` and ``mqtts://`` URLs subscribe to a
    broker (``mqtt`` holds credentials and TLS files, a :class:`sensorscope.mqtt.MqttOptions`);
    ``stdin`` is the descriptor ``-`` reads when not 0 (see :func:`keys_from_terminal`);
    device paths and other URLs (``socket://``, ``rfc2217://``, ``loop://``) are serial.
    """
    if spec == "-":
        return StdinSource(stream=stdin, max_line=max_line)
    if spec.lower().startswith(("mqtt://", "mqtts://")):
        from sensorscope.mqtt import MqttSource, parse_url

        return MqttSource(parse_url(spec, topic="filter"), mqtt, max_line=max_line)
    if is_serial_spec(spec):
        port, port_baud = split_baud(spec, baud)
        if "://" in port or not os.path.isfile(port):
            return SerialSource(port, port_baud, max_line=max_line)
    if not os.path.exists(spec):
        raise UserError(f"no such file or port: {spec}")
    if os.path.isdir(spec):
        raise UserError(f"{spec} is a directory, not a recording or port")
    if not os.access(spec, os.R_OK):
        raise UserError(f"permission denied: cannot read {spec}")
    if spec.lower().endswith(".csv"):
        if follow:
            raise UserError(f"{spec}: --follow tails recordings (.jsonl), not CSV files")
        return CsvSource(spec, speed, loop)
    if spec.lower().endswith((".jsonl", ".json")):
        return FollowSource(spec) if follow else RecordingSource(spec, speed, loop)
    # Character devices that are not under /dev (a symlink like ./board -> /dev/pts/3).
    if stat.S_ISCHR(os.stat(spec).st_mode):
        port, port_baud = split_baud(spec, baud)
        return SerialSource(port, port_baud, max_line=max_line)
    return FollowSource(spec) if follow else RecordingSource(spec, speed, loop)


__all__ = [
    "Frame",
    "LineFramer",
    "Source",
    "SourceStatus",
    "SerialSource",
    "StdinSource",
    "RecordingSource",
    "FollowSource",
    "CsvSource",
    "make_source",
    "keys_from_terminal",
]
