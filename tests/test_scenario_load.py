from __future__ import annotations

from pathlib import Path

import pytest

from skywarden.errors import ScenarioError
from skywarden.scenario import default_scenario_path, load_scenario


def test_default_scenario_loads(scenario):
    assert scenario.spec.city.name == "Moscow"
    assert len(scenario.spec.airports) == 4
    assert sum(w.count for w in scenario.spec.waves) >= 40
    assert scenario.at("03:10").isoformat() == "2025-03-11T00:10:00+00:00"
    assert scenario.district_at(55.7539, 37.6208) == "central"


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = default_scenario_path().read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / "night.toml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


def test_unknown_key_names_file_key_and_line(tmp_path):
    p = _variant(tmp_path, "priority = 1\n", "priority = 1\ncolour = \"red\"\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    e = err.value
    assert e.file == str(p) and "colour" in e.what and e.where.startswith("zones[0]")
    lines = p.read_text(encoding="utf-8").splitlines()
    assert e.line is not None and "colour" in lines[e.line - 1]


def test_zone_that_is_not_a_polygon(tmp_path):
    p = _variant(
        tmp_path,
        "polygon = [[55.7590, 37.5650], [55.7590, 37.5860], [55.7490, 37.5860], [55.7490, 37.5650]]",
        "polygon = [[55.7590, 37.5650], [55.7590, 37.5860]]",
    )
    with pytest.raises(ScenarioError, match="at least 3"):
        load_scenario(p)


def test_self_crossing_polygon_is_refused(tmp_path):
    p = _variant(
        tmp_path,
        "polygon = [[55.7590, 37.5650], [55.7590, 37.5860], [55.7490, 37.5860], [55.7490, 37.5650]]",
        "polygon = [[55.7590, 37.5650], [55.7490, 37.5860], [55.7590, 37.5860], [55.7490, 37.5650]]",
    )
    with pytest.raises(ScenarioError, match="not a simple polygon"):
        load_scenario(p)


def test_sensor_out_of_range_of_everything(tmp_path):
    p = _variant(tmp_path, "lat = 55.9300\nlon = 37.6500", "lat = 48.0\nlon = 30.0")
    with pytest.raises(ScenarioError, match="out of range of everything") as err:
        load_scenario(p)
    assert err.value.where == "sensors[0]"


def test_impossible_coordinate(tmp_path):
    p = _variant(tmp_path, "lat = 55.9726\nlon = 37.4146\nrestriction", "lat = 95.9726\nlon = 37.4146\nrestriction")
    with pytest.raises(ScenarioError, match="latitude 95.9726"):
        load_scenario(p)


def test_wrong_type_and_unknown_reference(tmp_path):
    p = _variant(tmp_path, "count = 8\ndrone_type = \"long-range\"", "count = \"eight\"\ndrone_type = \"long-range\"")
    with pytest.raises(ScenarioError, match="Expected `int`"):
        load_scenario(p)
    p = _variant(tmp_path, 'targets = ["centre", "government", "vko_zone"]', 'targets = ["kremlin"]')
    with pytest.raises(ScenarioError, match="unknown zone 'kremlin'"):
        load_scenario(p)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[night\nname=1", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)
