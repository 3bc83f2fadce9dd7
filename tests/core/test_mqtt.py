"""MQTT: agents publish to a real mosquitto broker, watches and recorders subscribe."""

from __future__ import annotations

import csv
import json
import signal

import pytest
from mqtt_broker import Lines, Receiver, free_port, make_certs, wait_until, write_board

from sensorscope.errors import UserError
from sensorscope.model import Settings
from sensorscope.monitor import build_monitor
from sensorscope.mqtt import agent_message, parse_url, reading_line
from sensorscope.pipeline import Pipeline
from sensorscope.recording import RecordingReader
from sensorscope.sources import RecordingSource
from sensorscope.sources.mqtt import MqttSource


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


def one_line_error(proc, text: str) -> None:
    err = proc.stderr.decode() if isinstance(proc.stderr, bytes) else proc.stderr
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert text in err, err


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


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


# --------------------------------------------------------------------------- over a broker


def test_agent_to_broker_to_record_then_score_gives_the_boards_own_scores(
    mosquitto, procs, cli, tmp_path
):
    broker = mosquitto()
    board = write_board(tmp_path / "board1.jsonl", n=600)
    fleet = tmp_path / "fleet.jsonl"
    recorder = procs("record", f"{broker.url}/lab/#", "-o", str(fleet))
    Lines(recorder.stderr).wait_for("recording")
    wait_until(lambda: fleet.exists() and "connect" in fleet.read_text(), what="the subscription")
    agent = procs("agent", str(board), "--speed", "max", "--mqtt", f"{broker.url}/lab")
    _, err = agent.communicate(timeout=60)
    assert agent.returncode == 0, err.decode()
    assert "600 readings published, 0 dropped" in err.decode()
    wait_until(lambda: "agent stopped" in fleet.read_text(), what="the agent's last message")
    recorder.send_signal(signal.SIGINT)
    assert recorder.wait(20) == 130

    frames = list(RecordingReader(str(fleet)))
    assert sum(f.line is not None for f in frames) == 600
    assert {f.src for f in frames if f.line is not None} == {"board1"}
    assert RecordingSource(str(fleet)).names == ["mqtt:lab/#"]
    direct, relayed = tmp_path / "direct.csv", tmp_path / "relayed.csv"
    assert cli("score", str(board), "-o", str(direct)).returncode == 0
    proc = cli("score", str(fleet), "-o", str(relayed))
    assert proc.returncode == 0, proc.stderr.decode()
    a, b = read_rows(direct), read_rows(relayed)
    assert len(a) == len(b) == 1200
    assert [r["channel"] for r in b[:2]] == ["board1/temp", "board1/hum"]
    for ra, rb in zip(a, b, strict=True):
        assert "board1/" + ra["channel"] == rb["channel"]
        assert (ra["timestamp"], ra["value"], ra["score"], ra["alert"]) == (
            rb["timestamp"],
            rb["value"],
            rb["score"],
            rb["alert"],
        )
    assert any(r["alert"] == "1" for r in b)


def test_one_watch_shows_two_agents_boards_with_the_alerts_their_agents_raise(
    mosquitto, procs, tmp_path
):
    broker = mosquitto()
    hook = Receiver()
    monitor = build_monitor([f"{broker.url}/lab/#"], Settings(), labels=str(tmp_path / "l.jsonl"))
    monitor.start()
    try:
        agents = [
            procs(
                "agent",
                str(write_board(tmp_path / f"{name}.jsonl", name, seed=seed)),
                *("--speed", "max", "--mqtt", f"{broker.url}/lab", "--webhook", hook.url),
            )
            for name, seed in (("board1", 1), ("board2", 2))
        ]
        for agent in agents:
            _, err = agent.communicate(timeout=60)
            assert agent.returncode == 0, err.decode()

        def both_done():
            snap = monitor.snapshot()
            chans = snap.channels
            return len(chans) == 4 and all(c.samples == 600 for c in chans.values()) and snap

        snap = wait_until(both_done, 20, "600 samples on each board's channels")
    finally:
        monitor.stop()
        hook.close()
    assert sorted(snap.channels) == ["board1/hum", "board1/temp", "board2/hum", "board2/temp"]
    status = snap.sources["mqtt:lab/#"]
    assert (status.kind, status.state) == ("mqtt", "connected")
    events = [r.line for r in snap.raw_lines if r.kind == "event"]
    assert any("agent stopped" in line for line in events)
    assert any("[alert] alert #1 open on temp" in line for line in events)
    # The watch scores each board as its agent does: the same episodes, and the agents'
    # webhook heard of every one.
    closed = [b for _, _, b in hook.requests if b["event"] == "close"]
    assert {b["source"] for b in closed} == {"board1", "board2"}
    raised = {
        (f"{b['source']}/{b['channel']}", b["start"], b["end"], b["peak_score"]) for b in closed
    }
    watched = {(a.channel, a.start, a.last_above, round(a.peak_score, 6)) for a in snap.alerts}
    assert {"board1/temp", "board2/temp"} <= {a[0] for a in watched}
    assert watched == raised


def test_a_board_scores_the_same_watched_alone_or_beside_others(tmp_path):
    from sensorscope.recording import RecordingReader

    one = list(RecordingReader(str(write_board(tmp_path / "b1.jsonl", "b1", n=400, seed=1))))
    two = list(RecordingReader(str(write_board(tmp_path / "b2.jsonl", "b2", n=400, seed=2))))
    alone, together = [], []
    p = Pipeline(Settings(), ["b1"], on_sample=lambda s: alone.append((s.channel, s.score)))
    p.process(one)
    p = Pipeline(
        Settings(), ["b1", "b2"], on_sample=lambda s: together.append((s.channel, s.score))
    )
    p.process([f for pair in zip(two, one, strict=True) for f in pair])  # b2 comes first
    assert [("b1/" + c, s) for c, s in alone] == [x for x in together if x[0].startswith("b1/")]


def test_plain_device_payloads_in_any_line_format(mosquitto, tmp_path):
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    broker = mosquitto()
    pipeline = Pipeline(Settings(), ["mqtt:lab/#"])
    src = MqttSource(parse_url(f"{broker.url}/lab/#"))
    src.open()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2)
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    try:
        payloads = [
            ("lab/kv", "temp=21.5, hum=40.2"),
            ("lab/json", '{"env": {"co2": 415}}'),
            ("lab/csv", "a,b\n1,2\n3,4"),
            ("lab/bare", "7.5"),
        ]
        for topic, payload in payloads:
            pub.publish(topic, payload, qos=1).wait_for_publish(5)
        frames = []
        wait_until(
            lambda: frames.extend(f for f in _drain(src) if f.event is None) or len(frames) >= 6,
            what="six lines",
        )
        pipeline.process(frames)
        assert sorted(pipeline.channels) == [
            "bare/ch0",
            "csv/a",
            "csv/b",
            "json/env.co2",
            "kv/hum",
            "kv/temp",
        ]
        assert pipeline.channels["csv/b"].samples == 2
    finally:
        pub.loop_stop()
        src.close()


def _drain(src: MqttSource):
    out = []
    while not src._frames.empty():
        out.append(src._frames.get_nowait())
    return out


def outage(broker, procs, tmp_path, n: int, *agent_args: str):
    """A recorder on lab/#, an agent on an n-reading 100 Hz board, and the broker stopped
    once readings flow; returns the recorder, the agent, its log and the recording."""
    board = write_board(tmp_path / "board1.jsonl", n=n, rate=100.0, spike_at=None)
    fleet = tmp_path / "fleet.jsonl"
    recorder = procs("record", f"{broker.url}/lab/#", "-o", str(fleet))
    wait_until(lambda: fleet.exists() and "connect" in fleet.read_text(), what="the subscription")
    agent = procs("agent", str(board), *agent_args, "--mqtt", f"{broker.url}/lab")
    log = Lines(agent.stderr)
    wait_until(lambda: fleet.read_text().count('"line"') > 30, what="readings before the outage")
    broker.stop()
    log.wait_for("broker connection lost")
    return recorder, agent, log, fleet


def after_outage(broker, recorder, agent, log, fleet) -> str:
    """Bring the broker back (same port), let the agent finish, stop the recorder."""
    broker.start()
    assert agent.wait(60) == 0, log.text
    wait_until(lambda: "agent stopped" in fleet.read_text(), what="the agent's last message")
    recorder.send_signal(signal.SIGINT)
    return recorder.communicate(timeout=20)[1].decode()


def test_a_broker_restart_loses_nothing_and_counts_the_reconnect(mosquitto, procs, tmp_path):
    broker = mosquitto()
    recorder, agent, log, fleet = outage(broker, procs, tmp_path, 500)
    err = after_outage(broker, recorder, agent, log, fleet)

    lines = [f for f in RecordingReader(str(fleet)) if f.line is not None]
    assert len(lines) == 500
    assert [json.loads(f.line)["temp"] for f in lines] == [
        json.loads(f.line)["temp"] for f in sorted(lines, key=lambda f: f.t)
    ]
    assert not [f for f in RecordingReader(str(fleet)) if f.event == "gap"]
    assert "1 reconnects" in log.text
    assert "500 readings published, 0 dropped" in log.text
    assert "1 reconnects" in err


def test_a_full_buffer_drops_the_oldest_readings_and_the_watch_sees_the_gap(
    mosquitto, procs, tmp_path
):
    broker = mosquitto()
    recorder, agent, log, fleet = outage(broker, procs, tmp_path, 400, "--buffer", "20")
    log.wait_for("buffer full (20 readings): dropping the oldest")
    after_outage(broker, recorder, agent, log, fleet)

    summary = next(line for line in log.lines if "readings published" in line)
    published = int(summary.split()[1])
    dropped = int(summary.split(",")[1].split()[0])
    assert dropped > 0 and published + dropped == 400
    frames = list(RecordingReader(str(fleet)))
    assert sum(f.line is not None for f in frames) == published
    gaps = [f.detail for f in frames if f.event == "gap"]
    assert sum(int(g.split()[0]) for g in gaps) == dropped


# --------------------------------------------------------------------------- credentials, TLS


def test_credentials_accepted_and_refused(mosquitto, cli, procs, tmp_path):
    broker = mosquitto(users={"ann": "s3cret"})
    board = write_board(tmp_path / "board1.jsonl", n=50)
    url = f"{broker.url}/lab"
    ok = procs(
        "agent",
        str(board),
        "--speed",
        "max",
        "--mqtt",
        url,
        "--mqtt-user",
        "ann",
        env={"SENSORSCOPE_MQTT_PASSWORD": "s3cret"},
    )
    _, err = ok.communicate(timeout=60)
    assert ok.returncode == 0, err.decode()
    assert "50 readings published" in err.decode()
    wrong = f"mqtt://ann:wrong@127.0.0.1:{broker.port}/lab"
    one_line_error(cli("agent", str(board), "--mqtt", wrong), "refused the connection")
    one_line_error(cli("score", f"{broker.url}/lab/#"), "Not authorized")
    one_line_error(cli("score", f"{broker.url}/lab/#", "--mqtt-password", "x"), "needs a user name")


def test_tls_with_a_client_certificate(mosquitto, procs, cli, tmp_path):
    certs = make_certs(tmp_path / "certs")
    broker = mosquitto(
        tls={
            "cafile": certs["ca"],
            "certfile": certs["server_cert"],
            "keyfile": certs["server_key"],
            "require_certificate": "true",
        }
    )
    board = write_board(tmp_path / "board1.jsonl", n=50)
    url = f"mqtts://127.0.0.1:{broker.port}/lab"
    tls = ["--mqtt-ca", str(certs["ca"])]
    mine = ["--mqtt-cert", str(certs["client_cert"]), "--mqtt-key", str(certs["client_key"])]
    ok = cli("agent", str(board), "--speed", "max", "--mqtt", url, *tls, *mine)
    assert ok.returncode == 0, ok.stderr.decode()
    assert "50 readings published" in ok.stderr.decode()

    one_line_error(cli("agent", str(board), "--mqtt", url, *tls), "client certificate")
    other = ["--mqtt-ca", str(certs["other_ca"]), *mine]
    one_line_error(cli("agent", str(board), "--mqtt", url, *other), "name the CA that signed it")
    one_line_error(
        cli("agent", str(board), "--mqtt", url, "--mqtt-ca", str(tmp_path / "nope.crt")),
        "--mqtt-ca " + str(tmp_path / "nope.crt") + ": no such file",
    )
    plain = f"mqtt://127.0.0.1:{broker.port}/lab"
    one_line_error(cli("agent", str(board), "--mqtt", plain, *tls), "use mqtts://")


def test_no_broker_and_bad_urls_are_one_line_errors(cli, tmp_path):

    board = write_board(tmp_path / "board1.jsonl", n=10)
    port = free_port()
    one_line_error(
        cli("agent", str(board), "--mqtt", f"mqtt://127.0.0.1:{port}/lab"), "connection refused"
    )
    one_line_error(cli("watch", f"mqtt://127.0.0.1:{port}/lab/#"), "connection refused")
    one_line_error(cli("record", "mqtt://127.0.0.1/lab/#/x", "-o", "x.jsonl"), "bad topic filter")
    one_line_error(cli("agent", str(board), "--mqtt", "mqtt://h/lab/+"), "wildcards")
    assert not (tmp_path / "x.jsonl").exists()


def test_an_agent_that_cannot_deliver_says_what_it_kept(mosquitto, tmp_path):
    from sensorscope.agent import Agent

    broker = mosquitto()
    board = write_board(tmp_path / "board1.jsonl", n=600)
    # 1.2 s of readings, the spike's alert after 0.8 s: well after the broker is gone.
    source = RecordingSource(str(board), speed=10)
    fleet = Agent([source], Settings(), parse_url(f"{broker.url}/lab", "prefix"))
    fleet.start()
    broker.stop()
    wait_until(lambda: not fleet.conn.up.is_set(), what="the agent to see the broker go")
    assert fleet.runner.wait(30)
    assert fleet.stop(drain=0.5) is False
    lines = fleet.summary()
    published = fleet.publisher.counters.readings
    assert f"{600 - published} not delivered" in lines[0]
    assert "alert messages NOT delivered (broker unreachable)" in lines[1]
