"""Simulated press officers: the scripted publishers approve each drafted statement.

On a ``StatementDrafted`` the first ``approvals_needed`` officers with the role "publisher" (in
scenario order) each send a ``StatementApproved`` ``approve_delay_s`` after the draft, naming the
SHA-256 of the drafted text (so an edit in between voids their approval). Officers
of other roles do nothing, and so does an edit; a statement id seen before is not approved twice.
"""

from __future__ import annotations

import heapq
from datetime import timedelta

from skywarden.disclosure.binding import text_sha256
from skywarden.events import InputEvent, StatementApproved, StatementDrafted
from skywarden.scenario.load import LoadedScenario

US = 1_000_000


class Officers:
    rank: int

    def __init__(self, scenario: LoadedScenario, rank: int, scripted: bool = True) -> None:
        self.rank = rank
        self._start = scenario.start
        # without a script (people approve in the console) nobody here approves anything
        self._publishers = [o for o in scenario.spec.officers if o.role == "publisher" and scripted]
        self._seen: set[str] = set()
        self._heap: list[tuple[int, int, StatementApproved]] = []
        self._seq = 0
        self.short: list[str] = []  # statements needing more publishers than the scenario has

    def drafted(self, ev: StatementDrafted, floor_us: int) -> None:
        if ev.statement_id in self._seen:
            return
        self._seen.add(ev.statement_id)
        who = self._publishers[: max(0, ev.approvals_needed)]
        if self._publishers and len(who) < ev.approvals_needed:
            self.short.append(ev.statement_id)
        d_us = (ev.t - self._start) // timedelta(microseconds=1)
        for o in who:
            t_us = max(d_us + round(o.approve_delay_s * US), floor_us + 1)
            ap = StatementApproved(
                t=self._start + timedelta(microseconds=t_us),
                statement_id=ev.statement_id,
                officer=o.id,
                role=o.role,
                text_sha256=text_sha256(ev.text_en, ev.text_ru),  # the draft it read
            )
            heapq.heappush(self._heap, (t_us, self._seq, ap))
            self._seq += 1

    def due(self, after_us: int, upto_us: int) -> list[tuple[int, InputEvent]]:
        out: list[tuple[int, InputEvent]] = []
        while self._heap and self._heap[0][0] <= upto_us:
            t_us, _, ap = heapq.heappop(self._heap)
            if t_us > after_us:
                out.append((t_us, ap))
        return out
