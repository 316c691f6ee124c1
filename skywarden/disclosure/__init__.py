"""Public statements and the claims ledger: policy, drafting, approval, publishing, claims.

The disclosure policy (:class:`DisclosurePolicy`) is the one place that decides what may be
published; the stage (:class:`DisclosureStage`) drafts statements from the log, waits for
officers' approval, publishes when the policy's release time has come, and checks outside claims
against the log.
"""

from skywarden.disclosure.policy import (
    ApprovalRules,
    DisclosurePolicy,
    Draft,
    Place,
    PlaceRules,
    PolicyRules,
    Public,
    TimeRules,
    Violation,
    WithholdRules,
    default_policy_path,
    load_rules,
)

__all__ = [
    "ApprovalRules",
    "DisclosurePolicy",
    "Draft",
    "Place",
    "PlaceRules",
    "PolicyRules",
    "Public",
    "TimeRules",
    "Violation",
    "WithholdRules",
    "default_policy_path",
    "load_rules",
]
