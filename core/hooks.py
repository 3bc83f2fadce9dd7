"""Alert delivery: a command, a webhook or an MQTT topic for each alert episode.

The pipeline calls :meth:`AlertHooks.on_alert` on its scoring thread as an episode opens and
as it closes. That call only copies the alert into each hook's bounded queue; every hook
delivers from a thread of its own, so a slow webhook or a hanging command never holds up
scoring. A failed delivery is logged and counted and the monitor carries on; an alert that
finds a hook's queue full is counted and logged too, never dropped silently.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sensorscope.errors import UserError

if TYPE_CHECKING:
    from sensorscope.model import Alert
    from sensorscope.mqtt import BrokerUrl, Connection, MqttOptions

QUEUE_SIZE = 1000
COMMAND_TIMEOUT = 30.0
WEBHOOK_TIMEOUT = 5.0
WEBHOOK_RETRIES = 3
WEBHOOK_BACKOFF = 1.0  # s before the first retry, doubling after each
# A stopping monitor waits this long for hooks to deliver what is queued.
CLOSE_TIMEOUT = 10.0
RECENT_ERRORS = 20


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


def alert_payload(alert: Alert, event: str, source: str | None = None) -> dict[str, Any]:
    """The JSON body every hook delivers (and the agent publishes) for one alert event.

    >>> from sensorscope.model import Alert
    >>> a = Alert(7, "lab1/temp", 1700000000.0, None, 0.993, 35.2, 1700000000.5, 1700000001.0)
    >>> p = alert_payload(a, "open", source="lab1")
    >>> p["event"], p["id"], p["channel"], p["start_iso"], p["end"]
    ('open', 7, 'lab1/temp', '2023-11-14T22:13:20.000Z', None)
    """
    from sensorscope.mqtt import HOST, MESSAGE_VERSION, finite

    return {
        "sensorscope": MESSAGE_VERSION,
        "type": "alert",
        "event": event,
        "id": alert.id,
        "channel": alert.channel,
        "source": source,
        "start": alert.start,
        "start_iso": _iso(alert.start),
        "end": alert.end,
        "end_iso": _iso(alert.end),
        "peak_score": round(alert.peak_score, 6),
        "peak_value": finite(alert.peak_value),
        "peak_t": alert.peak_t,
        "last_above": alert.last_above,
        "reason": alert.reason,
        # Why: the part that opened it, the band it expected, a joint alert's channels.
        "view": alert.view or None,
        "expected": None if alert.expected is None else [finite(x) for x in alert.expected],
        "channels": list(alert.channels),
        "host": HOST,
    }


def alert_env(payload: dict[str, Any]) -> dict[str, str]:
    """The alert as environment variables for ``--on-alert``: ``SENSORSCOPE_<FIELD>``
    (``id`` is ``SENSORSCOPE_ALERT_ID``; a missing value is empty) and the whole body in
    ``SENSORSCOPE_ALERT_JSON``."""
    env = {"SENSORSCOPE_ALERT_JSON": json.dumps(payload)}
    for key, value in payload.items():
        if key in ("sensorscope", "type"):
            continue
        name = "SENSORSCOPE_ALERT_ID" if key == "id" else f"SENSORSCOPE_{key.upper()}"
        if isinstance(value, list):  # the expected band, a joint alert's channels
            env[name] = ",".join("" if v is None else str(v) for v in value)
        else:
            env[name] = "" if value is None else str(value)
    return env


class HookFailed(Exception):
    """A delivery that did not happen; the message says why."""


class Hook:
    """One destination, delivering from its own thread out of a bounded queue."""

    kind = "hook"

    def __init__(self, name: str) -> None:
        self.name = name
        self.delivered = 0
        self.failed = 0
        self.failed_attempts = 0
        self.dropped = 0
        self.log: Callable[[str], None] | None = None
        self.errors: deque[str] = deque(maxlen=RECENT_ERRORS)
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=QUEUE_SIZE)
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=f"hook-{self.kind}", daemon=True)

    def start(self) -> None:
        """Check the hook can work at all (UserError if not), then start its thread."""
        self._thread.start()

    def submit(self, payload: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(payload)
        except queue.Full:
            self.dropped += 1
            self.report(
                f"{self.name}: {QUEUE_SIZE} alerts already waiting; alert #{payload['id']} "
                f"{payload['event']} not delivered"
            )

    def report(self, message: str) -> None:
        self.errors.append(message)
        if self.log is not None:
            self.log(message)

    def deliver(self, payload: dict[str, Any]) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._abort.is_set():
            try:
                payload = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stop.is_set():
                    break
                continue
            self._busy = True
            what = f"alert #{payload['id']} {payload['event']}"
            try:
                self.deliver(payload)
                self.delivered += 1
            except HookFailed as exc:
                self.failed += 1
                self.report(f"{self.name}: {what} not delivered: {exc}")
            except Exception as exc:  # noqa: BLE001 - a broken hook must not stop the monitor
                self.failed += 1
                self.report(f"{self.name}: {what} not delivered: {type(exc).__name__}: {exc}")
            finally:
                self._busy = False

    @property
    def pending(self) -> int:
        return self._queue.qsize() + self._busy

    def close(self, deadline: float) -> None:
        """Deliver what is queued until ``deadline`` (monotonic), then give up on the rest."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(max(0.0, deadline - time.monotonic()))
        self._abort.set()
        if self._thread.is_alive():
            self._thread.join(1.0)
        left = self.pending
        if left:
            self.report(f"{self.name}: stopped with {left} alert events not delivered")

    def summary(self) -> str:
        parts = [f"{self.delivered} delivered"]
        if self.failed_attempts:
            parts.append(f"{self.failed_attempts} failed attempts")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.dropped:
            parts.append(f"{self.dropped} dropped (queue full)")
        return f"{self.name}: {', '.join(parts)}"


class CommandHook(Hook):
    """Runs a command (no shell) per alert event, the alert's fields in its environment."""

    kind = "command"

    def __init__(self, command: str) -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            raise UserError(f"bad --on-alert command {command!r}: {exc}") from None
        if not self.argv:
            raise UserError("--on-alert needs a command")
        exe = self.argv[0]
        found = shutil.which(exe)
        if found is None:
            raise UserError(f"--on-alert: no such command: {exe}")
        super().__init__(f"--on-alert {os.path.basename(exe)}")

    def deliver(self, payload: dict[str, Any]) -> None:
        env = {**os.environ, **alert_env(payload)}
        try:
            proc = subprocess.run(
                self.argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HookFailed(f"still running after {COMMAND_TIMEOUT:g} s, killed") from None
        except OSError as exc:
            raise HookFailed(exc.strerror or str(exc)) from None
        if proc.returncode != 0:
            last = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            said = f": {last[0][:200]}" if last else ""
            raise HookFailed(f"exit status {proc.returncode}{said}")


class WebhookHook(Hook):
    """POSTs the alert as JSON; retries on network errors, 5xx, 408 and 429."""

    kind = "webhook"

    def __init__(
        self,
        url: str,
        timeout: float = WEBHOOK_TIMEOUT,
        retries: int = WEBHOOK_RETRIES,
        backoff: float = WEBHOOK_BACKOFF,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"bad --webhook {url!r}: expected http://HOST[:PORT]/PATH or https://")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise UserError(f"bad --webhook {url!r}: bad port") from None
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        # Never name the URL's query in messages: webhook URLs often carry a token there.
        super().__init__(f"webhook {parts.scheme}://{parts.netloc}{parts.path}")

    def deliver(self, payload: dict[str, Any]) -> None:
        from importlib.metadata import version

        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"sensorscope/{version('sensorscope')}",
        }
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    resp.read(1 << 16)
                return
            except urllib.error.HTTPError as exc:
                why = f"HTTP {exc.code} {exc.reason}"
                again = exc.code >= 500 or exc.code in (408, 429)
            except urllib.error.URLError as exc:
                why, again = str(exc.reason), True
            except (OSError, ValueError) as exc:
                why, again = str(exc) or type(exc).__name__, True
            self.failed_attempts += 1
            if not again or attempt == attempts:
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                raise HookFailed(f"{why}{tries}")
            delay = self.backoff * 2 ** (attempt - 1)
            self.report(
                f"{self.name}: alert #{payload['id']} {payload['event']}: attempt {attempt} of "
                f"{attempts} failed ({why}); retrying in {delay:g} s"
            )
            if self._abort.wait(delay):
                raise HookFailed(f"{why}; stopped before a retry")


class MqttHook(Hook):
    """Publishes the alert on a topic, QoS 1; waits out a broker that is away."""

    kind = "mqtt"

    def __init__(self, url: BrokerUrl, options: MqttOptions | None) -> None:
        from sensorscope.mqtt import Connection

        self.url = url
        self.conn: Connection = Connection(url, options, "alerts")
        self._acks: set[tuple[int, int]] = set()
        self._acked = threading.Condition()
        self.conn.publish_listeners.append(self._on_ack)
        super().__init__(f"--mqtt-alerts {url.where}")

    def start(self) -> None:
        self.conn.start()
        super().start()

    def _on_ack(self, generation: int, mid: int) -> None:
        with self._acked:
            self._acks.add((generation, mid))
            self._acked.notify_all()

    def deliver(self, payload: dict[str, Any]) -> None:
        """Publish and wait for the broker's acknowledgement, publishing again on a new
        connection if the one it went out on was lost first."""
        body = json.dumps(payload).encode()
        key: tuple[int, int] | None = None
        started = time.monotonic()
        said = False
        while not self._abort.is_set():
            with self._acked:
                if key is not None and key in self._acks:
                    self._acks.discard(key)
                    return
            if key is None or key[0] != self.conn.generation:
                gen, mid, rc = self.conn.publish(self.url.path, body, 1)
                key = (gen, mid) if rc == 0 else None
            with self._acked:
                if key is None or key not in self._acks:
                    self._acked.wait(0.2)
            if not said and time.monotonic() - started > WEBHOOK_TIMEOUT:
                said = True
                self.report(f"{self.name}: broker away; alert #{payload['id']} waits for it")
        raise HookFailed("the broker was away until the monitor stopped")

    def close(self, deadline: float) -> None:
        super().close(deadline)
        self.conn.stop()


@dataclass(frozen=True)
class HookSpec:
    """The hook options of a command, before anything is checked or started."""

    commands: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()
    mqtt_alerts: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.commands or self.webhooks or self.mqtt_alerts)

    def build(
        self,
        options: MqttOptions | None = None,
        broker: BrokerUrl | None = None,
        sources: Sequence[str] = (),
        log: Callable[[str], None] | None = None,
    ) -> AlertHooks | None:
        """Check every hook (UserError for the first bad one). ``broker`` is where a bare
        ``--mqtt-alerts TOPIC`` goes: the agent's broker, or the one a watch reads from."""
        from sensorscope.mqtt import check_topic, parse_url

        if not self:
            return None
        hooks: list[Hook] = [CommandHook(c) for c in self.commands]
        hooks += [WebhookHook(u) for u in self.webhooks]
        for spec in self.mqtt_alerts:
            if "://" in spec:
                url = parse_url(spec, topic="topic")
            elif broker is None:
                raise UserError(
                    f"--mqtt-alerts {spec}: which broker? give mqtt://HOST[:PORT]/{spec}"
                )
            else:
                check_topic(spec, "topic", spec)
                url = broker.with_path(spec)
            hooks.append(MqttHook(url, options))
        for h in hooks:
            h.log = log
        return AlertHooks(hooks, sources)


class AlertHooks:
    """Every hook of a command; the pipeline's ``on_alert`` callback."""

    def __init__(self, hooks: Sequence[Hook], sources: Sequence[str] = ()) -> None:
        from sensorscope.sources.open import several_sources

        self.hooks = list(hooks)
        self.sources = list(sources)
        self.multi = several_sources(self.sources)
        self._started: list[Hook] = []

    def start(self) -> None:
        for h in self.hooks:
            try:
                h.start()
            except UserError:
                self.close(0.0)
                raise
            self._started.append(h)

    def source_of(self, channel: str) -> str | None:
        if not self.multi:
            return self.sources[0] if self.sources else None
        for name in self.sources:
            if channel.startswith(name + "/"):
                return name
        return channel.rsplit("/", 1)[0] if "/" in channel else None

    def on_alert(self, alert: Alert, event: str) -> None:
        payload = alert_payload(alert, event, self.source_of(alert.channel))
        for h in self._started:
            h.submit(payload)

    def errors(self) -> list[str]:
        return [e for h in self.hooks for e in h.errors]

    def summary(self) -> list[str]:
        return [h.summary() for h in self.hooks]

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        for h in self._started:
            h.close(deadline)
        self._started = []


def stderr_log() -> Callable[[str], None]:
    """A log for headless commands: one timestamped line on stderr per message, from any
    thread."""
    lock = threading.Lock()

    def log(message: str) -> None:
        with lock:
            print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    return log


__all__ = [
    "AlertHooks",
    "CommandHook",
    "HookSpec",
    "MqttHook",
    "WebhookHook",
    "alert_env",
    "alert_payload",
    "stderr_log",
]
