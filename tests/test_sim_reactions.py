"""Simulated crews and officers react to what the stages derive."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import msgspec
import pytest

from skywarden.events import CrewDispatched, CrewReported, StatementApproved, StatementDrafted
from skywarden.geo import distance_m
from skywarden.scenario.sim import SimConfig, Simulator


@pytest.fixture(scope="module")
def quiet(scenario):
    """The night without sensors: only the command, the crews and the officers speak."""
    return dataclasses.replace(scenario, spec=msgspec.structs.replace(scenario.spec, sensors=[]))


def _only(events, cls):
    return [e for e in events if isinstance(e, cls)]


def _dispatch(scenario, t, crew="fire-1", site="SITE-1", eta=600.0):
    st = next(s for s in scenario.spec.stations if any(c.id == crew for c in s.crews))
    return CrewDispatched(
        t=t,
        crew_id=crew,
        site_id=site,
        incident_id="INC-X",
        crew_kind="fire",
        eta_s=eta,
        distance_m=8_000.0,
        method="straight_line",
        route=[(st.lat, st.lon), (st.lat + 0.03, st.lon + 0.05), (st.lat + 0.06, st.lon + 0.05)],
    )


def test_a_crew_reports_its_way_through_the_job(quiet):
    scenario = quiet
    cfg = SimConfig()
    sim = Simulator(scenario, config=cfg)
    t = scenario.at("00:30")
    sim.poll(t)
    d = _dispatch(scenario, t, eta=600.0)
    sim.observe([d])
    reps = _only(sim.run(until=scenario.at("02:30")), CrewReported)
    assert [r.status for r in reps] == ["en_route", "on_site", "wreckage_recovered", "site_closed"]
    en, on, rec, closed = (r.t for r in reps)
    assert t < en <= t + timedelta(seconds=cfg.crew_ack_s[1])
    assert reps[0].eta_s == pytest.approx((on - en).total_seconds(), abs=0.1)
    assert 0.9 * 600 <= (on - t).total_seconds() <= 1.25 * 600 + 1
    assert 20 * 60 <= (rec - on).total_seconds() <= 45 * 60
    assert 5 * 60 <= (closed - rec).total_seconds() <= 15 * 60
    assert all(r.crew_id == "fire-1" and r.site_id == "SITE-1" for r in reps)
    # the crew drives its route: at the station before, half-way-ish between, at the site after
    route = d.route
    assert sim.crews.position("fire-1", t - timedelta(seconds=1)) == route[0]
    mid = sim.crews.position("fire-1", en + (on - en) / 2)
    assert distance_m(*mid, *route[0]) > 1_000 and distance_m(*mid, *route[-1]) > 1_000
    assert sim.truth.crew_position("fire-1", en + (on - en) / 2) == mid
    end = sim.crews.position("fire-1", rec)
    assert distance_m(*end, *route[-1]) < 1.0
    assert sim.crews.busy_at(on) == ["fire-1"] and sim.crews.busy_at(closed) == []


def test_reports_are_never_emitted_into_a_window_already_polled(quiet):
    scenario = quiet
    sim = Simulator(scenario)
    now = scenario.at("00:30")
    sim.poll(now)
    # a dispatch stamped earlier than the last poll (a stage's event time lags the clock)
    sim.observe([_dispatch(scenario, now - timedelta(seconds=30), eta=5.0)])
    reps = _only(sim.poll(now + timedelta(minutes=5)), CrewReported)
    assert [r.status for r in reps] == ["en_route", "on_site"]
    assert all(r.t > now for r in reps)


def test_redispatch_cancels_the_old_job_and_unknown_crews_are_ignored(quiet):
    scenario = quiet
    sim = Simulator(scenario)
    t = scenario.at("00:30")
    sim.poll(t)
    sim.observe([_dispatch(scenario, t, site="A", eta=900.0)])
    sim.poll(t + timedelta(minutes=2))
    sim.observe([_dispatch(scenario, t + timedelta(minutes=2), site="B", eta=300.0)])
    ghost = msgspec.structs.replace(_dispatch(scenario, t, site="C"), crew_id="ghost-9")
    sim.observe([ghost])
    reps = _only(sim.run(until=scenario.at("03:00")), CrewReported)
    assert {r.site_id for r in reps if r.status != "en_route"} == {"B"}
    assert [r.status for r in reps if r.site_id == "B"][-1] == "site_closed"
    assert not any(r.crew_id == "ghost-9" for r in reps)
    assert sim.crews.ignored == ["ghost-9: no such crew in the scenario"]


def test_publishers_approve_drafts(quiet):
    scenario = quiet
    sim = Simulator(scenario)
    t = scenario.at("00:40")
    sim.poll(t)
    pubs = [o for o in scenario.spec.officers if o.role == "publisher"]
    assert len(pubs) >= 2
    draft = StatementDrafted(
        t=t, statement_id="ST-1", topic="kills", text_en="x", text_ru="x", approvals_needed=2
    )
    one = StatementDrafted(
        t=t, statement_id="ST-2", topic="kills", text_en="y", text_ru="y", approvals_needed=1
    )
    sim.observe([draft, one, draft])  # the repeat is not approved twice
    aps = _only(sim.run(until=scenario.at("00:50")), StatementApproved)
    st1 = [a for a in aps if a.statement_id == "ST-1"]
    st2 = [a for a in aps if a.statement_id == "ST-2"]
    assert [a.officer for a in st1] == [pubs[0].id, pubs[1].id]
    assert all(a.role == "publisher" for a in aps)
    assert [(a.t - t).total_seconds() for a in st1] == [pubs[0].approve_delay_s, pubs[1].approve_delay_s]
    assert [a.officer for a in st2] == [pubs[0].id]
    editors = {o.id for o in scenario.spec.officers if o.role != "publisher"}
    assert not any(a.officer in editors for a in aps)


def test_other_derived_events_are_ignored(scenario):
    sim = Simulator(scenario)
    t = scenario.at("00:10")
    a = sim.poll(t)
    sim.observe(a)  # inputs and anything else: no reaction
    ref = Simulator(scenario)
    ref.poll(t)
    assert sim.poll(scenario.at("00:20")) == ref.poll(scenario.at("00:20"))


def test_scripted_claims_are_recorded_at_their_time(scenario):
    from skywarden.events import ClaimRecorded

    sim = Simulator(scenario)
    claims = [e for e in sim.run(step_s=30.0, until=scenario.at("02:30")) if isinstance(e, ClaimRecorded)]
    wanted = sorted(
        (c for c in scenario.spec.claims if scenario.at(c.at) <= scenario.at("02:30")), key=lambda c: scenario.at(c.at)
    )
    assert [c.claim_id for c in claims] == [c.id for c in wanted]
    for ev, spec in zip(claims, wanted, strict=True):
        assert ev.t == scenario.at(spec.at) and ev.source == spec.source and ev.what == spec.what


def test_publishers_name_the_text_they_approve(quiet):
    from skywarden.disclosure.binding import text_sha256

    sim = Simulator(quiet)
    t = quiet.at("00:40")
    sim.poll(t)
    sim.observe([StatementDrafted(t=t, statement_id="ST-1", topic="kills", text_en="en", text_ru="ру", approvals_needed=1)])
    (ap,) = _only(sim.run(until=quiet.at("00:50")), StatementApproved)
    assert ap.text_sha256 == text_sha256("en", "ру")
