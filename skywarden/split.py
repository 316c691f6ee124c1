"""Play a night on two cores: the tracker in a worker process, everything else here.

The tracker reads nothing but the sources' reports, so it can work on tick k while this process
runs the later stages on the tick before::

    here:    source.poll(t_k+D) --reports-->  worker: tracking(t_k)
             threat ... alerts (t_k) <--tracks--
             log, sinks, progress; source.observe(derived t_k)

    or, for the simulator:
             worker: sim.poll_independent(t_k), tracking(t_k) --reports, tracks--> here:
             sim.poll_reactive(t_k), merged; threat ... alerts (t_k); log, sinks ...

A source runs up to ``OBSERVE_LAG`` ticks ahead of the stages, which it may: it sees derived
events that many ticks late in either mode (``Source.observe``). A source that can say which of
its reports need no reactions (the simulator: ``poll_independent``, ``poll_reactive``) has those
polled in the worker itself, which sends them back, keyed, with its tracks; this side polls the
rest on time and merges them by key. Such a worker needs nothing from this side and runs up to
``AHEAD_TICKS`` ticks ahead (a thread here receives its output into a queue), which absorbs the
stretches of the night where one side has more to do than the other; this side's copy of the
simulator is told how far the worker's went (``Simulator.polled_elsewhere``). The log written is byte for byte the one a
single process writes (tested): the worker's stages are those that declare the input kinds they
``consumes`` and ignore everything else, and an input of those kinds from anywhere but the source
(a sink, an operator) stops the night with an error rather than letting the two modes differ.
Everything in the log is written here, in transactions of ``COMMIT_TICKS`` whole ticks (one
process commits every tick): a killed run leaves a log that ends on a whole tick, up to a few
ticks short of where it was, and ``--resume`` plays those again from the source. If this
process dies, the worker finds its pipe closed and ends.

The worker is a fork of this process (it inherits the built stages; they are not pickled on the
way in), so the split is used where ``fork`` exists (Linux, macOS) and there are two cores. When
the last tick is done the worker sends its stages back (pickled, once), so that after a split run
this runtime holds the state a one-process run would (a stage snapshot is taken from it).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import sys
import threading
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Protocol, runtime_checkable

import msgspec

from skywarden.events import AnyEvent, Event, InputEvent, Tick
from skywarden.ingest.validate import check_encodable, guard_inputs
from skywarden.runtime import OBSERVE_LAG, Runtime, SimulatedClock, TickResult, advance_stages
from skywarden.scenario.sim.simulator import Key
from skywarden.stage import Stage

_DATA, _FAIL, _STATE = b"D", b"F", b"S"
# how many ticks of the worker's output this side holds unread, at most: stretches of the night
# where one side has more to do than the other run to hundreds of ticks (with 32 each side waited
# 2-3.5 s of the default night, with 1,024 under 1 s; the demo's peak memory did not grow)
AHEAD_TICKS = 1024
# ticks appended to the log in one transaction: a night played as fast as possible spends a
# third of its log time committing; a killed run still leaves whole ticks, and the few ticks it
# loses are simulated (or recorded) inputs that --resume plays again (see run_split)
COMMIT_TICKS = 8


@dataclass(frozen=True)
class SplitTimes:
    """Where a two-process night's wall time went (seconds): the side that waits less sets the
    pace. ``main_waited_s``: this process waiting for the worker's ticks; ``worker_busy_s``: the
    worker in its stages (and the sensors' simulation, the pipe's decoding and encoding);
    ``worker_waited_s``: the worker waiting for inputs, or for room in the pipe when it is
    ahead."""

    main_waited_s: float
    worker_busy_s: float
    worker_waited_s: float


def front_count(stages: Sequence[Stage]) -> int:
    """How many leading stages read only source inputs (they declare ``consumes``)."""
    n = 0
    for s in stages:
        if _reads(s) is None:
            break
        n += 1
    return n


def _reads(stage: Stage) -> tuple[type[Event], ...] | None:
    """The input kinds a stage declares it reads and nothing else (``consumes``), or None."""
    kinds: tuple[type[Event], ...] | None = getattr(stage, "consumes", None)
    return kinds


def _consumed(front: Sequence[Stage]) -> tuple[type[Event], ...]:
    """Every input kind the worker's stages read."""
    return tuple(k for s in front for k in _reads(s) or ())


@runtime_checkable
class KeyedSource(Protocol):
    """A source that can say which of its reports need no reactions (the simulator): those are
    polled in the worker, keyed for the merge with the rest (see ``Simulator.poll_independent``)."""

    def poll_independent(self, now: datetime) -> list[tuple[Key, InputEvent]]: ...

    def poll_reactive(self, now: datetime) -> list[tuple[Key, InputEvent]]: ...

    def polled_elsewhere(self, upto: datetime) -> None: ...


def can_split(rt: Runtime) -> bool:
    """Whether ``run_split`` applies: a source, a leading input-only stage and one after it,
    ``fork``, and a second core."""
    n = front_count(rt.stages)
    consumed = _consumed(rt.stages[:n])
    return (
        rt.source is not None
        and not any(isinstance(e, consumed) for e in rt._pending_inputs)
        and 0 < n < len(rt.stages)
        and "fork" in multiprocessing.get_all_start_methods()
        and (os.cpu_count() or 1) >= 2
    )


def run_split(
    rt: Runtime, start: datetime, end: datetime, tick_s: float, on_tick: Callable[[TickResult], None] | None = None
) -> SplitTimes | None:
    """Like ``rt.run(SimulatedClock(), start, end, tick_s, on_tick)``, on two processes; returns
    where the time went (None when there was no tick to play)."""
    if not can_split(rt):
        raise ValueError("this runtime cannot be split (see can_split)")
    source = rt.source
    assert source is not None
    n = front_count(rt.stages)
    front, rear = rt.stages[:n], rt.stages[n:]
    consumed = _consumed(front)
    ticks = list(SimulatedClock().ticks(start, end, tick_s))
    if not ticks:
        return None
    # A source whose reports do not depend on what the stages derive (the simulator's sensors
    # and command) is polled in the worker itself, which then needs nothing from this side and
    # runs up to AHEAD_TICKS ahead; it sends the reports back, keyed, with its output,
    # and this side merges them with the reactive part's (crews, officers, claims), polled here
    # on time. Any other source is polled here OBSERVE_LAG ahead, as far as it may run, and its
    # reports sent to the worker.
    keyed = source if isinstance(source, KeyedSource) else None
    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe()
    with warnings.catch_warnings():
        # Python >= 3.12 warns on fork while threads run (a progress bar's refresh thread): the
        # worker runs only the stages, which take none of those threads' locks
        warnings.filterwarnings("ignore", message=r".*multi-threaded.*fork", category=DeprecationWarning)
        worker = ctx.Process(
            target=_front_worker,
            args=(there, here, front, rt._carry[:n], ticks, keyed, consumed),
            name="skywarden-tracking",
            daemon=True,
        )
        worker.start()
    there.close()
    # receiving in a thread, into a queue of up to AHEAD_TICKS ticks: a worker that polls its own
    # inputs can run that far ahead, which the pipe's buffers alone would not hold; and the worker
    # never blocks on a full pipe while this process blocks sending it inputs the other way (a
    # tick of thousands of tracks outgrows the buffers)
    inbox: queue.Queue[bytes | None] = queue.Queue(maxsize=AHEAD_TICKS)
    receiver = threading.Thread(target=_receive_all, args=(here, inbox), name="skywarden-split-receive", daemon=True)
    receiver.start()
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(list[AnyEvent])
    keyed_decoder = msgspec.msgpack.Decoder(tuple[list[tuple[Key, AnyEvent]], list[AnyEvent]])
    unobserved = deque(rt._held)  # derived events the source has not seen yet, oldest first
    polled: deque[list[InputEvent]] = deque()

    def poll(j: int) -> None:
        if j >= 1:
            source.observe(unobserved.popleft())  # as a one-process run does before this poll
        got = guard_inputs(source.poll(ticks[j]))  # as Runtime.tick guards a source's inputs
        polled.append(got)
        with contextlib.suppress(OSError):  # the worker is gone: the next receive says why
            here.send_bytes(encoder.encode([ev for ev in got if isinstance(ev, consumed)] + [Tick(t=ticks[j])]))

    rear_carry = rt._carry[n:]
    waited = 0.0
    clock = time.perf_counter
    unwritten: list[Event] = []  # whole ticks not yet appended (at most COMMIT_TICKS)
    try:
        if keyed is None:
            for j in range(min(OBSERVE_LAG + 1, len(ticks))):
                poll(j)
        for k, now in enumerate(ticks):
            t0 = clock()
            msg = _receive(inbox, worker)
            waited += clock() - t0
            pending, rt._pending_inputs = [*rt.opening, *guard_inputs(rt._pending_inputs)], []
            rt.opening = []
            _refuse_unseen(pending, consumed, "an input from a sink or an operator")
            got: Sequence[Event]
            if keyed is not None:
                independent, front_out = keyed_decoder.decode(msg)
                # the source has seen what ticks up to k - 1 - OBSERVE_LAG derived, as in one process
                while len(unobserved) > OBSERVE_LAG:
                    source.observe(unobserved.popleft())
                keyed_got: list[tuple[Key, Event]] = sorted([*independent, *keyed.poll_reactive(now)], key=lambda kv: kv[0])
                got = [ev for _, ev in keyed_got]
            else:
                front_out = decoder.decode(msg)
                got = polled.popleft()
            inputs = [*pending, *got, Tick(t=now)]
            # (a later stage cannot emit what the worker consumes: those are inputs, which
            # advance_stages refuses from any stage)
            rear_out = advance_stages(rear, rear_carry, [*inputs, *front_out], now)
            derived = [*front_out, *rear_out]
            check_encodable(got if keyed is not None else ())  # the simulator's own, never guarded above
            check_encodable(derived)
            unwritten += inputs
            unwritten += derived
            if (k + 1) % COMMIT_TICKS == 0:
                rt.log.append(unwritten)
                unwritten = []
            rt.last_tick = now
            unobserved.append(derived)
            if keyed is None and k + 1 + OBSERVE_LAG < len(ticks):
                poll(k + 1 + OBSERVE_LAG)
            for sink in rt.sinks:
                rt._pending_inputs.extend(sink.handle([*inputs, *derived], now))
            if on_tick is not None:
                on_tick(TickResult(now, inputs, derived))
        rt.log.append(unwritten)
        unwritten = []
        # the worker's stages as they ended, so that this runtime's are those of a one-process
        # run (a snapshot, or a caller going on from here, sees the same state)
        front_state, front_carry, (busy, idle) = pickle.loads(_receive(inbox, worker))
        rt.stages[:n] = front_state
        rt._carry[:n] = front_carry
        if keyed is not None:
            # this side's copy of the sensors did not move: it catches up if polled again
            keyed.polled_elsewhere(ticks[-1])
        worker.join(timeout=30)
    finally:
        if unwritten:
            # stopped by an error (a stage's, a sink's, the worker's): the ticks played before it
            # go to the log, as a run that commits every tick would have left them; if the log
            # itself is what failed, the error that stopped the night is the one to report
            with contextlib.suppress(Exception):
                rt.log.append(unwritten)
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=5)
        # the receiving thread ends at the worker's last message or at the pipe's end; closing
        # the pipe under it would break its read, so it is let finish first
        _drain(receiver, inbox)
        here.close()
    # leave the source where a one-process run leaves it: it has seen up to LAG ticks ago
    while len(unobserved) > OBSERVE_LAG:
        source.observe(unobserved.popleft())
    rt._held = list(unobserved)
    return SplitTimes(main_waited_s=waited, worker_busy_s=busy, worker_waited_s=idle)


def _receive_all(conn: Connection, inbox: queue.Queue[bytes | None]) -> None:
    """The worker's messages into ``inbox`` until its last (its state, or its failure); None
    when the pipe closes before."""
    while True:
        try:
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            inbox.put(None)
            return
        inbox.put(msg)
        if msg[:1] != _DATA:
            return


def _drain(receiver: threading.Thread, inbox: queue.Queue[bytes | None], timeout_s: float = 10.0) -> None:
    """Empty ``inbox`` until ``receiver`` ends (it may be waiting for room to put the last)."""
    deadline = time.monotonic() + timeout_s
    while receiver.is_alive() and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            inbox.get(timeout=0.05)


def _receive(inbox: queue.Queue[bytes | None], worker: BaseProcess) -> bytes:
    msg = inbox.get()
    if msg is None:
        worker.join(timeout=5)
        raise RuntimeError(f"the tracking worker ended without a word (exit code {worker.exitcode})")
    if msg[:1] == _FAIL:
        raise RuntimeError("the tracking worker failed:\n" + msg[1:].decode(errors="replace"))
    return msg[1:]


def _refuse_unseen(events: Sequence[Event], consumed: tuple[type[Event], ...], what: str) -> None:
    for ev in events:
        if isinstance(ev, consumed):
            # the worker's stages never see it: a split run would differ from a one-process run
            raise RuntimeError(f"{what} ({type(ev).__name__}) is for a stage in the worker; play this night in one process")


def _front_worker(
    conn: Connection,
    other_end: Connection,
    stages: list[Stage],
    carry: list[list[Event]],
    ticks: list[datetime],
    source: KeyedSource | None,
    consumed: tuple[type[Event], ...],
) -> None:
    """The worker's loop: each tick's inputs (from the pipe, or polled from ``source``'s
    independent part here) through the stages, the output back."""
    other_end.close()  # so that this end sees EOF when the main process goes away
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(list[AnyEvent])
    busy = idle = 0.0
    clock = time.perf_counter
    try:
        for now in ticks:
            t0 = clock()
            inputs: Sequence[Event]
            if source is None:
                inputs = decoder.decode(conn.recv_bytes())
                t1 = clock()
                msg = encoder.encode(advance_stages(stages, carry, inputs, now))
            else:
                t1 = clock()
                got = source.poll_independent(now)
                inputs = [ev for _, ev in got if isinstance(ev, consumed)] + [Tick(t=now)]
                msg = encoder.encode((got, advance_stages(stages, carry, inputs, now)))
            t2 = clock()
            conn.send_bytes(_DATA + msg)  # blocks while the pipe is full: this side is ahead
            t3 = clock()
            busy += t2 - t1
            idle += (t1 - t0) + (t3 - t2)
        state = (stages, carry, (busy, idle))
        conn.send_bytes(_STATE + pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    except (EOFError, BrokenPipeError):
        return  # the main process stopped listening: nothing to report to
    except BaseException:
        try:
            conn.send_bytes(_FAIL + traceback.format_exc().encode())
        except OSError:
            print(traceback.format_exc(), file=sys.stderr)
