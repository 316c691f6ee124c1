"""The runtime's contract, with small stages written for the test: tick grouping, the rule that
every event reaches every stage exactly once, replay equivalence and divergence detection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from skywarden import events as E
from skywarden.log import MemoryLog
from skywarden.runtime import OBSERVE_LAG, PacedClock, Runtime, SimulatedClock, iter_ticks, replay

T0 = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)


class CountingSource:
    """Emits a kill report every 3 s; remembers what it observed."""

    def __init__(self) -> None:
        self.last = T0
        self.seen: list[str] = []

    def poll(self, now: datetime) -> list[E.InputEvent]:
        out: list[E.InputEvent] = []
        t = self.last + timedelta(seconds=1)
        while t <= now:
            s = int((t - T0).total_seconds())
            if s % 3 == 0:
                out.append(E.KillReported(t=t, report_id=f"R{s}", lat=55.7, lon=37.6))
            t += timedelta(seconds=1)
        self.last = now
        return out

    def observe(self, events: Sequence[E.Event]) -> None:
        self.seen.extend(E.kind(e) for e in events)


class Numbering:
    """Numbers kill reports; clears a number when the downstream stage says so."""

    name = "numbering"

    def __init__(self) -> None:
        self.n = 0
        self.received: list[str] = []

    def step(self, now: datetime, events: Sequence[E.Event]) -> list[E.Event]:
        self.received.extend(E.kind(e) for e in events)
        out: list[E.Event] = []
        for ev in events:
            if isinstance(ev, E.KillReported):
                self.n += 1
                out.append(
                    E.KillNumbered(
                        t=ev.t, report_id=ev.report_id, number=self.n, day_number=self.n, local_time="00:00",
                        incident_id="INC-" + ev.report_id, track_id=None, matched_by="unmatched", lat=ev.lat, lon=ev.lon, alt=0.0,
                    )
                )
        return out


class Downstream:
    name = "downstream"

    def __init__(self) -> None:
        self.received: list[str] = []

    def step(self, now: datetime, events: Sequence[E.Event]) -> list[E.Event]:
        self.received.extend(E.kind(e) for e in events)
        return [
            E.KillRetracted(t=now, report_id=ev.report_id, number=ev.number, reason="test")
            for ev in events
            if isinstance(ev, E.KillNumbered) and ev.number % 4 == 0
        ]


def _run(seconds: int = 20) -> tuple[MemoryLog, Numbering, Downstream, CountingSource]:
    log = MemoryLog()
    a, b, src = Numbering(), Downstream(), CountingSource()
    rt = Runtime(log=log, stages=[a, b], source=src)
    log.append([E.NightOpened(t=T0, scenario="test", seed=1, tick_s=1.0, timezone="UTC")])
    rt.run(SimulatedClock(), T0, T0 + timedelta(seconds=seconds), 1.0)
    return log, a, b, src


def test_every_event_reaches_every_stage_once():
    log, a, b, src = _run()
    logged = [E.kind(r.event()) for r in log.read()][1:]  # after night_opened
    # the first stage sees everything except what the last stage derived in the final tick
    assert sorted(a.received) == sorted(logged[: len(logged)] if logged[-1] != "kill_retracted" else logged[:-1])
    assert b.received.count("kill_numbered") == logged.count("kill_numbered")
    assert a.received.count("kill_retracted") + (1 if logged[-1] == "kill_retracted" else 0) == logged.count("kill_retracted")
    # the source sees the derived events OBSERVE_LAG ticks late: all but the last ticks' by now
    ticks = list(iter_ticks((r.seq, r.event()) for r in log.read()))
    shown = [E.kind(ev) for _, _, derived in ticks[:-OBSERVE_LAG] for _, ev in derived]
    assert src.seen == shown and src.seen.count("kill_numbered") > 3


def test_tick_layout_inputs_then_tick_then_derived():
    log, *_ = _run(6)
    groups = list(iter_ticks((r.seq, r.event()) for r in log.read()))
    assert len(groups) == 6
    for inputs, tick, derived in groups:
        assert isinstance(inputs[-1], E.Tick) and tick is inputs[-1]
        assert all(E.is_input(e) for e in inputs)
        assert all(not E.is_input(ev) for _, ev in derived)
        assert all(ev.t <= tick.t for _, ev in derived)


def test_replay_reproduces_and_detects_divergence():
    log, *_ = _run()
    report, _ = replay(log, [Numbering(), Downstream()])
    assert report.identical and report.ticks == 20 and report.derived_logged > 0

    class Off(Numbering):
        def step(self, now, events):  # type: ignore[no-untyped-def]
            out = super().step(now, events)
            return [o for o in out if o.number != 5]  # type: ignore[attr-defined]

    report2, _ = replay(log, [Off(), Downstream()])
    assert not report2.identical
    assert report2.first_difference is not None and "record" in report2.first_difference


def test_replay_until_stops_at_the_time():
    log, *_ = _run()
    report, rt = replay(log, [Numbering(), Downstream()], until=T0 + timedelta(seconds=7))
    assert report.ticks == 7 and rt.last_tick == T0 + timedelta(seconds=7)


def test_stage_emitting_an_input_is_refused():
    class Bad:
        name = "bad"

        def step(self, now, events):  # type: ignore[no-untyped-def]
            return [E.Tick(t=now)]

    rt = Runtime(log=MemoryLog(), stages=[Bad()])
    with pytest.raises(TypeError, match="input event"):
        rt.tick(T0 + timedelta(seconds=1))


def test_paced_clock_sleeps_to_keep_pace():
    slept: list[float] = []
    fake = iter([0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.5])
    clock = PacedClock(speed=2.0, sleep=slept.append, monotonic=lambda: next(fake))
    ticks = list(clock.ticks(T0, T0 + timedelta(seconds=3), 1.0))
    assert ticks == [T0 + timedelta(seconds=k) for k in (1, 2, 3)]
    assert slept and all(s > 0 for s in slept)


def test_submitted_inputs_land_in_the_next_tick():
    log = MemoryLog()
    rt = Runtime(log=log, stages=[Numbering()])
    rt.submit([E.KillReported(t=T0, report_id="X", lat=55.0, lon=37.0)])
    res = rt.tick(T0 + timedelta(seconds=1))
    assert [E.kind(e) for e in res.inputs] == ["kill_reported", "tick"]
    assert [E.kind(e) for e in res.derived] == ["kill_numbered"]
    with pytest.raises(TypeError):
        rt.submit([res.derived[0]])  # type: ignore[list-item]


def test_a_settled_heap_sets_aside_what_lives_on_again_and_hands_it_all_back() -> None:
    import gc
    import time

    from skywarden.runtime import settled_heap

    with settled_heap(every_s=0.05):
        first = gc.get_freeze_count()
        kept = [[i] for i in range(5_000)]  # built once under way, as a night's kernels are
        deadline = time.monotonic() + 5
        while gc.get_freeze_count() < first + len(kept) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert gc.get_freeze_count() >= first + len(kept)
    assert gc.get_freeze_count() == 0 and kept
