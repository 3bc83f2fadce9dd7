"""The label store on real files: what a crash mid-write leaves must not cost a label."""

from __future__ import annotations

import json
from pathlib import Path

from sensorscope.labels import (
    LabelStore,
    append_labels,
    new_label,
    read_acts,
    read_labels,
    to_record,
)
from sensorscope.model import Alert, Label, LabelKind, overlaps
from sensorscope.simulate import Board, write_board_recording

T0 = 1_763_884_800.0
DATA = Path(__file__).parent / "data"


def line(rec: Label) -> bytes:
    return json.dumps(to_record(rec), ensure_ascii=False).encode("utf-8") + b"\n"


def with_torn_tail(path, n: int = 3) -> list[Label]:
    """A labels file of ``n`` complete labels and the start of one more (a crash)."""
    complete = [new_label("temp", T0 + 60 * i, T0 + 60 * i + 5) for i in range(n)]
    torn = line(new_label("temp", T0 + 900, T0 + 905))[:30]
    path.write_bytes(b"".join(line(r) for r in complete) + torn)
    return complete


def ids(labels) -> list[str]:
    return [lab.id for lab in labels]


def test_labels_made_after_a_torn_last_line_are_kept_and_every_command_reads_the_file(
    cli, tmp_path
):
    rec = tmp_path / "board.jsonl"
    write_board_recording(str(rec), Board(channels=2, rate=10, seed=1), 300, T0)
    path = tmp_path / "board.labels.jsonl"
    complete = with_torn_tail(path)
    store = LabelStore(str(path))
    made = [store.add(new_label("temp", T0 + 200 + 10 * i, T0 + 201 + 10 * i)) for i in range(2)]
    store.close()

    assert ids(read_labels(str(path))) == ids(complete + made)
    shown = cli("labels", "show", str(path))
    assert shown.returncode == 0, shown.stderr.decode()
    assert "5 labels in" in shown.stdout.decode()
    evaluated = cli("evaluate", str(rec), "--labels", str(path), "--json")
    assert evaluated.returncode == 0, evaluated.stderr.decode()
    assert json.loads(evaluated.stdout)["total"]["windows"] == 5
    for proc in (shown, evaluated):
        err = proc.stderr.decode()
        assert "Traceback" not in err
        # The torn line, now ended by the store's first append, is line 4: said once.
        assert err.count("line 4") == 1 and len(err.splitlines()) == 1, err


def test_a_torn_last_line_is_reported_once_when_the_store_opens(tmp_path):
    path = tmp_path / "x.labels.jsonl"
    complete = with_torn_tail(path)
    store = LabelStore(str(path))
    try:
        assert ids(store.labels()) == ids(complete)
        assert store.notice == f"{path}: skipped the torn last line 4 (an interrupted write)"
    finally:
        store.close()


def test_a_complete_last_label_without_its_newline_is_kept_and_the_next_starts_a_line(tmp_path):
    path = tmp_path / "x.labels.jsonl"
    first, second = new_label("temp", T0, T0 + 1), new_label("hum", T0 + 5, T0 + 6)
    path.write_bytes(line(first) + line(second).rstrip(b"\n"))
    third = new_label("temp", T0 + 9, T0 + 10)
    append_labels(str(path), [third])
    assert ids(read_labels(str(path))) == ids([first, second, third])
    assert [json.loads(x)["id"] for x in path.read_bytes().splitlines()] == ids(
        [first, second, third]
    )


def test_a_last_line_torn_inside_a_character_does_not_make_the_file_unreadable(tmp_path):
    path = tmp_path / "x.labels.jsonl"
    kept = new_label("temp °C", T0, T0 + 1)
    torn = line(new_label("temp °C", T0 + 5, T0 + 6))
    cut = torn.index("°".encode()) + 1  # between the two bytes of the degree sign
    path.write_bytes(line(kept) + torn[:cut])
    reports: list[str] = []
    assert ids(read_labels(str(path), report=reports.append)) == ids([kept])
    assert reports == [f"{path}: skipped the torn last line 2 (an interrupted write)"]


def test_a_damaged_line_in_the_middle_is_skipped_and_named_and_the_rest_kept(tmp_path):
    path = tmp_path / "x.labels.jsonl"
    a, b = new_label("temp", T0, T0 + 1), new_label("temp", T0 + 5, T0 + 6)
    path.write_bytes(line(a) + b"\x00\x00\x00\x00\n" + line(b))
    store = LabelStore(str(path))
    try:
        assert ids(store.labels()) == ids([a, b])
        assert store.notice is not None and "line 2 " in store.notice
    finally:
        store.close()


def test_a_label_once_glued_onto_a_torn_line_is_recovered(tmp_path):
    """What the store wrote before it started appends on a line of their own."""
    path = tmp_path / "x.labels.jsonl"
    a, torn, glued = (new_label("temp", T0 + i, T0 + i + 1) for i in (0, 5, 9))
    path.write_bytes(line(a) + line(torn)[:25] + line(glued))
    reports: list[str] = []
    assert ids(read_labels(str(path), report=reports.append)) == ids([a, glued])
    assert reports == [f"{path}: kept the record after a torn one on line 2"]


def test_a_labels_file_written_before_labels_were_records_is_read_and_written_back_the_same(
    tmp_path,
):
    """Labels of every kind (a person's, on an alert or a span; the simulator's and NAB's
    with their own fields; whole-second times) and retractions with and without a time."""
    old = DATA / "old.labels.jsonl"
    again = tmp_path / "again.labels.jsonl"
    append_labels(str(again), read_acts(str(old)))
    assert again.read_bytes() == old.read_bytes()
    kept = read_labels(str(old))
    assert [(lab.kind, lab.alert, lab.source) for lab in kept] == [
        (LabelKind.ANOMALY, None, None),
        (LabelKind.FALSE_POSITIVE, 7, None),
        (LabelKind.ANOMALY, None, "simulator"),
        (LabelKind.FALSE_POSITIVE, None, None),
    ]


def test_a_label_speaks_of_an_alert_by_its_id_or_by_a_span_sharing_a_moment_with_it():
    """The one overlap rule: spans that touch overlap; an open alert reaches its last high
    sample; a label naming an alert speaks of that one only, on its channel."""
    closed = Alert(3, "temp", T0 + 10, T0 + 20, 0.9, 30.0, T0 + 15, T0 + 20)
    still_open = Alert(4, "temp", T0 + 30, None, 0.9, 30.0, T0 + 31, T0 + 32)

    def span(start, end, channel="temp", alert=None):
        return new_label(channel, T0 + start, T0 + end, alert=alert)

    assert span(20, 25).covers(closed) and span(5, 10).covers(closed)  # ends touch
    assert span(12, 13).covers(closed) and span(0, 40).covers(closed)  # inside, around
    assert not span(20.001, 25).covers(closed) and not span(0, 9.999).covers(closed)
    assert span(32, 33).covers(still_open) and not span(32.5, 33).covers(still_open)
    assert not span(12, 13, channel="hum").covers(closed)
    assert span(100, 101, alert=3).covers(closed)  # by id, wherever its span
    assert not span(12, 13, alert=4).covers(closed)  # names another alert
    assert not span(12, 13, channel="hum", alert=3).covers(closed)
    assert overlaps(0, 1, 1, 2) and not overlaps(0, 1, 1.5, 2) and overlaps(1, 1, 0, 2)
