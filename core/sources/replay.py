"""Replays of sensorscope recordings (paced by :class:`Pacer`) and tails of growing ones."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sensorscope.model import Frame
from sensorscope.recording import RecordingReader, decode_record, read_header
from sensorscope.sources.base import FILE_BATCH, READ_TIMEOUT, Source


class Pacer:
    """Replay clock and controls: speed (None = max), pause, seek and restart.

    The replaying thread calls :meth:`wait` before each frame; the UI thread calls the
    controls. The clock maps data time to wall time from an anchor ``(data t, monotonic
    t)``; every control re-anchors it under one lock, at the data time it has reached, so
    a change of speed or a pause neither skips nor repeats a stretch of the recording. Each
    pass over the file (the first, a restart, a loop) anchors it anew at its first frame.

    A seek forward fast-forwards (frames still flow, unpaced, so every detector sees every
    sample); a seek back or a restart replays from the start up to the target, since
    detector state cannot be rewound. Seeks add up: a seek asked for before the replay has
    reached the previous one's target moves that target, not the position shown.
    """

    def __init__(self, speed: float | None) -> None:
        self.speed = speed
        self.paused = False
        # The position: data time of the last frame let through, or of a seek target reached.
        self.t: float | None = None
        self._origin: tuple[float, float] | None = None  # (data t, monotonic t)
        self._ff_until: float | None = None  # pending seek target
        self._restart = False
        # No frame of this pass let through yet: ``t`` is still where the last pass was.
        self._fresh = True
        self._lock = threading.Lock()

    # -- the clock (under the lock) ----------------------------------------------------

    def _reanchor(self) -> None:
        """Anchor the clock at the data time it has reached, from now on (a paused clock
        stands still at its anchor). Without an anchor (max speed, a fast-forward, nothing
        let through yet) the next frame makes one."""
        if self._origin is None or self.speed is None or self._ff_until is not None:
            self._origin = None
            return
        t0, m0 = self._origin
        now = time.monotonic()
        self._origin = (t0 if self.paused else t0 + (now - m0) * self.speed, now)

    # -- controls (any thread) -------------------------------------------------------

    def set_speed(self, speed: float | None) -> None:
        with self._lock:
            self._reanchor()
            self.speed = speed

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            self._reanchor()
            self.paused = paused

    def seek(self, seconds: float) -> None:
        with self._lock:
            if self.t is None:
                return
            # From the target of a seek not yet reached, so that quick presses add up.
            base = self._ff_until if self._ff_until is not None else self.t
            target = base + seconds
            if target < self.t and not self._fresh:
                # Behind what was let through: only a replay from the start gets there.
                self._restart = True
            self._ff_until = target
            self._origin = None

    def restart(self) -> None:
        with self._lock:
            self._restart = True
            self._ff_until = None
            self._origin = None

    # -- the replaying thread -----------------------------------------------------------

    def take_restart(self) -> bool:
        with self._lock:
            if self._restart:
                self._restart = False
                return True
            return False

    def rewind(self, asked: bool) -> None:
        """The replay starts again from its first frame, which anchors the clock anew.

        ``asked``: a restart or seek back was asked for, whose target (if any) still
        stands. Otherwise the replay reached its end and loops: a seek forward not reached
        by then was past the end, and would skip the whole of the next pass.
        """
        with self._lock:
            self._origin = None
            self._fresh = True
            if not asked and not self._restart:
                self._ff_until = None

    def at_end(self) -> None:
        """The replay holds at its end: a seek forward can go nowhere and is dropped, so a
        seek back after it counts from the end."""
        with self._lock:
            if not self._restart:
                self._ff_until = None

    def unhindered(self, stop: threading.Event) -> bool:
        """True when a whole batch may go through without a look at each frame: max speed,
        not paused, and no seek, restart or stop asked for."""
        return (
            self.speed is None
            and not self.paused
            and self._ff_until is None
            and not self._restart
            and not stop.is_set()
        )

    def passed(self, t: float) -> None:
        """Frames up to data time ``t`` went through unhindered."""
        with self._lock:
            self.t = t
            self._fresh = False

    @property
    def realtime(self) -> bool:
        """True when frames must be paced one by one (not max speed, not fast-forwarding)."""
        return self.speed is not None and self._ff_until is None

    def wait(self, t: float, stop: threading.Event) -> bool:
        """Wait until data time ``t`` is due; False if stopped or a restart is asked for."""
        while True:
            if stop.is_set() or self._restart:
                return False
            with self._lock:
                if self._fresh and self._ff_until is None:
                    # A new pass stands at its first frame (paused, after a restart).
                    self.t = t
                if self._ff_until is not None:
                    if t < self._ff_until:
                        self.t = t
                        self._fresh = False
                        return True
                    # The replay stands at the target now, even paused (at its first
                    # frame for a target before that), so the next seek counts from there.
                    self.t = t if self._fresh else self._ff_until
                    self._ff_until = None
                    self._origin = None
                if self.paused:
                    due = None
                elif self.speed is None:
                    self.t = t
                    self._fresh = False
                    return True
                else:
                    now = time.monotonic()
                    if self._origin is None:
                        self._origin = (t, now)
                    due = self._origin[1] + (t - self._origin[0]) / self.speed
                    if due <= now:
                        self.t = t
                        self._fresh = False
                        return True
            delay = READ_TIMEOUT if due is None else min(due - time.monotonic(), READ_TIMEOUT)
            if delay > 0:
                stop.wait(delay)


class ReplaySource(Source):
    """A file replayed through the same path as a live source, with replay controls."""

    live = False
    can_wait = True

    def __init__(self, name: str, path: str, speed: float | None, loop: bool = False) -> None:
        super().__init__(name)
        self.path = path
        self.pacer = Pacer(speed)
        self.loop = loop
        # An interactive monitor keeps a finished replay open for a seek back or a restart;
        # a headless scorer wants it to end.
        self.hold_at_end = False
        self.offset = 0
        self._size = 1

    def chunks(self) -> Iterator[tuple[list[Frame], int]]:
        """Every frame of the file from the start, in lists, each with how many of its
        frames are lines (not events); ``self.offset`` is at the end of each list's bytes."""
        raise NotImplementedError

    def batches(self, stop: threading.Event) -> Iterator[list[Frame]]:
        self.status.state = "connected"
        self._size = max(1, os.path.getsize(self.path))
        pacer = self.pacer
        while True:
            restarted = False
            batch: list[Frame] = []
            start = 0
            for chunk, lines in self.chunks():
                end = self.offset
                if pacer.unhindered(stop):
                    # At max speed with nothing asked of the replay, whole chunks go into
                    # batches of FILE_BATCH; a pause, seek or restart is seen at the next.
                    pacer.passed(chunk[-1].t)
                    self.status.lines += lines
                    batch += chunk
                    while len(batch) >= FILE_BATCH:
                        out, batch = batch[:FILE_BATCH], batch[FILE_BATCH:]
                        self._progress(out[-1])
                        yield out
                    start = end
                    continue
                n = len(chunk)
                stopped = False
                for i, frame in enumerate(chunk):
                    # Frame by frame, the read position is interpolated within the chunk.
                    self.offset = start + (end - start) * (i + 1) // n
                    if frame.event is None:
                        self.status.lines += 1
                    if pacer.realtime:
                        if batch:
                            yield batch
                            batch = []
                        if not pacer.wait(frame.t, stop):
                            restarted = pacer.take_restart()
                            stopped = True
                            break
                        self._progress(frame)
                        yield [frame]
                        continue
                    if not pacer.wait(frame.t, stop):
                        restarted = pacer.take_restart()
                        stopped = True
                        break
                    batch.append(frame)
                    if len(batch) >= FILE_BATCH:
                        self._progress(frame)
                        yield batch
                        batch = []
                if stopped:
                    break
                self.offset = start = end
            if batch:
                self._progress(batch[-1])
                yield batch
            if stop.is_set():
                break
            # A restart (or seek back) asked for as the last frame went through counts too.
            asked = restarted or pacer.take_restart()
            if not asked and not self.loop:
                self.status.position = 1.0
                self.status.state = "eof"
                while self.hold_at_end and not stop.wait(READ_TIMEOUT):
                    pacer.at_end()
                    if pacer.take_restart():
                        asked = True
                        break
                if not asked:
                    break
            # Every pass is paced by its own time stamps from its first frame on: the
            # clock of the pass before would find them all overdue and let them race.
            pacer.rewind(asked)
            self.status.state = "connected"
            self.status.lines = 0
            yield [Frame(pacer.t or 0.0, self.name, event="reset", detail="replay restarted")]
        if self.status.state != "eof":
            self.status.state = "stopped"

    def _progress(self, frame: Frame) -> None:
        self.status.position = min(1.0, self.offset / self._size)
        self.status.replay_t = frame.t


class RecordingSource(ReplaySource):
    """A sensorscope JSONL recording, replayed line by line through the same parser."""

    kind = "recording"

    def __init__(self, path: str, speed: float | None = None, loop: bool = False) -> None:
        self.header = read_header(path)
        srcs = list(self.header.get("sources", {}) or {})
        super().__init__(srcs[0] if len(srcs) == 1 else Path(path).stem, path, speed, loop)
        self._names = srcs or [self.name]
        self.skipped = 0

    @property
    def names(self) -> list[str]:
        return self._names

    def chunks(self) -> Iterator[tuple[list[Frame], int]]:
        reader = RecordingReader(self.path)
        for frames, lines in reader.chunks():
            self.offset = reader.offset
            self.skipped = reader.skipped
            yield frames, lines
        self.skipped = reader.skipped


class FollowSource(Source):
    """A recording that another process is still writing, tailed like ``tail -f``.

    Reads what is there at once, then waits for more; a line is taken only once its
    newline is on disk, so a line being written is never read torn.
    """

    kind = "follow"
    live = True
    can_wait = True

    def __init__(self, path: str) -> None:
        self.header = read_header(path)
        srcs = list(self.header.get("sources", {}) or {})
        super().__init__(srcs[0] if len(srcs) == 1 else Path(path).stem)
        self._names = srcs or [self.name]
        self.path = path
        self.skipped = 0

    @property
    def names(self) -> list[str]:
        return self._names

    def batches(self, stop: threading.Event) -> Iterator[list[Frame]]:
        self.status.state = "connected"
        with open(self.path, "rb") as fh:
            fh.readline()
            pending = b""
            while not stop.is_set():
                chunk = fh.read(1 << 20)
                if not chunk:
                    self.status.state = "following"
                    stop.wait(READ_TIMEOUT)
                    continue
                data = pending + chunk
                cut = data.rfind(b"\n") + 1
                pending = data[cut:]
                frames = []
                for raw in data[:cut].splitlines():
                    frame = decode_record(raw)
                    if frame is None:
                        self.skipped += raw.strip() != b""
                        continue
                    frames.append(frame)
                if frames:
                    self.status.lines += sum(f.event is None for f in frames)
                    self.status.replay_t = frames[-1].t
                    yield frames
        self.status.state = "stopped"
