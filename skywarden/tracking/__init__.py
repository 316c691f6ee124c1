"""Tracking: many sensors' plots -> confirmed, classified tracks with stable identities.

``Tracker`` is the array-based multi-target tracker (IMM filter, chi-square gating, GNN or
JPDA association, M-of-N confirmation, time-based deletion, cooperative identity fusion,
classification); ``TrackingStage`` adapts it to the event log.
"""

from skywarden.tracking.convert import polar_to_enu
from skywarden.tracking.stage import TrackingConfig, TrackingStage
from skywarden.tracking.tracker import Scan, Tracker, TrackerConfig, TrackTable

__all__ = [
    "Scan",
    "Tracker",
    "TrackerConfig",
    "TrackTable",
    "TrackingConfig",
    "TrackingStage",
    "polar_to_enu",
]
