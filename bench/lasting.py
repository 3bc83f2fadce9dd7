"""Faults that last minutes, and real level changes that stay: what each costs a configuration.

On :class:`sensorscope.simulate.lasting.LastingRig` (4 channels at 1 Hz, faults of 300-400 s:
a level offset, a drift that holds, a noise increase, each inside or just outside the usual
range), scored through the pipeline as users run it:

- lasting faults: caught (an alert on the fault's channel overlapping it or the GRACE s after)
  / total; per caught fault, the share of its samples in alert (coverage) and the onset delay
  (first alert sample minus the fault's start); medians over all faults of all seeds;
- permanent steps (a level change of 1.2 x the usual half-range on one channel that stays):
  seconds from the step until that channel's alert closes (or the run ends), and the false
  alerts that follow on that channel once it closed;
- healthy rigs (no fault): false alerts per channel-hour, and how many say ``beyond its range``.

    python bench/lasting.py                  # default vs stop18
    python bench/protocol.py --config ...    # the same rows in the protocol's table
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from sensorscope.model import Settings
from sensorscope.series import score_file
from sensorscope.simulate.lasting import LastingRig, write_rig_recording

T0 = 1_763_884_800.0
GRACE = 10.0  # s
FAULT_MINUTES = 180.0
STEP_AT = 1800.0  # s
STEP_MINUTES = 240.0


def _run(settings: Settings, rig: LastingRig, seconds: float, path: Path) -> list[Any]:
    write_rig_recording(str(path), rig, seconds, T0)
    return score_file(str(path), settings)


def fault_figures(settings: Settings, seeds: int, minutes: float, tmp: Path) -> dict[str, Any]:
    cover: list[float] = []
    delay: list[float] = []
    hits: list[bool] = []
    caught = total = 0
    seconds = minutes * 60.0
    for seed in range(seeds):
        rig = LastingRig(seed)
        series = {s.channel: s for s in _run(settings, rig, seconds, tmp / f"f{seed}.jsonl")}
        for f in rig.faults_until(seconds):
            if f.end + GRACE >= seconds:
                continue
            total += 1
            s = series[f.channel]
            inside = (s.t >= T0 + f.start) & (s.t < T0 + f.end)
            near = (s.t >= T0 + f.start) & (s.t < T0 + f.end + GRACE)
            flags = s.alert if s.alert is not None else np.zeros(len(s.t), dtype=bool)
            hit = np.flatnonzero(flags & near)
            cover.append(float(flags[inside].mean()) if inside.any() else 0.0)
            hits.append(bool(len(hit)))
            if len(hit):
                caught += 1
                delay.append(float(s.t[hit[0]] - T0 - f.start))
    got = [c for c, d in zip(cover, hits, strict=True) if d]
    return {
        "caught": caught,
        "faults": total,
        "coverage_median": statistics.median(cover) if cover else 0.0,
        "coverage_caught": statistics.median(got) if got else 0.0,
        "delay_median": statistics.median(delay) if delay else None,
    }


def step_figures(settings: Settings, seeds: int, minutes: float, tmp: Path) -> dict[str, Any]:
    alerted: list[float] = []
    after = 0
    seconds = minutes * 60.0
    for seed in range(seeds):
        rig = LastingRig(100 + seed, faults=False, step_at=STEP_AT)
        series = _run(settings, rig, seconds, tmp / f"s{seed}.jsonl")
        s = next(x for x in series if x.channel == rig.names[0])
        flags = s.alert if s.alert is not None else np.zeros(len(s.t), dtype=bool)
        post = s.t >= T0 + STEP_AT
        first = np.flatnonzero(flags & post & (s.t < T0 + STEP_AT + 600.0))
        if not len(first):
            alerted.append(0.0)
            after += sum(a.start >= T0 + STEP_AT for a in s.alerts)
            continue
        # The run of alert flags from there: how long the step stayed alerted.
        k = int(first[0])
        off = np.flatnonzero(~flags[k:])
        last = k + int(off[0]) - 1 if len(off) else len(flags) - 1
        alerted.append(float(s.t[last] - (T0 + STEP_AT)))
        after += sum(a.start > s.t[last] for a in s.alerts)
    return {"alerted_median": statistics.median(alerted), "alerted": alerted,
            "false_after": after}  # fmt: skip


def healthy_figures(settings: Settings, seeds: int, minutes: float, tmp: Path) -> dict[str, Any]:
    false = beyond = 0
    for seed in range(seeds):
        rig = LastingRig(200 + seed, faults=False)
        for s in _run(settings, rig, minutes * 60.0, tmp / f"h{seed}.jsonl"):
            false += len(s.alerts)
            beyond += sum("range" in (a.reason or "") for a in s.alerts)
    hours = seeds * len(LastingRig(0).names) * minutes / 60.0
    return {"false": false, "beyond_range": beyond, "false_per_ch_hour": false / hours}


def lasting_protocol(settings: Settings, seeds: int, quick: bool) -> dict[str, Any]:
    scale = 0.5 if quick else 1.0
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        return {
            "faults": fault_figures(settings, seeds, FAULT_MINUTES * scale, tmp),
            "steps": step_figures(settings, seeds, STEP_MINUTES, tmp),
            "healthy": healthy_figures(settings, seeds, FAULT_MINUTES * scale, tmp),
        }


def lasting_rows(results: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """The protocol's rows for these figures, one cell per configuration."""
    f = [r["faults"] for r in results]
    st = [r["steps"] for r in results]
    h = [r["healthy"] for r in results]

    def num(x: float | None, fmt: str) -> str:
        return "-" if x is None else format(x, fmt)

    return [
        ("lasting faults (1 Hz rig): caught", [f"{x['caught']}/{x['faults']}" for x in f]),
        ("    coverage median, caught faults (share alerted)",
         [num(x["coverage_caught"], ".2f") for x in f]),
        ("    coverage median, all faults", [num(x["coverage_median"], ".2f") for x in f]),
        ("    onset delay median, s", [num(x["delay_median"], ".0f") for x in f]),
        ("permanent steps: s alerted (median)", [num(x["alerted_median"], ".0f") for x in st]),
        ("    false alerts after it closed", [str(x["false_after"]) for x in st]),
        ("lasting rig healthy: false alerts / ch-hour",
         [num(x["false_per_ch_hour"], ".2f") for x in h]),
        ("    of which beyond its range", [f"{x['beyond_range']}/{x['false']}" for x in h]),
    ]  # fmt: skip


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from nab_quality import Variant, settings_for
    from protocol import render

    quick = "--quick" in sys.argv
    seeds = 2 if quick else 5
    names = ("stop18", "default")
    results = [lasting_protocol(settings_for(Variant(n, n, {})), seeds, quick) for n in names]
    print(render(list(names), lasting_rows(results)))
    for n, r in zip(names, results, strict=True):
        print(n, "step seconds alerted:", [round(x) for x in r["steps"]["alerted"]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
