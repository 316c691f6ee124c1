"""Approvals bind to text: an approval names the SHA-256 of the text its officer read."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import msgspec

from skywarden.disclosure.binding import canonical_text, text_sha256
from skywarden.disclosure.stage import DisclosureConfig, DisclosureStage
from skywarden.events import (
    Event,
    InputRefused,
    KillNumbered,
    StatementApproved,
    StatementDrafted,
    StatementEdited,
    StatementPublished,
    Tick,
    decode,
    encode,
)
from skywarden.scenario import LoadedScenario


class Night:
    def __init__(self, scenario: LoadedScenario) -> None:
        self.stage = DisclosureStage(scenario, DisclosureConfig(batch_window_s=30.0))
        self.now = scenario.at("01:00")
        self.out: list[Event] = []
        k = KillNumbered(t=self.now, report_id="R1", number=1, day_number=1, local_time="", incident_id="INC-R1",
                         track_id=None, matched_by="unmatched", lat=55.75, lon=37.62, alt=0.0)  # fmt: skip
        self.step(k)
        for _ in range(4):
            self.step()
        (self.draft,) = [e for e in self.out if isinstance(e, StatementDrafted)]

    def step(self, *inputs: Event) -> list[Event]:
        self.now += timedelta(seconds=10)
        got = self.stage.step(self.now, [*inputs, Tick(t=self.now)])
        self.out += got
        return got

    def approve(self, sha: str, officer: str = "duty-1") -> list[Event]:
        return self.step(StatementApproved(t=self.now, statement_id=self.draft.statement_id, officer=officer,
                                           role="publisher", text_sha256=sha))  # fmt: skip

    def published(self) -> list[StatementPublished]:
        return [e for e in self.out if isinstance(e, StatementPublished)]


def test_the_canonical_text_is_en_newline_ru_in_utf8() -> None:
    assert canonical_text("A.", "Б.") == "A.\nБ.".encode()
    assert text_sha256("A.", "Б.") == hashlib.sha256("A.\nБ.".encode()).hexdigest()


def test_an_approval_of_the_text_as_drafted_publishes_it(scenario: LoadedScenario) -> None:
    night = Night(scenario)
    assert [e for e in night.approve(text_sha256(night.draft.text_en, night.draft.text_ru))
            if isinstance(e, InputRefused)] == []  # fmt: skip
    (pub,) = night.published()
    assert pub.text_en == night.draft.text_en


def test_an_approval_naming_another_text_is_refused(scenario: LoadedScenario) -> None:
    night = Night(scenario)
    draft_sha = text_sha256(night.draft.text_en, night.draft.text_ru)
    en, ru = "01:00. A drone was destroyed.", "01:00. Беспилотник уничтожен."
    night.step(StatementEdited(t=night.now, statement_id=night.draft.statement_id, editor="press-1",
                               role="editor", text_en=en, text_ru=ru))  # fmt: skip
    (r,) = [e for e in night.approve(draft_sha) if isinstance(e, InputRefused)]
    assert "edited since it was read" in r.reason and night.published() == []
    assert night.stage.statements[night.draft.statement_id].approvals == []
    night.approve(text_sha256(en, ru))
    (pub,) = night.published()
    assert (pub.text_en, pub.text_ru) == (en, ru)


def test_an_edit_after_an_approval_voids_it(scenario: LoadedScenario) -> None:
    raw_needed = Night(scenario)
    raw_needed.stage.statements[raw_needed.draft.statement_id].approvals_needed = 2
    raw_needed.approve(text_sha256(raw_needed.draft.text_en, raw_needed.draft.text_ru))
    en, ru = "01:00. A drone was destroyed.", "01:00. Беспилотник уничтожен."
    raw_needed.step(StatementEdited(t=raw_needed.now, statement_id=raw_needed.draft.statement_id,
                                    editor="press-1", role="editor", text_en=en, text_ru=ru))  # fmt: skip
    raw_needed.approve(text_sha256(en, ru), officer="duty-2")
    assert raw_needed.published() == []  # duty-1 approved the draft, not this text
    raw_needed.approve(text_sha256(en, ru), officer="duty-1")
    (pub,) = raw_needed.published()
    assert pub.approved_by == ["duty-2", "duty-1"]


def test_approvals_without_a_hash_keep_their_old_bytes() -> None:
    from datetime import UTC, datetime

    old = StatementApproved(t=datetime(2025, 3, 10, 22, tzinfo=UTC), statement_id="ST-0001",
                            officer="duty-1", role="publisher")  # fmt: skip
    data = encode(old)
    assert b"text_sha256" not in data
    assert msgspec.json.decode(data)["kind"] == "statement_approved"
    back = decode(data)
    assert back == old and isinstance(back, StatementApproved) and back.text_sha256 == ""
