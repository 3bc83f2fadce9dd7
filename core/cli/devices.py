"""``ports`` and ``simulate``: the serial ports there are, and a virtual board to try them with."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from sensorscope.cli.common import console
from sensorscope.errors import UserError


@click.command()
def ports():
    """List serial ports with description, VID:PID and /dev/serial/by-id names."""
    from rich.table import Table
    from serial.tools import list_ports

    by_id: dict[str, list[str]] = {}
    by_id_dir = Path("/dev/serial/by-id")
    if by_id_dir.is_dir():
        for link in sorted(by_id_dir.iterdir()):
            by_id.setdefault(os.path.realpath(link), []).append(str(link))
    found = sorted(list_ports.comports(), key=lambda p: p.device)
    out = console()
    if not found:
        out.print("no serial ports found (try `sensorscope simulate` for a virtual board)")
        return 0
    table = Table()
    for col in ("port", "description", "VID:PID", "by-id"):
        table.add_column(col)
    for p in found:
        vidpid = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None else ""
        names = by_id.get(os.path.realpath(p.device), [])
        table.add_row(p.device, p.description or "", vidpid, "\n".join(names))
    out.print(table)
    return 0


@click.command()
@click.option("--link", default=None, help="also make this path a symlink to the port")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["plotter", "kv", "csv", "json"]),
    default="plotter",
    show_default=True,
)
@click.option("--rate", type=click.FloatRange(0.1, 5000), default=10.0, show_default=True)
@click.option("--channels", type=click.IntRange(1, 8), default=4, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--unplug-at", type=click.FloatRange(0), default=None, help="unplug after S s")
@click.option("--replug-after", type=click.FloatRange(0), default=2.0, show_default=True)
@click.option("--duration", type=click.FloatRange(0, min_open=True), default=None)
@click.option("--fault-every", type=click.FloatRange(0.5), default=10.0, show_default=True)
@click.option("--first-fault", type=click.FloatRange(0), default=10.0, show_default=True)
@click.option("--labels", "labels_path", default=None, help="ground-truth labels file")
@click.option(
    "-o",
    "--output",
    default=None,
    help="write the readings straight into this recording instead of serving a pty",
)
@click.option("--start", type=float, default=None, help="with -o: epoch time of sample 0")
@click.option(
    "--counts",
    default=None,
    metavar="ANOMALIES",
    help="with -o: a bursty count series (one count every 5 min, two weeks unless --duration) "
    "with these anomalies: none, or surge,drop,rhythm",
)
def simulate(
    link,
    fmt,
    rate,
    channels,
    seed,
    unplug_at,
    replug_after,
    duration,
    fault_every,
    first_fault,
    labels_path,
    output,
    start,
    counts,
):
    """A virtual board on a pty printing readings with injected faults.

    Prints its port path; writes the faults as ground-truth labels when it stops. With -o
    it writes DURATION seconds of readings into a recording at once, without a pty.
    """
    from sensorscope.simulate import Board, run_simulator, write_board_recording

    if counts is not None:
        if output is None:
            raise UserError("--counts needs -o (the recording to write)")
        return _write_counts(output, counts, seed, duration, labels_path, start)
    if output is not None:
        if duration is None:
            raise UserError("-o needs --duration (seconds of readings to write)")
        try:
            board = Board(channels, rate, seed, fmt, fault_every, first_fault)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        _refuse_existing(output, labels_path)
        labels_path = labels_path or str(Path(output).with_suffix("")) + ".labels.jsonl"
        t0 = float(int(time.time())) if start is None else start
        lines, labels = write_board_recording(output, board, duration, t0, labels_path)
        console().print(f"{lines} lines -> {output}; {labels} labels -> {labels_path}")
        return 0

    return run_simulator(
        link=link,
        fmt=fmt,
        rate=rate,
        channels=channels,
        seed=seed,
        unplug_at=unplug_at,
        replug_after=replug_after,
        duration=duration,
        fault_every=fault_every,
        labels_path=labels_path,
        first_fault=first_fault,
    )


def _refuse_existing(output: str, labels_path: str | None) -> None:
    """A recording (and its ground truth) is appended to, never truncated: a second run
    into the same files would interleave two runs of the same times, so it is refused."""
    labels = labels_path or str(Path(output).with_suffix("")) + ".labels.jsonl"
    for path in (output, labels):
        if Path(path).exists() and Path(path).stat().st_size > 0:
            raise UserError(f"{path} exists: simulate -o writes a new recording and its labels "
                            "(remove it or give another path)")  # fmt: skip


def _write_counts(
    output: str, counts: str, seed: int, duration: float | None, labels_path: str | None,
    start: float | None,
) -> int:  # fmt: skip
    """``simulate --counts``: a bursty count series written straight into a recording."""
    from sensorscope.simulate.counts import CountSeries, write_count_recording

    kinds = tuple(k.strip() for k in counts.split(",") if k.strip() and k.strip() != "none")
    try:
        days = 14.0 if duration is None else duration / 86400.0
        series = CountSeries(seed=seed, days=days, anomalies=kinds)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    _refuse_existing(output, labels_path)
    labels_path = labels_path or str(Path(output).with_suffix("")) + ".labels.jsonl"
    t0 = float(int(time.time())) if start is None else start
    lines, labels = write_count_recording(output, series, t0, labels_path)
    console().print(f"{lines} lines -> {output}; {labels} labels -> {labels_path}")
    return 0
