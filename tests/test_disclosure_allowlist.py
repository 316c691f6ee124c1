"""Disclosure by allowlist: an edit says only what its statement's facts allow.

The table tests/data/disclosure_edits.toml holds the rewordings that got withheld facts past the
old blocklist (units, equipment, homoglyphs, invisible characters, coordinates, exact times,
airborne counts, places, numbers in words) and ordinary edits that must pass; the composed table
tests/data/disclosure_edits_composed.toml (tools/make_disclosure_corpus.py) crosses every withheld
fact with every disguise. Each is played through the stage as an officer's edit of a kill
statement.
"""

from __future__ import annotations

import importlib.util
import time
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.disclosure.allowlist import Allowlist, Facts, Vocabulary, facts_of
from skywarden.disclosure.binding import text_sha256
from skywarden.disclosure.policy import DisclosurePolicy, PolicyRules, load_rules
from skywarden.disclosure.stage import DisclosureConfig, DisclosureStage, replay_statements
from skywarden.events import (
    AirportLifted,
    AirportRestricted,
    CrewDispatched,
    CrewStatusChanged,
    DebrisPredicted,
    Event,
    InputRefused,
    KillNumbered,
    KillReported,
    KillRetracted,
    StatementApproved,
    StatementDrafted,
    StatementEdited,
    StatementFlagged,
    StatementPublished,
    Tick,
)
from skywarden.scenario import LoadedScenario

DATA = Path(__file__).parent / "data"
TABLE = tomllib.loads((DATA / "disclosure_edits.toml").read_text("utf-8"))
COMPOSED = tomllib.loads((DATA / "disclosure_edits_composed.toml").read_text("utf-8"))
BYPASSES: list[dict[str, Any]] = TABLE["bypass"]
COMPOSED_BYPASSES: list[dict[str, Any]] = COMPOSED["bypass"]
SAFE: list[dict[str, Any]] = TABLE["safe"]


class KillNight:
    """A stage that has drafted the 31st kill (03:10:27 local, Central district, a crew sent)."""

    def __init__(self, scenario: LoadedScenario, reported: bool = False, rules: PolicyRules | None = None) -> None:
        self.stage = DisclosureStage(scenario, DisclosureConfig(batch_window_s=60.0, policy=rules))
        self.now = scenario.at("03:10") + timedelta(seconds=27)
        self.out: list[Event] = []
        self.played: list[tuple[list[Event], datetime]] = []
        inputs: list[Event] = []
        if reported:
            inputs.append(
                KillReported(
                    t=self.now, report_id="R31", lat=55.75, lon=37.62, alt=0.0,
                    unit="AD regiment 2, battery 3", effector="short-range SAM",
                )  # fmt: skip
            )
        k = KillNumbered(t=self.now, report_id="R31", number=31, day_number=31, local_time="03:10",
                         incident_id="INC-R31", track_id=None, matched_by="unmatched",
                         lat=55.75, lon=37.62, alt=0.0)  # fmt: skip
        self.step(*inputs, k, _dispatched(self.now, "INC-R31", "S31"))
        for _ in range(8):
            self.step()
        (self.draft,) = [e for e in self.out if isinstance(e, StatementDrafted)]

    def step(self, *inputs: Event, s: float = 10.0) -> list[Event]:
        self.now += timedelta(seconds=s)
        got = self.stage.step(self.now, [*inputs, Tick(t=self.now)])
        self.out += got
        self.played.append(([*inputs, Tick(t=self.now), *got], self.now))
        return got

    def ticks(self) -> list[tuple[list[Event], datetime]]:
        """Each tick as the runtime would log it: its inputs, the tick, what the stage made."""
        return self.played

    def log(self) -> list[Event]:
        return [e for batch, _ in self.played for e in batch]

    def edit(self, lang: str, text: str) -> list[Event]:
        en = text if lang == "en" else self.draft.text_en
        ru = text if lang == "ru" else self.draft.text_ru
        return self.step(StatementEdited(t=self.now, statement_id=self.draft.statement_id,
                                         editor="press-1", role="editor", text_en=en, text_ru=ru))  # fmt: skip


def _dispatched(t: datetime, incident: str, site: str) -> CrewDispatched:
    return CrewDispatched(t=t, crew_id="fire-1", site_id=site, incident_id=incident, crew_kind="fire",
                          eta_s=300.0, distance_m=4000.0, method="road", route=[])  # fmt: skip


def refusals(events: list[Event]) -> list[InputRefused]:
    return [e for e in events if isinstance(e, InputRefused)]


def test_the_table_has_the_issues_bypasses_and_safe_edits() -> None:
    assert len(BYPASSES) >= 50 and len(SAFE) >= 50
    kinds = {b["kind"] for b in BYPASSES}
    assert kinds >= {"unit", "equipment", "term", "coordinate", "time", "airborne", "number", "place", "word"}
    assert len(BYPASSES) + len(COMPOSED_BYPASSES) >= 300
    assert {b["lang"] for b in COMPOSED_BYPASSES} == {"en", "ru"}


def test_the_composed_table_is_what_its_tool_writes() -> None:
    tool = Path(__file__).parent.parent / "tools" / "make_disclosure_corpus.py"
    spec = importlib.util.spec_from_file_location("make_disclosure_corpus", tool)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    texts = {(c["lang"], c["text"]) for c in module.cases()}
    assert texts == {(c["lang"], c["text"]) for c in COMPOSED_BYPASSES}


@pytest.mark.parametrize("case", COMPOSED_BYPASSES, ids=[b["what"] for b in COMPOSED_BYPASSES])
def test_every_composed_bypass_is_refused(scenario: LoadedScenario, case: dict[str, Any]) -> None:
    night = KillNight(scenario)
    (r,) = refusals(night.edit(case["lang"], case["text"]))
    assert r.ref == night.draft.statement_id
    assert any(f"{k}(" in r.reason for k in [case["kind"], *case["also"]]), r.reason
    assert night.stage.statements[night.draft.statement_id].text_en == night.draft.text_en


@pytest.mark.parametrize("case", BYPASSES, ids=[b["what"] for b in BYPASSES])
def test_every_bypass_is_refused_with_its_span(scenario: LoadedScenario, case: dict[str, Any]) -> None:
    night = KillNight(scenario, reported=case.get("reported", False))
    (r,) = refusals(night.edit(case["lang"], case["text"]))
    assert r.ref == night.draft.statement_id
    lang = case["lang"]
    assert f"{lang}[" in r.reason and f"{case['kind']}(" in r.reason, r.reason
    # the spans name offsets of the text as typed, and the reason never repeats the text
    spans = [p.split("]")[0] for p in r.reason.split(f"{lang}[")[1:]]
    for span in spans:
        a, b = (int(x) for x in span.split(":"))
        assert 0 <= a < b <= len(case["text"])
    assert night.stage.statements[night.draft.statement_id].text_en == night.draft.text_en


@pytest.mark.parametrize("case", SAFE, ids=[s["what"] for s in SAFE])
def test_every_safe_edit_passes(scenario: LoadedScenario, case: dict[str, Any]) -> None:
    night = KillNight(scenario)
    assert refusals(night.edit(case["lang"], case["text"])) == []
    st = night.stage.statements[night.draft.statement_id]
    assert (st.text_en if case["lang"] == "en" else st.text_ru) == case["text"]


@pytest.mark.parametrize("case", SAFE, ids=[s["what"] for s in SAFE])
def test_every_safe_edit_with_its_other_language_is_published_as_written(
    scenario: LoadedScenario, case: dict[str, Any]
) -> None:
    night = KillNight(scenario)
    en, ru = (case["text"], case["other"]) if case["lang"] == "en" else (case["other"], case["text"])
    got = night.step(StatementEdited(t=night.now, statement_id=night.draft.statement_id, editor="press-1",
                                     role="editor", text_en=en, text_ru=ru))  # fmt: skip
    assert refusals(got) == []
    got = night.step(StatementApproved(t=night.now, statement_id=night.draft.statement_id, officer="duty-1",
                                       role="publisher", text_sha256=text_sha256(en, ru)))  # fmt: skip
    assert refusals(got) == []
    (pub,) = [e for e in night.out if isinstance(e, StatementPublished)]
    assert (pub.text_en, pub.text_ru) == (en, ru)


def test_an_edit_of_one_language_is_not_approved_until_the_other_says_the_same(scenario: LoadedScenario) -> None:
    night = KillNight(scenario)
    sid = night.draft.statement_id
    assert refusals(night.edit("en", "Stay indoors while drones may still be in the air.")) == []
    st = night.stage.statements[sid]
    (r,) = refusals(night.step(StatementApproved(t=night.now, statement_id=sid, officer="duty-1", role="publisher",
                                                 text_sha256=text_sha256(st.text_en, st.text_ru))))  # fmt: skip
    assert "do not state the same facts" in r.reason and "numbers (en 0, ru 1)" in r.reason
    assert "times (en 0, ru 1)" in r.reason and "places (en 0, ru 1)" in r.reason
    assert [e for e in night.out if isinstance(e, StatementPublished)] == []


def test_policy_terms_hold_from_the_start_of_the_night(scenario: LoadedScenario) -> None:
    night = KillNight(scenario)  # nothing reported yet: the policy file's terms already apply
    (r,) = refusals(night.edit("en", "03:10. Pantsyr destroyed the 31st drone."))
    assert "term(term)" in r.reason


def test_a_64_kb_edit_is_refused_unread_in_milliseconds(scenario: LoadedScenario) -> None:
    night = KillNight(scenario)
    huge = ("Pan\u200btsir 55º45′04″ " * 4000)[: 64 * 1024]
    t0 = time.perf_counter()
    (r,) = refusals(night.edit("en", huge))
    elapsed = time.perf_counter() - t0
    assert "length(longer than 2000 characters)" in r.reason
    assert elapsed < 0.05, f"{elapsed * 1000:.1f} ms"


def test_the_length_cap_is_a_policy_setting(scenario: LoadedScenario) -> None:
    raw = msgspec.to_builtins(load_rules())
    raw["edit"]["max_chars"] = 40
    night = KillNight(scenario, rules=msgspec.convert(raw, PolicyRules))
    (r,) = refusals(night.edit("en", "Stay indoors while drones may still be in the air."))
    assert "en[40:50] length" in r.reason


# ---------------------------------------------------------------- the drafts pass their own check


def _kill(t: datetime, n: int, lat: float, lon: float) -> KillNumbered:
    return KillNumbered(t=t, report_id=f"R{n}", number=n, day_number=n, local_time="", incident_id=f"INC-R{n}",
                        track_id=None, matched_by="unmatched", lat=lat, lon=lon, alt=0.0)  # fmt: skip


@pytest.mark.parametrize("mode", ["district", "direction", "city"])
def test_every_draft_of_a_night_passes_its_own_allowlist(scenario: LoadedScenario, mode: str) -> None:
    raw = msgspec.to_builtins(load_rules())
    raw["place"]["mode"] = mode
    stage = DisclosureStage(scenario, DisclosureConfig(policy=msgspec.convert(raw, PolicyRules), batch_window_s=60.0))
    now = scenario.at("00:30")
    points = [(55.75, 37.62), (55.86, 37.55), (55.60, 37.70), (55.45, 37.30), (56.10, 38.20), (55.70, 37.40)]
    drafted: list[StatementDrafted] = []

    def step(*inputs: Event) -> None:
        nonlocal now
        now += timedelta(seconds=20)
        drafted.extend(e for e in stage.step(now, [*inputs, Tick(t=now)]) if isinstance(e, StatementDrafted))

    n = 0
    for wave in range(4):
        for j in range(1 + wave * 3):
            lat, lon = points[(n + j) % len(points)]
            n += 1
            step(_kill(now, n, lat, lon), DebrisPredicted(t=now, site_id=f"S{n}", incident_id=f"INC-R{n}", kill_number=n,
                                                         lat=lat, lon=lon, polygon95=[], districts=[], zones=[],
                                                         samples=1, fall_time_s=10.0))  # fmt: skip
        step(AirportRestricted(t=now, airport_id="VKO", reason="", track_ids=[]), _dispatched(now, f"INC-R{n}", f"S{n}"))
        for _ in range(6):
            step()
        step(AirportLifted(t=now, airport_id="VKO", restricted_since=now, duration_s=0.0),
             CrewStatusChanged(t=now, crew_id="fire-1", site_id=f"S{n}", incident_id=f"INC-R{n}", status="wreckage_recovered"))
        for _ in range(35):
            step()
    step(KillRetracted(t=now, report_id="R1", number=1, reason="decoy"))
    now = scenario.end - timedelta(seconds=901)
    for _ in range(8):
        step()
    topics = {d.topic for d in drafted}
    assert {"kills", "airport_restricted", "airport_lifted", "recovered", "summary"} <= topics
    for d in drafted:
        facts = stage.allowed[d.statement_id]
        assert stage.allowlist.said(d.text_en) == stage.allowlist.said(d.text_ru), (d.text_en, d.text_ru)
        for text in (d.text_en, d.text_ru):
            assert stage.allowlist.check(text, facts) == [], (d.topic, text)
            assert stage.policy.check(text) == [], (d.topic, text)


# ---------------------------------------------------------------- any spelling of a withheld term

_HOMO = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "s": "ѕ"}
_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u200e", "\u202c"]


@st.composite
def disguised(draw: st.DrawFn, term: str) -> str:
    out = []
    for c in term:
        r = draw(st.integers(0, 5))
        if r == 0 and c.lower() in _HOMO:
            c = _HOMO[c.lower()]
        elif r == 1 and c.isascii() and c.isalnum():
            c = chr(ord(c) + 0xFEE0)  # full width
        elif r == 2:
            c = c.upper()
        out.append(c)
        if draw(st.integers(0, 4)) == 0:
            out.append(draw(st.sampled_from(_INVISIBLE)))
    return "".join(out)


TERMS = ["Pantsir", "Krasukha", "S-400", "Tor-M2", "Buk-M3", "Панцирь", "Красуха", "С-500"]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), term=st.sampled_from(TERMS), where=st.integers(0, 2))
def test_a_withheld_term_in_any_disguise_is_refused(scenario: LoadedScenario, data: st.DataObject, term: str, where: int) -> None:
    policy = DisclosurePolicy.for_scenario(scenario)
    allow = _ALLOW.setdefault("a", Allowlist(policy, Vocabulary.load()))
    word = data.draw(disguised(term))
    safe = ["Stay indoors", "and keep away from windows."]
    text = " ".join([*safe[:where], word, *safe[where:]])
    found = allow.check(text, Facts())
    assert any(v.kind == "term" for v in found), (text, found)


_ALLOW: dict[str, Allowlist] = {}


def test_facts_are_at_the_policys_granularity(scenario: LoadedScenario) -> None:
    policy = DisclosurePolicy.for_scenario(scenario)
    t = scenario.at("03:10") + timedelta(seconds=27)
    f = facts_of(policy, numbers=[31], times=[t], places=[policy.coarsen_place(55.75, 37.62)])
    assert f.times == {(3, 10)} and f.numbers == {31} and f.places == {"district:central"}


def test_a_sensor_named_like_an_airport_is_withheld_in_both_languages(scenario: LoadedScenario) -> None:
    policy = DisclosurePolicy.for_scenario(scenario)
    policy.add_term("Vnukovo", "sensor")  # a sensor named like the airport
    en, _ = policy.redact("00:10. Temporary restrictions have been introduced at Vnukovo airport.", "en")
    ru, _ = policy.redact("00:10. В аэропорту Внуково введены временные ограничения.", "ru")
    assert "Vnukovo" not in en and "[withheld]" in en
    assert "Внуково" not in ru and "[скрыто]" in ru


_PIECES = [
    "Stay indoors", "keep away from windows", "the 31st drone", "has been destroyed", "03:10",
    "Central district", "call 112", "air defence", "emergency services", "debris",
    # withheld or unexplained
    "Pantsyr", "S 400", "AD regiment 2", "battery 3", "short range SAM", "55.7512", "554504N",
    "03:10:27", "00h19m55s", "Twelve drones in the air", "Southern district", "radar-north",
    "32", "thirty-two", "Tor M2", "Vnukovo airport", "12 more drones are approaching",
]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6),
    junk=st.lists(st.sampled_from(_INVISIBLE + ["\x07", "\u00a0", "–"]), max_size=3),
)
def test_whatever_an_officer_types_nothing_withheld_is_published(
    scenario: LoadedScenario, words: list[str], junk: list[str]
) -> None:
    night = _NIGHTS.setdefault("n", KillNight(scenario, reported=True))
    sid = night.draft.statement_id
    text = ". ".join(words) + "".join(junk) + "."
    got = night.step(StatementEdited(t=night.now, statement_id=sid, editor="press-1", role="editor",
                                     text_en=text, text_ru=text))  # fmt: skip
    if refusals(got):
        return
    st_ = night.stage.statements[sid]
    published = [e for e in night.step(StatementApproved(t=night.now, statement_id=sid, officer="duty-1",
                                                         role="publisher", text_sha256=text_sha256(text, text)))
                 if isinstance(e, StatementPublished)]  # fmt: skip
    assert st_.state == "published" and published
    facts = night.stage.allowed[sid]
    for out in (published[0].text_en, published[0].text_ru):
        assert night.stage.allowlist.check(out, facts) == []
        assert night.stage.policy.check(out) == []
    _NIGHTS.pop("n")  # published: the next example needs a fresh statement


_NIGHTS: dict[str, KillNight] = {}


# ---------------------------------------------------------------- a second look instead of a refusal


def _second_look_rules() -> PolicyRules:
    raw = msgspec.to_builtins(load_rules())
    raw["edit"]["unexplained"] = "second_approver"
    return msgspec.convert(raw, PolicyRules)


def _approve(night: KillNight, officer: str) -> list[Event]:
    st = night.stage.statements[night.draft.statement_id]
    return night.step(StatementApproved(t=night.now, statement_id=st.statement_id, officer=officer, role="publisher",
                                        text_sha256=text_sha256(st.text_en, st.text_ru)))  # fmt: skip


WORDY_EN = "03:10. The 31st drone was destroyed over Kapotnya."
WORDY_RU = "03:10. 31-й беспилотник уничтожен над Капотней."


def test_words_outside_the_vocabulary_stand_for_a_second_approver_where_the_policy_says(scenario: LoadedScenario) -> None:
    night = KillNight(scenario, rules=_second_look_rules())
    sid = night.draft.statement_id
    got = night.step(StatementEdited(t=night.now, statement_id=sid, editor="press-1", role="editor",
                                     text_en=WORDY_EN, text_ru=WORDY_RU))  # fmt: skip
    assert refusals(got) == []
    (flag,) = [e for e in got if isinstance(e, StatementFlagged)]
    assert flag.approvals_needed == 2  # the topic's one, and one more for the marked words
    marked = {(s.lang, (WORDY_EN if s.lang == "en" else WORDY_RU)[s.start : s.end]) for s in flag.spans}
    assert marked == {("en", "Kapotnya"), ("ru", "Капотней")} and {s.kind for s in flag.spans} == {"word"}
    st = night.stage.statements[sid]
    assert st.needed == 2 and st.text_en == WORDY_EN
    assert refusals(_approve(night, "duty-1")) == [] and st.state == "partially_approved"
    assert [e for e in night.out if isinstance(e, StatementPublished)] == []
    (again,) = refusals(_approve(night, "duty-1"))  # the same officer twice is still one approver
    assert "already approved" in again.reason
    assert refusals(_approve(night, "duty-2")) == []
    (pub,) = [e for e in night.out if isinstance(e, StatementPublished)]
    assert pub.approved_by == ["duty-1", "duty-2"] and pub.text_en == WORDY_EN
    # what the log says replays to the same statement
    replayed = replay_statements(scenario, night.log(), DisclosureConfig(batch_window_s=60.0, policy=_second_look_rules()))
    assert replayed[sid].state == "published" and replayed[sid].flagged == st.flagged


@pytest.mark.parametrize(
    "text",
    [
        "03:10. Pantsyr destroyed the 31st drone over Kapotnya.",  # a withheld term beside the word
        "03:10. The 31st drone fell at 55.7512, 37.6184 in Kapotnya.",  # a coordinate
        "Twelve drones in the air over Kapotnya.",  # an airborne count
        "03:10. AD regiment 2 destroyed the 31st drone.",  # a unit
    ],
)
def test_a_second_look_never_lets_withheld_facts_stand(scenario: LoadedScenario, text: str) -> None:
    night = KillNight(scenario, rules=_second_look_rules())
    got = night.edit("en", text)
    (r,) = refusals(got)
    assert not [e for e in got if isinstance(e, StatementFlagged)]
    assert night.stage.statements[night.draft.statement_id].text_en == night.draft.text_en, r.reason


def test_a_clean_edit_after_a_flagged_one_needs_the_topics_approvers_again(scenario: LoadedScenario) -> None:
    night = KillNight(scenario, rules=_second_look_rules())
    sid = night.draft.statement_id
    night.step(StatementEdited(t=night.now, statement_id=sid, editor="press-1", role="editor", text_en=WORDY_EN, text_ru=WORDY_RU))
    assert night.stage.statements[sid].needed == 2
    got = night.step(StatementEdited(t=night.now, statement_id=sid, editor="press-1", role="editor",
                                     text_en=night.draft.text_en, text_ru=night.draft.text_ru))  # fmt: skip
    assert refusals(got) == [] and not [e for e in got if isinstance(e, StatementFlagged)]
    st = night.stage.statements[sid]
    assert st.flagged == [] and st.needed == 1
    assert refusals(_approve(night, "duty-1")) == []
    assert [e.statement_id for e in night.out if isinstance(e, StatementPublished)] == [sid]


def test_by_default_words_outside_the_vocabulary_are_refused(scenario: LoadedScenario) -> None:
    night = KillNight(scenario)
    (r,) = refusals(night.edit("en", WORDY_EN))
    assert "word(not in the vocabulary)" in r.reason


def test_the_live_picture_shows_the_marked_words_and_the_extra_approver(scenario: LoadedScenario) -> None:
    from skywarden.service.picture import LivePicture

    night = KillNight(scenario, rules=_second_look_rules())
    sid = night.draft.statement_id
    night.step(StatementEdited(t=night.now, statement_id=sid, editor="press-1", role="editor", text_en=WORDY_EN, text_ru=WORDY_RU))
    picture = LivePicture(scenario)
    for i, (batch, _) in enumerate(night.ticks()):
        picture.apply_tick(batch, i + 1)
    (row,) = [s for s in picture.c_statements() if s["statement_id"] == sid]
    assert row["approvals_needed"] == 2 and row["text_en"] == WORDY_EN
    assert {(f["lang"], f["start"], f["end"]) for f in row["flagged"]} == {("en", 41, 49), ("ru", 38, 46)}
    _approve(night, "duty-1")
    picture.apply_tick(night.ticks()[-1][0], 99)
    (row,) = [s for s in picture.c_statements() if s["statement_id"] == sid]
    assert row["state"] == "partially_approved" and row["approved_by"] == ["duty-1"]
