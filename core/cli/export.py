"""``sensorscope export``: the parsed values of sources, wide, as CSV or Parquet."""

from __future__ import annotations

import sys

import click

from sensorscope.cli.common import EXIT_INTERRUPTED, console, open_sources, run_until_done
from sensorscope.cli.options import apply, source_options, with_settings


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="OUT.csv, OUT.parquet or '-' (CSV, stdout)")
@click.option(
    "--to",
    "out_fmt",
    type=click.Choice(["csv", "parquet"]),
    default=None,
    help="the format (default: from OUT's suffix)",
)
@click.option(
    "--time",
    "time_format",
    type=click.Choice(["iso", "epoch"]),
    default="iso",
    show_default=True,
    help="the time column: ISO 8601 UTC, or seconds since 1970",
)
@click.option(
    "--filled",
    is_flag=True,
    help="missing values as the monitor fills them (--impute), with CHANNEL.imputed columns",
)
@click.option(
    "--progress/--no-progress", default=None, help="progress bar (default: on a terminal)"
)
@apply(source_options)
@with_settings
def export(sources, output, out_fmt, time_format, filled, progress, baud, max_line, settings):
    """Write the values of SOURCES wide: one row per reading, `time` then a column per channel.

    The channels and values are those `watch` and `score` see (the same parser, channels and
    imputation). A value the reading did not have is empty, unless --filled.
    """
    from sensorscope.export import Exporter, TimeFormat, check_writable, export_format
    from sensorscope.pipeline import Pipeline
    from sensorscope.runner import Runner

    out_format = export_format(output, out_fmt)
    check_writable(output)
    if out_format.value == "parquet":
        from sensorscope.export import parquet_modules

        parquet_modules()  # say it now, not after reading everything
    srcs = open_sources(sources, baud, None, max_line)
    exporter = Exporter(impute=filled)
    pipeline = Pipeline(settings, [n for s in srcs for n in s.names], on_batch=exporter.add)
    runner = Runner(srcs, pipeline)
    runner.start()
    if progress is None:
        progress = sys.stderr.isatty() and not any(s.live for s in srcs)
    interrupted = run_until_done(runner, None, progress)
    if interrupted:
        # Nothing half-written: the output is written whole at the end or not at all.
        click.echo("sensorscope: interrupted: nothing written", err=True)
        return EXIT_INTERRUPTED
    rows = exporter.write(output, out_format, TimeFormat(time_format))
    if output != "-":
        console(stderr=True).print(
            f"{rows} rows, {len(exporter.names)} channels written to {output}", markup=False
        )
    return 0
