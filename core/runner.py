"""Sources and a pipeline in worker threads: what ``watch``, ``score`` and ``serve`` run.

One reader thread per live source (file replays share one, in order), a recorder written by
the readers so recording never waits on scoring, and one scoring worker that owns the
:class:`~sensorscope.pipeline.Pipeline`. A UI asks :meth:`Runner.snapshot` on a timer; it
never receives a message per sample.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from sensorscope.errors import UserError
from sensorscope.model import Frame, Snapshot, SourceStatus, ViewRequest
from sensorscope.recording import RecordingWriter
from sensorscope.sources.base import READ_TIMEOUT, Source

if TYPE_CHECKING:
    from sensorscope.pipeline import Pipeline
    from sensorscope.state_file import StateFile

# Batches queued at most from sources that can wait (files, stdin): their reader waits
# for room, so a fast file or pipe cannot pile up in memory ahead of the scorer (a pipe
# then holds its writer back). Serial ports and brokers never wait: what they are not
# read in time is lost, so their batches are queued whatever the backlog.
MAX_QUEUED_BATCHES = 32
# What a port or broker may have waiting for the scorer, in bytes of memory, before it is
# past keeping up: beyond it a batch is recorded but not scored, and counted, so that memory
# stays bounded when scoring cannot keep up for good. In bytes, not lines: a 64-channel
# line is ten times a 4-channel one. 32 MB is half a minute of a 100k values/s flood and
# hours of a usual board.
MAX_LIVE_BACKLOG = 32 << 20
# What a queued Frame costs beyond its text (the object, its time and source, the list slot).
FRAME_BYTES = 160
_NOTHING, _ROOM, _BACKLOG = 0, 1, 2
# With a UI attached, the scorer pauses POLITE_PAUSE after each POLITE_WORK seconds of
# scoring (in proportion after shorter stretches).
POLITE_WORK = 0.025
POLITE_PAUSE = 0.015
# Frames scored in one call at most, when batches have queued up.
MERGE_FRAMES = 16384
# How long the scorer gathers what a live or paced source gives before scoring it (s). A
# call costs ~2 ms per channel whatever it holds, so a board printing 50 lines a second,
# scored line by line, kept half a core busy; the monitor draws at 20 Hz, so a tenth of a
# second later is not seen.
GATHER = 0.1
# How often live sources are checked for channels that fell silent (s).
TICK = 0.25


class Runner:
    """Runs sources and a pipeline in threads until the sources end or stop() is called."""

    def __init__(
        self,
        sources: Sequence[Source],
        pipeline: Pipeline | None,
        recorder: RecordingWriter | None = None,
        live_backlog: int = MAX_LIVE_BACKLOG,
        state_file: StateFile | None = None,
    ) -> None:
        self.sources = list(sources)
        self.live_backlog = live_backlog
        self._live_queued = 0
        self.pipeline = pipeline
        self.recorder = recorder
        # Saved by the scoring worker (the engines' only user): now and then, and at the end.
        self.state_file = state_file
        self._crashed = False
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        # Each batch with what it holds while queued (_ROOM, _BACKLOG or _NOTHING) and, for
        # _BACKLOG, its bytes of the live backlog.
        self._queue: queue.Queue[tuple[list[Frame], int, int] | None] = queue.Queue()
        self._room = threading.BoundedSemaphore(MAX_QUEUED_BATCHES)
        self._threads: list[threading.Thread] = []
        self._readers_left = 0
        self._left_lock = threading.Lock()
        self._batches_in = 0
        self._batches_done = 0
        # Set by an interactive monitor: scoring then leaves the UI room to run.
        self.share_with_ui = False
        self._worker: threading.Thread | None = None
        self.done = threading.Event()
        self.left_unscored = 0  # lines still queued when stop() gave up waiting for scoring

    def start(self) -> None:
        """Open every source (raising UserError for the first that cannot), then run."""
        for src in self.sources:
            src.open()
            if self.pipeline is not None and src.parser_args is not None:
                self.pipeline.use_parser(src.name, **src.parser_args)
        # Files replayed as fast as possible run one after another in one thread, so their
        # output keeps input order; anything paced in time runs in a thread of its own.
        files = [s for s in self.sources if not s.live and s.pacer.speed is None]
        live = [s for s in self.sources if s not in files]
        if files and not live and self.pipeline is not None:
            # Only files, as fast as they go: the scoring worker reads them itself. Nothing
            # can be lost by waiting, and a reader thread would only take turns with it for
            # the GIL (reading is a tenth of the work).
            self._readers_left = 1
            self._worker = threading.Thread(
                target=self._work_inline, args=(files,), name="score", daemon=True
            )
            self._worker.start()
            return
        groups: list[list[Source]] = [[s] for s in live] + ([files] if files else [])
        self._readers_left = len(groups)
        for group in groups:
            th = threading.Thread(
                target=self._read, args=(group,), name=f"read-{group[0].name}", daemon=True
            )
            self._threads.append(th)
        self._worker = threading.Thread(target=self._work, name="score", daemon=True)
        self._worker.start()
        for th in self._threads:
            th.start()
        if not groups:
            self._queue.put(None)

    def _work_inline(self, files: list[Source]) -> None:
        """Read the files and score what they give, in this one thread."""
        assert self.pipeline is not None
        try:
            for _src, batch in self._batches_of(files):
                with self._left_lock:
                    self._batches_in += 1
                started = time.monotonic()
                self.pipeline.process(batch)
                if self.share_with_ui:
                    self._step_aside(time.monotonic() - started)
                self._batches_done += 1
                self._keep_state(final=False)
        except UserError as exc:
            self.errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - kept as data, shown by the caller
            self.errors.append(f"scoring stopped: {type(exc).__name__}: {exc}")
            self._crashed = True
            self.stop_event.set()
        finally:
            for src in files:
                src.close()
            with self._left_lock:
                self._readers_left = 0
            self._keep_state(final=True)
            self.pipeline.finish()
            self.done.set()

    def _batches_of(self, sources: list[Source]) -> Iterator[tuple[Source, list[Frame]]]:
        """Each source's batches in turn, until they end or ``stop`` is set."""
        stop = self.stop_event
        for src in sources:
            for batch in src.batches(stop):
                yield src, batch
                if stop.is_set():
                    return

    def _read(self, group: list[Source]) -> None:
        try:
            for src, batch in self._batches_of(group):
                if self.recorder is not None:
                    self.recorder.write(batch)
                # What the batch holds while queued: a room slot, or its bytes of the
                # live backlog.
                held = _ROOM if src.can_wait and self._wait_for_room() else _NOTHING
                size = 0
                if not src.can_wait:
                    size = FRAME_BYTES * len(batch) + sum(len(f.line) for f in batch if f.line)
                with self._left_lock:
                    if not src.can_wait:
                        if self._live_queued + size > self.live_backlog:
                            src.status.unscored += len(batch)
                            continue
                        self._live_queued += size
                        held = _BACKLOG
                    self._batches_in += 1
                self._queue.put((batch, held, size))
        except UserError as exc:
            self.errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a reader must report, not vanish silently
            self.errors.append(f"{group[0].name}: {type(exc).__name__}: {exc}")
        finally:
            for src in group:
                src.close()
            with self._left_lock:
                self._readers_left -= 1
                last = self._readers_left == 0
            if last:
                self._queue.put(None)

    def _wait_for_room(self) -> bool:
        """Wait until the queue has room for one more batch of a source that can wait;
        False if stopped first (what was read is queued anyway, to be scored)."""
        while not self._room.acquire(timeout=READ_TIMEOUT):
            if self.stop_event.is_set():
                return False
        return True

    def _take(self, item: tuple[list[Frame], int, int] | None) -> list[Frame] | None:
        """A batch out of the queue; the room it held is free again."""
        if item is None:
            return None
        batch, held, size = item
        if held == _ROOM:
            self._room.release()
        elif held == _BACKLOG:
            with self._left_lock:
                self._live_queued -= size
        return batch

    def _work(self) -> None:
        live = any(s.live for s in self.sources)
        next_tick = time.monotonic() + TICK
        try:
            while True:
                try:
                    batch = self._take(self._queue.get(timeout=0.2))
                except queue.Empty:
                    if self.stop_event.is_set() and self._readers_left == 0:
                        break
                    batch = []
                end = batch is None
                batches = 0 if end or not batch else 1
                frames = [] if end else list(batch)
                # Everything queued meanwhile, and what comes within GATHER, goes in the same
                # call: scoring costs little per sample and more per call, so a backlog is
                # cleared in a few big steps and a slow board is not scored line by line.
                until = time.monotonic() + GATHER
                while not end and frames and len(frames) < MERGE_FRAMES:
                    try:
                        item = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                    except queue.Empty:
                        break
                    more = self._take(item)
                    if more is None:
                        end = True
                        break
                    frames.extend(more)
                    batches += 1
                if frames and self.pipeline is not None:
                    started = time.monotonic()
                    self.pipeline.process(frames)
                    if self.share_with_ui:
                        self._step_aside(time.monotonic() - started)
                self._batches_done += batches
                self._keep_state(final=False)
                if live and self.pipeline is not None and time.monotonic() >= next_tick:
                    self.pipeline.tick(time.time())
                    next_tick = time.monotonic() + TICK
                if end:
                    break
        except Exception as exc:  # noqa: BLE001 - kept as data, shown by the caller
            self.errors.append(f"scoring stopped: {type(exc).__name__}: {exc}")
            self._crashed = True
            self.stop_event.set()
        finally:
            self._keep_state(final=True)
            if self.pipeline is not None:
                self.pipeline.finish()
            self.done.set()

    def _keep_state(self, final: bool) -> None:
        """Save the state file at the end (before open episodes are closed, so a restart
        goes on inside them) or when a periodic save is due. Not after scoring failed: the
        file from before is better than state left half-way through a batch."""
        sf = self.state_file
        if sf is None or self.pipeline is None or self._crashed:
            return
        if not final and not sf.due():
            return
        try:
            sf.save(self.pipeline)
        except UserError as exc:
            if str(exc) not in self.errors:
                self.errors.append(str(exc))

    def _step_aside(self, spent: float) -> None:
        """After a stretch of scoring, give a UI thread uncontested time for the GIL.

        Scoring holds the GIL most of the time it runs; a UI thread that gives the GIL up at
        every wait would get it back too rarely to draw or answer a key. What is not scored
        yet waits in the queue; nothing is lost.
        """
        if spent >= POLITE_WORK:
            time.sleep(POLITE_PAUSE)
        elif spent >= 0.002:
            time.sleep(spent * POLITE_PAUSE / POLITE_WORK)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the end of all input; True if it ended (False on timeout)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done.is_set():
            left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if left <= 0:
                return False
            self.done.wait(left)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading; what was already read is still scored and recorded."""
        self.stop_event.set()
        for th in self._threads:
            th.join(timeout)
        if self._worker is not None:
            self._worker.join(timeout)
            if self._worker.is_alive():
                # Scoring was behind when told to stop: what it had not reached is recorded
                # (the readers wrote it) but will not be scored; count it, to be said.
                with self._queue.mutex:
                    self.left_unscored = sum(len(i[0]) for i in self._queue.queue if i)
        if self.recorder is not None:
            self.recorder.close()

    def idle(self) -> bool:
        """True when every batch read so far has been scored."""
        with self._left_lock:
            return self._batches_in == self._batches_done

    def statuses(self) -> dict[str, SourceStatus]:
        return {s.name: s.status for s in self.sources}

    def snapshot(
        self, points: int | None = None, detail: str | None = None, view: ViewRequest | None = None
    ) -> Snapshot:
        assert self.pipeline is not None, "a recorder-only runner has no state to show"
        snap = self.pipeline.snapshot(self.statuses(), self.errors, points, detail, view)
        snap.done = self.done.is_set()
        return snap
