"""A virtual sensor board: seeded readings with injected faults, served on a pseudo-terminal.

`Board` is the pure part (sample index -> text line, plus the fault schedule that is the
ground truth). `PtyBoard` plays a Board on a Linux pty at its sample rate, and can be
unplugged and replugged the way a USB serial board re-enumerates. `run_simulator` is the
body of ``sensorscope simulate``.
"""

from __future__ import annotations

import errno
import json
import math
import os
import pty
import random
import signal
import sys
import threading
import time
import tty
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from sensorscope.errors import UserError
from sensorscope.labels import append_labels
from sensorscope.model import Label, LabelKind

FAULT_KINDS = ("spike", "stuck", "drift", "noise", "missing")
FORMATS = ("plotter", "kv", "csv", "json")


@dataclass(frozen=True)
class _Channel:
    baseline: float
    wander: float  # peak slow deviation from the baseline
    noise: float  # standard deviation of the sample-to-sample noise
    floor: float | None = None  # physical lower bound (a vibration level is never negative)
    up_only: bool = False  # excursions below a floor-hugging baseline would just clip

    @property
    def span(self) -> float:
        """Half-width of the band the normal signal stays in."""
        return self.wander + 3.0 * self.noise

    @property
    def typical(self) -> float:
        """Typical deviation of the normal signal from its baseline."""
        return 0.5 * self.wander + self.noise


_CHANNELS: dict[str, _Channel] = {
    "temp": _Channel(21.5, 0.3, 0.05),
    "hum": _Channel(40.2, 1.0, 0.2),
    "pressure": _Channel(1013.0, 0.5, 0.08),
    "light": _Channel(300.0, 25.0, 4.0, floor=0.0),
    "co2": _Channel(420.0, 15.0, 3.0, floor=0.0),
    "vib": _Channel(0.05, 0.01, 0.01, floor=0.0, up_only=True),
    "volt": _Channel(5.0, 0.02, 0.01),
    "current": _Channel(120.0, 5.0, 1.0, floor=0.0),
    "soil": _Channel(512.0, 10.0, 2.0, floor=0.0),
    "dist": _Channel(100.0, 1.0, 0.3, floor=0.0),
}
CHANNEL_NAMES = tuple(_CHANNELS)
BASELINES = {name: ch.baseline for name, ch in _CHANNELS.items()}

# Fault durations in seconds (a spike is counted in samples instead: it is a glitch, not an
# episode, so its length must not grow with the sample rate).
STUCK_SECONDS = 3.0
DRIFT_SECONDS = 6.0
NOISE_SECONDS = 2.0
MISSING_SECONDS = 1.0
_LONGEST = max(STUCK_SECONDS, DRIFT_SECONDS, NOISE_SECONDS, MISSING_SECONDS)
SPIKE_SAMPLES = (1, 3)
SPIKE_GAIN = (8.0, 15.0)  # x the channel's typical deviation
DRIFT_GAIN = (3.0, 5.0)  # x the channel's normal half-range, at the peak of the ramp
NOISE_GAIN = 10.0  # x the channel's normal noise
_DRIFT_RISE = 0.75  # share of the drift spent ramping away; the rest ramps back

_MASK = (1 << 64) - 1
# Separate random streams so that adding one kind of randomness never shifts another.
_NOISE, _WANDER, _FAULT = 1, 2, 3


def _splitmix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _hash(*parts: int) -> int:
    h = 0
    for part in parts:
        h = _splitmix(h ^ (part & _MASK))
    return h


def _gauss(*parts: int) -> float:
    # Counter-based (hash of seed, channel, index) rather than a sequential RNG, so any
    # sample can be produced on its own and line(i) does not depend on call order.
    h1 = _hash(*parts)
    h2 = _splitmix(h1)
    u1 = ((h1 >> 11) + 1) / 2.0**53
    u2 = (h2 >> 11) / 2.0**53
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@dataclass(frozen=True)
class Fault:
    """One injected fault; times are seconds since the board's sample 0."""

    kind: str
    channel: str
    start: float
    end: float


@dataclass(frozen=True)
class _Plan:
    fault: Fault
    channel: int
    first: int  # first sample index inside the fault
    stop: int  # first sample index after it
    offset: float  # signed excursion (spike) or peak (drift)


class Board:
    """Deterministic generator of readings with injected faults (no I/O).

    Each channel is a baseline plus a slow wander (three seeded sinusoids with periods from
    15 s to 15 min) plus white noise. Faults start at ``first_fault`` seconds and then every
    ``fault_every`` seconds, cycling through ``faults`` in order, each on a channel drawn
    from the seed.

    Parameters
    ----------
    channels
        How many of `CHANNEL_NAMES` to print, from the first.
    rate
        Samples per second; sample ``i`` is at ``i / rate`` seconds.
    seed
        Same seed, same lines.
    fmt
        ``plotter``, ``kv``, ``csv`` or ``json``.
    fault_every, first_fault
        The fault schedule, in seconds.
    faults
        Kinds to cycle through; empty for a clean signal.

    Examples
    --------
    >>> board = Board(channels=4, rate=10.0, seed=0)
    >>> board.line(0)
    'temp:21.33 hum:39.56 pressure:1013.28 light:287.97'
    >>> board.line(1)
    'temp:21.21 hum:39.33 pressure:1013.09 light:290.70'
    >>> [(f.kind, f.start) for f in board.faults_until(30.0)]
    [('spike', 10.0), ('stuck', 20.0)]
    """

    def __init__(
        self,
        channels: int = 4,
        rate: float = 10.0,
        seed: int = 0,
        fmt: str = "plotter",
        fault_every: float = 10.0,
        first_fault: float = 10.0,
        faults: Sequence[str] = FAULT_KINDS,
    ) -> None:
        if not 1 <= channels <= len(CHANNEL_NAMES):
            raise ValueError(f"channels must be 1..{len(CHANNEL_NAMES)}, not {channels}")
        if not rate > 0:
            raise ValueError(f"rate must be positive, not {rate}")
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        if not fault_every > 0:
            raise ValueError(f"fault_every must be positive, not {fault_every}")
        if first_fault < 0:
            raise ValueError(f"first_fault must be >= 0, not {first_fault}")
        unknown = [k for k in faults if k not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; expected {FAULT_KINDS}")
        self.channels = channels
        self.rate = float(rate)
        self.seed = seed
        self.fmt = fmt
        self.fault_every = float(fault_every)
        self.first_fault = float(first_fault)
        self.faults = tuple(faults)
        self.names = CHANNEL_NAMES[:channels]
        self._specs = [_CHANNELS[name] for name in self.names]
        self._wander = [self._wander_terms(c) for c in range(channels)]
        self._plans: dict[int, _Plan] = {}
        self._stuck: dict[int, float] = {}

    def _wander_terms(self, c: int) -> list[tuple[float, float, float]]:
        rng = random.Random(_hash(self.seed, _WANDER, c))
        amp = self._specs[c].wander
        # Weights sum to 1 so the wander never exceeds the channel's stated amplitude.
        bands = ((0.6, 300.0, 900.0), (0.3, 60.0, 180.0), (0.1, 15.0, 40.0))
        return [
            (amp * w, 2.0 * math.pi / rng.uniform(lo, hi), rng.uniform(0.0, 2.0 * math.pi))
            for w, lo, hi in bands
        ]

    def header(self) -> str | None:
        """The csv header line, or None for formats that name fields on every line."""
        return ",".join(self.names) if self.fmt == "csv" else None

    def line(self, i: int) -> str:
        """The text line (no terminator) for sample ``i``."""
        if i < 0:
            raise ValueError(f"sample index must be >= 0, not {i}")
        values = [self._value(c, i) for c in range(self.channels)]
        if self.fmt == "json":
            return json.dumps(dict(zip(self.names, values, strict=True)))
        text = ["" if v is None else f"{v:.2f}" for v in values]
        if self.fmt == "csv":
            return ",".join(text)
        if self.fmt == "kv":
            return ", ".join(f"{n}={v}" for n, v in zip(self.names, text, strict=True))
        return " ".join(f"{n}:{v}" for n, v in zip(self.names, text, strict=True))

    def faults_until(self, t: float) -> list[Fault]:
        """Every fault (missing ones included) that started before ``t`` seconds."""
        return [self._plan(n).fault for n in range(self._count_before(t))]

    def _count_before(self, t: float) -> int:
        if not self.faults or t <= self.first_fault:
            return 0
        n = math.ceil((t - self.first_fault) / self.fault_every)
        # Float division can land one off either way; settle it against the start times.
        while n > 0 and self._start(n - 1) >= t:
            n -= 1
        while self._start(n) < t:
            n += 1
        return n

    def _start(self, n: int) -> float:
        return self.first_fault + n * self.fault_every

    def _index(self, t: float) -> int:
        # The tolerance keeps a start like 10.1 s at 10 Hz on sample 101, not 102.
        return math.ceil(t * self.rate - 1e-9)

    def _plan(self, n: int) -> _Plan:
        plan = self._plans.get(n)
        if plan is not None:
            return plan
        kind = self.faults[n % len(self.faults)]
        rng = random.Random(_hash(self.seed, _FAULT, n))
        c = rng.randrange(self.channels)
        spec = self._specs[c]
        sign = 1.0 if spec.up_only or rng.random() < 0.5 else -1.0
        start = self._start(n)
        first = self._index(start)
        offset = 0.0
        if kind == "spike":
            end = (first + rng.randint(*SPIKE_SAMPLES)) / self.rate
            offset = sign * rng.uniform(*SPIKE_GAIN) * spec.typical
        elif kind == "stuck":
            end = start + STUCK_SECONDS
        elif kind == "drift":
            end = start + DRIFT_SECONDS
            offset = sign * rng.uniform(*DRIFT_GAIN) * spec.span
        elif kind == "noise":
            end = start + NOISE_SECONDS
        else:
            end = start + MISSING_SECONDS
        fault = Fault(kind, self.names[c], start, end)
        plan = _Plan(fault, c, first, self._index(end), offset)
        self._plans[n] = plan
        return plan

    def _active(self, i: int) -> list[_Plan]:
        if not self.faults:
            return []
        t = i / self.rate
        newest = math.floor((t - self.first_fault) / self.fault_every + 1e-9)
        if newest < 0:
            return []
        oldest = max(0, newest - math.ceil(_LONGEST / self.fault_every) - 1)
        plans = (self._plan(n) for n in range(oldest, newest + 1))
        return [p for p in plans if p.first <= i < p.stop]

    def _normal(self, c: int, i: int, noise_gain: float = 1.0) -> float:
        spec = self._specs[c]
        t = i / self.rate
        wander = sum(a * math.sin(w * t + phase) for a, w, phase in self._wander[c])
        return spec.baseline + wander + noise_gain * spec.noise * _gauss(self.seed, _NOISE, c, i)

    def _value(self, c: int, i: int, hold: bool = True) -> float | None:
        gain = 1.0
        offset = 0.0
        stuck: _Plan | None = None
        for plan in self._active(i):
            if plan.channel != c:
                continue
            kind = plan.fault.kind
            if kind == "missing":
                return None
            if kind == "noise":
                gain = NOISE_GAIN
            elif kind == "spike":
                offset += plan.offset
            elif kind == "drift":
                length = plan.stop - plan.first
                rise = max(1, round(length * _DRIFT_RISE))
                k = i - plan.first + 1
                share = k / rise if k <= rise else (plan.stop - i) / max(1, length - rise)
                offset += plan.offset * share
            elif kind == "stuck" and hold:
                stuck = plan
        if stuck is not None:
            return self._held(stuck)
        value = self._normal(c, i, gain) + offset
        floor = self._specs[c].floor
        if floor is not None:
            value = max(floor, value)
        return round(value, 2)

    def _held(self, plan: _Plan) -> float:
        # A stuck sensor repeats the last value it printed. That value is taken without
        # other stuck faults (hold=False) so overlapping stuck faults cannot recurse.
        key = plan.first
        if key not in self._stuck:
            before = max(0, plan.first - 1)
            value = self._value(plan.channel, before, hold=False)
            if value is None:
                value = round(self._normal(plan.channel, before), 2)
            self._stuck[key] = value
        return self._stuck[key]


def label_records(
    faults: Iterable[Fault], t0: float, until: float | None = None, at: float | None = None
) -> list[Label]:
    """Ground-truth labels for the anomalous faults (missing data is not an anomaly).

    Times become epoch seconds (``t0`` + offset); ``until`` (seconds since sample 0) drops
    faults that had not started and clips the ends of the ones still going.
    """
    at = time.time() if at is None else at
    records: list[Label] = []
    for fault in faults:
        if fault.kind == "missing":
            continue
        if until is not None and fault.start >= until:
            continue
        end = fault.end if until is None else min(fault.end, until)
        extra = {"source": "simulator", "kind": fault.kind}
        records.append(
            Label(uuid.uuid4().hex, fault.channel, t0 + fault.start, t0 + end,
                  LabelKind.ANOMALY, None, at, extra)
        )  # fmt: skip
    return records


def write_labels(
    path: str | os.PathLike[str], faults: Iterable[Fault], t0: float, until: float | None = None
) -> int:
    """Append ground-truth labels to a ``.labels.jsonl`` file; returns how many.

    Appends, like every writer of the label store, so pointing it at an existing file never
    destroys labels already there.
    """
    records = label_records(faults, t0, until)
    append_labels(os.fspath(path), records)
    return len(records)


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


def write_board_recording(
    path: str,
    board: Board,
    duration: float,
    t0: float,
    labels_path: str | None = None,
    src: str = "sim",
) -> tuple[int, int]:
    """Write what ``board`` would print for ``duration`` seconds straight into a recording.

    Receive times are the board's sample times from ``t0``, so the recording replays exactly
    like one made live with ``sensorscope record``, without waiting for it. Returns
    ``(lines, labels)``.
    """
    from sensorscope.model import Frame
    from sensorscope.recording import RecordingWriter

    n = int(duration * board.rate)
    writer = RecordingWriter(path, {src: {"kind": "simulator", "seed": board.seed}})
    frames = [Frame(t0, src, event="connect", detail="simulator")]
    header = board.header()
    if header is not None:
        frames.append(Frame(t0, src, header))
    for i in range(n):
        frames.append(Frame(t0 + i / board.rate, src, board.line(i)))
        if len(frames) >= 5000:
            writer.write(frames)
            frames = []
    writer.write(frames)
    writer.close()
    labels = 0
    if labels_path is not None:
        labels = write_labels(labels_path, board.faults_until(duration), t0, until=duration)
    return n, labels
