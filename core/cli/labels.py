"""``labels show|export|import``: label files shown and moved to and from NAB windows."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import click

from sensorscope.cli.common import console, warn
from sensorscope.errors import UserError


@click.group()
def labels():
    """Show label files and move labels to and from NAB windows."""


def _data_key(labels_path: str) -> str:
    """The data file a labels file belongs to: ``x.labels.jsonl`` (or the monitor's
    ``x.mylabels.jsonl``) -> ``x.csv`` or ``x.jsonl``."""
    p = Path(labels_path)
    stem = p.name.removesuffix(".jsonl").removesuffix(".labels").removesuffix(".mylabels")
    for ext in (".csv", ".jsonl"):
        if (p.parent / (stem + ext)).exists():
            return stem + ext
    return stem + ".jsonl"


@labels.command("show")
@click.argument("path")
def labels_show(path):
    """List the labels in force in a labels file (retracted ones left out)."""
    from rich.table import Table

    from sensorscope.labels import read_labels

    recs = read_labels(path, report=warn)
    table = Table(title=f"{len(recs)} labels in {path} (UTC)")
    for col in ("id", "channel", "start", "end", "label", "alert"):
        table.add_column(col, no_wrap=col in ("start", "end"))

    def when(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")

    for r in recs:
        alert = "" if r.alert is None else str(r.alert)
        table.add_row(r.id, r.channel, when(r.start), when(r.end), r.kind.value, alert)
    console().print(table)
    return 0


@labels.command("export")
@click.argument("path")
@click.option("--nab", "out", required=True, help="NAB windows JSON to write (merged if it exists)")
@click.option(
    "--file", "key", default=None, help="the file key in the JSON (default: the data file)"
)
def labels_export(path, out, key):
    """Write the anomaly labels of PATH as NAB windows ({"file": [["start", "end"], ...]})."""
    from sensorscope.labels import read_labels, read_nab_windows, to_nab_windows

    key = key or _data_key(path)
    data = read_nab_windows(out) if os.path.exists(out) else {}
    data.update(to_nab_windows(read_labels(path, report=warn), key))
    tmp = f"{out}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, out)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    console().print(f"{len(data[key])} windows for {key} -> {out}")
    return 0


@labels.command("import")
@click.argument("nab_json")
@click.option("-o", "--output", required=True, help="labels file to append to")
@click.option("--file", "key", default=None, help="which file's windows (needed if several)")
@click.option("--channel", default="value", show_default=True, help="channel the windows are on")
def labels_import(nab_json, output, key, channel):
    """Append the NAB windows of one file to a labels file as anomaly labels."""
    from sensorscope.labels import (
        append_labels,
        from_nab_windows,
        parse_nab_windows,
        read_nab_windows,
    )

    data = parse_nab_windows(read_nab_windows(nab_json), nab_json)
    if key is None:
        if len(data) != 1:
            raise UserError(f"{nab_json} has {len(data)} files; choose one with --file")
        key = next(iter(data))
    recs = from_nab_windows(data, key, channel)
    append_labels(output, recs)
    console().print(f"{len(recs)} labels from {key} -> {output}")
    return 0
