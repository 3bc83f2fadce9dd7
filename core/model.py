"""The records every part of sensorscope passes to every other: one light module.

Frames from sources, readings from the parser, alerts, labels, reasons, scored batches,
snapshots and settings. It imports nothing of the project (and not numpy at import time, so a
command that opens a port first is not slowed by it), so anything may import it.

Size: over 600 lines because every record at a seam is here, by design, and nothing else is:
split by topic, each part would import the others and the one place to look would be gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: The detector a run uses unless told otherwise, and the samples each channel warms up on.
DEFAULT_DETECTOR = "default"
DEFAULT_WARMUP = 250
#: History kept per channel for the display (samples).
DEFAULT_CAPACITY = 4096
#: Values sensors print when they fail: DS18B20's "disconnected" (-127) and power-on reset
#: (85.00), the common "no data" codes -999 and -9999, and 16-bit rails (a bus read of all
#: ones or a saturated signed register). Flagged only when the channel's learned range does not
#: hold them, so a channel that really reads 85 is not accused.
DEFAULT_SENTINELS = (-127.0, 85.0, -999.0, -9999.0, -32768.0, 32767.0, 65535.0)
#: A channel is late when no sample came for this many times its usual interval.
DEFAULT_DROPOUT = 5.0
#: Samples of an alert episode that are not learned; after these the channel learns again,
#: so a change that lasts (a new level) becomes the new normal instead of one endless alert.
DEFAULT_HOLD = 50


class Reason(IntEnum):
    """Which part made a sample's score what it is (stored per sample as an int8)."""

    NONE = 0
    HST = 1
    FORECAST = 2
    DAILY = 3
    WEEKLY = 4
    RANGE = 5
    STUCK = 6
    SENTINEL = 7
    BELOW = 8
    ABOVE = 9
    DROPOUT = 10
    #: The source's channels together (the joint view): how they move with each other.
    JOINT = 11
    #: The latest stretch of values against similar stretches in the channel's past.
    LOCAL = 12


#: One line per reason, as alerts show it (``{value}`` is the sample's value).
REASONS: dict[int, str] = {
    Reason.NONE: "",
    Reason.HST: "rare value (HST)",
    Reason.FORECAST: "sudden change",
    Reason.DAILY: "off daily pattern",
    Reason.WEEKLY: "off weekly pattern",
    Reason.RANGE: "beyond its range",
    Reason.STUCK: "stuck at {value:g}",
    Reason.JOINT: "channels out of step",
    Reason.LOCAL: "unlike its recent past",
}


#: The part of the detector behind each reason, as an alert names it ("which view fired").
VIEW_NAMES: dict[int, str] = {
    Reason.HST: "HST",
    Reason.FORECAST: "forecast",
    Reason.DAILY: "daily profile",
    Reason.WEEKLY: "weekly profile",
    Reason.RANGE: "range rule",
    Reason.STUCK: "stuck rule",
    Reason.SENTINEL: "error-value rule",
    Reason.BELOW: "limits",
    Reason.ABOVE: "limits",
    Reason.DROPOUT: "dropout rule",
    Reason.JOINT: "joint view",
    Reason.LOCAL: "local view",
}


def band_text(band: tuple[float, float] | None) -> str:
    """An expected band as an alert shows it.

    >>> band_text((21.18, 21.84)), band_text(None)
    ('expected 21.18 to 21.84', '')
    """
    if band is None:
        return ""
    return f"expected {band[0]:.5g} to {band[1]:.5g}"


def reason_text(why: int, value: float, limits: tuple[float, float] | None = None) -> str:
    """The one line an alert shows for a reason code.

    >>> reason_text(Reason.SENTINEL, -127.0), reason_text(Reason.ABOVE, 130.0, (-40.0, 125.0))
    ('error value -127', 'above max 125')
    """
    if why == Reason.SENTINEL:
        return f"error value {value:g}"
    if why == Reason.BELOW:
        return f"below min {limits[0]:g}" if limits else "below range"
    if why == Reason.ABOVE:
        return f"above max {limits[1]:g}" if limits else "above range"
    return REASONS.get(why, "").format(value=value)


class _Pickled:
    """Pickled as the class and its fields in order, as its constructor takes them: a slotted
    dataclass's own pickling looks its fields up again for each object, and a snapshot of
    ``--score-in process`` carries a thousand raw lines on every tick (4x faster to load)."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), tuple(getattr(self, name) for name in self.__slots__)


@dataclass(slots=True)
class Frame:
    """One received line (or a connection event) from one source.

    ``t`` is the receive time of the line's first byte (UTC epoch seconds). ``line`` is the
    text with its terminator removed; when the bytes were not valid UTF-8 it was decoded with
    replacement characters and ``raw`` keeps the original bytes for the recording.
    """

    t: float
    src: str
    line: str | None = None
    raw: bytes | None = None
    event: str | None = None
    detail: str = ""
    cut: bool = False
    first: bool = False


@dataclass
class SourceStatus:
    """What a UI shows about a source; written by its reader thread only."""

    name: str
    kind: str
    state: str = "starting"  # connected | reconnecting | eof | stopped | error
    detail: str = ""
    reconnects: int = 0
    lines: int = 0
    cut: int = 0
    # Lines read (and recorded) that scoring had no room for: it had fallen this far behind.
    unscored: int = 0
    position: float = 0.0  # replay: fraction of the file done
    replay_t: float | None = None


class LineEnding(str, Enum):
    """What is added after a line sent to a board; its value is what the option takes."""

    NONE = "none"
    LF = "lf"
    CRLF = "crlf"

    @property
    def bytes(self) -> bytes:
        return {"none": b"", "lf": b"\n", "crlf": b"\r\n"}[self.value]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class RawLine(_Pickled):
    """One received line (or a connection event) as the raw-lines pane shows it."""

    t: float  # receive time (UTC epoch seconds)
    src: str
    line: str  # the text, its terminator removed (bad UTF-8 decoded with replacements)
    kind: str  # what the parser made of it: data, header, text, garbage, cut, event, ...
    #: The bytes as received when they were not valid UTF-8 (else the text's own bytes).
    raw: bytes | None = None
    #: A clean data, header or empty line: the pane shows it only when showing every line.
    parsed: bool = False

    @property
    def data(self) -> bytes:
        """The line's bytes as the device sent them (without the terminator)."""
        return self.raw if self.raw is not None else self.line.encode("utf-8", "surrogateescape")


@dataclass(slots=True)
class Reading:
    """One line's worth of values from one source."""

    t: float
    source: str
    values: dict[str, float | None]


@dataclass(slots=True)
class Alert(_Pickled):
    id: int
    channel: str
    start: float
    end: float | None
    peak_score: float
    peak_value: float
    peak_t: float
    last_above: float
    label: str | None = None
    reason: str = ""
    #: Which part of the detector opened it (a view or a rule; ``VIEW_NAMES`` names it).
    why: Reason = Reason.NONE
    #: The band the detector expected the value in (low, high) at the alert's peak (so far,
    #: while it is open), from what it had learned before that sample, when it knows one.
    expected: tuple[float, float] | None = None
    #: For an alert of the joint view: the source's channels that contributed most, first
    #: the largest; for a channel's own alert, empty.
    channels: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        return self.end is None

    @property
    def until(self) -> float:
        """The episode's effective end: its end once closed, its last high sample while open."""
        return self.end if self.end is not None else self.last_above

    @property
    def view(self) -> str:
        """The name of the part that opened it ("forecast", "range rule", ...; "" unknown)."""
        return VIEW_NAMES.get(self.why, "")

    def explain(self) -> str:
        """Why, in one line after the reason: the part, the band it expected, and for a
        joint alert the channels that moved most.

        >>> a = Alert(1, "temp", 0.0, None, 0.9, 35.0, 0.0, 0.0, reason="sudden change",
        ...           why=Reason.FORECAST, expected=(21.2, 21.8))
        >>> a.explain()
        'forecast, expected 21.2 to 21.8'
        """
        parts = [p for p in (self.view, band_text(self.expected)) if p]
        if self.channels:
            parts.append("channels " + ", ".join(self.channels))
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def overlaps(start: float, end: float, other_start: float, other_end: float) -> bool:
    """Whether two spans of time share a moment; both ends count (the one overlap rule).

    >>> overlaps(0, 10, 10, 20), overlaps(0, 10, 10.5, 20), overlaps(5, 6, 0, 10)
    (True, False, True)
    """
    return start <= other_end and end >= other_start


class LabelKind(str, Enum):
    """What a person (or a generator) says a span is; its value is what the file holds."""

    ANOMALY = "anomaly"
    FALSE_POSITIVE = "false_positive"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Label(_Pickled):
    """One act of labeling: ``kind`` is said of ``channel`` from ``start`` to ``end``.

    ``alert`` is the id of the alert labeled, None for a span labeled on its own (a missed
    anomaly, ground truth); ``at`` the wall time it was made. ``extra`` holds what
    generators add, in the order they wrote it (``source``: who generated it; ``file``:
    the data file it belongs to; ``kind``: the simulator's fault), so a label read is
    written back the same.
    """

    id: str
    channel: str
    start: float
    end: float
    kind: LabelKind
    alert: int | None = None
    at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str | None:
        """The tool that generated the label (``simulator``, ``nab``); None if a person."""
        return self.extra.get("source") or None

    @property
    def file(self) -> str | None:
        """The data file the label belongs to, when it names one (NAB windows do)."""
        target = self.extra.get("file")
        return None if target is None else str(target)

    @property
    def fault(self) -> str | None:
        """The simulator's name for the fault labeled (``spike``, ``stuck``, ...)."""
        return self.extra.get("kind")

    def overlaps(self, start: float, end: float) -> bool:
        """Whether the label's span shares a moment with ``start``..``end`` (ends count)."""
        return overlaps(self.start, self.end, start, end)

    def covers(self, alert: Alert) -> bool:
        """Whether this label speaks of ``alert``: by its id, or as a span of the alert's
        channel that overlaps the episode (a label naming another alert does not)."""
        if self.channel != alert.channel:
            return False
        if self.alert is not None:
            return self.alert == alert.id
        return self.overlaps(alert.start, alert.until)


@dataclass(frozen=True, slots=True)
class Retract:
    """Undo of a label: the file appends ``{"retract": id}`` and never rewrites a line."""

    label: str
    at: float | None = None


@dataclass
class Settings:
    """Everything that shapes detection; the CLI fills it from options.

    ``threshold``, ``hysteresis`` and ``features`` left at None take the detector's own.
    """

    fmt: str = "auto"
    detector: str = DEFAULT_DETECTOR
    params: dict[str, Any] = field(default_factory=dict)
    features: tuple[str, ...] | None = None
    threshold: float | None = None
    hysteresis: int | None = None
    warmup: int = DEFAULT_WARMUP
    impute: str = "mean"
    seed: int | None = 42
    capacity: int = DEFAULT_CAPACITY
    #: Physical range per channel name or pattern: values outside always alert.
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)
    sentinels: tuple[float, ...] = DEFAULT_SENTINELS
    #: A channel silent for this many times its usual interval alerts (0: never).
    dropout: float = DEFAULT_DROPOUT
    #: Learn from samples inside open alert episodes too (river's plain behaviour).
    learn_in_alerts: bool = False
    #: The joint view of each source's channels (``sensorscope.joint``).
    joint: bool = True
    #: Samples of an episode that are not learned (then a lasting change is learned).
    hold: int = DEFAULT_HOLD
    #: The unit shown per channel name (or pattern), over the one the device prints.
    units: dict[str, str] = field(default_factory=dict)
    #: Per channel name (or pattern): a parsed value becomes ``raw * scale + offset``
    #: before it is scored, so thresholds, ranges and the scores files are in these units.
    scales: dict[str, float] = field(default_factory=dict)
    offsets: dict[str, float] = field(default_factory=dict)
    #: Per-channel thresholds by exact channel name (a ``[channels.NAME]`` table's).
    thresholds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelConfig:
    """What a ``[channels.NAME]`` table of ``sensorscope.toml`` holds for one channel; a
    field left at None is not set (the options, the device or the defaults decide)."""

    unit: str | None = None
    scale: float | None = None
    offset: float | None = None
    threshold: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(slots=True)
class ScoredSample:
    t: float
    channel: str
    value: float | None
    imputed: bool
    score: float
    alert: bool


@dataclass(slots=True)
class ScoredBatch:
    """Every channel sample one :meth:`Pipeline.process` call scored, in input order.

    One row per channel sample, as columns. ``channel`` indexes ``names`` (every channel
    the pipeline knows, in the order it first saw them); ``reading`` indexes ``readings``,
    the ``(receive time, source, raw line)`` of each reading the rows came from, so a
    consumer can publish a reading with its line, values and scores together.
    """

    names: list[str]
    t: np.ndarray  # float64: the reading's time (device time if it printed one)
    channel: np.ndarray  # int32 index into names
    value: np.ndarray  # float64; NaN where a channel has no value to impute from yet
    imputed: np.ndarray  # bool
    score: np.ndarray  # float64 in [0, 1]
    alert: np.ndarray  # bool: an alert episode is open on the channel
    reading: np.ndarray  # int32 index into readings
    readings: list[tuple[float, str, str]]

    def __len__(self) -> int:
        return len(self.t)

    def rows(self) -> Iterator[ScoredSample]:
        """The rows as :class:`ScoredSample` objects (slow; for tests and small batches)."""
        names = self.names
        for t, c, v, i, s, a in zip(
            self.t.tolist(), self.channel.tolist(), self.value.tolist(),
            self.imputed.tolist(), self.score.tolist(), self.alert.tolist(), strict=True,
        ):  # fmt: skip
            yield ScoredSample(t, names[c], None if v != v else v, i, s, a)

    @staticmethod
    def empty(names: list[str]) -> ScoredBatch:
        import numpy as np  # not at import time: `record` opens its port before numpy loads

        f, b, i = np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int32)
        return ScoredBatch(names, f, i, f, b, f, b, i, [])


@dataclass
class Counters:
    lines: int = 0
    parsed: int = 0
    parse_errors: int = 0
    garbage: int = 0
    text: int = 0
    partial: int = 0
    overlong: int = 0
    empty: int = 0
    headers: int = 0
    ghosts: int = 0
    samples: int = 0
    imputed: int = 0
    connects: int = 0
    disconnects: int = 0
    reconnects: int = 0
    alerts: int = 0


@dataclass(slots=True)
class History:
    """A channel's kept samples, oldest first, as columns (copies: safe to read anywhere)."""

    t: np.ndarray  # float64: the samples' times
    value: np.ndarray  # float64; NaN where there was nothing to impute from
    score: np.ndarray  # float64 in [0, 1]
    imputed: np.ndarray  # bool
    alert: np.ndarray  # bool: inside an alert episode

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    """How a channel's history beyond its full-resolution ring is kept (core/history.py).

    Tier 1 merges ``factor`` samples into a bucket, each further tier ``factor`` buckets
    of the one before; a tier keeps ``buckets`` to ``2 * buckets`` of them, and the last
    tier, instead of forgetting its oldest, merges them in pairs: so everything since the
    start stays, ever coarser, in bounded memory.
    """

    factor: int = 4
    buckets: int = 1024
    tiers: int = 5


@dataclass(frozen=True, slots=True)
class HistoryHeld:
    """How much of a channel's history is held: its time span and its memory."""

    first_t: float
    last_t: float
    samples: int  # every sample seen (all of them are in some tier)
    nbytes: int

    @property
    def span(self) -> float:
        return max(0.0, self.last_t - self.first_t) if self.samples else 0.0


@dataclass(frozen=True, slots=True)
class ViewRequest:
    """The stretch of a channel's history a chart asks for.

    ``span`` None: what the full-resolution ring holds; ``end`` None: up to the newest
    sample (the view follows the data).
    """

    span: float | None = None
    end: float | None = None
    points: int = 200


@dataclass(slots=True)
class HistoryWindow:
    """At most ``points`` of a channel's history over [start, end], oldest first.

    Each point stands for one sample or for a bucket of them: ``lo``/``hi`` its range,
    ``last`` its last value, ``score`` its highest score, ``alo``/``ahi`` the range of its
    alerted samples (NaN: none), so a spike and an alert survive any zoom. ``t`` is the
    time of its last sample.
    """

    start: float
    end: float
    t: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    last: np.ndarray
    score: np.ndarray
    alo: np.ndarray
    ahi: np.ndarray
    imputed: np.ndarray  # bool: any sample of it imputed
    alert: np.ndarray  # bool: any sample of it inside an alert episode
    per_point: float  # samples a point stands for (1.0: every sample as it came)
    held: HistoryHeld

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True, slots=True)
class ChannelMetrics:
    """What the labels made so far say about one channel's alerts (or all of them)."""

    alerts: int
    labeled: int
    true: int
    false: int
    missed: int
    precision: float | None  # over the labelled alerts
    recall: float | None  # confirmed alerts against them and the missed anomalies
    false_per_hour: float | None  # of data time watched


@dataclass
class ChannelSnapshot:
    name: str
    samples: int
    imputed: int
    alerts: int
    first_t: float
    last_t: float
    last_value: float | None
    last_score: float
    threshold: float
    in_alert: bool
    warming_up: bool
    interval: float | None
    history: History
    rx_t: float = 0.0
    #: What the value is measured in ("" when neither the device nor the user said).
    unit: str = ""
    #: The stretch of the whole history a chart asked for (the detail channel's only).
    view: HistoryWindow | None = None


@dataclass(frozen=True)
class MonitorEnd:
    """What a stopped monitor has to say besides its last snapshot (``watch`` prints it)."""

    #: Lines recorded but still queued for scoring when quit came before scoring caught up.
    left_unscored: int
    #: The state file (``--state``), if one was kept, and whether it was saved at all.
    state_path: str | None
    state_saved: bool
    #: The runner's errors (a state file that could not be written is among them).
    errors: list[str]


@dataclass
class ReplayState:
    position: float
    t: float | None
    speed: float | None
    paused: bool
    done: bool


@dataclass
class Snapshot:
    """A consistent copy of the state, safe to read from any thread."""

    version: int
    counters: Counters
    channels: dict[str, ChannelSnapshot]
    alerts: list[Alert]
    #: The latest lines that did not parse cleanly (and connection events), oldest first.
    raw_lines: list[RawLine]
    #: The latest received lines of every kind, parsed ones too, oldest first.
    all_lines: list[RawLine]
    sources: dict[str, SourceStatus]
    errors: list[str]
    done: bool
    replay: ReplayState | None = None
    #: The labels in force, in the order they were made; each alert's ``label`` is joined.
    labels: list[Label] = field(default_factory=list)
    lines_per_s: float = 0.0
    data_t: float | None = None
    # "Now" on the receive clock: wall time when a live source is watched, the replay's
    # position otherwise. Staleness is judged on it, so it shows even when every channel
    # of a live board falls silent (data time stops then too).
    clock: float | None = None
    #: The receive time of the last line scored (None before the first).
    processed_t: float | None = None
    # Things worth saying once that are not errors: damaged lines skipped in a file read.
    notices: list[str] = field(default_factory=list)
