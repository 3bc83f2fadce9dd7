"""The joint view: faults that show only in how a source's channels move together."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sensorscope.detect.config import DEFAULT
from sensorscope.joint import JointEngine
from sensorscope.model import Label, LabelKind, Reason, Settings
from sensorscope.pipeline import Pipeline
from sensorscope.recording import RecordingReader
from sensorscope.simulate import Board, write_board_recording
from sensorscope.simulate.pump import PUMP_CHANNELS, Pump

T0 = 1.7e9


def alerts_of(path, joint: bool):
    p = Pipeline(Settings(joint=joint), ["pump"])
    p.process(list(RecordingReader(str(path))))
    p.finish()
    return p.alerts


def caught(alerts, fault, channel=None) -> bool:
    return any(
        a.start <= T0 + fault.end + 5 and a.until >= T0 + fault.start
        and (channel is None or a.channel == channel)
        for a in alerts
    )  # fmt: skip


@pytest.fixture(scope="module")
def pump_run(tmp_path_factory):
    pump = Pump(1800, seed=2)
    path = tmp_path_factory.mktemp("pump") / "pump.jsonl"
    write_board_recording(str(path), pump, 1800, T0, src="pump")
    return pump, path


def test_the_pumps_faults_keep_every_channel_inside_its_usual_range():
    pump = Pump(1800, seed=2)
    healthy = Pump(1800, seed=2, faults=()).healthy
    assert len(pump.faults) >= 9
    for f in pump.faults:
        a, b = int(f.start * pump.rate), int(f.end * pump.rate)
        for name, (lo, hi) in healthy.items():
            assert lo <= pump.values[name][a:b].min() and pump.values[name][a:b].max() <= hi


def test_coupling_breaks_are_caught_jointly_where_the_channels_alone_miss_them(pump_run):
    pump, path = pump_run
    joint = alerts_of(path, joint=True)
    alone = alerts_of(path, joint=False)
    by_joint = [f for f in pump.faults if caught(joint, f, ":joint")]
    missed_alone = [f for f in pump.faults if not caught(alone, f)]
    assert len(by_joint) >= 8 and len(missed_alone) >= 3
    assert all(caught(joint, f) for f in missed_alone)
    ours = [a for a in joint if a.channel == ":joint"]
    assert all(a.why == Reason.JOINT and a.reason == "channels out of step" for a in ours)
    assert all(a.channels and set(a.channels) <= set(PUMP_CHANNELS) for a in ours)
    # A blocked valve: flow (and pressure) moved without the current; they are named first.
    blocked = [a for a in ours if any(caught([a], f) for f in pump.faults if f.kind == "blocked")]
    assert blocked and all(a.channels[0] in ("flow", "pressure") for a in blocked)


def test_a_healthy_pump_raises_no_joint_alert(tmp_path):
    path = tmp_path / "healthy.jsonl"
    write_board_recording(str(path), Pump(1800, seed=3, faults=()), 1800, T0, src="pump")
    assert [a for a in alerts_of(path, joint=True) if a.channel == ":joint"] == []


def test_a_single_channel_recording_scores_the_same_with_and_without_it(cli, tmp_path):
    path = tmp_path / "one.jsonl"
    write_board_recording(str(path), Board(channels=1, rate=10, seed=4), 300, T0)
    outs = []
    for flag in ("--joint", "--no-joint"):
        out = tmp_path / f"s{flag}.csv"
        assert cli("score", str(path), "-o", str(out), flag).returncode == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_channels_that_never_move_are_scored_not_crashed_on(cli, tmp_path):
    # A board printing one fixed line (a sensor unplugged, a test fixture): its vectors have
    # no spread, and the joint view must stay silent rather than stop the scoring.
    path = tmp_path / "fixed.jsonl"
    line = "Humidity: 45.00 %  Temperature: 23.50 *C"
    rows = ['{"sensorscope": 1, "sources": {"stdin": {"kind": "stdin"}}}']
    rows += [f'{{"t": {T0 + 0.1 * i:.1f}, "src": "stdin", "line": "{line}"}}' for i in range(600)]
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "scores.csv"
    done = cli("score", str(path), "-o", str(out))
    assert done.returncode == 0, done.stderr
    body = out.read_text().splitlines()[1:]
    assert len(body) == 1200
    assert {row.split(",")[1] for row in body} == {"Humidity", "Temperature"}


def test_its_scores_are_the_same_however_the_stream_is_cut():
    pump = Pump(900, seed=2)
    x = np.stack([pump.values[c] for c in PUMP_CHANNELS], axis=1)
    t = np.arange(len(x)) / pump.rate

    def run(cuts):
        e = JointEngine("pump", list(PUMP_CHANNELS), DEFAULT, threshold=0.55, hysteresis=10,
                        name=":joint")  # fmt: skip
        bounds = [0, *cuts, len(x)]
        scores, events = [], []
        for a, b in zip(bounds, bounds[1:], strict=False):
            s, ev = e.process(t[a:b], x[a:b])
            scores.append(s)
            events += [(a + k, kind) for k, kind, _, _ in ev]
        return np.concatenate(scores), events

    whole, ev_whole = run([])
    rng = np.random.default_rng(0)
    cut, ev_cut = run(sorted(rng.choice(np.arange(1, len(x)), 40, replace=False).tolist()))
    assert ev_whole and ev_cut == ev_whole
    np.testing.assert_allclose(cut, whole, atol=1e-9)


def test_a_restart_with_state_goes_on_with_the_joint_view_as_one_run(cli, pump_run, tmp_path):
    pump, path = pump_run
    lines = path.read_bytes().splitlines(keepends=True)
    cut = len(lines) // 2
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_bytes(b"".join(lines[:cut]))
    second.write_bytes(lines[0] + b"".join(lines[cut:]))
    state = tmp_path / "pump.state"

    def joint_rows(*files):
        out = []
        for f in files:
            got = cli("score", str(f), "--state", str(state))
            assert got.returncode == 0, got.stderr
            out += [ln.split("│")[3].strip() for ln in got.stdout.decode().splitlines()
                    if ":joint" in ln]  # fmt: skip
        return out

    split = joint_rows(first, second)
    state.unlink()
    whole = joint_rows(path)
    # The same joint alerts start at the same times (one open at the cut is listed twice).
    assert sorted(set(split)) == sorted(set(whole)) and len(whole) >= 8


@pytest.fixture(scope="module")
def blocked_pump(tmp_path_factory):
    # One fault kind, over and over: a pipe that partly blocks every few minutes.
    pump = Pump(1800, seed=2, faults=("blocked",))
    path = tmp_path_factory.mktemp("blocked") / "pump.jsonl"
    write_board_recording(str(path), pump, 1800, T0, src="pump")
    return path


def joint_alerts(path, labels=(), label_first_at=None):
    p = Pipeline(Settings(), ["pump"])
    if labels:
        p.learn_labels(labels)
    frames = list(RecordingReader(str(path)))
    cut = len(frames) if label_first_at is None else label_first_at
    p.process(frames[:cut])
    if label_first_at is not None:
        first = next(a for a in p.alerts if a.channel == ":joint")
        p.add_label(Label("x1", ":joint", first.start, first.until, LabelKind.FALSE_POSITIVE,
                          alert=first.id))  # fmt: skip
    p.process(frames[cut:])
    p.finish()
    return [a for a in p.alerts if a.channel == ":joint"]


def test_a_false_positive_label_on_a_joint_alert_teaches_the_joint_view(blocked_pump):
    plain = joint_alerts(blocked_pump)
    assert len(plain) >= 8
    first = plain[0]
    label = Label("l1", ":joint", first.start, first.until, LabelKind.FALSE_POSITIVE)
    taught = joint_alerts(blocked_pump, [label])
    assert taught[0].peak_value == first.peak_value  # the labelled one is as it was
    # The channels sitting like that is now part of normal: each repeat stands out less.
    later = {round(a.start - T0, -1): a.peak_value for a in plain[1:]}
    for a in taught[1:]:
        assert a.peak_value < 0.75 * later.get(round(a.start - T0, -1), math.inf)


def test_labelling_a_joint_alert_in_the_monitor_teaches_it_too(blocked_pump):
    plain = joint_alerts(blocked_pump)
    taught = joint_alerts(blocked_pump, label_first_at=4000)  # 400 s in: the first is over
    assert len(taught) <= len(plain)
    assert sum(a.peak_value for a in taught[1:]) < 0.75 * sum(a.peak_value for a in plain[1:])
