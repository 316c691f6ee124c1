"""Play a scenario night into a log: fresh, or resumed after a crash. Used by ``run`` and ``demo``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from skywarden import snapshot
from skywarden.errors import ConfigError, LogError
from skywarden.events import NightOpened
from skywarden.log import EventLog
from skywarden.pipeline import DEFAULT_ORDER, build_stages
from skywarden.runtime import (
    Clock,
    ReplayReport,
    Runtime,
    SimulatedClock,
    Sink,
    Source,
    TickResult,
    first_event,
    night_opened,
    replay,
    settled_heap,
)
from skywarden.scenario import LoadedScenario
from skywarden.split import SplitTimes, can_split, run_split
from skywarden.stage import Stage


@dataclass
class PlayResult:
    log_url: str
    ticks: int
    resumed_from: datetime | None
    replay: ReplayReport | None
    split: SplitTimes | None = None  # where the time went, when played on two processes


def play_night(
    scenario: LoadedScenario,
    log: EventLog,
    *,
    until: datetime | None = None,
    clock: Clock | None = None,
    sinks: Sequence[Sink] | Callable[[list[Stage]], Sequence[Sink]] = (),
    stage_names: Sequence[str] = DEFAULT_ORDER,
    seed: int | None = None,
    resume: bool = False,
    on_tick: Callable[[TickResult], None] | None = None,
    source: Source | None = None,
    workers: int | None = None,
) -> PlayResult:
    """Simulate ``scenario`` into ``log`` up to ``until`` (default: the night's end).

    With ``resume``, an existing log is continued: its inputs are replayed through fresh stages
    and a fresh simulator (which must reproduce what the log holds), then live ticks go on from
    the last complete tick. A log that already holds a night refuses a fresh start.
    ``source`` replaces the simulator (e.g. a recording of reports). ``sinks`` may be a function
    of the built stages (publishing channels share the disclosure stages' policy object).
    ``workers``: 2 plays the source and tracker in a second process (``skywarden.split``), 1 in
    this one; by default 2 where that applies (a simulated clock, fork, two cores). The log is
    the same either way.
    """
    end = min(until, scenario.end) if until else scenario.end
    stages = build_stages(scenario, stage_names)
    if source is None:
        from skywarden.scenario.sim import Simulator

        source = Simulator(scenario, seed=seed)
    sim = source
    head = first_event(log)
    resumed_from: datetime | None = None
    report: ReplayReport | None = None
    if head is not None:
        if not resume:
            raise LogError(f"{log.url} already holds a night; use --resume to continue it, or another --log")
        if not isinstance(head, NightOpened) or head.scenario_digest != scenario.digest:
            raise LogError(f"{log.url} holds another night (not {scenario.name!r} as loaded now)")
        if seed is not None and head.seed != seed:
            raise LogError(f"{log.url} was played with seed {head.seed}, not {seed}")
        report, rt = replay(log, stages, source=sim)
        if not report.identical:
            raise LogError(f"{log.url}: replay does not reproduce the log ({report.first_difference})")
        rt.log, rt.source = log, sim
        resumed_from = report.last_tick
    else:
        # the night's opening is logged in the first tick's batch, never alone (see Runtime.opening)
        rt = Runtime(log=log, stages=stages, source=sim, opening=[night_opened(scenario, seed)])
    rt.sinks = list(sinks(stages) if callable(sinks) else sinks)
    start = rt.last_tick or scenario.start
    ticks = 0

    def count(res: TickResult) -> None:
        nonlocal ticks
        ticks += 1
        if on_tick is not None:
            on_tick(res)

    clock = clock or SimulatedClock()
    split_ok = isinstance(clock, SimulatedClock) and can_split(rt)
    if workers is None:
        workers = 2 if split_ok else 1
    if workers == 2 and not split_ok:
        raise ConfigError(
            "two processes need a simulated clock (not --speed), a source, and the tracker ahead of other stages; use one"
        )
    if workers not in (1, 2):
        raise ConfigError(f"workers must be 1 or 2, not {workers}")
    split: SplitTimes | None = None
    with settled_heap():  # (a forked worker inherits the frozen heap too)
        if workers == 2:
            split = run_split(rt, start, end, scenario.spec.night.tick_s, on_tick=count)
        else:
            rt.run(clock, start, end, scenario.spec.night.tick_s, on_tick=count)
    if rt.opening:  # no tick was played (--until at the start): the night is opened all the same
        log.append(rt.opening)
        rt.opening = []
    # the stages' state at the log's head, so that a claim or an approval added later need not
    # replay the night (skywarden.snapshot; a cache, ignored once the log moves on)
    snapshot.save(log, rt)
    return PlayResult(log.url, ticks, resumed_from, report, split)

