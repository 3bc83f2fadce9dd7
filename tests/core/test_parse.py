"""sensorscope.formats: what each kind of device line becomes."""

from __future__ import annotations

import pytest

from sensorscope.formats import (
    FORMATS,
    REDETECT_AFTER,
    LineParser,
    ParseCounters,
    ParseError,
    parse_time,
)
from sensorscope.model import Reading

T = 1000.0  # receive time used throughout; far from any plausible device clock


def nmea(body: str) -> str:
    """A sentence with its correct checksum."""
    x = 0
    for b in body.encode():
        x ^= b
    return f"${body}*{x:02X}"


def feed_all(p: LineParser, lines: list[str]) -> list[Reading | None]:
    return [p.feed(line, T) for line in lines]


# --------------------------------------------------------------------------- one line each

EXAMPLES = [
    # plotter
    ("temp:21.5 hum:40.2", "plotter", {"temp": 21.5, "hum": 40.2}),
    ("temp:21.5,hum:40.2", "plotter", {"temp": 21.5, "hum": 40.2}),
    ("temp:21.5\thum:40.2", "plotter", {"temp": 21.5, "hum": 40.2}),
    ("temp: 21.5", "plotter", {"temp": 21.5}),
    ("temp: 21.5, hum: 40.2", "plotter", {"temp": 21.5, "hum": 40.2}),
    ("room-1.temp:21.5 hum_2:40", "plotter", {"room-1.temp": 21.5, "hum_2": 40.0}),
    ("temp:23.5C hum:45%", "plotter", {"temp": 23.5, "hum": 45.0}),
    ("temp:23.5°C", "plotter", {"temp": 23.5}),
    ("Temp: 23.5\ufffdC", "plotter", {"Temp": 23.5}),
    ("temp:-1.5e2 hum:+.5", "plotter", {"temp": -150.0, "hum": 0.5}),
    # kv
    ("temp=21.5, hum=40.2", "kv", {"temp": 21.5, "hum": 40.2}),
    ("T=23.5 H=45.1", "kv", {"T": 23.5, "H": 45.1}),
    ("temp=21.5; hum=40.2", "kv", {"temp": 21.5, "hum": 40.2}),
    ("temp = 21.5 hum = 40.2", "kv", {"temp": 21.5, "hum": 40.2}),
    ("Air temp = 23.5, Hum = 40", "kv", {"Air temp": 23.5, "Hum": 40.0}),
    ("T=23,5; H=45,1", "kv", {"T": 23.5, "H": 45.1}),
    # csv / bare numbers
    ("21.5", "csv", {"ch0": 21.5}),
    ("21.5 40.2", "csv", {"ch0": 21.5, "ch1": 40.2}),
    ("21.5   40.2", "csv", {"ch0": 21.5, "ch1": 40.2}),
    ("21.5\t40.2", "csv", {"ch0": 21.5, "ch1": 40.2}),
    ("21.5,40.2", "csv", {"ch0": 21.5, "ch1": 40.2}),
    ("21.5, 40.2", "csv", {"ch0": 21.5, "ch1": 40.2}),
    ("21.5;40.2", "csv", {"ch0": 21.5, "ch1": 40.2}),
    ("21.5,,40.2", "csv", {"ch0": 21.5, "ch1": None, "ch2": 40.2}),
    ("21.5,40.2,", "csv", {"ch0": 21.5, "ch1": 40.2}),
    # prose with units
    (
        "Humidity: 45.00 %  Temperature: 23.50 *C",
        "prose",
        {"Humidity": 45.0, "Temperature": 23.5},
    ),
    ("Temperature: 23.50 Â°C", "prose", {"Temperature": 23.5}),
    ("Air temp: 23.5 C", "prose", {"Air temp": 23.5}),
    ("Pressure: 1013.2 hPa, Temp: 21 C", "prose", {"Pressure": 1013.2, "Temp": 21.0}),
    # teleplot
    (">temp:23.5", "teleplot", {"temp": 23.5}),
    (">temp:1627551892437:23.5§°C", "teleplot", {"temp": 23.5}),
    (">temp:23.5|np", "teleplot", {"temp": 23.5}),
    # json
    ('{"temp": 21.5, "env": {"hum": 40.2}}', "json", {"temp": 21.5, "env.hum": 40.2}),
    ('{"temp": "21.5", "ok": true, "err": false}', "json", {"temp": 21.5, "ok": 1.0, "err": 0.0}),
    ('{"temp": 21.5, "hum": null}', "json", {"temp": 21.5, "hum": None}),
    ('{"acc": [1, 2.5, -3], "id": "board-7"}', "json", {"acc.0": 1.0, "acc.1": 2.5, "acc.2": -3.0}),
    # influx line protocol
    (
        "env,room=lab temp=23.5,hum=45.1 1700000000000000000",
        "influx",
        {"env.temp": 23.5, "env.hum": 45.1},
    ),
    ("env temp=23.5", "influx", {"env.temp": 23.5}),
    (
        'env,room=lab count=23i,ok=t,bad=F,note="hi there" 1700000000',
        "influx",
        {"env.count": 23.0, "env.ok": 1.0, "env.bad": 0.0},
    ),
    # nmea 0183
    (nmea("YXXDR,C,23.5,C,AIRTEMP"), "nmea", {"AIRTEMP": 23.5}),
    (
        nmea("YXXDR,C,23.5,C,AIR,P,1.013,B,BARO"),
        "nmea",
        {"AIR": 23.5, "BARO": 1.013},
    ),
    (nmea("YXXDR,C,23.5,C,"), "nmea", {"C0": 23.5}),
    (nmea("YXMTW,17.75,C"), "nmea", {"water_temp": 17.75}),
    (
        "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",
        "nmea",
        {
            "GPGGA.1": 123519.0,
            "GPGGA.2": 4807.038,
            "GPGGA.4": 1131.0,
            "GPGGA.6": 1.0,
            "GPGGA.7": 8.0,
            "GPGGA.8": 0.9,
            "GPGGA.9": 545.4,
            "GPGGA.11": 46.9,
        },
    ),
    ("$YXXDR,C,23.5,C,AIRTEMP", "nmea", {"AIRTEMP": 23.5}),
]


@pytest.mark.parametrize(("line", "fmt", "values"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_line_is_detected_and_parsed(line, fmt, values):
    p = LineParser("dev")
    r = p.feed(line, T)
    assert p.format == fmt
    assert p.last_kind == "data"
    assert r == Reading(r.t, "dev", values)


@pytest.mark.parametrize(("line", "fmt", "values"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_line_parses_the_same_with_its_format_forced(line, fmt, values):
    p = LineParser("dev", fmt)
    assert p.feed(line, T).values == values


def test_formats_lists_every_format_name():
    assert FORMATS == ("plotter", "kv", "csv", "prose", "teleplot", "json", "influx", "nmea")


# --------------------------------------------------------------------------- forced formats


def test_unknown_format_raises_parse_error_listing_the_choices():
    with pytest.raises(ParseError, match=r"unknown format 'xyz' \(choose from: auto, plotter"):
        LineParser("dev", "xyz")


def test_parse_error_is_a_value_error():
    assert issubclass(ParseError, ValueError)


def test_bare_is_an_alias_of_csv():
    p = LineParser("dev", "bare")
    assert p.format == "csv"
    assert p.feed("1 2", T).values == {"ch0": 1.0, "ch1": 2.0}


def test_forced_format_is_set_before_any_line():
    assert LineParser("dev", "json").format == "json"
    assert LineParser("dev").format is None


def test_forced_plotter_names_unlabeled_values_by_position():
    p = LineParser("dev", "plotter")
    assert p.feed("21.5 40.2", T).values == {"value1": 21.5, "value2": 40.2}


def test_forced_plotter_mixes_labeled_and_positional_values():
    p = LineParser("dev", "plotter")
    assert p.feed("temp:21.5 40.2", T).values == {"temp": 21.5, "value2": 40.2}


def test_line_in_another_format_is_text_under_a_forced_format():
    p = LineParser("dev", "csv")
    assert p.feed("temp:21.5", T) is None
    assert p.last_kind == "text"


def test_forced_format_never_redetects():
    p = LineParser("dev", "json")
    for _ in range(REDETECT_AFTER * 2):
        p.feed("temp:21.5", T)
    assert p.format == "json"
    assert p.counters.text == REDETECT_AFTER * 2


# --------------------------------------------------------------------------- detection


def test_first_data_line_locks_the_format_and_is_not_lost():
    p = LineParser("dev")
    r = p.feed("temp=1", T)
    assert p.format == "kv"
    assert r.values == {"temp": 1.0}


def test_lines_before_the_first_data_line_are_text():
    p = LineParser("dev")
    assert feed_all(p, ["Booting...", "WiFi connected", "temp:1"])[:2] == [None, None]
    assert p.format == "plotter"


def test_locked_format_parses_lines_another_format_would_claim_as_text():
    p = LineParser("dev")
    p.feed("temp:1 hum:2", T)
    assert p.feed("temp=3", T) is None
    assert p.last_kind == "text"


def test_a_reflashed_board_is_redetected_on_its_third_line_and_loses_none():
    p = LineParser("dev")
    p.feed("temp:1", T)
    out = p.feed_many([f"x={i}, y=2" for i in range(6)], [T + i for i in range(6)])
    assert out.readings[:2] == [None, None]
    assert p.format == "kv"
    # The two lines that led up to the switch are released with the third.
    assert [(r.t, r.values) for r, _line in out.released[2]] == [
        (T, {"x": 0.0, "y": 2.0}),
        (T + 1, {"x": 1.0, "y": 2.0}),
    ]
    assert [r.values["x"] for r in out.every_reading("dev")[2:]] == [2.0, 3.0, 4.0, 5.0]
    assert p.channels == ["temp", "x", "y"]


def test_two_lines_of_another_format_are_no_reflash():
    p = LineParser("dev")
    p.feed("temp:1", T)
    feed_all(p, ["x=1, y=2"] * 2)
    assert p.format == "plotter"
    assert p.feed("temp:2", T).values == {"temp": 2.0}
    assert p.channels == ["temp"]


def test_a_data_line_between_resets_the_switch():
    p = LineParser("dev")
    p.feed("temp:1", T)
    feed_all(p, ["x=1, y=2"] * 2 + ["temp:2"] + ["x=1, y=2"] * 2 + ["temp:3"])
    assert p.format == "plotter"
    assert p.take_released() == []


def test_a_format_that_only_parses_leniently_is_redetected_after_fifty_non_data_lines():
    # "msg=ok" never parses cleanly, so it cannot switch early; the long streak still
    # unlocks the old format and the votes lock the new one.
    p = LineParser("dev")
    p.feed("temp:1", T)
    readings = feed_all(p, ["heap=1 msg=ok"] * (REDETECT_AFTER + 5))
    assert p.format == "kv"
    assert readings[-1].values == {"heap": 1.0}


def test_empty_lines_do_not_count_toward_redetection():
    p = LineParser("dev")
    p.feed("temp:1", T)
    feed_all(p, [""] * (REDETECT_AFTER * 2))
    assert p.format == "plotter"


def test_plotter_wins_over_prose_for_colon_pairs():
    p = LineParser("dev")
    p.feed("Temperature: 23.5", T)
    assert p.format == "plotter"


def test_units_after_a_space_go_to_prose_not_plotter():
    p = LineParser("dev")
    p.feed("Temperature: 23.5 C", T)
    assert p.format == "prose"


def test_invalid_json_is_text_not_another_format():
    p = LineParser("dev")
    assert p.feed("{temp: 21.5}", T) is None
    assert (p.last_kind, p.format) == ("text", None)


def test_top_level_json_array_is_text():
    p = LineParser("dev", "json")
    assert p.feed("[1, 2, 3]", T) is None
    assert p.last_kind == "text"


def test_json_object_without_numbers_is_text():
    p = LineParser("dev")
    assert p.feed('{"msg": "booting"}', T) is None
    assert p.last_kind == "text"


def test_field_with_text_value_blocks_locking_until_it_repeats():
    # A value like "ok" could as well be boot chatter; a steady stream of it is the device.
    p = LineParser("dev")
    readings = feed_all(p, ["heap=123 msg=ok"] * 5)
    assert readings[:4] == [None] * 4
    assert p.format == "kv"
    # A field that has only ever held text is no channel (a status column).
    assert readings[4].values == {"heap": 123.0}
    assert p.channels == ["heap"]
    assert p.last_errors == 1


def test_esp32_boot_rom_output_neither_locks_a_format_nor_makes_channels():
    boot = [
        "ets Jun  8 2016 00:22:57",
        "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
        "configsip: 0, SPIWP:0xee",
        "clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00",
        "mode:DIO, clock div:2",
        "load:0x3fff0030,len:1184",
        "load:0x40078000,len:13260",
        "load:0x40080400,len:3028",
        "entry 0x400805e4",
    ]
    p = LineParser("dev")
    assert feed_all(p, boot) == [None] * len(boot)
    assert (p.format, p.channels) == (None, [])
    assert p.feed("temp=21.5", T).values == {"temp": 21.5}


def test_channels_are_listed_in_first_seen_order():
    p = LineParser("dev")
    feed_all(p, ["b:1 a:2", "c:3 a:4", "b:5"])
    assert p.channels == ["b", "a", "c"]


# --------------------------------------------------------------------------- line hygiene

PREFIXED = [
    "[18:13:07.488] temp:21.5",
    "[18:13:07] temp:21.5",
    "[2024-01-02 18:13:07.488] temp:21.5",
    "18:13:07.488 -> temp:21.5",
    "I (1234) app: temp:21.5",
    "W (99) my_tag-2: temp:21.5",
    "E (12:34:56.789) wifi: temp:21.5",
    "\x1b[0;32mI (1234) app: temp:21.5\x1b[0m",
    "\x1b[1mtemp:21.5\x1b[0m",
    "  temp:21.5  \r",
    "[18:13:07.488] I (1234) app: temp:21.5",
]


@pytest.mark.parametrize("line", PREFIXED)
def test_logger_prefixes_ansi_codes_and_whitespace_are_stripped(line):
    assert LineParser("dev").feed(line, T).values == {"temp": 21.5}


@pytest.mark.parametrize("line", ["", "   ", "\r", "[18:13:07.488] ", "\x1b[0m"])
def test_blank_line_is_empty(line):
    p = LineParser("dev")
    assert p.feed(line, T) is None
    assert p.last_kind == "empty"


def test_cut_line_is_overlong_and_not_parsed():
    p = LineParser("dev")
    assert p.feed("temp:21.5", T, cut=True) is None
    assert (p.last_kind, p.format, p.channels) == ("overlong", None, [])


@pytest.mark.parametrize(
    "line",
    [
        "\x00\x00\x12temp",
        "temp:2\x001.5",
        "\ufffd\ufffd\ufffd\x07\ufffd",
        "\x13\ufffd\x1bb\ufffd\x01\x98",
        "ab\x01\x02\x03",
    ],
)
def test_binary_noise_is_garbage(line):
    p = LineParser("dev")
    assert p.feed(line, T) is None
    assert p.last_kind == "garbage"


def test_single_replacement_character_in_a_data_line_is_not_garbage():
    p = LineParser("dev")
    assert p.feed("Temp: 23.5\ufffdC", T).values == {"Temp": 23.5}


def test_garbage_in_a_locked_stream_keeps_the_format():
    p = LineParser("dev")
    p.feed("temp:1", T)
    p.feed("\ufffd\ufffd\x00\ufffd", T)
    assert p.last_kind == "garbage"
    assert p.feed("temp:2", T).values == {"temp": 2.0}


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "token", ["", "nan", "NaN", "inf", "-inf", "+inf", "ovf", "null", "None", "-", "n/a", "NA"]
)
def test_missing_value_token_gives_none_without_error(token):
    p = LineParser("dev")
    p.feed("temp:1 hum:2", T)
    r = p.feed(f"temp:{token} hum:3", T)
    assert r.values == {"temp": None, "hum": 3.0}
    assert p.last_errors == 0


def test_empty_csv_field_is_missing():
    p = LineParser("dev", "csv")
    assert p.feed("1,,3", T).values == {"ch0": 1.0, "ch1": None, "ch2": 3.0}
    assert p.last_errors == 0


def test_bad_field_is_none_and_counted_while_other_fields_parse():
    p = LineParser("dev")
    p.feed("temp:1 hum:2", T)
    r = p.feed("temp:abc hum:40", T)
    assert r.values == {"temp": None, "hum": 40.0}
    assert (p.last_kind, p.last_errors, p.counters.field_errors) == ("data", 1, 1)


def test_field_errors_count_fields_not_lines():
    p = LineParser("dev", "plotter")
    p.feed("a:x b:y c:3", T)
    p.feed("a:1 b:z c:3", T)
    assert p.counters.field_errors == 3
    assert p.counters.data == 2


def test_known_labels_with_only_bad_values_are_data():
    p = LineParser("dev")
    p.feed("temp:1 hum:2", T)
    r = p.feed("temp:abc hum:xyz", T)
    assert r.values == {"temp": None, "hum": None}
    assert p.last_errors == 2


def test_unknown_label_with_bad_value_is_text():
    p = LineParser("dev")
    p.feed("temp:1", T)
    assert p.feed("Error: timeout", T) is None
    assert (p.last_kind, p.counters.field_errors) == ("text", 0)


@pytest.mark.parametrize(
    "line", ["Failed to read from DHT sensor!", "Booting...", "Error: timeout"]
)
def test_device_message_is_text(line):
    p = LineParser("dev")
    p.feed("temp:1 hum:2", T)
    assert p.feed(line, T) is None
    assert p.last_kind == "text"


def test_non_ascii_digits_are_a_field_error():
    p = LineParser("dev", "plotter")
    p.feed("temp:1 hum:1", T)
    r = p.feed("temp:\u0663 hum:1", T)
    assert r.values == {"temp": None, "hum": 1.0}
    assert p.last_errors == 1


def test_number_too_large_for_a_float_is_missing_not_an_error():
    p = LineParser("dev", "plotter")
    r = p.feed("temp:1e999 hum:1", T)
    assert r.values == {"temp": None, "hum": 1.0}
    assert p.last_errors == 0


def test_hex_value_is_an_error_not_a_number_with_a_unit():
    p = LineParser("dev", "plotter")
    p.feed("reg:1 hum:1", T)
    r = p.feed("reg:0x1F hum:1", T)
    assert r.values == {"reg": None, "hum": 1.0}
    assert p.last_errors == 1


@pytest.mark.parametrize(
    ("line", "values"),
    [
        ("23,5;45,1", {"ch0": 23.5, "ch1": 45.1}),
        ("23,5\t45,1", {"ch0": 23.5, "ch1": 45.1}),
        ("23,5 45,1", {"ch0": 23.5, "ch1": 45.1}),
        ("-0,25;1013", {"ch0": -0.25, "ch1": 1013.0}),
    ],
)
def test_decimal_comma_with_semicolon_tab_or_space_delimiter(line, values):
    assert LineParser("dev").feed(line, T).values == values


def test_comma_delimited_row_has_no_decimal_comma():
    assert LineParser("dev").feed("23,5", T).values == {"ch0": 23.0, "ch1": 5.0}


# --------------------------------------------------------------------------- device time


@pytest.mark.parametrize(
    ("line", "t"),
    [
        ("t:1700000000 temp:1", 1700000000.0),
        ("time:1700000000123 temp:1", 1700000000.123),
        ("ts=1700000000123456 temp=1", 1700000000.123456),
        ("timestamp=1700000000000000000 temp=1", 1700000000.0),
        ("TIME:1700000000.5 temp:1", 1700000000.5),
        ('{"ts": "2024-01-02T03:04:05Z", "temp": 1}', 1704164645.0),
        ('{"time": "2024-01-02T04:04:05+01:00", "temp": 1}', 1704164645.0),
        ('{"timestamp": 1700000000123, "temp": 1}', 1700000000.123),
        (">temp:1700000000123:1", 1700000000.123),
        ("env temp=1 1700000000", 1700000000.0),
        ("env temp=1 1700000000000", 1700000000.0),
        ("env temp=1 1700000000000000", 1700000000.0),
    ],
)
def test_device_time_field_becomes_the_reading_time(line, t):
    r = LineParser("dev").feed(line, T)
    assert r.t == pytest.approx(t)
    assert list(r.values.values()) == [1.0]  # the time field is no channel


@pytest.mark.parametrize(
    "line", ["t:12345 temp:1", "time=987654 temp=1", '{"ts": "soon", "temp": 1}']
)
def test_implausible_device_time_is_ignored_and_not_a_channel(line):
    r = LineParser("dev").feed(line, T)
    assert r.t == T
    assert r.values == {"temp": 1.0}


def test_capital_t_is_a_channel_not_a_clock():
    assert LineParser("dev").feed("T=1700000000 H=45", T).values == {"T": 1700000000.0, "H": 45.0}


def test_time_only_line_is_not_data():
    p = LineParser("dev")
    assert p.feed("t:1700000000", T) is None


@pytest.mark.parametrize(
    ("text", "t"),
    [
        ("1700000000", 1700000000.0),
        ("1700000000123", 1700000000.123),
        ("2014-04-01 00:00:00", 1396310400.0),
        ("2014-04-01", 1396310400.0),
        ("2024-01-02T03:04:05.250Z", 1704164645.25),
        ("2024-01-02T03:04:05-0130", 1704170045.0),
        ("12345", None),
        ("2024-13-02 00:00:00", None),
        ("yesterday", None),
        ("1e999", None),
    ],
)
def test_parse_time(text, t):
    assert parse_time(text) == t


# --------------------------------------------------------------------------- headers


def test_csv_header_names_the_columns():
    p = LineParser("dev")
    r = feed_all(p, ["temp,hum", "21.5,40.2"])
    assert p.counters.header == 1
    assert r[1].values == {"temp": 21.5, "hum": 40.2}


def test_csv_header_time_column_gives_the_time_and_is_no_channel():
    p = LineParser("dev")
    r = feed_all(p, ["time,temp,hum", "1700000000,21.5,40.2"])[1]
    assert (r.t, r.values) == (1700000000.0, {"temp": 21.5, "hum": 40.2})


def test_nab_layout_with_iso_timestamps():
    p = LineParser("dev")
    r = feed_all(p, ["timestamp,value", "2014-04-01 00:00:00,23.5"])[1]
    assert (r.t, r.values) == (1396310400.0, {"value": 23.5})


def test_date_column_in_csv_is_time():
    p = LineParser("dev")
    r = feed_all(p, ["Date;Temp", "2024-01-02 03:04:05;21,5"])[1]
    assert (r.t, r.values) == (1704164645.0, {"Temp": 21.5})


def test_header_argument_presets_column_names():
    p = LineParser("file", "csv", header=["timestamp", "value"])
    assert p.feed("timestamp,value", T) is None
    assert p.last_kind == "header"
    r = p.feed("2014-04-01 00:00:00,23.5", T)
    assert (r.t, r.values) == (1396310400.0, {"value": 23.5})


def test_row_shorter_than_the_header_fills_missing_columns_with_none():
    p = LineParser("dev")
    r = feed_all(p, ["a,b,c", "1,2,3", "4,5"])[2]
    assert r.values == {"a": 4.0, "b": 5.0, "c": None}


def test_row_longer_than_the_header_names_extra_columns_by_position():
    p = LineParser("dev", "csv", header=["a", "b"])
    assert p.feed("1,2,3", T).values == {"a": 1.0, "b": 2.0, "ch2": 3.0}


def test_header_reappearing_after_a_reset_relearns_names():
    p = LineParser("dev")
    feed_all(p, ["temp,hum", "21.5,40.2", "Booting...", "pressure,light"])
    assert p.last_kind == "header"
    assert p.feed("1013,300", T).values == {"pressure": 1013.0, "light": 300.0}


def test_same_header_again_is_a_header():
    p = LineParser("dev")
    feed_all(p, ["temp,hum", "21.5,40.2", "temp,hum"])
    assert p.counters.header == 2


def test_text_with_another_column_count_is_not_a_header():
    p = LineParser("dev")
    feed_all(p, ["temp,hum", "21.5,40.2", "Sensor init ok"])
    assert p.last_kind == "text"
    assert p.feed("21.6,40.3", T).values == {"temp": 21.6, "hum": 40.3}


def test_text_with_punctuation_is_not_a_header():
    p = LineParser("dev")
    feed_all(p, ["temp,hum", "21.5,40.2", "Failed, retrying!"])
    assert p.last_kind == "text"
    assert p.feed("21.6,40.3", T).values == {"temp": 21.6, "hum": 40.3}


def test_header_of_another_shape_applies_when_rows_of_that_shape_follow():
    p = LineParser("dev")
    feed_all(p, ["a,b", "1,2", "a,b,c"])
    assert p.last_kind == "text"
    assert p.feed("1,2,3", T).values == {"a": 1.0, "b": 2.0, "c": 3.0}


def test_headerless_csv_after_words_of_another_shape_keeps_positional_names():
    p = LineParser("dev")
    assert p.feed("Sensor init ok", T) is None
    assert p.feed("21.5 40.2", T).values == {"ch0": 21.5, "ch1": 40.2}


def test_plotter_header_only_line_names_following_bare_numbers():
    p = LineParser("dev")
    assert p.feed("temp:\thum:", T) is None
    assert p.last_kind == "header"
    assert p.feed("21.5\t40.2", T).values == {"temp": 21.5, "hum": 40.2}
    assert p.format == "plotter"


def test_csv_style_header_names_bare_numbers_in_plotter_mode():
    p = LineParser("dev", "plotter")
    feed_all(p, ["temp,hum"])
    assert p.last_kind == "header"
    assert p.feed("21.5 40.2", T).values == {"temp": 21.5, "hum": 40.2}


def test_header_argument_names_unlabeled_plotter_values():
    p = LineParser("dev", "plotter", header=["temp", "hum"])
    assert p.feed("21.5 40.2", T).values == {"temp": 21.5, "hum": 40.2}


def test_all_missing_row_of_the_known_shape_is_data():
    p = LineParser("dev")
    r = feed_all(p, ["temp,hum", "1,2", "nan,nan"])[2]
    assert r.values == {"temp": None, "hum": None}


# --------------------------------------------------------------------------- first line


def test_first_line_after_connect_is_dropped_as_partial():
    p = LineParser("dev")
    assert p.feed("mp:21.5 hum:40.2", T, first=True) is None
    assert (p.last_kind, p.format, p.channels) == ("partial", None, [])


def test_first_line_that_is_a_header_is_kept():
    p = LineParser("dev")
    assert p.feed("temp,hum", T, first=True) is None
    assert p.last_kind == "header"
    assert p.feed("21.5,40.2", T).values == {"temp": 21.5, "hum": 40.2}


def test_first_line_that_is_a_plotter_header_is_kept():
    p = LineParser("dev")
    p.feed("temp:\thum:", T, first=True)
    assert p.last_kind == "header"
    assert p.feed("1\t2", T).values == {"temp": 1.0, "hum": 2.0}


# --------------------------------------------------------------------------- other formats


def test_nmea_bad_checksum_is_garbage():
    p = LineParser("dev")
    assert p.feed("$YXXDR,C,23.5,C,AIRTEMP*00", T) is None
    assert p.last_kind == "garbage"


def test_nmea_bad_checksum_in_a_locked_stream_is_garbage():
    p = LineParser("dev")
    p.feed(nmea("YXXDR,C,23.5,C,AIRTEMP"), T)
    assert p.feed(nmea("YXXDR,C,23.5,C,AIRTEMP")[:-2] + "FF", T) is None
    assert p.last_kind == "garbage"


def test_nmea_good_checksum_in_lower_case_hex_is_accepted():
    line = nmea("YXXDR,C,23.5,C,AIRTEMP")
    assert LineParser("dev").feed(line[:-2] + line[-2:].lower(), T).values == {"AIRTEMP": 23.5}


def test_nmea_xdr_bad_value_is_a_field_error():
    p = LineParser("dev", "nmea")
    p.feed(nmea("YXXDR,C,19.0,C,AIR,C,20.0,C,WATER"), T)
    r = p.feed(nmea("YXXDR,C,abc,C,AIR,C,20.0,C,WATER"), T)
    assert r.values == {"AIR": None, "WATER": 20.0}
    assert p.last_errors == 1


def test_teleplot_text_telemetry_is_text():
    p = LineParser("dev", "teleplot")
    assert p.feed(">state:running|t", T) is None
    assert p.last_kind == "text"


def test_influx_bad_field_value_is_an_error():
    p = LineParser("dev", "influx")
    p.feed("env temp=20,hum=40", T)
    r = p.feed("env temp=abc,hum=40", T)
    assert r.values == {"env.temp": None, "env.hum": 40.0}
    assert p.last_errors == 1


def test_json_deep_nesting_and_huge_numbers_are_harmless():
    p = LineParser("dev", "json")
    assert p.feed('{"a": ' + "[" * 5000 + "]" * 5000 + "}", T) is None
    r = p.feed('{"big": 1' + "0" * 400 + ', "x": 1}', T)
    assert r.values == {"big": None, "x": 1.0}


# --------------------------------------------------------------------------- counters


def test_counters_add_up_over_a_mixed_session():
    p = LineParser("dev")
    p.feed("emp:2", T, first=True)
    feed_all(p, ["Booting...", "temp,hum", "1,2", "", "\x00\x01\x02", "x,3", "oops!"])
    p.feed("1,2", T, cut=True)
    assert p.counters == ParseCounters(
        lines=9, data=2, header=1, text=2, garbage=1, empty=1, partial=1, overlong=1, field_errors=1
    )


def test_last_errors_resets_on_the_next_line():
    p = LineParser("dev", "csv")
    p.feed("x,1", T)
    assert p.last_errors == 1
    p.feed("1,1", T)
    assert p.last_errors == 0


def test_message_with_a_number_in_a_csv_stream_is_text():
    p = LineParser("dev")
    feed_all(p, ["1 2", "Sensor read failed after 3 tries"])
    assert (p.last_kind, p.counters.field_errors) == ("text", 0)


def test_message_with_a_number_in_a_plotter_stream_is_text():
    p = LineParser("dev", "plotter")
    assert p.feed("Sensor read failed after 3 tries", T) is None
    assert p.last_kind == "text"


def test_csv_row_with_one_bad_field_is_data():
    p = LineParser("dev")
    feed_all(p, ["temp,hum", "1,2"])
    assert p.feed("abc,40", T).values == {"temp": None, "hum": 40.0}
    assert p.last_errors == 1


def test_space_separated_words_do_not_name_plotter_values():
    p = LineParser("dev", "plotter")
    p.feed("Sensor init ok", T)
    assert p.last_kind == "text"
    assert p.feed("1 2", T).values == {"value1": 1.0, "value2": 2.0}


def test_trailing_delimiter_after_every_row_adds_no_column():
    p = LineParser("dev")
    r = feed_all(p, ["temp,hum,", "1,2,", "3,4,"])
    assert [x.values for x in r[1:]] == [{"temp": 1.0, "hum": 2.0}, {"temp": 3.0, "hum": 4.0}]


def test_empty_last_field_is_missing_when_the_row_needs_it():
    p = LineParser("file", "csv", header=["timestamp", "value"])
    r = p.feed("2014-04-01 00:00:00,", T)
    assert (r.t, r.values) == (1396310400.0, {"value": None})


def test_a_whole_keyed_first_line_after_a_reconnect_is_kept():
    """A board that prints no header loses no reading at a replug when its line is whole."""
    p = LineParser("dev")
    feed_all(p, ["temp:21.5 hum:40.2", "temp:21.6 hum:40.3"])
    assert p.feed("temp:21.7 hum:40.4", T, first=True).values == {"temp": 21.7, "hum": 40.4}
    assert p.feed("mp:21.8 hum:40.5", T, first=True) is None
    assert p.last_kind == "partial"
    assert p.feed("hum:40.5", T, first=True) is None
    assert p.last_kind == "partial"
    # A positional line cannot tell: '1.7,40.4' may be '21.7,40.4' cut, a spike nobody sent.
    q = LineParser("dev")
    feed_all(q, ["temp,hum", "21.5,40.2", "21.6,40.3"])
    assert q.feed("1.7,40.4", T, first=True) is None
    assert q.last_kind == "partial"
