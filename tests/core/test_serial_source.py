"""Serial sources on real ptys and sockets: lines, exclusivity, errors, unplug and replug."""

from __future__ import annotations

import os
import socket
import threading
import time
import tty

import pytest
import serial

from sensorscope.errors import UserError
from sensorscope.sources import SerialSource, make_source, open_error


class Pty:
    """A pseudo-terminal standing in for a USB serial board."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        os.close(self.master)
        os.close(self.slave)


class Collector:
    """Drives a source's batches in a thread, as the runner does."""

    def __init__(self, source) -> None:
        self.source = source
        self.frames = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for batch in self.source.batches(self.stop):
            self.frames.extend(batch)

    def lines(self):
        return [f.line for f in self.frames if f.event is None]

    def events(self):
        return [f.event for f in self.frames if f.event is not None]

    def wait_for(self, cond, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond(self):
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out; frames={self.frames!r}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive(), "reader thread ignored the stop request"


@pytest.fixture
def pty_dev():
    p = Pty()
    yield p
    for fd in (p.master, p.slave):
        try:
            os.close(fd)
        except OSError:
            pass


def test_reads_lines_from_a_pty_with_receive_times(pty_dev):
    src = SerialSource(pty_dev.path)
    src.open()
    col = Collector(src)
    try:
        before = time.time()
        pty_dev.write(b"temp:21.5\r\ntemp:21.6\r\n")
        col.wait_for(lambda c: len(c.lines()) == 2)
        assert col.lines() == ["temp:21.5", "temp:21.6"]
        line_frames = [f for f in col.frames if f.event is None]
        assert line_frames[0].first and not line_frames[1].first
        assert all(before - 1 <= f.t <= time.time() for f in line_frames)
        assert col.events() == ["connect"]
    finally:
        col.close()


def test_garbage_bytes_are_framed_and_kept_not_raised(pty_dev):
    src = SerialSource(pty_dev.path, max_line=64)
    src.open()
    col = Collector(src)
    try:
        pty_dev.write(b"ok\n\x00\xff\xfe\x80\x81garbage\n" + bytes(range(14, 256)) + b"\nafter:1\n")
        col.wait_for(lambda c: "after:1" in c.lines())
        raw = [f for f in col.frames if f.raw is not None]
        assert raw and raw[0].raw == b"\x00\xff\xfe\x80\x81garbage"
        assert any(f.cut for f in col.frames)
        assert src.status.cut == 1
    finally:
        col.close()


def test_second_reader_of_a_port_is_told_it_is_busy(pty_dev):
    first = SerialSource(pty_dev.path)
    first.open()
    try:
        with pytest.raises(UserError, match="port busy"):
            SerialSource(pty_dev.path).open()
    finally:
        first.close()


def test_missing_port_is_a_clear_error():
    with pytest.raises(UserError, match="no such port: /dev/ttyNOPE"):
        make_source("/dev/ttyNOPE").open()


def test_a_file_that_is_not_a_tty_is_not_a_serial_device():
    with pytest.raises(UserError, match="not a serial device: /dev/null"):
        make_source("/dev/null").open()


def test_permission_denied_says_which_group_grants_access(pty_dev):
    # Root opens any tty, so the error pyserial raises for an ordinary user is built here;
    # the group comes from the real device node.
    os.chown(pty_dev.path, 0, 5)
    exc = serial.SerialException(13, f"could not open port {pty_dev.path}: Permission denied")
    err = open_error(pty_dev.path, exc)
    assert str(err).startswith(f"permission denied on {pty_dev.path}: add yourself to the '")
    assert "usermod -aG" in str(err)


def test_unplug_then_replug_through_a_repointed_symlink_reconnects(tmp_path, pty_dev):
    link = tmp_path / "by-id-usb-board"
    link.symlink_to(pty_dev.path)
    src = SerialSource(str(link))
    src.open()
    col = Collector(src)
    second = None
    try:
        pty_dev.write(b"a:1\n")
        col.wait_for(lambda c: c.lines() == ["a:1"])
        pty_dev.unplug()
        col.wait_for(lambda c: "disconnect" in c.events())
        assert src.status.state == "reconnecting"
        second = Pty()
        tmp = tmp_path / "tmp-link"
        tmp.symlink_to(second.path)
        os.replace(tmp, link)
        col.wait_for(lambda c: c.events().count("connect") == 2)
        second.write(b"a:2\n")
        col.wait_for(lambda c: "a:2" in c.lines())
        assert src.status.reconnects == 1
        assert src.status.state == "connected"
        assert src.status.detail == second.path
    finally:
        col.close()
        if second is not None:
            second.unplug()


def test_reconnect_backs_off_while_the_device_is_gone(tmp_path, pty_dev):
    link = tmp_path / "board"
    link.symlink_to(pty_dev.path)
    src = SerialSource(str(link))
    src.open()
    col = Collector(src)
    try:
        pty_dev.unplug()
        link.unlink()
        col.wait_for(lambda c: "disconnect" in c.events())
        time.sleep(1.2)
        assert src.status.state == "reconnecting"
        assert "no such port" in src.status.detail
    finally:
        col.close()


def test_socket_url_is_a_source(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    src = make_source(f"socket://127.0.0.1:{port}")
    src.open()
    conn, _ = server.accept()
    col = Collector(src)
    try:
        conn.sendall(b"junk-partial\ntemp=1\r\ntemp=2\r\n")
        col.wait_for(lambda c: "temp=2" in c.lines())
        assert src.name == "127.0.0.1:7000".replace("7000", str(port))
    finally:
        col.close()
        conn.close()
        server.close()


def test_loop_url_reads_back_what_is_written():
    src = make_source("loop://")
    src.open()
    src._ser.write(b"x:1\nx:2\n")
    col = Collector(src)
    try:
        col.wait_for(lambda c: c.lines() == ["x:1", "x:2"])
    finally:
        col.close()


def test_lines_a_board_printed_before_the_port_opened_are_kept(pty_dev):
    """A CSV header printed before the monitor opened the port names its channels."""
    pty_dev.write(b"temp,hum\r\n21.5,40\r\n")
    src = SerialSource(pty_dev.path)
    src.open()
    col = Collector(src)
    try:
        pty_dev.write(b"21.6,41\r\n")
        col.wait_for(lambda c: "21.6,41" in c.lines())
        assert col.lines()[:3] == ["temp,hum", "21.5,40", "21.6,41"]
    finally:
        col.close()
