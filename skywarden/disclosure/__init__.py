"""Public statements and the claims ledger: policy, drafting, approval, publishing, claims.

The disclosure policy (:class:`DisclosurePolicy`) is the one place that decides what may be
published; the stage (:class:`DisclosureStage`) drafts statements from the log, waits for
officers' approval, publishes when the policy's release time has come, and checks outside claims
against the log (:class:`ClaimAssessor`).
"""

from skywarden.disclosure.approval import TRANSITIONS, Statement, StatementState
from skywarden.disclosure.claims import Assessment, ClaimAssessor, ClaimsConfig
from skywarden.disclosure.drafting import TEMPLATES
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
from skywarden.disclosure.stage import DisclosureConfig, DisclosureStage, replay_statements

__all__ = [
    "TEMPLATES",
    "TRANSITIONS",
    "ApprovalRules",
    "Assessment",
    "ClaimAssessor",
    "ClaimsConfig",
    "DisclosureConfig",
    "DisclosurePolicy",
    "DisclosureStage",
    "Draft",
    "Place",
    "PlaceRules",
    "PolicyRules",
    "Public",
    "Statement",
    "StatementState",
    "TimeRules",
    "Violation",
    "WithholdRules",
    "default_policy_path",
    "load_rules",
    "replay_statements",
]
