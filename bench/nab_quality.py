"""Detection quality of each variant through the real pipeline, as ``sensorscope`` ships it.

A variant is a scorer configuration (``sensorscope.detect.config.VARIANTS``) and, for the engine
rows (:data:`ENGINE_VARIANTS`), changes to the pipeline's ``Settings`` (learning inside alerts,
the hold, the dropout rule). Every figure goes through the path users run, so what the engine
does around the scorer (imputation, fault rules, alert episodes with hysteresis, the hold,
the dropout rule) counts:

- NAB: each file of the subset is scored by ``sensorscope.series.load_series`` with the variant's
  ``Settings`` and measured by ``sensorscope.series.evaluate_series``, which is exactly what
  ``sensorscope evaluate FILES --labels combined_windows.json`` runs. Printed: NAB standard /
  reward_low_FP / reward_low_FN of the raw score at its best threshold over all files (NAB's
  rule) and of the alerts as shipped (episode onsets); NAB standard of both, per half of the
  files (artificial* and real*), so a gain carried by one kind of file shows; the alerts
  opened on NAB.
- noise: alerts opened per channel-hour on a healthy sensor (gaussian noise on a slow wave,
  ``noisy()`` of ``tests/core/test_scorers.py``) at 10 Hz, over several seeds, through a
  ``ChannelEngine`` built as the pipeline builds one and fed 2048-sample batches.
- subtle: faults that the rules do not see on such a channel (:data:`SUBTLE`: a level shift and
  more noise inside the range the noise has covered, a short burst, one 6 sd sample, a slow ramp,
  a fast drift), each after 30 minutes of normal data, caught (an alert opens during the fault or
  within 10 s after it) out of the runs: what calming healthy channels costs.
- demo: ``recordings/demo.jsonl`` through a ``Pipeline``: faults of
  ``recordings/demo.labels.jsonl`` caught (an alert within 1 s of the fault on its channel,
  as ``tests/core/test_demo.py`` counts) out of all, and false alerts per 10 minutes of
  normal channel data.
- speed: ``ChannelScorer.score_many`` in microseconds per sample on 2048-sample batches of
  50 Hz data (the best of a few repeats: other jobs share the machine), and the whole
  pipeline's samples/s on NAB (CSV parsing included).

    python bench/nab_quality.py                    # every variant
    python bench/nab_quality.py --quick            # hst-raw, previous and default only
    python bench/nab_quality.py --variants previous default --noise-hz 50 --noise-hours 2
    python bench/nab_quality.py --variants default default-hst --per-file
    python bench/nab_quality.py --files nyc_taxi machine_temperature
    python bench/nab_quality.py --noise-seeds 48 --subtle-seeds 24 --jobs 2
    python bench/nab_quality.py --variants default --param squash=3 --setting threshold=0.6
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensorscope.detect.config import VARIANTS, ScorerConfig, config_from_params  # noqa: E402
from sensorscope.detect.default import ChannelScorer  # noqa: E402
from sensorscope.detect.factory import factory_for  # noqa: E402
from sensorscope.engine import ChannelEngine  # noqa: E402
from sensorscope.evaluate import PROFILES, load_nab_windows  # noqa: E402
from sensorscope.faults import limits_for  # noqa: E402
from sensorscope.model import Label, Settings  # noqa: E402
from sensorscope.pipeline import Pipeline  # noqa: E402
from sensorscope.series import evaluate_series, load_series, load_windows  # noqa: E402

DEMO = ROOT / "recordings" / "demo.jsonl"
DEMO_LABELS = ROOT / "recordings" / "demo.labels.jsonl"
# An alert matches a labelled fault on its channel when it overlaps the fault +- this (s),
# as tests/core/test_demo.py counts.
DEMO_SLACK = 1.0
QUICK = ("hst-raw", "previous", "default")
T0 = 1_763_884_800.0  # a UTC midnight, as in tests/core/test_scorers.py
BATCH = 2048


@dataclass(frozen=True)
class Variant:
    name: str
    detector: str  # a name in sensorscope.detect.config.VARIANTS
    settings: dict[str, Any] = field(default_factory=dict)  # changes to Settings()


#: Rows that change the engine around the default scorer (``Settings`` fields).
ENGINE_VARIANTS = {
    "engine:learn-in-alerts": Variant("engine:learn-in-alerts", "default",
                                      {"learn_in_alerts": True}),
    "engine:hold-20": Variant("engine:hold-20", "default", {"hold": 20}),
    "engine:hold-200": Variant("engine:hold-200", "default", {"hold": 200}),
    "engine:no-dropout": Variant("engine:no-dropout", "default", {"dropout": 0.0}),
}  # fmt: skip


def all_variants() -> dict[str, Variant]:
    out = {name: Variant(name, name) for name in VARIANTS}
    out.update(ENGINE_VARIANTS)
    return out


def config_for(v: Variant) -> ScorerConfig:
    return config_from_params(VARIANTS[v.detector], v.settings.get("params", {}))


def settings_for(v: Variant) -> Settings:
    # The pipeline's warm-up setting overrides the scorer's: pass the variant's own.
    return replace(Settings(detector=v.detector, warmup=config_for(v).warmup), **v.settings)


def _value(text: str) -> Any:
    """A command-line value: a number, true/false, or the text itself."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def with_changes(v: Variant, params: list[str], settings: list[str]) -> Variant:
    """``v`` with ``--param`` (scorer) and ``--setting`` (engine) changes, named by them."""
    if not params and not settings:
        return v
    changes = dict(v.settings)
    changes["params"] = dict(changes.get("params", {}))
    for item in params:
        key, _, val = item.partition("=")
        changes["params"][key] = _value(val)
    for item in settings:
        key, _, val = item.partition("=")
        changes[key] = _value(val)
    return Variant(v.name + "+" + ",".join(params + settings), v.detector, changes)


def noisy(
    n: int, seed: int = 0, level: float = 21.5, sd: float = 0.1, hz: float = 10.0
) -> np.ndarray:
    """A stable sensor: a level with gaussian noise and a slow gentle wave (as in the tests;
    the wave's period is the same in seconds at every rate)."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    return level + 0.5 * sd * np.sin(i / (70.0 * hz)) + rng.normal(0.0, sd, n)


def engine_for(settings: Settings, channel: str = "value", index: int = 0) -> ChannelEngine:
    """A channel's engine exactly as ``Pipeline._engine`` builds it."""
    factory = factory_for(settings)
    thr = factory.threshold if settings.threshold is None else settings.threshold
    hyst = factory.hysteresis if settings.hysteresis is None else settings.hysteresis
    return ChannelEngine(
        channel, factory(index, thr), threshold=thr, hysteresis=hyst, impute=settings.impute,
        limits=limits_for(channel, settings.limits), sentinels=settings.sentinels,
        dropout=settings.dropout, learn_in_alerts=settings.learn_in_alerts, hold=settings.hold,
    )  # fmt: skip


# --------------------------------------------------------------------------- measurements


def nab_figures(v: Variant, files: list[Path], labels: Path) -> dict[str, Any]:
    settings = settings_for(v)
    series = []
    t0 = time.perf_counter()
    for f in files:
        series += load_series([str(f)], settings)
    spent = time.perf_counter() - t0
    windows = load_windows(str(labels), series)

    def nab(members: list[Any]) -> dict[str, Any]:
        got = evaluate_series(members, windows)["nab"]
        return {k: {p: got[k][p]["score"] for p in PROFILES} for k in ("raw", "shipped")} | {
            "threshold": got["raw"]["standard"]["threshold"]
        }

    out = nab(series)
    out["alerts"] = sum(len(s.alerts) for s in series)
    out["halves"] = {}
    for half, pick in (("art", True), ("real", False)):
        members = [s for s in series if ("artificial" in s.key) == pick]
        if any(windows.anomaly.get((s.key, s.channel)) for s in members):
            out["halves"][half] = nab(members)
    rows = sum(len(s.t) for s in series)
    out["rows_per_s"] = rows / spent
    out["per_file"] = {}
    for s in series:
        one = evaluate_series([s], windows)["nab"]
        if "raw" in one:
            out["per_file"][Path(s.key).name] = (
                one["raw"]["standard"]["score"], one["shipped"]["standard"]["score"],
                len(s.alerts),
            )  # fmt: skip
    return out


def noise_figures(v: Variant, seeds: int, hours: float, hz: float = 10.0) -> dict[str, Any]:
    """Alerts opened per channel-hour on healthy noise at ``hz``, and what opened them."""
    n = int(hours * 3600 * hz)
    t = T0 + np.arange(n) / hz
    opened = 0
    reasons: Counter[str] = Counter()
    for seed in range(seeds):
        eng = engine_for(settings_for(v))
        x = noisy(n, seed, hz=hz)
        for a in range(0, n, BATCH):
            out = eng.process(t[a : a + BATCH], x[a : a + BATCH])
            for _, kind, alert, _ in out.events:
                if kind == "open":
                    opened += 1
                    reasons[alert.reason.split(" (")[0]] += 1
    return {"per_hour": opened / (seeds * hours), "opened": opened, "reasons": dict(reasons)}


#: Subtle faults on a healthy 10 Hz channel (noise sd 0.1, as ``noisy()``), each after 30
#: minutes of normal data: (name, samples it lasts, what it does to the values there).
SUBTLE_NORMAL = 18000
SUBTLE: tuple[tuple[str, int, Any], ...] = (
    # A level shift of 3 sd for a minute: inside the range the noise has covered.
    ("shift", 600, lambda x, rng: x + 0.3),
    # The noise grows 2.5 times for 30 s.
    ("noisier", 300, lambda x, rng: x + rng.normal(0.0, 0.1 * math.sqrt(2.5**2 - 1), len(x))),
    # ...or for 2 s.
    ("burst", 20, lambda x, rng: x + rng.normal(0.0, 0.1 * math.sqrt(2.5**2 - 1), len(x))),
    # One sample 6 sd off.
    ("spike", 1, lambda x, rng: x + 0.6),
    # A drift to 6 sd over a minute.
    ("ramp", 600, lambda x, rng: x + np.linspace(0.0, 0.6, len(x))),
    # A drift to 10 sd in 3 s, as the simulator's drifts (steeper than the noise, slower
    # than a jump).
    ("drift", 30, lambda x, rng: x + np.linspace(0.0, 1.0, len(x))),
)
SUBTLE_SLACK = 100  # samples after a fault in which an alert still counts as caught


def subtle_figures(v: Variant, seeds: int) -> dict[str, Any]:
    """Subtle faults caught per kind, at 10 Hz through the engine, and false alerts before."""
    caught: Counter[str] = Counter()
    false = 0
    n = SUBTLE_NORMAL + 600 + 3000
    t = T0 + 0.1 * np.arange(n)
    for seed in range(seeds):
        for kind, length, apply in SUBTLE:
            rng = np.random.default_rng(1000 + seed)
            x = noisy(n, 100 + seed)
            a, b = SUBTLE_NORMAL, SUBTLE_NORMAL + length
            x[a:b] = apply(x[a:b], rng)
            eng = engine_for(settings_for(v))
            hit = False
            for start in range(0, n, BATCH):
                out = eng.process(t[start : start + BATCH], x[start : start + BATCH])
                for i, what, _, _ in out.events:
                    k = start + i
                    if what != "open":
                        continue
                    if a <= k < b + SUBTLE_SLACK:
                        hit = True
                    elif k < a:
                        false += 1
            caught[kind] += hit
    hours = seeds * len(SUBTLE) * SUBTLE_NORMAL / 36000.0
    return {"caught": dict(caught), "runs": seeds, "false_per_hour": false / hours}


def demo_figures(v: Variant) -> dict[str, Any]:
    from sensorscope.labels import read_labels
    from sensorscope.sources import RecordingSource

    src = RecordingSource(str(DEMO))
    span: dict[str, list[float]] = {}

    def keep(batch: Any) -> None:
        for c in np.unique(batch.channel).tolist():
            tt = batch.t[batch.channel == c]
            lo_hi = span.setdefault(batch.names[c], [math.inf, -math.inf])
            lo_hi[0] = min(lo_hi[0], float(tt.min()))
            lo_hi[1] = max(lo_hi[1], float(tt.max()))

    pipeline = Pipeline(settings_for(v), src.names, on_batch=keep)
    for batch in src.batches(threading.Event()):
        pipeline.process(batch)
    pipeline.finish()
    labels = read_labels(str(DEMO_LABELS))
    alerts = pipeline.alerts

    def near(a: Any, lab: Label) -> bool:
        # A joint alert is about the channels it names.
        on = a.channel == lab.channel or lab.channel in a.channels
        return on and lab.overlaps(a.start - DEMO_SLACK, a.until + DEMO_SLACK)

    missed = [lab for lab in labels if not any(near(a, lab) for a in alerts)]
    false = [a for a in alerts if not any(near(a, lab) for lab in labels)]
    total_min = sum(hi - lo for lo, hi in span.values()) / 60.0
    normal_min = total_min - sum(lab.end - lab.start for lab in labels) / 60.0
    t0 = min(lo for lo, _ in span.values())
    return {
        "caught": len(labels) - len(missed),
        "faults": len(labels),
        "false": len(false),
        "per_10min": len(false) / (normal_min / 10.0),
        "missed": [f"{lab.channel} {lab.fault} at {lab.start - t0:.1f}s" for lab in missed],
        "false_list": [f"{a.channel} at {a.start - t0:.1f}s ({a.reason})" for a in false],
    }


def speed_figure(v: Variant, seconds: float = 4000.0, repeats: int = 3) -> float:
    """Microseconds per sample of ``score_many`` on 2048-sample batches of 50 Hz data."""
    n = int(seconds * 50)
    x = noisy(n, 7)
    t = T0 + 0.02 * np.arange(n)
    best = math.inf
    for _ in range(repeats):
        sc = ChannelScorer(config_for(v))
        t0 = time.perf_counter()
        for a in range(0, n, BATCH):
            sc.score_many(x[a : a + BATCH], t[a : a + BATCH])
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e6


def measure(v: Variant, args: argparse.Namespace, files: list[Path]) -> dict[str, Any]:
    out: dict[str, Any] = {"variant": v.name}
    out["nab"] = nab_figures(v, files, args.nab / "combined_windows.json")
    if args.noise_seeds > 0:
        out["noise"] = noise_figures(v, args.noise_seeds, args.noise_hours, args.noise_hz)
    if args.subtle_seeds > 0:
        out["subtle"] = subtle_figures(v, args.subtle_seeds)
    if not args.no_demo:
        out["demo"] = demo_figures(v)
    if not args.no_speed:
        out["us_per_sample"] = speed_figure(v)
    return out


# --------------------------------------------------------------------------- output


def header(halves: list[str]) -> str:
    return (
        f"{'variant':<26} {'raw std/lowFP/lowFN':>20} {'thr':>6} | {'shipped std/lowFP/lowFN':>23}"
        f" {'alerts':>6} | "
        + " ".join(f"{h + ' raw/ship':>13}" for h in halves)
        + f" | {'noise/h':>7} | {'subtle ' + '/'.join(k[:2] for k, _, _ in SUBTLE):>18}"
        + f" | {'demo':>5} {'FA/10m':>6} | {'us/smp':>6} {'pipe/s':>7}"
    )


def row(m: dict[str, Any], halves: list[str]) -> str:
    nab = m["nab"]
    raw = "/".join(f"{nab['raw'][p]:.1f}" for p in PROFILES)
    ship = "/".join(f"{nab['shipped'][p]:.1f}" for p in PROFILES)
    cells = []
    for h in halves:
        got = nab["halves"].get(h)
        cells.append(
            f"{got['raw']['standard']:5.1f}/{got['shipped']['standard']:<5.1f}" if got else "-"
        )
    noise = f"{m['noise']['per_hour']:7.3f}" if "noise" in m else f"{'-':>7}"
    demo = (
        f"{m['demo']['caught']:>2}/{m['demo']['faults']:<2} {m['demo']['per_10min']:6.2f}"
        if "demo" in m
        else f"{'-':>5} {'-':>6}"
    )
    us = f"{m['us_per_sample']:6.2f}" if "us_per_sample" in m else f"{'-':>6}"
    if "subtle" in m:
        got = m["subtle"]
        subtle = "/".join(str(got["caught"].get(k, 0)) for k, _, _ in SUBTLE)
        subtle = f"{subtle} of {got['runs']}"
    else:
        subtle = "-"
    return (
        f"{m['variant']:<26} {raw:>20} {nab['threshold']:6.3f} | {ship:>23} {nab['alerts']:6d} | "
        + " ".join(f"{c:>13}" for c in cells)
        + f" | {noise} | {subtle:>18} | {demo} | {us} {nab['rows_per_s']:7.0f}"
    )


def details(m: dict[str, Any]) -> str:
    lines = []
    for key, (raw, ship, n) in m["nab"]["per_file"].items():
        lines.append(f"    {key:<48} raw {raw:6.2f}  shipped {ship:6.2f}  alerts {n}")
    if "noise" in m:
        lines.append(f"    noise: {m['noise']['opened']} alerts, {m['noise']['reasons']}")
    if "demo" in m:
        lines += [f"    demo missed {x}" for x in m["demo"]["missed"]]
        lines += [f"    demo false alert {x}" for x in m["demo"]["false_list"]]
    return "\n".join(lines)


def main() -> int:
    variants = all_variants()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--nab", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "nab"
    )
    ap.add_argument("--files", nargs="*", help="only NAB files whose key contains one of these")
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--variants", nargs="*", help=f"variants to run ({', '.join(variants)})")
    ap.add_argument("--per-file", action="store_true", help="per-file NAB, noise and demo detail")
    ap.add_argument("--no-demo", action="store_true", help="skip the demo check")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed measurement")
    ap.add_argument("--noise-seeds", type=int, default=24, help="healthy channels (0: skip)")
    ap.add_argument("--noise-hours", type=float, default=4.0, help="hours of each")
    ap.add_argument("--noise-hz", type=float, default=10.0, help="their sample rate")
    ap.add_argument("--subtle-seeds", type=int, default=12, help="runs per subtle fault (0: skip)")
    ap.add_argument("--jobs", type=int, default=1, help="variants measured in parallel")
    ap.add_argument(
        "--param", action="append", default=[], help="scorer change for every row: key=value"
    )
    ap.add_argument(
        "--setting", action="append", default=[], help="Settings change for every row: key=value"
    )
    args = ap.parse_args()
    if not (args.nab / "combined_windows.json").is_file():
        print(f"no NAB subset at {args.nab} (give --nab PATH)", file=sys.stderr)
        return 2
    names = args.variants or (list(QUICK) if args.quick else list(variants))
    unknown = [n for n in names if n not in variants]
    if unknown:
        print(f"unknown variant {unknown[0]!r}", file=sys.stderr)
        return 2
    keys = sorted(load_nab_windows(args.nab / "combined_windows.json"))
    files = [args.nab / k for k in keys if not args.files or any(o in k for o in args.files)]
    if not files:
        print("no NAB file matches --files", file=sys.stderr)
        return 2
    halves = ["art", "real"]
    print(
        f"NAB: {len(files)} files from {args.nab}, through sensorscope.series.load_series; noise: "
        f"{args.noise_seeds} seeds x {args.noise_hours:g} h at {args.noise_hz:g} Hz; demo: "
        f"{DEMO.name}; "
        f"speed: score_many, {BATCH}-sample batches at 50 Hz"
    )
    print(header(halves))
    print("-" * len(header(halves)))
    todo = [with_changes(variants[n], args.param, args.setting) for n in names]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            results = pool.map(measure, todo, [args] * len(todo), [files] * len(todo))
            for m in results:
                print(row(m, halves), flush=True)
                if args.per_file:
                    print(details(m), flush=True)
    else:
        for v in todo:
            m = measure(v, args, files)
            print(row(m, halves), flush=True)
            if args.per_file:
                print(details(m), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
