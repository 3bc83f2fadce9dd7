"""Per-channel detectors follow river's contract and give scores in [0, 1]."""

from __future__ import annotations

import copy
import pickle
import random

import pytest
from river import anomaly

from sensorscope.detect.factory import parse_param
from sensorscope.detect.river import ChannelDetector, detector_factory, resolve_detector
from sensorscope.errors import UserError


def normal(n, seed=0, mean=21.5, sd=0.1):
    rng = random.Random(seed)
    return [rng.gauss(mean, sd) for _ in range(n)]


def test_default_detector_is_river_hst_with_river_defaults():
    make = detector_factory()
    model = make(0)
    assert isinstance(model, anomaly.HalfSpaceTrees)
    assert (model.n_trees, model.height, model.window_size) == (10, 8, 250)


def test_hst_on_one_feature_matches_river_fed_the_same_scaled_values():
    """The wrapper adds scaling, not different semantics: river alone gives the same scores."""
    det = ChannelDetector(detector_factory(seed=7), warmup=250, features=("value",))
    values = normal(1200, seed=3)
    ours = [det.score(v) for v in values]
    lo, span = det._lo[0], det._span[0]
    ref = anomaly.HalfSpaceTrees(seed=7)
    theirs = []
    for i, v in enumerate(values):
        x = {"value": min(1.0, max(0.0, (v - lo) / span))}
        s = ref.score_one(x) if i >= 250 else 0.0
        ref.learn_one(x)
        theirs.append(s)
    assert ours == pytest.approx(theirs, abs=1e-12)


def test_scores_are_zero_while_warming_up_then_in_unit_interval():
    det = ChannelDetector(detector_factory(), warmup=100)
    scores = [det.score(v) for v in normal(600)]
    assert all(s == 0.0 for s in scores[:100])
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert not det.warming_up


def test_value_far_outside_learned_range_scores_high_and_normal_scores_low():
    det = ChannelDetector(detector_factory(), warmup=250)
    scores = sorted(det.score(v) for v in normal(2000))
    assert det.score(40.0, learn=False) > scores[-1]
    assert det.score(40.0, learn=False) > 0.97


def test_imputed_samples_are_not_learned():
    det = ChannelDetector(detector_factory(), warmup=10)
    for v in normal(50):
        det.score(v)
    learned = det.learned
    det.score(21.5, learn=False)
    assert det.learned == learned


def test_scoring_does_not_mutate_detector_when_learn_is_false():
    det = ChannelDetector(detector_factory(), warmup=50, features=("value",))
    for v in normal(400):
        det.score(v)
    before = pickle.dumps(det.model)
    det.score(22.0, learn=False)
    assert pickle.dumps(det.model) == before


def test_same_seed_same_scores_and_detectors_are_picklable():
    values = normal(700)
    a = ChannelDetector(detector_factory(seed=1))
    b = copy.deepcopy(a)
    assert [a.score(v) for v in values] == [b.score(v) for v in values]
    pickle.loads(pickle.dumps(a))


@pytest.mark.parametrize("name", ["OneClassSVM", "lof", "GaussianScorer"])
def test_any_river_detector_by_name_scores_in_unit_interval(name):
    det = ChannelDetector(detector_factory(name), warmup=20)
    values = normal(300) + [30.0]
    scores = [det.score(v) for v in values]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[-1] >= 0.9


def test_detector_names_ignore_case_and_punctuation():
    assert resolve_detector("half-space-trees")[0] == "HalfSpaceTrees"
    assert resolve_detector("one_class_svm")[0] == "OneClassSVM"


def test_unknown_detector_names_the_choices():
    with pytest.raises(UserError, match="unknown detector 'nope'.*HalfSpaceTrees"):
        detector_factory("nope")


def test_unknown_parameter_is_a_clear_error():
    with pytest.raises(UserError, match="HalfSpaceTrees has no parameter 'trees'"):
        detector_factory("hst", {"trees": 3})


def test_parameters_reach_the_detector():
    model = detector_factory("hst", dict([parse_param("n_trees=25"), parse_param("height=15")]))(0)
    assert (model.n_trees, model.height) == (25, 15)


def test_bad_param_syntax_is_a_clear_error():
    with pytest.raises(UserError, match="expected NAME=VALUE"):
        parse_param("n_trees")
