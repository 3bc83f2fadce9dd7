"""A Board played on a Linux pty at its sample rate, unplugged and replugged the way a USB
serial board re-enumerates; and the body of ``sensorscope simulate``."""

from __future__ import annotations

import errno
import math
import os
import pty
import signal
import sys
import threading
import time
import tty
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from sensorscope.errors import UserError
from sensorscope.simulate.board import Board, Fault, write_labels


def _point_link(link: str, target: str) -> None:
    """Create or re-point ``link`` at ``target`` so a reader never sees it missing or half made."""
    if os.path.lexists(link) and not os.path.islink(link):
        raise FileExistsError(errno.EEXIST, "exists and is not a symlink", link)
    tmp = f"{link}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        os.unlink(tmp)
        raise


class PtyBoard:
    """Runs a Board on a pty: a thread writes lines at the rate; its port path is a pty slave
    or a symlink to it.

    ``t0`` is the wall time of sample 0. Lines the kernel cannot take (nobody reading, buffer
    full) are counted in ``dropped``; lines due while unplugged are never written, but time
    keeps going. ``outages`` lists (start, end) offsets in seconds, end None while unplugged.
    An error the writer thread hits (a failed replug, say) is kept in ``error``.
    """

    def __init__(
        self,
        board: Board,
        link: str | None = None,
        unplug_at: float | None = None,
        replug_after: float = 2.0,
        terminator: str = "\r\n",
    ) -> None:
        self.board = board
        self.link = link
        self.unplug_at = unplug_at
        self.replug_after = replug_after
        self.terminator = terminator
        self.t0 = 0.0
        self.stopped_at: float | None = None
        self.lines_written = 0
        # Header lines the port took, one per plug-in: not readings, so not in lines_written.
        self.headers_written = 0
        self.dropped = 0
        self.samples = 0
        self.replugs = 0
        self.unplugged = False
        self.outages: list[tuple[float, float | None]] = []
        self.error: OSError | None = None
        self.slave_path: str | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._pending = b""
        self._m0 = 0.0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        #: What the host wrote to the port (a monitor's send line), in order.
        self.received = bytearray()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> str:
        if self.link is not None:
            return self.link
        if self.slave_path is None:
            raise RuntimeError("PtyBoard not started")
        return self.slave_path

    def elapsed(self) -> float:
        """Seconds since sample 0 (frozen once stopped)."""
        end = self.stopped_at if self.stopped_at is not None else time.time()
        return end - self.t0

    def start(self) -> str:
        if self._thread is not None:
            raise RuntimeError("PtyBoard already started")
        self._plug()
        self._m0 = time.monotonic()
        self.t0 = time.time()
        self._thread = threading.Thread(target=self._run, name="sensorscope-simulator", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        with self._lock:
            if self.stopped_at is None and self._thread is not None:
                self.stopped_at = time.time()
            self._unlink()
            self._close()

    def __enter__(self) -> PtyBoard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def unplug(self) -> None:
        """Vanish like a pulled USB cable: readers get EIO and the by-id link disappears."""
        with self._lock:
            if self.unplugged or self._master is None:
                return
            self._unlink()
            self._close()
            self.unplugged = True
            self.outages.append((self._now(), None))

    def replug(self) -> None:
        """Come back on a new pty, as a re-enumerated USB device gets a new /dev node."""
        with self._lock:
            if not self.unplugged or self._stop.is_set():
                return
            self._plug()
            self.unplugged = False
            self.replugs += 1
            start, _ = self.outages[-1]
            self.outages[-1] = (start, self._now())

    def ground_truth(self) -> list[Fault]:
        """Anomalous faults that started while running, ends clipped to now (or the stop).

        Faults that began and ended while unplugged are left out: nobody could see them.
        """
        until = self.elapsed()
        faults = []
        for fault in self.board.faults_until(until):
            if fault.kind == "missing":
                continue
            end = min(fault.end, until)
            hidden = any(
                s <= fault.start and end <= (until if e is None else e) for s, e in self.outages
            )
            if not hidden:
                faults.append(Fault(fault.kind, fault.channel, fault.start, end))
        return faults

    def _now(self) -> float:
        return time.monotonic() - self._m0 if self._thread is not None else 0.0

    def _plug(self) -> None:
        master, slave = pty.openpty()
        try:
            # Raw: no echo of our own output back to us, no CR/LF rewriting of the terminator.
            tty.setraw(slave)
            os.set_blocking(master, False)
            path = os.ttyname(slave)
            if self.link is not None:
                _point_link(self.link, path)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        # The slave stays open on our side too, so the pty lives before a reader opens it and
        # between readers, like a board that is powered whether or not anyone listens.
        self._master, self._slave, self.slave_path = master, slave, path
        self._pending = b""
        header = self.board.header()
        if header is not None:
            self._write((header + self.terminator).encode(), count=False)

    def _close(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def _unlink(self) -> None:
        link = self.link
        if link is None or not os.path.islink(link):
            return
        # Only our own link: another simulator may have re-pointed it since.
        if os.readlink(link) == self.slave_path:
            os.unlink(link)

    def _write(self, data: bytes, count: bool = True) -> None:
        with self._lock:
            if self._master is None:
                return
            try:
                # Finish a line the kernel took only part of, so lines stay whole.
                if self._pending:
                    done = os.write(self._master, self._pending)
                    self._pending = self._pending[done:]
                    if self._pending:
                        self.dropped += count
                        return
                done = os.write(self._master, data)
            except BlockingIOError:
                self.dropped += count
                return
            except OSError as exc:
                self.error = exc
                self.dropped += count
                return
            if count:
                self.lines_written += 1
            else:
                self.headers_written += 1
            self._pending = data[done:]

    def _take_input(self) -> None:
        """Keep what the host wrote; a board that nobody reads from would fill the pty."""
        with self._lock:
            if self._master is None:
                return
            try:
                while data := os.read(self._master, 4096):
                    self.received += data
            except (BlockingIOError, OSError):
                pass

    def _run(self) -> None:
        rate = self.board.rate
        unplug_at = self.unplug_at
        replug_at: float | None = None
        i = 0
        while not self._stop.is_set():
            now = time.monotonic() - self._m0
            try:
                if unplug_at is not None and now >= unplug_at:
                    # From the scheduled time, not from when we noticed, so runs repeat.
                    replug_at = unplug_at + self.replug_after
                    unplug_at = None
                    self.unplug()
                if replug_at is not None and now >= replug_at:
                    replug_at = None
                    self.replug()
            except OSError as exc:
                self.error = exc
            # Sample i belongs at m0 + i/rate: deriving the due count from the clock, not
            # from sleeps, means late wake-ups are caught up and never accumulate as drift.
            due = math.floor(now * rate + 1e-9) + 1
            while i < due and not self._stop.is_set():
                if self.unplugged:
                    i = due
                    break
                line = self.board.line(i) + self.terminator
                self._write(line.encode())
                i += 1
            self.samples = i
            self._take_input()
            wake = i / rate
            for event in (unplug_at, replug_at):
                if event is not None:
                    wake = min(wake, event)
            timeout = wake - (time.monotonic() - self._m0)
            self._stop.wait(timeout=min(max(timeout, 0.0), 0.5))


def run_simulator(
    link: str | None = None,
    fmt: str = "plotter",
    rate: float = 10.0,
    channels: int = 4,
    seed: int = 0,
    unplug_at: float | None = None,
    replug_after: float = 2.0,
    duration: float | None = None,
    fault_every: float = 10.0,
    labels_path: str | None = None,
    out: Callable[[str], object] = print,
    first_fault: float = 10.0,
) -> int:
    """Serve a simulated board until ``duration`` or Ctrl-C/SIGTERM, then write its labels.

    Returns the exit status 0; raises UserError for an error the user caused (bad
    arguments, a link path that cannot be made).
    """
    try:
        board = Board(channels, rate, seed, fmt, fault_every, first_fault)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    sim = PtyBoard(board, link=link, unplug_at=unplug_at, replug_after=replug_after)
    done = threading.Event()
    previous: Callable[[int, FrameType | None], object] | int | None = None
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:

        def _on_term(signum: int, frame: FrameType | None) -> None:
            done.set()

        previous = signal.signal(signal.SIGTERM, _on_term)
    try:
        try:
            port = sim.start()
        except OSError as exc:
            raise UserError(f"cannot create the simulated port: {exc}") from None
        out(f"port: {port}")
        sys.stdout.flush()
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while not done.is_set():
                left = 0.25 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    break
                done.wait(timeout=min(left, 0.25))
        except KeyboardInterrupt:
            pass
    finally:
        sim.stop()
        if in_main:
            # getsignal() gives None for a handler not set from Python; SIG_DFL is closest.
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    if labels_path is None:
        labels_path = f"sim-{time.strftime('%Y%m%d-%H%M%S')}.labels.jsonl"
    if sim.error is not None:
        print(f"warning: simulator: {sim.error}", file=sys.stderr)
    try:
        count = write_labels(labels_path, sim.ground_truth(), sim.t0)
    except OSError as exc:
        raise UserError(f"cannot write labels to {labels_path}: {exc}") from None
    out(f"labels: {Path(labels_path)} ({count} faults)")
    # What the port took, so a reader's count can be checked against it line for line.
    out(
        f"sent: {sim.lines_written} lines + {sim.headers_written} headers, "
        f"{sim.dropped} dropped (port full)"
    )
    return 0
