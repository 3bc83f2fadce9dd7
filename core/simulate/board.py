"""The pure part of the simulator: sample index -> text line, and the fault schedule that is
the ground truth. Seeded and stateless per sample, so any line can be computed on its own."""

from __future__ import annotations

import json
import math
import os
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sensorscope.labels import append_labels
from sensorscope.model import Label, LabelKind

FAULT_KINDS = ("spike", "stuck", "drift", "noise", "missing")
# Kinds a board can be asked for beyond the default cycle: adding them to FAULT_KINDS would
# change every default board (and what the tests and the demo were written against).
EXTRA_KINDS = ("shift",)
ALL_KINDS = FAULT_KINDS + EXTRA_KINDS
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
SHIFT_SECONDS = 600.0  # a level shift holds (a door left open, a heater stuck on), then ends
_LONGEST = max(STUCK_SECONDS, DRIFT_SECONDS, NOISE_SECONDS, MISSING_SECONDS)
SPIKE_SAMPLES = (1, 3)
SPIKE_GAIN = (8.0, 15.0)  # x the channel's typical deviation
DRIFT_GAIN = (3.0, 5.0)  # x the channel's normal half-range, at the peak of the ramp
SHIFT_GAIN = (1.5, 2.0)  # x the channel's normal half-range: a step out of the usual band
NOISE_GAIN = 10.0  # x the channel's normal noise
RHYTHM_GAIN = 3.0  # x the channel's normal wander, the amplitude of a board's slow rhythm
_DRIFT_RISE = 0.75  # share of the drift spent ramping away; the rest ramps back

_MASK = (1 << 64) - 1
# Separate random streams so that adding one kind of randomness never shifts another.
_NOISE, _WANDER, _FAULT, _RHYTHM = 1, 2, 3, 4


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
    severity
        Scales how far each fault takes the signal away from normal: a spike's excursion, a
        drift's peak and a noise burst's extra noise (its noise is ``1 + (NOISE_GAIN - 1) *
        severity`` times the normal noise); 1 is the classic board, below 1 the faults get
        subtle (a bench measures how small a fault the detector still sees). A stuck sensor
        and missing data are what they are at any severity.
    rhythm
        A slow cycle of this period (s) on every channel, RHYTHM_GAIN times its usual wander
        (a compressor, a day): a fresh board shows only part of it at first, so a range
        learned over the first seconds is not yet its range. None: no rhythm.

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
        severity: float = 1.0,
        rhythm: float | None = None,
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
        if not severity > 0:
            raise ValueError(f"severity must be positive, not {severity}")
        if rhythm is not None and not rhythm > 0:
            raise ValueError(f"rhythm must be a positive period in seconds, not {rhythm}")
        unknown = [k for k in faults if k not in ALL_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; expected {ALL_KINDS}")
        self.channels = channels
        self.rate = float(rate)
        self.seed = seed
        self.fmt = fmt
        self.fault_every = float(fault_every)
        self.first_fault = float(first_fault)
        self.faults = tuple(faults)
        self.severity = float(severity)
        self.rhythm = rhythm
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
        terms = [
            (amp * w, 2.0 * math.pi / rng.uniform(lo, hi), rng.uniform(0.0, 2.0 * math.pi))
            for w, lo, hi in bands
        ]
        if self.rhythm is not None:
            phase = random.Random(_hash(self.seed, _RHYTHM, c)).uniform(0.0, 2.0 * math.pi)
            terms.append((amp * RHYTHM_GAIN, 2.0 * math.pi / self.rhythm, phase))
        return terms

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
            offset = sign * rng.uniform(*SPIKE_GAIN) * spec.typical * self.severity
        elif kind == "stuck":
            end = start + STUCK_SECONDS
        elif kind == "drift":
            end = start + DRIFT_SECONDS
            offset = sign * rng.uniform(*DRIFT_GAIN) * spec.span * self.severity
        elif kind == "noise":
            end = start + NOISE_SECONDS
        elif kind == "shift":
            end = start + SHIFT_SECONDS
            offset = sign * rng.uniform(*SHIFT_GAIN) * spec.span * self.severity
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
        # Only a board that makes level shifts looks back that far for active faults.
        longest = SHIFT_SECONDS if "shift" in self.faults else _LONGEST
        oldest = max(0, newest - math.ceil(longest / self.fault_every) - 1)
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
                # At severity 1 this is exactly NOISE_GAIN: the classic board is unchanged.
                gain = 1.0 + (NOISE_GAIN - 1.0) * self.severity
            elif kind in ("spike", "shift"):
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
