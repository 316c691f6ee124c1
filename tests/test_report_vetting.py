"""The report's vetting of ``statement_published`` records: approvals the stage refused, and the
extra approver a flagged text needs, are counted as the disclosure stage counted them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from skywarden.disclosure.policy import DisclosurePolicy
from skywarden.events import (
    Event,
    FlaggedSpan,
    InputRefused,
    StatementApproved,
    StatementDrafted,
    StatementEdited,
    StatementFlagged,
    StatementPublished,
    Tick,
)
from skywarden.report.vetting import vet_statements
from skywarden.scenario import LoadedScenario

EN, RU = "03:10. A drone has been destroyed.", "03:10. Беспилотник уничтожен."
_AT = datetime(2000, 1, 1, tzinfo=UTC)  # a placeholder: _night gives each event its tick's time


def _night(scenario: LoadedScenario, *ticks: list[Event]) -> list[Event]:
    """A draft, then each tick's events as the runtime logs them: inputs, the tick, derived."""
    t = scenario.at("03:15")
    events: list[Event] = [Tick(t=t), StatementDrafted(t=t, statement_id="ST-0001", topic="kills", text_en=EN, text_ru=RU,
                                                       approvals_needed=1, event_time=scenario.at("03:10"))]  # fmt: skip
    for k, tick in enumerate(ticks, start=1):
        now = t + timedelta(seconds=k)
        events += [msgspec.structs.replace(e, t=now) for e in tick]
    return events


def _approved(officer: str) -> StatementApproved:
    return StatementApproved(t=_AT, statement_id="ST-0001", officer=officer, role="publisher")


def _refused(reason: str) -> InputRefused:
    return InputRefused(t=_AT, stage="disclosure", input_kind="statement_approved", ref="ST-0001", reason=reason)


def _published(*officers: str) -> StatementPublished:
    return StatementPublished(t=_AT, statement_id="ST-0001", text_en=EN, text_ru=RU, approved_by=list(officers), delay_s=5.0)


def _tick() -> Tick:
    return Tick(t=_AT)


def test_an_approval_the_stage_refused_does_not_count(scenario: LoadedScenario) -> None:
    refused = _night(
        scenario,
        [_approved("duty-1"), _tick(), _refused("the approval names the text sha256 ab..., but the text is now cd...")],
        [_tick(), _published("duty-1")],  # forged: the stage never took duty-1's approval
    )
    vetted = vet_statements(refused, DisclosurePolicy.for_scenario(scenario))
    assert vetted.published == [] and "duty-1, who did not approve it" in vetted.held[0][1]
    accepted = _night(scenario, [_approved("duty-1"), _tick()], [_tick(), _published("duty-1")])
    assert len(vet_statements(accepted, DisclosurePolicy.for_scenario(scenario)).published) == 1


def test_a_refusal_naming_its_officer_takes_back_that_approval_only(scenario: LoadedScenario) -> None:
    night = _night(
        scenario,
        [_approved("duty-1"), _approved("duty-2"), _tick(), _refused("officer 'duty-2' holds the role 'editor', not 'publisher'")],
        [_tick(), _published("duty-1")],
        [_tick(), _published("duty-2")],
    )
    vetted = vet_statements(night, DisclosurePolicy.for_scenario(scenario))
    assert [p.approved_by for p in vetted.published] == [["duty-1"]]
    assert [p.approved_by for p, _ in vetted.held] == [["duty-2"]]


def test_a_flagged_text_needs_the_extra_approver(scenario: LoadedScenario) -> None:
    span = FlaggedSpan(lang="en", start=_AT, end=5, kind="word")
    edit = StatementEdited(t=_AT, statement_id="ST-0001", editor="press-1", role="editor", text_en=EN, text_ru=RU)
    flagged = StatementFlagged(t=_AT, statement_id="ST-0001", spans=[span], approvals_needed=2)
    night = _night(
        scenario,
        [edit, _tick(), flagged],
        [_approved("duty-1"), _tick()],
        [_tick(), _published("duty-1")],  # one approval where the flagged text needs two
        [_approved("duty-2"), _tick(), _published("duty-1", "duty-2")],
    )
    vetted = vet_statements(night, DisclosurePolicy.for_scenario(scenario))
    assert vetted.held[0][1] == "1 approval(s) named, 2 needed"
    assert [p.approved_by for p in vetted.published] == [["duty-1", "duty-2"]]
