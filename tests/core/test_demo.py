"""The bundled demo recording: made by the simulator, its faults caught by the defaults."""

from __future__ import annotations

from pathlib import Path

from sensorscope.labels import read_labels
from sensorscope.pipeline import Pipeline
from sensorscope.runner import Runner
from sensorscope.sources import RecordingSource

RECORDINGS = Path(__file__).resolve().parent.parent.parent / "recordings"


def test_demo_recording_is_small_and_labeled():
    rec = RECORDINGS / "demo.jsonl"
    assert rec.stat().st_size < 2_000_000
    labels = read_labels(str(RECORDINGS / "demo.labels.jsonl"))
    assert {lab.fault for lab in labels} == {"spike", "stuck", "drift", "noise"}


def test_every_fault_in_the_demo_is_caught_with_no_false_alert():
    pipeline = Pipeline(source_names=["sim"])
    runner = Runner([RecordingSource(str(RECORDINGS / "demo.jsonl"))], pipeline)
    runner.start()
    assert runner.wait(60)
    runner.stop()
    labels = read_labels(str(RECORDINGS / "demo.labels.jsonl"))

    def overlaps(alert, lab):
        # A joint alert is about the channels it names.
        on = alert.channel == lab.channel or lab.channel in alert.channels
        return on and lab.overlaps(alert.start - 1.0, alert.end + 1.0)

    missed = [lab.fault for lab in labels if not any(overlaps(a, lab) for a in pipeline.alerts)]
    false = [a for a in pipeline.alerts if not any(overlaps(a, lab) for lab in labels)]
    assert missed == []
    assert false == []
    stuck = [a for a in pipeline.alerts if a.reason.startswith("stuck at")]
    assert len(stuck) == sum(lab.fault == "stuck" for lab in labels)
