"""``evaluate`` and ``tune``: alerts and scores measured against labels, and the settings that
do best on them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from sensorscope.cli.common import EXIT_USAGE, console, warn
from sensorscope.cli.options import with_settings
from sensorscope.errors import UserError


def _check_labels(path: str) -> None:
    """Say on stderr, once per command, which lines of a labels file are skipped as
    damaged (the readers after this one skip them silently)."""
    if not path.lower().endswith(".json"):
        from sensorscope.labels import read_labels

        read_labels(path, report=warn)


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def print_evaluation(result: dict[str, Any], out) -> None:
    from rich import box
    from rich.table import Table

    cols = {
        "events": [("win", "windows", None), ("hit", "tp", None),
                   ("alerts", "alerts", None), ("false", "fp", None),
                   ("prec", "precision", 2), ("recall", "recall", 2), ("F1", "f1", 2),
                   ("delay", "median_delay_s", 0), ("false/h", "false_alerts_per_hour", 2)],
        "points": [("precision", "precision", 3), ("recall", "recall", 3), ("F1", "f1", 3),
                   ("samples", "samples", None)],
    }  # fmt: skip

    def table(title: str, kind: str, rows: list[tuple[str, dict[str, Any]]]) -> Table:
        t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
        t.add_column("", no_wrap=True)
        for head, _, _ in cols[kind]:
            t.add_column(head, justify="right", min_width=len(head))
        for name, r in rows:
            src = {**r[kind], **{k: r[k] for k in ("windows", "alerts", "samples")}}
            t.add_row(name, *(_fmt(src[key], d or 0) for _, key, d in cols[kind]))
        return t

    multi_file = len(result["files"]) > 1
    rows = [
        (f"{Path(r['source']).name}:{r['channel']}" if multi_file else r["channel"], r)
        for r in result["channels"]
    ]
    if multi_file:
        rows += [(Path(r["source"]).name, r) for r in result["files"]]
    rows.append(("all", result["total"]))
    out.print(
        table(
            "alert episodes against labeled windows (hit: detected, delay: median s)",
            "events",
            rows,
        )
    )
    out.print(table("samples in alert against labeled samples", "points", rows))
    nab = result["nab"]
    if nab:
        table = Table(title="NAB score (0 = never alert, 100 = perfect)")
        for col in ("", "standard", "low FP", "low FN", "threshold"):
            table.add_column(col, justify="left" if col == "" else "right")
        profiles = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
        raw = nab["raw"]
        table.add_row("raw score, best threshold", *(f"{raw[p]['score']:.1f}" for p in profiles),
                      f"{raw['standard']['threshold']:.4g}")  # fmt: skip
        if "shipped" in nab:
            shipped = nab["shipped"]
            table.add_row(
                "alerts as shipped", *(f"{shipped[p]['score']:.1f}" for p in profiles), ""
            )
        out.print(table)
    else:
        out.print("no labeled anomaly windows: no NAB score")


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--labels", "labels_path", required=True, help="labels JSONL or NAB windows JSON")
@click.option(
    "--scores",
    multiple=True,
    help="score file, or folder of them, for the sources (matched by name; repeatable)",
)
@click.option("--json", "as_json", is_flag=True, help="print the metrics as JSON")
@click.option("--report", "report_path", default=None, help="write an HTML report here")
@click.option(
    "--feedback",
    is_flag=True,
    help="let false-positive labels act during the replay, as in the monitor: each teaches "
    "its channel when its episode closes, so repeats are not alerted again",
)
@with_settings
def evaluate(sources, labels_path, scores, as_json, report_path, feedback, settings):
    """Measure alerts and scores of SOURCES against labels.

    SOURCES are recordings or CSV series, scored now with the detector settings unless
    --scores gives their score files (`sensorscope score` output or NAB result files).
    LABELS is a labels file (.jsonl) or NAB windows (.json, matched by relative path or name).
    """
    from sensorscope.series import evaluate_series, load_series, load_windows

    score_files = []
    for path in scores:
        if os.path.isdir(path):
            score_files += sorted(
                str(p) for p in Path(path).rglob("*") if p.suffix in (".csv", ".jsonl")
            )
        elif os.path.isfile(path):
            score_files.append(path)
        else:
            raise UserError(f"no such score file or folder: {path}")
    if feedback and scores:
        raise UserError("--feedback needs the sources scored now, not --scores")
    if feedback and labels_path.lower().endswith(".json"):
        raise UserError(
            "--feedback needs a labels file (.jsonl): NAB windows hold no false positives"
        )
    _check_labels(labels_path)
    series = load_series(
        list(sources), settings, score_files, feedback_labels=labels_path if feedback else None
    )
    windows = load_windows(labels_path, series)
    result = evaluate_series(series, windows)
    if as_json:
        click.echo(json.dumps(result, indent=1))
    else:
        print_evaluation(result, console())
    if report_path:
        from sensorscope.report import write_report

        write_report(report_path, series, windows, result)
        console(stderr=True).print(f"report: {report_path}")
    if not score_files and series:
        from sensorscope.faults import unmatched_limits_message

        unmatched = unmatched_limits_message(settings.limits, {s.channel for s in series})
        if unmatched:
            click.echo(f"sensorscope: error: {unmatched}", err=True)
            return EXIT_USAGE
    return 0


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--labels", "labels_path", required=True, help="labels JSONL or NAB windows JSON")
@click.option("--metric", type=click.Choice(["f1", "nab"]), default="f1", show_default=True)
@click.option(
    "--trials",
    type=click.IntRange(1),
    default=12,
    show_default=True,
    help="detector settings to score (each with every threshold and hysteresis)",
)
@click.option("-o", "--output", default="sensorscope.toml", show_default=True,
              help="where to write the best settings (for --config)")  # fmt: skip
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on a tty)")
@with_settings
def tune(sources, labels_path, metric, trials, output, progress, settings):
    """Search detector settings, threshold and hysteresis that do best against labels.

    Prints the best settings and their metrics beside the defaults' and writes them as a
    settings file that watch, score and evaluate accept with --config.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from sensorscope.series import load_windows
    from sensorscope.settings import to_toml
    from sensorscope.tune import tune as run_tune

    for src in sources:
        if not os.path.isfile(src):
            raise UserError(f"no such file: {src}")
    _check_labels(labels_path)
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(TextColumn("tuning"), BarColumn(), MofNCompleteColumn(),
                   console=console(stderr=True), transient=True, disable=not show)  # fmt: skip
    with bar:
        task = bar.add_task("tune", total=None)
        best, default = run_tune(
            list(sources),
            lambda series: load_windows(labels_path, series),
            settings,
            metric=metric,
            trials=trials,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    table = Table(title=f"best by {metric}")
    for col in ("", "defaults", "best"):
        table.add_column(col, justify="left" if not col else "right")

    def row(name: str, get) -> None:
        table.add_row(name, *(str(get(t)) for t in (default, best)))

    row("detector", lambda t: t.settings.detector)
    row("params", lambda t: ", ".join(f"{k}={v}" for k, v in sorted(t.settings.params.items())))
    row("features", lambda t: ",".join(t.settings.features))
    row("threshold", lambda t: t.settings.threshold)
    row("hysteresis", lambda t: t.settings.hysteresis)
    row(f"objective ({metric})", lambda t: _fmt(t.value, 3))
    row("event F1", lambda t: _fmt(t.result["total"]["events"]["f1"], 3))
    row("point-wise F1", lambda t: _fmt(t.result["total"]["points"]["f1"], 3))
    row("precision", lambda t: _fmt(t.result["total"]["events"]["precision"], 3))
    row("recall", lambda t: _fmt(t.result["total"]["events"]["recall"], 3))
    row("false alerts/h", lambda t: _fmt(t.result["total"]["events"]["false_alerts_per_hour"], 3))

    def shipped(t):
        return t.result["nab"].get("shipped", {}).get("standard", {}).get("score")

    row("NAB standard (shipped)", lambda t: _fmt(shipped(t), 1))
    console().print(table)
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(to_toml(best.settings))
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    console().print(f"best settings -> {output} (use with --config {output})")
    return 0
