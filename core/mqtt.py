"""MQTT: broker URLs, credentials and TLS, the topic layout, the broker connection and the
messages an agent publishes (the source that subscribes is :mod:`sensorscope.sources.mqtt`).

An agent publishes under a PREFIX (the path of its ``--mqtt`` URL), one topic tree per
source (SOURCE is the source's name, ``board1`` for ``/tmp/board1``)::

    PREFIX/SOURCE/reading   one message per reading: raw line, values, scores (QoS 1)
    PREFIX/SOURCE/alert     each alert episode as it opens and as it closes (QoS 1)
    PREFIX/SOURCE/event     the source's connect and disconnect, and the agent's stop (QoS 1)

Every message is a JSON object with ``"sensorscope": 1`` and a ``"type"``. A watch that
subscribes to a topic filter (``lab/#``) makes each topic a source, named by what follows
the filter's fixed levels (``lab/pi1/board1/reading`` -> ``pi1/board1``), and takes both
agents' messages and plain device payloads in any line format the parser knows.

paho-mqtt's network thread calls the callbacks here; they only take locks for a moment and
append to queues, so a slow consumer never stalls the connection.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sensorscope.errors import UserError
from sensorscope.sources.base import READ_TIMEOUT

if TYPE_CHECKING:
    import numpy as np


DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883
KEEPALIVE = 30
CONNECT_TIMEOUT = 5.0
# Every sensorscope MQTT client retries on the same schedule (0.5 s doubling to 4 s), so after a
# broker restart an agent and the watches subscribed to it come back at about the same time.
BACKOFF_START = 0.5
BACKOFF_MAX = 4.0
# After a reconnect the agent holds its backlog this long: subscribers must subscribe again
# to a restarted broker, and what it is sent before that reaches nobody.
RESUBSCRIBE_GRACE = 1.0
# Readings handed to paho and not yet acknowledged; bounds what a dropped connection holds.
WINDOW = 200
MESSAGE_VERSION = 1
AGENT_TYPES = ("reading", "alert", "event")
NO_CONNECTION = 4  # paho's MQTT_ERR_NO_CONN
LOST = "broker connection lost"
SOCKET_ERROR = "failed to receive on socket: "  # how paho logs a broken connection
HOST = socket.gethostname()


# --------------------------------------------------------------------------- URLs and options


@dataclass(frozen=True)
class MqttOptions:
    """Credentials and TLS files for every broker connection a command makes."""

    username: str | None = None
    password: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class BrokerUrl:
    """``mqtt[s]://[USER[:PASSWORD]@]HOST[:PORT]/PATH``; PATH is a topic, filter or prefix."""

    scheme: str
    host: str
    port: int
    path: str
    username: str | None = None
    password: str | None = None

    @property
    def tls(self) -> bool:
        return self.scheme == "mqtts"

    @property
    def broker(self) -> str:
        """The broker, without credentials (safe to print and to write into files)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def where(self) -> str:
        return f"{self.broker}/{self.path}" if self.path else self.broker

    def with_path(self, path: str) -> BrokerUrl:
        return replace(self, path=path)


_URL = re.compile(r"(mqtts?)://([^/]*)(?:/(.*))?\Z", re.S | re.I)


def parse_url(text: str, topic: str = "filter") -> BrokerUrl:
    """Parse a broker URL; ``topic`` says what its path is: ``filter`` (a subscription,
    wildcards allowed), ``topic`` (one topic to publish to) or ``prefix`` (may be empty).

    The path is taken as it is written: ``#`` is a wildcard here, not a URL fragment.

    >>> u = parse_url("mqtt://127.0.0.1:1884/lab/#")
    >>> u.host, u.port, u.path, u.tls
    ('127.0.0.1', 1884, 'lab/#', False)
    >>> parse_url("mqtts://ann:s3cret@broker.lan/lab", topic="prefix").where
    'mqtts://broker.lan:8883/lab'
    """
    m = _URL.match(text.strip())
    if m is None:
        raise UserError(f"bad MQTT URL {text!r}: expected mqtt://HOST[:PORT]/TOPIC (or mqtts://)")
    scheme, netloc, path = m.group(1).lower(), m.group(2), m.group(3) or ""
    userinfo, _, hostport = netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, colon, pw = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(pw) if colon else None
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise UserError(f"bad MQTT URL {text!r}: no broker host")
    default = DEFAULT_TLS_PORT if scheme == "mqtts" else DEFAULT_PORT
    try:
        port = int(port_text) if port_text else default
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise UserError(f"bad MQTT URL {text!r}: the port must be a number from 1 to 65535")
    if topic == "prefix":
        path = path.rstrip("/")
    check_topic(path, topic, text)
    return BrokerUrl(scheme, host, port, path, username, password)


def check_topic(path: str, kind: str, text: str) -> None:
    """Refuse what a broker would refuse, before connecting to it."""
    if "\x00" in path or len(path.encode()) > 65535:
        raise UserError(f"bad MQTT topic in {text!r}")
    if kind == "filter":
        if not path:
            raise UserError(f"{text!r} names no topic to subscribe to (e.g. mqtt://HOST/lab/#)")
        levels = path.split("/")
        for i, level in enumerate(levels):
            if ("#" in level and (level != "#" or i != len(levels) - 1)) or (
                "+" in level and level != "+"
            ):
                raise UserError(
                    f"bad topic filter {path!r}: '+' must be a whole level and '#' the last one"
                )
        return
    if "#" in path or "+" in path:
        raise UserError(f"bad topic {path!r}: wildcards (+, #) are for subscribing only")
    if kind == "topic" and not path:
        raise UserError(f"{text!r} names no topic to publish to")


def tls_context(options: MqttOptions) -> ssl.SSLContext:
    """A client TLS context: the system's CAs (or ``--mqtt-ca``), hostname checked."""
    for label, path in (("--mqtt-ca", options.ca), ("--mqtt-cert", options.cert),
                        ("--mqtt-key", options.key)):  # fmt: skip
        if path and not os.path.isfile(path):
            raise UserError(f"{label} {path}: no such file")
    if options.key and not options.cert:
        raise UserError("--mqtt-key needs --mqtt-cert (the certificate it belongs to)")
    try:
        ctx = ssl.create_default_context(cafile=options.ca)
    except (ssl.SSLError, OSError) as exc:
        raise UserError(
            f"--mqtt-ca {options.ca}: not a PEM CA certificate ({_ssl_reason(exc)})"
        ) from None
    if options.cert:
        # Never prompt on the terminal for a key's pass phrase; take it from the environment.
        phrase = os.environ.get("SENSORSCOPE_MQTT_KEY_PASSWORD", "")
        try:
            ctx.load_cert_chain(options.cert, options.key, password=phrase)
        except (ssl.SSLError, OSError) as exc:
            raise UserError(
                f"--mqtt-cert {options.cert}: cannot load the certificate and its key "
                f"({_ssl_reason(exc)})"
            ) from None
    return ctx


def _ssl_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or str(exc)
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    return getattr(exc, "strerror", None) or str(exc)


def describe_connect_error(exc: BaseException, url: BrokerUrl) -> str:
    """One line for what connecting raised, saying what to try."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the broker's TLS certificate was not accepted ({_ssl_reason(exc)}); "
            "name the CA that signed it with --mqtt-ca"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed ({_ssl_reason(exc)})"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused (is a broker listening on port {url.port}?)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host {url.host}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"no answer within {CONNECT_TIMEOUT:g} s"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def client_id(role: str) -> str:
    return f"sensorscope-{role}-{HOST[:24]}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


# --------------------------------------------------------------------------- connection


class _Attempt:
    """One paho client's connect: what its first callbacks said."""

    def __init__(self) -> None:
        self.settled = threading.Event()
        self.refused: str | None = None
        self.sub_mid: int | None = None
        self.last_error = ""
        self.generation = 0


class Connection:
    """A broker connection that survives the broker: a checked first connect, then a new
    paho client for each reconnect, with back-off.

    :meth:`start` returns once the broker accepted the connection (and the subscriptions),
    or raises :class:`UserError` with the reason: refused, unreachable, bad credentials,
    TLS. After that a supervisor thread reconnects whenever the connection drops. Each
    client is a new *generation*: what was handed to a lost client and never acknowledged
    is the publisher's to send again, so nothing half-sent lingers in a dead client.
    ``listeners`` hear ``("connect", "connected" | "reconnected")``, ``("disconnect", why)``
    and ``("retrying", why)``; ``publish_listeners`` hear ``(generation, mid)`` acks.
    """

    def __init__(
        self,
        url: BrokerUrl,
        options: MqttOptions | None,
        role: str,
        subscriptions: Sequence[str] = (),
        on_message: Callable[[Any], None] | None = None,
    ) -> None:
        options = options or MqttOptions()
        self.url = url
        self.role = role
        self.subscriptions = list(subscriptions)
        self.on_message = on_message
        self.user = options.username or url.username
        self.password = options.password if options.password is not None else url.password
        if self.password is not None and not self.user:
            raise UserError("an MQTT password needs a user name (--mqtt-user)")
        if not url.tls and (options.ca or options.cert or options.key):
            raise UserError(
                f"--mqtt-ca, --mqtt-cert and --mqtt-key are for TLS: use mqtts:// "
                f"(port {DEFAULT_TLS_PORT} by default) instead of {url.broker}"
            )
        self.tls = tls_context(options) if url.tls else None
        self.has_cert = bool(options.cert)
        self.client_id = client_id(role)
        self.listeners: list[Callable[[str, str], None]] = []
        self.publish_listeners: list[Callable[[int, int], None]] = []
        self.detail = ""
        self.connects = 0
        self.generation = 0
        self.up = threading.Event()
        self.up_since = 0.0
        self.client: Any = None
        self._lock = threading.Lock()
        self._down = threading.Event()
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._supervisor is not None:
            return
        error = self._connect()
        if error is not None:
            raise UserError(f"cannot connect to {self.url.broker}: {error}")
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"mqtt-{self.role}", daemon=True
        )
        self._supervisor.start()

    def stop(self) -> None:
        """Disconnect and end every thread; safe to call twice."""
        self._stop.set()
        self.up.clear()
        if self._supervisor is not None:
            self._supervisor.join(2.0)
        with self._lock:
            client, self.client = self.client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    @property
    def reconnecting_recently(self) -> bool:
        return self.connects > 1 and time.monotonic() - self.up_since < RESUBSCRIBE_GRACE

    def publish(self, topic: str, payload: bytes, qos: int) -> tuple[int, int, int]:
        """Hand a message to the current client: ``(generation, mid, rc)``; rc 0 = taken."""
        with self._lock:
            client, gen = self.client, self.generation
        if client is None or not self.up.is_set():
            return gen, 0, NO_CONNECTION
        info = client.publish(topic, payload, qos=qos)
        return gen, info.mid, int(info.rc)

    # -- connecting ----------------------------------------------------------------------

    def _new_client(self, attempt: _Attempt) -> Any:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
            userdata=attempt,
            reconnect_on_failure=False,
        )
        c.connect_timeout = CONNECT_TIMEOUT
        c.max_inflight_messages_set(WINDOW * 2)
        if self.user:
            c.username_pw_set(self.user, self.password)
        if self.tls is not None:
            c.tls_set_context(self.tls)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_log = self._on_log
        c.on_publish = self._on_publish
        if self.on_message is not None:
            c.on_message = self.on_message
        return c

    def _connect(self) -> str | None:
        """One attempt; None when the broker took us (and our subscriptions), else why not."""
        attempt = _Attempt()
        client = self._new_client(attempt)
        try:
            client.connect(self.url.host, self.url.port, keepalive=KEEPALIVE)
        except (OSError, ValueError) as exc:
            return describe_connect_error(exc, self.url)
        with self._lock:
            self.generation += 1
            attempt.generation = self.generation
            self.client = client
        client.loop_start()
        if not attempt.settled.wait(CONNECT_TIMEOUT * 2):
            attempt.refused = f"no answer from the broker within {CONNECT_TIMEOUT * 2:g} s"
        if attempt.refused is not None:
            with self._lock:
                self.client = None
            client.disconnect()
            client.loop_stop()
            return attempt.refused
        again = self.connects > 0
        self.connects += 1
        self.detail = self.url.where
        self.up_since = time.monotonic()
        self._down.clear()
        self.up.set()
        for listener in self.listeners:
            listener("connect", "reconnected" if again else "connected")
        return None

    def _supervise(self) -> None:
        while not self._stop.is_set():
            if not self._down.wait(READ_TIMEOUT):
                continue
            with self._lock:
                client, self.client = self.client, None
            if client is not None:
                client.loop_stop()
            delay = BACKOFF_START
            while not self._stop.wait(delay):
                error = self._connect()
                if error is None:
                    break
                self.detail = f"retrying: {error}"
                for listener in self.listeners:
                    listener("retrying", self.detail)
                delay = min(delay * 2, BACKOFF_MAX)

    # -- paho's threads ------------------------------------------------------------------

    def _on_connect(self, client, attempt, flags, reason_code, properties) -> None:  # noqa: ARG002
        if reason_code.is_failure:
            attempt.refused = refusal(str(reason_code))
            attempt.settled.set()
        elif self.subscriptions:
            _, attempt.sub_mid = client.subscribe([(t, 1) for t in self.subscriptions])
        else:
            attempt.settled.set()

    def _on_subscribe(self, client, attempt, mid, reason_codes, properties) -> None:  # noqa: ARG002
        if mid != attempt.sub_mid:
            return
        bad = [t for t, rc in zip(self.subscriptions, reason_codes, strict=False) if rc.is_failure]
        if bad:
            attempt.refused = f"the broker refused the subscription to {', '.join(bad)}"
        attempt.settled.set()

    def _on_disconnect(self, client, attempt, flags, reason_code, properties) -> None:  # noqa: ARG002
        if not attempt.settled.is_set():
            attempt.refused = self._closed_early(attempt.last_error or str(reason_code))
            attempt.settled.set()
            return
        if self._stop.is_set() or client is not self.client:
            return
        self.up.clear()
        why = attempt.last_error.removeprefix(SOCKET_ERROR)
        self.detail = LOST + (f": {why}" if why else "")
        for listener in self.listeners:
            listener("disconnect", self.detail)
        self._down.set()

    def _closed_early(self, error: str) -> str:
        """Why the broker hung up before accepting us; over TLS that is how a broker that
        wants a client certificate says so."""
        error = error.removeprefix(SOCKET_ERROR)
        if self.tls is None:
            return f"the broker closed the connection ({error})"
        hint = "" if self.has_cert else "; does it want a client certificate (--mqtt-cert)?"
        return f"the broker closed the TLS connection before accepting it ({error}){hint}"

    def _on_publish(self, client, attempt, mid, reason_code, properties) -> None:  # noqa: ARG002
        for listener in self.publish_listeners:
            listener(attempt.generation, mid)

    def _on_log(self, client, attempt, level, buf) -> None:  # noqa: ARG002
        from paho.mqtt.client import MQTT_LOG_ERR

        if level == MQTT_LOG_ERR:
            attempt.last_error = buf


def refusal(reason: str) -> str:
    words = reason.lower()
    if "authori" in words or "password" in words:
        return (
            f"the broker refused the connection: {reason} (check --mqtt-user and --mqtt-password)"
        )
    return f"the broker refused the connection: {reason}"


# --------------------------------------------------------------------------- messages


def topic_part(name: str) -> str:
    """A source name as topic levels: wildcards and NUL cannot appear in a topic name."""
    return name.replace("#", "_").replace("+", "_").replace("\x00", "_") or "_"


def agent_topic(prefix: str, source: str, kind: str) -> str:
    return f"{prefix}/{topic_part(source)}/{kind}" if prefix else f"{topic_part(source)}/{kind}"


def finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def reading_bounds(reading: np.ndarray, n: int) -> list[int]:
    """Row ranges of each of ``n`` readings in a batch's (sorted) ``reading`` column."""
    import numpy as np

    return np.searchsorted(reading, np.arange(n + 1)).tolist()


def agent_message(payload: bytes) -> dict[str, Any] | None:
    """The message if ``payload`` is a sensorscope agent's, else None (a device's own)."""
    if payload[:1] != b"{" or b'"sensorscope"' not in payload:
        return None
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict) or obj.get("sensorscope") != MESSAGE_VERSION:
        return None
    if obj.get("type") not in AGENT_TYPES:
        return None
    return obj


def reading_line(msg: dict[str, Any]) -> str | None:
    """The line a watch parses for an agent's reading: the agent's parsed values as JSON.

    Re-parsing the device's raw line would lose what the agent's parser learned before (a
    CSV header, positional names); missing (imputed) values go as null so that the watch
    fills them itself, and the device time goes as ``t``.
    """
    channels = msg.get("channels")
    if not isinstance(channels, dict):
        return None
    out: dict[str, Any] = {}
    t, rx_t = msg.get("t"), msg.get("rx_t")
    if isinstance(t, (int, float)) and t != rx_t:
        out["t"] = t
    for name, ch in channels.items():
        if not isinstance(ch, dict):
            return None
        v = ch.get("value")
        if ch.get("imputed") or not isinstance(v, (int, float)) or isinstance(v, bool):
            v = None
        out[str(name)] = v
    return json.dumps(out, separators=(",", ":"))


def alert_text(msg: dict[str, Any]) -> str:
    peak = msg.get("peak_score")
    peak_text = f" peak {peak:.3f}" if isinstance(peak, (int, float)) else ""
    why = f" ({msg['reason']})" if msg.get("reason") else ""
    view = msg.get("view")
    band = msg.get("expected")
    if isinstance(view, str) and view:
        expected = ""
        if (
            isinstance(band, list)
            and len(band) == 2
            and all(isinstance(x, (int, float)) for x in band)
        ):
            expected = f", expected {band[0]:.5g} to {band[1]:.5g}"
        why += f" [{view}{expected}]"
    return f"alert #{msg.get('id')} {msg.get('event')} on {msg.get('channel')}{peak_text}{why}"


__all__ = [
    "BrokerUrl",
    "Connection",
    "MqttOptions",
    "agent_message",
    "agent_topic",
    "parse_url",
    "reading_line",
]
