"""The one interface every stage implements.

A stage is a deterministic function of (its state, the events of one tick, the tick's time):
it reads the events it cares about and returns the events it derives. It never reads the wall
clock or a global; the scenario and settings come in through its constructor. Its state lives in
the object and is rebuilt by replaying the log's inputs through it, so nothing lives only in
memory.

The runtime calls ``step`` once per ``Tick``: ``events`` holds the inputs logged since the last
tick, in log order, followed by what the earlier stages derived in this tick. Events a stage
returns carry their own time ``t`` (<= ``now``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from skywarden.events import Event


@runtime_checkable
class Stage(Protocol):
    name: str

    def step(self, now: datetime, events: Sequence[Event]) -> list[Event]:
        """Derive this tick's new events from ``events`` (the tick's inputs and upstream output)."""
        ...
