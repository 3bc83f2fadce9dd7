"""sensorscope.detect.default: the per-channel scorer's contract, and what it catches on made-up
series."""

from __future__ import annotations

import math
import pickle
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from sensorscope.detect.config import DEFAULT, DEFAULT_HYSTERESIS, DEFAULT_THRESHOLD, VARIANTS
from sensorscope.detect.default import INTERVAL_GAPS, ChannelScorer
from sensorscope.detect.factory import make_scorer
from sensorscope.detect.likelihood import Likelihood
from sensorscope.detect.profile import ProfileView
from sensorscope.detect.rules import RangeRule, StuckRule

T0 = 1_763_884_800.0  # a UTC midnight, so slots of the day line up with the data
DT = 0.1  # 10 Hz, like the simulated board
CONTRACT_VARIANTS = (
    "default", "hst-raw", "+forecast", "try:tail-gpd", "try:seconds-10", "default-local"
)  # fmt: skip
RECORDINGS = Path(__file__).resolve().parent.parent.parent / "recordings"


def noisy(n: int, seed: int = 0, level: float = 21.5, sd: float = 0.1) -> np.ndarray:
    """A stable sensor: a level with gaussian noise and a slow gentle wave."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    return level + 0.5 * sd * np.sin(i / 700.0) + rng.normal(0.0, sd, n)


def times(n: int, dt: float = DT) -> np.ndarray:
    return T0 + dt * np.arange(n)


def mixed(
    n: int = 3000, seed: int = 1, dt: float = 60.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values with faults of every kind, timestamps ``dt`` apart (minutes: the daily profile
    gets to speak; 0.1 s: a fast channel, whose scores are of p per score_period), and some
    imputed samples."""
    v = noisy(n, seed, sd=0.5)
    v[900] += 8.0
    v[1400:1450] = v[1399]
    v[2000:] += 3.0
    v[2500:2540] += np.random.default_rng(seed).normal(0.0, 4.0, 40)
    learn = np.ones(n, dtype=bool)
    learn[[5, 20, 300, 301, 1200, 2600]] = False
    return v, times(n, dt), learn


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize("variant", CONTRACT_VARIANTS)
def test_scores_are_in_unit_interval(variant):
    v, t, learn = mixed()
    v[1000] = 1e12
    v[1001] = -1e12
    v[1002] = math.nan
    v[1003] = math.inf
    sc = make_scorer(variant)
    out = [sc.score(x, tt, bool(k)) for x, tt, k in zip(v, t, learn, strict=True)]
    assert all(0.0 <= s <= 1.0 for s in out)
    flat = make_scorer(variant)
    assert all(0.0 <= flat.score(3.0, T0 + i) <= 1.0 for i in range(600))


@pytest.mark.parametrize("variant", CONTRACT_VARIANTS)
def test_imputed_samples_change_nothing(variant):
    """A scorer fed extra samples with learn=False scores everything else exactly as one that
    never saw them, during the warm-up and after it."""
    v, t, _ = mixed()
    plain, extra = make_scorer(variant), make_scorer(variant)
    got, want = [], []
    for i, (x, tt) in enumerate(zip(v, t, strict=True)):
        if i in (10, 600, 601, 602, 1300):
            s = extra.score(x + 50.0, tt, learn=False)
            assert 0.0 <= s <= 1.0
        want.append(plain.score(x, tt))
        got.append(extra.score(x, tt))
    assert got == want


@pytest.mark.parametrize("dt", [60.0, DT])
@pytest.mark.parametrize("variant", CONTRACT_VARIANTS)
def test_scores_do_not_depend_on_how_the_stream_is_cut(variant, dt):
    """A live source hands the scorer a few samples at a time, a replay thousands: the
    scores are the same (to 1e-9) either way, through the warm-up and after it, on a slow
    channel and on a fast one (whose sample interval is learned on the way)."""
    v, t, learn = mixed(dt=dt)
    want = make_scorer(variant).score_many(v, t, learn).score
    one = make_scorer(variant)
    singles = np.array([one.score(x, tt, bool(k)) for x, tt, k in zip(v, t, learn, strict=True)])
    np.testing.assert_allclose(singles, want, rtol=0, atol=1e-9)
    pieces = make_scorer(variant)
    out = []
    cuts = [0, 100, 101, 260, 1000, 1003, 2500, len(v)]
    for a, b in pairwise(cuts):
        if b - a == 1:
            out.append([pieces.score(v[a], t[a], bool(learn[a]))])
        else:
            out.append(pieces.score_many(v[a:b], t[a:b], learn[a:b]).score)
    np.testing.assert_allclose(np.concatenate(out), want, rtol=0, atol=1e-9)


def test_score_many_without_times_or_flags():
    v = noisy(800)
    a, b = ChannelScorer(), ChannelScorer()
    np.testing.assert_allclose(
        a.score_many(v).score, np.array([b.score(x) for x in v]), rtol=0, atol=1e-9
    )


def test_deterministic_for_a_seed():
    v, t, learn = mixed()
    a = make_scorer("default").score_many(v, t, learn).score
    b = make_scorer("default").score_many(v, t, learn).score
    assert np.array_equal(a, b)
    other = ChannelScorer(VARIANTS["hst-raw"].with_(seed=7)).score_many(v, t, learn).score
    assert not np.array_equal(make_scorer("hst-raw").score_many(v, t, learn).score, other)


@pytest.mark.parametrize("dt", [60.0, DT])
def test_a_checkpoint_brings_the_scorer_back_exactly(dt):
    """The pipeline scores ahead and goes back when an alert opens: after restore the scorer
    gives what it would have given had it never seen the samples in between."""
    v, t, learn = mixed(dt=dt)
    ref = make_scorer("default")
    want = ref.score_many(v, t, learn).score
    sc = make_scorer("default")
    sc.score_many(v[:1200], t[:1200], learn[:1200])
    ck = sc.checkpoint()
    sc.score_many(v[1200:2000] + 100.0, t[1200:2000], learn[1200:2000])
    sc.restore(ck)
    np.testing.assert_allclose(sc.score_many(v[1200:], t[1200:], learn[1200:]).score,
                               want[1200:], rtol=0, atol=1e-9)  # fmt: skip


def test_picklable_mid_stream():
    v, t, learn = mixed()
    sc = make_scorer("default")
    sc.score_many(v[:1500], t[:1500], learn[:1500])
    copy = pickle.loads(pickle.dumps(sc))
    rest = slice(1500, None)
    assert np.array_equal(
        sc.score_many(v[rest], t[rest], learn[rest]).score,
        copy.score_many(v[rest], t[rest], learn[rest]).score,
    )


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown scorer variant"):
        make_scorer("nope")


def test_shipped_defaults():
    sc = ChannelScorer()
    assert (sc.config.threshold, sc.config.hysteresis) == (DEFAULT_THRESHOLD, DEFAULT_HYSTERESIS)
    assert sc.config.hst, "HST stays part of the default"
    assert (VARIANTS["hst-raw"].threshold, VARIANTS["hst-raw"].hysteresis) == (0.98, 10)


# --------------------------------------------------------------------------- behaviour

STABLE = 3000  # samples of normal data before a fault


def peak_after_onset(values: np.ndarray, onset: int, within: int = 30) -> tuple[float, str]:
    sc = ChannelScorer()
    t = times(len(values))
    peak, reason = 0.0, ""
    for i, (x, tt) in enumerate(zip(values, t, strict=True)):
        s = sc.score(x, tt)
        if i < onset:
            assert s < sc.threshold, f"false alert at {i} before the fault ({sc.reason})"
        elif i < onset + within and s > peak:
            peak, reason = s, sc.reason
    return peak, reason


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spike_is_caught(seed):
    v = noisy(STABLE + 200, seed)
    v[STABLE] += 1.5  # 15 noise sd
    peak, _ = peak_after_onset(v, STABLE)
    assert peak >= DEFAULT_THRESHOLD


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_level_shift_is_caught(seed):
    v = noisy(STABLE + 400, seed)
    v[STABLE:] += 1.0
    peak, _ = peak_after_onset(v, STABLE)
    assert peak >= DEFAULT_THRESHOLD


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stuck_value_is_caught_with_its_reason(seed):
    v = noisy(STABLE + 400, seed)
    v[STABLE:] = v[STABLE - 1]
    peak, reason = peak_after_onset(v, STABLE)
    assert peak >= DEFAULT_THRESHOLD
    assert reason.startswith("stuck at")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_burst_is_caught(seed):
    v = noisy(STABLE + 400, seed)
    v[STABLE : STABLE + 30] += np.random.default_rng(seed + 10).normal(0.0, 0.6, 30)
    peak, _ = peak_after_onset(v, STABLE)
    assert peak >= DEFAULT_THRESHOLD


def test_stationary_noise_alerts_rarely():
    """A healthy sensor (gaussian noise on a slow wave, 10 Hz): over 12 hours of it, at
    most three samples reach the threshold (measured: 1; before scores were of p per
    score_period: 19). ``bench/nab_quality.py`` prints the alerts per channel-hour."""
    highs = 0
    for seed in range(12):
        v = noisy(36000, seed)
        score = ChannelScorer().score_many(v, times(len(v))).score
        highs += int((score >= DEFAULT_THRESHOLD).sum())
    assert highs <= 3


def test_a_fast_channel_needs_the_same_evidence_per_score_period():
    """The same values 0.1 s apart score log10(10 s / 0.1 s) / 10 = 0.2 lower on every
    statistical view than 10 s apart (one sample per score_period), once the interval is
    known; the rules score the same."""
    v, _, learn = mixed()
    n = len(v)
    slow = ChannelScorer(DEFAULT.with_(refractory=0)).score_many(v, times(n, 10.0), learn)
    fast_sc = ChannelScorer(DEFAULT.with_(refractory=0))
    fast = fast_sc.score_many(v, times(n, DT), learn)
    assert fast_sc.interval == pytest.approx(DT)
    rule = np.isin(slow.why, (5, 6))  # range, stuck
    known = np.arange(n) > INTERVAL_GAPS + 2  # two imputed samples among the first ones
    want = np.where(rule, slow.evidence, np.maximum(slow.evidence - 0.2, 0.0))
    # atol: 0.1 s steps on epoch times are 0.1 to about 1e-7 (float64 at 1.7e9).
    np.testing.assert_allclose(fast.evidence[known], want[known], rtol=0, atol=1e-6)
    assert (slow.evidence[~rule & known] > 0.2).any()


def test_a_level_shift_inside_the_noise_range_is_caught_on_a_fast_channel():
    """Three noise sd for a minute at 10 Hz: inside the range the noise has covered (the
    range rule is silent); HST's view of the value distribution catches it."""
    n = 18000
    v = noisy(n + 3000, 5)
    v[n : n + 600] += 0.3
    sc = ChannelScorer()
    out = sc.score_many(v, times(len(v)))
    assert out.score[:n].max() < DEFAULT_THRESHOLD
    high = np.flatnonzero(out.score[n : n + 700] >= DEFAULT_THRESHOLD)
    assert high.size and out.why[n + high[0]] == 1  # HST


def test_a_missing_daily_peak_is_caught_by_the_daily_profile():
    """Hourly data with a daily peak; one day the peak does not come."""
    hours = np.arange(24 * 40)
    rng = np.random.default_rng(0)
    v = 20.0 + 60.0 * ((hours % 24 >= 9) & (hours % 24 < 17)) + rng.normal(0, 1.0, len(hours))
    day = 30
    v[day * 24 + 9 : day * 24 + 17] = 20.0 + rng.normal(0, 1.0, 8)
    sc = ChannelScorer()
    out = sc.score_many(v, T0 + 3600.0 * hours).score
    assert out[: day * 24].max() < DEFAULT_THRESHOLD
    assert out[day * 24 + 9 : day * 24 + 17].max() >= DEFAULT_THRESHOLD


def test_one_alert_per_event():
    """A long anomalous stretch scores above the threshold at its start, not all along."""
    v = noisy(STABLE + 500, 0)
    v[STABLE:] += 5.0
    out = ChannelScorer().score_many(v, times(len(v))).score
    high = np.flatnonzero(out >= DEFAULT_THRESHOLD)
    assert high.size and high[0] >= STABLE
    assert high.size <= 3


def test_refractory_follows_the_threshold():
    """The scorer's threshold is what the refractory step guards: a user raising it keeps
    alerts (the pipeline sets it with the channel's threshold)."""
    v = noisy(STABLE + 200, 1)
    v[STABLE] += 1.5
    sc = ChannelScorer()
    sc.threshold = 0.6
    out = sc.score_many(v, times(len(v))).score
    assert out[STABLE : STABLE + 30].max() >= 0.6


# --------------------------------------------------------------------------- parts


def test_likelihood_ignores_views_that_are_not_ready():
    lik = Likelihood(avg=2, history=50, min_history=10)
    yes = np.ones(1, dtype=bool)
    assert lik.run(np.array([np.nan]), yes)[0] == 0.0
    assert not lik.run(np.full(10, 0.2), np.ones(10, dtype=bool)).any()
    assert lik.run(np.array([0.2]), yes)[0] < 0.1
    assert len(lik.means) == 11, "the NaN of a view not ready never entered the history"


def test_likelihood_scores_a_sample_it_does_not_learn_as_if_appended():
    a, b = Likelihood(avg=3, history=50, min_history=5), Likelihood(avg=3, history=50,
                                                                     min_history=5)  # fmt: skip
    base = 0.1 + 0.05 * (np.arange(40) % 4)
    a.run(base, np.ones(40, dtype=bool))
    b.run(base, np.ones(40, dtype=bool))
    probe = a.run(np.array([0.9]), np.array([False]))[0]
    assert probe == b.run(np.array([0.9]), np.array([True]))[0]
    assert len(a.means) == 40 and len(b.means) == 41


def test_profile_needs_two_earlier_visits():
    p = ProfileView(period=86400.0, slots=24)
    # One sample per hour: day 1 gives levels, day 2 spreads, day 3 is scored.
    h = np.arange(72)
    z = p.run(10.0 + (h % 24) + 0.1 * (h // 24 % 2), 3600.0 * h, np.ones(72, dtype=bool))
    assert np.isnan(z[:48]).all()
    assert np.isfinite(z[49:]).all()


def test_range_rule_with_a_delay_catches_a_drift_that_creeps():
    """A drift that moves less than the tolerance per sample drags a learned range that takes
    in every sample along with it; one that leaves out the last 10 samples is left behind."""
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 1.0, 1500)
    x[1000:1400] += np.linspace(0.0, 100.0, 400)  # 0.25 per sample; the tolerance is ~3.4
    seen = np.ones(len(x), dtype=bool)
    plain = RangeRule(warmup=250).run(x, seen)
    delayed = RangeRule(warmup=250, delay=10).run(x, seen)
    assert not plain.any()
    assert delayed[1000:1400].any() and not delayed[:1000].any()


def test_range_rule_with_a_delay_is_the_same_however_the_stream_is_cut():
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, 3000)
    x[2000:2200] += np.linspace(0.0, 60.0, 200)
    seen = rng.random(3000) > 0.05
    want = RangeRule(warmup=100, delay=10).run(x, seen)
    assert want.any()
    for size in (1, 7, 64, 999):
        rule = RangeRule(warmup=100, delay=10)
        got = np.concatenate([rule.run(x[i : i + size], seen[i : i + size])
                              for i in range(0, len(x), size)])  # fmt: skip
        assert np.array_equal(got, want), size


@pytest.mark.parametrize("tail", ["expo", "gpd"])
def test_fitted_likelihood_tails_are_the_same_however_the_stream_is_cut(tail):
    """The tail is refitted on a schedule of learned means, so where a batch ends does not
    change it."""
    rng = np.random.default_rng(6)
    raw = np.abs(rng.normal(0.0, 1.0, 5000)) / 5.0
    raw[3000:3020] += 0.8
    learn = rng.random(5000) > 0.05
    kw = dict(history=1500, min_history=200, tail=tail, tail_refit=300)
    want = Likelihood(**kw).run(raw, learn)
    assert want[3000:3020].max() > 0.3
    for size in (1, 13, 300, 2048):
        lik = Likelihood(**kw)
        got = np.concatenate([lik.run(raw[i : i + size], learn[i : i + size])
                              for i in range(0, len(raw), size)])  # fmt: skip
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_stuck_rule_learns_usual_runs_and_ignores_constants():
    rule = StuckRule(warmup=20, min_run=5)
    assert not rule.run(np.ones(100), np.ones(100, dtype=bool)).any(), "a constant"
    square = StuckRule(warmup=60, min_run=5)
    wave = np.array(([0.0] * 30 + [1.0] * 30) * 5)
    assert not square.run(wave, np.ones(len(wave), dtype=bool)).any(), "runs of 30 are usual"
    assert square.run(np.ones(100), np.ones(100, dtype=bool)).any()


def test_stuck_rule_is_the_same_however_the_stream_is_cut():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(0, 1, 5000), 1)
    x[1000:1100] = 0.5
    x[3000:3060] = -0.2
    x[4000:4500] = 7.0
    seen = rng.random(5000) > 0.02
    want = StuckRule(warmup=200).run(x, seen)
    assert want[1000:1100].any() and want[4000:4500].any()
    for size in (1, 7, 100, 999):
        rule = StuckRule(warmup=200)
        got = np.concatenate([rule.run(x[i : i + size], seen[i : i + size])
                              for i in range(0, len(x), size)])  # fmt: skip
        assert np.array_equal(got, want), size


# --------------------------------------------------------------------------- the demo


def test_demo_faults_are_caught_with_at_most_one_false_alert():
    """The bundled recording through the scorer and the live alert tracker, as the pipeline
    would run them: every fault caught, stuck sensors named, at most one false alert."""
    import threading
    from collections import defaultdict

    from sensorscope.episodes import AlertTracker
    from sensorscope.labels import read_labels
    from sensorscope.pipeline import Pipeline
    from sensorscope.sources import RecordingSource

    rows = defaultdict(list)
    src = RecordingSource(str(RECORDINGS / "demo.jsonl"))
    pipeline = Pipeline(
        source_names=src.names,
        on_sample=lambda s: rows[s.channel].append((s.t, s.value, s.imputed)),
    )
    for batch in src.batches(threading.Event()):
        pipeline.process(batch)
    tracker = AlertTracker(DEFAULT_THRESHOLD, DEFAULT_HYSTERESIS)
    for channel, samples in rows.items():
        sc = ChannelScorer()
        for t, value, imputed in samples:
            s = sc.score(value, t, learn=not imputed)
            tracker.update(channel, t, value, s, sc.reason)
    tracker.close_all()
    alerts = tracker.closed
    labels = read_labels(str(RECORDINGS / "demo.labels.jsonl"))

    def overlaps(alert, lab):
        return alert.channel == lab.channel and lab.overlaps(alert.start - 1.0, alert.end + 1.0)

    missed = [lab.fault for lab in labels if not any(overlaps(a, lab) for a in alerts)]
    false = [a for a in alerts if not any(overlaps(a, lab) for lab in labels)]
    assert missed == []
    assert len(false) <= 1
    stuck = [a for a in alerts if a.reason.startswith("stuck at")]
    assert len(stuck) == sum(lab.fault == "stuck" for lab in labels)


def test_a_sensor_stuck_again_much_later_is_flagged_again():
    """A flagged run raises the bar for a while (a channel that holds values by nature alerts
    once), but the same fault an hour later is a fault again."""
    rule = StuckRule(warmup=100, min_run=10)
    x = np.round(np.random.default_rng(2).normal(0, 1, 40000), 2)
    x[5000:5030] = 0.5
    x[5060:5085] = 0.5  # right after, a little shorter: within the raised bar
    x[36000:36030] = 0.5  # an hour later at 10 Hz
    got = rule.run(x, np.ones(len(x), dtype=bool))
    assert got[5000:5030].any() and not got[5060:5085].any() and got[36000:36030].any()
