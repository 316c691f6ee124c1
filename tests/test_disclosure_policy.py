"""The disclosure policy: the file and its validation, coarsening, checking and redaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from skywarden.disclosure.policy import (
    DisclosurePolicy,
    Draft,
    PolicyRules,
    default_policy_path,
    load_rules,
)
from skywarden.errors import ScenarioError
from skywarden.events import KillReported, PolarPlots
from skywarden.geo import distance_m
from skywarden.scenario import LoadedScenario


def policy(scenario: LoadedScenario, **sections: dict[str, object]) -> DisclosurePolicy:
    """The shipped policy with some keys of some sections replaced."""
    raw = msgspec.to_builtins(load_rules())
    for name, keys in sections.items():
        raw[name].update(keys)
    return DisclosurePolicy(msgspec.convert(raw, PolicyRules), scenario)


def test_shipped_policy_loads_and_withholds_the_scenario_sensors(scenario: LoadedScenario) -> None:
    p = DisclosurePolicy.for_scenario(scenario)
    assert Path(p.source) == default_policy_path()
    terms = dict(p.withheld_terms)
    for s in scenario.spec.sensors:
        assert terms[s.id.casefold()] == "sensor"
        assert terms[s.name.casefold()] == "sensor"
    assert p.check(f"seen by {scenario.spec.sensors[0].name}")


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("[time]\nround_min = 7\n", "time.round_min"),
        ("[time]\nrelease_delay_s = -5.0\n", "time.release_delay_s"),
        ("[time]\ndelay_by_topic = { kills = -1.0 }\n", "time.delay_by_topic.kills"),
        ('[place]\nmode = "street"\n', "place.mode"),
        ("[place]\ndistance_bands_km = [0.0, 20.0, 10.0]\n", "place.distance_bands_km"),
        ("[approval]\napprovers = 0\n", "approval.approvers"),
        ('[approval]\nroles = ["janitor"]\n', "approval.roles"),
        ('[withhold]\nterms = ["x"]\n', "withhold.terms[0]"),
        ("[withhold]\nsensor = true\n", "withhold"),
    ],
)
def test_a_bad_policy_file_names_the_file_and_the_key(tmp_path: Path, body: str, key: str) -> None:
    f = tmp_path / "policy.toml"
    f.write_text("# a policy\n" + body, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_rules(f)
    assert err.value.file == str(f)
    assert err.value.where.startswith(key)
    assert err.value.line is not None and err.value.line >= 2
    assert str(f) in str(err.value)


def test_unreadable_and_malformed_files_are_scenario_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_rules(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[time\nround_min = 5\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_rules(bad)


def test_place_by_district(scenario: LoadedScenario) -> None:
    p = policy(scenario, place={"mode": "district"})
    centre = p.coarsen_place(scenario.spec.city.lat, scenario.spec.city.lon)
    assert centre.district == "central"
    assert centre.en == "Central district" and centre.ru == "Центральный округ"


def test_place_by_direction_and_band(scenario: LoadedScenario) -> None:
    p = policy(scenario, place={"mode": "direction", "distance_bands_km": [0, 10, 20, 30, 50]})
    c = scenario.spec.city
    # a point about 25 km south-west of the centre
    lat, lon = c.lat - 0.16, c.lon - 0.28
    d_km = distance_m(c.lat, c.lon, lat, lon) / 1000
    assert 20 < d_km < 30
    place = p.coarsen_place(lat, lon)
    assert place.direction == "south-west"
    assert place.band_km == (20.0, 30.0)
    assert place.en == "20-30 km south-west of the centre"
    assert place.ru == "в 20–30 км к юго-западу от центра"
    far = p.coarsen_place(c.lat + 1.0, c.lon)
    assert far.en == "more than 50 km north of the centre"
    near = p.coarsen_place(c.lat + 0.01, c.lon)
    assert near.en == "within 10 km north of the centre"


def test_place_by_city_only(scenario: LoadedScenario) -> None:
    p = policy(scenario, place={"mode": "city"})
    assert p.coarsen_place(55.6, 37.4).en == scenario.spec.city.name


def test_time_rounded_down_in_local_time_and_release_delay(scenario: LoadedScenario) -> None:
    p = policy(scenario, time={"round_min": 15, "release_delay_s": 600.0})
    t = datetime(2025, 3, 10, 23, 44, 59, tzinfo=UTC)  # 02:44:59 in Moscow
    assert p.time_text(t) == "02:30"
    assert p.coarsen_time(t) <= t
    assert p.release_time(t) == t + timedelta(minutes=10)
    p2 = policy(
        scenario, time={"release_delay_s": 600.0, "delay_by_topic": {"airport_restricted": 0.0}}
    )
    assert p2.release_time(t, "airport_restricted") == t
    assert p2.release_time(t, "kills") == t + timedelta(minutes=10)


def test_check_finds_every_kind_of_withheld_content(scenario: LoadedScenario) -> None:
    p = policy(scenario, time={"round_min": 5}, place={"max_decimals": 1})
    p.learn(
        [
            KillReported(
                t=scenario.start,
                report_id="R1",
                lat=55.6,
                lon=37.5,
                unit="Unit 4411",
                effector="Strela-X",
            )
        ]
    )
    text = (
        "Unit 4411 fired Strela-X at 02:13:07 over 55.61234, 37,52 (55°37' N); "
        "the radar-north saw it; 4 drones are still in the air. At 02:13 and 02:15 and 1.5 km."
    )
    kinds = [(v.kind, v.category, v.found) for v in p.check(text)]
    assert ("term", "unit", "Unit 4411") in kinds
    assert ("term", "effector", "Strela-X") in kinds
    assert ("term", "sensor", "radar-north") in kinds
    assert ("time", "seconds", "02:13:07") in kinds
    assert ("coordinate", "decimal", "55.61234") in kinds
    assert ("coordinate", "decimal", "37,52") in kinds
    assert any(k == "coordinate" and c == "degrees" for k, c, _ in kinds)
    assert any(k == "airborne" for k, _, _ in kinds)
    assert ("time", "finer than 5 min", "02:13") in kinds
    assert not any(f in ("02:15", "1.5") for _, _, f in kinds)


def test_terms_match_whole_words_in_any_case(scenario: LoadedScenario) -> None:
    p = policy(scenario)
    p.add_term("Tor", "term")
    assert p.check("the TOR system")
    assert not p.check("the motorway and the tutor")
    assert [v.found for v in p.check("сбит Панцирем, два Pantsirs")] == ["Панцирем", "Pantsirs"]
    assert [v.category for v in p.check("Панциря и Красухой")] == ["term", "term"]
    assert p.check("Красухи") != [] and p.check("жители района") == []
    assert p.check("at:03:12:07 and word,55.7512") != []


def test_coordinates_in_any_notation_are_found(scenario: LoadedScenario) -> None:
    p = policy(scenario, place={"max_decimals": 1})
    for text in (
        "at 55.7512,37.6184.",
        "at 55,7512",
        "(55.75, 37.62)",
        "at 55.7512;37.6",
        "55°45′N",
    ):
        clean, taken = p.redact(text)
        assert taken and p.check(clean) == [], text
        assert (
            "7512" not in clean
            and "6184" not in clean
            and "75" not in clean.replace("[withheld]", "")
        )
    assert p.redact("at 55° 45' 12\" N, 37°37′E.")[0] == "at [withheld], [withheld]."
    assert p.check("1.5 km, 20-30 km, 2025-03-11") == []


def test_learning_sensor_ids_from_plots(scenario: LoadedScenario) -> None:
    p = policy(scenario)
    p.learn([
        PolarPlots(t=scenario.start, sensor_id="mobile-77", sensor_lat=55.0, sensor_lon=37.0, sensor_alt=0.0,
                   range_m=[], azimuth_deg=[], elevation_deg=[], sigma_range_m=1.0, sigma_azimuth_deg=1.0,
                   sigma_elevation_deg=1.0)
    ])  # fmt: skip
    assert [v.category for v in p.check("tracked by mobile-77")] == ["sensor"]


def test_redact_makes_any_text_clean_and_rounds_times(scenario: LoadedScenario) -> None:
    p = policy(scenario, time={"round_min": 10})
    text = "At 02:17:33 radar-north saw a drone at 55.7012, 37.6011. Pantsir fired."
    clean, taken = p.redact(text)
    assert p.check(clean) == []
    assert "02:10" in clean and "02:17" not in clean
    assert "radar-north" not in clean and "Pantsir" not in clean and "55.70" not in clean
    assert len(taken) == 5
    ru, _ = p.redact("В 02:17 сработал Панцирь", "ru")
    assert ru == "В 02:10 сработал [скрыто]"


def test_apply_gives_release_time_and_clean_texts(scenario: LoadedScenario) -> None:
    p = policy(scenario, time={"round_min": 5, "release_delay_s": 300.0})
    t = scenario.start + timedelta(minutes=17)
    pub = p.apply(Draft("Seen by rf-centre at 00:17.", "Обнаружен в 00:17.", t))
    assert pub.release_at == t + timedelta(seconds=300)
    assert p.check(pub.text_en) == [] and p.check(pub.text_ru) == []
    assert {v.found for v in pub.redacted} == {"rf-centre", "00:17"}
