"""A virtual sensor board: seeded readings with injected faults, served on a pseudo-terminal.

`Board` is the pure part (sample index -> text line, plus the fault schedule that is the
ground truth; :mod:`.board`). `PtyBoard` plays a Board on a Linux pty at its sample rate, and
can be unplugged and replugged the way a USB serial board re-enumerates; `run_simulator` is
the body of ``sensorscope simulate`` (:mod:`.pty`).
"""

from __future__ import annotations

from sensorscope.simulate.board import (
    ALL_KINDS,
    BASELINES,
    CHANNEL_NAMES,
    DRIFT_SECONDS,
    FAULT_KINDS,
    FORMATS,
    MISSING_SECONDS,
    NOISE_SECONDS,
    STUCK_SECONDS,
    Board,
    Fault,
    label_records,
    write_board_recording,
    write_labels,
)
from sensorscope.simulate.pty import PtyBoard, run_simulator

__all__ = [
    "ALL_KINDS",
    "BASELINES",
    "CHANNEL_NAMES",
    "DRIFT_SECONDS",
    "FAULT_KINDS",
    "FORMATS",
    "MISSING_SECONDS",
    "NOISE_SECONDS",
    "STUCK_SECONDS",
    "Board",
    "Fault",
    "PtyBoard",
    "label_records",
    "run_simulator",
    "write_board_recording",
    "write_labels",
]
