"""What every command shares: the consoles it prints on, exit codes, opening the sources and
waiting for a run to end."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence

import click

from sensorscope.errors import UserError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


PIPED_WIDTH = 10_000  # columns of a console that is not a terminal: nothing is cropped


def console(stderr: bool = False):
    from rich.console import Console

    # Piped or redirected there is no screen to fit, and rich's default of 80 columns would
    # crop the summary's tables; a COLUMNS the user set still wins.
    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, highlight=False, width=PIPED_WIDTH if piped else None)


def warn(message: str) -> None:
    click.echo(f"sensorscope: warning: {message}", err=True)


def parse_speed(text: str | None, default: float | None) -> float | None:
    if text is None:
        return default
    if text.lower() in ("max", "inf", "0"):
        return None
    try:
        speed = float(text.rstrip("xX"))
    except ValueError:
        raise UserError(f"bad --speed {text!r}: a number like 1, 4 or 0.5, or 'max'") from None
    if not speed > 0:
        raise UserError(f"bad --speed {text!r}: must be above 0")
    return speed


class _Interrupted(Exception):
    pass


def _on_sigterm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise _Interrupted


def open_sources(
    specs: Sequence[str], baud: int, speed: float | None, max_line: int, mqtt=None,
    send_on_connect: bytes | None = None,
):  # fmt: skip
    from sensorscope.sources.open import make_source

    if list(specs).count("-") > 1:
        raise UserError("standard input ('-') can be read only once")
    srcs = [
        make_source(
            s,
            baud=baud,
            speed=speed,
            max_line=max_line,
            mqtt=mqtt,
            send_on_connect=send_on_connect,
        )  # fmt: skip
        for s in specs
    ]
    if send_on_connect is not None and not any(s.writable for s in srcs):
        raise UserError("--send-on-connect needs a port to send to (the sources are read-only)")
    # Open everything before any file is created, so a bad port leaves nothing behind.
    for s in srcs:
        s.open()
    return srcs


def run_until_done(runner, duration: float | None, progress: bool) -> bool:
    """Wait for the runner; True when interrupted by Ctrl-C or SIGTERM."""
    deadline = None if duration is None else time.monotonic() + duration
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    bar = None
    try:
        if progress:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(
                TextColumn("scoring"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeRemainingColumn(),
                console=console(stderr=True),
                transient=True,
            )
            bar.start()
            task = bar.add_task("score", total=1.0)
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            if runner.wait(0.25 if left is None else min(0.25, left)):
                break
            if bar is not None:
                files = [s.status.position for s in runner.sources if not s.live]
                if files:
                    bar.update(task, completed=sum(files) / len(files))
        return False
    except (KeyboardInterrupt, _Interrupted):
        return True
    finally:
        if bar is not None:
            bar.stop()
        signal.signal(signal.SIGTERM, old)
        runner.stop()


def open_state(value: str | None, settings, record: str | None, sources, pipeline):
    """The ``--state`` of a run, restored into ``pipeline`` before it starts (None: not
    asked for). A file that cannot be used is one warning and a fresh start."""
    if value is None:
        return None
    from sensorscope.sources.replay import FollowSource, ReplaySource
    from sensorscope.state_file import StateFile, state_path

    files = [s.path for s in sources if isinstance(s, (ReplaySource, FollowSource))]
    keeper = StateFile(state_path(value, record, files), settings)
    said = keeper.load(pipeline)
    if said:
        warn(said)
    return keeper
