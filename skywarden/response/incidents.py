"""The incidents projection, under the response stage's name: it lives in
:mod:`skywarden.log.incidents` with the log's other projections (reading incidents need not
import the response stages)."""

from skywarden.log.incidents import (
    INCIDENT_KINDS,
    Incident,
    KillRecord,
    TimelineEntry,
    build_incidents,
    find_incident,
    incident_events,
    night_timezone,
)

__all__ = [
    "INCIDENT_KINDS",
    "Incident",
    "KillRecord",
    "TimelineEntry",
    "build_incidents",
    "find_incident",
    "incident_events",
    "night_timezone",
]
