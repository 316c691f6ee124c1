"""Scenario, policy and sensors files: what users wrote that crashed, hung or blinded a night is
now a ``ConfigError`` (``ScenarioError`` for scenarios and policies) naming the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden.cli import app
from skywarden.disclosure.policy import default_policy_path, load_rules
from skywarden.errors import ConfigError, ScenarioError
from skywarden.ingest.sensors import load_sensors
from skywarden.scenario import load_scenario
from skywarden.scenario.load import default_scenario_path

runner = CliRunner()
SHIPPED = default_scenario_path().read_text(encoding="utf-8").replace('roads = "moscow_roads.osm"', 'roads = ""')


def edited(old: str, new: str, count: int = 1) -> str:
    assert old in SHIPPED, old
    return SHIPPED.replace(old, new, count)


# (what users wrote, the scenario text, words the error must say)
BAD_SCENARIOS: dict[str, tuple[str | bytes, str]] = {
    "invalid UTF-8": (SHIPPED.encode().replace(b"Moscow, night", b"Moscow\xff\xfe night", 1), "not UTF-8"),
    "range_m = inf": (edited("range_m = 70000.0", "range_m = inf"), "not a finite number"),
    "tick_s = nan": (edited("tick_s = 1.0", "tick_s = nan"), "not a finite number"),
    "NaN wind": (edited("speed_ms = 6.0", "speed_ms = nan"), "not a finite number"),
    "tick_s = 1e-4": (edited("tick_s = 1.0", "tick_s = 1e-4"), ">= 0.1"),
    "mass_kg = 0": (edited("mass_kg = 180.0", "mass_kg = 0.0"), ">= 0.01"),
    "period_s = 1e-6": (edited("period_s = 5.0", "period_s = 1e-6"), ">= 0.1"),
    "sigma_range_m = 0": (edited("sigma_range_m = 25.0", "sigma_range_m = 0.0"), ">= 0.001"),
    "10^6 birds": (edited("count = 6\nradius_m = 1500.0", "count = 1000000\nradius_m = 1500.0"), "<= 10000"),
    "birds over the total": (edited("count = 6\nradius_m = 1500.0", "count = 9999\nradius_m = 1500.0"), "birds in all"),
    "deep nesting": (edited('roads = ""', 'roads = ""\nx = ' + "[" * 5000 + "]" * 5000), "nested too deep"),
    "a week-long night": (edited('end = "2025-03-11T04:00:00+03:00"', 'end = "2025-03-18T04:00:00+03:00"'), "longer than"),
    "negative range": (edited("range_m = 70000.0", "range_m = -1.0"), "> 0.0"),
}


@pytest.mark.parametrize("name", list(BAD_SCENARIOS))
def test_bad_scenarios_are_clear_errors_and_scenario_check_says_so(name: str, tmp_path: Path):
    text, words = BAD_SCENARIOS[name]
    path = tmp_path / "night.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert isinstance(err.value, ScenarioError)
    assert words in str(err.value) and str(path) in str(err.value)
    res = runner.invoke(app, ["scenario", "check", str(path)])
    assert res.exit_code != 0 and (res.exception is None or isinstance(res.exception, SystemExit))
    assert "Traceback" not in res.output


def test_the_shipped_scenario_and_policy_pass():
    scn = load_scenario()
    assert scn.spec.night.tick_s == 1.0
    load_rules()


def test_errors_name_the_key_and_line(tmp_path: Path):
    path = tmp_path / "night.toml"
    path.write_text(edited("tick_s = 1.0", "tick_s = nan"), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert err.value.where == "night.tick_s"
    assert err.value.line == SHIPPED.splitlines().index("tick_s = 1.0") + 1


POLICY = default_policy_path().read_text(encoding="utf-8")
BAD_POLICIES = {
    "invalid UTF-8": (POLICY.encode().replace(b"[place]", b"[place]\n# \xc3\x28", 1), "not UTF-8"),
    "nan delay": (POLICY.replace("release_delay_s = 0.0", "release_delay_s = nan", 1), "not a finite number"),
    "inf band": (POLICY.replace("100.0]", "inf]", 1), "not a finite number"),
    "deep nesting": (POLICY.replace("[place]", "x = " + "[" * 3000 + "]" * 3000 + "\n[place]", 1), "nested too deep"),
}


@pytest.mark.parametrize("name", list(BAD_POLICIES))
def test_bad_policies_are_clear_errors(name: str, tmp_path: Path):
    text, words = BAD_POLICIES[name]
    path = tmp_path / "policy.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ScenarioError, match=words):
        load_rules(path)


@pytest.mark.parametrize("value", ["nan", "0.0", "1e308", "-3.0"])
def test_sensors_file_sigmas_are_bounded(value: str, tmp_path: Path):
    path = tmp_path / "sensors.toml"
    path.write_text(f"[[radar]]\nsac = 1\nsic = 2\nlat = 55.7\nlon = 37.6\nalt = 150.0\nsigma_range_m = {value}\n")
    with pytest.raises(ConfigError, match="sigma_range_m"):
        load_sensors(path)


def test_sensors_file_invalid_utf8_is_a_config_error(tmp_path: Path):
    path = tmp_path / "sensors.toml"
    path.write_bytes(b"[[radar]]\nsac = 1\nsic = 2\nlat = 55.7\nlon = 37.6\nalt = 150.0\n# \xff\n")
    with pytest.raises(ConfigError):
        load_sensors(path)


def test_scenario_check_checks_the_policy_it_names(tmp_path: Path):
    (tmp_path / "policy.toml").write_text(POLICY.replace("release_delay_s = 0.0", "release_delay_s = inf", 1), encoding="utf-8")
    path = tmp_path / "night.toml"
    path.write_text('policy = "policy.toml"\n' + SHIPPED, encoding="utf-8")
    res = runner.invoke(app, ["scenario", "check", str(path)])
    assert res.exit_code != 0 and "release_delay_s" in res.output and "finite" in res.output
