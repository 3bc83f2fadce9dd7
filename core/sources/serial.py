"""Serial ports and pyserial URLs, read by one thread and reconnected after an unplug."""

from __future__ import annotations

import grp
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import serial

from sensorscope.errors import UserError
from sensorscope.model import Frame
from sensorscope.sources.base import DEFAULT_MAX_LINE, READ_TIMEOUT, LineFramer, Source, decode_line

DEFAULT_BAUD = 115200
BACKOFF_START = 0.5
BACKOFF_MAX = 5.0
# While an unplugged device's path is gone, how often to look for it to come back: a stat
# is cheap, and every interval spent asleep is data a USB board sends to nobody.
APPEAR_POLL = 0.025


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
        send_on_connect: bytes | None = None,
    ) -> None:
        super().__init__(name or serial_name(port))
        self.port = port
        self.baud = baud
        self.framer = LineFramer(max_line)
        self._ser: serial.SerialBase | None = None
        # Written by the reader thread between reads, so one thread owns the port; a send
        # waits at most one read timeout when the board is silent.
        self._tx: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.send_on_connect = send_on_connect

    writable = True

    def send(self, data: bytes) -> None:
        """Queue bytes for the board (any thread); they are written, recorded and shown as
        a ``tx`` frame by the reader."""
        self._tx.put(data)

    def _write_queued(self, ser: serial.SerialBase) -> list[Frame]:
        frames = []
        while True:
            try:
                data = self._tx.get_nowait()
            except queue.Empty:
                return frames
            ser.write(data)
            frames.append(Frame(time.time(), self.name, event="tx", raw=data))

    def _connected(self) -> list[Frame]:
        if self.send_on_connect:
            self.send(self.send_on_connect)
        return [Frame(time.time(), self.name, event="connect", detail=self.status.detail)]

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
        yield self._connected()
        first = True
        while not stop.is_set():
            ser = self._ser
            if ser is None:
                ser = self._reconnect(stop)
                if ser is None:
                    break
                first = True
                self.status.reconnects += 1
                yield self._connected()
            try:
                sent = self._write_queued(ser)
                if sent:
                    yield sent
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
