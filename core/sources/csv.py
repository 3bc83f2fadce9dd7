"""CSV series replayed as if a device had sent their rows."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import repeat
from pathlib import Path

from sensorscope.errors import UserError
from sensorscope.model import Frame
from sensorscope.recording import line_blocks
from sensorscope.sources.base import decode_line
from sensorscope.sources.replay import ReplaySource

TIME_COLUMNS = ("timestamp", "time", "t", "ts", "date", "datetime")


class CsvSource(ReplaySource):
    """A CSV series: NAB layout (``timestamp,value``) or wide CSV with a time column.

    Rows go through the csv line parser like any device line; the time column becomes the
    reading's time, so scores and alerts carry the series' own timestamps.
    """

    kind = "csv"

    def __init__(self, path: str, speed: float | None = None, loop: bool = False) -> None:
        super().__init__(Path(path).stem, path, speed, loop)
        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                first = fh.readline()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {path}: {exc}") from None
        self.columns = next(csv.reader([first]), [])
        if not self.columns:
            raise UserError(f"{path}: empty CSV file")
        lowered = [c.strip().lower() for c in self.columns]
        self.time_index = next((i for i, c in enumerate(lowered) if c in TIME_COLUMNS), None)
        if self.time_index is None:
            raise UserError(
                f"{path}: no time column (expected one of {', '.join(TIME_COLUMNS)} in the header)"
            )
        # The rows' times are the time column's (see _rows): the parser need not parse it.
        self.parser_args = {
            "fmt": "csv",
            "header": [c.strip() for c in self.columns],
            "time_column": self.time_index,
        }

    def chunks(self) -> Iterator[tuple[list[Frame], int]]:
        last_t = 0.0
        with open(self.path, "rb") as fh:
            self.offset = len(fh.readline())
            for block in line_blocks(fh):
                frames, last_t = self._rows(block, last_t)
                self.offset += len(block)
                if frames:
                    yield frames, len(frames)

    def _rows(self, block: bytes, last_t: float) -> tuple[list[Frame], float]:
        """Frames of the rows in ``block`` (whole lines); a row with a bad time keeps its
        place in the series at the last good time."""
        # Not at the top: choosing a source (sensorscope.sources.open) imports this module, and
        # the parser's regular expressions would delay `record` opening its port.
        from sensorscope.formats import parse_times

        raws: Iterable[bytes | None]
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            rows = [decode_line(x.rstrip(b"\r")) for x in block.split(b"\n")]
            rows = [r for r in rows if r[0] and not r[0].isspace()]
            texts = [x for x, _raw in rows]
            raws = [raw for _x, raw in rows]
        else:
            # The whole block decoded: its rows are its text split once, no bytes kept.
            texts = text.split("\n")
            if "\r" in text:
                texts = [x.rstrip("\r") for x in texts]
            texts = [x for x in texts if x and not x.isspace()]
            raws = repeat(None)
        ti = self.time_index
        if ti == 0:
            stamps = [x.partition(",")[0] for x in texts]
        else:
            stamps = [x.split(",")[ti] if x.count(",") >= ti else "" for x in texts]
        times = parse_times(stamps)
        if None in times:
            for k, t in enumerate(times):
                if t is None:
                    times[k] = last_t
                else:
                    last_t = t
        elif times:
            last_t = times[-1]
        frames = list(map(Frame, times, repeat(self.name), texts, raws))
        return frames, last_t
