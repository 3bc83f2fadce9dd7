"""Every mistake a user can make on the command line, in a config file or in a labels file
is one plain line on stderr and exit 2: no traceback, no Python exception text."""

from __future__ import annotations

import csv

import pytest

from sensorscope.cli.monitor import demo_recording

PYTHON_TEXTS = (
    "Traceback", "Error:", "could not convert", "invalid literal", "unsupported operand",
    "object is not", "not supported between", "has no attribute", "got an unexpected",
)  # fmt: skip


def one_plain_line(proc) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("sensorscope: error: "), err
    for text in PYTHON_TEXTS:
        assert text not in lines[0].removeprefix("sensorscope: error: "), err
    return lines[0]


BAD_OPTIONS = [
    (["--detector", "OneClassSVM", "--param", "nu=abc"], "nu=abc"),
    (["--param", "hst_trees=abc"], "hst_trees"),
    (["--param", "hst_trees=2.5"], "whole number"),
    (["--param", "profiles=abc"], "profiles"),
    (["--param", "likelihood_avg=true"], "likelihood_avg"),
    (["--param", "nosuch=1"], "nosuch"),
    (["--param", "novalue"], "NAME=VALUE"),
    (["--threshold", "x"], "--threshold"),
    (["--threshold", "2"], "--threshold"),
    (["--hysteresis", "0"], "--hysteresis"),
    (["--warmup", "x"], "--warmup"),
    (["--dropout", "x"], "--dropout"),
    (["--impute", "median"], "--impute"),
    (["--speed", "fast"], "--speed"),
    (["--range", "temp=a:b"], "--range"),
    (["--sentinel", "x"], "--sentinel"),
    (["--features", "nope"], "nope"),
    (["--scale", "temp=abc"], "--scale"),
    (["--scale", "temp=0"], "--scale"),
    (["--scale", "temp"], "--scale"),
    (["--offset", "temp=nan"], "--offset"),
    (["--unit", "=x"], "--unit"),
    (["--unit", "temp="], "--unit"),
    (["--format", "nope"], "nope"),
    (["--detector", "nope"], "nope"),
    (["--nosuchoption"], "--nosuchoption"),
]


@pytest.mark.parametrize(("args", "named"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_a_bad_option_value_is_one_plain_line(cli, args, named):
    line = one_plain_line(cli("score", str(demo_recording()), "-o", "/dev/null", *args))
    assert named in line


BAD_CONFIG = [
    'threshold = "x"', 'hysteresis = "x"', "warmup = -3", 'seed = "a"', "features = 5",
    "detector = 5", 'dropout = "x"', "learn_in_alerts = 1", "params = 3", 'impute = "median"',
    '[detect.params]\nhst_trees = "x"', '[detect.limits]\ntemp = ["a", 1]', "threshold = [",
    '[channels.temp]\nscale = "x"', "[channels.temp]\nunit = 5", "[channels.temp]\nthreshold = 3",
    "[channels.temp]\nsacle = 2", "[channels.temp]\nlow = 5\nhigh = 1", "[channels]\ntemp = 3",
    "units = {temp = 'C'}",
]  # fmt: skip


@pytest.mark.parametrize("body", BAD_CONFIG)
def test_a_bad_config_value_is_one_plain_line(cli, tmp_path, body):
    conf = tmp_path / "sensorscope.toml"
    conf.write_text(f"[detect]\n{body}\n")
    line = one_plain_line(
        cli("score", str(demo_recording()), "-o", "/dev/null", "--config", str(conf))
    )
    # The file is named, or the parameter in it that is wrong.
    assert str(conf) in line or "hst_trees" in line


BAD_LABELS = [
    ('{"id": 1, "channel": "temp", "start": "x", "end": 2, "label": "anomaly"}', "start"),
    ('{"id": 1, "channel": "temp", "start": 1, "end": 2, "label": "weird"}', "weird"),
    ('{"id": 1, "channel": "temp", "start": 5, "end": 2, "label": "anomaly"}', "ends before"),
    ('{"id": 1, "channel": 7, "start": 1, "end": 2, "label": "anomaly"}', "channel"),
]


@pytest.mark.parametrize(("record", "named"), BAD_LABELS)
def test_a_labels_file_that_cannot_be_used_is_one_plain_line_not_zero_labels(
    cli, tmp_path, record, named
):
    labels = tmp_path / "x.labels.jsonl"
    labels.write_text(record + "\n" + record.replace('"id": 1', '"id": 2') + "\n")
    line = one_plain_line(cli("evaluate", str(demo_recording()), "--labels", str(labels)))
    assert f"{labels}:1" in line and named in line
    line = one_plain_line(cli("labels", "show", str(labels)))
    assert named in line


def test_a_range_for_no_channel_is_an_error_after_the_scores_are_written(cli, tmp_path):
    out = tmp_path / "scores.csv"
    proc = cli("score", str(demo_recording()), "-o", str(out), "--range", "tmep=0:50",
               "--range", "hum=0:100")  # fmt: skip
    line = one_plain_line(proc)
    assert line == (
        "sensorscope: error: --range tmep matches no channel "
        "(channels: co2, hum, light, pressure, temp)"
    )
    with open(out, newline="") as fh:
        assert sum(1 for _ in csv.reader(fh)) == 30001  # every row, the header first


def test_evaluate_says_so_too(cli):
    demo = demo_recording()
    labels = demo.with_name("demo.labels.jsonl")
    proc = cli("evaluate", str(demo), "--labels", str(labels), "--range", "nosuch*=0:1")
    assert "--range nosuch* matches no channel" in one_plain_line(proc)
    assert "alerts as shipped" in proc.stdout.decode()  # the evaluation is printed first


BAD_KEYS = [
    ('[keys]\nlaunch = "z"', "launch"),  # no such key id (zoom_in was one, until it was bound)
    ('[keys]\nlabel_fp = "a"', "label_anomaly"),  # the other label's key
    ('[keys]\nlabel_fp = "x"\nlabel_anomaly = "x"', "both label_fp and label_anomaly"),
    ('[keys]\npause = "tab"', "'tab' is taken"),  # focus moves on tab
    ('[keys]\nquit = "j"', "'j' is taken"),  # the tables' down
    ('[keys]\nhelp = "ctrl+p"', "'ctrl+p' is taken"),  # the command palette
    ('[keys]\nlabel_fp = "foo"', "'foo' is not a key"),
    ('[keys]\nlabel_fp = "f,"', "'' is not a key"),
    ("[keys]\nlabel_fp = 3", "label_fp = 3"),
    ('[keys]\nlabel_fp = ["f"]', "expected keys in quotes"),
    ('keys = "f"', "[keys] must be a table"),
    ('[keys]\nlabel_fp = "f', "not TOML"),
]


@pytest.mark.parametrize(("body", "named"), BAD_KEYS, ids=[n for _, n in BAD_KEYS])
def test_a_bad_keys_table_is_one_plain_line_before_the_monitor_opens(cli, tmp_path, body, named):
    conf = tmp_path / "sensorscope.toml"
    conf.write_text(body + "\n")
    # A port that is not there: the keys are refused before anything opens.
    line = one_plain_line(cli("watch", "/dev/ttyNOPE0", "--config", str(conf), timeout=30))
    assert str(conf) in line and named in line
    assert one_plain_line(cli("demo", "--config", str(conf), timeout=30)) == line


def test_a_keys_table_changes_nothing_headless(cli, tmp_path):
    """score and demo --headless read the same file and leave [keys] to the monitor."""
    conf = tmp_path / "sensorscope.toml"
    conf.write_text('[keys]\nlabel_fp = "x"\n')
    plain = cli("demo", "--headless")
    keyed = cli("demo", "--headless", "--config", str(conf))
    assert keyed.returncode == plain.returncode == 0, keyed.stderr
    assert keyed.stdout == plain.stdout
