"""DisclosureStage: drafts statements from the log, waits for approval, publishes, checks claims.

Per step, in this order:

1. the policy learns withheld terms from the events (units, effectors, sensor ids);
2. facts go into open batches: kills, airport restrictions and lifts, debris recoveries; a batch
   is drafted as one statement when its window (``batch_window_s`` after its first fact) ends;
   a retracted kill leaves its batch, its unpublished statement (redrafted without it), or, once
   published, is corrected by a new statement;
3. officers' approvals, edits and rejections move statements through the lifecycle of
   :mod:`skywarden.disclosure.approval`; an input that cannot apply becomes ``InputRefused``;
4. near the end of the night (``summary_lead_s`` before it), a morning summary is drafted;
5. an approved statement is published (``StatementPublished``) once the policy's release time
   has come, its texts passed through :meth:`DisclosurePolicy.apply`;
6. claims are assessed when recorded, and again when facts change or their window settles; a
   new ``ClaimAssessed`` only when the outcome changes.

Statement ids are "ST-0001", "ST-0002"... in drafting order, so replay gives the same ids.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from skywarden.disclosure.allowlist import Allowlist, Facts, explain, facts_of
from skywarden.disclosure.approval import Statement
from skywarden.disclosure.binding import text_sha256
from skywarden.disclosure.claims import ClaimAssessor, ClaimsConfig
from skywarden.disclosure.drafting import (
    TEMPLATES,
    AirportFact,
    KillFact,
    NightFacts,
    Wording,
    accusative_ru,
    ordinal_en,
    ordinal_ru_gen,
)
from skywarden.disclosure.policy import DisclosurePolicy, Draft, PolicyRules, Violation, check_rules
from skywarden.errors import ApprovalError, TransitionError
from skywarden.events import (
    AirportLifted,
    AirportRestricted,
    ClaimAssessed,
    ClaimRecorded,
    CrewDispatched,
    CrewStatusChanged,
    DebrisPredicted,
    Event,
    FlaggedSpan,
    InputRefused,
    KillNumbered,
    KillRetracted,
    OperatorOnDuty,
    StatementApproved,
    StatementDrafted,
    StatementEdited,
    StatementFlagged,
    StatementPublished,
    StatementRejected,
    Tick,
    is_input,
)
from skywarden.geo import CoordinateError, check_lat_lon
from skywarden.scenario.load import LoadedScenario
from skywarden.scenario.model import Officer


@dataclass(frozen=True)
class DisclosureConfig:
    """Settings of the disclosure stage.

    ``batch_window_s``: facts of one topic within this many seconds of the first become one
    statement; ``recovered_window_s``: the same for debris recoveries; ``policy``: rules to use
    instead of the scenario's policy file (``policy_path``) or the shipped default;
    ``summary_lead_s``: the morning summary is drafted this long before the night's end (so it
    is approved and published within the night) and covers the night up to then;
    ``toward_en``/``toward_ru``: how the statements name the city ("the capital" / "Москву";
    empty ``toward_ru``: the accusative of the city's Russian name).
    """

    batch_window_s: float = 180.0
    recovered_window_s: float = 600.0
    draft_recoveries: bool = True
    morning_summary: bool = True
    summary_lead_s: float = 900.0
    policy: PolicyRules | None = None
    policy_path: str | None = None
    toward_en: str = "the capital"
    toward_ru: str = ""
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)


@dataclass
class _Batch:
    opened: datetime
    facts: list[KillFact | AirportFact] = field(default_factory=list)


class DisclosureStage:
    """Statements and claims from the log. See the module docstring for the order of work."""

    name = "disclosure"

    def __init__(self, scenario: LoadedScenario, config: DisclosureConfig | None = None) -> None:
        self.scenario = scenario
        self.config = config or DisclosureConfig()
        cfg = self.config
        if cfg.policy is not None:
            check_rules(cfg.policy, "<config>")
            self.policy = DisclosurePolicy(cfg.policy, scenario, "<config>")
        else:
            self.policy = DisclosurePolicy.for_scenario(scenario, cfg.policy_path)
        city = scenario.spec.city
        self.wording = Wording(
            cfg.toward_en, cfg.toward_ru or accusative_ru(city.name_ru or city.name)
        )
        self.officers = {o.id: o for o in scenario.spec.officers}
        self.allowlist = Allowlist.for_policy(self.policy)
        self.statements: dict[str, Statement] = {}
        self.allowed: dict[str, Facts] = {}  # statement id -> what an edit of it may say
        self.batches: dict[str, _Batch] = {}  # topic -> open batch
        self.kills: dict[str, KillFact] = {}  # report id -> fact (retracted removed)
        self.site_kill: dict[str, str] = {}  # site id -> report id
        self.recovered: list[str] = []  # site ids
        self.crews_sent: dict[str, str] = {}  # incident id -> first crew dispatched to it
        self.airports_restricted: list[str] = []  # airport ids, first restriction order
        self.airport_now: dict[str, bool] = {}  # airport id -> restricted, as the log says now
        self.airport_told: dict[str, bool] = {}  # airport id -> restricted, as last drafted
        self.summary_done = False
        self.claims = ClaimAssessor(scenario, cfg.claims)
        self.claim_list: dict[str, ClaimRecorded] = {}
        self.claim_outcome: dict[str, str] = {}
        self.claim_settled: dict[str, bool] = {}

    # ---------------------------------------------------------------- the step

    def step(self, now: datetime, events: Sequence[Event]) -> list[Event]:
        out: list[Event] = []
        self.policy.learn(events)
        facts_changed = self.claims.observe(events)
        new_claims: list[str] = []
        for e in events:
            if isinstance(e, KillNumbered):
                fact = KillFact(e.report_id, e.number, e.t, e.lat, e.lon, e.incident_id)
                self.kills[e.report_id] = fact
                self._add("kills", now, fact)
            elif isinstance(e, KillRetracted):
                out.extend(self._retract(now, e))
            elif isinstance(e, AirportRestricted | AirportLifted):
                a = next((a for a in self.scenario.spec.airports if a.id == e.airport_id), None)
                name, name_ru = (a.name, a.name_ru or a.name) if a else (e.airport_id, e.airport_id)
                topic = (
                    "airport_restricted" if isinstance(e, AirportRestricted) else "airport_lifted"
                )
                self._add(topic, now, AirportFact(e.airport_id, name, name_ru, e.t))
                self.airport_now[e.airport_id] = isinstance(e, AirportRestricted)
                if (
                    isinstance(e, AirportRestricted)
                    and e.airport_id not in self.airports_restricted
                ):
                    self.airports_restricted.append(e.airport_id)
            elif isinstance(e, DebrisPredicted):
                rid = next(
                    (k.report_id for k in self.kills.values() if k.number == e.kill_number), ""
                )
                if rid:
                    self.site_kill[e.site_id] = rid
            elif isinstance(e, CrewDispatched):
                self.crews_sent.setdefault(e.incident_id, e.crew_id)
            elif isinstance(e, CrewStatusChanged) and e.status == "wreckage_recovered":
                rid = self.site_kill.get(e.site_id, "")
                if rid in self.kills and e.site_id not in self.recovered:
                    self.recovered.append(e.site_id)
                    k = self.kills[rid]
                    if self.config.draft_recoveries:
                        fact = KillFact(rid, k.number, e.t, k.lat, k.lon, k.incident_id)
                        self._add("recovered", now, fact)
            elif isinstance(e, OperatorOnDuty):
                try:
                    self.officers[e.user] = msgspec.convert(
                        {"id": e.user, "name": e.name or e.user, "role": e.role}, Officer
                    )
                except msgspec.ValidationError as exc:
                    out.append(self._refuse(now, e, e.user, f"not an officer: {exc}"))
            elif isinstance(e, StatementApproved | StatementRejected | StatementEdited):
                answer = self._officer_input(now, e)  # a refusal, or a flagged edit
                if answer is not None:
                    out.append(answer)
            elif isinstance(e, ClaimRecorded):
                problem = self._claim_problem(e)
                if problem:
                    out.append(self._refuse(now, e, e.claim_id, problem))
                else:
                    self.claim_list[e.claim_id] = e
                    new_claims.append(e.claim_id)
        out.extend(self._close_batches(now))
        summary_at = self.scenario.end - timedelta(seconds=self.config.summary_lead_s)
        if self.config.morning_summary and not self.summary_done and now >= summary_at:
            self.summary_done = True
            out.append(self._summary(now))
        out.extend(self._publish(now))
        out.extend(self._assess_claims(now, new_claims, facts_changed))
        return out

    # ---------------------------------------------------------------- drafting

    def _add(self, topic: str, now: datetime, fact: KillFact | AirportFact) -> None:
        batch = self.batches.setdefault(topic, _Batch(opened=now))
        batch.facts.append(fact)

    def _window(self, topic: str) -> timedelta:
        s = self.config.recovered_window_s if topic == "recovered" else self.config.batch_window_s
        return timedelta(seconds=s)

    def _close_batches(self, now: datetime) -> list[Event]:
        out: list[Event] = []
        for topic in list(self.batches):
            b = self.batches[topic]
            if not b.facts:
                del self.batches[topic]
            elif now >= b.opened + self._window(topic):
                del self.batches[topic]
                facts = (
                    self._airport_news(topic, b.facts) if topic.startswith("airport") else b.facts
                )
                if facts:
                    out.append(self._draft(now, topic, facts))
        return out

    def _airport_news(
        self, topic: str, facts: Sequence[KillFact | AirportFact]
    ) -> list[KillFact | AirportFact]:
        """The airports whose state the public does not know yet, one fact each (the latest).

        An airport lifted and restricted again within a window was never announced as lifted, so
        its new restriction is no news; one restricted and lifted again before its restriction
        was drafted is not announced at all.
        """
        restricted = topic == "airport_restricted"
        latest: dict[str, AirportFact] = {}
        for f in facts:
            if isinstance(f, AirportFact):
                latest[f.airport_id] = f
        news: list[KillFact | AirportFact] = []
        for aid, f in latest.items():
            if (
                self.airport_now.get(aid) == restricted
                and self.airport_told.get(aid, False) != restricted
            ):
                self.airport_told[aid] = restricted
                news.append(f)
        return news

    def _next_id(self) -> str:
        return f"ST-{len(self.statements) + 1:04d}"

    def _draft(
        self,
        now: datetime,
        topic: str,
        facts: Sequence[KillFact | AirportFact],
        supersedes: str = "",
    ) -> StatementDrafted:
        if topic == "kills":
            crews = any(isinstance(f, KillFact) and f.incident_id in self.crews_sent for f in facts)
            en, ru = TEMPLATES[topic](self.policy, self.wording, facts, crews=crews)
        else:
            en, ru = TEMPLATES[topic](self.policy, self.wording, facts)
        about = [f.report_id if isinstance(f, KillFact) else f.airport_id for f in facts]
        event_time = max(f.t for f in facts)
        kills = [f for f in facts if isinstance(f, KillFact)]
        allowed = facts_of(
            self.policy,
            numbers=[k.number for k in kills] + [len(kills)],
            times=[f.t for f in facts],
            places=[self.policy.coarsen_place(k.lat, k.lon) for k in kills],
            airports=[f.airport_id for f in facts if isinstance(f, AirportFact)],
        )
        return self._new_statement(now, topic, en, ru, about, event_time, supersedes, allowed)

    def _new_statement(
        self,
        now: datetime,
        topic: str,
        en: str,
        ru: str,
        about: list[str],
        event_time: datetime,
        supersedes: str = "",
        allowed: Facts | None = None,
    ) -> StatementDrafted:
        sid = self._next_id()
        self.allowed[sid] = allowed or Facts()
        needed = self.policy.rules.approval.needed(topic)
        self.statements[sid] = Statement(
            statement_id=sid,
            topic=topic,
            text_en=en,
            text_ru=ru,
            approvals_needed=needed,
            drafted_at=now,
            event_time=event_time,
            about=list(about),
        )
        return StatementDrafted(
            t=now,
            statement_id=sid,
            topic=topic,
            text_en=en,
            text_ru=ru,
            approvals_needed=needed,
            about=list(about),
            event_time=event_time,
            supersedes=supersedes,
        )

    def _summary(self, now: datetime) -> StatementDrafted:
        names = {a.id: a for a in self.scenario.spec.airports}
        night = NightFacts(
            kills=len(self.kills),
            airports_en=tuple(names[a].name if a in names else a for a in self.airports_restricted),
            airports_ru=tuple(
                (names[a].name_ru or names[a].name) if a in names else a
                for a in self.airports_restricted
            ),
            sites_recovered=len(self.recovered),
            start=self.scenario.start,
            end=now,
        )
        en, ru = TEMPLATES["summary"](self.policy, self.wording, night)
        allowed = facts_of(
            self.policy,
            numbers=[night.kills, night.sites_recovered, len(night.airports_en)],
            times=[night.start, night.end],
            airports=self.airports_restricted,
        )
        return self._new_statement(now, "summary", en, ru, [], now, allowed=allowed)

    def _retract(self, now: datetime, e: KillRetracted) -> list[Event]:
        """A kill withdrawn by the command: out of its batch, its draft, or corrected in public."""
        fact = self.kills.pop(e.report_id, None)
        if fact is None:
            return []
        for b in self.batches.values():
            b.facts = [
                f for f in b.facts if not (isinstance(f, KillFact) and f.report_id == e.report_id)
            ]
        out: list[Event] = []
        for sid in list(self.statements):
            st = self.statements[sid]
            if st.topic not in ("kills", "recovered") or e.report_id not in st.about:
                continue
            if st.state == "published":
                if st.topic == "kills":
                    t = self.policy.time_text(e.t)
                    n = fact.number
                    out.append(
                        self._new_statement(
                            now,
                            "correction",
                            f"{t}. Correction: the report that the {ordinal_en(n)} drone was "
                            f"destroyed has been withdrawn.",
                            f"{t}. Уточнение: сообщение об уничтожении {ordinal_ru_gen(n)} "
                            f"беспилотника отозвано.",
                            [e.report_id],
                            e.t,
                            allowed=facts_of(self.policy, numbers=[n], times=[e.t]),
                        )
                    )
            elif st.state != "rejected":
                st.withdraw(now, f"kill {e.report_id} retracted")  # the new draft names it
                remaining = [self.kills[r] for r in st.about if r in self.kills]
                if remaining and st.topic == "kills":
                    out.append(self._draft(now, "kills", remaining, supersedes=sid))
        return out

    def _claim_problem(self, c: ClaimRecorded) -> str:
        """Why a claim cannot be recorded ("" when it can)."""
        if c.claim_id in self.claim_list:
            return "a claim with this id is already recorded"
        if c.when_from is not None and c.when_to is not None and c.when_to < c.when_from:
            return "the claimed time ends before it starts"
        if c.count is not None and c.count < 0:
            return "a negative count"
        if (c.lat is None) != (c.lon is None):
            return "a point needs both lat and lon"
        if c.lat is not None and c.lon is not None:
            try:
                check_lat_lon(c.lat, c.lon)
            except CoordinateError as exc:
                return str(exc)
        if c.radius_m is not None and not (math.isfinite(c.radius_m) and c.radius_m >= 0):
            return "the radius must be a non-negative number of metres"
        return ""

    # ---------------------------------------------------------------- officers

    def _refuse(self, now: datetime, e: Event, ref: str, reason: str) -> InputRefused:
        kind = type(e).__struct_config__.tag
        return InputRefused(t=now, stage=self.name, input_kind=str(kind), ref=ref, reason=reason)

    def _officer_input(
        self, now: datetime, e: StatementApproved | StatementRejected | StatementEdited
    ) -> InputRefused | StatementFlagged | None:
        st = self.statements.get(e.statement_id)
        if st is None:
            return self._refuse(now, e, e.statement_id, "unknown statement")
        rules = self.policy.rules.approval
        try:
            if isinstance(e, StatementApproved):
                stale = self._stale_approval(st, e) or self._languages_differ(st)
                if stale:
                    return self._refuse(now, e, e.statement_id, stale)
                st.approve(e.t, e.officer, e.role, self.officers, rules)
            elif isinstance(e, StatementRejected):
                st.reject(e.t, e.officer, e.role, self.officers, rules)
            else:
                st.may_edit(e.editor, e.role, self.officers, rules)  # who and when, first
                found = self._violations(st.statement_id, e.text_en, e.text_ru)
                second_look = self.policy.rules.edit.unexplained == "second_approver"
                if found and not (second_look and all(v.kind == "word" for _, v in found)):
                    return self._refuse(now, e, e.statement_id, _explained(found))
                if not e.text_en.strip() or not e.text_ru.strip():
                    return self._refuse(now, e, e.statement_id, "the edit leaves a text empty")
                flagged = [(lang, v.start, v.end) for lang, v in found]
                st.edit(e.t, e.editor, e.role, e.text_en, e.text_ru, self.officers, rules, flagged)
                if flagged:
                    spans = [FlaggedSpan(lang=lang, start=v.start, end=v.end, kind=v.kind) for lang, v in found]
                    return StatementFlagged(t=now, statement_id=st.statement_id, spans=spans, approvals_needed=st.needed)
        except (ApprovalError, TransitionError) as exc:
            return self._refuse(now, e, e.statement_id, str(exc))
        return None

    @staticmethod
    def _stale_approval(st: Statement, e: StatementApproved) -> str:
        """Why an approval does not bind to the statement's current text ("" when it does)."""
        if not e.text_sha256:
            return ""
        current = text_sha256(st.text_en, st.text_ru)
        if e.text_sha256.lower() == current:
            return ""
        return (
            f"the approval names the text sha256 {e.text_sha256[:16]}..., but the statement's "
            f"text is now {current[:16]}... (edited since it was read)"
        )

    def _languages_differ(self, st: Statement) -> str:
        """Why the two languages of a statement may not be approved ("" when they may): they do
        not state the same numbers, times and places (an edit of one language only)."""
        en, ru = self.allowlist.said(st.text_en), self.allowlist.said(st.text_ru)
        differ = [
            f"{what} (en {len(a)}, ru {len(b)})"
            for what, a, b in (
                ("numbers", en.numbers, ru.numbers),
                ("times", en.times, ru.times),
                ("places", en.places, ru.places),
            )
            if a != b
        ]
        if not differ:
            return ""
        return "the English and Russian texts do not state the same facts: " + ", ".join(differ)

    def _violations(self, sid: str, text_en: str, text_ru: str) -> list[tuple[str, Violation]]:
        """The spans of an edit, per language and in order, that the statement's facts and the
        vocabulary do not explain, or that the policy withholds (none: the edit may stand)."""
        facts = self.allowed.get(sid, Facts())
        out: list[tuple[str, Violation]] = []
        for lang, text in (("en", text_en), ("ru", text_ru)):
            found = self.allowlist.check(text, facts)
            if not found or found[0].kind != "length":
                seen = {(v.start, v.end) for v in found}
                found += [v for v in self.policy.check(text) if (v.start, v.end) not in seen]
            out += [(lang, v) for v in sorted(found, key=lambda v: (v.start, v.end))]
        return out

    # ---------------------------------------------------------------- publishing

    def _publish(self, now: datetime) -> list[Event]:
        out: list[Event] = []
        for st in self.statements.values():
            if st.state != "approved":
                continue
            event_time = st.event_time or st.drafted_at
            public = self.policy.apply(Draft(st.text_en, st.text_ru, event_time, st.topic))
            if public.release_at is not None and now < public.release_at:
                continue
            st.publish(now)
            out.append(
                StatementPublished(
                    t=now,
                    statement_id=st.statement_id,
                    text_en=public.text_en,
                    text_ru=public.text_ru,
                    approved_by=st.approved_by,
                    delay_s=(now - event_time).total_seconds(),
                )
            )
        return out

    # ---------------------------------------------------------------- claims

    def _assess_claims(self, now: datetime, new: list[str], facts_changed: bool) -> list[Event]:
        out: list[Event] = []
        for cid, claim in self.claim_list.items():
            settled_now = now >= self.claims.settles_at(claim)
            if not (
                cid in new or facts_changed or (settled_now and not self.claim_settled.get(cid))
            ):
                continue
            self.claim_settled[cid] = settled_now
            a = self.claims.assess(claim, now)
            if self.claim_outcome.get(cid) == a.outcome:
                continue
            self.claim_outcome[cid] = a.outcome
            out.append(
                ClaimAssessed(
                    t=now,
                    claim_id=cid,
                    outcome=a.outcome,
                    reason=a.reason,
                    evidence=list(a.evidence),
                )
            )
        return out


def replay_statements(
    scenario: LoadedScenario, events: Iterable[Event], config: DisclosureConfig | None = None
) -> dict[str, Statement]:
    """Every statement of a logged night with its state and history, by replaying this stage.

    The log is cut into ticks as the runtime wrote them (inputs, ``Tick``, derived events); the
    stage sees each tick's events once, so its statements come out as they were live: who
    approved, edited or rejected what and when, what was withdrawn, what was published.
    """
    stage = DisclosureStage(scenario, config)
    batch: list[Event] = []
    tick: datetime | None = None
    for e in events:
        if tick is not None and (isinstance(e, Tick) or is_input(e)):
            stage.step(tick, batch)
            batch, tick = [], None
        batch.append(e)
        if isinstance(e, Tick):
            tick = e.t
    if tick is not None:
        stage.step(tick, batch)
    return stage.statements




def _explained(found: list[tuple[str, Violation]]) -> str:
    """The refusal of an edit: its spans by language, by offset and kind (never their text)."""
    parts = [explain([v for lang, v in found if lang == want], want) for want in ("en", "ru") if any(lang == want for lang, _ in found)]
    return "the edit contains withheld content or what the facts do not allow: " + "; ".join(parts)


__all__ = ["DisclosureConfig", "DisclosureStage", "replay_statements"]
