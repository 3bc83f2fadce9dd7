"""MQTT: agents publish to a real mosquitto broker, watches and recorders subscribe."""

from __future__ import annotations

import json

import pytest

from core.errors import UserError
from core.mqtt import MqttSource, agent_message, parse_url, reading_line


def agent_reading(src: str, seq: int, run: str = "r1", t: float = 100.0, **values) -> bytes:
    channels = {
        k: {"value": v, "imputed": False, "score": 0.1, "alert": False} for k, v in values.items()
    }
    return json.dumps(
        {
            "sensorscope": 1,
            "type": "reading",
            "run": run,
            "seq": seq,
            "src": src,
            "rx_t": t,
            "t": t,
            "line": "x",
            "channels": channels,
        }
    ).encode()


# --------------------------------------------------------------------------- URLs, topics


def test_a_url_takes_its_topic_as_written_and_defaults_the_port():
    u = parse_url("mqtt://127.0.0.1/lab/#")
    assert (u.host, u.port, u.path, u.tls) == ("127.0.0.1", 1883, "lab/#", False)
    assert parse_url("mqtts://broker.lan/alerts", topic="topic").port == 8883
    u = parse_url("mqtt://ann:p%40ss@[::1]:1884/lab/", topic="prefix")
    assert (u.username, u.password, u.host, u.port, u.path) == ("ann", "p@ss", "::1", 1884, "lab")
    assert u.where == "mqtt://[::1]:1884/lab"


@pytest.mark.parametrize(
    "url, kind, text",
    [
        ("mqtt://", "filter", "no broker host"),
        ("mqtt://h:99999/x", "filter", "port must be a number"),
        ("mqtt://h:abc/x", "filter", "port must be a number"),
        ("http://h/x", "filter", "expected mqtt://HOST"),
        ("mqtt://h", "filter", "names no topic"),
        ("mqtt://h/lab/#/x", "filter", "'#' the last"),
        ("mqtt://h/lab/a+", "filter", "'+' must be a whole level"),
        ("mqtt://h/lab/#", "prefix", "wildcards (+, #) are for subscribing only"),
        ("mqtt://h", "topic", "names no topic to publish to"),
    ],
)
def test_a_bad_url_says_what_is_wrong(url, kind, text):
    with pytest.raises(UserError) as exc:
        parse_url(url, topic=kind)
    assert text in str(exc.value)


def test_topics_under_a_wildcard_become_source_names():
    src = MqttSource(parse_url("mqtt://h/lab/#"))
    assert src.names == ["mqtt:lab/#"]
    frames = src.frames_for("lab/pi1/board1/reading", agent_reading("board1", 1, temp=21.5), 9.0)
    assert [(f.src, f.line, f.t) for f in frames] == [("pi1/board1", '{"temp":21.5}', 100.0)]
    frames = src.frames_for("lab/dev3", b"temp:21.5 hum:40\n", 9.0)
    assert [(f.src, f.line, f.t) for f in frames] == [("dev3", "temp:21.5 hum:40", 9.0)]
    exact = MqttSource(parse_url("mqtt://h/lab/board1/reading"))
    assert exact.names == ["board1"]
    assert [f.src for f in exact.frames_for("lab/board1/reading", b"21.5", 1.0)] == ["board1"]


def test_a_device_publishing_json_is_a_line_not_an_agent_message():
    assert agent_message(b'{"temp": 21.5}') is None
    assert agent_message(b'{"sensorscope": 2, "type": "reading"}') is None
    src = MqttSource(parse_url("mqtt://h/lab/+"))
    frames = src.frames_for("lab/dev4", b'{"temp": 21.5}', 5.0)
    assert [(f.src, f.line) for f in frames] == [("dev4", '{"temp": 21.5}')]


def test_the_watch_parses_the_agents_values_with_missing_ones_left_missing():
    msg = {
        "t": 5.0,
        "rx_t": 6.0,
        "channels": {
            "temp": {"value": 21.4, "imputed": True},
            "hum": {"value": 40.0, "imputed": False},
        },
    }
    assert reading_line(msg) == '{"t":5.0,"temp":null,"hum":40.0}'


def test_repeated_readings_are_dropped_and_missing_ones_counted():
    src = MqttSource(parse_url("mqtt://h/lab/#"))

    def take(seq, run="r1"):
        return [
            (f.event, f.detail)
            for f in src.frames_for("lab/b1/reading", agent_reading("b1", seq, run, temp=1.0), 0.0)
        ]

    assert take(1) == [(None, "")]
    assert take(2) == [(None, "")]
    assert take(2) == []  # a QoS 1 redelivery
    assert take(5) == [("gap", "2 readings missing (sequence 3..4)"), (None, "")]
    assert take(1, run="r2") == [(None, "")]  # the agent restarted: numbering starts over
    assert (src.lost, src.duplicates) == (2, 1)
