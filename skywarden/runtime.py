"""Wires sources, stages, the clock and the log. The only place (with the sources) that may read
the wall clock.

One tick, as the log records it::

    inputs polled from the sources (t in (previous tick, now])   -- input events
    Tick(t=now)                                                    -- the clock, as an input
    stage 1's output, stage 2's output, ...                        -- derived events

appended as one atomic batch. Each stage, at each step, receives every event appended since its
previous step, in log order, so every event reaches every stage exactly once (an earlier stage
sees a later stage's output on the next tick).

Replay feeds a log's inputs, tick by tick, through fresh stages and compares what they derive
with what the log holds; resuming a log (after a crash, or to inject an input such as an external
claim) is the same replay followed by live ticks.
"""

from __future__ import annotations

import gc
import threading
import time as _time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from skywarden.errors import LogError
from skywarden.events import Event, InputEvent, NightOpened, Tick, encode, is_input
from skywarden.ingest.validate import check_encodable, guard_inputs
from skywarden.log import EventLog, Record, VerifyReport, hold_writer, open_log
from skywarden.scenario import LoadedScenario, load_scenario
from skywarden.stage import Stage

OBSERVE_LAG = 3  # ticks between a derived event and the source seeing it (Source.observe)


class Source(Protocol):
    """Something outside the stages that produces input events (simulator, file, wire)."""

    def poll(self, now: datetime) -> list[InputEvent]:
        """Inputs with t in (last poll, now], time-ordered."""
        ...

    def observe(self, events: Sequence[Event]) -> None:
        """Derived events, ``OBSERVE_LAG`` ticks late: before polling tick k the source has seen
        what ticks up to k - 1 - OBSERVE_LAG derived (so that a source can run that many ticks
        ahead of the stages, see ``skywarden.split``; the simulated crews and officers react
        later than that anyway: 5 s at the soonest)."""
        ...


class Sink(Protocol):
    """Something that acts on a tick's events outside the log (publishing channels).

    ``handle`` gets the tick's inputs and then its derived events (a publisher's policy learns
    from both). It may return input events describing what happened; the runtime logs them with
    the next tick's inputs. The publishing sinks the commands use return none and run beside the
    tick loop (``skywarden.disclosure.delivery``): an answer that comes on the wall clock would
    make the log depend on when it came.
    """

    def handle(self, events: Sequence[Event], now: datetime) -> list[InputEvent]: ...


# ---------------------------------------------------------------------------------- clocks


class Clock(Protocol):
    def ticks(self, start: datetime, end: datetime | None, tick_s: float) -> Iterator[datetime]: ...


@dataclass(frozen=True)
class SimulatedClock:
    """Ticks as fast as the machine allows: the simulated night and replays."""

    def ticks(self, start: datetime, end: datetime | None, tick_s: float) -> Iterator[datetime]:
        if end is None:
            raise ValueError("a simulated clock needs an end time")
        step = timedelta(seconds=tick_s)
        n = 1
        while (now := start + n * step) <= end:
            yield now
            n += 1


@dataclass(frozen=True)
class PacedClock:
    """Ticks in step with the wall clock, ``speed`` times faster than real time (1 = live)."""

    speed: float = 1.0
    sleep: Callable[[float], None] = _time.sleep
    monotonic: Callable[[], float] = _time.monotonic

    def ticks(self, start: datetime, end: datetime | None, tick_s: float) -> Iterator[datetime]:
        t0 = self.monotonic()
        step = timedelta(seconds=tick_s)
        n = 1
        while end is None or (start + n * step) <= end:
            due = t0 + n * tick_s / self.speed
            wait = due - self.monotonic()
            if wait > 0:
                self.sleep(wait)
            yield start + n * step
            n += 1


# ---------------------------------------------------------------------------------- the runtime


def advance_stages(stages: Sequence[Stage], carry: list[list[Event]], inputs: Sequence[Event], now: datetime) -> list[Event]:
    """One tick through ``stages``: each gets its ``carry`` (what it has not seen yet) plus
    ``inputs``, then every output goes to every stage's carry (a later stage sees it now, an
    earlier one next tick). Returns the derived events in stage order."""
    for c in carry:
        c.extend(inputs)
    derived: list[Event] = []
    for i, stage in enumerate(stages):
        out = stage.step(now, carry[i])
        carry[i] = []
        if out:
            for ev in out:
                if is_input(ev):
                    raise TypeError(f"stage {stage.name!r} emitted an input event {type(ev).__name__}")
            for c in carry:
                c.extend(out)
            derived.extend(out)
    return derived


@dataclass
class TickResult:
    now: datetime
    inputs: list[Event]
    derived: list[Event]


@dataclass
class Runtime:
    """Runs stages over a source, tick by tick, appending everything to the log."""

    log: EventLog
    stages: list[Stage]
    source: Source | None = None
    sinks: list[Sink] = field(default_factory=list)
    _carry: list[list[Event]] = field(init=False, repr=False)
    _pending_inputs: list[InputEvent] = field(init=False, repr=False, default_factory=list)
    # inputs to log at the head of the next tick, in its batch (a fresh night's NightOpened): a
    # log never holds them without the tick, so no kill can leave them for a resume to log twice
    opening: list[InputEvent] = field(repr=False, default_factory=list)
    # the last OBSERVE_LAG ticks' derived events, oldest first: not yet shown to the source
    _held: list[list[Event]] = field(init=False, repr=False, default_factory=lambda: [[] for _ in range(OBSERVE_LAG)])
    last_tick: datetime | None = None

    def __post_init__(self) -> None:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique: {names}")
        self._carry = [[] for _ in self.stages]

    # -- the one step --------------------------------------------------------------------
    def advance(self, inputs: Sequence[Event], now: datetime) -> list[Event]:
        """Run all stages for one tick over ``inputs`` (which end with the Tick); return derived."""
        return advance_stages(self.stages, self._carry, inputs, now)

    def observed(self, derived: list[Event]) -> None:
        """Hold this tick's derived events and hand the source those of OBSERVE_LAG ticks ago
        (as ``Source.observe`` promises)."""
        self._held.append(derived)
        oldest = self._held.pop(0)
        if self.source is not None:
            self.source.observe(oldest)

    def tick(self, now: datetime) -> TickResult:
        """Poll, append inputs + Tick + derived atomically, then let sources and sinks react."""
        # what the log could not store and read back never reaches the stages or the log (the
        # night's opening, built here, always can)
        inputs: list[Event] = [*self.opening, *guard_inputs(self._pending_inputs)]
        self.opening, self._pending_inputs = [], []
        if self.source is not None:
            inputs.extend(guard_inputs(self.source.poll(now)))
        inputs.append(Tick(t=now))
        derived = self.advance(inputs, now)
        check_encodable(derived)
        self.log.append([*inputs, *derived])
        self.last_tick = now
        self.observed(derived)
        for sink in self.sinks:
            self._pending_inputs.extend(sink.handle([*inputs, *derived], now))
        return TickResult(now, inputs, derived)

    def submit(self, events: Iterable[InputEvent]) -> None:
        """Queue inputs (e.g. an operator's approval) for the next tick."""
        for ev in events:
            if not is_input(ev):
                raise TypeError(f"only inputs can be submitted, not {type(ev).__name__}")
            self._pending_inputs.append(ev)

    def run(
        self,
        clock: Clock,
        start: datetime,
        end: datetime | None,
        tick_s: float,
        on_tick: Callable[[TickResult], None] | None = None,
    ) -> None:
        for now in clock.ticks(start, end, tick_s):
            result = self.tick(now)
            if on_tick is not None:
                on_tick(result)


@contextmanager
def settled_heap(every_s: float | None = None) -> Iterator[None]:
    """Run a long loop with what exists now out of the garbage collector's sight.

    Everything built before a night (modules, scenario, stages, road graph) lives through it,
    yet every full collection walks it again: about 20 ms each with numpy and scipy loaded,
    dozens of times a night and, on a 5,000-target tracker, in the scans that collections
    land in. ``gc.freeze`` sets those objects aside for the loop; ``gc.unfreeze`` hands them
    back after it, so a caller that plays many nights (tests) keeps collecting them.

    ``every_s``: set aside again, that often, what has lived since (after collecting the young
    generations, so no young garbage is kept): what the night builds once under way, the
    kernels compiled on their first use above all, would otherwise make every full collection
    100 ms (1,000 live tracks; one every few seconds; 10-25 ms once set aside, and rarer).
    """
    gc.collect()
    gc.freeze()
    stop = threading.Event()

    def resettle() -> None:
        assert every_s is not None
        while not stop.wait(every_s):
            gc.collect(1)
            gc.freeze()

    again = threading.Thread(target=resettle, name="skywarden-settle", daemon=True) if every_s else None
    if again is not None:
        again.start()
    try:
        yield
    finally:
        stop.set()
        if again is not None:
            again.join()
        gc.unfreeze()


# ---------------------------------------------------------------------------------- replay


@dataclass
class ReplayReport:
    ticks: int = 0
    inputs: int = 0
    derived_logged: int = 0
    derived_replayed: int = 0
    first_difference: str | None = None
    last_tick: datetime | None = None
    night: NightOpened | None = None

    @property
    def identical(self) -> bool:
        return self.first_difference is None and self.derived_logged == self.derived_replayed


def iter_ticks(events: Iterable[tuple[int, Event]]) -> Iterator[tuple[list[Event], Tick | None, list[tuple[int, Event]]]]:
    """Group a log into ticks: (inputs up to and including the Tick, the Tick, derived after it).

    A trailing group without a Tick (inputs a crash left before their tick) comes last with
    ``None`` as its tick.
    """
    inputs: list[Event] = []
    derived: list[tuple[int, Event]] = []
    tick: Tick | None = None
    for seq, ev in events:
        if is_input(ev):
            if tick is not None:
                yield inputs, tick, derived
                inputs, derived, tick = [], [], None
            inputs.append(ev)
            if isinstance(ev, Tick):
                tick = ev
        else:
            if tick is None:
                raise LogError(f"record {seq}: derived event {type(ev).__name__} before any tick")
            derived.append((seq, ev))
    if tick is not None or inputs:
        yield inputs, tick, derived


def replay(
    log: EventLog,
    stages: list[Stage],
    until: datetime | None = None,
    out: EventLog | None = None,
    on_tick: Callable[[TickResult], None] | None = None,
    source: Source | None = None,
) -> tuple[ReplayReport, Runtime]:
    """Feed the log's inputs through ``stages`` and compare what they derive with the log.

    ``out`` receives the replayed night (inputs + freshly derived events). A ``source`` given
    here is brought to the same state (its polls are discarded, it observes the replayed derived
    events), so that a resumed night goes on exactly as it would have.
    Returns the report and the runtime, ready to continue from the last complete tick.
    """
    rt = Runtime(log=out or _NullLog(), stages=stages, source=source)
    report = ReplayReport()
    records = ((r.seq, r.event()) for r in log.read())
    for inputs, tick, logged in iter_ticks(records):
        if tick is None:
            # inputs logged without their tick (a log written before ticks carried the night's
            # opening in their batch, killed between the two): they are in the log already, so
            # they are not logged again; the stages see them with the next tick, as they would have
            for c in rt._carry:
                c.extend(inputs)
            report.inputs += len(inputs)
            break
        if until is not None and tick.t > until:
            break
        for ev in inputs:
            if isinstance(ev, NightOpened):
                report.night = ev
        if source is not None:
            source.poll(tick.t)
        derived = rt.advance(inputs, tick.t)
        if out is not None:
            out.append([*inputs, *derived])
        rt.observed(derived)
        report.ticks += 1
        report.inputs += len(inputs)
        report.derived_logged += len(logged)
        report.derived_replayed += len(derived)
        report.last_tick = tick.t
        rt.last_tick = tick.t
        if report.first_difference is None:
            for k in range(max(len(derived), len(logged))):
                a = encode(derived[k]) if k < len(derived) else b"(nothing)"
                b = encode(logged[k][1]) if k < len(logged) else b"(nothing)"
                if a != b:
                    where = f"record {logged[k][0]}" if k < len(logged) else f"after tick {tick.t.isoformat()}"
                    report.first_difference = (
                        f"{where}: log has {b[:160].decode(errors='replace')} / replay gives {a[:160].decode(errors='replace')}"
                    )
                    break
        if on_tick is not None:
            on_tick(TickResult(tick.t, inputs, derived))
    return report, rt


class _NullLog:
    url = "null://"

    def append(self, events: Sequence[Event]) -> int:
        return 0

    def read(self, after: int = 0) -> Iterator[Record]:
        return iter(())

    def last_seq(self) -> int:
        return 0

    def verify(self) -> VerifyReport:
        raise LogError("nothing to verify")

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------- helpers


def night_opened(scenario: LoadedScenario, seed: int | None = None) -> NightOpened:
    return NightOpened(
        t=scenario.start,
        scenario=scenario.name,
        seed=scenario.spec.night.seed if seed is None else seed,
        tick_s=scenario.spec.night.tick_s,
        timezone=scenario.spec.night.timezone,
        scenario_digest=scenario.digest,
        scenario_path=str(scenario.path),
    )


def scenario_of(night: NightOpened, override: str | None = None) -> LoadedScenario:
    """The scenario a logged night was played on: ``override``, else the recorded path, else the
    shipped default; a file whose contents changed since (digest differs) is refused."""
    from skywarden.errors import ScenarioError
    from skywarden.scenario import default_scenario_path

    candidates = [override] if override else [night.scenario_path, str(default_scenario_path())]
    for cand in candidates:
        if not cand:
            continue
        try:
            scn = load_scenario(cand)
        except ScenarioError:
            if override:
                raise
            continue
        if override or scn.digest == night.scenario_digest:
            if night.t != scn.start:  # a live night is the scenario moved to when it was served
                from dataclasses import replace

                scn = replace(scn, start=night.t, end=night.t + (scn.end - scn.start))
            return scn
    raise LogError(
        f"the scenario this night was played on ({night.scenario!r}, digest {night.scenario_digest}) "
        "was not found unchanged; pass it with --scenario"
    )


def first_event(log: EventLog) -> Event | None:
    for rec in log.read():
        return rec.event()
    return None


def inject(
    log_url: str,
    events: Sequence[InputEvent],
    scenario: LoadedScenario | None = None,
    now: datetime | None = None,
) -> list[Event]:
    """Append inputs to an existing night and run one tick of the stages on them.

    The stages are those after the log's last tick: from the stage snapshot beside the log when
    it is exactly that state (``skywarden.snapshot``), else rebuilt by replaying the log (nothing
    lives only in memory); a fresh snapshot is left for the next call. The new tick is at ``now``
    (default: the later of the last tick + tick_s and the newest input's time). Returns the
    derived events of that tick.
    """
    from skywarden import snapshot
    from skywarden.pipeline import DEFAULT_ORDER, build_stages

    log = open_log(log_url)
    try:
        hold_writer(log)  # one writer per night: refused now, not after the replay
        head = first_event(log)
        if not isinstance(head, NightOpened):
            raise LogError(f"{log_url}: not a Skywarden night (no night_opened record)")
        # (a scenario given here may differ from the one the snapshot's stages were built on)
        restored = snapshot.restore(log, list(DEFAULT_ORDER)) if scenario is None else None
        if restored is not None and restored.last_tick is not None:
            rt, last = restored, restored.last_tick
        else:  # only now is the scenario needed: the stages are built from it and replayed
            scn = scenario or scenario_of(head)
            report, rt = replay(log, build_stages(scn))
            last = report.last_tick or scn.start
        tick = timedelta(seconds=head.tick_s)
        when = now or max([last + tick, *[e.t + tick for e in events]])
        if when <= last:
            raise ValueError(f"the new tick ({when.isoformat()}) must come after the last one ({last.isoformat()})")
        rt.log = log
        rt.submit(events)
        derived = rt.tick(when).derived
        snapshot.save(log, rt)
        return derived
    finally:
        log.close()
