"""A simulated pump whose channels move together: the joint view's scenario.

One speed drives four channels (current, flow, pressure, vibration) that follow it with
their own noise, so each channel wanders over a wide range while the relations between them
hold. A fault breaks a relation and leaves every channel inside its usual range:

- ``blocked``: a valve half shut: flow down, pressure up, for the same speed and current;
- ``slip``: a worn coupling: current up with no more flow or pressure;
- ``cavitation``: vibration up with no change of speed.

It serves lines like a :class:`sensorscope.simulate.Board` (``line(i)``, ``header()``,
``faults_until``), so ``write_board_recording`` records it and its labels.
"""

from __future__ import annotations

import math

import numpy as np

from sensorscope.simulate.board import Fault

__all__ = ["PUMP_CHANNELS", "PUMP_FAULTS", "Pump"]

PUMP_CHANNELS = ("current", "flow", "pressure", "vibration")
PUMP_FAULTS = ("blocked", "slip", "cavitation")
#: The speeds a fault is placed at: the middle of what the pump runs at.
MID = (0.70, 0.85)
# What each fault does, per channel: a factor on the healthy value.
_EFFECT = {
    "blocked": {"flow": 0.82, "pressure": 1.12},
    "slip": {"current": 1.09},
    "cavitation": {"vibration": 1.12},
}


class Pump:
    """``duration`` seconds of a pump at ``rate`` Hz; ``faults``: kinds cycled, one every
    ``fault_every`` s from ``first_fault`` s, each ``fault_seconds`` long (``()``: healthy)."""

    def __init__(
        self, duration: float, rate: float = 10.0, seed: int = 0,
        faults: tuple[str, ...] = PUMP_FAULTS, fault_every: float = 150.0,
        first_fault: float = 300.0, fault_seconds: float = 20.0,
    ) -> None:  # fmt: skip
        self.rate = rate
        self.seed = seed
        self.duration = duration
        n = int(duration * rate)
        rng = np.random.default_rng(seed)
        t = np.arange(n) / rate
        p1, p2 = rng.uniform(0, 2 * math.pi, 2)
        speed = (
            0.775 + 0.12 * np.sin(2 * math.pi * t / 61.0 + p1)
            + 0.09 * np.sin(2 * math.pi * t / 173.0 + p2)
        )  # fmt: skip
        noise = rng.normal(size=(4, n))
        self.values = {
            "current": 1.0 + 6.0 * speed + 0.04 * noise[0],
            "flow": 40.0 * speed + 0.3 * noise[1],
            "pressure": 2.0 * speed**2 + 0.02 * noise[2],
            "vibration": 0.2 + 1.0 * speed + 0.015 * noise[3],
        }
        self.healthy = {k: (float(v.min()), float(v.max())) for k, v in self.values.items()}
        self.faults: list[Fault] = []
        k = 0
        start = first_fault
        while faults and start + fault_seconds <= duration:
            kind = faults[k % len(faults)]
            at = self._mid_speed(speed, start, fault_seconds, min(duration, start + fault_every))
            k += 1
            start += fault_every
            if at is None:
                continue
            self.faults.append(Fault(kind, "pump", at, at + fault_seconds))
            a, b = int(at * rate), int((at + fault_seconds) * rate)
            for name, factor in _EFFECT[kind].items():
                self.values[name][a:b] *= factor

    def _mid_speed(
        self, speed: np.ndarray, start: float, seconds: float, before: float
    ) -> float | None:
        """The first time from ``start`` at which the pump runs mid-range for the whole
        fault, so that every channel stays inside its usual range while it lasts."""
        t = start
        while t + seconds <= before:
            a, b = int(t * self.rate), int((t + seconds) * self.rate)
            if MID[0] <= speed[a:b].min() and speed[a:b].max() <= MID[1]:
                return t
            t += 1.0
        return None

    def header(self) -> str | None:
        return None

    def line(self, i: int) -> str:
        return " ".join(f"{c}:{self.values[c][i]:.3f}" for c in PUMP_CHANNELS)

    def faults_until(self, t: float) -> list[Fault]:
        return [f for f in self.faults if f.start < t]
