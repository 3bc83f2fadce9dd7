"""The ``sensorscope`` command line: the composition root. Headless commands print with rich.

One module per command group (``score``, ``monitor``, ``evaluate``, ``labels``, ``devices``,
``agent``), the options they share in ``options`` (the settings' ones derived from
:mod:`sensorscope.settings`), the rest they share in ``common``. Only the commands that
show the monitor import the UI, and only when they run.

Errors a user can cause end in one line on stderr and exit code 2; Ctrl-C flushes what was
recorded or written and exits 130.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from sensorscope.cli.agent import agent
from sensorscope.cli.common import EXIT_INTERRUPTED, EXIT_USAGE
from sensorscope.cli.devices import ports, simulate
from sensorscope.cli.evaluate import evaluate, tune
from sensorscope.cli.export import export
from sensorscope.cli.labels import labels
from sensorscope.cli.monitor import demo, serve, watch
from sensorscope.cli.score import record, score
from sensorscope.errors import UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sensorscope")
def cli() -> None:
    """sensorscope: watch, record, score and evaluate sensor streams."""


for command in (
    score, record, export, ports, simulate, evaluate, tune, labels, watch, demo, agent, serve
):  # fmt: skip
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        rv = cli.main(args=argv, prog_name="sensorscope", standalone_mode=False)
    except UserError as exc:
        click.echo(f"sensorscope: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        # One line, like every other error: the usage text is one --help away.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        message = " ".join(exc.format_message().split())
        click.echo(f"sensorscope: error: {message}{hint}", err=True)
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # `sensorscope score x -o - | head`: the reader left; that is not an error.
        sys.stderr.close()
        sys.exit(0)
    sys.exit(rv if isinstance(rv, int) else 0)
