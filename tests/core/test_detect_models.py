"""sensorscope.detect: every model the factory builds by name is a ChannelModel that the engine
and the pipeline drive, and every view of the default scorer is a View."""

from __future__ import annotations

import itertools
import math
import threading
from pathlib import Path

import numpy as np
import pytest

from sensorscope.detect.base import CalibratedView, ChannelModel, View
from sensorscope.detect.config import VARIANTS
from sensorscope.detect.default import ChannelScorer
from sensorscope.detect.factory import ModelFactory
from sensorscope.engine import ChannelEngine
from sensorscope.model import Reason, Settings
from sensorscope.pipeline import Pipeline
from sensorscope.sources import RecordingSource

DEMO = Path(__file__).resolve().parent.parent.parent / "recordings" / "demo.jsonl"
# The default, its plain HST variant, variants with a part off or combined otherwise, and a
# river detector (river's own HalfSpaceTrees).
MODELS = ("default", "hst-raw", "+forecast", "default-hst", "try:bonferroni", "hst")
# The recording's first 40 s (5 channels at 10 Hz): past every model's warm-up.
FRAMES = 400


def demo_frames(n: int = FRAMES) -> list:
    src = RecordingSource(str(DEMO))
    frames = list(itertools.islice(itertools.chain.from_iterable(
        src.batches(threading.Event())), n))  # fmt: skip
    return src.names, frames


@pytest.mark.parametrize("name", MODELS)
def test_every_model_by_name_is_a_channel_model_the_pipeline_scores(name):
    factory = ModelFactory(name)
    assert isinstance(factory(0), ChannelModel)
    names, frames = demo_frames()
    rows = []
    pipeline = Pipeline(Settings(detector=name), names, on_sample=rows.append)
    pipeline.process(frames)
    assert len(rows) == 5 * sum(f.line is not None for f in frames)
    assert all(0.0 <= r.score <= 1.0 for r in rows)
    assert len(pipeline.registry.engines) == 5
    for engine in pipeline.registry.engines.values():
        assert isinstance(engine.model, ChannelModel)
        assert not engine.warming_up, "40 s at 10 Hz is past every warm-up"


@pytest.mark.parametrize("name", MODELS)
def test_every_model_by_name_gives_reasons_through_the_engine(name):
    """Scored through one ChannelEngine, a jump far beyond a quiet channel opens an alert
    with a reason, in the reason codes every model speaks in."""
    factory = ModelFactory(name)
    engine = ChannelEngine("temp", factory(0), threshold=factory.threshold,
                           hysteresis=factory.hysteresis)  # fmt: skip
    rng = np.random.default_rng(0)
    t = 1_763_884_800.0 + 0.1 * np.arange(1200)
    v = 21.5 + rng.normal(0.0, 0.1, 1200)
    v[1000:1005] += 50.0
    out = engine.process(t, v)
    assert out.alert[1000:1010].any()
    assert {Reason(w) for w in np.unique(out.why).tolist()} <= set(Reason)
    opened = [a for _, kind, a, _snap in out.events if kind == "open"]
    assert opened and opened[0].reason


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_view_of_every_variant_is_a_view(variant):
    scorer = ChannelScorer(VARIANTS[variant])
    assert isinstance(scorer, ChannelModel)
    for cv in scorer.views:
        assert isinstance(cv.view, View)
        assert isinstance(cv.view.reason, Reason)
        assert cv.view.part in ("hst", "forecast", "profiles", "local")
    kinds = {type(cv.view).__name__ for cv in scorer.views}
    cfg = VARIANTS[variant]
    assert ("HstView" in kinds) == cfg.hst
    assert ("ForecastView" in kinds) == cfg.forecast
    assert ("LocalView" in kinds) == cfg.local
    assert sum(type(cv.view).__name__ == "ProfileView" for cv in scorer.views) == len(cfg.profiles)


class Above:
    """A toy view: how far past a fixed level each sample is, as its own score (no
    likelihood), so that the test reads what the scorer makes of a view's output."""

    reason = Reason.FORECAST
    part = "forecast"
    warming_up = False

    def __init__(self, level: float) -> None:
        self.level = level
        self.seen = 0  # its whole state: samples learned

    def run(self, values, t, learn):
        self.seen += int(learn.sum())
        return np.clip(values - self.level, 0.0, 1.0)

    def likelihood_input(self, raw):
        return raw

    def learn_late(self, values):
        pass

    def expected(self, t):
        return (-math.inf, self.level)

    def checkpoint(self):
        return self.seen

    def restore(self, state):
        self.seen = state


def test_a_view_registered_in_one_line_is_run_combined_and_named(monkeypatch):
    import sensorscope.detect.default as default

    def above_views(cfg):
        return [CalibratedView(Above(30.0), None)]

    monkeypatch.setattr(default, "VIEWS", (*default.VIEWS, above_views))
    scorer = ChannelScorer(VARIANTS["hst-raw"])
    assert isinstance(scorer.views[-1].view, View)
    v = np.full(600, 21.5)
    v[500] = 31.0
    got = scorer.score_many(v, 0.1 * np.arange(600))
    assert got.score[500] == 1.0 and got.why[500] == Reason.FORECAST
    assert got.score[:500].max() < scorer.threshold
    ck = scorer.checkpoint()
    scorer.score_many(v, 0.1 * np.arange(600))
    scorer.restore(ck)
    assert scorer.views[-1].view.seen == 600
