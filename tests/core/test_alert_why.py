"""Alerts say why: the part that opened them, the band it expected, a joint alert's channels;
in the record, score's summary, the hooks' JSON and environment, and MQTT's alert text."""

from __future__ import annotations

import json
import random
import sys

from mqtt_broker import write_board

from sensorscope.hooks import alert_env, alert_payload
from sensorscope.model import Alert, Frame, Reason, Settings
from sensorscope.mqtt import alert_text
from sensorscope.pipeline import Pipeline


def run(lines: list[str], settings: Settings | None = None) -> list[Alert]:
    p = Pipeline(settings or Settings(), ["dev"])
    p.process([Frame(1000.0 + 0.1 * i, "dev", line) for i, line in enumerate(lines)])
    p.finish()
    return list(p.alerts)


def noisy(n: int, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [21.5 + rng.gauss(0, 0.1) for _ in range(n)]


def test_a_spike_says_which_part_saw_it_and_that_the_usual_level_was_expected():
    values = noisy(1500)
    values[1000] = 35.0
    (alert,) = run([f"temp:{v:.2f}" for v in values])
    assert alert.why in (Reason.FORECAST, Reason.RANGE)
    assert alert.view in ("forecast", "range rule")
    lo, hi = alert.expected
    assert lo < 21.5 < hi < 35.0  # what it expected, not what it learned from the spike
    assert hi - lo < 3.0
    assert alert.explain().startswith(alert.view + ", expected ")


def test_a_stuck_sensor_names_the_stuck_rule_and_has_no_band():
    values = noisy(1500)
    values[1000:1100] = [values[999]] * 100
    alerts = run([f"temp:{v:.2f}" for v in values])
    stuck = [a for a in alerts if a.why == Reason.STUCK]
    assert len(stuck) == 1
    assert stuck[0].view == "stuck rule" and stuck[0].expected is None
    assert stuck[0].reason.startswith("stuck at ")


def test_a_value_past_a_configured_limit_expects_the_limits():
    values = noisy(600)
    values[400] = 30.0
    alerts = run([f"temp:{v:.2f}" for v in values], Settings(limits={"temp": (-40.0, 25.0)}))
    above = [a for a in alerts if a.why == Reason.ABOVE]
    assert above and above[0].expected == (-40.0, 25.0) and above[0].view == "limits"


def test_score_prints_why_beside_each_alert(cli, tmp_path):
    values = noisy(1500)
    values[1000] = 35.0
    rec = tmp_path / "spike.csv"
    rec.write_text("time,temp\n" + "".join(f"{1000 + i},{v:.2f}\n" for i, v in enumerate(values)))
    proc = cli("score", str(rec), "-o", str(tmp_path / "s.csv"))
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    header = next(line for line in out.splitlines() if "reason" in line)
    assert header.rstrip(" ┃").endswith("why")
    assert "expected" in out and ("forecast" in out or "range" in out)


def test_a_hook_gets_the_view_the_band_and_the_channels(cli, tmp_path):
    board = write_board(tmp_path / "board1.jsonl", n=600)
    seen = tmp_path / "seen.jsonl"
    script = tmp_path / "hook.py"
    script.write_text(
        "import json, os, sys\n"
        "env = {k: v for k, v in os.environ.items() if k.startswith('SENSORSCOPE_')}\n"
        "open(sys.argv[1], 'a').write(json.dumps(env) + '\\n')\n"
    )
    proc = cli("score", str(board), "--on-alert", f"{sys.executable} {script} '{seen}'")
    assert proc.returncode == 0, proc.stderr.decode()
    got = [json.loads(line) for line in seen.read_text().splitlines()]
    assert got
    for env in got:
        body = json.loads(env["SENSORSCOPE_ALERT_JSON"])
        assert body["view"] in ("forecast", "range rule", "stuck rule", "HST", "limits")
        assert body["channels"] == [] and env["SENSORSCOPE_CHANNELS"] == ""
        if body["expected"] is not None:
            lo, hi = body["expected"]
            assert lo < hi and env["SENSORSCOPE_EXPECTED"] == f"{lo},{hi}"


def test_a_joint_alert_names_its_channels_everywhere():
    a = Alert(
        4, "pump", 10.0, None, 0.9, 3.1, 10.0, 10.0, reason="channels out of step",
        why=Reason.JOINT, expected=(0.0, 2.5), channels=("flow", "current"),
    )  # fmt: skip
    assert a.explain() == "joint view, expected 0 to 2.5, channels flow, current"
    body = alert_payload(a, "open", source="pump")
    assert (body["view"], body["expected"], body["channels"]) == (
        "joint view",
        [0.0, 2.5],
        ["flow", "current"],
    )
    assert alert_env(body)["SENSORSCOPE_CHANNELS"] == "flow,current"
    # What a watching monitor shows of an alert an agent published.
    text = alert_text(json.loads(json.dumps(body)))
    assert text.endswith("(channels out of step) [joint view, expected 0 to 2.5]")
