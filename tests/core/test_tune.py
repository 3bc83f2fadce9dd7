"""tune: searching settings against labels, and the --config file it writes."""

from __future__ import annotations

import csv
import json

import pytest

from sensorscope.model import Settings
from sensorscope.settings import read_config, to_toml
from sensorscope.simulate import Board, write_board_recording

T0 = 1_763_884_800.0


def test_config_file_round_trips_settings(tmp_path):
    s = Settings(threshold=0.993, hysteresis=3, features=("value", "diff"),
                 params={"n_trees": 25, "height": 12})  # fmt: skip
    path = tmp_path / "best.toml"
    path.write_text(to_toml(s))
    conf = read_config(str(path))
    assert conf["threshold"] == 0.993 and conf["hysteresis"] == 3
    assert conf["features"] == ["value", "diff"]
    assert conf["params"] == {"n_trees": 25, "height": 12}


def test_tune_finds_a_better_threshold_than_a_bad_default_and_writes_it(cli, tmp_path):
    rec = tmp_path / "board.jsonl"
    truth = tmp_path / "truth.labels.jsonl"
    write_board_recording(
        str(rec), Board(channels=2, rate=10, seed=3, fault_every=30, first_fault=40), 240, T0,
        str(truth),
    )  # fmt: skip
    out = tmp_path / "best.toml"
    # A threshold of 0.01 alerts on ordinary noise all the time.
    proc = cli("tune", str(rec), "--labels", str(truth), "--trials", "1", "--threshold", "0.01",
               "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    best = read_config(str(out))
    assert best["threshold"] >= 0.4
    table = proc.stdout.decode()
    assert "0.01" in table and "best" in table

    def evaluate(*extra):
        p = cli("evaluate", str(rec), "--labels", str(truth), "--json", *extra)
        assert p.returncode == 0, p.stderr.decode()
        return json.loads(p.stdout)["total"]

    worse = evaluate("--threshold", "0.01")
    better = evaluate("--config", str(out))
    assert better["events"]["fp"] < worse["events"]["fp"]
    assert better["events"]["recall"] == 1.0


def test_command_line_options_override_the_config_file(cli, tmp_path):
    rec = tmp_path / "board.jsonl"
    write_board_recording(str(rec), Board(channels=1, rate=10, seed=2), 60, T0)
    conf = tmp_path / "c.toml"
    # No dropout alerts: they are one sample long whatever the hysteresis.
    conf.write_text(to_toml(Settings(hysteresis=1, warmup=20, dropout=0)))
    out = tmp_path / "s.csv"

    def runs() -> list[int]:
        """Lengths of the alert episodes that closed before the recording ended."""
        flags = "".join(r["alert"] for r in csv.DictReader(out.open()))
        return [len(r) for r in flags.rstrip("1").split("0") if r]

    assert cli("score", str(rec), "--config", str(conf), "-o", str(out)).returncode == 0
    with_conf = runs()
    assert cli("score", str(rec), "--config", str(conf), "--hysteresis", "40", "-o",
               str(out)).returncode == 0  # fmt: skip
    overridden = runs()
    # Every episode now closes only after 40 quiet samples instead of one.
    assert with_conf and min(with_conf) < 40
    assert overridden and min(overridden) >= 40


def test_a_bad_config_file_is_one_line(cli, tmp_path):
    rec = tmp_path / "board.jsonl"
    write_board_recording(str(rec), Board(channels=1, rate=10, seed=2), 10, T0)
    bad = tmp_path / "bad.toml"
    bad.write_text("[detect]\nthreshhold = 0.9\n")
    proc = cli("score", str(rec), "--config", str(bad))
    assert proc.returncode == 2 and b"unknown setting 'threshhold'" in proc.stderr


@pytest.mark.parametrize(
    "body, text",
    [
        ("[detect.limits]\ntemp = [0]\n", "limits for temp must be [LOW, HIGH]"),
        ('[detect.limits]\ntemp = "0:10"\n', "limits for temp must be a list of numbers"),
        ("[detect.limits]\ntemp = [10, 0]\n", "LOW below HIGH"),
        ('[detect]\nsentinels = ["x"]\n', "sentinels must be a list of numbers"),
    ],
)
def test_bad_limits_or_sentinels_in_a_config_file_are_one_line(cli, tmp_path, body, text):
    rec = tmp_path / "board.jsonl"
    write_board_recording(str(rec), Board(channels=1, rate=10, seed=2), 10, T0)
    bad = tmp_path / "bad.toml"
    bad.write_text(body)
    proc = cli("score", str(rec), "--config", str(bad))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.startswith(f"sensorscope: error: {bad}: ") and text in err
