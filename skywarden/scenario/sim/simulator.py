"""The simulator as a source: ``poll(now)`` for the night's inputs, ``observe`` for the reactions.

    sim = Simulator(scenario)          # seed: scenario.spec.night.seed unless given
    events = sim.poll(now)             # inputs with t in (previous poll, now], sorted by t
    sim.observe(derived)               # the tick's derived events: crews and officers react
    sim.truth                          # trajectories, kills, what each kill report really was

The air picture, the sensors and the air-defence command depend only on the scenario, the seed
and the settings, so their events are identical however the night is cut into polls. Crews and
officers react to what the stages derive; what they say is scheduled strictly after the last
poll, so nothing is ever emitted into a window already handed out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from skywarden.events import CrewDispatched, Event, InputEvent, StatementDrafted
from skywarden.scenario.load import LoadedScenario
from skywarden.scenario.sim.claims import Claims
from skywarden.scenario.sim.command import Command
from skywarden.scenario.sim.config import SimConfig
from skywarden.scenario.sim.crews import Crews
from skywarden.scenario.sim.officers import Officers
from skywarden.scenario.sim.sensors import build_scanners
from skywarden.scenario.sim.truth import Truth, build_truth

ONE_US = timedelta(microseconds=1)


Key = tuple[int, int, int]  # (time in microseconds, source rank, order within the source)


def _due(sources: Iterable[_Source], after_us: int, upto_us: int) -> list[tuple[Key, InputEvent]]:
    return [
        ((t_us, src.rank, seq), ev)
        for src in sources
        for seq, (t_us, ev) in enumerate(src.due(after_us, upto_us))
    ]


class _Source(Protocol):
    rank: int

    def due(self, after_us: int, upto_us: int) -> list[tuple[int, InputEvent]]: ...


class Simulator:
    """A seeded, deterministic play of a scenario night (see the module docstring)."""

    name = "simulator"

    def __init__(
        self, scenario: LoadedScenario, seed: int | None = None, config: SimConfig | None = None
    ) -> None:
        self.scenario = scenario
        self.seed = scenario.spec.night.seed if seed is None else int(seed)
        self.config = config or SimConfig()
        if self.config.grid_dt_s <= 0:
            raise ValueError("SimConfig.grid_dt_s must be positive")
        self.truth: Truth = build_truth(scenario, self.seed, self.config)
        scanners = build_scanners(scenario, self.truth, self.seed, self.config)
        n = len(scanners)
        self._command = Command(scenario, self.truth, self.seed, self.config, rank=n)
        self.truth.reports = self._command.reports
        self.crews = Crews(scenario, self.seed, self.config, rank=n + 1)
        self.truth.crews = self.crews
        self.officers = Officers(scenario, rank=n + 2, scripted=self.config.scripted_officers)
        # the air picture, the sensors and the command depend on nothing the stages derive; the
        # crews, officers and claims react to it (observe)
        self._independent: list[_Source] = [*scanners, self._command]
        self._reactive: list[_Source] = [self.crews, self.officers, Claims(scenario, rank=n + 3)]
        self._last_us = 0  # the reactive part's last poll (what reactions are scheduled after)
        self._ahead_us = 0  # the independent part's, which may run ahead (poll_independent)
        self._elsewhere_us = 0  # how far another copy polled the independent part (polled_elsewhere)

    @property
    def start(self) -> datetime:
        return self.scenario.start

    @property
    def end(self) -> datetime:
        return self.scenario.end

    @property
    def last_poll(self) -> datetime:
        return self.scenario.start + self._last_us * ONE_US

    def poll(self, now: datetime) -> list[InputEvent]:
        """Every input with ``t`` in (previous poll, ``now``], in time order; ties keep source
        order (sensors in scenario order, then the command, crews, officers) and then the order
        each source made them. A ``now`` not after the previous poll returns nothing."""
        batch = self.poll_independent(now) + self.poll_reactive(now)
        batch.sort(key=lambda kv: kv[0])
        return [ev for _, ev in batch]

    def poll_independent(self, now: datetime) -> list[tuple[Key, InputEvent]]:
        """:meth:`poll` of the sensors and the command only, each event with its sort key. They
        do not depend on what the stages derive, so they may be polled ahead of the rest (a
        two-process night does); merged by key with :meth:`poll_reactive` of the same windows,
        they are what :meth:`poll` gives."""
        if self._elsewhere_us > self._ahead_us:
            # what the other copy already gave: played again, for the draws, and dropped
            upto = self.scenario.start + self._elsewhere_us * ONE_US
            _, self._ahead_us = self._poll(self._independent, self._ahead_us, upto)
        out, self._ahead_us = self._poll(self._independent, self._ahead_us, now)
        return out

    def polled_elsewhere(self, upto: datetime) -> None:
        """Another copy of this simulator (a two-process night's worker, forked from this one)
        polled the independent part up to ``upto``, and its reports are in the log: the next
        :meth:`poll_independent` here first plays that window and drops what it gives, so that
        it goes on with the same draws as that copy (nothing is simulated until it is asked)."""
        self._elsewhere_us = max(self._elsewhere_us, self._us(upto))

    def poll_reactive(self, now: datetime) -> list[tuple[Key, InputEvent]]:
        """:meth:`poll` of the crews, officers and claims only, each event with its sort key."""
        out, self._last_us = self._poll(self._reactive, self._last_us, now)
        return out

    def _poll(self, sources: list[_Source], after_us: int, now: datetime) -> tuple[list[tuple[Key, InputEvent]], int]:
        """The keyed events of ``sources`` in (after_us, now], and the new cursor."""
        now_us = self._us(now)
        if now_us <= after_us:
            return [], after_us
        return _due(sources, after_us, now_us), now_us

    def _us(self, now: datetime) -> int:
        if now.tzinfo is None:
            raise ValueError(f"poll() needs a tz-aware time, got {now!r}")
        return (now - self.scenario.start) // ONE_US

    def observe(self, events: Iterable[Event]) -> None:
        """React to derived events: crews to ``CrewDispatched``, officers to ``StatementDrafted``.
        Everything else is ignored."""
        for ev in events:
            if isinstance(ev, CrewDispatched):
                self.crews.dispatched(ev, self._last_us)
            elif isinstance(ev, StatementDrafted):
                self.officers.drafted(ev, self._last_us)

    def run(self, step_s: float = 1.0, until: datetime | None = None) -> list[InputEvent]:
        """Poll the whole night (or up to ``until``) every ``step_s`` without any stage: the
        inputs alone, e.g. for tests and benchmarks."""
        end = until or self.scenario.end
        out: list[InputEvent] = []
        step = timedelta(seconds=step_s)
        t = self.last_poll + step
        while t < end:
            out.extend(self.poll(t))
            t += step
        out.extend(self.poll(end))
        return out
