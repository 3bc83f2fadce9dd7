"""Check sensorscope.evaluate's NAB score against NAB's published figures.

Scores NAB's published detector outputs in ``results/numenta`` and
``results/randomCutForest`` of the NAB subset with :func:`sensorscope.evaluate.nab_scores` and
prints each profile beside the reference value from the subset's README. Exits 1 when a
figure is off by more than 0.1.

    python bench/nab_reference.py                  # ../shared/nab beside the repository
    python bench/nab_reference.py --nab PATH
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensorscope.evaluate import (  # noqa: E402
    PROFILES,
    NabSeries,
    load_nab_windows,
    nab_scores,
    read_score_csv,
)

# From the subset's README (standard, reward_low_FP_rate, reward_low_FN_rate).
REFERENCE = {
    "numenta": (61.3, 54.3, 66.2),
    "randomCutForest": (47.1, 34.7, 56.7),
}
TOLERANCE = 0.1


def load_results(nab: Path, detector: str) -> list[NabSeries]:
    windows = load_nab_windows(nab / "combined_windows.json")
    base = nab / "results" / detector
    series = []
    for path in sorted(base.rglob("*.csv")):
        rel = path.relative_to(base)
        key = rel.as_posix()
        if key not in windows:
            # NAB's own result trees prefix each file with the detector's name.
            key = (rel.parent / rel.name.removeprefix(f"{detector}_")).as_posix()
        if key not in windows:
            continue
        t, _, score = read_score_csv(path)
        series.append(NabSeries(key, t, score, windows[key]))
    return series


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--nab", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "nab"
    )
    args = ap.parse_args()
    if not (args.nab / "combined_windows.json").is_file():
        print(f"no NAB subset at {args.nab} (give --nab PATH)", file=sys.stderr)
        return 2

    ok = True
    print(f"{'detector':<16} {'profile':<20} {'score':>7} {'NAB':>6} {'diff':>6}  threshold")
    for detector, reference in REFERENCE.items():
        t0 = time.perf_counter()
        series = load_results(args.nab, detector)
        t1 = time.perf_counter()
        results = nab_scores(series)
        t2 = time.perf_counter()
        for (profile, result), ref in zip(results.items(), reference, strict=True):
            diff = result.score - ref
            ok &= abs(diff) <= TOLERANCE
            print(
                f"{detector:<16} {profile:<20} {result.score:7.2f} {ref:6.1f} {diff:+6.2f}"
                f"  {result.threshold:.6g} (tp {result.tp}, fp {result.fp}, fn {result.fn})"
            )
        rows = sum(s.t.size for s in series)
        print(
            f"  {len(series)} files, {rows} rows: read {t1 - t0:.2f} s, "
            f"scored {len(PROFILES)} profiles in {t2 - t1:.3f} s"
        )
    print("all within 0.1 of NAB's figures" if ok else "MISMATCH with NAB's figures")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
