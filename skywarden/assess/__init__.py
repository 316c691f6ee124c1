"""Threat assessment: drone and unknown tracks against the protected zones.

``ThreatStage(scenario, config=None)`` (name ``"threat"``) raises, updates and clears threats;
``predict_entries`` is its array kernel (tracks x zones x time samples).
"""

from skywarden.assess.predict import (
    Circle,
    EntryPrediction,
    MotionModel,
    predict_entries,
    signed_distance,
)
from skywarden.assess.threat import THREAT_TRANSITIONS, ThreatConfig, ThreatStage

__all__ = [
    "THREAT_TRANSITIONS",
    "Circle",
    "EntryPrediction",
    "MotionModel",
    "ThreatConfig",
    "ThreatStage",
    "predict_entries",
    "signed_distance",
]
