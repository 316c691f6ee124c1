"""The statement lifecycle and the approval rules.

    drafted ──approve──► partially_approved ──approve──► approved ──publish──► published
       │  ▲                     │   ▲                        │
       │  └──────edit───────────┘   └─(an edit resets every approval)
       └──reject──► rejected ◄──reject── (from any state before published)

The lifecycle is the table :data:`TRANSITIONS` (state -> states it may go to); any other change
raises :class:`~skywarden.errors.TransitionError`. The approval rules raise
:class:`~skywarden.errors.ApprovalError`:

* the officer must be on the scenario's officer list, under the role the input claims, and that
  role must be one the policy lets approve (``approval.roles``; edit: ``approval.edit_roles``);
* one officer approves a statement once (two approvers means two different officers);
* the officer who edited the current text may not approve it (a drafter never approves their own draft);
* an edit after approvals resets them: everyone approves the new text again.

Every accepted approval, edit and rejection stays in the statement's ``history`` (who, what,
when); the inputs themselves are in the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from skywarden.disclosure.policy import ApprovalRules
from skywarden.errors import ApprovalError, TransitionError
from skywarden.scenario.model import Officer

StatementState = Literal["drafted", "partially_approved", "approved", "published", "rejected"]

TRANSITIONS: dict[StatementState, frozenset[StatementState]] = {
    "drafted": frozenset({"partially_approved", "approved", "drafted", "rejected"}),
    "partially_approved": frozenset({"partially_approved", "approved", "drafted", "rejected"}),
    "approved": frozenset({"published", "drafted", "rejected"}),
    "published": frozenset(),
    "rejected": frozenset(),
}


def transition(what: str, current: StatementState, wanted: StatementState) -> StatementState:
    """``wanted`` if the table allows it from ``current``; else :class:`TransitionError`."""
    if wanted not in TRANSITIONS[current]:
        raise TransitionError(what, current, wanted)
    return wanted


@dataclass(frozen=True, slots=True)
class Action:
    """One accepted step in a statement's history."""

    t: datetime
    action: Literal["drafted", "approved", "edited", "rejected", "withdrawn", "published"]
    officer: str = ""
    role: str = ""


@dataclass
class Statement:
    """A statement between drafting and publication. Times UTC."""

    statement_id: str
    topic: str
    text_en: str
    text_ru: str
    approvals_needed: int
    drafted_at: datetime
    event_time: datetime | None = None
    about: list[str] = field(default_factory=list)
    state: StatementState = "drafted"
    approvals: list[Action] = field(default_factory=list)
    history: list[Action] = field(default_factory=list)
    # words of the current text that the vocabulary does not explain, let stand for a second
    # look ([edit] unexplained = "second_approver"): (lang, start, end); each such text needs
    # one approval more than its topic
    flagged: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def approved_by(self) -> list[str]:
        return [a.officer for a in self.approvals]

    @property
    def needed(self) -> int:
        """Approvals the current text needs: the topic's, and one more for a flagged text."""
        return self.approvals_needed + (1 if self.flagged else 0)

    @property
    def editor(self) -> str:
        """Who wrote the current text: the last editor, or "" for the stage's own draft."""
        for act in reversed(self.history):
            if act.action == "edited":
                return act.officer
        return ""

    def _officer(
        self, officers: dict[str, Officer], officer: str, role: str, allowed: list[str]
    ) -> None:
        o = officers.get(officer)
        if o is None:
            raise ApprovalError(f"unknown officer {officer!r}")
        if o.role != role:
            raise ApprovalError(f"officer {officer!r} holds the role {o.role!r}, not {role!r}")
        if role not in allowed:
            raise ApprovalError(
                f"the role {role!r} may not do this (allowed: {', '.join(allowed)})"
            )

    def approve(
        self,
        t: datetime,
        officer: str,
        role: str,
        officers: dict[str, Officer],
        rules: ApprovalRules,
    ) -> StatementState:
        """Record one approval; returns the new state. Raises ApprovalError / TransitionError."""
        if self.state in ("published", "rejected"):
            raise TransitionError(f"statement {self.statement_id}", self.state, "approved")
        self._officer(officers, officer, role, rules.roles)
        if officer == self.editor:
            raise ApprovalError(
                f"officer {officer!r} wrote this text of {self.statement_id}; another officer must approve it"
            )
        if officer in self.approved_by:
            raise ApprovalError(f"officer {officer!r} has already approved {self.statement_id}")
        done = len(self.approvals) + 1 >= self.needed
        self.state = transition(
            f"statement {self.statement_id}",
            self.state,
            "approved" if done else "partially_approved",
        )
        act = Action(t, "approved", officer, role)
        self.approvals.append(act)
        self.history.append(act)
        return self.state

    def edit(
        self,
        t: datetime,
        editor: str,
        role: str,
        text_en: str,
        text_ru: str,
        officers: dict[str, Officer],
        rules: ApprovalRules,
        flagged: list[tuple[str, int, int]] | None = None,
    ) -> StatementState:
        """Replace the texts; every approval given so far is reset (the new text needs its own).
        ``flagged``: the new text's unexplained words, let stand for one more approver."""
        self.may_edit(editor, role, officers, rules)
        self.state = transition(f"statement {self.statement_id}", self.state, "drafted")
        self.text_en, self.text_ru = text_en, text_ru
        self.flagged = list(flagged or [])
        self.approvals.clear()
        self.history.append(Action(t, "edited", editor, role))
        return self.state

    def may_edit(
        self, editor: str, role: str, officers: dict[str, Officer], rules: ApprovalRules
    ) -> None:
        """Raise as :meth:`edit` would, without changing anything."""
        if self.state in ("published", "rejected"):
            raise TransitionError(f"statement {self.statement_id}", self.state, "drafted")
        self._officer(officers, editor, role, rules.edit_roles)

    def reject(
        self,
        t: datetime,
        officer: str,
        role: str,
        officers: dict[str, Officer],
        rules: ApprovalRules,
    ) -> StatementState:
        if self.state in ("published", "rejected"):
            raise TransitionError(f"statement {self.statement_id}", self.state, "rejected")
        self._officer(officers, officer, role, rules.roles)
        self.state = transition(f"statement {self.statement_id}", self.state, "rejected")
        self.history.append(Action(t, "rejected", officer, role))
        return self.state

    def withdraw(self, t: datetime, reason: str) -> StatementState:
        """The stage takes back an unpublished statement whose facts changed (a kill retracted)."""
        self.state = transition(f"statement {self.statement_id}", self.state, "rejected")
        self.history.append(Action(t, "withdrawn", role=reason))
        return self.state

    def publish(self, t: datetime) -> StatementState:
        """Only an approved statement is published (never without its approvals)."""
        if self.state != "approved" or len(self.approvals) < self.needed:
            raise TransitionError(f"statement {self.statement_id}", self.state, "published")
        self.state = transition(f"statement {self.statement_id}", self.state, "published")
        self.history.append(Action(t, "published"))
        return self.state


__all__ = ["TRANSITIONS", "Action", "Statement", "StatementState", "transition"]
