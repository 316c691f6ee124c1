"""Property: whatever the incidents and the policy, no published text holds a withheld field.

Hypothesis generates nights (kills with positions, units, effectors; sensors in the scenario and
in the log; kill times with seconds) and policies (place mode, distance bands, time rounding,
release delay, decimals, approvers), plays them through the stage with officers who approve
every draft (and sometimes try an edit that leaks), and checks every ``StatementPublished``
with its own reading of the text, not with the policy's ``check``.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from skywarden.disclosure.policy import PolicyRules, load_rules
from skywarden.disclosure.stage import DisclosureConfig, DisclosureStage
from skywarden.events import (
    AirportLifted,
    AirportRestricted,
    CrewStatusChanged,
    DebrisPredicted,
    Event,
    InputRefused,
    KillNumbered,
    KillReported,
    PositionPlots,
    StatementApproved,
    StatementDrafted,
    StatementEdited,
    StatementPublished,
    Tick,
)
from skywarden.scenario import LoadedScenario
from skywarden.scenario.model import Sensor

# names that cannot occur in a template by chance, so any occurrence is a leak
NAME = st.from_regex(r"\A[A-Z][a-z]{2,6}-[0-9]{1,3}[A-Z]?\Z")
RU_NAME = st.from_regex(r"\A[А-Я][а-я]{2,6}-[0-9]{1,3}\Z")


@st.composite
def policies(draw: st.DrawFn) -> PolicyRules:
    raw = msgspec.to_builtins(load_rules())
    edges = sorted(draw(st.sets(st.integers(1, 150), min_size=1, max_size=6)))
    raw["place"] = {
        "mode": draw(st.sampled_from(["district", "direction", "city"])),
        "distance_bands_km": [0.0, *map(float, edges)],
        "max_decimals": draw(st.integers(0, 2)),
    }
    raw["time"] = {
        "round_min": draw(st.sampled_from([1, 2, 5, 10, 15, 30])),
        "release_delay_s": draw(st.sampled_from([0.0, 60.0, 600.0, 1800.0])),
        "delay_by_topic": draw(
            st.dictionaries(
                st.sampled_from(["kills", "airport_restricted", "recovered"]),
                st.sampled_from([0.0, 300.0, 1200.0]),
            )
        ),
    }
    raw["approval"]["approvers"] = draw(st.integers(1, 2))
    return msgspec.convert(raw, PolicyRules)


@st.composite
def nights(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(1, 8))
    kills = [
        {
            "offset_s": draw(st.floats(0.0, 3600.0, allow_nan=False)),
            "lat": draw(st.floats(55.2, 56.3, allow_nan=False)),
            "lon": draw(st.floats(36.9, 38.4, allow_nan=False)),
            "unit": draw(st.one_of(NAME, RU_NAME)),
            "effector": draw(st.one_of(NAME, RU_NAME)),
            "recovered_after_s": draw(st.one_of(st.none(), st.floats(60.0, 2400.0))),
        }
        for _ in range(n)
    ]
    airport_events = draw(
        st.lists(
            st.tuples(st.floats(0.0, 3600.0), st.sampled_from(["SVO", "VKO", "DME", "ZIA"])),
            max_size=6,
        )
    )
    return {
        "kills": sorted(kills, key=lambda k: k["offset_s"]),
        "sensors": draw(st.lists(NAME, min_size=1, max_size=3, unique=True)),
        "mobile": draw(NAME),
        "batch_s": draw(st.sampled_from([60.0, 180.0, 600.0])),
        "leaky_edit": draw(st.booleans()),
        "airports": sorted(airport_events),
    }


def _scenario_with(scenario: LoadedScenario, names: list[str]) -> LoadedScenario:
    c = scenario.spec.city
    sensors = [
        Sensor(
            id=f"s-{name.lower()}",
            kind="radar",
            name=name,
            lat=c.lat + 0.1,
            lon=c.lon,
            range_m=50_000.0,
        )
        for name in names
    ]
    spec = msgspec.structs.replace(scenario.spec, sensors=sensors)
    return dataclasses.replace(scenario, spec=spec)


TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(:\d{2})?")
DECIMAL_RE = re.compile(r"\d+[.,](\d+)")
KM_RE = re.compile(r"(\d+)(?:[-–](\d+))? км|(\d+)(?:-(\d+))? km")


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rules=policies(), night=nights())
def test_no_published_text_holds_a_withheld_field(
    scenario: LoadedScenario, rules: PolicyRules, night: dict[str, object]
) -> None:
    sc = _scenario_with(scenario, night["sensors"])  # type: ignore[arg-type]
    stage = DisclosureStage(sc, DisclosureConfig(policy=rules, batch_window_s=night["batch_s"]))  # type: ignore[arg-type]
    t0 = sc.at("01:00")
    inputs: list[Event] = []
    secrets: list[str] = [
        *night["sensors"],
        *(f"s-{s.lower()}" for s in night["sensors"]),
        night["mobile"],
    ]  # type: ignore[misc]
    for i, k in enumerate(night["kills"], start=1):  # type: ignore[arg-type]
        t = t0 + timedelta(seconds=k["offset_s"])
        inputs.append(
            KillReported(
                t=t,
                report_id=f"R{i}",
                lat=k["lat"],
                lon=k["lon"],
                unit=k["unit"],
                effector=k["effector"],
            )
        )
        inputs.append(
            PositionPlots(
                t=t,
                sensor_id=night["mobile"],
                lat=[k["lat"]],
                lon=[k["lon"]],
                alt=[0.0],
                sigma_m=[50.0],
            )
        )  # type: ignore[arg-type]
        inputs.append(KillNumbered(t=t, report_id=f"R{i}", number=i, day_number=i, local_time="", incident_id=f"INC-R{i}",
                                   track_id=None, matched_by="unmatched", lat=k["lat"], lon=k["lon"], alt=0.0))  # fmt: skip
        secrets += [k["unit"], k["effector"]]
        if k["recovered_after_s"] is not None:
            site = f"S{i}"
            inputs.append(
                DebrisPredicted(
                    t=t,
                    site_id=site,
                    incident_id=f"INC-R{i}",
                    kill_number=i,
                    lat=k["lat"],
                    lon=k["lon"],
                    polygon95=[],
                    districts=[],
                    zones=[],
                    samples=1,
                    fall_time_s=20.0,
                )
            )
            inputs.append(CrewStatusChanged(t=t + timedelta(seconds=k["recovered_after_s"]), crew_id="fire-1",
                                            site_id=site, incident_id=f"INC-R{i}", status="wreckage_recovered"))  # fmt: skip
    restricted: dict[str, bool] = {}
    for offset, aid in night["airports"]:  # type: ignore[attr-defined]
        t = t0 + timedelta(seconds=offset)
        if restricted.get(aid):  # alternate: restricted, lifted, restricted...
            inputs.append(AirportLifted(t=t, airport_id=aid, restricted_since=t, duration_s=0.0))
        else:
            inputs.append(AirportRestricted(t=t, airport_id=aid, reason="", track_ids=[]))
        restricted[aid] = not restricted.get(aid)
    drafts: dict[str, StatementDrafted] = {}
    published: list[StatementPublished] = []
    refused: list[InputRefused] = []
    officers_turn: list[Event] = []
    now, end = t0 - timedelta(seconds=20), t0 + timedelta(hours=4)  # the summary included
    leaked_edit_sent = False
    inputs.sort(key=lambda e: e.t)
    while now < end:
        now += timedelta(seconds=20)
        batch = [e for e in inputs if now - timedelta(seconds=20) < e.t <= now] + officers_turn
        officers_turn = []
        out = stage.step(now, [*batch, Tick(t=now)])
        for e in out:
            if isinstance(e, StatementDrafted):
                drafts[e.statement_id] = e
                if night["leaky_edit"] and not leaked_edit_sent:
                    leaked_edit_sent = True
                    k = night["kills"][0]  # type: ignore[index]
                    officers_turn.append(StatementEdited(
                        t=now, statement_id=e.statement_id, editor="press-1", role="editor",
                        text_en=f"Shot down by {k['unit']} with {k['effector']} at {k['lat']:.4f}, {k['lon']:.4f}",
                        text_ru=f"Сбит в {t0 + timedelta(seconds=k['offset_s']):%H:%M:%S}",
                    ))  # fmt: skip
                for officer in ["duty-1", "duty-2"][: e.approvals_needed]:
                    officers_turn.append(
                        StatementApproved(
                            t=now, statement_id=e.statement_id, officer=officer, role="publisher"
                        )
                    )
            elif isinstance(e, StatementPublished):
                published.append(e)
            elif isinstance(e, InputRefused):
                refused.append(e)
    assert published, "every approved statement is published within the night"
    assert len(published) == len(drafts)
    if night["leaky_edit"]:
        assert any(r.input_kind == "statement_edited" for r in refused)
    round_min = rules.time.round_min
    maxd = rules.place.max_decimals
    edges = {int(e) for e in rules.place.distance_bands_km}
    for p in published:
        d = drafts[p.statement_id]
        event(f"published {d.topic}")
        assert len(set(p.approved_by)) == len(p.approved_by) >= d.approvals_needed
        assert d.event_time is not None and p.t >= d.event_time + timedelta(
            seconds=rules.time.delay_by_topic.get(d.topic, rules.time.release_delay_s)
        )
        for text in (p.text_en, p.text_ru):
            low = text.casefold()
            for s in secrets:
                assert s.casefold() not in low, f"{s!r} published in {text!r}"
            for m in TIME_RE.finditer(text):
                assert m.group(3) is None, f"seconds published: {text!r}"
                assert int(m.group(2)) % round_min == 0, (
                    f"time finer than {round_min} min: {text!r}"
                )
            for m in DECIMAL_RE.finditer(text):
                assert len(m.group(1)) <= maxd, f"coordinate finer than allowed: {text!r}"
            for m in KM_RE.finditer(text):
                for g in m.groups():
                    assert g is None or int(g) in edges, f"distance not a policy band: {text!r}"
            assert "in the air" not in low and "в воздухе" not in low


# ------------------------------------------------------------------ redaction of any text

WORD = st.sampled_from(
    ["the", "drone", "over", "Area:", "беспилотник", "над", "km", "20-30", "at", ",", ".", "(", ")"]
)


@st.composite
def leaky_texts(draw: st.DrawFn) -> tuple[str, list[str], int, int]:
    """Free text (an officer's, an alert's) with withheld things spliced in at random."""
    round_min = draw(st.sampled_from([1, 5, 10, 15]))
    maxd = draw(st.integers(0, 2))
    secrets: list[str] = []
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["word", "term", "coord", "pair", "time", "dms"]))
        if kind == "word":
            parts.append(draw(WORD))
            continue
        if kind == "term":
            s = draw(NAME)
        elif kind == "coord":
            lat = draw(st.floats(-90, 90, allow_nan=False))
            sep = draw(st.sampled_from([".", ","]))
            s = f"{lat:.{maxd + 1 + draw(st.integers(0, 4))}f}".replace(".", sep)
        elif kind == "pair":
            a, b = draw(st.floats(0, 90)), draw(st.floats(0, 180))
            s = f"{a:.{maxd + 2}f}{draw(st.sampled_from([',', ', ', ';', ' ']))}{b:.{maxd + 2}f}"
        elif kind == "time":
            s = f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}"
        else:
            s = f"{draw(st.integers(0, 89))}°{draw(st.integers(0, 59))}′"
        secrets.append(s)
        parts.append(s)
    glue = draw(st.sampled_from([" ", "  ", "\n", " , ", " («", "» "]))
    return glue.join(parts), secrets, round_min, maxd


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=leaky_texts())
def test_redact_removes_whatever_is_spliced_into_a_text(
    scenario: LoadedScenario, case: tuple[str, list[str], int, int]
) -> None:
    from skywarden.disclosure.policy import DisclosurePolicy

    text, secrets, round_min, maxd = case
    raw = msgspec.to_builtins(load_rules())
    raw["time"]["round_min"] = round_min
    raw["place"]["max_decimals"] = maxd
    policy = DisclosurePolicy(msgspec.convert(raw, PolicyRules), scenario)
    for s in secrets:
        if re.fullmatch(r"[A-Za-z]\w+-\w+", s):
            policy.add_term(s, "unit")
    for lang in ("en", "ru"):
        clean, _ = policy.redact(text, lang)  # type: ignore[arg-type]
        assert policy.check(clean) == []
        for m in TIME_RE.finditer(clean):
            assert m.group(3) is None and int(m.group(2)) % round_min == 0, clean
        for m in DECIMAL_RE.finditer(clean):
            assert len(m.group(1)) <= maxd, clean
        assert "°" not in clean or not re.search(r"°\d", clean), clean
        for s in secrets:
            if re.fullmatch(r"[A-Za-z]\w+-\w+", s):
                assert s.casefold() not in clean.casefold(), (s, clean)
