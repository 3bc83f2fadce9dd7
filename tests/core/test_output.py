"""Score files: write_batch writes exactly the text the per-row writer writes."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensorscope.errors import UserError
from sensorscope.model import ScoredBatch
from sensorscope.output import ScoreFileWriter, ScoreWriter, format_rounded, iso, iso_many

NAMES = ["temp", "hum", "a,b", 'say "hi"', "Temperatur °C", "влажность", "x\ny", "ch10", " sp "]


def batch(t, channel, value, imputed=None, score=None, alert=None, names=NAMES) -> ScoredBatch:
    n = len(t)
    rng = np.random.default_rng(n)
    return ScoredBatch(
        names=list(names),
        t=np.asarray(t, dtype=np.float64),
        channel=np.asarray(channel, dtype=np.int32),
        value=np.asarray(value, dtype=np.float64),
        imputed=rng.random(n) < 0.5 if imputed is None else np.asarray(imputed, dtype=bool),
        score=rng.random(n) if score is None else np.asarray(score, dtype=np.float64),
        alert=rng.random(n) < 0.5 if alert is None else np.asarray(alert, dtype=bool),
        reading=np.arange(n, dtype=np.int32),
        readings=[],
    )


def both(tmp_path, batches: list[ScoredBatch], ext: str) -> tuple[bytes, bytes]:
    """(write_batch's bytes, the per-row writer's bytes) for the same batches."""
    fast, slow = tmp_path / f"fast.{ext}", tmp_path / f"slow.{ext}"
    w = ScoreWriter(str(fast))
    for b in batches:
        w.write_batch(b)
    w.close()
    w = ScoreWriter(str(slow))
    for b in batches:
        for row in b.rows():
            w(row)
    w.close()
    return fast.read_bytes(), slow.read_bytes()


TRICKY_VALUES = [
    np.nan, 0.0, -0.0, 21.5, -40.25, 1e-5, -3.3e-7, 4e-10, 5e-10, 6e-10, 1e-4, 9.99999e-5,
    0.1, 1.0, 100.0, 123456.123456789, 1234567.123456789, 999999.9999999995, 1e15, 1e16,
    1.7976931348623157e308, 5e-324, np.inf, -np.inf, 0.0078125, 2.5e-9, 1013.2500000004,
]  # fmt: skip
TRICKY_SCORES = [0.0, 1.0, 0.5, 5e-7, 4e-7, 1e-5, 9.9e-5, 0.0001, 0.98, 0.9999995, 0.0078125]
TRICKY_TIMES = [
    1700000000.0, 1700000000.25, 1700000000.0005, 1700000000.0000004, 1700000000.9999996,
    1700000000.123456, 1.5, -1.5, 0.0, 946684799.999, 253402300799.0, -30610224001.0,
]  # fmt: skip


@pytest.mark.parametrize("ext", ["csv", "jsonl"])
def test_write_batch_is_byte_identical_to_the_row_writer_on_tricky_values(tmp_path, ext):
    n = len(TRICKY_VALUES) * len(TRICKY_TIMES)
    value = np.resize(TRICKY_VALUES, n)
    t = np.repeat(TRICKY_TIMES, len(TRICKY_VALUES))
    b = batch(t, np.arange(n) % len(NAMES), value, score=np.resize(TRICKY_SCORES, n))
    fast, slow = both(tmp_path, [b], ext)
    assert fast == slow
    assert len(fast.decode().splitlines()) >= n


def test_csv_has_the_header_and_one_row_per_sample_with_an_empty_value_for_none(tmp_path):
    b = batch([1700000000.0, 1700000000.5], [0, 2], [21.123456789123, np.nan],
              imputed=[False, True], score=[0.12345678, 0.0], alert=[True, False])  # fmt: skip
    path = tmp_path / "s.csv"
    w = ScoreWriter(str(path))
    w.write_batch(b)
    w.close()
    assert path.read_text().splitlines() == [
        "timestamp,channel,value,imputed,score,alert",
        "2023-11-14T22:13:20Z,temp,21.123456789,0,0.123457,1",
        '2023-11-14T22:13:20.500Z,"a,b",,1,0.0,0',
    ]
    assert w.rows == 2


def test_jsonl_rows_are_json_objects_with_null_for_a_missing_value(tmp_path):
    b = batch([1700000000.5], [6], [np.nan], imputed=[True], score=[0.25], alert=[False])
    path = tmp_path / "s.jsonl"
    w = ScoreWriter(str(path))
    w.write_batch(b)
    w.close()
    assert json.loads(path.read_text()) == {
        "timestamp": "2023-11-14T22:13:20.500Z", "t": 1700000000.5, "channel": "x\ny",
        "value": None, "imputed": True, "score": 0.25, "alert": False,
    }  # fmt: skip


@pytest.mark.parametrize("ext", ["csv", "jsonl"])
def test_many_batches_of_many_channels_match_the_row_writer(tmp_path, ext):
    rng = np.random.default_rng(7)
    names = [f"board{i}/ch{j}" for i in range(8) for j in range(16)]
    batches = []
    for k in range(5):
        n = 3000
        value = rng.normal(0, 10.0 ** rng.integers(-6, 9, n))
        value[rng.random(n) < 0.1] = np.nan
        # Readings share their time across channels; sensors print few decimals.
        t = 1.7e9 + k * 100 + np.repeat(np.arange(n // 4), 4) / 3.0
        value[::3] = np.round(value[::3], 2)
        batches.append(batch(t, rng.integers(0, len(names), n), value, names=names))
    fast, slow = both(tmp_path, batches, ext)
    assert fast == slow


def test_an_empty_batch_writes_nothing_but_the_header(tmp_path):
    path = tmp_path / "s.csv"
    w = ScoreWriter(str(path))
    w.write_batch(ScoredBatch.empty(["temp"]))
    w.close()
    assert path.read_text() == "timestamp,channel,value,imputed,score,alert\n"
    assert w.rows == 0


def test_an_unwritable_path_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot write"):
        ScoreWriter(str(tmp_path / "no" / "such" / "dir.csv"))


finite = st.floats(allow_nan=False, allow_infinity=False)
any_float = st.one_of(
    st.floats(), finite.map(lambda x: round(x, 2)), st.floats(-1e-3, 1e-3),
    st.integers(-(10**7), 10**7).map(lambda i: i / 1e6),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(any_float, min_size=1, max_size=60), st.sampled_from([6, 9]))
def test_format_rounded_is_repr_of_round(xs, ndigits):
    assert format_rounded(np.array(xs, dtype=np.float64), ndigits) == [
        repr(round(x, ndigits)) for x in xs
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-3e10, 2.5e11, allow_nan=False), min_size=1, max_size=60))
def test_iso_many_is_iso_of_each(ts):
    assert iso_many(np.array(ts)) == [iso(t) for t in ts]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(1e9, 2e9) | st.sampled_from(TRICKY_TIMES),
            st.integers(0, len(NAMES) - 1),
            any_float | st.just(np.nan),
            st.floats(0, 1) | st.sampled_from(TRICKY_SCORES),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["csv", "jsonl"]),
)
def test_write_batch_matches_the_row_writer_on_any_rows(tmp_path_factory, rows, ext):
    t, ch, value, score = zip(*rows, strict=True)
    b = batch(t, ch, value, score=score)
    fast, slow = both(tmp_path_factory.mktemp("w"), [b], ext)
    assert fast == slow


# ----------------------------------------------------------------- ScoreFileWriter (a child)


def many_batches(k: int = 12) -> list[ScoredBatch]:
    rng = np.random.default_rng(7)
    out = []
    t0 = 1_700_000_000.0
    for b in range(k):
        n = int(rng.integers(1, 400))
        out.append(
            batch(t0 + b * 10 + np.arange(n) * 0.02, rng.integers(0, len(NAMES), n),
                  np.where(rng.random(n) < 0.05, np.nan, rng.normal(20, 5, n).round(3)))
        )  # fmt: skip
    return out


@pytest.mark.parametrize("ext", ["csv", "jsonl"])
@pytest.mark.parametrize("switch_rows", [1, 500, 10**9])
def test_the_file_writer_writes_what_the_in_process_writer_writes(tmp_path, ext, switch_rows):
    """Whether the child takes over at once, midway or never, the file is the same text."""
    batches = many_batches()
    ref, got = tmp_path / f"ref.{ext}", tmp_path / f"got.{ext}"
    w = ScoreWriter(str(ref))
    for b in batches:
        w.write_batch(b)
    w.close()
    f = ScoreFileWriter(str(got), switch_rows=switch_rows)
    for b in batches:
        f.write_batch(b)
    f.close()
    assert got.read_bytes() == ref.read_bytes()
    assert f.rows == w.rows == sum(len(b) for b in batches)
    assert f.error is None


def test_a_write_failing_in_the_child_is_one_user_error_and_keeps_the_rows_before(tmp_path):
    """A file-size limit (as a full disk) met after the child took over: the reason comes
    back as one line, and the rows written before it are in the file."""
    import resource
    import signal

    path = tmp_path / "s.csv"
    limit = 60_000
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_sig = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not a core dump
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
    try:
        # The child inherits the limit; this process has it back at once.
        f = ScoreFileWriter(str(path), switch_rows=100)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, old_sig)
    with pytest.raises(UserError) as exc:
        for _ in range(20):
            for b in many_batches():
                f.write_batch(b)
        f.close()
    assert str(exc.value) == f"cannot write {path}: File too large"
    assert f.error == str(exc.value)
    lines = path.read_text().splitlines()
    assert lines[0] == "timestamp,channel,value,imputed,score,alert"
    assert len(lines) > 100  # what the parent wrote itself, and what the child could
    assert path.stat().st_size <= limit
    with pytest.raises(UserError):
        f.write_batch(many_batches(1)[0])


def test_a_short_run_never_lets_the_child_touch_the_file(tmp_path):
    path = tmp_path / "s.csv"
    f = ScoreFileWriter(str(path))
    f.write_batch(many_batches(1)[0])
    child = f._child
    f.close()
    assert child is not None and child.poll() is not None  # not left running
    with path.open(newline="") as fh:
        assert len(list(csv.reader(fh))) == 1 + f.rows == 1 + len(many_batches(1)[0])


def test_the_file_writer_hands_a_fifo_over_without_its_reader_seeing_an_end(tmp_path):
    """The child writes on the same open file: a reader of a FIFO gets every row, once."""
    import os
    import threading

    fifo = tmp_path / "scores.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    batches = many_batches()
    f = ScoreFileWriter(str(fifo), switch_rows=300)
    for b in batches:
        f.write_batch(b)
    f.close()
    reader.join(30)
    ref = tmp_path / "ref.csv"
    w = ScoreWriter(str(ref))
    for b in batches:
        w.write_batch(b)
    w.close()
    assert got == [ref.read_bytes()]
    assert f.rows == w.rows
