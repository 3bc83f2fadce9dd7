"""Detection quality of each scorer variant on the NAB subset and on the simulated board.

One row per variant (``core.scorers.VARIANTS``, plus ``current``: ``core.detect``'s
ChannelDetector as the pipeline ships it today). For each it prints:

- NAB standard / reward_low_FP / reward_low_FN of the raw score at the best threshold over
  all files (NAB's rule), and that threshold;
- the same three for the alerts as shipped: episodes built like the live alert tracker
  (``core.tune.episodes``) with the variant's own threshold and hysteresis, each episode
  counted once at its first sample (``core.evaluate.alert_onsets``);
- NAB standard on two halves of the files separately (artificial* and real*), raw and
  shipped, so that a gain carried by one kind of file shows;
- scoring throughput (``score_many``, samples per second, NAB files);
- the demo check on ``recordings/demo.jsonl``: faults caught (an alert episode within 1 s of
  a labelled fault on its channel) out of all, false alerts, and false alerts per 10 minutes
  of normal channel data.

    python bench/nab_quality.py                    # every variant, every file
    python bench/nab_quality.py --quick            # hst-raw, current and default only
    python bench/nab_quality.py --variants default default-hst --per-file
    python bench/nab_quality.py --files nyc_taxi machine_temperature
    python bench/nab_quality.py --nab PATH
"""

from __future__ import annotations

import argparse
import csv
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.evaluate import (  # noqa: E402
    PROFILES,
    NabSeries,
    alert_onsets,
    load_nab_windows,
    nab_scores,
)
from core.parse import parse_time  # noqa: E402
from core.scorers import VARIANTS, ScorerConfig, make_scorer  # noqa: E402
from core.tune import episodes  # noqa: E402

DEMO = ROOT / "recordings" / "demo.jsonl"
DEMO_LABELS = ROOT / "recordings" / "demo.labels.jsonl"
# An alert matches a labelled fault on its channel when it overlaps the fault +- this (s),
# as tests/core/test_demo.py counts.
DEMO_SLACK = 1.0
QUICK = ("hst-raw", "current", "default")
CURRENT = "current"


@dataclass
class Series:
    key: str
    t: np.ndarray
    value: np.ndarray
    windows: list[tuple[float, float]]
    learn: np.ndarray | None = None


def load_nab(nab: Path, only: list[str] | None) -> list[Series]:
    windows = load_nab_windows(nab / "combined_windows.json")
    out = []
    for key in sorted(windows):
        if only and not any(o in key for o in only):
            continue
        t, v = [], []
        with open(nab / key, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                t.append(parse_time(row["timestamp"]))
                v.append(float(row["value"]))
        out.append(Series(key, np.array(t), np.array(v), windows[key]))
    return out


def load_demo() -> tuple[list[Series], list[dict], dict[str, np.ndarray]]:
    """The demo's channels as the pipeline sees them (values after imputation, imputed flags),
    its labels, and the current default detector's scores from that same run."""
    from core.labels import read_labels
    from core.pipeline import Pipeline, Settings
    from core.sources import RecordingSource

    rows: dict[str, list] = defaultdict(list)

    def keep(s) -> None:
        rows[s.channel].append((s.t, np.nan if s.value is None else s.value, s.imputed, s.score))

    src = RecordingSource(str(DEMO))
    pipeline = Pipeline(Settings(), src.names, on_sample=keep)
    for batch in src.batches(threading.Event()):
        pipeline.process(batch)
    pipeline.finish()
    series, current = [], {}
    for ch, r in rows.items():
        a = np.array([(x[0], x[1], x[2], x[3]) for x in r], dtype=float)
        series.append(Series(ch, a[:, 0], a[:, 1], [], learn=a[:, 2] < 0.5))
        current[ch] = a[:, 3]
    return series, read_labels(str(DEMO_LABELS)), current


def score_variant(name: str, series: list[Series]) -> tuple[dict[str, np.ndarray], float]:
    """Scores per series and the seconds spent scoring."""
    out, spent = {}, 0.0
    for s in series:
        if name == CURRENT:
            from core.detect import ChannelDetector, detector_factory

            det = ChannelDetector(detector_factory("hst", seed=42), 0)
            learn = s.learn if s.learn is not None else np.ones(len(s.value), dtype=bool)
            t0 = time.perf_counter()
            sc = np.array(
                [det.score(float(v), bool(k)) for v, k in zip(s.value, learn, strict=True)]
            )
        else:
            scorer = make_scorer(name)
            t0 = time.perf_counter()
            sc = scorer.score_many(s.value, s.t, s.learn).score
        spent += time.perf_counter() - t0
        out[s.key] = sc
    return out, spent


def shipped_settings(name: str) -> tuple[float, int]:
    if name == CURRENT:
        from core.alerts import DEFAULT_HYSTERESIS
        from core.detect import DEFAULT_THRESHOLD

        return DEFAULT_THRESHOLD, DEFAULT_HYSTERESIS
    cfg: ScorerConfig = VARIANTS[name]
    return cfg.threshold, cfg.hysteresis


def nab_rows(series: list[Series], scores: dict[str, np.ndarray], thr: float, hyst: int):
    raw = nab_scores([NabSeries(s.key, s.t, scores[s.key], s.windows) for s in series])
    onsets = []
    for s in series:
        flags, _ = episodes(s.key, s.t, s.value, scores[s.key], thr, hyst)
        onsets.append(NabSeries(s.key, s.t, alert_onsets(flags), s.windows))
    shipped = nab_scores(onsets, threshold=0.5)
    return raw, shipped


def demo_check(series: list[Series], labels: list[dict], scores, thr: float, hyst: int):
    alerts = []
    for s in series:
        _, eps = episodes(s.key, s.t, s.value, scores[s.key], thr, hyst)
        alerts += eps

    def overlaps(a, lab) -> bool:
        return (
            a.channel == lab["channel"]
            and a.start <= lab["end"] + DEMO_SLACK
            and a.end >= lab["start"] - DEMO_SLACK
        )

    missed = [lab for lab in labels if not any(overlaps(a, lab) for a in alerts)]
    false = [a for a in alerts if not any(overlaps(a, lab) for lab in labels)]
    total_min = sum(float(s.t[-1] - s.t[0]) for s in series) / 60.0
    normal_min = total_min - sum(lab["end"] - lab["start"] for lab in labels) / 60.0
    return missed, len(labels), false, len(false) / (normal_min / 10.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--nab", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "nab"
    )
    ap.add_argument("--files", nargs="*", help="only NAB files whose key contains one of these")
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument(
        "--variants", nargs="*", help=f"variants to run ({CURRENT}, {', '.join(VARIANTS)})"
    )
    ap.add_argument(
        "--per-file", action="store_true", help="NAB standard per file, raw and shipped"
    )
    ap.add_argument("--no-demo", action="store_true", help="skip the demo check")
    args = ap.parse_args()
    if not (args.nab / "combined_windows.json").is_file():
        print(f"no NAB subset at {args.nab} (give --nab PATH)", file=sys.stderr)
        return 2
    names = args.variants or (list(QUICK) if args.quick else [CURRENT, *VARIANTS])
    unknown = [n for n in names if n != CURRENT and n not in VARIANTS]
    if unknown:
        print(f"unknown variant {unknown[0]!r}", file=sys.stderr)
        return 2

    series = load_nab(args.nab, args.files)
    if not series:
        print("no NAB file matches --files", file=sys.stderr)
        return 2
    halves = {
        "art": [s for s in series if s.key.startswith("artificial")],
        "real": [s for s in series if not s.key.startswith("artificial")],
    }
    halves = {k: v for k, v in halves.items() if any(s.windows for s in v)}
    demo = None if args.no_demo else load_demo()
    n_rows = sum(len(s.t) for s in series)
    print(f"NAB: {len(series)} files, {n_rows} rows from {args.nab}; demo: {DEMO.name}")
    head = (
        f"{'variant':<19} {'raw std/lowFP/lowFN':>20} {'thr':>6} | {'shipped std/lowFP/lowFN':>23}"
        f" {'thr/hyst':>8} | "
        + " ".join(f"{h + ' raw/ship':>14}" for h in halves)
        + f" | {'samples/s':>9} | demo caught, false (per 10 min)"
    )
    print(head)
    print("-" * len(head))
    for name in names:
        thr, hyst = shipped_settings(name)
        scores, spent = score_variant(name, series)
        raw, shipped = nab_rows(series, scores, thr, hyst)
        cells = []
        for members in halves.values():
            r, s = nab_rows(members, scores, thr, hyst)
            cells.append(f"{r['standard'].score:6.1f}/{s['standard'].score:<7.1f}")
        rawtxt = "/".join(f"{raw[p].score:.1f}" for p in PROFILES)
        shiptxt = "/".join(f"{shipped[p].score:.1f}" for p in PROFILES)
        rthr = raw["standard"].threshold
        demotxt = ""
        if demo is not None:
            dseries, labels, current = demo
            dscores = current if name == CURRENT else score_variant(name, dseries)[0]
            missed, total, false, rate = demo_check(dseries, labels, dscores, thr, hyst)
            demotxt = f"{total - len(missed)}/{total}, {len(false)} ({rate:.2f})"
            if args.per_file:
                t0 = min(float(s.t[0]) for s in dseries)
                demotxt += "".join(
                    f"\n    demo missed {lab['channel']} {lab['kind']} at {lab['start'] - t0:.1f}s"
                    for lab in missed
                ) + "".join(
                    f"\n    demo false alert {a.channel} at {a.start - t0:.1f}s ({a.reason})"
                    for a in false
                )
        print(
            f"{name:<19} {rawtxt:>20} {rthr:6.3f} | {shiptxt:>23} {thr:>5g}/{hyst:<3d}| "
            + " ".join(f"{c:>14}" for c in cells)
            + f" | {n_rows / spent:9.0f} | {demotxt}",
            flush=True,
        )
        if args.per_file:
            rs, ss = raw["standard"], shipped["standard"]
            for s in series:
                if s.key in rs.per_file:
                    raw_f, ship_f = rs.per_file[s.key], ss.per_file[s.key]
                    print(f"    {s.key:<60} raw {raw_f:6.2f}  shipped {ship_f:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
