"""The ``evaluate --report`` HTML file: one self-contained page, a chart per channel.

Charts are drawn with matplotlib and inlined as SVG, so the file needs nothing beside it
and opens offline on a lab machine.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from sensorscope.errors import UserError
from sensorscope.series import ChannelSeries, Windows

# Longer series are thinned for drawing, keeping each bucket's min and max so that a
# one-sample spike still shows.
MAX_POINTS = 4000


def _thin(t: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    n = len(t)
    if n <= MAX_POINTS:
        return (t, *ys)
    buckets = MAX_POINTS // 2
    edges = np.linspace(0, n, buckets + 1, dtype=int)
    keep: list[int] = []
    main = ys[0]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b <= a:
            continue
        seg = main[a:b]
        if np.isfinite(seg).any():
            lo, hi = a + int(np.nanargmin(seg)), a + int(np.nanargmax(seg))
            keep += sorted({lo, hi})
        else:
            keep.append(a)
    idx = np.asarray(keep)
    return (t[idx], *(y[idx] for y in ys))


def _chart(s: ChannelSeries, windows: Windows) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    t, value, score = _thin(s.t, s.value, s.score)
    when = [datetime.fromtimestamp(x, timezone.utc) for x in t]
    fig, (ax_v, ax_s) = plt.subplots(
        2, 1, figsize=(10, 3.6), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    ax_v.plot(when, value, lw=0.7, color="#1f4e79", label="value")
    ax_s.plot(when, score, lw=0.7, color="#555555", label="score")
    if s.threshold is not None:
        ax_s.axhline(s.threshold, color="#c00000", lw=0.8, ls="--", label="threshold")

    def span(ax, a: float, b: float, **kw: Any) -> None:
        ax.axvspan(
            datetime.fromtimestamp(a, timezone.utc), datetime.fromtimestamp(b, timezone.utc), **kw
        )

    for a, b in windows.anomaly.get((s.key, s.channel), []):
        span(ax_v, a, b, color="#2e7d32", alpha=0.25, lw=0)
    for a, b in windows.false_positive.get((s.key, s.channel), []):
        span(ax_v, a, b, color="#ef6c00", alpha=0.25, lw=0)
    for alert in s.alerts:
        end = alert.until
        for ax in (ax_v, ax_s):
            span(ax, alert.start, max(end, alert.start), color="#c00000", alpha=0.3, lw=0)
    ax_s.set_ylim(-0.02, 1.02)
    ax_v.set_title(f"{s.key} : {s.channel}", fontsize=9, loc="left")
    ax_s.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))
    for ax in (ax_v, ax_s):
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


def _table(rows: list[tuple[str, dict[str, Any]]], kind: str) -> str:
    keys = (
        ["windows", "tp", "alerts", "fp", "precision", "recall", "f1", "median_delay_s",
         "false_alerts_per_hour"]
        if kind == "events"
        else ["precision", "recall", "f1", "tp", "fp", "fn"]
    )  # fmt: skip
    heads = {
        "tp": "detected" if kind == "events" else "tp",
        "fp": "false alerts" if kind == "events" else "fp",
        "median_delay_s": "median delay (s)",
        "false_alerts_per_hour": "false alerts / h",
    }

    def cell(v: Any) -> str:
        if v is None:
            return "–"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    out = ["<table><tr><th></th>"]
    out += [f"<th>{html.escape(heads.get(k, k))}</th>" for k in keys]
    out.append("</tr>")
    for name, r in rows:
        src = {**r[kind], "windows": r["windows"], "alerts": r["alerts"]}
        out.append(f"<tr><td>{html.escape(name)}</td>")
        out += [f"<td>{cell(src.get(k))}</td>" for k in keys]
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def write_report(
    path: str, series: Sequence[ChannelSeries], windows: Windows, result: dict[str, Any]
) -> None:
    rows = [(f"{r['source']} : {r['channel']}", r) for r in result["channels"]]
    rows += (
        [(f"{r['source']} (file)", r) for r in result["files"]] if len(result["files"]) > 1 else []
    )
    rows.append(("all", result["total"]))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>sensorscope evaluation</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:2px 8px;text-align:right}td:first-child{text-align:left}"
        ".key span{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em}</style>",
        "</head><body><h1>sensorscope evaluation</h1>",
        f"<p>{len(series)} channels, {result['total']['samples']} samples, "
        f"{result['total']['windows']} labeled anomaly windows, "
        f"{result['total']['alerts']} alert episodes.</p>",
    ]
    nab = result.get("nab") or {}
    if nab:
        parts.append("<h2>NAB score</h2><table><tr><th></th><th>standard</th>"
                     "<th>reward low FP</th><th>reward low FN</th></tr>")  # fmt: skip
        for name, key in (("raw score, best threshold", "raw"), ("alerts as shipped", "shipped")):
            if key in nab:
                vals = [nab[key][p]["score"] for p in
                        ("standard", "reward_low_FP_rate", "reward_low_FN_rate")]  # fmt: skip
                parts.append(f"<tr><td>{name}</td>" + "".join(f"<td>{v:.1f}</td>" for v in vals))
        parts.append("</table>")
    parts.append("<h2>Alert episodes against labeled windows</h2>" + _table(rows, "events"))
    parts.append("<h2>Samples in alert against labeled samples</h2>" + _table(rows, "points"))
    parts.append(
        "<h2>Channels</h2><p class='key'><span style='background:#2e7d3240'></span>labeled "
        "anomaly<span style='background:#ef6c0040'></span>labeled false positive"
        "<span style='background:#c000004d'></span>alert episode; dashed: threshold</p>"
    )
    for s in series:
        parts.append(_chart(s, windows))
    parts.append("</body></html>")
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(parts))
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
