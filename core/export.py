"""``sensorscope export``: the parsed values, wide, one row per reading.

The values are those the monitor and ``score`` see: the same parser, channels and
imputation (an :class:`Exporter` takes the pipeline's :class:`ScoredBatch` es). A row is
``time`` then one column per channel in the order the channels first appeared; a channel
the reading did not hold, or whose value was missing, is empty, unless imputed values are
asked for, which then carry a ``CHANNEL.imputed`` column (1 where the value was made up).

Batches are kept as arrays until the end, when every channel is known, and written to a
temporary file beside the output that is renamed over it: a run that fails or is stopped
leaves no half-written file looking whole.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum

import numpy as np

from sensorscope.errors import UserError
from sensorscope.model import ScoredBatch

__all__ = ["ExportFormat", "Exporter", "TimeFormat", "check_writable", "export_format"]


class ExportFormat(str, Enum):
    CSV = "csv"
    PARQUET = "parquet"


class TimeFormat(str, Enum):
    ISO = "iso"  # 2025-11-23T08:00:00.100Z
    EPOCH = "epoch"  # seconds since 1970 (UTC)


def export_format(path: str, given: str | None) -> ExportFormat:
    """The format asked for, or the one the output's suffix names (``-``: CSV)."""
    if given:
        return ExportFormat(given)
    if path == "-":
        return ExportFormat.CSV
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".csv":
        return ExportFormat.CSV
    if suffix in (".parquet", ".pq"):
        return ExportFormat.PARQUET
    raise UserError(f"{path}: cannot tell the format from its suffix (use .csv or .parquet)")


def check_writable(path: str) -> None:
    """Say now, before reading anything, that ``path`` cannot be written."""
    if path == "-":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {path}: no such directory {folder}")
    if os.path.isdir(path):
        raise UserError(f"cannot write {path}: it is a directory")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {path}: permission denied")


def iso_time(t: float) -> str:
    """
    >>> iso_time(1763884800.1)
    '2025-11-23T08:00:00.100Z'
    """
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class _Block:
    t: np.ndarray  # per reading
    channel: np.ndarray  # per value
    reading: np.ndarray  # per value, into t
    value: np.ndarray
    imputed: np.ndarray


@dataclass
class Exporter:
    """Collects the pipeline's batches; :meth:`write` writes them wide."""

    impute: bool = False
    names: list[str] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)
    readings: int = 0

    def add(self, batch: ScoredBatch) -> None:
        if not len(batch):
            return
        self.names = list(batch.names)
        n = len(batch.readings)
        t = np.full(n, math.nan)
        t[batch.reading] = batch.t
        self.blocks.append(
            _Block(t, batch.channel.copy(), batch.reading.copy(), batch.value.copy(),
                   batch.imputed.copy())
        )  # fmt: skip
        self.readings += n

    def table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(time per row, values rows x channels with NaN for empty, imputed flags)."""
        k = len(self.names)
        t = np.concatenate([b.t for b in self.blocks]) if self.blocks else np.zeros(0)
        values = np.full((len(t), k), math.nan)
        flags = np.zeros((len(t), k), dtype=bool)
        start = 0
        for b in self.blocks:
            rows = start + b.reading
            keep = ~b.imputed | self.impute
            values[rows[keep], b.channel[keep]] = b.value[keep]
            flags[rows, b.channel] = b.imputed & np.isfinite(b.value)
            start += len(b.t)
        return t, values, flags

    def columns(self) -> list[str]:
        out = ["time", *self.names]
        if self.impute:
            out += [f"{name}.imputed" for name in self.names]
        return out

    def write(self, path: str, fmt: ExportFormat, time_format: TimeFormat) -> int:
        """Write every row to ``path`` (``-``: stdout, CSV); returns the rows written."""
        t, values, flags = self.table()
        if fmt is ExportFormat.PARQUET:
            _replace(path, lambda tmp: self._parquet(tmp, t, values, flags, time_format))
        elif path == "-":
            import sys

            self._csv(sys.stdout, t, values, flags, time_format)
            sys.stdout.flush()
        else:
            _replace(path, lambda tmp: self._csv_file(tmp, t, values, flags, time_format))
        return len(t)

    def _csv_file(self, tmp: str, t, values, flags, time_format: TimeFormat) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            self._csv(fh, t, values, flags, time_format)

    def _csv(self, fh, t, values, flags, time_format: TimeFormat) -> None:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(self.columns())
        stamp = iso_time if time_format is TimeFormat.ISO else repr
        for i, row in enumerate(values.tolist()):
            cells = [stamp(float(t[i]))] + ["" if v != v else repr(v) for v in row]
            if self.impute:
                cells += ["1" if f else "0" for f in flags[i].tolist()]
            w.writerow(cells)

    def _parquet(self, tmp: str, t, values, flags, time_format: TimeFormat) -> None:
        pa, pq = parquet_modules()
        if time_format is TimeFormat.ISO:
            stamps = pa.array((t * 1e6).astype("int64"), type=pa.timestamp("us", tz="UTC"))
        else:
            stamps = pa.array(t)
        cols = [stamps] + [pa.array(values[:, j], from_pandas=True) for j in range(len(self.names))]
        if self.impute:
            cols += [pa.array(flags[:, j]) for j in range(len(self.names))]
        pq.write_table(pa.table(cols, names=self.columns()), tmp)


def parquet_modules():
    """pyarrow and its parquet module, or one line saying how to get them."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(
            "Parquet needs pyarrow: pip install 'sensorscope[parquet]' (or write .csv)"
        ) from None
    return pa, pq


def _replace(path: str, write) -> None:
    """Write through a temporary file beside ``path``, renamed over it when complete."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {path}: no such directory {folder}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".export-", dir=folder)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
