"""Issue 13's fixed tuning protocol: one table, one column per detector configuration.

Every detection change is reported with this table, the current default beside the candidate.
Figures go through the path users run (``sensorscope.series.load_series`` + ``evaluate_series``,
the ``Pipeline``), with the helpers of ``bench/nab_quality.py``.

1. Leave-one-category-out (LOCO) on the 18 NAB files (artificialNoAnomaly 5, artificialWithAnomaly
   6, realKnownCause 7; windows of ``combined_windows.json``, NAB's rules as ``evaluate`` uses
   them). Each file is scored once per configuration. For each fold the alert threshold is
   chosen from :data:`GRID` by the NAB standard score of the shipped alerts (episode onsets) on
   the two other categories together (a tie goes to the threshold nearest the configuration's
   own, then to the lower), then the held-out category is measured at that threshold:
   NAB standard of the shipped alerts, windows caught / total, false alerts (``evaluate``'s event
   rule). The mean of the folds' held-out NAB is THE figure to improve. artificialNoAnomaly has no
   window, so its NAB score is undefined (NAB normalises by the windows): that fold reports its
   false alerts only, and the mean is over the two folds with windows. The 18-file total at the
   shipped threshold is printed too, marked as the figure not to tune on.

   The threshold grid, two ways. The scorer's raw score is computed without the threshold, but
   the engine around it depends on it: it does not learn inside an alert episode, and its fault
   rules and hold act on episodes, so both the scores after an episode and the episodes differ
   from one threshold to another. THE figure re-runs the engine for each threshold of the grid
   (the run at the configuration's own threshold is the one stored; ~30 s more per column on
   this machine). The fast estimate beside it scores each file once and applies
   ``sensorscope.episodes`` (the episode rule with the configuration's hysteresis) to the stored
   scores for every threshold, as ``sensorscope tune``'s fast search does; it is NOT a re-run
   of the engine, and it is biased towards the configuration's own threshold (the stored scores
   are what the engine learned with that threshold's episodes: measured on the shipped default,
   its training curves peak sharply at 0.55 where the re-run's are flat, and it gives 84.4 where
   the re-run gives 82.6). ``--fast`` prints only that estimate. The 18-file total at the
   shipped threshold is printed both ways too (the engine's alerts, and the episode rule on its
   stored scores) so the size of the difference shows.
2. Simulator families with known ground truth (``sensorscope.simulate.Board`` writes the labels of
   its faults): boards of 4 channels at 10 Hz with a spike, stuck, drift, noise or missing fault
   (missing data is not an anomaly and is not scored as one) every
   :data:`FAULT_EVERY` s after :data:`FIRST_FAULT` s, over several seeds, written as recordings and
   scored through the pipeline, at each of :data:`SEVERITIES` (``Board(severity=)`` scales a
   spike's excursion, a drift's peak and a noise burst's extra noise; 1 is the classic board,
   whose faults are all far out, so the smaller severities are where detectors differ). Per
   severity and kind: faults caught (an alert on the fault's channel that overlaps the fault or
   the :data:`GRACE` s after it) / faults, and false alerts per channel-hour on those runs
   (alerts that overlap no fault, missing data included, +- grace); then false alerts per
   channel-hour on healthy boards (``faults=()``: no fault at all, first minute included).
3. Faults that last minutes (``bench/lasting.py``): a 1 Hz rig with faults of 300-400 s, caught
   / total, the share of each caught fault alerted (coverage) and the onset delay; permanent
   level steps, how long they stay alerted before they are normal; healthy rigs' false alerts.
4. The bursty-count family (``sensorscope.simulate.counts``: negative-binomial counts every 5
   minutes with a daily profile and benign heavy-tailed bursts, two weeks a run): false alerts
   per week on healthy runs, and surges, drops and broken rhythms caught / total (an alert on
   the channel that overlaps the anomaly or the grace after it) with the false alerts there.
5. Three similar anomalies hours apart (spike, level shift, noise burst, drift; one 10 Hz
   channel, one seed per run): caught / total and how many of the later two, false alerts.
6. The coupled-channel pump (``sensorscope.simulate.pump``, 30 min runs): faults that keep
   every channel in its range, caught by any alert / total and by the joint view, false
   alerts there and on healthy pumps.
7. The demo recording (``recordings/demo.jsonl`` with its labels): faults caught / total and
   false alerts, as ``bench/nab_quality.py`` and ``tests/core/test_demo.py`` count them.

    python bench/protocol.py                       # the shipped default (column "current")
    python bench/protocol.py --quick               # fewer simulator seeds and minutes
    python bench/protocol.py --fast                # the grid on stored scores only (biased)
    python bench/protocol.py --config current=detector=default \\
        --config thr06=detector=default,threshold=0.6,param.hst_trees=25 --json /tmp/p.json

A SPEC is ``key=value`` pairs separated by commas: ``detector`` (a name in
``sensorscope.detect.config.VARIANTS``), any ``Settings`` field (``threshold``, ``hysteresis``,
``hold``, ``learn_in_alerts``, ...) and ``param.NAME`` for the scorer's parameters.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from lasting import lasting_protocol, lasting_rows  # noqa: E402
from nab_quality import DEMO, Variant, _value, config_for, demo_figures, settings_for  # noqa: E402

from sensorscope.detect.config import VARIANTS  # noqa: E402
from sensorscope.evaluate import load_nab_windows  # noqa: E402
from sensorscope.model import Settings  # noqa: E402
from sensorscope.pipeline import Pipeline  # noqa: E402
from sensorscope.series import (  # noqa: E402
    ChannelSeries,
    Windows,
    evaluate_series,
    load_series,
    load_windows,
    score_file,
)
from sensorscope.simulate import Board, Fault, write_board_recording  # noqa: E402
from sensorscope.simulate.counts import (  # noqa: E402
    COUNT_ANOMALIES,
    CountSeries,
    write_count_recording,
)
from sensorscope.simulate.pump import Pump  # noqa: E402
from sensorscope.sources import RecordingSource  # noqa: E402
from sensorscope.tune import apply_alerts, resolved  # noqa: E402

GRID = tuple(round(0.40 + 0.05 * k, 2) for k in range(9))  # 0.40 .. 0.80
CATEGORIES = ("artificialNoAnomaly", "artificialWithAnomaly", "realKnownCause")
SIM_KINDS = ("spike", "stuck", "drift", "noise")  # the anomalous kinds (missing is not one)
SIM_CHANNELS = 4
SIM_RATE = 10.0
FIRST_FAULT = 300.0  # s: past the warm-up and a few cycles of the board's fastest wander
FAULT_EVERY = 30.0  # s: each fault (6 s at most) well over before the next
GRACE = 2.0  # s after a fault in which an alert still counts as caught
# Board severities: 1 is the classic board (every fault far out); below, subtle faults.
SEVERITIES = (1.0, 0.5, 0.25)
T0 = 1_763_884_800.0


# --------------------------------------------------------------------------- configurations


def parse_config(text: str) -> Variant:
    """``NAME=SPEC`` -> a :class:`Variant`; ValueError with one clear line when wrong."""
    name, _, spec = text.partition("=")
    if not name or not spec:
        raise ValueError(f"--config {text!r}: expected NAME=SPEC")
    known = {f.name for f in fields(Settings)}
    detector = "default"
    changes: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for item in spec.split(","):
        key, eq, val = item.strip().partition("=")
        if not eq:
            raise ValueError(f"--config {name}: {item!r} is not key=value")
        if key == "detector":
            if val not in VARIANTS:
                raise ValueError(f"--config {name}: unknown detector {val!r}")
            detector = val
        elif key.startswith("param."):
            params[key[len("param.") :]] = _value(val)
        elif key in known and key not in ("params", "fmt"):
            changes[key] = _value(val)
        else:
            raise ValueError(f"--config {name}: {key!r} is neither a Settings field nor param.X")
    if params:
        changes["params"] = params
    v = Variant(name, detector, changes)
    config_for(v)  # raises ValueError on an unknown or bad parameter
    return v


# --------------------------------------------------------------------------- 1. NAB LOCO


def category(s: ChannelSeries) -> str:
    return Path(s.key).parent.name


def _at(series: list[ChannelSeries], threshold: float, hysteresis: int) -> list[ChannelSeries]:
    """Copies of ``series`` with the episodes of ``threshold`` on their stored scores."""
    out = [replace(s) for s in series]
    apply_alerts(out, threshold, hysteresis)
    return out


def _figures(members: list[ChannelSeries], windows: Windows) -> dict[str, Any]:
    got = evaluate_series(members, windows)
    ev = got["total"]["events"]
    shipped = got["nab"].get("shipped")
    return {
        "nab": shipped["standard"]["score"] if shipped else None,
        "caught": ev["tp"],
        "windows": ev["tp"] + ev["fn"],
        "false": ev["fp"],
    }


def rescored(settings: Settings, threshold: float, files: list[Path]) -> list[ChannelSeries]:
    out: list[ChannelSeries] = []
    for f in files:
        out += load_series([str(f)], replace(settings, threshold=threshold))
    return out


def loco(by_thr: dict[float, list[ChannelSeries]], windows: Windows, own: float) -> dict[str, Any]:
    """The folds of leave-one-category-out, given the series of each threshold of the grid."""
    folds = []
    for held in CATEGORIES:
        train_score = {}
        for thr, ss in by_thr.items():
            train = [s for s in ss if category(s) != held]
            train_score[thr] = _figures(train, windows)["nab"]
        # Ties go to the threshold nearest the configuration's own (then the lower).
        best = max(GRID, key=lambda t: (train_score[t], -abs(t - own), -t))
        test = [s for s in by_thr[best] if category(s) == held]
        fold = {"held_out": held, "threshold": best, "train_nab": train_score[best]}
        folds.append(fold | {"train_grid": train_score, **_figures(test, windows)})
    scored = [f["nab"] for f in folds if f["nab"] is not None]
    return {"folds": folds, "mean": sum(scored) / len(scored)}


def nab_protocol(v: Variant, files: list[Path], labels: Path, exact: bool) -> dict[str, Any]:
    settings = settings_for(v)
    full = resolved(settings)
    series: list[ChannelSeries] = []
    for f in files:
        series += load_series([str(f)], settings)
    windows = load_windows(str(labels), series)
    out: dict[str, Any] = {"shipped_threshold": full.threshold, "hysteresis": full.hysteresis}
    out["total_engine"] = _figures(series, windows)
    out["total_rule"] = _figures(_at(series, full.threshold, full.hysteresis), windows)
    # The fast estimate: the episode rule on the scores stored at the configuration's own
    # threshold. The engine run again for each threshold (the run at its own threshold is
    # the one above: the engine is deterministic).
    stored = {thr: _at(series, thr, full.hysteresis) for thr in GRID}
    out["loco_stored"] = loco(stored, windows, full.threshold)
    if exact:
        rerun = {thr: series if thr == full.threshold else rescored(settings, thr, files)
                 for thr in GRID}  # fmt: skip
        out["loco_exact"] = loco(rerun, windows, full.threshold)
    return out


# --------------------------------------------------------------------------- 2. simulator


def _near(a: Any, channel: str, start: float, end: float) -> bool:
    return a.channel == channel and a.start <= end + GRACE and a.until >= start


def _board_run(settings: Settings, board: Board, seconds: float, tmp: Path) -> list[Any]:
    path = tmp / f"board-{board.seed}-{len(board.faults)}-{board.severity:g}.jsonl"
    write_board_recording(str(path), board, seconds, T0)
    return [a for s in score_file(str(path), settings) for a in s.alerts]


def fault_runs(
    v: Variant, seeds: int, minutes: float, severity: float, tmp: Path
) -> dict[str, Any]:
    """Boards with faults at ``severity``: faults caught per kind, false alerts per ch-hour."""
    settings = settings_for(v)
    caught = dict.fromkeys(SIM_KINDS, 0)
    total = dict.fromkeys(SIM_KINDS, 0)
    false = 0
    seconds = minutes * 60.0
    for seed in range(seeds):
        kinds = (*SIM_KINDS, "missing")
        board = Board(SIM_CHANNELS, SIM_RATE, seed, fault_every=FAULT_EVERY,
                      first_fault=FIRST_FAULT, faults=kinds, severity=severity)  # fmt: skip
        alerts = _board_run(settings, board, seconds, tmp)
        faults: list[Fault] = board.faults_until(seconds)
        for f in faults:
            # A fault counts once its grace is inside the run.
            if f.kind in caught and f.end + GRACE < seconds:
                total[f.kind] += 1
                caught[f.kind] += any(_near(a, f.channel, T0 + f.start, T0 + f.end) for a in alerts)
        false += sum(
            not any(_near(a, f.channel, T0 + f.start, T0 + f.end) for f in faults) for a in alerts
        )
    return {"caught": caught, "faults": total,
            "false_per_ch_hour": false / (seeds * SIM_CHANNELS * minutes / 60.0)}  # fmt: skip


def sim_protocol(
    v: Variant, seeds: int, minutes: float, healthy_minutes: float, severities: tuple[float, ...]
) -> dict[str, Any]:
    settings = settings_for(v)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        out["severities"] = {sev: fault_runs(v, seeds, minutes, sev, tmp) for sev in severities}
        false = 0
        for seed in range(seeds):
            healthy = Board(SIM_CHANNELS, SIM_RATE, 1000 + seed, faults=())
            false += len(_board_run(settings, healthy, healthy_minutes * 60.0, tmp))
    hours = seeds * SIM_CHANNELS * healthy_minutes / 60.0
    out["healthy"] = {"false": false, "ch_hours": hours, "false_per_ch_hour": false / hours}
    return out


REPEAT_KINDS = ("spike", "shift", "noise", "drift")
REPEAT_FIRST = 3600.0  # s: an hour of normal first
REPEAT_EVERY = 7200.0  # s: three similar anomalies, two hours apart
REPEAT_SECONDS = REPEAT_FIRST + 2 * REPEAT_EVERY + 1200.0


def repeat_protocol(v: Variant, seeds: int) -> dict[str, Any]:
    """Three similar anomalies hours apart on one 10 Hz channel, per kind: how many of them
    are caught, the later two counted apart (a first alert must not blind the channel to a
    repeat), and false alerts (alerts overlapping no anomaly +- 30 s)."""
    settings = settings_for(v)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        for kind in REPEAT_KINDS:
            caught = later = total = false = 0
            for seed in range(seeds):
                board = Board(1, SIM_RATE, seed, fault_every=REPEAT_EVERY,
                              first_fault=REPEAT_FIRST, faults=(kind,))  # fmt: skip
                path = Path(d) / f"repeat-{kind}-{seed}.jsonl"
                write_board_recording(str(path), board, REPEAT_SECONDS, T0)
                alerts = [a for s in score_file(str(path), settings) for a in s.alerts]
                faults = board.faults_until(REPEAT_SECONDS)
                for k, f in enumerate(faults):
                    hit = any(_near(a, f.channel, T0 + f.start, T0 + f.end) for a in alerts)
                    total += 1
                    caught += hit
                    later += hit and k > 0
                false += sum(
                    not any(a.start <= T0 + f.end + 30 and a.until >= T0 + f.start
                            for f in faults)
                    for a in alerts
                )  # fmt: skip
            out[kind] = {"caught": caught, "later": later, "total": total, "false": false}
    return out


def _pipeline_alerts(path: Path, settings: Settings) -> list[Any]:
    """Every alert of a recording, the joint view's included (``score_file`` keeps the
    channels' series, which a joint alert is on none of)."""
    src = RecordingSource(str(path))
    pipeline = Pipeline(settings, src.names)
    for batch in src.batches(threading.Event()):
        pipeline.process(batch)
    pipeline.finish()
    return list(pipeline.alerts)


def pump_protocol(v: Variant, seeds: int) -> dict[str, Any]:
    """The coupled-channel pump (``sensorscope.simulate.pump``): faults that keep every
    channel in its range, caught by any alert of the source (the joint view's included) /
    total, false alerts on those runs and on healthy pumps (30 min each)."""
    settings = settings_for(v)
    caught = total = false = healthy_false = joint = 0
    with tempfile.TemporaryDirectory() as d:
        for seed in range(seeds):
            pump = Pump(1800, seed=seed)
            path = Path(d) / f"pump-{seed}.jsonl"
            write_board_recording(str(path), pump, 1800, T0, src="pump")
            alerts = _pipeline_alerts(path, settings)

            def near(a: Any, f: Fault) -> bool:
                return a.start <= T0 + f.end + GRACE and a.until >= T0 + f.start

            for f in pump.faults:
                total += 1
                caught += any(near(a, f) for a in alerts)
                joint += any(near(a, f) and a.channel.endswith(":joint") for a in alerts)
            false += sum(not any(near(a, f) for f in pump.faults) for a in alerts)
            path = Path(d) / f"pump-healthy-{seed}.jsonl"
            write_board_recording(str(path), Pump(1800, seed=seed, faults=()), 1800, T0,
                                  src="pump")  # fmt: skip
            healthy_false += len(_pipeline_alerts(path, settings))
    return {"caught": caught, "joint": joint, "total": total, "false": false,
            "healthy_false": healthy_false, "healthy_hours": seeds * 0.5}  # fmt: skip


def count_protocol(v: Variant, seeds: int) -> dict[str, Any]:
    """The bursty-count family (``sensorscope.simulate.counts``): false alerts per week on
    healthy runs (two weeks each), and anomalies caught / total (+ false alerts) on runs
    with a surge, a drop and a broken rhythm each."""
    settings = settings_for(v)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        false = 0
        weeks = 0.0
        for seed in range(seeds):
            series = CountSeries(seed=seed)
            path = str(Path(d) / f"healthy-{seed}.jsonl")
            write_count_recording(path, series, T0)
            false += sum(len(s.alerts) for s in score_file(path, settings))
            weeks += series.days / 7.0
        out["healthy"] = {"false": false, "weeks": weeks, "per_week": false / weeks}
        caught = dict.fromkeys(COUNT_ANOMALIES, 0)
        total = dict.fromkeys(COUNT_ANOMALIES, 0)
        false = 0
        for seed in range(seeds):
            series = CountSeries(seed=100 + seed, anomalies=COUNT_ANOMALIES)
            path = str(Path(d) / f"anomalies-{seed}.jsonl")
            write_count_recording(path, series, T0)
            alerts = [a for s in score_file(path, settings) for a in s.alerts]
            faults = series.faults()
            for f in faults:
                total[f.kind] += 1
                caught[f.kind] += any(_near(a, f.channel, T0 + f.start, T0 + f.end) for a in alerts)
            false += sum(
                not any(_near(a, f.channel, T0 + f.start, T0 + f.end) for f in faults)
                for a in alerts
            )
        out["anomalies"] = {"caught": caught, "total": total, "false": false}
    return out


# --------------------------------------------------------------------------- table


def _f(x: float | None, fmt: str = ".1f") -> str:
    return "-" if x is None else format(x, fmt)


def table_rows(results: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, cells: list[str]) -> None:
        rows.append((label, cells))

    nab = [r["nab"] for r in results]
    how = "loco_exact" if all("loco_exact" in n for n in nab) else "loco_stored"
    mode = "engine re-run per thr" if how == "loco_exact" else "episode rule on stored scores"
    add(f"LOCO mean held-out NAB std ({mode}): IMPROVE THIS", [_f(n[how]["mean"]) for n in nab])
    for k, held in enumerate(CATEGORIES):
        folds = [n[how]["folds"][k] for n in nab]
        add(f"  held out {held}: threshold", [f"{f['threshold']:.2f}" for f in folds])
        add("    held-out NAB std (shipped alerts)", [_f(f["nab"]) for f in folds])
        add("    windows caught", [f"{f['caught']}/{f['windows']}" for f in folds])
        add("    false alerts", [str(f["false"]) for f in folds])
    if how == "loco_exact":
        add("LOCO mean, fast estimate (episode rule on stored scores)",
            [_f(n["loco_stored"]["mean"]) for n in nab])  # fmt: skip
        chosen = [[f"{f['threshold']:.2f}" for f in n["loco_stored"]["folds"]] for n in nab]
        add("    its thresholds per fold", ["/".join(c) for c in chosen])
    for key, what in (("total_engine", "engine"), ("total_rule", "episode rule on scores")):
        tots = [n[key] for n in nab]
        add(f"18 files at shipped thr, {what}: NAB std (DO NOT TUNE ON)",
            [_f(t["nab"]) for t in tots])  # fmt: skip
        add("    windows caught / false alerts",
            [f"{t['caught']}/{t['windows']} / {t['false']}" for t in tots])  # fmt: skip
    add("  shipped threshold / hysteresis",
        [f"{n['shipped_threshold']:.2f} / {n['hysteresis']}" for n in nab])  # fmt: skip
    if all("sim" in r for r in results):
        sims = [r["sim"] for r in results]
        for sev in sims[0]["severities"]:
            runs = [m["severities"][sev] for m in sims]
            for kind in SIM_KINDS:
                add(f"simulator severity {sev:g}: {kind} caught",
                    [f"{m['caught'][kind]}/{m['faults'][kind]}" for m in runs])  # fmt: skip
            add("    false alerts / ch-hour on these runs",
                [_f(m["false_per_ch_hour"], ".2f") for m in runs])  # fmt: skip
        add("simulator healthy: false alerts / ch-hour",
            [_f(m["healthy"]["false_per_ch_hour"], ".2f") for m in sims])  # fmt: skip
    if all("lasting" in r for r in results):
        rows += lasting_rows([r["lasting"] for r in results])
    if all("repeats" in r for r in results):
        reps = [r["repeats"] for r in results]
        for kind in REPEAT_KINDS:
            got = [m[kind] for m in reps]
            add(f"three {kind}s hours apart: caught (2nd and 3rd)",
                [f"{g['caught']}/{g['total']} ({g['later']})" for g in got])  # fmt: skip
        add("    false alerts on these runs",
            [str(sum(m[k]["false"] for k in REPEAT_KINDS)) for m in reps])  # fmt: skip
    if all("pump" in r for r in results):
        ps = [r["pump"] for r in results]
        add("pump (coupled channels): faults caught (by the joint view)",
            [f"{m['caught']}/{m['total']} ({m['joint']})" for m in ps])  # fmt: skip
        add("    false alerts on these runs / on healthy pumps",
            [f"{m['false']} / {m['healthy_false']}" for m in ps])  # fmt: skip
    if all("counts" in r for r in results):
        cs = [r["counts"] for r in results]
        per_week = [c["healthy"] for c in cs]
        add("bursty counts healthy: false alerts / week (alerts)",
            [f"{_f(h['per_week'], '.2f')} ({h['false']})" for h in per_week])  # fmt: skip
        for kind in COUNT_ANOMALIES:
            got = [c["anomalies"] for c in cs]
            add(f"bursty counts: {kind} caught",
                [f"{g['caught'][kind]}/{g['total'][kind]}" for g in got])  # fmt: skip
        add("    false alerts on these runs", [str(c["anomalies"]["false"]) for c in cs])
    if all("demo" in r for r in results):
        add(
            "demo: faults caught", [f"{r['demo']['caught']}/{r['demo']['faults']}" for r in results]
        )
        add("demo: false alerts", [str(r["demo"]["false"]) for r in results])
    add("seconds", [f"{r['seconds']:.0f}" for r in results])
    return rows


def render(names: list[str], rows: list[tuple[str, list[str]]]) -> str:
    width = max(len(label) for label, _ in rows)
    cols = [max(len(n), *(len(cells[i]) for _, cells in rows)) for i, n in enumerate(names)]
    lines = [f"{'':<{width}}  " + "  ".join(f"{n:>{w}}" for n, w in zip(names, cols, strict=True))]
    lines.append("-" * len(lines[0]))
    for label, cells in rows:
        lines.append(
            f"{label:<{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, cols, strict=True))
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--nab", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "nab"
    )
    ap.add_argument("--config", action="append", default=[], metavar="NAME=SPEC",
                    help="a column (repeatable); default: current=detector=default")  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="fewer simulator seeds and minutes")
    ap.add_argument("--sim-seeds", type=int, help="simulator seeds (default 5, quick 2; 0: skip)")
    ap.add_argument("--sim-minutes", type=float, help="minutes of each fault run (60, quick 20)")
    ap.add_argument(
        "--healthy-minutes", type=float, help="minutes of each healthy run (60, quick 20)"
    )
    ap.add_argument("--count-seeds", type=int,
                    help="bursty-count runs of each kind (10, quick 4; 0: skip)")  # fmt: skip
    ap.add_argument("--fast", action="store_true",
                    help="the threshold grid only by the episode rule on stored scores (no engine "
                    "re-run per threshold; biased towards the configuration's own)")  # fmt: skip
    ap.add_argument("--no-demo", action="store_true", help="skip the demo recording")
    ap.add_argument("--json", type=Path, metavar="OUT", help="also save the figures here")
    args = ap.parse_args()
    if not (args.nab / "combined_windows.json").is_file():
        print(f"no NAB subset at {args.nab} (give --nab PATH)", file=sys.stderr)
        return 2
    try:
        todo = [parse_config(c) for c in (args.config or ["current=detector=default"])]
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if len({v.name for v in todo}) != len(todo):
        print("--config names must differ", file=sys.stderr)
        return 2
    seeds = args.sim_seeds if args.sim_seeds is not None else (2 if args.quick else 5)
    count_seeds = args.count_seeds if args.count_seeds is not None else (4 if args.quick else 10)
    minutes = args.sim_minutes or (20.0 if args.quick else 60.0)
    healthy = args.healthy_minutes or (20.0 if args.quick else 60.0)
    labels = args.nab / "combined_windows.json"
    files = [args.nab / k for k in sorted(load_nab_windows(labels))]
    missing = [f for f in files if not f.is_file()]
    if missing:
        print(f"no NAB file {missing[0]}", file=sys.stderr)
        return 2
    grid = "episode rule on stored scores" if args.fast else "engine re-run per threshold"
    print(f"NAB: {len(files)} files from {args.nab}; threshold grid {GRID[0]}..{GRID[-1]} "
          f"({grid}); "
          f"simulator: {seeds} seeds x {minutes:g} min with faults + {healthy:g} min healthy, "
          f"{SIM_CHANNELS} ch at {SIM_RATE:g} Hz; demo: {'-' if args.no_demo else DEMO.name}",
          flush=True)  # fmt: skip
    results = []
    for v in todo:
        t0 = time.perf_counter()
        r: dict[str, Any] = {"config": v.name, "detector": v.detector, "settings": v.settings}
        r["nab"] = nab_protocol(v, files, labels, not args.fast)
        if seeds > 0:
            r["sim"] = sim_protocol(v, seeds, minutes, healthy, SEVERITIES)
            r["lasting"] = lasting_protocol(settings_for(v), seeds, args.quick)
            r["repeats"] = repeat_protocol(v, seeds)
            r["pump"] = pump_protocol(v, seeds + 1)
        if count_seeds > 0:
            r["counts"] = count_protocol(v, count_seeds)
        if not args.no_demo:
            demo = demo_figures(v)
            r["demo"] = {k: demo[k] for k in ("caught", "faults", "false", "per_10min")}
        r["seconds"] = time.perf_counter() - t0
        results.append(r)
        print(f"  {v.name}: {r['seconds']:.0f} s", file=sys.stderr, flush=True)
    print(render([v.name for v in todo], table_rows(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
