"""Outside claims scripted in the scenario (press, witnesses), recorded at their time."""

from __future__ import annotations

from datetime import timedelta

from skywarden.events import ClaimRecorded, InputEvent
from skywarden.scenario.load import LoadedScenario

ONE_US = timedelta(microseconds=1)


class Claims:
    def __init__(self, scenario: LoadedScenario, rank: int) -> None:
        self.rank = rank
        start = scenario.start
        events: list[tuple[int, InputEvent]] = []
        for c in scenario.spec.claims:
            t = scenario.at(c.at)
            events.append(
                (
                    (t - start) // ONE_US,
                    ClaimRecorded(
                        t=t,
                        claim_id=c.id,
                        source=c.source,
                        what=c.what,
                        count=c.count,
                        when_from=scenario.at(c.time_from) if c.time_from else None,
                        when_to=scenario.at(c.time_to) if c.time_to else None,
                        where=c.where,
                        text=c.text,
                    ),
                )
            )
        self._events = sorted(events, key=lambda e: e[0])

    def due(self, after_us: int, upto_us: int) -> list[tuple[int, InputEvent]]:
        return [e for e in self._events if after_us < e[0] <= upto_us]
