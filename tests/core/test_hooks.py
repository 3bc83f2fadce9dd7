"""Alert hooks: a real HTTP server, real commands, a real broker."""

from __future__ import annotations

import json
import sys

import pytest
from mqtt_broker import Receiver, free_port, subscriber, wait_until, write_board

from sensorscope.hooks import AlertHooks, HookSpec, WebhookHook, alert_payload
from sensorscope.model import Settings
from sensorscope.monitor import build_monitor
from sensorscope.pipeline import Pipeline
from sensorscope.recording import RecordingReader


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def expected_events(path) -> list[dict]:
    """The alert events the pipeline itself gives for a recording, as hook payloads."""
    events: list[dict] = []
    pipeline = Pipeline(Settings(), ["board1"])
    pipeline.on_alert = lambda a, e: events.append(alert_payload(a, e, "board1"))
    pipeline.process(list(RecordingReader(str(path))))
    pipeline.finish()
    return events


def key(p: dict) -> tuple:
    return (p["id"], p["event"], p["channel"], p["start"], p["end"], p["peak_score"])


def test_a_webhook_gets_every_alert_and_a_failed_post_is_retried(cli, receiver, tmp_path):
    board = write_board(tmp_path / "board1.jsonl", n=600)
    want = expected_events(board)
    assert [p["event"] for p in want[:2]] == ["open", "close"]
    hook = receiver(statuses=[500])
    proc = cli("score", str(board), "-o", str(tmp_path / "s.csv"), "--webhook", hook.url)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err
    statuses = [s for s, _, _ in hook.requests]
    assert statuses == [500] + [200] * len(want)
    bodies = [b for _, _, b in hook.requests]
    assert bodies[0] == bodies[1]
    assert [key(b) for b in bodies[1:]] == [key(p) for p in want]
    headers = hook.requests[0][1]
    assert headers["Content-Type"] == "application/json"
    first = bodies[1]
    assert (first["type"], first["source"], first["end"], first["end_iso"]) == (
        "alert",
        "board1",
        None,
        None,
    )
    assert "attempt 1 of 4 failed (HTTP 500" in err and "retrying in 1 s" in err
    assert "token" not in err + out
    assert f"{len(want)} delivered, 1 failed attempts" in out


def test_a_command_gets_the_alerts_fields_in_its_environment(cli, tmp_path):
    board = write_board(tmp_path / "board1.jsonl", n=600)
    want = expected_events(board)
    seen = tmp_path / "seen.jsonl"
    script = tmp_path / "hook.py"
    script.write_text(
        "import json, os, sys\n"
        "env = {k: v for k, v in os.environ.items() if k.startswith('SENSORSCOPE_')}\n"
        "open(sys.argv[1], 'a').write(json.dumps(env) + '\\n')\n"
    )
    cmd = f"{sys.executable} {script} '{seen}'"
    proc = cli("score", str(board), "--on-alert", cmd)
    assert proc.returncode == 0, proc.stderr.decode()
    got = [json.loads(line) for line in seen.read_text().splitlines()]
    assert len(got) == len(want)
    for env, p in zip(got, want, strict=True):
        assert env["SENSORSCOPE_ALERT_ID"] == str(p["id"])
        assert env["SENSORSCOPE_EVENT"] == p["event"]
        assert env["SENSORSCOPE_CHANNEL"] == p["channel"]
        assert env["SENSORSCOPE_SOURCE"] == "board1"
        assert float(env["SENSORSCOPE_START"]) == p["start"]
        assert env["SENSORSCOPE_END"] == ("" if p["end"] is None else str(p["end"]))
        assert float(env["SENSORSCOPE_PEAK_SCORE"]) == p["peak_score"]
        assert env["SENSORSCOPE_START_ISO"].endswith("Z")
        assert key(json.loads(env["SENSORSCOPE_ALERT_JSON"])) == key(p)


def test_a_failing_command_is_logged_and_counted_and_scoring_goes_on(cli, tmp_path):
    board = write_board(tmp_path / "board1.jsonl", n=600)
    n = len(expected_events(board))
    script = tmp_path / "fail.py"
    script.write_text("import sys; print('disk full', file=sys.stderr); sys.exit(3)\n")
    out = tmp_path / "s.csv"
    proc = cli("score", str(board), "-o", str(out), "--on-alert", f"{sys.executable} {script}")
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(out.read_text().splitlines()) == 1 + 1200
    err = proc.stderr.decode()
    assert err.count("not delivered: exit status 3: disk full") == n
    assert f"0 delivered, {n} failed" in proc.stdout.decode()


def test_an_unreachable_webhook_is_retried_then_given_up_on():
    hook = WebhookHook(f"http://127.0.0.1:{free_port()}/x", timeout=1, backoff=0.01)
    hooks = AlertHooks([hook], ["lab1"])
    hooks.start()
    from sensorscope.model import Alert

    hooks.on_alert(Alert(1, "temp", 1.0, None, 0.99, 30.0, 1.0, 1.0), "open")
    hooks.close(timeout=10)
    assert (hook.delivered, hook.failed, hook.failed_attempts) == (0, 1, 4)
    assert any("retrying" in e for e in hooks.errors())
    assert "alert #1 open not delivered: " in hooks.errors()[-1]
    assert "after 4 attempts" in hooks.errors()[-1]


@pytest.mark.parametrize(
    "args, text",
    [
        (["--on-alert", "no-such-command-here --x"], "no such command: no-such-command-here"),
        (["--on-alert", "'unclosed"], "bad --on-alert"),
        (["--webhook", "ftp://h/x"], "bad --webhook"),
        (["--mqtt-alerts", "lab/alerts"], "which broker?"),
        (["--mqtt-alerts", "mqtt://127.0.0.1/lab/#"], "wildcards"),
    ],
)
def test_bad_hook_options_are_one_line_errors(cli, tmp_path, args, text):
    board = write_board(tmp_path / "board1.jsonl", n=10)
    proc = cli("score", str(board), *args)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and text in err, err


def test_alerts_published_on_an_mqtt_topic_with_qos_1(mosquitto, cli, tmp_path):
    broker = mosquitto()
    board = write_board(tmp_path / "board1.jsonl", n=600)
    want = expected_events(board)
    got = []
    sub = subscriber(
        broker, "alerts/#", lambda m: got.append((m.topic, m.qos, json.loads(m.payload)))
    )
    try:
        url = f"{broker.url}/alerts/lab1"
        proc = cli("score", str(board), "--mqtt-alerts", url)
        assert proc.returncode == 0, proc.stderr.decode()
        wait_until(lambda: len(got) >= len(want), what="every alert event")
    finally:
        sub.loop_stop()
    assert {(t, q) for t, q, _ in got} == {("alerts/lab1", 1)}
    assert [key(b) for _, _, b in got] == [key(p) for p in want]


def test_a_watch_delivers_alerts_and_shows_a_failing_hook_as_an_error(receiver, tmp_path):
    board = write_board(tmp_path / "board1.jsonl", n=600)
    want = expected_events(board)
    good, bad = receiver(), receiver(statuses=[400] * 100)
    spec = HookSpec(webhooks=(good.url, bad.url))
    monitor = build_monitor([str(board)], Settings(), speed=None, hooks=spec)
    monitor.start()
    try:
        wait_until(lambda: len(good.requests) >= len(want), what="the alerts at the good hook")
        snap = wait_until(lambda: (s := monitor.snapshot()).errors and s, what="an error")
    finally:
        monitor.stop()
    assert [key(b) for _, _, b in good.requests] == [key(p) for p in want]
    assert "alert #1 open not delivered: HTTP 400 Bad Request" in snap.errors[0]
    assert "token" not in snap.errors[0]


def test_score_of_a_fleet_sends_its_alerts_to_a_topic_on_the_same_broker(
    mosquitto, procs, tmp_path
):
    from mqtt_broker import Lines

    broker = mosquitto()
    got = []
    sub = subscriber(broker, "alerts/#", lambda m: got.append(json.loads(m.payload)))
    try:
        out = tmp_path / "fleet.csv"
        fleet = f"{broker.url}/lab/#"
        scorer = procs(
            "score", fleet, "--mqtt-alerts", "alerts/fleet", "--duration", "6", "-o", str(out)
        )
        Lines(scorer.stderr).wait_for("subscribed to")
        board = write_board(tmp_path / "board1.jsonl", n=600)
        agent = procs("agent", str(board), "--speed", "max", "--mqtt", f"{broker.url}/lab/pi1")
        assert agent.wait(60) == 0
        stdout = scorer.stdout.read()  # until it ends, after its --duration
        assert scorer.wait(30) == 0
        wait_until(lambda: any(b["event"] == "close" for b in got), what="an alert closing")
    finally:
        sub.loop_stop()
    rows = out.read_text().splitlines()
    assert len(rows) == 1 + 1200
    assert rows[1].split(",")[1] == "pi1/board1/temp"
    assert "0 agent readings missing" in stdout.decode()
    assert {(b["channel"], b["source"]) for b in got} >= {("pi1/board1/temp", "pi1/board1")}
