"""Units from what the device prints, --unit/--scale/--offset, and the [channels.NAME]
tables of sensorscope.toml (issue 14, item 4)."""

from __future__ import annotations

import csv
import io

import pytest

from sensorscope.channel_file import read_channels, save_channels, with_channels
from sensorscope.errors import UserError
from sensorscope.formats import LineParser
from sensorscope.model import ChannelConfig, Frame, Settings
from sensorscope.pipeline import Pipeline
from sensorscope.settings import read_toml

T0 = 1_763_884_800.0


def parsed_units(lines: list[str]) -> dict[str, str]:
    p = LineParser("lab1")
    for i, line in enumerate(lines):
        p.feed(line, T0 + i)
    return p.units


@pytest.mark.parametrize(
    ("lines", "units"),
    [
        (["Temperature: 23.50 *C  Humidity: 45.00 %"] * 3, {"Temperature": "*C", "Humidity": "%"}),
        (["Air temp: 21.5C, Pressure: 1012.9 hPa"] * 3, {"Air temp": "C", "Pressure": "hPa"}),
        ([">temp:21.5§°C", ">hum:40.1§%", ">temp:1700000000123:21.6§°C|np"],
         {"temp": "°C", "hum": "%"}),
        (["temp=21.5C hum=40%"] * 3, {"temp": "C", "hum": "%"}),
        (["temp=21,5C;hum=40%"] * 3, {"temp": "C", "hum": "%"}),
        (["[12:00:01] temp=21.5C hum=40"] * 3, {"temp": "C"}),
        # A "unit" in the wrong encoding on the way reads as the degree it was.
        (["Temp: 23.5 Â°C"] * 3, {"Temp": "°C"}),
        (["temp:21.5 hum:40"] * 3, {}),
    ],
    ids=["prose", "prose-glued", "teleplot", "kv", "kv-decimal-comma", "prefixed", "mojibake",
         "none"],
)  # fmt: skip
def test_the_unit_a_device_prints_is_kept_per_channel(lines, units):
    assert parsed_units(lines) == units


def test_the_first_unit_stays_and_values_parse_as_before():
    p = LineParser("lab1")
    r = p.feed("temp=21.5C", T0)
    p.feed("temp=70.1F", T0 + 1)
    assert r is not None and r.values == {"temp": 21.5}
    assert p.units == {"temp": "C"}


def scored(settings: Settings, lines: list[str]) -> Pipeline:
    p = Pipeline(settings, ["lab1"])
    p.process([Frame(T0 + i * 0.1, "lab1", line) for i, line in enumerate(lines)])
    p.finish()
    return p


def test_a_channel_shows_the_device_unit_unless_the_user_gives_one():
    lines = [f"Temperature: {20 + i / 100:.2f} *C  Humidity: 45.00 %" for i in range(20)]
    snap = scored(Settings(units={"Temperature": "°C"}), lines).snapshot()
    assert snap.channels["Temperature"].unit == "°C"
    assert snap.channels["Humidity"].unit == "%"


def test_scale_and_offset_apply_before_scoring_and_only_to_their_channel():
    lines = [f"temp={200 + i} hum={40 + i}" for i in range(50)]
    p = scored(Settings(scales={"temp": 0.1}, offsets={"temp": -1.0}), lines)
    snap = p.snapshot()
    assert snap.channels["temp"].last_value == pytest.approx(0.1 * 249 - 1.0)
    assert snap.channels["hum"].last_value == pytest.approx(89.0)
    # The raw line stays as the device printed it.
    assert snap.all_lines[-1].line == "temp=249 hum=89"


def test_a_range_is_in_the_scaled_units():
    # Raw values of 200..249 would all be beyond 0:30 were the range taken in raw units.
    lines = [f"temp={200 + (i % 5)}" for i in range(400)]
    p = scored(Settings(scales={"temp": 0.1}, limits={"temp": (0.0, 30.0)}), lines)
    assert [a for a in p.alerts if a.channel == "temp"] == []
    p = scored(Settings(limits={"temp": (0.0, 30.0)}), lines)
    assert [a for a in p.alerts if a.channel == "temp"]


def test_score_writes_scaled_values(cli, tmp_path):
    src = tmp_path / "raw.txt"
    src.write_text("".join(f"temp={210 + i % 3} hum=40\n" for i in range(30)))
    proc = cli("score", "-", "-o", "-", "--scale", "temp=0.1", "--offset", "temp=1",
               input=src.read_bytes())  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
    temps = [float(r["value"]) for r in rows if r["channel"] == "temp"]
    hums = [float(r["value"]) for r in rows if r["channel"] == "hum"]
    assert temps[:3] == pytest.approx([22.0, 22.1, 22.2])
    assert set(hums) == {40.0}


def test_score_takes_the_channels_tables_of_its_config(cli, tmp_path):
    src = tmp_path / "raw.txt"
    src.write_text("".join(f"temp={210 + i % 3}\n" for i in range(30)))
    conf = tmp_path / "sensorscope.toml"
    conf.write_text('[channels."temp"]\nscale = 0.1\n')
    proc = cli("score", "-", "-o", "-", "--config", str(conf), input=src.read_bytes())
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
    assert float(rows[0]["value"]) == pytest.approx(21.0)
    # The command line wins over the file.
    proc = cli("score", "-", "-o", "-", "--config", str(conf), "--scale", "temp=2",
               input=src.read_bytes())  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
    assert float(rows[0]["value"]) == pytest.approx(420.0)


# --------------------------------------------------------------------------- the file


def test_saving_keeps_the_users_other_tables_and_comments(tmp_path):
    path = tmp_path / "sensorscope.toml"
    path.write_text(
        "# my settings\n[detect]\nthreshold = 0.6  # a bit higher\n\n"
        '[channels."old"]\nunit = "V"\n\n[keys]\nlabel_fp = "x"\n'
    )
    saved = save_channels(str(path), {
        "temp": ChannelConfig(unit='°"C\\', scale=0.1, threshold=0.62, low=-40.0),
        "lab1/hum": ChannelConfig(unit="%"),
    })  # fmt: skip
    text = path.read_text()
    assert saved.path == str(path) and saved.channels == 2
    assert "# my settings" in text and "threshold = 0.6  # a bit higher" in text
    data = read_toml(str(path))
    assert data["detect"] == {"threshold": 0.6}
    assert data["keys"] == {"label_fp": "x"}
    assert set(data["channels"]) == {"temp", "lab1/hum"}  # the old table is replaced
    back = read_channels(str(path))
    assert back["temp"] == ChannelConfig(unit='°"C\\', scale=0.1, threshold=0.62, low=-40.0)
    assert back["lab1/hum"] == ChannelConfig(unit="%")
    assert [p.name for p in tmp_path.iterdir()] == ["sensorscope.toml"]  # no temporary left


def test_a_file_it_cannot_update_is_left_alone(tmp_path):
    path = tmp_path / "sensorscope.toml"
    body = "channels = {temp = {unit = 'C'}}\n"
    path.write_text(body)
    with pytest.raises(UserError, match="not overwritten"):
        save_channels(str(path), {"temp": ChannelConfig(unit="°C")})
    assert path.read_text() == body


def test_the_options_win_over_the_file():
    s = Settings(scales={"temp": 2.0}, limits={"temp": (0.0, 1.0)})
    merged = with_channels(s, {
        "temp": ChannelConfig(unit="°C", scale=0.1, threshold=0.7, low=-40.0, high=125.0),
        "hum": ChannelConfig(high=100.0),
    })  # fmt: skip
    assert merged.scales == {"temp": 2.0}
    assert merged.units == {"temp": "°C"}
    assert merged.thresholds == {"temp": 0.7}
    assert merged.limits == {"temp": (0.0, 1.0), "hum": (float("-inf"), 100.0)}
    assert s.units == {}  # the settings given are not changed


def test_a_state_file_learned_at_another_scale_starts_fresh(tmp_path):
    from sensorscope.state_file import StateFile

    path = str(tmp_path / "lab.state")
    lines = [f"temp={200 + i % 5}" for i in range(50)]
    StateFile(path, Settings()).save(scored(Settings(), lines))
    notice = StateFile(path, Settings(scales={"temp": 0.1})).load(Pipeline(Settings()))
    assert notice is not None and "scales was {}, now {'temp': 0.1}" in notice
    assert StateFile(path, Settings()).load(Pipeline(Settings())) is None


def test_export_writes_scaled_values(cli, tmp_path):
    src = tmp_path / "raw.txt"
    src.write_text("".join(f"temp={210 + i % 3} hum=40\n" for i in range(30)))
    out = tmp_path / "wide.csv"
    proc = cli("export", "-", "-o", str(out), "--scale", "temp=0.1", input=src.read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.DictReader(out.open()))
    assert [float(r["temp"]) for r in rows[:3]] == pytest.approx([21.0, 21.1, 21.2])
    assert float(rows[0]["hum"]) == 40.0


def test_saving_through_a_link_keeps_the_link_and_the_permissions(tmp_path):
    real = tmp_path / "real.toml"
    real.write_text("[keys]\nhelp = 'h'\n")
    real.chmod(0o640)
    link = tmp_path / "sensorscope.toml"
    link.symlink_to(real)
    save_channels(str(link), {"temp": ChannelConfig(unit="°C")})
    assert link.is_symlink()
    assert real.stat().st_mode & 0o777 == 0o640
    assert read_channels(str(link)) == {"temp": ChannelConfig(unit="°C")}
