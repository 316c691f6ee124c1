"""The stage: batching by window, retractions, recoveries, the morning summary."""

from __future__ import annotations

from datetime import datetime, timedelta

from skywarden.disclosure.stage import DisclosureConfig, DisclosureStage
from skywarden.events import (
    AirportLifted,
    AirportRestricted,
    CrewDispatched,
    CrewStatusChanged,
    DebrisPredicted,
    Event,
    KillNumbered,
    KillRetracted,
    StatementApproved,
    StatementDrafted,
    StatementPublished,
    Tick,
)
from skywarden.scenario import LoadedScenario


def kill(t: datetime, n: int) -> KillNumbered:
    return KillNumbered(
        t=t, report_id=f"R{n}", number=n, day_number=n, local_time="", incident_id=f"INC-R{n}",
        track_id=None, matched_by="unmatched", lat=55.75, lon=37.62, alt=0.0,
    )  # fmt: skip


class Run:
    def __init__(self, scenario: LoadedScenario, **cfg: object) -> None:
        self.stage = DisclosureStage(scenario, DisclosureConfig(**cfg))  # type: ignore[arg-type]
        self.now = scenario.at("01:00")
        self.out: list[Event] = []

    def step(self, *inputs: Event, s: float = 10.0) -> list[Event]:
        self.now += timedelta(seconds=s)
        got = self.stage.step(self.now, [*inputs, Tick(t=self.now)])
        self.out += got
        return got

    def drafts(self) -> list[StatementDrafted]:
        return [e for e in self.out if isinstance(e, StatementDrafted)]

    def approve_all(self) -> None:
        done = {e.statement_id for e in self.out if isinstance(e, StatementPublished)}
        self.step(*[StatementApproved(t=self.now, statement_id=d.statement_id, officer="duty-1", role="publisher")
                    for d in self.drafts() if d.statement_id not in done])  # fmt: skip


def test_kills_inside_the_window_batch_and_later_ones_do_not(scenario: LoadedScenario) -> None:
    r = Run(scenario, batch_window_s=180.0)
    r.step(kill(r.now, 1))
    r.step(kill(r.now, 2), s=60)
    r.step(kill(r.now, 3), s=60)
    r.step(s=60)  # 180 s after the first: one statement for three
    (d,) = r.drafts()
    assert d.about == ["R1", "R2", "R3"] and "three drones" in d.text_en
    r.step(kill(r.now, 4), s=10)
    for _ in range(18):
        r.step()
    assert [x.about for x in r.drafts()] == [["R1", "R2", "R3"], ["R4"]]


def test_retraction_before_publication_supersedes_the_draft(scenario: LoadedScenario) -> None:
    r = Run(scenario, batch_window_s=60.0)
    r.step(kill(r.now, 1), kill(r.now, 2))
    for _ in range(6):
        r.step()
    (d,) = r.drafts()
    got = r.step(KillRetracted(t=r.now, report_id="R2", number=2, reason="double report"))
    (new,) = [e for e in got if isinstance(e, StatementDrafted)]
    assert new.supersedes == d.statement_id and new.about == ["R1"]
    assert "1st drone" in new.text_en and "2nd" not in new.text_en
    r.approve_all()
    published = [e.statement_id for e in r.out if isinstance(e, StatementPublished)]
    assert published == [new.statement_id]  # the withdrawn draft never goes out


def test_retraction_after_publication_is_corrected(scenario: LoadedScenario) -> None:
    r = Run(scenario, batch_window_s=60.0)
    r.step(kill(r.now, 5))
    for _ in range(6):
        r.step()
    r.approve_all()
    got = r.step(KillRetracted(t=r.now, report_id="R5", number=5, reason="not confirmed"))
    (c,) = [e for e in got if isinstance(e, StatementDrafted)]
    assert (
        c.topic == "correction"
        and "the 5th drone" in c.text_en
        and "5-го беспилотника" in c.text_ru
    )


def test_recovery_and_morning_summary(scenario: LoadedScenario) -> None:
    r = Run(scenario, batch_window_s=60.0, recovered_window_s=60.0)
    r.step(kill(r.now, 1))
    r.step(DebrisPredicted(t=r.now, site_id="S1", incident_id="INC-R1", kill_number=1, lat=55.75, lon=37.62,
                           polygon95=[], districts=[], zones=[], samples=1, fall_time_s=10.0))  # fmt: skip
    r.step(
        CrewStatusChanged(
            t=r.now,
            crew_id="fire-1",
            site_id="S1",
            incident_id="INC-R1",
            status="wreckage_recovered",
        )
    )
    for _ in range(10):
        r.step()
    assert [d.topic for d in r.drafts()] == ["kills", "recovered"]
    r.now = scenario.end - timedelta(seconds=915)
    r.step()
    assert "summary" not in [d.topic for d in r.drafts()]
    r.step()  # 15 minutes before the end (summary_lead_s)
    (summary,) = [d for d in r.drafts() if d.topic == "summary"]
    assert summary.text_en.startswith("Overnight (00:00–03:45)")
    assert summary.approvals_needed == 2  # the shipped policy asks two officers for the summary
    assert "destroyed one drone" in summary.text_en and "one crash site" in summary.text_en
    r.step()
    assert [d.topic for d in r.drafts()].count("summary") == 1


def test_airport_flapping_is_not_announced_twice(scenario: LoadedScenario) -> None:
    r = Run(scenario, batch_window_s=120.0)

    def restricted(aid: str) -> AirportRestricted:
        return AirportRestricted(t=r.now, airport_id=aid, reason="", track_ids=[])

    def lifted(aid: str) -> AirportLifted:
        return AirportLifted(t=r.now, airport_id=aid, restricted_since=r.now, duration_s=0.0)

    r.step(restricted("VKO"), restricted("SVO"))
    r.step(s=120)
    r.step(lifted("VKO"), lifted("SVO"))
    r.step(restricted("VKO"), s=30)  # VKO restricted again before its lift was announced
    for _ in range(30):
        r.step()
    r.step(restricted("DME"))
    r.step(lifted("DME"), s=30)  # DME lifted before its restriction was announced
    for _ in range(30):
        r.step()
    assert [(d.topic, d.about) for d in r.drafts()] == [
        ("airport_restricted", ["VKO", "SVO"]),
        ("airport_lifted", ["SVO"]),
    ]


def test_crews_are_mentioned_only_once_sent(scenario: LoadedScenario) -> None:
    r = Run(scenario, batch_window_s=60.0)
    r.step(kill(r.now, 1))
    for _ in range(7):
        r.step()
    r.step(kill(r.now, 2))
    r.step(CrewDispatched(t=r.now, crew_id="fire-1", site_id="S2", incident_id="INC-R2", crew_kind="fire",
                          eta_s=300.0, distance_m=4000.0, method="road", route=[]))  # fmt: skip
    for _ in range(7):
        r.step()
    first, second = r.drafts()
    assert first.about == ["R1"] and first.text_en.endswith("Emergency services have been alerted.")
    assert second.about == ["R2"] and second.text_en.endswith("working at the crash site.")
