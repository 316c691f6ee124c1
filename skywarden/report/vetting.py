"""Which of a log's ``statement_published`` records the disclosure policy would have let out.

The log is evidence, not authority: anyone able to append to it (a forged record keeps the chain
valid when appended in turn) could add a ``statement_published`` that no officer approved, or
that names what the policy withholds. A report exports as published only what the disclosure
stage could have published; the rest is listed apart, with the reason, for the operators.

A record counts as published when, in log order,

* a ``statement_drafted`` of that id came before it (the stage drafts every statement it publishes);
* its texts pass the policy's check, the policy having learnt from every earlier record the
  names it withholds (units, effectors, sensors), as the stage's policy had;
* it names at least the approvals its text needs (the draft's ``approvals_needed``, or what a
  ``statement_flagged`` after the last edit says) from distinct officers, each of whom approved
  that statement after its last edit, in a role the policy allows to approve, by an approval the
  stage did not refuse (an ``input_refused`` after the tick of the approval takes it back: the
  officer it names, else the tick's one approver of that statement, else, unable to tell, every
  approval of that statement in that tick);
* it comes no sooner than the policy's release time for the draft's topic and event time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from skywarden.disclosure.policy import DisclosurePolicy
from skywarden.events import (
    KIND_OF,
    Event,
    InputRefused,
    StatementApproved,
    StatementDrafted,
    StatementEdited,
    StatementFlagged,
    StatementPublished,
    Tick,
)


@dataclass
class Vetted:
    published: list[StatementPublished] = field(default_factory=list)
    held: list[tuple[StatementPublished, str]] = field(default_factory=list)  # (record, why not)


def vet_statements(events: Iterable[Event], policy: DisclosurePolicy) -> Vetted:
    """Split the ``statement_published`` records of ``events`` (a night, in log order) into those
    the policy would have let out and those it would not (see the module doc). ``policy`` learns
    from the events: give a fresh one."""
    out = Vetted()
    drafts: dict[str, StatementDrafted] = {}
    # statement -> officer -> approvals since its last edit (a refusal takes one back)
    approvals: dict[str, Counter[str]] = {}
    needed: dict[str, int] = {}  # statement -> approvals its current text needs
    roles = set(policy.rules.approval.roles)
    this_tick: list[tuple[str, str]] = []  # (statement, officer) approvals before the next tick
    last_tick: list[tuple[str, str]] = []  # ... of the tick whose derived events follow now
    for ev in events:
        policy.learn((ev,))
        if isinstance(ev, StatementDrafted):
            drafts[ev.statement_id] = ev
            approvals[ev.statement_id] = Counter()
            needed[ev.statement_id] = ev.approvals_needed
        elif isinstance(ev, StatementEdited):
            approvals[ev.statement_id] = Counter()
            if ev.statement_id in drafts:
                needed[ev.statement_id] = drafts[ev.statement_id].approvals_needed
        elif isinstance(ev, StatementFlagged):
            needed[ev.statement_id] = max(needed.get(ev.statement_id, 0), ev.approvals_needed)
        elif isinstance(ev, StatementApproved) and ev.role in roles:
            approvals.setdefault(ev.statement_id, Counter())[ev.officer] += 1
            this_tick.append((ev.statement_id, ev.officer))
        elif isinstance(ev, Tick):
            last_tick, this_tick = this_tick, []
        elif isinstance(ev, InputRefused) and ev.input_kind == KIND_OF[StatementApproved]:
            for officer in _refused(ev, last_tick):
                approvals.get(ev.ref, Counter())[officer] -= 1
                last_tick.remove((ev.ref, officer))
        elif isinstance(ev, StatementPublished):
            approved = {o for o, n in approvals.get(ev.statement_id, Counter()).items() if n > 0}
            why = _why_not(ev, drafts.get(ev.statement_id), needed.get(ev.statement_id, 0), approved, policy)
            if why:
                out.held.append((ev, why))
            else:
                out.published.append(ev)
    return out


_OFFICER = re.compile(r"officer '([^']*)'")


def _refused(ev: InputRefused, tick: list[tuple[str, str]]) -> list[str]:
    """The approvals of ``ev.ref`` in the tick that a refusal takes back: the officer its reason
    names, else the tick's only approver of it, else (no telling which) all of them."""
    officers = [o for s, o in tick if s == ev.ref]
    named = _OFFICER.search(ev.reason)
    if named is not None and named.group(1) in officers:
        return [named.group(1)]
    if len(set(officers)) == 1:
        return officers[:1]
    return officers


def _why_not(
    ev: StatementPublished, draft: StatementDrafted | None, needed: int, approved: set[str], policy: DisclosurePolicy
) -> str:
    if draft is None:
        return "no draft of this statement came before it"
    found = [f"{v.kind} {v.found!r}" for text in (ev.text_en, ev.text_ru) for v in policy.check(text)]
    if found:
        return "the policy withholds " + ", ".join(found)
    named = set(ev.approved_by)
    if len(named) < needed:
        return f"{len(named)} approval(s) named, {needed} needed"
    if not named <= approved:
        return "approved by " + ", ".join(sorted(named - approved)) + ", who did not approve it in the log"
    if draft.event_time is not None and ev.t < policy.release_time(draft.event_time, draft.topic):
        return "published before the policy's release time"
    return ""


__all__ = ["Vetted", "vet_statements"]
