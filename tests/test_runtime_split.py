"""The night on two processes (skywarden.split): the same log as one process, resumable, and a
failing or orphaned worker that ends the night with an error instead of hanging it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from skywarden import events as E
from skywarden.log import MemoryLog
from skywarden.play import play_night
from skywarden.runtime import OBSERVE_LAG, Runtime, SimulatedClock
from skywarden.split import COMMIT_TICKS, can_split, run_split

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="the split needs fork and two cores"
)

UNTIL = "00:45"  # kills, crews dispatched by the stages and sent by the simulator, approvals
T0 = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)


def _hashes(log: MemoryLog) -> list[str]:
    return [r.hash for r in log.read()]


@pytest.fixture(scope="module")
def one_process(scenario) -> MemoryLog:  # type: ignore[no-untyped-def]
    log = MemoryLog()
    play_night(scenario, log, until=scenario.at(UNTIL), workers=1)
    return log


def test_two_processes_write_the_same_log_as_one(scenario, one_process):
    two = MemoryLog()
    play_night(scenario, two, until=scenario.at(UNTIL), workers=2)
    kinds = {E.kind(r.event()) for r in two.read()}
    # the comparison covers the loop back to the source: crews and officers react to the stages
    assert {"kill_numbered", "crew_dispatched", "crew_reported", "statement_approved", "track_picture"} <= kinds
    assert _hashes(two) == _hashes(one_process)


def test_a_night_resumed_on_two_processes_is_the_uninterrupted_one(scenario, one_process):
    log = MemoryLog()
    play_night(scenario, log, until=scenario.at("00:20"), workers=2)
    res = play_night(scenario, log, until=scenario.at(UNTIL), resume=True, workers=2)
    assert res.resumed_from == scenario.at("00:20")
    assert _hashes(log) == _hashes(one_process)


def test_a_runtime_goes_on_in_one_process_after_a_split_as_if_never_split(scenario):
    # the worker polled the simulator's sensors; this side's copy catches up when polled again
    from skywarden.pipeline import build_stages
    from skywarden.scenario.sim import Simulator

    def runtime() -> Runtime:
        return Runtime(log=MemoryLog(), stages=build_stages(scenario), source=Simulator(scenario))

    tick, mid, until = scenario.spec.night.tick_s, scenario.at("00:10"), scenario.at("00:25")
    once = runtime()
    once.run(SimulatedClock(), scenario.start, until, tick)
    rt = runtime()
    run_split(rt, scenario.start, mid, tick)
    rt.run(SimulatedClock(), mid, until, tick)
    got, want = _hashes(rt.log), _hashes(once.log)  # type: ignore[arg-type]
    assert len(want) > 1000 and got == want


def test_the_default_is_two_processes_where_it_can(scenario):
    from skywarden.pipeline import build_stages
    from skywarden.scenario.sim import Simulator

    rt = Runtime(log=MemoryLog(), stages=build_stages(scenario), source=Simulator(scenario))
    assert can_split(rt)
    assert not can_split(Runtime(log=MemoryLog(), stages=build_stages(scenario, ["tracking"]), source=Simulator(scenario)))
    assert not can_split(Runtime(log=MemoryLog(), stages=build_stages(scenario, ["threat", "tracking"]), source=Simulator(scenario)))


# ------------------------------------------------------------------ small stages for the contract


class Plots:
    """A report every second, and what it observed of the stages' output."""

    def __init__(self) -> None:
        self.last = T0
        self.observed: list[list[str]] = []

    def poll(self, now: datetime) -> list[E.InputEvent]:
        out: list[E.InputEvent] = []
        while self.last < now:
            self.last += timedelta(seconds=1)
            out.append(E.PositionPlots(t=self.last, sensor_id="s", lat=[55.7], lon=[37.6], alt=[100.0], sigma_m=[50.0]))
        return out

    def observe(self, events: Sequence[E.Event]) -> None:
        self.observed.append([E.kind(e) for e in events])


class Counter:
    """Reads plots only; numbers them as kills (any derived kind will do); fails on request."""

    name = "counter"
    consumes = (E.PositionPlots,)

    def __init__(self, fail_at: int | None = None) -> None:
        self.n = 0
        self.fail_at = fail_at

    def step(self, now: datetime, events: Sequence[E.Event]) -> list[E.Event]:
        out: list[E.Event] = []
        for ev in events:
            if isinstance(ev, E.PositionPlots):
                self.n += 1
                if self.n == self.fail_at:
                    raise ValueError(f"plot number {self.n} is cursed")
                out.append(
                    E.KillNumbered(
                        t=ev.t, report_id=f"R{self.n}", number=self.n, day_number=self.n, local_time="00:00",
                        incident_id=f"INC-{self.n}", track_id=None, matched_by="unmatched", lat=55.7, lon=37.6, alt=0.0,
                    )
                )
        return out


class Echo:
    """Answers every numbered kill with a retraction (so the source has something to observe)."""

    name = "echo"

    def step(self, now: datetime, events: Sequence[E.Event]) -> list[E.Event]:
        return [E.KillRetracted(t=now, report_id=e.report_id, number=e.number, reason="test") for e in events if isinstance(e, E.KillNumbered)]


def _small(fail_at: int | None = None) -> tuple[Runtime, Plots]:
    src = Plots()
    return Runtime(log=MemoryLog(), stages=[Counter(fail_at), Echo()], source=src), src


def test_small_night_split_equals_one_process_including_what_the_source_saw():
    end = T0 + timedelta(seconds=30)
    one, src1 = _small()
    one.run(SimulatedClock(), T0, end, 1.0)
    two, src2 = _small()
    times = run_split(two, T0, end, 1.0)
    assert _hashes(two.log) == _hashes(one.log)  # type: ignore[arg-type]
    # it says where the time went: the worker's busy and idle time, this side's waiting
    assert times is not None and times.worker_busy_s > 0.0
    assert times.worker_waited_s >= 0.0 and times.main_waited_s >= 0.0
    assert src2.observed == src1.observed
    # the source sees the stages' output OBSERVE_LAG ticks late, and never what it has not seen yet
    assert len(src1.observed) == 30 and src1.observed[OBSERVE_LAG] == ["kill_numbered", "kill_retracted"]
    assert two._held == one._held


@pytest.mark.parametrize("fail_at", [7, COMMIT_TICKS + 5])  # within the first commit, after one
def test_a_failing_worker_stage_stops_the_night_with_its_error(fail_at):
    rt, _ = _small(fail_at=fail_at)
    with pytest.raises(RuntimeError, match=f"plot number {fail_at} is cursed"):
        run_split(rt, T0, T0 + timedelta(seconds=30), 1.0)
    assert rt.last_tick == T0 + timedelta(seconds=fail_at - 1)
    # every tick before the failure is in the log, as a one-process run (a commit a tick) leaves it
    one, _ = _small(fail_at=fail_at)
    with pytest.raises(ValueError, match="cursed"):
        one.run(SimulatedClock(), T0, T0 + timedelta(seconds=30), 1.0)
    assert _hashes(rt.log) == _hashes(one.log)  # type: ignore[arg-type]
    assert len(_hashes(rt.log)) == 4 * (fail_at - 1)  # type: ignore[arg-type]  # plots, tick, kill, retraction


def test_an_input_for_the_worker_from_a_sink_is_refused():
    class Loopback:
        def handle(self, events: Sequence[E.Event], now: datetime) -> list[E.InputEvent]:
            return [E.PositionPlots(t=now, sensor_id="x", lat=[55.7], lon=[37.6], alt=[1.0], sigma_m=[9.0])]

    rt, _ = _small()
    rt.sinks = [Loopback()]
    with pytest.raises(RuntimeError, match="for a stage in the worker"):
        run_split(rt, T0, T0 + timedelta(seconds=10), 1.0)


def test_a_night_with_such_an_input_waiting_is_not_split():
    rt, _ = _small()
    rt.submit([E.PositionPlots(t=T0, sensor_id="x", lat=[55.7], lon=[37.6], alt=[1.0], sigma_m=[9.0])])
    assert not can_split(rt)
    with pytest.raises(ValueError, match="cannot be split"):
        run_split(rt, T0, T0 + timedelta(seconds=10), 1.0)
