"""Which of a log's ``statement_published`` records the disclosure policy would have let out.

The log is evidence, not authority: anyone able to append to it (a forged record keeps the chain
valid when appended in turn) could add a ``statement_published`` that no officer approved, or
that names what the policy withholds. A report exports as published only what the disclosure
stage could have published; the rest is listed apart, with the reason, for the operators.

A record counts as published when, in log order,

* a ``statement_drafted`` of that id came before it (the stage drafts every statement it publishes);
* its texts pass the policy's check, the policy having learnt from every earlier record the
  names it withholds (units, effectors, sensors), as the stage's policy had;
* it names at least the draft's ``approvals_needed`` distinct officers, each of whom approved
  that statement after its last edit, in a role the policy allows to approve;
* it comes no sooner than the policy's release time for the draft's topic and event time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from skywarden.disclosure.policy import DisclosurePolicy
from skywarden.events import (
    Event,
    StatementApproved,
    StatementDrafted,
    StatementEdited,
    StatementPublished,
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
    approvers: dict[str, set[str]] = {}  # statement -> officers who approved it since its last edit
    roles = set(policy.rules.approval.roles)
    for ev in events:
        policy.learn((ev,))
        if isinstance(ev, StatementDrafted):
            drafts[ev.statement_id] = ev
            approvers[ev.statement_id] = set()
        elif isinstance(ev, StatementEdited):
            approvers[ev.statement_id] = set()
        elif isinstance(ev, StatementApproved) and ev.role in roles:
            approvers.setdefault(ev.statement_id, set()).add(ev.officer)
        elif isinstance(ev, StatementPublished):
            why = _why_not(ev, drafts.get(ev.statement_id), approvers.get(ev.statement_id, set()), policy)
            if why:
                out.held.append((ev, why))
            else:
                out.published.append(ev)
    return out


def _why_not(ev: StatementPublished, draft: StatementDrafted | None, approved: set[str], policy: DisclosurePolicy) -> str:
    if draft is None:
        return "no draft of this statement came before it"
    found = [f"{v.kind} {v.found!r}" for text in (ev.text_en, ev.text_ru) for v in policy.check(text)]
    if found:
        return "the policy withholds " + ", ".join(found)
    named = set(ev.approved_by)
    if len(named) < draft.approvals_needed:
        return f"{len(named)} approval(s) named, {draft.approvals_needed} needed"
    if not named <= approved:
        return "approved by " + ", ".join(sorted(named - approved)) + ", who did not approve it in the log"
    if draft.event_time is not None and ev.t < policy.release_time(draft.event_time, draft.topic):
        return "published before the policy's release time"
    return ""


__all__ = ["Vetted", "vet_statements"]
