"""The MQTT source: messages on a topic filter, each topic a source of its own.

paho-mqtt's network thread calls the callbacks here; they only append to a queue, so a slow
consumer never stalls the connection.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

from sensorscope.errors import UserError
from sensorscope.model import Frame
from sensorscope.mqtt import (
    AGENT_TYPES,
    BrokerUrl,
    Connection,
    MqttOptions,
    agent_message,
    alert_text,
    reading_line,
)
from sensorscope.sources.base import DEFAULT_MAX_LINE, FILE_BATCH, READ_TIMEOUT, Source, decode_line


class MqttSource(Source):
    """Messages on a topic filter; each topic is a source of its own.

    ``names`` is one name for the whole filter (``mqtt:lab/#``): the pipeline prefixes the
    channels of a wildcard filter with the topic's source name, as it does for several
    ports. An exact topic is one source, named by its last level.
    """

    kind = "mqtt"
    live = True

    def __init__(
        self, url: BrokerUrl, options: MqttOptions | None = None, max_line: int = DEFAULT_MAX_LINE
    ) -> None:
        self.filter = url.path
        levels = url.path.split("/")
        wild = next((i for i, lv in enumerate(levels) if lv in ("+", "#")), None)
        self._fixed = levels if wild is None else levels[:wild]
        if wild is None:
            named = levels[:-1] if len(levels) > 1 and levels[-1] in AGENT_TYPES else levels
            name = named[-1] or url.path
        else:
            name = f"{url.scheme}:{url.path}"
        super().__init__(name)
        self.wildcard = wild is not None
        self.broker_url = url
        self.url = url.where  # what a recording's header says: never the password
        self.options = options
        self.max_line = max_line
        self.conn: Connection | None = None
        self._frames: queue.SimpleQueue[Frame] = queue.SimpleQueue()
        self._runs: dict[str, tuple[str, int]] = {}
        self.messages = 0
        self.lost = 0  # agent readings that never arrived (gaps in their sequence numbers)
        self.duplicates = 0  # QoS 1 deliveries seen twice
        self.failed = 0

    def open(self) -> None:
        if self.conn is not None:
            return
        conn = Connection(
            self.broker_url, self.options, "watch", [self.filter], on_message=self._on_message
        )
        conn.listeners.append(self._on_state)
        self.conn = conn
        try:
            conn.start()
        except UserError:
            self.conn = None
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.stop()

    def batches(self, stop: threading.Event) -> Iterator[list[Frame]]:
        self.open()
        get = self._frames.get
        while not stop.is_set():
            try:
                frames = [get(timeout=READ_TIMEOUT)]
            except queue.Empty:
                continue
            while len(frames) < FILE_BATCH:
                try:
                    frames.append(self._frames.get_nowait())
                except queue.Empty:
                    break
            self.status.lines += sum(f.event is None for f in frames)
            yield frames
        # Stopped: take no more, but what already arrived is still scored and recorded.
        self.close()
        rest = []
        while True:
            try:
                rest.append(self._frames.get_nowait())
            except queue.Empty:
                break
        self.status.state = "stopped"
        if rest:
            self.status.lines += sum(f.event is None for f in rest)
            yield rest

    def summary(self) -> str:
        """What arrived, for a headless command's closing lines."""
        parts = [f"{self.messages} messages", f"{self.lost} agent readings missing"]
        if self.duplicates:
            parts.append(f"{self.duplicates} repeats dropped")
        if self.failed:
            parts.append(f"{self.failed} not understood")
        parts.append(f"{self.status.reconnects} reconnects")
        return f"{self.url}: {', '.join(parts)}"

    # -- paho's thread --------------------------------------------------------------------

    def _on_state(self, event: str, detail: str) -> None:
        conn = self.conn
        if event == "retrying":
            self.status.detail = detail
            return
        self.status.state = "connected" if event == "connect" else "reconnecting"
        self.status.detail = conn.detail if conn is not None else detail
        if detail == "reconnected":
            self.status.reconnects += 1
        where = self.broker_url.where
        text = f"{where} {detail}" if event == "connect" else self.status.detail
        self._frames.put(Frame(time.time(), self.name, event=event, detail=text))

    def _on_message(self, client, userdata, msg) -> None:  # noqa: ARG002
        self.messages += 1
        try:
            for frame in self.frames_for(msg.topic, msg.payload, time.time()):
                self._frames.put(frame)
        except Exception as exc:  # noqa: BLE001 - one odd message must not end paho's thread
            self.failed += 1
            self.status.detail = f"message on {msg.topic} not understood: {exc}"

    def source_name(self, topic: str, agent: bool) -> str:
        """``lab/pi1/board1/reading`` under ``lab/#`` -> ``pi1/board1``."""
        if not self.wildcard:
            return self.name
        levels = topic.split("/")
        if agent and len(levels) > 1 and levels[-1] in AGENT_TYPES:
            levels = levels[:-1]
        rest = levels[len(self._fixed) :]
        return "/".join(rest) if rest and any(rest) else levels[-1] or topic

    def frames_for(self, topic: str, payload: bytes, now: float) -> list[Frame]:
        msg = agent_message(payload)
        if msg is not None:
            frame = self._agent_frame(self.source_name(topic, agent=True), msg, now)
            if frame is not None:
                return frame
        name = self.source_name(topic, agent=False)
        out = []
        for part in payload.splitlines():
            cut = len(part) > self.max_line
            text, raw = decode_line(part[: self.max_line])
            if text.strip() or cut:
                out.append(Frame(now, name, text, raw, cut=cut))
        return out

    def _agent_frame(self, name: str, msg: dict[str, Any], now: float) -> list[Frame] | None:
        kind = msg["type"]
        if kind == "reading":
            line = reading_line(msg)
            rx_t = msg.get("rx_t")
            if line is None or not isinstance(rx_t, (int, float)):
                return None
            out = self._sequence(name, msg, float(rx_t))
            if out is None:
                return []
            out.append(Frame(float(rx_t), name, line))
            return out
        if kind == "alert":
            return [Frame(now, name, event="alert", detail=alert_text(msg))]
        event = msg.get("event")
        t = msg.get("t")
        if event not in ("connect", "disconnect") or not isinstance(t, (int, float)):
            return None
        return [Frame(float(t), name, event=str(event), detail=str(msg.get("detail", "")))]

    def _sequence(self, name: str, msg: dict[str, Any], t: float) -> list[Frame] | None:
        """Drop QoS 1 redeliveries and say how many readings went missing; None = a repeat."""
        run, seq = msg.get("run"), msg.get("seq")
        if not isinstance(run, str) or not isinstance(seq, int):
            return []
        last = self._runs.get(name)
        self._runs[name] = (run, seq) if last is None or last[0] != run or seq > last[1] else last
        if last is None or last[0] != run:
            return []
        if seq <= last[1]:
            self.duplicates += 1
            return None
        gap = seq - last[1] - 1
        if gap <= 0:
            return []
        self.lost += gap
        detail = f"{gap} reading{'s' * (gap != 1)} missing (sequence {last[1] + 1}..{seq - 1})"
        return [Frame(t, name, event="gap", detail=detail)]
