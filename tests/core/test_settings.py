"""The settings are declared once: the options of every scoring command, the keys a settings
file may hold and the file ``tune`` writes all come from that one declaration."""

from __future__ import annotations

import click
import pytest

from sensorscope.cli import cli
from sensorscope.errors import UserError
from sensorscope.model import Settings
from sensorscope.settings import SETTINGS, Number, OneOf, Whole, build_settings, to_toml

SCORING_COMMANDS = ("score", "watch", "evaluate", "tune", "agent")


def _none_given(param: str) -> bool:
    return False


def _from_file(path) -> Settings:
    return build_settings({s.param: None for s in SETTINGS}, str(path), _none_given)


def test_a_file_tune_writes_gives_back_the_settings_it_was_written_from(tmp_path):
    written = Settings(
        detector="hst", params={"n_trees": 10, "height": 6}, features=("value", "diff"),
        threshold=0.9, hysteresis=3, warmup=20, impute="last", seed=7,
        limits={"lab/temp": (-40.0, 125.0)}, sentinels=(-127.0,), dropout=0.0,
        learn_in_alerts=True,
    )  # fmt: skip
    path = tmp_path / "best.toml"
    path.write_text(to_toml(written))
    assert _from_file(path) == written


@pytest.mark.parametrize("command", SCORING_COMMANDS)
def test_every_scoring_command_takes_every_declared_setting_and_a_settings_file(command):
    params = cli.commands[command].params
    flags = {flag for p in params for flag in (*p.opts, *p.secondary_opts)}
    # An on/off setting is declared as "--on/--off".
    declared = {flag for s in SETTINGS for flag in s.option.flag.split("/")}
    assert declared | {"--config"} <= flags


def _refused(kind) -> object:
    """A value the kind does not take."""
    if isinstance(kind, Number):
        return kind.lo - 1 if kind.lo is not None else kind.hi + 1
    if isinstance(kind, Whole):
        return kind.lo - 1 if kind.lo is not None else 1.5
    assert isinstance(kind, OneOf)
    return "no-such-" + kind.choices[0]


CHECKED = [s for s in SETTINGS if isinstance(s.option.kind, (Number, Whole, OneOf))]


@pytest.mark.parametrize("setting", CHECKED, ids=[s.key for s in CHECKED])
def test_a_value_the_option_refuses_is_refused_in_the_file_too(setting, tmp_path):
    bad = _refused(setting.option.kind)
    with pytest.raises(click.BadParameter):
        cli.commands["score"].make_context("score", ["x.jsonl", setting.option.flag, str(bad)])
    path = tmp_path / "bad.toml"
    path.write_text(f"[detect]\n{setting.key} = {bad!r}\n".replace("'", '"'))
    with pytest.raises(UserError, match=f"{setting.key} = .* in \\[detect\\]: expected"):
        _from_file(path)


def test_options_given_add_to_the_files_tables_and_replace_its_values(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(to_toml(Settings(params={"n_trees": 10}, limits={"a": (0.0, 1.0)},
                                     threshold=0.9)))  # fmt: skip
    values = {s.param: None for s in SETTINGS}
    values.update(params=("height=6",), ranges=("b=:5",), threshold=0.5)
    s = build_settings(values, str(path), lambda param: param in ("params", "ranges", "threshold"))
    assert s.params == {"n_trees": 10, "height": 6}
    assert s.limits == {"a": (0.0, 1.0), "b": (float("-inf"), 5.0)}
    assert s.threshold == 0.5
