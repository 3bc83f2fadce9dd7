"""Throughput of sensorscope.detect.hst.HalfSpaceTrees against river's HalfSpaceTrees, one feature.

For each configuration (n_trees/height/window_size) it times, on the same stream of values:
river (score_one then learn_one per sample), ours through score_learn_many in batches, and
ours one sample at a time (score_one then learn_one). Tree building is excluded from every
timing (each model learns one sample first); river runs on fewer samples because it is slow,
and every figure is that run's own samples divided by its own time. It checks, too, that the
scores river produced equal ours on the samples river ran.

    python bench/hst.py
    python bench/hst.py --samples 200000 --river-samples 20000 2000 --batch 10000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sensorscope.detect.hst import HalfSpaceTrees  # noqa: E402

CONFIGS = ((10, 8, 250), (25, 15, 250))


def stream(n: int, seed: int = 0) -> np.ndarray:
    """A sensor-like channel scaled into [0, 1]: noisy slow waves, drifts and spikes."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = 0.5 + 0.2 * np.sin(t / 500.0) + 0.05 * np.sin(t / 37.0) + rng.normal(0, 0.03, n)
    spikes = rng.random(n) < 0.002
    x[spikes] = rng.random(spikes.sum())
    return np.clip(x, 0.0, 1.0)


def time_river(cfg: tuple[int, int, int], xs: np.ndarray, seed: int) -> tuple[float, np.ndarray]:
    from river.anomaly import HalfSpaceTrees as RiverHST

    n_trees, height, window = cfg
    model = RiverHST(n_trees=n_trees, height=height, window_size=window, seed=seed)
    model.learn_one({"x": float(xs[0])})  # builds the trees, untimed
    values = xs[1:].tolist()
    out = np.empty(len(values))
    t = time.perf_counter()
    for i, v in enumerate(values):
        x = {"x": v}
        out[i] = model.score_one(x)
        model.learn_one(x)
    return time.perf_counter() - t, out


def time_batches(
    cfg: tuple[int, int, int], xs: np.ndarray, seed: int, batch: int
) -> tuple[float, np.ndarray]:
    model = HalfSpaceTrees(*cfg, seed=seed)
    model.learn_one({"x": float(xs[0])})
    X = xs[1:, None]
    out = np.empty(len(X))
    t = time.perf_counter()
    for start in range(0, len(X), batch):
        out[start : start + batch] = model.score_learn_many(X[start : start + batch])
    return time.perf_counter() - t, out


def time_one_at_a_time(
    cfg: tuple[int, int, int], xs: np.ndarray, seed: int
) -> tuple[float, np.ndarray]:
    model = HalfSpaceTrees(*cfg, seed=seed)
    model.learn_one({"x": float(xs[0])})
    values = xs[1:].tolist()
    out = np.empty(len(values))
    t = time.perf_counter()
    for i, v in enumerate(values):
        x = {"x": v}
        out[i] = model.score_one(x)
        model.learn_one(x)
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200_000, help="samples for ours (batches)")
    ap.add_argument(
        "--river-samples",
        type=int,
        nargs=2,
        default=(20_000, 2_000),
        metavar=("N_10_8", "N_25_15"),
        help="samples for river on each configuration",
    )
    ap.add_argument(
        "--one-samples", type=int, default=20_000, help="samples for ours one at a time"
    )
    ap.add_argument("--batch", type=int, default=10_000, help="rows per score_learn_many call")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    xs = stream(args.samples + 1)
    print(f"one feature, same stream for all; batches of {args.batch} rows; build untimed")
    for cfg, n_river in zip(CONFIGS, args.river_samples, strict=True):
        name = "/".join(map(str, cfg))
        t_river, s_river = time_river(cfg, xs[: n_river + 1], args.seed)
        t_ours, s_ours = time_batches(cfg, xs, args.seed, args.batch)
        n_one = min(args.one_samples, args.samples)
        t_one, s_one = time_one_at_a_time(cfg, xs[: n_one + 1], args.seed)
        same = np.array_equal(s_river, s_ours[:n_river]) and np.array_equal(s_one, s_ours[:n_one])
        r_river = n_river / t_river
        r_ours = args.samples / t_ours
        r_one = n_one / t_one
        print(f"{name}:")
        print(f"  river            {r_river:12,.0f} samples/s  ({n_river:,} samples)")
        print(
            f"  ours, batches    {r_ours:12,.0f} samples/s  ({args.samples:,} samples)"
            f"  {r_ours / r_river:7.1f}x river"
        )
        print(
            f"  ours, one by one {r_one:12,.0f} samples/s  ({n_one:,} samples)"
            f"  {r_one / r_river:7.1f}x river"
        )
        print(f"  scores identical to river's on the common samples: {same}")


if __name__ == "__main__":
    main()
