"""Claims against the log: confirmed, unconfirmed, contradicted; re-assessed as facts change."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from skywarden.disclosure.claims import ClaimAssessor
from skywarden.disclosure.stage import DisclosureStage
from skywarden.events import (
    AirportLifted,
    AirportRestricted,
    ClaimAssessed,
    ClaimRecorded,
    DebrisPredicted,
    Event,
    KillNumbered,
    KillRetracted,
    ThreatRaised,
    Tick,
    TrackConfirmed,
)
from skywarden.geo import circle_ring
from skywarden.scenario import LoadedScenario


def kill(t: datetime, n: int, lat: float, lon: float, toward: str = "centre") -> KillNumbered:
    return KillNumbered(
        t=t, report_id=f"R{n}", number=n, day_number=n, local_time="", incident_id=f"INC-T{n}",
        track_id=f"T{n}", matched_by="track_ref", lat=lat, lon=lon, alt=0.0, toward=toward,
    )  # fmt: skip


def claim(scenario: LoadedScenario, what: str, **kw: object) -> ClaimRecorded:
    return ClaimRecorded(
        t=scenario.at("03:30"), claim_id="CL-0001", source="Channel X", what=what, **kw
    )  # type: ignore[arg-type]


@pytest.fixture()
def sw(scenario: LoadedScenario) -> tuple[float, float]:
    """A point ~25 km south-west of the centre."""
    c = scenario.spec.city
    return c.lat - 0.16, c.lon - 0.28


def night_with_kills(scenario: LoadedScenario, sw: tuple[float, float]) -> ClaimAssessor:
    a = ClaimAssessor(scenario)
    t = scenario.at("02:10")
    a.observe(
        [kill(t + timedelta(minutes=5 * i), 20 + i, sw[0] + 0.01 * i, sw[1]) for i in range(3)]
    )
    a.observe([kill(scenario.at("02:20"), 30, 55.90, 37.62)])  # north, not in the claim's place
    return a


def test_kill_claim_confirmed(scenario: LoadedScenario, sw: tuple[float, float]) -> None:
    a = night_with_kills(scenario, sw)
    c = claim(
        scenario,
        "kill",
        count=3,
        when_from=scenario.at("02:00"),
        when_to=scenario.at("03:00"),
        where="south-west",
    )
    v = a.assess(c, scenario.at("03:30"))
    assert v.outcome == "confirmed"
    assert v.evidence == ("R20", "R21", "R22")


def test_kill_claim_contradicted_by_the_numbered_kills(
    scenario: LoadedScenario, sw: tuple[float, float]
) -> None:
    a = night_with_kills(scenario, sw)
    c = claim(
        scenario, "shot down", count=12, when_from=scenario.at("02:00"), when_to=scenario.at("03:00"),
        where="south-west", text="12 drones shot down over the south-west between 02:00 and 03:00",
    )  # fmt: skip
    early = a.assess(c, scenario.at("02:40"))  # the window is still open: so far 3 of 12
    assert early.outcome == "unconfirmed" and "3 of the 12" in early.reason
    v = a.assess(c, scenario.at("03:30"))
    assert v.outcome == "contradicted"
    assert v.evidence == ("R20", "R21", "R22") and "not 12" in v.reason
    fewer = claim(
        scenario,
        "kill",
        count=1,
        when_from=scenario.at("02:00"),
        when_to=scenario.at("03:00"),
        where="south-west",
    )
    assert (
        a.assess(fewer, scenario.at("02:40")).outcome == "contradicted"
    )  # more already in the log


def test_kill_claim_unconfirmed_when_the_log_has_nothing(
    scenario: LoadedScenario, sw: tuple[float, float]
) -> None:
    a = night_with_kills(scenario, sw)
    c = claim(
        scenario,
        "kill",
        count=2,
        when_from=scenario.at("00:10"),
        when_to=scenario.at("00:40"),
        where="Eastern district",
    )
    v = a.assess(c, scenario.at("03:30"))
    assert v.outcome == "unconfirmed" and v.evidence == ()
    unknown = claim(scenario, "kill", where="Atlantis")
    assert a.assess(unknown, scenario.at("03:30")).outcome == "unconfirmed"


def test_kill_claim_by_district_and_by_circle(scenario: LoadedScenario) -> None:
    a = ClaimAssessor(scenario)
    a.observe([kill(scenario.at("01:00"), 5, 55.7539, 37.6208)])
    by_name = claim(scenario, "kill", count=1, where="Центральный округ")
    assert a.assess(by_name, scenario.at("03:30")).evidence == ("R5",)
    by_circle = claim(
        scenario, "kill", lat=55.76, lon=37.62, radius_m=2000.0, when_from=scenario.at("01:05")
    )
    assert a.assess(by_circle, scenario.at("03:30")).outcome == "confirmed"


def test_airport_claims(scenario: LoadedScenario) -> None:
    a = ClaimAssessor(scenario)
    a.observe([
        AirportRestricted(t=scenario.at("00:50"), airport_id="VKO", reason="threat", track_ids=["T1"]),
        AirportLifted(t=scenario.at("01:30"), airport_id="VKO", restricted_since=scenario.at("00:50"), duration_s=2400.0),
    ])  # fmt: skip
    yes = claim(
        scenario,
        "airport_closed",
        when_from=scenario.at("01:00"),
        where="Vnukovo",
        text="Vnukovo closed at 01:00",
    )
    v = a.assess(yes, scenario.at("03:30"))
    assert v.outcome == "confirmed" and v.evidence[0].startswith("VKO@")
    no = claim(scenario, "airport_closed", when_from=scenario.at("01:00"), where="Domodedovo")
    assert a.assess(no, scenario.at("03:30")).outcome == "contradicted"
    later = claim(scenario, "airport_closed", when_from=scenario.at("02:45"), where="Vnukovo")
    assert a.assess(later, scenario.at("03:30")).outcome == "contradicted"  # it was lifted at 01:30
    assert a.assess(later, scenario.at("02:00")).outcome == "unconfirmed"  # not that time yet


def test_damage_claims(scenario: LoadedScenario) -> None:
    plant = next(z for z in scenario.spec.zones if z.id == "power_plant")
    assert plant.circle is not None
    t = scenario.at("01:10")
    hit = claim(
        scenario,
        "hit",
        where="Southern power plant",
        when_from=t,
        text="a drone hit the power plant",
    )
    a = ClaimAssessor(scenario)
    assert a.assess(hit, scenario.at("03:30")).outcome == "unconfirmed"  # nothing either way
    # a drone heading for the plant, destroyed 12 km away, debris predicted far from it
    a.observe([
        ThreatRaised(t=t - timedelta(minutes=5), incident_id="INC-T7", track_id="T7", level="high", zone_id="power_plant",
                     time_to_zone_s=300.0, p_entry=0.8, cpa_m=0.0, reasons=[]),
        kill(t, 7, 55.53, 37.86, toward="power_plant"),
        DebrisPredicted(t=t, site_id="S7", incident_id="INC-T7", kill_number=7, lat=55.53, lon=37.86,
                        polygon95=circle_ring(55.53, 37.86, 500.0), districts=[], zones=[], samples=100, fall_time_s=20.0),
    ])  # fmt: skip
    v = a.assess(hit, scenario.at("03:30"))
    assert v.outcome == "contradicted" and v.evidence == ("R7",)
    # another whose debris falls into the plant's zone
    a.observe([
        kill(t + timedelta(minutes=2), 8, plant.circle.lat + 0.01, plant.circle.lon, toward="power_plant"),
        DebrisPredicted(t=t + timedelta(minutes=2), site_id="S8", incident_id="INC-T8", kill_number=8,
                        lat=plant.circle.lat + 0.005, lon=plant.circle.lon,
                        polygon95=circle_ring(plant.circle.lat + 0.005, plant.circle.lon, 600.0),
                        districts=[], zones=["power_plant"], samples=100, fall_time_s=20.0),
    ])  # fmt: skip
    v = a.assess(hit, scenario.at("03:30"))
    assert v.outcome == "confirmed" and "S8" in v.evidence


def test_sighting_is_confirmed_or_unconfirmed_never_contradicted(scenario: LoadedScenario) -> None:
    a = ClaimAssessor(scenario)
    c = claim(scenario, "drone_sighting", where="Northern district", when_from=scenario.at("01:00"))
    assert a.assess(c, scenario.at("03:30")).outcome == "unconfirmed"
    a.observe(
        [TrackConfirmed(t=scenario.at("01:02"), track_id="T9", lat=55.85, lon=37.62, alt=300.0)]
    )
    v = a.assess(c, scenario.at("03:30"))
    assert v.outcome == "confirmed" and v.evidence == ("T9",)


def test_stage_reassesses_only_when_the_outcome_changes(
    scenario: LoadedScenario, sw: tuple[float, float]
) -> None:
    stage = DisclosureStage(scenario)
    now = scenario.at("02:00")
    c = ClaimRecorded(t=now, claim_id="CL-0001", source="Channel X", what="kill", count=2,
                      when_from=scenario.at("02:00"), when_to=scenario.at("02:30"), where="south-west")  # fmt: skip
    verdicts: list[ClaimAssessed] = []

    def step(*inputs: Event) -> None:
        nonlocal now
        now += timedelta(seconds=30)
        verdicts.extend(
            e for e in stage.step(now, [*inputs, Tick(t=now)]) if isinstance(e, ClaimAssessed)
        )

    step(c)
    step(kill(now, 1, *sw))
    step()
    step(kill(now, 2, *sw))
    for _ in range(5):
        step()
    step(KillRetracted(t=now, report_id="R2", number=2, reason="double report"))
    for _ in range(80):  # past the window's end: still one of two, now a contradiction
        step()
    assert [v.outcome for v in verdicts] == [
        "unconfirmed",
        "confirmed",
        "unconfirmed",
        "contradicted",
    ]
    assert verdicts[1].evidence == ["R1", "R2"]
    dup = stage.step(now + timedelta(seconds=30), [c])
    assert [type(e).__name__ for e in dup] == ["InputRefused"]


def test_malformed_claims_are_refused_not_assessed(scenario: LoadedScenario) -> None:
    stage = DisclosureStage(scenario)
    now = scenario.at("02:00")
    bad = [
        dict(when_from=scenario.at("03:00"), when_to=scenario.at("02:00")),
        dict(count=-1),
        dict(lat=55.7),
        dict(lat=95.0, lon=37.6),
        dict(lat=55.7, lon=37.6, radius_m=float("nan")),
    ]
    claims = [
        ClaimRecorded(t=now, claim_id=f"CL-{i:04d}", source="X", what="kill", **kw)  # type: ignore[arg-type]
        for i, kw in enumerate(bad, start=1)
    ]
    out = stage.step(now, [*claims, Tick(t=now)])
    assert [type(e).__name__ for e in out] == ["InputRefused"] * len(bad)
    assert [e.ref for e in out] == [c.claim_id for c in claims]  # type: ignore[attr-defined]
