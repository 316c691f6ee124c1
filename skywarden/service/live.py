"""The night, served: the runtime ticking on its own thread, fed by the simulator (an exercise)
and by an inbox of people's and listeners' inputs, keeping the live picture up to date.

::

    API writes, listeners ──► Inbox ─┐
    exercise simulator ──────────────┴► LiveSource.poll(now) ─► Runtime.tick(now) ─► log
                                                                     │
                              LivePicture.apply_tick ─► on_tick(delta) (the WebSocket hub)

The inbox is a source like any other: what it holds at a tick is stamped with the tick's time
and logged after the simulator's inputs, so the log a served night leaves is the log that
``skywarden run --input`` makes of the same inputs (tested). An exercise ticks on the scenario's
grid; a live night on its own clock: the wall clock read at opening, then carried on by the
monotonic clock (so the wall clock set back or forward moves no tick: ticks stay ordered and
strictly increasing), every ``tick_s``, and sooner when inputs arrive (``live_due``); its ticks are
logged times that ``skywarden replay`` reproduces. Channels' answers go to the night's delivery
journal (``skywarden.disclosure.delivery``), not through the inbox. A write is answered once
its tick is in the log, so an accepted write survives a crash. Killed and restarted, the service
replays its log (checking that it is reproduced) and goes on from the last tick.
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from skywarden import events as E
from skywarden.disclosure.policy import DisclosurePolicy, Draft
from skywarden.disclosure.stage import DisclosureStage
from skywarden.errors import ConfigError, LogError
from skywarden.log import FROM_ENV, RESUME_WAIT_S, EventLog, hold_writer, open_log
from skywarden.log.checkpoint import Signing
from skywarden.patient import PatientLog, is_server_url
from skywarden.pipeline import build_stages
from skywarden.response.airspace import AirspaceStage
from skywarden.runtime import Runtime, Sink, Source, TickResult, first_event, night_opened, replay
from skywarden.scenario import LoadedScenario
from skywarden.service.picture import LivePicture, iso, tick_groups

CHECKPOINT_TICKS = 300  # a pickled picture every 5 minutes of a 1 s night: ?at= folds at most that


class NightOver(Exception):
    """A write after the exercise's last tick."""


@dataclass
class Inbox:
    """Inputs waiting for the next tick, each with a future answered by its log sequence.

    A person's input is stamped with the tick that logs it. A sensor's report keeps its own
    time when that falls in the tick's window; a late one (a slow link) is moved to just after
    the previous tick, and one from the future (a skewed clock) to the tick itself, so that a
    tick's inputs stay in time order and a recording of them plays the same night."""

    _items: list[tuple[E.InputEvent, Future[int], bool]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, ev: E.InputEvent, *, own_time: bool = False) -> Future[int]:
        if not E.is_input(ev) or isinstance(ev, E.Tick | E.NightOpened):
            raise TypeError(f"{type(ev).__name__} cannot come through the inbox")
        fut: Future[int] = Future()
        with self._lock:
            self._items.append((ev, fut, own_time))
        return fut

    def put_many(self, events: Sequence[E.InputEvent], *, own_time: bool = False) -> Future[int]:
        """Several inputs answered by one future (a listener's read: no future per report)."""
        for ev in events:
            if not E.is_input(ev) or isinstance(ev, E.Tick | E.NightOpened):
                raise TypeError(f"{type(ev).__name__} cannot come through the inbox")
        fut: Future[int] = Future()
        with self._lock:
            self._items.extend((ev, fut, own_time) for ev in events)
        return fut

    def drain(self, now: datetime, after: datetime | None = None) -> list[tuple[E.InputEvent, Future[int]]]:
        with self._lock:
            items, self._items = self._items, []
        floor = (after or now) + timedelta(microseconds=1)
        out = []
        for ev, fut, own_time in items:
            t = min(max(ev.t, floor), now) if own_time else now
            out.append((ev if t == ev.t else msgspec.structs.replace(ev, t=t), fut))
        out.sort(key=lambda item: item[0].t)  # stable: arrival order among equal times
        return out

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class LiveSource:
    """The simulator's inputs (an exercise; none live), then the inbox's, stamped ``now``."""

    inner: Source | None
    inbox: Inbox
    taken: list[Future[int]] = field(default_factory=list)
    last: datetime | None = None  # the previous poll

    def poll(self, now: datetime) -> list[E.InputEvent]:
        out = self.inner.poll(now) if self.inner is not None else []
        drained = self.inbox.drain(now, self.last)
        self.last = now
        if not drained:
            return out
        for ev, fut in drained:
            out.append(ev)
            self.taken.append(fut)
        out.sort(key=lambda ev: ev.t)  # stable: the simulator's first among equal times
        return out

    def observe(self, events: Sequence[E.Event]) -> None:
        if self.inner is not None:
            self.inner.observe(events)


@dataclass(frozen=True)
class Delta:
    seq: int
    prev: int
    t: datetime
    changed: dict[str, Any]  # collection -> its whole new value


def live_due(last: datetime, tick: timedelta, min_tick_s: float, *, waiting: bool, took_inputs: bool) -> datetime:
    """When a live night's next tick is due, its last tick at ``last`` (which ``took_inputs``
    or not). Inputs ``waiting``: at once after a tick that took none (a report coming into a
    quiet night waits for nothing), ``min_tick_s`` after one that did (a stream of inputs is
    taken in batches, at most 1/min_tick_s ticks a second). None: ``tick`` after the last,
    and ``min_tick_s`` more after one that took inputs, so that a sensor reporting every
    ``tick`` drives the ticks itself: the clock's own tick does not come just before each
    report, doubling the work and making the report wait for it."""
    grace = timedelta(seconds=min_tick_s) if took_inputs else timedelta(0)
    return last + grace if waiting else last + tick + grace


def redate(scenario: LoadedScenario, start: datetime) -> LoadedScenario:
    """The scenario's night moved to begin at ``start`` (a live night begins when served)."""
    return dataclasses.replace(scenario, start=start, end=start + (scenario.end - scenario.start))


class LiveNight:
    """Owns the runtime, its thread, the live picture and its checkpoints."""

    def __init__(
        self,
        scenario: LoadedScenario,
        log_url: str,
        *,
        exercise: bool = True,
        speed: float = 1.0,
        scripted_officers: bool = False,
        sinks: Callable[[list[Any]], Sequence[Sink]] | None = None,
        operators: Sequence[tuple[str, str, str]] = (),
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        min_tick_s: float = 0.1,
        signing: Signing | None | str = FROM_ENV,
    ) -> None:
        if speed <= 0:
            raise ConfigError("speed must be positive")
        if not exercise and speed != 1.0:
            raise ConfigError("a live night runs at the speed of the wall clock (speed applies to exercises)")
        self.scenario = scenario
        self.log_url = log_url
        self.signing = signing  # the site's key for checkpoints (default: from the environment)
        self.exercise = exercise
        self.speed = speed
        self.scripted_officers = scripted_officers
        self._sinks_factory = sinks
        self.operators = list(operators)  # (user, role, name) to announce as on duty
        self.wall, self.monotonic = wall, monotonic
        # a live night ticks every tick_s, and sooner when inputs wait: at once after a tick that
        # took none, this long after one that did (a report waits at most this for its tick)
        self.min_tick_s = min_tick_s
        self.inbox = Inbox()
        self.paused = False
        self.over = False
        # each tick's delta as soon as it is made, then (on_tick) with the state it leads to
        self.on_delta: Callable[[Delta], None] | None = None
        self.on_tick: Callable[[Delta, dict[str, Any]], None] | None = None
        self.error: BaseException | None = None
        self.checkpoints: list[tuple[datetime, int, bytes]] = []
        self._cv = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.log: EventLog | None = None
        self.rt: Runtime | None = None
        self.picture = LivePicture(scenario)
        # the head's collections, as the reads and the snapshot give them; the tracks encoded
        # already (msgspec.Raw: GeoJSON with the trails, a thousand tracks' dicts made no more)
        self.state: dict[str, Any] = {}
        self.sinks: list[Sink] = []
        self.policy: DisclosurePolicy | None = None
        self.airspace: AirspaceStage | None = None
        self._past: dict[datetime, LivePicture] = {}
        self._past_lock = threading.Lock()
        self._anchor: tuple[datetime, float] = (scenario.start, monotonic())
        self._took_inputs = False  # the last tick took inputs (see live_due)

    # ------------------------------------------------------------------ opening

    def open(self) -> None:
        """Open (or resume) the night in its log and fold the picture; does not tick yet."""
        from skywarden.scenario.sim import SimConfig, Simulator

        log = open_log(self.log_url, signing=self.signing)
        if is_server_url(self.log_url):  # a server restarted mid-night: the night waits for it
            log = PatientLog(self.log_url, log, signing=self.signing)
        # one writer per night: a night another process writes is refused now; a serve restarted
        # after a crash waits out the lease its killed predecessor left (NATS), saying so
        hold_writer(log, RESUME_WAIT_S, lambda why: print(f"waiting: {why}", file=sys.stderr, flush=True))
        head = first_event(log)
        if head is not None and not isinstance(head, E.NightOpened):
            raise LogError(f"{log.url}: not a Skywarden night")
        if head is None and not self.exercise:  # a live night begins now, on the tick grid
            self.scenario = redate(self.scenario, self.wall().replace(microsecond=0))
        elif head is not None and head.t != self.scenario.start:
            self.scenario = redate(self.scenario, head.t)
        if head is not None and head.scenario_digest != self.scenario.digest:
            raise LogError(f"{log.url} holds another night (not {self.scenario.name!r} as loaded now)")
        self.picture = LivePicture(self.scenario)
        inner: Source | None = None
        if self.exercise:
            cfg = SimConfig(scripted_officers=self.scripted_officers)
            inner = Simulator(self.scenario, config=cfg)
        source = LiveSource(inner, self.inbox)
        stages = build_stages(self.scenario)
        if head is None:
            # logged with the first tick, in its batch (a kill between the two cannot double it)
            rt = Runtime(log=log, stages=stages, source=source, opening=[night_opened(self.scenario)])
        else:
            report, rt = replay(log, stages, source=source)
            if not report.identical:
                raise LogError(f"{log.url}: replay does not reproduce the log ({report.first_difference})")
            rt.log, rt.source = log, source
        self.log, self.rt = log, rt
        # the window of the first tick after opening begins at the last tick (or the night's
        # start): a report in it keeps its own time, as in every later tick
        source.last = rt.last_tick or self.scenario.start
        self.policy = next((st.policy for st in stages if isinstance(st, DisclosureStage)), None)
        self.airspace = next((st for st in stages if isinstance(st, AirspaceStage)), None)
        self.sinks = list(self._sinks_factory(stages)) if self._sinks_factory else []
        on_duty: dict[str, tuple[str, str]] = {}
        for group, seq, t in tick_groups((r.seq, r.event()) for r in log.read()):
            self.picture.apply_tick(group, seq)
            for ev in group:
                if isinstance(ev, E.OperatorOnDuty):
                    on_duty[ev.user] = (ev.role, ev.name)
            if t is not None and self.picture.ticks % CHECKPOINT_TICKS == 0:
                self._checkpoint(t)
        self.picture.seq = log.last_seq()
        self.picture.explain = self._explain if self.policy is not None else None
        self.picture.quiet_left = self._quiet_left if self.airspace is not None else None
        for user, role, name in self.operators:  # the roster, logged with the first tick
            if on_duty.get(user) != (role, name):
                self.inbox.put(E.OperatorOnDuty(t=self.scenario.start, user=user, role=role, name=name))
        self.state = self.picture.snapshot()
        self.state["tracks"] = self.picture.tracks_raw()
        self.over = self.exercise and rt.last_tick is not None and rt.last_tick >= self.scenario.end
        # a live night's clock: the wall clock read once, now, then carried on by the monotonic
        # clock, so that the wall clock set back or forward (by hand, by NTP) moves no tick; never
        # before the last tick logged (a restart after the wall clock was set back)
        self._anchor = (max(self.wall(), rt.last_tick or self.scenario.start), self.monotonic())

    def live_now(self) -> datetime:
        """The live night's time: the wall clock at opening plus the monotonic time since."""
        at, mono = self._anchor
        return at + timedelta(seconds=self.monotonic() - mono)

    def _explain(self, text_en: str, text_ru: str, event_time: datetime | None, topic: str) -> dict[str, Any]:
        """What the policy would publish of a text now: when, and what it would redact."""
        assert self.policy is not None
        public = self.policy.apply(Draft(text_en, text_ru, event_time, topic))
        return {
            "release_at": iso(public.release_at),
            "redacted": [{"kind": v.kind, "category": v.category, "found": v.found} for v in public.redacted],
        }

    def _quiet_left(self, airport_id: str) -> float | None:
        """Seconds until a restricted airport may be lifted, if no threat comes near it again."""
        assert self.airspace is not None and self.rt is not None
        st = self.airspace.state.get(airport_id)
        quiet = next((a.quiet_s for a in self.airspace.airports if a.id == airport_id), None)
        if st is None or st.since is None or st.last_threat is None or quiet is None or self.rt.last_tick is None:
            return None
        return max(0.0, round(quiet - (self.rt.last_tick - st.last_threat).total_seconds()))

    def _checkpoint(self, t: datetime) -> None:
        pic = self.picture
        # the scenario is re-attached on load; the policy's explainer belongs to the head only
        scn, explain, quiet = pic.scenario, pic.explain, pic.quiet_left
        pic.scenario, pic.explain, pic.quiet_left = None, None, None  # type: ignore[assignment]
        try:
            self.checkpoints.append((t, pic.seq, pickle.dumps(pic, protocol=pickle.HIGHEST_PROTOCOL)))
        finally:
            pic.scenario, pic.explain, pic.quiet_left = scn, explain, quiet

    # ------------------------------------------------------------------ ticking

    def start(self) -> None:
        if self.rt is None:
            self.open()
        self._thread = threading.Thread(target=self._run, name="skywarden-night", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        close = getattr(self._sinks_factory, "close", None)  # the publishing thread and its journal
        if close is not None:
            close(timeout)
        if self.log is not None:
            self.log.close()

    def control(self, action: str, speed: float | None = None) -> None:
        """Pause, resume or change the pace of an exercise (takes effect now, in wall time)."""
        if not self.exercise:
            raise ConfigError("only an exercise can be paused or sped up")
        with self._cv:
            if action == "pause":
                self.paused = True
            elif action == "resume":
                self.paused = False
            elif action == "speed":
                if speed is None or not (0 < speed <= 10_000):
                    raise ConfigError("speed must be between 0 and 10000")
                self.speed = speed
            else:
                raise ConfigError(f"unknown exercise action {action!r}")
            self._cv.notify_all()

    def _run(self) -> None:
        assert self.rt is not None
        tick_s = self.scenario.spec.night.tick_s
        step = timedelta(seconds=tick_s)
        last = self.rt.last_tick or self.scenario.start
        anchor: tuple[float, datetime, float] | None = None  # (monotonic, night time, speed)
        try:
            while True:
                with self._cv:
                    if self._stop:
                        return
                    if self.exercise and self.paused and not len(self.inbox):
                        anchor = None
                        self._cv.wait(0.5)
                        continue
                    now = last + step
                    if self.exercise:
                        if now > self.scenario.end:
                            self.over = True
                            self._cv.wait(0.5)
                            self._refuse_waiting()
                            continue
                        if anchor is None or anchor[2] != self.speed:
                            anchor = (self.monotonic(), last, self.speed)
                        due = anchor[0] + (now - anchor[1]).total_seconds() / anchor[2]
                        wait = due - self.monotonic()
                    else:  # live: on the night's clock, and soon after inputs arrive
                        clock = self.live_now()
                        ready = live_due(last, step, self.min_tick_s, waiting=len(self.inbox) > 0, took_inputs=self._took_inputs)
                        wait = (ready - clock).total_seconds()
                        now = max(clock, last + timedelta(microseconds=1))  # ticks strictly increase
                    if wait > 0 and not (self.paused and len(self.inbox)):
                        self._cv.wait(min(wait, 0.5))
                        continue
                self._tick(now)
                last = now
        except BaseException as exc:  # the night must not die silently: say it, stop ticking
            self.error = exc
            raise

    def _refuse_waiting(self) -> None:
        for _, fut in self.inbox.drain(self.scenario.end):
            if not fut.done():  # (one future may answer several inputs: put_many)
                fut.set_exception(NightOver("the exercise night is over"))

    def _tick(self, now: datetime) -> None:
        assert self.rt is not None and self.log is not None
        source = self.rt.source
        assert isinstance(source, LiveSource)
        res = self.rt.tick(now)
        self._took_inputs = bool(res.inputs)
        seq = self.log.last_seq()
        try:
            self._after_tick(res, now, seq)
        finally:
            # the writes are answered once their tick is logged and the picture (and what the
            # hub was handed) shows it, so a read right after a write sees the write
            for fut in dict.fromkeys(source.taken):  # once each: one future may answer several inputs (put_many)
                if not fut.done():
                    fut.set_result(seq)
            source.taken.clear()

    def _after_tick(self, res: TickResult, now: datetime, seq: int) -> None:
        prev = self.picture.seq
        changed = self.picture.apply_tick([*res.inputs, *res.derived], seq)
        for ev in res.inputs:
            if isinstance(ev, E.ExerciseControl) and self.exercise:
                self.control(ev.action, ev.speed)
        for sink in self.sinks:
            for ev in sink.handle([*res.inputs, *res.derived], now):
                self.inbox.put(ev)
        if self.picture.ticks % CHECKPOINT_TICKS == 0:
            self._checkpoint(now)
        data = {name: self.picture.collection(name) for name in changed if name != "tracks"}
        cols = self.picture.track_columns() if "tracks" in changed else None
        data["night"].update(self.status())
        # the delta's tracks as columns without trails (the clients extend theirs); it goes out
        # before the state's tracks (GeoJSON with the trails, for the reads) are built
        delta = Delta(seq, prev, now, data if cols is None else {**data, "tracks": cols})
        if self.on_delta is not None:
            self.on_delta(delta)
        state = {**self.state, **data}
        if cols is not None:
            state["tracks"] = self.picture.tracks_raw(cols)
        self.state = state
        if self.on_tick is not None:
            self.on_tick(delta, state)

    def advance(self, ticks: int = 1) -> None:
        """Tick at once, unpaced, ``ticks`` times (tests and benchmarks; not while started)."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the night is ticking on its own thread")
        if self.rt is None:
            self.open()
        assert self.rt is not None
        step = timedelta(seconds=self.scenario.spec.night.tick_s)
        for _ in range(ticks):
            now = (self.rt.last_tick or self.scenario.start) + step
            if self.exercise and now > self.scenario.end:
                self.over = True
                return
            self._tick(now)

    def status(self) -> dict[str, Any]:
        return {"mode": "exercise" if self.exercise else "live", "paused": self.paused, "speed": self.speed, "over": self.over}

    # ------------------------------------------------------------------ the people's inputs

    def submit(self, ev: E.InputEvent, *, own_time: bool = False) -> Future[int]:
        """Queue an input for the next tick. ``own_time``: a sensor's report, which keeps its
        measurement time (see :class:`Inbox`); otherwise the tick's time is the input's."""
        if self.error is not None:
            raise LogError(f"the night stopped on an error: {self.error}")
        if self.over:
            raise NightOver("the exercise night is over")
        fut = self.inbox.put(ev, own_time=own_time)
        with self._cv:
            self._cv.notify_all()
        return fut

    def submit_many(self, events: Sequence[E.InputEvent], *, own_time: bool = False) -> Future[int]:
        """:meth:`submit` for several inputs at once, answered by one future (the listeners)."""
        if self.error is not None:
            raise LogError(f"the night stopped on an error: {self.error}")
        if self.over:
            raise NightOver("the exercise night is over")
        fut = self.inbox.put_many(events, own_time=own_time)
        with self._cv:
            self._cv.notify_all()
        return fut

    # ------------------------------------------------------------------ the past

    def picture_at(self, at: datetime) -> LivePicture:
        """The picture as it was at the last tick at or before ``at``, from the log. The past
        does not change, so the last few asked for are kept (a console's replay slider asks
        for every collection at one moment)."""
        with self._past_lock:
            hit = self._past.get(at)
            if hit is not None:
                return hit
        pic = self._fold_to(at)
        head = self.rt.last_tick if self.rt is not None else None
        if head is None or at >= head:
            return pic  # not yet the past: the next tick may change it
        with self._past_lock:
            self._past[at] = pic
            while len(self._past) > 16:
                self._past.pop(next(iter(self._past)))
        return pic

    def _fold_to(self, at: datetime) -> LivePicture:
        base = None
        for when, seq, data in self.checkpoints:
            if when <= at:
                base = (seq, data)
            else:
                break
        if base is None:
            pic, after = LivePicture(self.scenario), 0
        else:
            pic = pickle.loads(base[1])  # noqa: S301 - our own checkpoint, made in this process
            pic.scenario, after = self.scenario, base[0]
        reader = self._reader()
        try:
            for group, seq, t in tick_groups((r.seq, r.event()) for r in reader.read(after)):
                if t is None or t > at:
                    break
                pic.apply_tick(group, seq)
        finally:
            if reader is not self.log:
                reader.close()
        return pic

    def _reader(self) -> EventLog:
        assert self.log is not None
        if self.log_url.startswith("memory://"):
            return self.log  # the in-memory twin has one copy
        return open_log(self.log_url, signing=None)  # a reader: never signs


__all__ = ["Delta", "Inbox", "LiveNight", "LiveSource", "NightOver", "live_due", "redate"]
