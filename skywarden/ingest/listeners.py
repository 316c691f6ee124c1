"""Listeners: sensors' live streams into the served night (``skywarden serve``).

Network code at the edge, on the service's asyncio loop. Each listener owns its sockets, feeds
the incremental decoders of this folder, passes every event through the checks that
``run --input`` makes (:class:`~skywarden.ingest.jsonl.ReportChecker`) and hands it to a
:class:`ReportSink` (the night's inbox, where a sensor report keeps its own time)::

    SAPIENT nodes ──TCP──► SapientServer ─┐
    radars ───────UDP────► AsterixUdp ────┤  decoder.feed ─► ReportChecker ─► sink.submit ─► inbox
    a receiver ◄──TCP───── BeastClient ───┤  (rejections: ReportRejected, counted, logged)
    Remote ID ────UDP────► RemoteIdUdp ───┤
    Remote ID ────HTTP───► RemoteIdHttp ──┘  (POST /api/ingest/remoteid)

    ListenerGroup: starts and stops them; every ``check_s`` times out unfinished frames and
    silent SAPIENT nodes, and logs each listener's health as a ``SensorStatus`` named like
    ``sapient:0.0.0.0:5020`` when its state changes (up, degraded, down), else every
    ``health_every_s`` (the detail carries the figures as short text).

What keeps one sender from hurting the others or the night:

* a connection is read ``read_size`` bytes at a time and each read is decoded at once, so the
  loop turns between reads (SAPIENT 16 KiB, Beast 2 KiB: a few milliseconds of decoding);
  ASTERIX (libasterix is pure Python, tens of milliseconds a datagram) is decoded on a thread
  of its own behind a bounded queue; datagrams over ``max_datagram`` are refused unread;
* a SAPIENT length prefix over ``max_message`` is refused without allocating (the decoder) and
  closes that connection; so do ``max_rejects_in_row`` rejections in a row, an unfinished frame
  older than ``partial_timeout_s`` (a slow sender), and replies piling up unread past
  ``write_limit``; at most ``max_peers`` connections per server;
* while more than ``max_backlog`` reports wait for the next tick, connections stop being read
  (TCP pushes back on the senders) and datagrams are dropped, counted;
* rejections are logged one by one up to ``reject_burst`` at ``reject_rate`` a second per
  listener; beyond that they are counted (in the health detail) but not each logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import queue
import socket
import struct
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence, Sized
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Protocol, cast

import msgspec

from skywarden import events as E
from skywarden.errors import ConfigError
from skywarden.ingest.jsonl import ReportChecker
from skywarden.ingest.remoteid import RemoteIdDecoder
from skywarden.ingest.sapient import SapientDecoder
from skywarden.ingest.sensors import SensorSites
from skywarden.ingest.wire import DecodeCounts, Decoder

__all__ = [
    "KINDS",
    "AsterixUdp",
    "BeastClient",
    "Health",
    "HttpTaken",
    "Listener",
    "ListenerGroup",
    "ListenerOptions",
    "LiveSink",
    "RemoteIdHttp",
    "RemoteIdUdp",
    "ReportSink",
    "SapientServer",
    "build_listeners",
    "parse_address",
]

State = Literal["up", "degraded", "down"]
RATE_WINDOW_S = 10.0  # messages per second are counted over this window
MAX_SAPIENT_NODES = 10_000
MAX_UDP_PEERS = 1_024


async def _cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a task and wait until it has stopped (None: nothing to stop)."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass(frozen=True)
class ListenerOptions:
    """Bounds and timings shared by the listeners (see the module docstring)."""

    read_size: int | None = None  # bytes a connection is read at a time (None: the kind's own)
    max_peers: int = 64
    max_message: int = 1 << 20  # SAPIENT: a longer length prefix closes the connection
    partial_timeout_s: float = 10.0
    silence_s: float = 30.0  # a feed (or a SAPIENT node that declared no period) this long silent
    missed_heartbeats: float = 3.0  # a node is down after this many of its declared periods
    max_backlog: int = 200_000
    max_datagram: int = 65_507
    queue_datagrams: int = 4_096
    reject_burst: int = 200
    reject_rate: float = 100.0
    max_rejects_in_row: int = 100
    write_limit: int = 1 << 20
    backoff_s: tuple[float, float] = (0.5, 30.0)  # first and longest wait before a retry
    connect_timeout_s: float = 5.0


# ---------------------------------------------------------------------------- where reports go


class ReportSink(Protocol):
    """Where a listener's events go: the served night's inbox (:class:`LiveSink`) or a test's."""

    def submit_many(self, events: Sequence[E.InputEvent]) -> Future[int] | None:
        """Queue events (what one read gave); the future is answered with the log sequence
        once they are logged (None: refused, e.g. the night is over)."""
        ...

    def backlog(self) -> int:
        """Events waiting for the next tick."""
        ...


class _Night(Protocol):
    @property
    def inbox(self) -> Sized: ...

    def submit_many(self, events: Sequence[E.InputEvent], *, own_time: bool = False) -> Future[int]: ...


class LiveSink:
    """The night's inbox; every report keeps its own time (``LiveNight.submit_many(own_time=True)``:
    one future a read, not one a report)."""

    def __init__(self, night: _Night) -> None:
        self.night = night
        self.refused = 0
        self.why = ""

    def submit_many(self, events: Sequence[E.InputEvent]) -> Future[int] | None:
        try:
            return self.night.submit_many(events, own_time=True)
        except Exception as exc:  # the exercise is over, or the night stopped on an error: nothing more is logged
            self.refused += 1
            self.why = str(exc)
            return None

    def backlog(self) -> int:
        return len(self.night.inbox)


# ---------------------------------------------------------------------------- health


@dataclass(frozen=True)
class Health:
    """A listener's state and figures, as ``GET /api/sensors`` and the log show them."""

    name: str
    state: State
    peers: int
    last_message: datetime | None
    rate: float  # messages per second over the last RATE_WINDOW_S
    messages: int
    rejected: int
    why: str = ""  # what the state is owed to (e.g. "Connection refused; retrying in 4 s")

    def text(self) -> str:
        last = self.last_message.strftime("%H:%M:%SZ") if self.last_message else "never"
        s = f"{self.peers} peer{'s' if self.peers != 1 else ''}, {self.rate:.1f} msg/s, last {last}, {self.messages} msgs, {self.rejected} rejected"
        return f"{s}; {self.why}"[:300] if self.why else s


@dataclass
class _Clock:
    wall: Callable[[], datetime]
    monotonic: Callable[[], float]


def _wall() -> datetime:
    return datetime.now(UTC)


def _messages(c: DecodeCounts) -> int:
    """Messages a decoder has read: events made, rejected, and valid ones that make none."""
    return c.accepted + c.n_rejected + sum(c.ignored.values())


# ---------------------------------------------------------------------------- the base


class Listener:
    """One sensor feed: started on the service's loop, stopped, asked for its health.

    A subclass opens its sockets in ``_open`` and returns from ``_serve`` when its connection is
    lost (a client); an ``OSError`` from either is a ``down`` health and a retry after a
    backoff that doubles up to ``backoff_s[1]``."""

    kind: ClassVar[str] = ""
    EXPECTS_TRAFFIC: ClassVar[bool] = True  # silent this long is ``degraded`` (not Remote ID)
    READ_SIZE: ClassVar[int] = 16 * 1024

    def __init__(self, host: str, port: int, options: ListenerOptions | None = None) -> None:
        self.host, self.port = host, port
        self.options = options or ListenerOptions()
        self.name = f"{self.kind}:{host}:{port}"
        self.read_size = self.options.read_size or self.READ_SIZE
        self.checker = ReportChecker(source=self.name)
        self.messages = 0
        self.accepted = 0
        self.rejected = 0
        self.unlogged = 0  # rejections over the logging cap: counted, not each logged
        self.dropped = 0  # datagrams dropped unread (queue full, backlog)
        self.closed: Counter[str] = Counter()  # connections closed by this side, by why
        self.last_message: datetime | None = None
        self.last_mono: float | None = None
        self.opened = False
        self.why = ""
        self.sink: ReportSink | None = None
        self.clock = _Clock(_wall, time.monotonic)
        self._tokens = float(self.options.reject_burst)
        self._token_t = 0.0
        self._samples: deque[tuple[float, int, int, int]] = deque()  # (monotonic, messages, rejected, unlogged + dropped)
        self._task: asyncio.Task[None] | None = None
        self._started = self.clock.monotonic()

    # ------------------------------------------------------------------ interface

    @property
    def active(self) -> bool:
        """Whether its health is logged (the HTTP route only once something came)."""
        return True

    @property
    def peers(self) -> int:
        return 0

    async def start(self, sink: ReportSink, clock: _Clock | None = None) -> None:
        self.sink = sink
        if clock is not None:
            self.clock = clock
        self._started = self.clock.monotonic()
        tried = asyncio.Event()
        self._task = asyncio.create_task(self._supervise(tried), name=self.name)
        await tried.wait()  # the first try at opening made: a server is listening when this returns

    async def stop(self) -> None:
        await _cancel(self._task)
        self._task = None
        await self._close()
        self.opened = False

    def health(self) -> Health:
        mono = self.clock.monotonic()
        lost = self.unlogged + self.dropped
        self._samples.append((mono, self.messages, self.rejected, lost))
        while len(self._samples) > 2 and self._samples[1][0] <= mono - RATE_WINDOW_S:
            self._samples.popleft()
        t0, n0, r0, l0 = self._samples[0]
        rate = (self.messages - n0) / (mono - t0) if mono > t0 else 0.0
        state: State = "up" if self.opened else "down"
        notes = [self.why] if self.why else []
        if self.opened:
            silent = mono - (self.last_mono if self.last_mono is not None else self._started)
            if self.EXPECTS_TRAFFIC and silent > self.options.silence_s:
                state = "degraded"
                notes.insert(0, f"silent for {silent:.0f} s")
            if lost > l0 or 2 * (self.rejected - r0) > max(self.messages - n0, 1):
                state = "degraded"
                notes.append("mostly rejected" if lost == l0 else "losing reports")
        if self.unlogged:
            notes.append(f"{self.unlogged} rejections over the cap not logged")
        if self.dropped:
            notes.append(f"{self.dropped} datagrams dropped")
        if self.closed:
            notes.append(f"closed {sum(self.closed.values())} connections (" + ", ".join(f"{k} {n}" for k, n in self.closed.most_common(3)) + ")")
        return Health(self.name, state, self.peers, self.last_message, rate, self.messages, self.rejected, "; ".join(notes))

    def housekeeping(self) -> None:
        """Called every ``check_s`` on the loop: time out what waits too long."""

    # ------------------------------------------------------------------ for subclasses

    async def _open(self) -> None:
        raise NotImplementedError

    async def _serve(self) -> None:
        """Until the feed is lost (a client); a server serves until stopped."""
        await asyncio.Event().wait()

    async def _close(self) -> None:
        pass

    async def _supervise(self, tried: asyncio.Event) -> None:
        first, longest = self.options.backoff_s
        wait = first
        while True:
            try:
                try:
                    await self._open()
                finally:
                    tried.set()
                self.opened, self.why = True, ""
                since = self.clock.monotonic()
                await self._serve()
                self.why = "connection closed by the peer"
                if self.clock.monotonic() - since > 5 * first:
                    wait = first
            except TimeoutError:  # (an OSError too: first)
                self.why = "no answer"
            except OSError as exc:
                self.why = f"{exc.strerror or exc}"
            except Exception as exc:  # whatever it is, the listener retries; the night goes on
                self.why = f"{type(exc).__name__}: {exc}"
            self.opened = False
            await self._close()
            self.why = f"{self.why}; retrying in {wait:g} s"
            await asyncio.sleep(wait)
            wait = min(wait * 2, longest)

    def _took(self, events: Sequence[E.InputEvent], now: datetime, n_messages: int, out: list[tuple[E.InputEvent, Future[int] | None]] | None = None) -> int:
        """Count, check and submit a decoder's events (each with its future into ``out`` when
        given); returns how many were rejections."""
        self.messages += n_messages
        if n_messages:
            self.last_message, self.last_mono = now, self.clock.monotonic()
        bad = 0
        batch: list[E.InputEvent] = []
        kept: list[E.InputEvent] = []
        for ev in events:
            if not isinstance(ev, E.ReportRejected):
                ev = self.checker.check_event(ev, now)
            if isinstance(ev, E.ReportRejected):
                bad += 1
                self.rejected += 1
                if self._may_log_rejection():
                    batch.append(ev)
                else:
                    self.unlogged += 1
                    kept.append(ev)
            else:
                self.accepted += 1
                batch.append(ev)
        fut = self._submit(batch) if batch else None
        if out is not None:
            out.extend((ev, fut) for ev in batch)
            out.extend((ev, None) for ev in kept)
        return bad

    def _submit(self, events: Sequence[E.InputEvent]) -> Future[int] | None:
        return self.sink.submit_many(events) if self.sink is not None else None

    def _reject(self, reason: str, raw: bytes, now: datetime, out: list[tuple[E.InputEvent, Future[int] | None]] | None = None) -> None:
        """A rejection found here (not by a decoder): counted and logged like one."""
        self._took([E.ReportRejected(t=now, source=self.name, reason=reason, raw=raw[:1000].hex())], now, 1, out)

    def _may_log_rejection(self) -> bool:
        mono = self.clock.monotonic()
        o = self.options
        self._tokens = min(float(o.reject_burst), self._tokens + (mono - self._token_t) * o.reject_rate)
        self._token_t = mono
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _backlogged(self) -> bool:
        return self.sink is not None and self.sink.backlog() > self.options.max_backlog


# ---------------------------------------------------------------------------- stream connections


class _StreamConn(asyncio.BufferedProtocol):
    """One TCP connection read ``read_size`` bytes at a time, each read decoded at once."""

    def __init__(self, owner: Listener, decoder: Decoder) -> None:
        self.owner = owner
        self.dec = decoder
        self.buf = memoryview(bytearray(owner.read_size))
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.partial_since: float | None = None
        self.in_row = 0  # rejections since the last good event
        self.closing = False
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's, under uvicorn, is no subclass of asyncio.Transport)
        self.transport = cast(asyncio.Transport, transport)
        addr = transport.get_extra_info("peername")
        self.peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else str(addr)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buf

    def buffer_updated(self, nbytes: int) -> None:
        o = self.owner
        now = o.clock.wall()
        before = _messages(self.dec.counts)
        events = self.dec.feed(bytes(self.buf[:nbytes]), now)
        n_messages = _messages(self.dec.counts) - before
        bad = o._took(events, now, n_messages)
        self.in_row = self.in_row + bad if bad == len(events) else 0
        self.after_read(now)
        if self.closing:
            return
        if self.in_row >= o.options.max_rejects_in_row:
            self.close("rejections in a row")
            return
        # the unfinished frame's age counts from the read that left it unfinished: a sender
        # that keeps completing frames is never cut, one that dribbles a frame is
        if not self.dec.pending():
            self.partial_since = None
        elif self.partial_since is None or n_messages:
            self.partial_since = o.clock.monotonic()
        if o._backlogged() and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
            asyncio.get_running_loop().call_later(0.05, self._resume_when_drained)

    def after_read(self, now: datetime) -> None:
        """Checks of the kind after each read (SAPIENT: oversize prefixes)."""

    def _resume_when_drained(self) -> None:
        if self.closing or self.transport is None:
            return
        if self.owner._backlogged():
            asyncio.get_running_loop().call_later(0.05, self._resume_when_drained)
            return
        self.paused = False
        self.transport.resume_reading()

    def eof_received(self) -> bool | None:
        return False  # close our side too

    def write(self, data: bytes) -> None:
        if self.transport is None or self.closing:
            return
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > self.owner.options.write_limit:
            self.close("replies not read")

    def close(self, why: str) -> None:
        """Close from this side, counted by ``why`` (a fixed phrase)."""
        if self.closing:
            return
        self.closing = True
        if why != "listener stopped":
            self.owner.closed[why] += 1
        if self.transport is not None:
            self.transport.abort()

    def timed_out(self, mono: float) -> bool:
        """An unfinished frame older than the partial timeout: rejected, connection closed."""
        if self.partial_since is None or mono - self.partial_since <= self.owner.options.partial_timeout_s:
            return False
        now = self.owner.clock.wall()
        before = _messages(self.dec.counts)
        events = self.dec.close(now)
        self.owner._took(events, now, _messages(self.dec.counts) - before)
        self.partial_since = None
        self.close("unfinished frame timed out")
        return True

    def finish(self) -> None:
        """At connection loss: a frame left unfinished is rejected as truncated."""
        if self.dec.pending():
            now = self.owner.clock.wall()
            before = _messages(self.dec.counts)
            events = self.dec.close(now)
            self.owner._took(events, now, _messages(self.dec.counts) - before)


# ---------------------------------------------------------------------------- SAPIENT


_TIME_UNITS_S = {1: 1e-9, 2: 1e-6, 3: 1e-3, 4: 1.0, 5: 60.0, 6: 3600.0, 7: 86400.0}


@dataclass
class _NodeLife:
    sensor_id: str
    heard: float  # monotonic time of its latest message
    period_s: float | None = None  # declared status interval
    down: bool = False
    conn: _SapientConn | None = None


class _NodeDecoder(SapientDecoder):
    """A connection's decoder, telling its server of every message (answers, liveness)."""

    conn: _SapientConn

    def on_message(self, node_id: str, what: str | None, msg: Any, now: datetime | None) -> None:
        self.conn.owner._heard(self.conn, node_id, what, msg)


class _SapientConn(_StreamConn):
    owner: SapientServer
    dec: _NodeDecoder

    def __init__(self, server: SapientServer) -> None:
        dec = _NodeDecoder(server.sites, source=server.name, max_message=server.options.max_message)
        dec.conn = self
        dec.nodes = server._node_state  # what nodes said of themselves outlives a connection
        super().__init__(server, dec)
        self.too_long = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.dec.source = f"{self.owner.name} {self.peer}"
        if len(self.owner._conns) >= self.owner.options.max_peers:
            self.close("too many peers")
            return
        self.owner._conns.add(self)

    def after_read(self, now: datetime) -> None:
        n = self.dec.counts.rejected["too long"]
        if n > self.too_long:  # the decoder refused the prefix unallocated; the stream is not to be trusted
            self.too_long = n
            self.close("length prefix over the limit")

    def connection_lost(self, exc: Exception | None) -> None:
        self.finish()
        self.owner._lost(self)


class SapientServer(Listener):
    """A SAPIENT (BSI Flex 335 v2.0) fusion node's server: nodes connect, register and report.

    Registration is answered with a ``RegistrationAck`` (accepted when it defines the node),
    a ``Task`` with a ``TaskAck`` (rejected: Skywarden takes no tasks, it fuses reports), an
    ``Alert`` with an ``AlertAck`` (accepted; no event kind carries it); status and detection
    reports become events (``skywarden.ingest.sapient``). A node silent for longer than
    ``missed_heartbeats`` of its declared status period (``silence_s`` when it declared none),
    or whose connection closed, is marked ``down`` (``SensorStatus``) and ``up`` again when it
    speaks."""

    kind = "sapient"

    def __init__(self, host: str, port: int, sites: SensorSites | None = None, options: ListenerOptions | None = None, node_id: str | None = None) -> None:
        super().__init__(host, port, options)
        from sapient_msg.bsi_flex_335_v2_0 import sapient_message_pb2

        self._Message = sapient_message_pb2.SapientMessage
        self.sites = sites or SensorSites.empty()
        self.node_id = node_id or str(uuid.uuid4())  # this fusion node, as its replies name it
        self._node_state: dict[str, Any] = {}  # the decoders' per-node state, shared
        self.nodes: dict[str, _NodeLife] = {}
        self._conns: set[_SapientConn] = set()
        self._server: asyncio.Server | None = None
        self.answered: Counter[str] = Counter()

    @property
    def peers(self) -> int:
        return len(self._conns)

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _SapientConn(self), self.host, self.port, reuse_address=True)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            for c in list(self._conns):
                c.close("listener stopped")
            await self._server.wait_closed()
            self._server = None

    # ------------------------------------------------------------------ nodes

    def _heard(self, conn: _SapientConn, node_id: str, what: str | None, msg: Any) -> None:
        mono = self.clock.monotonic()
        life = self.nodes.get(node_id)
        if life is None:
            if len(self.nodes) >= MAX_SAPIENT_NODES:
                self.nodes.pop(next(iter(self.nodes)))
            life = self.nodes[node_id] = _NodeLife(sensor_id=conn.dec.sensor_id(node_id), heard=mono)
        life.heard, life.conn = mono, conn
        if life.down:
            life.down = False
            self._status(life, "up", "speaking again")
        if what == "registration":
            life.sensor_id = conn.dec.sensor_id(node_id)
            self._register(conn, node_id, life, msg)
        elif what == "task":
            self._reply(conn, node_id, "task_ack", task_id=msg.task.task_id, task_status=2, reason=["this fusion node takes no tasks: it fuses reports"])
        elif what == "alert":
            self._reply(conn, node_id, "alert_ack", alert_id=msg.alert.alert_id, alert_ack_status=1)

    def _register(self, conn: _SapientConn, node_id: str, life: _NodeLife, msg: Any) -> None:
        reg = msg.registration
        reasons = [] if len(reg.node_definition) else ["no node_definition"]
        interval = reg.status_definition.status_interval if reg.HasField("status_definition") else None
        if interval is not None and interval.HasField("value"):
            period = interval.value * _TIME_UNITS_S.get(interval.units, math.nan)
            if math.isfinite(period) and period > 0:
                life.period_s = period
        self._reply(conn, node_id, "registration_ack", acceptance=not reasons, ack_response_reason=reasons)

    def _reply(self, conn: _SapientConn, node_id: str, what: str, **fields: Any) -> None:
        m = self._Message()
        m.timestamp.FromDatetime(self.clock.wall())
        m.node_id, m.destination_id = self.node_id, node_id
        getattr(m, what).MergeFrom(type(getattr(m, what))(**fields))
        raw = m.SerializeToString()
        conn.write(len(raw).to_bytes(4, "little") + raw)
        self.answered[what] += 1

    def _status(self, life: _NodeLife, status: State, detail: str) -> None:
        self._submit([E.SensorStatus(t=self.clock.wall(), sensor_id=life.sensor_id, status=status, detail=detail)])

    def _lost(self, conn: _SapientConn) -> None:
        self._conns.discard(conn)
        for life in self.nodes.values():
            if life.conn is conn:
                life.conn = None
                if not life.down:
                    life.down = True
                    self._status(life, "down", "connection closed")

    def housekeeping(self) -> None:
        mono = self.clock.monotonic()
        for conn in list(self._conns):
            conn.timed_out(mono)
        o = self.options
        for life in self.nodes.values():
            limit = life.period_s * o.missed_heartbeats if life.period_s else o.silence_s
            if not life.down and mono - life.heard > limit:
                life.down = True
                self._status(life, "down", f"silent for {mono - life.heard:.1f} s (limit {limit:g} s)")


# ---------------------------------------------------------------------------- Beast (a client)


class _BeastConn(_StreamConn):
    owner: BeastClient

    def __init__(self, client: BeastClient) -> None:
        super().__init__(client, client.decoder)
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        self.finish()
        if not self.lost.done():
            self.lost.set_result(None)


class BeastClient(Listener):
    """A client of a Mode S receiver's Beast output (readsb, dump1090: port 30005), each frame
    dated by this clock. Reconnects after a loss, waiting ``backoff_s`` doubling; the aircraft's
    position state survives a reconnection."""

    kind = "beast"
    READ_SIZE = 2 * 1024  # ~90 frames of ~22 bytes; at the 27,000 a second bench/ingest.py measured, ~3.5 ms

    def __init__(self, host: str, port: int, options: ListenerOptions | None = None) -> None:
        super().__init__(host, port, options)
        from skywarden.ingest.adsb import AdsbDecoder

        self.decoder = AdsbDecoder("beast", source=self.name)
        self.connections = 0
        self._conn: _BeastConn | None = None

    @property
    def peers(self) -> int:
        return 1 if self._conn is not None and not self._conn.lost.done() else 0

    def health(self) -> Health:
        h = super().health()
        if self.connections > 1:
            return Health(h.name, h.state, h.peers, h.last_message, h.rate, h.messages, h.rejected, "; ".join(x for x in (h.why, f"{self.connections - 1} reconnections") if x))
        return h

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(loop.create_connection(lambda: _BeastConn(self), self.host, self.port), self.options.connect_timeout_s)
        self._conn = conn
        self.connections += 1

    async def _serve(self) -> None:
        assert self._conn is not None
        await self._conn.lost

    async def _close(self) -> None:
        if self._conn is not None:
            if not self._conn.lost.done():
                self._conn.close("listener stopped")
            self._conn = None

    def housekeeping(self) -> None:
        if self._conn is not None:
            self._conn.timed_out(self.clock.monotonic())


# ---------------------------------------------------------------------------- UDP


def _udp_socket(host: str, port: int, interface: str) -> socket.socket:
    """A bound UDP socket; a multicast group is joined on ``interface`` (IPv4)."""
    try:
        group = ipaddress.ip_address(host)
    except ValueError:
        group = None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # bursts of a radar's scan
        sock.bind((host, port))
        if group is not None and group.is_multicast:
            mreq = struct.pack("4s4s", socket.inet_aton(host), socket.inet_aton(interface))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, owner: _UdpListener) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.owner._datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.owner.why = f"socket error: {exc}"


class _UdpListener(Listener):
    def __init__(self, host: str, port: int, options: ListenerOptions | None = None, interface: str = "0.0.0.0") -> None:
        super().__init__(host, port, options)
        self.interface = interface
        self._transport: asyncio.DatagramTransport | None = None
        self._senders: dict[str, float] = {}

    @property
    def peers(self) -> int:
        horizon = self.clock.monotonic() - RATE_WINDOW_S
        return sum(1 for t in self._senders.values() if t >= horizon)

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        sock = _udp_socket(self.host, self.port, self.interface)
        self._transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self), sock=sock)

    async def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _sender(self, addr: tuple[str | Any, int]) -> str:
        peer = f"{addr[0]}:{addr[1]}"
        if peer not in self._senders and len(self._senders) >= MAX_UDP_PEERS:
            self._senders.pop(next(iter(self._senders)))
        self._senders[peer] = self.clock.monotonic()
        return peer

    def _datagram(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        raise NotImplementedError


class AsterixUdp(_UdpListener):
    """ASTERIX CAT048/CAT062 datagrams (unicast, or a multicast group joined on ``interface``),
    each dated by this clock. Decoded on a thread of its own behind a queue of
    ``queue_datagrams`` (libasterix is pure Python and slow): the loop only receives."""

    kind = "asterix-udp"

    def __init__(self, host: str, port: int, sites: SensorSites | None = None, options: ListenerOptions | None = None, interface: str = "0.0.0.0") -> None:
        super().__init__(host, port, options, interface)
        from skywarden.ingest.asterix import AsterixDecoder

        self.decoder = AsterixDecoder(sites, source=self.name)
        self._queue: queue.Queue[tuple[bytes, datetime]] = queue.Queue(self.options.queue_datagrams)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    async def _open(self) -> None:
        await super()._open()
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._decode, name=f"{self.name} decoder", daemon=True)
            self._thread.start()

    async def _close(self) -> None:
        await super()._close()
        if self._thread is not None:
            self._stopping.set()
            await asyncio.to_thread(self._thread.join, 5.0)
            self._thread = None

    def _datagram(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._sender(addr)
        if self._backlogged():
            self.dropped += 1
            return
        try:
            self._queue.put_nowait((data, self.clock.wall()))
        except queue.Full:
            self.dropped += 1

    def _decode(self) -> None:
        """The decoding thread: all of this listener's counting and checking happens here."""
        dec, limit = self.decoder, self.options.max_datagram
        while not self._stopping.is_set():
            try:
                data, received = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if len(data) > limit:
                self._reject(f"datagram too long: {len(data)} bytes (at most {limit})", data[:64], received)
                continue
            before = _messages(dec.counts)
            events = dec.feed_datagram(data, received)
            self._took(events, received, max(1, _messages(dec.counts) - before))


class RemoteIdUdp(_UdpListener):
    """Remote ID (ASTM F3411) over UDP: a datagram is one message or message pack (its sender
    is the datagram's source), or JSON, one message per line (a ``"sender"`` field names the
    transmitter; see ``skywarden.ingest.remoteid``)."""

    kind = "remoteid-udp"
    EXPECTS_TRAFFIC = False  # no drone broadcasting is a quiet night, not a fault

    def __init__(self, host: str, port: int, options: ListenerOptions | None = None, interface: str = "0.0.0.0") -> None:
        super().__init__(host, port, options, interface)
        self.binary = RemoteIdDecoder("binary", source=self.name)
        self.json = RemoteIdDecoder("jsonl", source=self.name)

    def _datagram(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        peer = self._sender(addr)
        now = self.clock.wall()
        if len(data) > self.options.max_datagram:
            self._reject(f"datagram too long: {len(data)} bytes", data[:64], now)
            return
        if self._backlogged():
            self.dropped += 1
            return
        if data.lstrip()[:1] == b"{":
            dec = self.json
            before = _messages(dec.counts)
            events = dec.feed(data + b"\n", now)
        else:
            dec = self.binary
            before = _messages(dec.counts)
            events = dec.feed_message(data, peer, now)
        self._took(events, now, max(1, _messages(dec.counts) - before))


# ---------------------------------------------------------------------------- Remote ID over HTTP


@dataclass(frozen=True)
class HttpTaken:
    """What a POST of Remote ID messages gave: reports made (and put in the inbox), rejections
    with their first reasons, and the futures answered once they are logged."""

    reports: int
    rejected: int
    reasons: list[str]
    futures: list[Future[int]] = field(repr=False)


class RemoteIdHttp(Listener):
    """Remote ID messages posted as JSON (``POST /api/ingest/remoteid``), one decoder's state
    across posts; its health is logged once something has come."""

    kind = "remoteid-http"
    EXPECTS_TRAFFIC = False

    def __init__(self, options: ListenerOptions | None = None) -> None:
        super().__init__("", 0, options)
        self.name = "remoteid-http"
        self.checker = ReportChecker(source=self.name)
        self.decoder = RemoteIdDecoder("jsonl", source=self.name)

    @property
    def active(self) -> bool:
        return self.messages > 0

    async def _open(self) -> None:
        pass

    def take(self, messages: Sequence[dict[str, Any]], peer: str = "") -> HttpTaken:
        """Each message (opendroneid's field names) as one JSON line; on the loop."""
        now = self.clock.wall()
        out: list[tuple[E.InputEvent, Future[int] | None]] = []
        lines = []
        for m in messages:
            try:
                lines.append(msgspec.json.encode(m))
            except (TypeError, OverflowError, msgspec.EncodeError) as exc:
                self._reject(f"json: {exc}", repr(m)[:200].encode(), now, out)
        if lines:
            before = _messages(self.decoder.counts)
            events = self.decoder.feed(b"\n".join(lines) + b"\n", now)
            self._took(events, now, _messages(self.decoder.counts) - before, out)
        bad = [ev.reason[:200] for ev, _ in out if isinstance(ev, E.ReportRejected)]
        futures = [f for _, f in out if f is not None]
        return HttpTaken(len(out) - len(bad), len(bad), bad[:10], futures)


# ---------------------------------------------------------------------------- the group


class ListenerGroup:
    """The service's listeners: started and stopped with it (the app's lifespan); their health
    checked every ``check_s`` and logged on a change of state, else every ``health_every_s``."""

    def __init__(
        self,
        listeners: Sequence[Listener] = (),
        *,
        health_every_s: float = 60.0,
        check_s: float = 1.0,
        wall: Callable[[], datetime] = _wall,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.listeners = list(listeners)
        http = [x for x in self.listeners if isinstance(x, RemoteIdHttp)]
        self.remoteid_http = http[0] if http else RemoteIdHttp()
        if not http:
            self.listeners.append(self.remoteid_http)
        names = [x.name for x in self.listeners]
        if len(set(names)) != len(names):
            raise ConfigError(f"listeners named twice: {sorted(n for n in set(names) if names.count(n) > 1)}")
        self.health_every_s, self.check_s = health_every_s, check_s
        self.clock = _Clock(wall, monotonic)
        self.sink: ReportSink | None = None
        self._logged: dict[str, tuple[State, float]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self, sink: ReportSink) -> None:
        self.sink = sink
        for x in self.listeners:
            await x.start(sink, self.clock)
        self._task = asyncio.create_task(self._watch(), name="listeners' health")

    async def stop(self) -> None:
        await _cancel(self._task)
        self._task = None
        for x in self.listeners:
            await x.stop()

    def healths(self) -> list[Health]:
        return [x.health() for x in self.listeners]

    def check(self) -> None:
        """One round: housekeeping, then health logged where due."""
        mono = self.clock.monotonic()
        for x in self.listeners:
            x.housekeeping()
            if not x.active:
                continue
            h = x.health()
            last = self._logged.get(x.name)
            if last is None or last[0] != h.state or mono - last[1] >= self.health_every_s:
                self._logged[x.name] = (h.state, mono)
                if self.sink is not None:
                    self.sink.submit_many([E.SensorStatus(t=self.clock.wall(), sensor_id=x.name, status=h.state, detail=h.text())])

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0)  # the listeners' first tries at opening first
            self.check()
            await asyncio.sleep(self.check_s)


# ---------------------------------------------------------------------------- configuration

KINDS = ("sapient", "asterix-udp", "beast", "remoteid-udp")


def parse_address(value: str) -> tuple[str, int, str]:
    """``HOST:PORT`` or ``GROUP:PORT@INTERFACE`` (a multicast group joined on that interface's
    IPv4 address) -> (host, port, interface). ConfigError names what is wrong."""
    addr, _, iface = value.partition("@")
    host, sep, port_s = addr.rpartition(":")
    if not sep or not port_s.isdigit() or not 0 < int(port_s) < 65536:
        raise ConfigError(f"{value!r}: use HOST:PORT, e.g. 0.0.0.0:5020")
    host = host.strip("[]") or "0.0.0.0"
    if iface:
        try:
            ipaddress.IPv4Address(iface)
        except ValueError:
            raise ConfigError(f"{value!r}: the interface after @ is an IPv4 address") from None
    return host, int(port_s), iface or "0.0.0.0"


def build_listeners(specs: Sequence[tuple[str, str]], sites: SensorSites | None = None, options: ListenerOptions | None = None) -> list[Listener]:
    """Listeners from (kind, address) pairs, as the flags of ``serve`` and the sensors file's
    ``[[listener]]`` tables give them."""
    out: list[Listener] = []
    for kind, address in specs:
        host, port, iface = parse_address(address)
        if kind == "sapient":
            out.append(SapientServer(host, port, sites, options))
        elif kind == "asterix-udp":
            out.append(AsterixUdp(host, port, sites, options, interface=iface))
        elif kind == "beast":
            out.append(BeastClient(host, port, options))
        elif kind == "remoteid-udp":
            out.append(RemoteIdUdp(host, port, options, interface=iface))
        else:
            raise ConfigError(f"unknown listener kind {kind!r}: one of {', '.join(KINDS)}")
    return out
