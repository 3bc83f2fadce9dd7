"""The detector state file (``--state``): a run saves every channel's engine, the next run
goes on from it as if it had never stopped, and a file it cannot use is one line and a
fresh start."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from sensorscope.model import Settings
from sensorscope.monitor import build_monitor
from sensorscope.pipeline import Pipeline
from sensorscope.recording import decode_record
from sensorscope.state_file import MAGIC, StateFile

DEMO = Path(__file__).resolve().parents[2] / "recordings" / "demo.jsonl"
# Record 3000 is mid-recording with no episode open; 3790 is inside the pressure drift's
# alert (08:06:16.3 for 4.9 s), so the restart has to go on inside an open episode.
CUTS = (3000, 3790)


def _halves(tmp_path: Path, cut: int) -> tuple[Path, Path]:
    lines = DEMO.read_bytes().splitlines(keepends=True)
    head, body = lines[0], lines[1:]
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_bytes(head + b"".join(body[:cut]))
    second.write_bytes(head + b"".join(body[cut:]))
    return first, second


def _rows(path: Path) -> list[str]:
    return path.read_text().splitlines()[1:]


def _frames(path: Path):
    return [f for raw in path.read_bytes().splitlines()[1:] if (f := decode_record(raw))]


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> list[str]:
    from conftest import run_cli

    out = tmp_path_factory.mktemp("whole") / "whole.csv"
    proc = run_cli("score", str(DEMO), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return _rows(out)


@pytest.mark.parametrize("cut", CUTS)
def test_second_half_after_a_restart_scores_as_one_run(cli, tmp_path, whole, cut):
    first, second = _halves(tmp_path, cut)
    state = tmp_path / "s.state"
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    p1 = cli("score", str(first), "-o", str(a), "--state", str(state))
    assert p1.returncode == 0, p1.stderr
    assert state.read_bytes().startswith(b'{"magic": "sensorscope-state", "format": 1')
    p2 = cli("score", str(second), "-o", str(b), "--state", str(state))
    assert p2.returncode == 0, p2.stderr
    assert p2.stderr == b""
    rows = _rows(b)
    assert len(_rows(a)) + len(rows) == len(whole)
    assert rows == whole[len(whole) - len(rows) :]
    # Alert ids go on from the first run's: the second's summary starts past them.
    ids_first = {line.split("│")[1].strip() for line in p1.stdout.decode().splitlines()
                 if line.startswith("│")}  # fmt: skip
    ids_second = [line.split("│")[1].strip() for line in p2.stdout.decode().splitlines()
                  if line.startswith("│")]  # fmt: skip
    # An episode open at the cut is the same alert in both runs; every other id is new. At
    # 3790 two are open: the pressure drift's own and the joint view's, which saw it first.
    assert len(set(ids_second) & ids_first) == (2 if cut == 3790 else 0)


def test_a_restored_channel_is_not_warming_up(tmp_path):
    first, second = _halves(tmp_path, 3000)
    path = str(tmp_path / "s.state")
    p = Pipeline(Settings())
    p.process(_frames(first))
    StateFile(path, Settings()).save(p)
    q = Pipeline(Settings())
    assert StateFile(path, Settings()).load(q) is None
    assert q.registry.engines and not any(e.warming_up for e in q.registry.engines.values())
    q.process(_frames(second)[:1])
    assert not any(ch.warming_up for ch in q.snapshot().channels.values())
    fresh = Pipeline(Settings())
    fresh.process(_frames(second)[:1])
    assert all(ch.warming_up for ch in fresh.snapshot().channels.values())


def _unusable(tmp_path: Path, kind: str) -> tuple[Path, list[str]]:
    """A file at the state path that a run cannot use, and the extra options of that run."""
    state = tmp_path / "s.state"
    if kind == "foreign-json":
        state.write_text(json.dumps({"hello": "world"}) + "\n")
    elif kind == "random":
        state.write_bytes(os.urandom(4096))
    elif kind == "empty":
        state.write_bytes(b"")
    return state, []


@pytest.mark.parametrize("kind", ["foreign-json", "random", "empty"])
def test_a_file_not_ours_is_one_line_a_fresh_start_and_left_alone(cli, tmp_path, kind):
    first, _ = _halves(tmp_path, 3000)
    state, _ = _unusable(tmp_path, kind)
    before = state.read_bytes()
    plain, kept = tmp_path / "plain.csv", tmp_path / "kept.csv"
    assert cli("score", str(first), "-o", str(plain)).returncode == 0
    proc = cli("score", str(first), "-o", str(kept), "--state", str(state))
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.decode().splitlines()
    assert len(err) == 1 and "not a sensorscope state file" in err[0], err
    assert "starting fresh" in err[0] and "Traceback" not in proc.stderr.decode()
    assert kept.read_bytes() == plain.read_bytes()
    assert state.read_bytes() == before  # someone's file is never written over


def _saved(cli, tmp_path: Path, *opts: str) -> Path:
    first, _ = _halves(tmp_path, 3000)
    state = tmp_path / "s.state"
    proc = cli("score", str(first), "-o", str(tmp_path / "x.csv"), "--state", str(state), *opts)
    assert proc.returncode == 0, proc.stderr
    return state


@pytest.mark.parametrize(
    "damage", ["truncated", "flipped", "other-format", "other-version", "other-code"]
)
def test_a_damaged_or_other_version_file_is_one_line_and_a_fresh_start(cli, tmp_path, damage):
    state = _saved(cli, tmp_path)
    data = state.read_bytes()
    nl = data.index(b"\n")
    header = json.loads(data[:nl])
    if damage == "truncated":
        state.write_bytes(data[: nl + (len(data) - nl) // 2])
    elif damage == "flipped":
        body = bytearray(data[nl + 1 :])
        body[len(body) // 3 : len(body) // 3 + 64] = os.urandom(64)
        state.write_bytes(data[: nl + 1] + bytes(body))
    else:
        key, value = {
            "other-format": ("format", 99),
            "other-version": ("sensorscope", "0.0.0-old"),
            "other-code": ("code", "0123456789abcdef"),  # an edit of the detector code
        }[damage]
        header[key] = value
        state.write_bytes(json.dumps(header).encode() + data[nl:])
    _, second = _halves(tmp_path, 3000)
    plain, kept = tmp_path / "plain.csv", tmp_path / "kept.csv"
    assert cli("score", str(second), "-o", str(plain)).returncode == 0
    proc = cli("score", str(second), "-o", str(kept), "--state", str(state))
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.decode().splitlines()
    assert len(err) == 1 and err[0].endswith("starting fresh"), err
    assert kept.read_bytes() == plain.read_bytes()
    # Ours, so it is replaced by this run's good state.
    assert json.loads(state.read_bytes().split(b"\n", 1)[0])["magic"] == MAGIC
    assert StateFile(str(state), Settings()).load(Pipeline(Settings())) is None


def test_a_file_from_other_detector_settings_says_which_and_starts_fresh(cli, tmp_path):
    state = _saved(cli, tmp_path, "--detector", "hst-raw")
    _, second = _halves(tmp_path, 3000)
    plain, kept = tmp_path / "plain.csv", tmp_path / "kept.csv"
    assert cli("score", str(second), "-o", str(plain)).returncode == 0
    proc = cli("score", str(second), "-o", str(kept), "--state", str(state))
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.decode().splitlines()
    assert err == [
        f"sensorscope: warning: state file {state} was made with other detector settings "
        "(detector was 'hst-raw', now 'default'): starting fresh"
    ]
    assert kept.read_bytes() == plain.read_bytes()


def test_a_write_that_fails_keeps_the_previous_file(tmp_path):
    first, second = _halves(tmp_path, 3000)
    path = str(tmp_path / "s.state")
    p = Pipeline(Settings())
    p.process(_frames(first))
    keeper = StateFile(path, Settings())
    keeper.save(p)
    before = Path(path).read_bytes()
    p.process(_frames(second)[:100])
    # Something in the way of the temporary file: the write fails before the rename.
    os.mkdir(keeper.temp_path())
    from sensorscope.errors import UserError

    with pytest.raises(UserError, match="previous one, if any, is kept"):
        keeper.save(p)
    assert Path(path).read_bytes() == before
    assert StateFile(path, Settings()).load(Pipeline(Settings())) is None


def test_score_says_one_line_and_fails_when_the_state_cannot_be_written(cli, tmp_path):
    first, _ = _halves(tmp_path, 3000)
    out = tmp_path / "x.csv"
    proc = cli("score", str(first), "-o", str(out), "--state", str(tmp_path / "no" / "s.state"))
    assert proc.returncode == 2
    said = [line for line in proc.stdout.decode().splitlines() if "state file" in line]
    assert said == [f"error: cannot write state file {tmp_path / 'no' / 's.state'}: "
                    "No such file or directory (the previous one, if any, is kept)"]  # fmt: skip
    assert "Traceback" not in proc.stderr.decode()
    assert len(_rows(out)) == 14995  # the scores are written all the same


def test_state_auto_goes_beside_the_recording(cli, tmp_path):
    first, _ = _halves(tmp_path, 3000)
    proc = cli("score", str(first), "-o", str(tmp_path / "x.csv"), "--state", "auto")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "first.state").exists()
    proc = cli("score", "-", "-o", str(tmp_path / "y.csv"), "--state", "auto", input=b"1\n")
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == (
        "sensorscope: error: --state auto needs --record or a recording to put it beside"
    )


def _replayed(monitor) -> None:
    monitor.start()
    deadline = time.monotonic() + 60
    while not monitor.snapshot().replay.done:
        assert time.monotonic() < deadline, "the replay did not end"
        time.sleep(0.02)


def test_watch_saves_when_it_stops_and_the_next_goes_on_from_it(tmp_path):
    first, second = _halves(tmp_path, 3000)
    state = tmp_path / "s.state"
    labels = str(tmp_path / "l.jsonl")
    m = build_monitor([str(first)], Settings(), labels=labels, speed=None, state=str(state))
    _replayed(m)
    m.stop()  # what quitting the UI does
    assert StateFile(str(state), Settings()).load(Pipeline(Settings())) is None
    again = build_monitor([str(second)], Settings(), labels=labels, speed=None, state="auto")
    assert again.state_file is not None and again.state_file.path == str(tmp_path / "second.state")
    again.stop()
    m2 = build_monitor([str(second)], Settings(), labels=labels, speed=None, state=str(state))
    engines = m2.pipeline.registry.engines
    assert len(engines) == 5 and not any(e.warming_up for e in engines.values())
    _replayed(m2)
    snap = m2.snapshot()
    m2.stop()
    assert snap.notices == [] and snap.errors == []
    assert not any(ch.warming_up for ch in snap.channels.values())


def test_watch_with_a_damaged_state_says_so_in_the_monitor_and_starts_fresh(tmp_path):
    first, _ = _halves(tmp_path, 3000)
    state = tmp_path / "s.state"
    state.write_bytes(b"\x80\x05garbage")
    m = build_monitor(
        [str(first)], Settings(), labels=str(tmp_path / "l.jsonl"), speed=None, state=str(state)
    )
    assert not m.pipeline.registry.engines
    _replayed(m)
    snap = m.snapshot()
    m.stop()
    assert snap.notices == [
        f"state file {state} is not a sensorscope state file (it is left as it is, "
        "unwritten): starting fresh"
    ]
    assert state.read_bytes() == b"\x80\x05garbage"


def test_agent_restores_and_saves_so_a_later_score_goes_on_as_one_run(
    mosquitto, cli, tmp_path, whole
):
    broker = mosquitto()
    lines = DEMO.read_bytes().splitlines(keepends=True)
    head, body = lines[0], lines[1:]
    parts = []
    for k, (a, b) in enumerate([(0, 3000), (3000, 3790), (3790, len(body))]):
        parts.append(tmp_path / f"part{k}.jsonl")
        parts[-1].write_bytes(head + b"".join(body[a:b]))
    state = tmp_path / "s.state"
    # Two agents one after the other (the second restores the first's detectors and saves
    # its own, mid-episode), then a score of the rest from their state.
    for part in parts[:2]:
        proc = cli("agent", str(part), "--speed", "max", "--mqtt", f"{broker.url}/lab",
                   "--state", str(state))  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode()
        assert "warning" not in proc.stderr.decode() and "error" not in proc.stderr.decode()
    out = tmp_path / "rest.csv"
    proc = cli("score", str(parts[2]), "-o", str(out), "--state", str(state))
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    rows = _rows(out)
    assert rows == whole[len(whole) - len(rows) :]


def test_a_running_monitor_saves_between_batches_before_it_stops(tmp_path):
    from sensorscope.state_file import StateFile as Kept

    first, _ = _halves(tmp_path, 3000)
    state = tmp_path / "s.state"
    m = build_monitor(
        [str(first)], Settings(), labels=str(tmp_path / "l.jsonl"), speed=None, state=str(state)
    )
    assert m.state_file is not None
    # A save due after every batch (a minute in a real run): the scoring worker saves while
    # the replay still holds at its end, before anything stops it.
    m.state_file.every = 0.0
    m.runner.state_file = m.state_file
    _replayed(m)
    deadline = time.monotonic() + 30
    while not state.exists():
        assert time.monotonic() < deadline, "no save while running"
        time.sleep(0.02)
    assert m.state_file.saves >= 1
    saved = Pipeline(Settings())
    assert Kept(str(state), Settings()).load(saved) is None
    assert len(saved.registry.engines) == 5
    m.stop()


def test_a_river_detector_goes_on_after_a_restart_too(cli, tmp_path):
    first, second = _halves(tmp_path, 3790)
    state, whole, b = tmp_path / "s.state", tmp_path / "whole.csv", tmp_path / "b.csv"
    opts = ("--detector", "hst")  # river's HalfSpaceTrees: river's classes in the file
    assert cli("score", str(DEMO), "-o", str(whole), *opts).returncode == 0
    p1 = cli("score", str(first), "-o", str(tmp_path / "a.csv"), "--state", str(state), *opts)
    assert p1.returncode == 0, p1.stderr
    proc = cli("score", str(second), "-o", str(b), "--state", str(state), *opts)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    rows, all_rows = _rows(b), _rows(whole)
    assert rows == all_rows[len(all_rows) - len(rows) :]
