"""A rig whose faults last minutes: the simulator scenario for faults that must stay alerted
while they last (issue 13, item 3).

:class:`LastingRig` is a 1 Hz rig of a few channels (pressure, flow, temperature, current)
with a slow wander and AR(1) noise, and faults of 300-400 s: a level offset, a slow drift
that then holds, a noise increase, each either inside the channel's usual range or just
outside it. ``step_at`` instead puts a permanent level change on the first channel (a real
change of operating point, which must become normal eventually). The faults are the ground
truth, written as labels like the board's (:func:`sensorscope.simulate.board.label_records`).
Seeded: the same rig gives the same readings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sensorscope.simulate.board import Fault, write_labels

__all__ = ["LASTING_KINDS", "LastingRig", "write_rig_recording"]

LASTING_KINDS = ("offset", "drift", "noise")
FAULT_SECONDS = (300.0, 400.0)
#: Offset (and a drift's held offset) as a share of the channel's usual half-range: inside it,
#: and just outside.
LEVEL_GAIN = {"inside": 0.8, "outside": 1.3}
#: A noise increase, times the channel's noise.
NOISE_GAIN = {"inside": 2.5, "outside": 5.0}
_DRIFT_RISE = 0.4  # share of a drift spent ramping to its held offset


@dataclass(frozen=True)
class _RigChannel:
    name: str
    baseline: float
    wander: float  # amplitude of the slow wander
    noise: float  # standard deviation of the noise

    @property
    def span(self) -> float:
        """Half-width of the usual range."""
        return self.wander + 3.0 * self.noise


_RIG = (
    _RigChannel("pressure", 2.40, 0.02, 0.02),
    _RigChannel("flow", 31.0, 0.3, 0.3),
    _RigChannel("temp", 24.0, 0.05, 0.05),
    _RigChannel("current", 4.2, 0.05, 0.05),
)


class LastingRig:
    """A seeded 1 Hz rig with lasting faults (or, with ``faults=False``, none)."""

    def __init__(
        self,
        seed: int,
        *,
        channels: int = 4,
        rate: float = 1.0,
        faults: bool = True,
        first_fault: float = 1200.0,
        fault_every: float = 900.0,
        step_at: float | None = None,
        step_gain: float = 1.2,
    ) -> None:
        if not 1 <= channels <= len(_RIG):
            raise ValueError(f"channels must be 1..{len(_RIG)}, not {channels}")
        self.seed = seed
        self.specs = _RIG[:channels]
        self.names = tuple(c.name for c in self.specs)
        self.rate = rate
        self.has_faults = faults
        self.first_fault = first_fault
        self.fault_every = fault_every
        self.step_at = step_at
        self.step_gain = step_gain

    def faults_until(self, t: float) -> list[Fault]:
        """The faults that started before ``t`` s (a step is a change, not a fault: none)."""
        out = []
        if not self.has_faults or self.step_at is not None:
            return out
        n = 0
        while True:
            start = self.first_fault + n * self.fault_every
            if start >= t:
                return out
            out.append(self._plan(n)[0])
            n += 1

    def _plan(self, n: int) -> tuple[Fault, str, float]:
        """Fault ``n``: the fault, inside or outside, and its sign."""
        rng = np.random.default_rng([self.seed, 7, n])
        kind = LASTING_KINDS[n % len(LASTING_KINDS)]
        where = ("inside", "outside")[(n // len(LASTING_KINDS)) % 2]
        c = int(rng.integers(len(self.specs)))
        start = self.first_fault + n * self.fault_every
        end = start + float(rng.uniform(*FAULT_SECONDS))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        return Fault(f"{kind}-{where}", self.names[c], start, end), where, sign

    def values(self, duration: float) -> np.ndarray:
        """The readings of the first ``duration`` seconds, one row per sample."""
        n = int(duration * self.rate)
        t = np.arange(n) / self.rate
        rng = np.random.default_rng([self.seed, 1])
        out = np.empty((n, len(self.specs)))
        noise_gain = np.ones((n, len(self.specs)))
        level = np.zeros((n, len(self.specs)))
        for fault in self.faults_until(duration):
            nf = int(round((fault.start - self.first_fault) / self.fault_every))
            _, where, sign = self._plan(nf)
            c = self.names.index(fault.channel)
            spec = self.specs[c]
            inside = (t >= fault.start) & (t < fault.end)
            kind = fault.kind.split("-")[0]
            if kind == "noise":
                noise_gain[inside, c] = NOISE_GAIN[where]
                continue
            off = sign * LEVEL_GAIN[where] * spec.span
            if kind == "drift":
                rise = _DRIFT_RISE * (fault.end - fault.start)
                off = off * np.clip((t[inside] - fault.start) / rise, 0.0, 1.0)
            level[inside, c] += off
        if self.step_at is not None:
            level[t >= self.step_at, 0] += self.step_gain * self.specs[0].span
        for c, spec in enumerate(self.specs):
            phase = rng.uniform(0, 2 * math.pi, 2)
            periods = rng.uniform(900.0, 2400.0, 2)
            wander = spec.wander * 0.5 * (
                np.sin(2 * math.pi * t / periods[0] + phase[0])
                + np.sin(2 * math.pi * t / periods[1] + phase[1])
            )  # fmt: skip
            # AR(1) noise with a few seconds' memory, as a real sensor's is.
            e = rng.normal(0.0, 1.0, n) * noise_gain[:, c]
            a = 0.6
            ar = np.empty(n)
            acc = 0.0
            scale = math.sqrt(1 - a * a)
            for i in range(n):
                acc = a * acc + scale * e[i]
                ar[i] = acc
            out[:, c] = spec.baseline + wander + spec.noise * ar + level[:, c]
        return out


def write_rig_recording(
    path: str, rig: LastingRig, duration: float, t0: float, labels_path: str | None = None
) -> tuple[int, int]:
    """Write the rig's first ``duration`` seconds as a recording (``key=value`` lines, receive
    times its sample times from ``t0``), and its faults as labels; returns (lines, labels)."""
    from sensorscope.model import Frame
    from sensorscope.recording import RecordingWriter

    vals = rig.values(duration)
    writer = RecordingWriter(path, {"rig": {"kind": "simulator", "seed": rig.seed}})
    frames = [Frame(t0, "rig", event="connect", detail="lasting rig")]
    for i, row in enumerate(vals):
        line = ", ".join(f"{n}={v:.4f}" for n, v in zip(rig.names, row, strict=True))
        frames.append(Frame(t0 + i / rig.rate, "rig", line))
        if len(frames) >= 5000:
            writer.write(frames)
            frames = []
    writer.write(frames)
    writer.close()
    labels = 0
    if labels_path is not None:
        labels = write_labels(labels_path, rig.faults_until(duration), t0, until=duration)
    return len(vals), labels
