"""Statement lifecycle and approval rules, on the statement and through the stage."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import product

import msgspec
import pytest

from skywarden.disclosure.approval import TRANSITIONS, Statement, transition
from skywarden.disclosure.policy import ApprovalRules, PolicyRules, load_rules
from skywarden.disclosure.stage import DisclosureConfig, DisclosureStage
from skywarden.errors import ApprovalError, TransitionError
from skywarden.events import (
    Event,
    InputRefused,
    KillNumbered,
    StatementApproved,
    StatementDrafted,
    StatementEdited,
    StatementPublished,
    StatementRejected,
    Tick,
)
from skywarden.scenario import LoadedScenario

STATES = list(TRANSITIONS)


@pytest.mark.parametrize(("a", "b"), list(product(STATES, STATES)))
def test_every_transition_follows_the_table(a: str, b: str) -> None:
    if b in TRANSITIONS[a]:  # type: ignore[index]
        assert transition("st", a, b) == b  # type: ignore[arg-type]
    else:
        with pytest.raises(TransitionError):
            transition("st", a, b)  # type: ignore[arg-type]


def test_published_and_rejected_are_final() -> None:
    assert TRANSITIONS["published"] == frozenset() and TRANSITIONS["rejected"] == frozenset()


def _statement(t: datetime, needed: int = 1) -> Statement:
    return Statement("ST-0001", "kills", "text", "текст", needed, t, t)


def test_statement_rules(scenario: LoadedScenario) -> None:
    officers = {o.id: o for o in scenario.spec.officers}
    rules = ApprovalRules(approvers=2)
    t = scenario.start
    st = _statement(t, needed=2)
    with pytest.raises(TransitionError):
        st.publish(t)  # never without approval
    with pytest.raises(ApprovalError, match="unknown officer"):
        st.approve(t, "nobody", "publisher", officers, rules)
    with pytest.raises(ApprovalError, match="holds the role 'editor'"):
        st.approve(t, "press-1", "publisher", officers, rules)  # claims a role it does not hold
    with pytest.raises(ApprovalError, match="may not"):
        st.approve(t, "press-1", "editor", officers, rules)  # editors do not approve
    assert st.approve(t, "duty-1", "publisher", officers, rules) == "partially_approved"
    with pytest.raises(ApprovalError, match="already approved"):
        st.approve(t, "duty-1", "publisher", officers, rules)
    with pytest.raises(TransitionError):
        st.publish(t)
    assert st.edit(t, "press-1", "editor", "new", "новый", officers, rules) == "drafted"
    assert st.approvals == []
    assert st.approve(t, "duty-1", "publisher", officers, rules) == "partially_approved"
    assert st.approve(t, "duty-2", "publisher", officers, rules) == "approved"
    assert st.publish(t) == "published"
    with pytest.raises(TransitionError):
        st.approve(t, "duty-2", "publisher", officers, rules)
    with pytest.raises(TransitionError):
        st.edit(t, "press-1", "editor", "x", "x", officers, rules)
    assert [a.action for a in st.history] == [
        "approved",
        "edited",
        "approved",
        "approved",
        "published",
    ]
    assert [a.officer for a in st.history[:4]] == ["duty-1", "press-1", "duty-1", "duty-2"]


def test_rejection_is_final(scenario: LoadedScenario) -> None:
    officers = {o.id: o for o in scenario.spec.officers}
    st = _statement(scenario.start)
    assert st.reject(scenario.start, "duty-2", "publisher", officers, ApprovalRules()) == "rejected"
    with pytest.raises(TransitionError):
        st.approve(scenario.start, "duty-1", "publisher", officers, ApprovalRules())


# ---------------------------------------------------------------- through the stage


class Night:
    """Drives a DisclosureStage tick by tick (10 s), collecting what it derives."""

    def __init__(self, scenario: LoadedScenario, approvers: int = 1, delay_s: float = 0.0) -> None:
        raw = msgspec.to_builtins(load_rules())
        raw["approval"]["approvers"] = approvers
        raw["time"]["release_delay_s"] = delay_s
        rules = msgspec.convert(raw, PolicyRules)
        self.stage = DisclosureStage(scenario, DisclosureConfig(policy=rules, batch_window_s=60.0))
        self.now = scenario.at("01:00")
        self.out: list[Event] = []

    def tick(self, *inputs: Event, seconds: float = 10.0) -> list[Event]:
        self.now += timedelta(seconds=seconds)
        derived = self.stage.step(self.now, [*inputs, Tick(t=self.now)])
        self.out.extend(derived)
        return derived

    def kill(self, n: int) -> KillNumbered:
        return KillNumbered(
            t=self.now, report_id=f"R{n}", number=n, day_number=n, local_time="", incident_id=f"INC-R{n}",
            track_id=None, matched_by="unmatched", lat=55.75, lon=37.62, alt=0.0,
        )  # fmt: skip

    def drafted(self) -> StatementDrafted:
        self.tick(self.kill(1))
        for _ in range(10):
            for e in self.tick():
                if isinstance(e, StatementDrafted):
                    return e
        raise AssertionError("nothing drafted")

    def approve(self, sid: str, officer: str, role: str = "publisher") -> list[Event]:
        return self.tick(
            StatementApproved(t=self.now, statement_id=sid, officer=officer, role=role)
        )

    def published(self) -> list[StatementPublished]:
        return [e for e in self.out if isinstance(e, StatementPublished)]


def refusals(events: list[Event]) -> list[InputRefused]:
    return [e for e in events if isinstance(e, InputRefused)]


def test_one_approver_publishes(scenario: LoadedScenario) -> None:
    night = Night(scenario)
    d = night.drafted()
    assert d.statement_id == "ST-0001" and d.approvals_needed == 1
    for _ in range(5):
        night.tick()
    assert night.published() == []  # never without approval
    out = night.approve(d.statement_id, "duty-1")
    pub = [e for e in out if isinstance(e, StatementPublished)]
    assert len(pub) == 1 and pub[0].approved_by == ["duty-1"]
    assert pub[0].text_en == d.text_en
    assert pub[0].delay_s == (pub[0].t - d.event_time).total_seconds()  # type: ignore[operator]
    # approving a published statement is refused
    r = refusals(night.approve(d.statement_id, "duty-2"))
    assert len(r) == 1 and r[0].ref == d.statement_id and "published" in r[0].reason


def test_two_approvers_need_two_different_officers(scenario: LoadedScenario) -> None:
    night = Night(scenario, approvers=2)
    d = night.drafted()
    assert d.approvals_needed == 2
    assert refusals(night.approve(d.statement_id, "duty-1")) == []
    r = refusals(night.approve(d.statement_id, "duty-1"))
    assert len(r) == 1 and "already approved" in r[0].reason
    assert night.published() == []
    night.approve(d.statement_id, "duty-2")
    assert [p.approved_by for p in night.published()] == [["duty-1", "duty-2"]]


@pytest.mark.parametrize(
    ("officer", "role", "reason"),
    [
        ("press-1", "editor", "may not"),
        ("press-1", "publisher", "holds the role"),
        ("intruder", "publisher", "unknown officer"),
    ],
)
def test_wrong_role_or_unknown_officer_is_refused(
    scenario: LoadedScenario, officer: str, role: str, reason: str
) -> None:
    night = Night(scenario)
    d = night.drafted()
    r = refusals(night.approve(d.statement_id, officer, role))
    assert len(r) == 1 and reason in r[0].reason and r[0].input_kind == "statement_approved"
    for _ in range(3):
        night.tick()
    assert night.published() == []


def test_unknown_statement_is_refused(scenario: LoadedScenario) -> None:
    night = Night(scenario)
    r = refusals(night.approve("ST-0099", "duty-1"))
    assert len(r) == 1 and r[0].reason == "unknown statement" and r[0].ref == "ST-0099"


def test_edit_resets_approvals_and_publishes_the_edited_text(scenario: LoadedScenario) -> None:
    night = Night(scenario, approvers=2)
    d = night.drafted()
    night.approve(d.statement_id, "duty-1")
    edit = StatementEdited(t=night.now, statement_id=d.statement_id, editor="press-1", role="editor",
                           text_en="01:00. A drone was destroyed.", text_ru="01:00. Беспилотник уничтожен.")  # fmt: skip
    assert refusals(night.tick(edit)) == []
    night.approve(d.statement_id, "duty-2")
    assert night.published() == []  # duty-1's approval was of the old text
    night.approve(d.statement_id, "duty-1")
    (pub,) = night.published()
    assert pub.text_en == "01:00. A drone was destroyed." and pub.approved_by == [
        "duty-2",
        "duty-1",
    ]


def test_edit_with_withheld_content_is_refused(scenario: LoadedScenario) -> None:
    night = Night(scenario)
    d = night.drafted()
    edit = StatementEdited(t=night.now, statement_id=d.statement_id, editor="press-1", role="editor",
                           text_en="Shot down by Pantsir at 02:13:10 near radar-north.", text_ru="Сбит.")  # fmt: skip
    (r,) = refusals(night.tick(edit))
    assert "withheld" in r.reason and "term(sensor)" in r.reason and "time(seconds)" in r.reason
    assert "radar-north" not in r.reason  # the refusal does not repeat the secret
    night.approve(d.statement_id, "duty-1")
    (pub,) = night.published()
    assert pub.text_en == d.text_en


def test_rejected_statement_is_never_published(scenario: LoadedScenario) -> None:
    night = Night(scenario)
    d = night.drafted()
    night.tick(
        StatementRejected(
            t=night.now, statement_id=d.statement_id, officer="duty-2", role="publisher"
        )
    )
    r = refusals(night.approve(d.statement_id, "duty-1"))
    assert len(r) == 1 and "rejected" in r[0].reason
    assert night.published() == []


def test_release_waits_for_the_policy_delay(scenario: LoadedScenario) -> None:
    night = Night(scenario, delay_s=900.0)
    d = night.drafted()
    night.approve(d.statement_id, "duty-1")
    for _ in range(120):
        night.tick()
    (pub,) = night.published()
    assert d.event_time is not None
    assert pub.t >= d.event_time + timedelta(seconds=900)
    assert pub.t - timedelta(seconds=10) < d.event_time + timedelta(seconds=900)
    assert pub.delay_s >= 900


def test_an_edit_is_checked_for_who_before_what(scenario: LoadedScenario) -> None:
    night = Night(scenario)
    d = night.drafted()
    edit = StatementEdited(t=night.now, statement_id=d.statement_id, editor="intruder", role="editor",
                           text_en="Pantsir at 02:13:10", text_ru="Панцирь")  # fmt: skip
    (r,) = refusals(night.tick(edit))
    assert "unknown officer" in r.reason


# ---------------------------------------------------------------- the live service's people


def test_the_officer_who_wrote_a_text_may_not_approve_it(scenario: LoadedScenario) -> None:
    officers = {o.id: o for o in scenario.spec.officers}
    rules = ApprovalRules(approvers=1)
    t = scenario.start
    st = _statement(t)
    assert st.editor == ""  # the stage's own draft
    st.edit(t, "duty-1", "publisher", "new", "новый", officers, rules)
    assert st.editor == "duty-1"
    with pytest.raises(ApprovalError, match="wrote this text"):
        st.approve(t, "duty-1", "publisher", officers, rules)
    assert st.approve(t, "duty-2", "publisher", officers, rules) == "approved"


def test_operators_on_duty_join_the_roster_under_the_services_roles(scenario: LoadedScenario) -> None:
    from skywarden.events import OperatorOnDuty

    night = Night(scenario)
    night.tick(
        OperatorOnDuty(t=night.now, user="anna", role="approver", name="Anna"),
        OperatorOnDuty(t=night.now, user="boris", role="press_officer"),
        OperatorOnDuty(t=night.now, user="vera", role="pilot"),  # no such role: refused
    )
    refused = refusals(night.out)
    assert [r.ref for r in refused] == ["vera"] and refused[0].input_kind == "operator_on_duty"
    st = night.drafted()
    # a press officer edits; that officer cannot approve (the role may not), an approver can
    edit = StatementEdited(t=night.now, statement_id=st.statement_id, editor="boris", role="press_officer",
                           text_en="Air defence is at work over the city.", text_ru="Работает ПВО над городом.")  # fmt: skip
    assert refusals(night.tick(edit)) == []
    assert refusals(night.approve(st.statement_id, "boris", "press_officer"))  # may not approve
    out = night.approve(st.statement_id, "anna", "approver")
    assert refusals(out) == []
    assert [p.statement_id for p in night.published()] == [st.statement_id]
