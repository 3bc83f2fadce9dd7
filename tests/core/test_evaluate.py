"""Evaluation: event and point-wise metrics from labels, and NAB's scoring rules.

The NAB examples use 100-row series (probation = 15 rows) with one window over rows
50..59 (width 10), so every expected number can be worked out by hand from
s(y) = 2 / (1 + e^(5y)) - 1, s(-1) = 0.986614.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensorscope.errors import UserError
from sensorscope.evaluate import (
    NabSeries,
    alert_onsets,
    event_metrics,
    event_metrics_by_channel,
    load_nab_windows,
    nab_score,
    nab_scores,
    point_metrics,
    probation_rows,
    read_score_csv,
    scaled_sigmoid,
)
from sensorscope.model import Alert

T0 = 1_400_000_000.0
STEP = 300.0  # five-minute rows, as in NAB


def series(name="f", n=100, at=(), windows=((50, 59),), score=1.0) -> NabSeries:
    """An n-row series scoring ``score`` at the rows in ``at``; windows as row ranges."""
    t = T0 + STEP * np.arange(n)
    s = np.zeros(n)
    s[list(at)] = score
    return NabSeries(name, t, s, [(t[a], t[b]) for a, b in windows])


def raw_at(*rows, **kw) -> float:
    return nab_score([series(at=rows, **kw)], threshold=0.5).raw


# --------------------------------------------------------------------------- NAB pieces


def test_scaled_sigmoid_is_nabs_weight_curve():
    y = np.array([-1.0, -0.5, 0.0, 0.5, 2.9, 3.0, 50.0])
    expect = [0.986614, 0.848284, 0.0, -0.848284, -0.999999, -1.0, -1.0]
    assert scaled_sigmoid(y) == pytest.approx(expect, abs=1e-6)


def test_probation_is_15_percent_of_rows_capped_at_750():
    assert [probation_rows(n) for n in (0, 6, 100, 4032, 5000, 5001, 22695)] == [
        0,
        0,
        15,
        604,
        750,
        750,
        750,
    ]


# --------------------------------------------------------------------------- NAB rules


def test_detection_at_a_windows_first_row_earns_the_full_tp_weight():
    assert raw_at(50) == pytest.approx(1.0)


def test_earlier_detection_in_a_window_earns_more():
    # row 55: position -(59 - 55 + 1) / 10 = -0.5 -> s(-0.5) / s(-1) = 0.848284 / 0.986614
    # row 59: position -0.1 -> 0.244919 / 0.986614
    assert raw_at(55) == pytest.approx(0.859793, abs=1e-6)
    assert raw_at(59) == pytest.approx(0.248242, abs=1e-6)


def test_only_the_earliest_detection_in_a_window_counts():
    assert raw_at(55, 57, 59) == pytest.approx(raw_at(55))
    r = nab_score([series(at=(52, 55, 57))], threshold=0.5)
    assert (r.tp, r.fp, r.fn) == (1, 0, 0)


def test_missed_window_costs_the_fn_weight():
    assert raw_at() == pytest.approx(-1.0)
    low_fn = nab_score([series()], "reward_low_FN_rate", threshold=0.5)
    assert low_fn.raw == pytest.approx(-2.0)
    assert (low_fn.tp, low_fn.fn) == (0, 1)


def test_false_alert_before_the_first_window_costs_the_full_fp_weight():
    assert raw_at(20) == pytest.approx(-1.0 - 0.11)
    assert nab_score([series(at=(20,))], "reward_low_FP_rate", threshold=0.5).raw == (
        pytest.approx(-1.0 - 0.22)
    )


def test_false_alert_just_after_a_window_costs_less_than_one_far_after():
    # distance past the window in units of (width - 1) = 9 rows:
    # row 60 -> 1/9: 0.11 * s(1/9) = -0.029793; row 80 -> 21/9: -0.109998;
    # row 90 -> 31/9 >= 3: NAB counts it as a full false positive, -0.11.
    near, far, very_far = raw_at(50, 60) - 1, raw_at(50, 80) - 1, raw_at(50, 90) - 1
    assert near == pytest.approx(-0.029793, abs=1e-6)
    assert far == pytest.approx(-0.109998, abs=1e-6)
    assert very_far == pytest.approx(-0.11)
    assert near > far > very_far


def test_false_alert_between_windows_is_weighed_from_the_previous_window():
    two = ((30, 39), (70, 79))
    # row 41 is 2 rows past the first window: 2/9 -> 0.11 * s(0.2222) = -0.055514
    assert raw_at(30, 41, 70, windows=two) - 2 == pytest.approx(-0.055514, abs=1e-6)


def test_detection_in_probation_is_ignored():
    assert raw_at(10) == pytest.approx(raw_at())
    assert nab_score([series(at=(10,))], threshold=0.5).fp == 0


def test_window_inside_probation_is_neither_missed_nor_detected():
    r = nab_score([series(at=(50,), windows=((2, 8), (50, 59)))], threshold=0.5)
    assert (r.tp, r.fn, r.raw, r.score) == (1, 0, pytest.approx(1.0), pytest.approx(100.0))


def test_never_detecting_scores_0_and_perfect_detection_100():
    never = nab_score([series(), series("g", windows=((40, 44), (70, 90)))])
    assert never.score == pytest.approx(0.0)
    assert never.raw == pytest.approx(-3.0)
    assert never.threshold == 1.1  # above every score: NAB's "no detection"
    perfect = nab_score([series(at=(50,)), series("g", at=(40, 70), windows=((40, 44), (70, 90)))])
    assert perfect.score == pytest.approx(100.0)
    assert (perfect.tp, perfect.fp, perfect.fn) == (3, 0, 0)


def test_normalisation_is_linear_between_null_and_perfect():
    # one window: null = -1, perfect = 1; a detection at row 55 earns 0.859793
    r = nab_score([series(at=(55,))], threshold=0.5)
    assert r.score == pytest.approx(100 * (0.859793 + 1) / 2, abs=1e-4)


def test_threshold_sweep_picks_the_best_threshold_over_all_files_together():
    # a: window hit at 0.9, but ten false alerts before it at 0.65 (cost 1.1);
    # b: window hit at row 52 (0.977107) only at 0.6.
    # Alone, a's best threshold is 0.9; together, going down to 0.6 costs a 1.1 and
    # gains b 1.977: totals -2 (none), 0 (0.9), -1.1 (0.65), 0.877107 (0.6).
    a = series("a", at=range(20, 30), score=0.65)
    a.score[50] = 0.9
    b = series("b", at=(52,), score=0.6)
    alone = nab_score([a])
    assert alone.threshold == 0.9 and alone.raw == pytest.approx(1.0)
    both = nab_score([a, b])
    assert both.threshold == 0.6
    assert both.per_file == {"a": pytest.approx(-0.1), "b": pytest.approx(0.977107, abs=1e-6)}
    assert both.raw == pytest.approx(0.877107, abs=1e-6)
    assert both.score == pytest.approx(100 * (0.877107 + 2) / 4, abs=1e-4)
    assert (both.tp, both.fp, both.fn) == (2, 10, 0)


def test_among_equally_good_thresholds_the_highest_is_chosen():
    # the 0.5 row comes after the 0.9 one in the same window, so it changes nothing
    s = series(at=(50,), score=0.9)
    s.score[55] = 0.5
    assert nab_score([s]).threshold == 0.9


def test_given_threshold_is_used_as_is_and_scores_at_or_above_it_detect():
    s = series(at=(50,), score=0.7)
    assert nab_score([s], threshold=0.7).tp == 1
    assert nab_score([s], threshold=0.71).tp == 0


def test_alerts_as_shipped_score_one_detection_per_episode_onset():
    flags = np.zeros(100, dtype=bool)
    flags[[*range(20, 23), *range(52, 70)]] = True  # one episode early, one in the window
    s = series()
    s.score = alert_onsets(flags)
    r = nab_score([s], threshold=0.5)
    assert (r.tp, r.fp, r.fn) == (1, 1, 0)
    assert r.raw == pytest.approx(0.977107 - 0.11, abs=1e-6)


def test_nan_scores_never_detect():
    s = series(at=(50,))
    s.score[[20, 55]] = np.nan
    r = nab_score([s])
    assert (r.tp, r.fp, r.raw) == (1, 0, pytest.approx(1.0))


def test_window_limits_between_samples_take_the_rows_inside():
    s = series(at=(50,))
    s.windows = [(s.t[50] - 1.0, s.t[59] + 1.0)]
    assert nab_score([s], threshold=0.5).raw == pytest.approx(1.0)


def test_nab_scores_gives_every_profile():
    out = nab_scores([series(at=(20, 55))], threshold=0.5)
    assert list(out) == ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]
    assert out["standard"].raw == pytest.approx(0.859793 - 0.11, abs=1e-6)
    assert out["reward_low_FP_rate"].raw == pytest.approx(0.859793 - 0.22, abs=1e-6)
    assert out["reward_low_FN_rate"].score == pytest.approx(
        100 * (0.859793 - 0.11 + 2) / 3, abs=1e-4
    )


def test_unknown_profile_and_no_windows_are_errors():
    with pytest.raises(ValueError, match="unknown NAB profile"):
        nab_score([series()], "strict")
    with pytest.raises(UserError, match="no labeled window"):
        nab_score([series(windows=())])


# --------------------------------------------------------------------------- NAB, checked
# against the rules restated as a plain loop over rows


def _s(y: float) -> float:
    return -1.0 if y >= 3 else 2 / (1 + math.exp(5 * y)) - 1


def naive_raw(score, windows, threshold, weights) -> tuple[float, int]:
    """NAB's rules written out row by row: (raw score, windows counted)."""
    tp_w, fn_w, fp_w = weights
    n = len(score)
    prob = min(math.floor(0.15 * n), 750)
    total, counted = 0.0, 0
    for left, right in windows:
        if right < prob:
            continue
        counted += 1
        hits = [i for i in range(max(left, prob), right + 1) if score[i] >= threshold]
        if hits:
            total += tp_w * _s(-(right - hits[0] + 1) / (right - left + 1)) / _s(-1)
        else:
            total -= fn_w
    for i in range(prob, n):
        if score[i] < threshold or any(a <= i <= b for a, b in windows):
            continue
        before = [(a, b) for a, b in windows if b < i]
        if not before:
            total -= fp_w
        else:
            a, b = before[-1]
            total += fp_w * _s((i - b) / max(b - a, 1))
    return total, counted


@st.composite
def nab_files(draw):
    n = draw(st.integers(20, 80))
    cuts = sorted(draw(st.lists(st.integers(n // 5, n - 1), min_size=2, max_size=6, unique=True)))
    windows = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    score = draw(st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0]), min_size=n, max_size=n))
    return np.array(score), windows


@settings(max_examples=150, deadline=None)
@given(
    st.lists(nab_files(), min_size=1, max_size=3),
    st.sampled_from(["standard", "reward_low_FN_rate"]),
)
def test_sweep_finds_the_best_total_of_the_plain_rules(files, profile):
    from sensorscope.evaluate import PROFILES

    weights = PROFILES[profile]
    all_series = []
    for k, (score, windows) in enumerate(files):
        s = series(f"f{k}", n=len(score), windows=windows)
        s.score = score
        all_series.append(s)
    n_windows = sum(naive_raw(sc, w, 2.0, weights)[1] for sc, w in files)
    candidates = {float(v) for sc, _ in files for v in sc}
    totals = {thr: sum(naive_raw(sc, w, thr, weights)[0] for sc, w in files) for thr in candidates}
    best = max([-weights[1] * n_windows, *totals.values()])
    for thr, total in totals.items():
        assert nab_score(all_series, profile, threshold=thr).raw == pytest.approx(total)
    r = nab_score(all_series, profile)
    assert r.raw == pytest.approx(best)


# --------------------------------------------------------------------------- event metrics


def a(channel, start, end, label=None):
    return {"channel": channel, "start": start, "end": end, "label": label}


WINDOWS = [
    {"channel": "temp", "start": 100, "end": 200, "label": "anomaly"},
    {"channel": "temp", "start": 500, "end": 600, "label": "anomaly"},
    {"channel": "hum", "start": 300, "end": 400, "label": "anomaly"},
]
ALERTS = [
    a("temp", 90, 110),  # detects temp 100..200, began before it: delay 0
    a("temp", 150, 160),  # second alert in the same window: true, changes nothing
    a("temp", 700, 710),  # overlaps no window: false
    a("hum", 350, 360),  # detects hum 300..400 after 50 s
    a("hum", 800, 801, "false_positive"),  # labeled false: false
]


def test_event_metrics_worked_example():
    m = event_metrics(ALERTS, WINDOWS, duration_s=7200)
    assert (m.tp, m.fn, m.fp, m.true_alerts) == (2, 1, 2, 3)
    assert m.precision == pytest.approx(3 / 5)
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 * 0.6 * (2 / 3) / (0.6 + 2 / 3))  # 0.631579
    assert m.median_delay_s == 25.0  # median of 0 and 50
    assert m.false_alerts_per_hour == 1.0  # 2 false alerts in 2 h


def test_event_metrics_by_channel_worked_example():
    out = event_metrics_by_channel(ALERTS, WINDOWS, duration_s=3600)
    assert list(out) == ["hum", "temp"]
    hum, temp = out["hum"], out["temp"]
    assert (temp.tp, temp.fn, temp.fp, temp.true_alerts) == (1, 1, 1, 2)
    assert (temp.precision, temp.recall, temp.median_delay_s) == (2 / 3, 0.5, 0.0)
    assert temp.f1 == pytest.approx(4 / 7)
    assert (hum.tp, hum.fn, hum.fp, hum.precision, hum.recall) == (1, 0, 1, 0.5, 1.0)
    assert (hum.median_delay_s, hum.false_alerts_per_hour) == (50.0, 1.0)
    assert hum.f1 == pytest.approx(2 / 3)


def test_alert_on_another_channel_does_not_detect_a_window():
    m = event_metrics([a("hum", 150, 160)], WINDOWS[:1], 3600)
    assert (m.tp, m.fn, m.fp) == (0, 1, 1)


def test_alert_touching_a_window_end_detects_it():
    m = event_metrics([a("temp", 200, 210)], WINDOWS[:1], 3600)
    assert (m.tp, m.median_delay_s) == (1, 100.0)


def test_alert_labeled_false_positive_inside_a_window_detects_nothing():
    m = event_metrics([a("temp", 150, 160, "false_positive")], WINDOWS[:1], 3600)
    assert (m.tp, m.fn, m.fp, m.precision, m.recall, m.f1) == (0, 1, 1, 0.0, 0.0, 0.0)


def test_delay_is_from_the_earliest_overlapping_alert():
    m = event_metrics([a("temp", 180, 190), a("temp", 120, 130)], WINDOWS[:1], 3600)
    assert m.median_delay_s == 20.0


def test_open_alert_reaches_its_last_high_score():
    alert = Alert(7, "temp", 90.0, None, 0.9, 1.0, 95.0, last_above=120.0)
    m = event_metrics([alert], WINDOWS[:1], 3600)
    assert (m.tp, m.fp) == (1, 0)


def test_false_positive_label_records_are_not_windows():
    spans = [*WINDOWS[:1], {"channel": "temp", "start": 300, "end": 400, "label": "false_positive"}]
    m = event_metrics([a("temp", 350, 360)], spans, 3600)
    assert (m.tp, m.fn, m.fp) == (0, 1, 1)


def test_event_metrics_with_nothing_to_measure():
    m = event_metrics([], [], 3600)
    assert (m.tp, m.fn, m.fp, m.true_alerts) == (0, 0, 0, 0)
    assert (m.precision, m.recall, m.f1, m.median_delay_s) == (None, None, None, None)
    assert m.false_alerts_per_hour == 0.0


def test_event_metrics_without_alerts_has_zero_recall_and_no_precision():
    m = event_metrics([], WINDOWS, 3600)
    assert (m.precision, m.recall, m.f1, m.fn) == (None, 0.0, 0.0, 3)


def test_event_metrics_without_windows_has_zero_precision_and_no_recall():
    m = event_metrics([a("temp", 1, 2)], [], 1800)
    assert (m.precision, m.recall, m.f1, m.false_alerts_per_hour) == (0.0, None, 0.0, 2.0)


def test_zero_duration_gives_no_alert_rate():
    assert event_metrics([a("temp", 1, 2)], [], 0).false_alerts_per_hour is None


# --------------------------------------------------------------------------- point metrics


def test_point_metrics_worked_example():
    t = np.arange(20.0)
    flags = np.isin(t, [2, 3, 9, 10, 11, 15])
    # positives: 3..5 and 10..12 (ends included) -> flagged 3, 10, 11 are tp; 2, 9, 15 fp;
    # 4, 5, 12 fn
    m = point_metrics(t, flags, [(3, 5), (10, 12)])
    assert (m.tp, m.fp, m.fn) == (3, 3, 3)
    assert (m.precision, m.recall, m.f1) == (0.5, 0.5, 0.5)


def test_point_metrics_with_no_flags_or_no_windows():
    t = np.arange(5.0)
    none = point_metrics(t, np.zeros(5, dtype=bool), [(1, 2)])
    assert (none.precision, none.recall, none.f1, none.fn) == (None, 0.0, 0.0, 2)
    nothing = point_metrics(t, np.zeros(5, dtype=bool), [])
    assert (nothing.precision, nothing.recall, nothing.f1) == (None, None, None)


def test_point_metrics_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        point_metrics(np.arange(3.0), np.zeros(4, dtype=bool), [])


# --------------------------------------------------------------------------- files


def test_load_nab_windows_reads_naive_times_as_utc(tmp_path):
    p = tmp_path / "windows.json"
    p.write_text(
        json.dumps(
            {
                "realKnownCause/x.csv": [
                    ["2014-04-10 07:15:00.000000", "2014-04-11 16:45:00.000000"]
                ],
                "artificialNoAnomaly/y.csv": [],
            }
        )
    )
    out = load_nab_windows(p)
    assert out == {
        "realKnownCause/x.csv": [(1397114100.0, 1397234700.0)],
        "artificialNoAnomaly/y.csv": [],
    }


def test_load_nab_windows_errors_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        load_nab_windows(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"f.csv": [["2014-04-10 07:15:00"]]}')
    with pytest.raises(UserError, match="pair"):
        load_nab_windows(bad)


def test_read_score_csv_reads_nab_results(tmp_path):
    p = tmp_path / "numenta_x.csv"
    p.write_text(
        "timestamp,value,anomaly_score\n2014-04-01 00:00:00,20.0,0.03\n2014-04-01 00:05:00,21.5,1\n"
    )
    t, value, score = read_score_csv(p)
    assert t.tolist() == [1396310400.0, 1396310700.0]
    assert value.tolist() == [20.0, 21.5]
    assert score.tolist() == [0.03, 1.0]


SCORES = (
    "timestamp,channel,value,imputed,score,alert\n"
    "2024-01-02T03:04:05Z,temp,21.5,0,0.1,0\n"
    "2024-01-02T03:04:05Z,hum,,1,0.2,0\n"
    "2024-01-02T03:04:06.500Z,temp,22.0,0,0.95,1\n"
)


def test_read_score_csv_reads_one_channel_of_a_sensorscope_score_file(tmp_path):
    p = tmp_path / "out.csv"
    p.write_text(SCORES)
    t, value, score = read_score_csv(p, channel="temp")
    assert t.tolist() == [1704164645.0, 1704164646.5]
    assert (value.tolist(), score.tolist()) == ([21.5, 22.0], [0.1, 0.95])
    _, hum, _ = read_score_csv(p, channel="hum")
    assert np.isnan(hum[0])
    assert read_score_csv(p, channel="temp", column="alert")[2].tolist() == [0.0, 1.0]


def test_read_score_csv_needs_a_channel_when_there_are_several(tmp_path):
    p = tmp_path / "out.csv"
    p.write_text(SCORES)
    with pytest.raises(UserError, match="hum, temp"):
        read_score_csv(p)
    with pytest.raises(UserError, match="no channel 'x'"):
        read_score_csv(p, channel="x")


def test_read_score_csv_reads_jsonl_score_files(tmp_path):
    p = tmp_path / "out.jsonl"
    rows = [
        {
            "timestamp": "2024-01-02T03:04:05Z",
            "t": 1704164645.25,
            "channel": "temp",
            "value": 1.0,
            "imputed": False,
            "score": 0.5,
            "alert": True,
        },
    ]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    t, value, score = read_score_csv(p)
    assert (t.tolist(), value.tolist(), score.tolist()) == ([1704164645.25], [1.0], [0.5])
    assert read_score_csv(p, column="alert")[2].tolist() == [1.0]


def test_read_score_csv_errors_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        read_score_csv(tmp_path / "missing.csv")
    p = tmp_path / "bad.csv"
    p.write_text("timestamp,value,anomaly_score\n2014-04-01 00:00:00,1,high\n")
    with pytest.raises(UserError, match="row 1"):
        read_score_csv(p)
    p.write_text("when,value\n1,2\n")
    with pytest.raises(UserError, match="timestamp"):
        read_score_csv(p)
