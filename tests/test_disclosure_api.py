"""The disclosure package's public API is pinned; the stage fits the Stage protocol and replays."""

from __future__ import annotations

from datetime import timedelta

import skywarden.disclosure as disclosure
from skywarden.disclosure import DisclosureStage
from skywarden.events import (
    AirportLifted,
    AirportRestricted,
    ClaimRecorded,
    CrewStatusChanged,
    DebrisPredicted,
    Event,
    KillNumbered,
    KillReported,
    KillRetracted,
    StatementApproved,
    StatementDrafted,
    Tick,
    decode,
    encode,
)
from skywarden.scenario import LoadedScenario
from skywarden.stage import Stage


def test_public_api_is_pinned() -> None:
    assert sorted(disclosure.__all__) == sorted([
        "TEMPLATES", "TRANSITIONS", "ApprovalRules", "Assessment", "ClaimAssessor", "ClaimsConfig",
        "DisclosureConfig", "DisclosurePolicy", "DisclosureStage", "Draft", "Place", "PlaceRules",
        "PolicyRules", "Public", "Statement", "StatementState", "TimeRules", "Violation",
        "WithholdRules", "default_policy_path", "load_rules", "replay_statements",
    ])  # fmt: skip
    for name in disclosure.__all__:
        assert hasattr(disclosure, name)


def _inputs(scenario: LoadedScenario) -> dict[int, list[Event]]:
    t = scenario.at("01:00")
    ev: dict[int, list[Event]] = {}
    for i in range(1, 7):
        k = t + timedelta(seconds=40 * i)
        lat, lon = 55.6 + 0.02 * i, 37.4 + 0.05 * i
        ev.setdefault(40 * i, []).extend([
            KillReported(t=k, report_id=f"R{i}", lat=lat, lon=lon, unit="U-1", effector="E-1"),
            KillNumbered(t=k, report_id=f"R{i}", number=i, day_number=i, local_time="", incident_id=f"INC-R{i}",
                         track_id=None, matched_by="unmatched", lat=lat, lon=lon, alt=0.0),
            DebrisPredicted(t=k, site_id=f"S{i}", incident_id=f"INC-R{i}", kill_number=i, lat=lat, lon=lon,
                            polygon95=[], districts=[], zones=[], samples=10, fall_time_s=20.0),
        ])  # fmt: skip
    ev.setdefault(100, []).append(
        AirportRestricted(t=t + timedelta(seconds=100), airport_id="VKO", reason="", track_ids=[])
    )
    ev.setdefault(150, []).append(
        KillRetracted(t=t + timedelta(seconds=150), report_id="R3", number=3, reason="dup")
    )
    ev.setdefault(900, []).append(CrewStatusChanged(t=t + timedelta(seconds=900), crew_id="fire-1", site_id="S1",
                                                    incident_id="INC-R1", status="wreckage_recovered"))  # fmt: skip
    ev.setdefault(1500, []).append(AirportLifted(t=t + timedelta(seconds=1500), airport_id="VKO",
                                                 restricted_since=t, duration_s=1400.0))  # fmt: skip
    ev.setdefault(60, []).append(ClaimRecorded(t=t + timedelta(seconds=60), claim_id="CL-0001", source="X", what="kill",
                                               count=5, when_from=t, when_to=t + timedelta(minutes=10)))  # fmt: skip
    return ev


def _play(scenario: LoadedScenario) -> list[bytes]:
    stage = DisclosureStage(scenario)
    assert isinstance(stage, Stage) and stage.name == "disclosure"
    inputs = _inputs(scenario)
    t0 = scenario.at("01:00")
    derived: list[Event] = []
    log: list[bytes] = []
    for s in range(0, 2400, 10):
        now = t0 + timedelta(seconds=s)
        tick_in: list[Event] = [e for k in range(s - 9, s + 1) for e in inputs.get(k, [])]
        tick_in += [StatementApproved(t=now, statement_id=d.statement_id, officer="duty-1", role="publisher")
                    for d in derived if isinstance(d, StatementDrafted)]  # fmt: skip
        derived = stage.step(now, [*tick_in, Tick(t=now)])
        log += [encode(e) for e in derived]
    return log


def test_replay_gives_the_same_derived_events(scenario: LoadedScenario) -> None:
    first, second = _play(scenario), _play(scenario)
    assert first == second
    kinds = [decode(b).__struct_config__.tag for b in first]
    for k in ("statement_drafted", "statement_published", "claim_assessed"):
        assert k in kinds
    texts = [decode(b) for b in first]
    drafted = [e for e in texts if isinstance(e, StatementDrafted)]
    assert [d.statement_id for d in drafted] == [f"ST-{i:04d}" for i in range(1, len(drafted) + 1)]
    topics = [d.topic for d in drafted]
    assert (
        topics.count("kills") >= 2 and "airport_restricted" in topics and "airport_lifted" in topics
    )
    assert "recovered" in topics
    # the retracted 3rd kill is not in any kills statement drafted after the retraction
    assert all(
        "R3" not in d.about for d in drafted if d.t >= scenario.at("01:00") + timedelta(seconds=150)
    )
