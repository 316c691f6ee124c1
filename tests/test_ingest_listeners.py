"""The listeners of ``skywarden serve`` over real sockets on 127.0.0.1: a SAPIENT node registers
and its drone becomes a confirmed track in the served night while a hostile node's garbage is
counted and refused; silent nodes are marked down; tasks and alerts are acknowledged; slow and
stuck senders are cut off; ASTERIX datagrams (unicast and multicast) become polar plots; the
Beast client reconnects after its receiver restarts; Remote ID over UDP and HTTP. The SAPIENT
stream framing is fuzzed (Hypothesis, bounded) through the connection itself."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skywarden import events as E
from skywarden.errors import ConfigError
from skywarden.ingest.listeners import (
    AsterixUdp,
    BeastClient,
    Listener,
    ListenerGroup,
    ListenerOptions,
    RemoteIdUdp,
    SapientServer,
    build_listeners,
    parse_address,
)
from skywarden.ingest.sapient import SapientDecoder
from skywarden.ingest.sensors import RadarSite, SensorSites, load_sensors
from skywarden.log import open_log
from skywarden.scenario import LoadedScenario
from skywarden.service.app import create_app
from skywarden.service.auth import Sessions
from skywarden.service.live import LiveNight
from skywarden.service.users import User, UserStore, _hasher
from tests.ingest_frames import (
    beast,
    ident_frame,
    position_frame,
    rid_basic_id,
    rid_location,
    rid_pack,
)

sm = pytest.importorskip("sapient_msg.bsi_flex_335_v2_0.sapient_message_pb2")
NODE = "0a5e2d3c-1111-4222-8333-444455556666"
HOSTILE = "ffffffff-0000-4000-8000-000000000000"
T0 = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)
FAST = dict(backoff_s=(0.05, 0.2), connect_timeout_s=2.0)


# ---------------------------------------------------------------------------- helpers


class Collect:
    """A sink that keeps what it is given (thread-safe: the ASTERIX thread submits too)."""

    def __init__(self) -> None:
        self.events: list[E.InputEvent] = []
        self.lock = threading.Lock()
        self.held = 0  # a backlog to report (tests of pushing back)

    def submit_many(self, events: Sequence[E.InputEvent]) -> Future[int]:
        with self.lock:
            self.events.extend(events)
        fut: Future[int] = Future()
        fut.set_result(len(self.events))
        return fut

    def backlog(self) -> int:
        return self.held

    def of(self, cls: type[E.InputEvent]) -> list[Any]:
        with self.lock:
            return [e for e in self.events if isinstance(e, cls)]


@contextmanager
def running(group: ListenerGroup, sink: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """The group on an event loop of its own thread, as the service's loop runs it (uvloop, as
    uvicorn runs it, when installed; the tests through the app run on asyncio's own loop)."""
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(group.start(sink), loop).result(10)
        yield loop
    finally:
        asyncio.run_coroutine_threadsafe(group.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def wait_for(pred: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or pred}")
        time.sleep(0.01)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message(node: str = NODE, t: datetime | None = T0) -> Any:
    m = sm.SapientMessage()
    m.node_id = node
    if t is not None:
        m.timestamp.FromDatetime(t)
    return m


def frame(m: Any) -> bytes:
    raw = m.SerializeToString()
    return len(raw).to_bytes(4, "little") + raw


def registration(node: str = NODE, interval_s: float | None = 10.0) -> bytes:
    m = message(node)
    d = m.registration.node_definition.add()
    d.node_type = 8  # passive RF
    m.registration.icd_version = "BSI Flex 335 v2.0"
    m.registration.name = "RF detector"
    if interval_s is not None:
        iv = m.registration.status_definition.status_interval
        iv.units, iv.value = 4, interval_s  # seconds
    return frame(m)


def status(t: datetime, node: str = NODE) -> bytes:
    m = message(node, t)
    m.status_report.report_id = "01HZX"
    m.status_report.system = 1
    return frame(m)


def detection(k: int, t: datetime, node: str = NODE) -> bytes:
    """A drone flying north-east, one detection a second."""
    m = message(node, t)
    d = m.detection_report
    d.report_id, d.object_id = f"R{k}", "OBJ1"
    d.location.x, d.location.y, d.location.z = 37.60 + k * 0.0002, 55.70 + k * 0.0002, 150.0
    d.location.coordinate_system, d.location.datum = 1, 1
    d.location.x_error = d.location.y_error = 0.0002
    c = d.classification.add()
    c.type, c.confidence = "UAV", 0.8
    return frame(m)


def task(task_id: str = "01HZTASK") -> bytes:
    m = message()
    m.task.task_id = task_id
    m.task.control = 1
    return frame(m)


def alert(alert_id: str = "01HZALERT") -> bytes:
    m = message()
    m.alert.alert_id = alert_id
    m.alert.description = "drone at the fence"
    return frame(m)


def read_reply(sock: socket.socket) -> Any:
    head = _read_exactly(sock, 4)
    raw = _read_exactly(sock, int.from_bytes(head, "little"))
    return sm.SapientMessage.FromString(raw)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        got = sock.recv(n - len(out))
        if not got:
            raise ConnectionError("closed")
        out += got
    return out


def closed_by_peer(sock: socket.socket, timeout: float = 10.0) -> bool:
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


# ---------------------------------------------------------------------------- SAPIENT, end to end


def test_a_sapient_node_over_tcp_registers_and_its_drone_becomes_a_confirmed_track_while_garbage_from_another_changes_nothing(
    scenario: LoadedScenario, tmp_path: Path
) -> None:
    live = LiveNight(scenario, str(tmp_path / "night.sqlite"), exercise=False, wall=lambda: T0)
    live.open()
    port = free_port()
    server = SapientServer("127.0.0.1", port, options=ListenerOptions(max_rejects_in_row=1000))
    group = ListenerGroup([server], check_s=0.05, health_every_s=0.2)
    store = UserStore([User("admin", "admin", _hasher.hash("pw")), User("viewer", "viewer", _hasher.hash("pw"))])
    app = create_app(live, store, Sessions(b"k" * 32), start_night=False, listeners=group)
    with TestClient(app) as client, connect(port) as node, connect(port) as hostile:
        node.sendall(registration())
        ack = read_reply(node)
        assert ack.WhichOneof("content") == "registration_ack" and ack.registration_ack.acceptance
        assert ack.destination_id == NODE and ack.node_id == server.node_id
        live.advance(1)  # (the inbox dates what its first tick takes at that tick)
        node.sendall(status(T0 + timedelta(seconds=1.25)))
        # a second node sends garbage: frames that are no SapientMessage, one without a node id
        garbage = [(5).to_bytes(4, "little") + b"\xff" * 5, (3).to_bytes(4, "little") + b"\x0a\x01\x00", frame(message(node=""))]
        for g in garbage:
            hostile.sendall(g)
        for k in range(60):
            t = T0 + timedelta(seconds=k + 1.5)
            node.sendall(detection(k, t))
            if k == 20:  # then a length prefix no message can have: refused unread, connection closed
                hostile.sendall((2**31).to_bytes(4, "little") + b"\0" * 1000)
            wait_for(lambda k=k: server.accepted >= k + 2, what=f"detection {k}")
            live.advance(1)
        assert closed_by_peer(hostile)
        # Task and Alert are acknowledged
        node.sendall(task() + alert())
        replies = [read_reply(node), read_reply(node)]
        kinds = {r.WhichOneof("content"): r for r in replies}
        assert kinds["task_ack"].task_ack.task_id == "01HZTASK" and kinds["task_ack"].task_ack.task_status == 2
        assert kinds["alert_ack"].alert_ack.alert_id == "01HZALERT" and kinds["alert_ack"].alert_ack.alert_ack_status == 1
        time.sleep(0.3)  # a health round after the last figures
        for _ in range(3):
            live.advance(1)
        token = client.post("/api/login", json={"user": "viewer", "password": "pw"}).json()["token"]
        sensors = {s["sensor_id"]: s for s in client.get("/api/sensors", headers={"Authorization": f"Bearer {token}"}).json()}
    live.stop()

    log = open_log(tmp_path / "night.sqlite")
    evs = [r.event() for r in log.read()]
    log.close()
    plots = [e for e in evs if isinstance(e, E.PositionPlots) and e.sensor_id == "sapient-0a5e2d3c"]
    assert len(plots) == 60 and [p.t for p in plots] == [T0 + timedelta(seconds=k + 1.5) for k in range(60)]  # each keeps its own time
    confirmed = [e for e in evs if isinstance(e, E.TrackConfirmed)]
    assert confirmed and abs(confirmed[0].lat - 55.70) < 0.01
    rejected = [e for e in evs if isinstance(e, E.ReportRejected)]
    assert len(rejected) == 4 and all(r.source.startswith(f"sapient:127.0.0.1:{port} 127.0.0.1:") for r in rejected)
    assert sum("too long" in r.reason for r in rejected) == 1 and server.closed["length prefix over the limit"] == 1
    assert server.rejected == 4 and server.answered == {"registration_ack": 1, "task_ack": 1, "alert_ack": 1}
    # the listener's health is in the log and in GET /api/sensors, named by its address
    health = sensors[f"sapient:127.0.0.1:{port}"]
    assert health["status"] == "up" and "rejected" in health["detail"] and "length prefix over the limit 1" in health["detail"]
    assert sensors["sapient-0a5e2d3c"]["status"] == "up"


# ---------------------------------------------------------------------------- SAPIENT, node by node


def test_a_silent_node_is_marked_down_and_up_again_when_it_speaks_and_down_when_it_hangs_up() -> None:
    port = free_port()
    server = SapientServer("127.0.0.1", port)
    sink = Collect()
    with running(ListenerGroup([server], check_s=0.02), sink):
        with connect(port) as node:
            node.sendall(registration(interval_s=0.1))  # declared: a status every 0.1 s
            read_reply(node)
            node.sendall(status(T0))

            def statuses() -> list[tuple[str, str]]:
                return [(e.status, e.detail) for e in sink.of(E.SensorStatus) if e.sensor_id == "sapient-0a5e2d3c"]

            wait_for(lambda: any(s == "down" for s, _ in statuses()), what="down")
            down = [d for s, d in statuses() if s == "down"][0]
            assert down.startswith("silent for") and "limit 0.3 s" in down  # three missed periods
            node.sendall(status(T0 + timedelta(seconds=5)))
            wait_for(lambda: ("up", "speaking again") in statuses(), what="up again")
        wait_for(lambda: statuses()[-1] == ("down", "connection closed") or ("down", "connection closed") in statuses(), what="hung up")


def test_slow_stuck_and_hostile_connections_are_cut_off_without_holding_the_others() -> None:
    port = free_port()
    opts = ListenerOptions(partial_timeout_s=0.3, max_rejects_in_row=5, max_peers=4)
    server = SapientServer("127.0.0.1", port, options=opts)
    sink = Collect()
    with running(ListenerGroup([server], check_s=0.02), sink):
        good = connect(port)
        # a frame that never ends: rejected as truncated once it is older than the timeout
        slow = connect(port)
        slow.sendall((100).to_bytes(4, "little") + b"\x0a" * 10)
        # a steady sender whose every write ends inside a frame is never cut: the age counts
        # from the read that left a frame unfinished
        steady = connect(port)
        frames = [status(T0, node=HOSTILE)] + [detection(k, T0 + timedelta(seconds=k + 1), node=HOSTILE) for k in range(12)]
        stream = b"".join(frames)
        step = len(stream) // 12 + 1
        for i in range(0, len(stream), step):
            steady.sendall(stream[i : i + step])
            time.sleep(0.1)
        # five rejections in a row close a connection
        noisy = connect(port)
        noisy.sendall(((5).to_bytes(4, "little") + b"\xff" * 5) * 5)
        assert closed_by_peer(noisy) and closed_by_peer(slow)
        # meanwhile the good node went on being read
        good.sendall(registration() + status(T0))
        assert read_reply(good).registration_ack.acceptance
        wait_for(lambda: any(isinstance(e, E.SensorStatus) and e.sensor_id == "sapient-0a5e2d3c" for e in sink.events))
        # more peers than allowed: the extra one is closed at once
        others = [connect(port) for _ in range(4)]
        assert sum(closed_by_peer(s, timeout=1.0) for s in others) >= 1
        wait_for(lambda: sum(isinstance(e, E.PositionPlots) and e.sensor_id == "sapient-ffffffff" for e in sink.events) == 12, what="the steady sender's frames")
        for s in (good, slow, noisy, steady, *others):
            s.close()
    assert server.closed["unfinished frame timed out"] == 1 and server.closed["rejections in a row"] == 1
    assert server.closed["too many peers"] >= 1
    assert any("truncated" in e.reason for e in sink.of(E.ReportRejected))


def test_a_full_inbox_pushes_back_on_the_senders() -> None:
    port = free_port()
    server = SapientServer("127.0.0.1", port, options=ListenerOptions(max_backlog=0))
    sink = Collect()
    sink.held = 1  # the night is behind: connections stop being read
    with running(ListenerGroup([server], check_s=0.02), sink), connect(port) as node:
        node.sendall(status(T0) + b"".join(detection(k, T0 + timedelta(seconds=k + 1)) for k in range(200)))
        wait_for(lambda: server.accepted >= 1)
        time.sleep(0.3)
        held = server.accepted
        assert held < 201  # paused after the first read
        sink.held = 0
        wait_for(lambda: server.accepted == 201, what="all read once drained")


def test_registration_without_a_node_definition_is_refused_with_its_reason() -> None:
    port = free_port()
    server = SapientServer("127.0.0.1", port)
    with running(ListenerGroup([server]), Collect()), connect(port) as node:
        m = message()
        m.registration.name = "nothing defined"
        node.sendall(frame(m))
        ack = read_reply(node).registration_ack
        assert not ack.acceptance and list(ack.ack_response_reason) == ["no node_definition"]


# ---------------------------------------------------------------------------- fuzzing the framing


class _Transport(asyncio.Transport):
    """What a connection asks of its transport, in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted = False
        self.written = b""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 4000) if name == "peername" else None

    def write(self, data: bytes) -> None:
        self.written += data

    def get_write_buffer_size(self) -> int:
        return 0

    def abort(self) -> None:
        self.aborted = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _pieces() -> st.SearchStrategy[list[bytes]]:
    good = st.integers(0, 10_000).map(lambda k: detection(k % 500, T0 + timedelta(seconds=k)))
    junk = st.binary(max_size=40).map(lambda b: len(b).to_bytes(4, "little") + b)
    huge = st.integers(2**20 + 1, 2**32 - 1).map(lambda n: n.to_bytes(4, "little"))
    return st.lists(st.one_of(good, good, junk, huge, st.binary(max_size=12)), max_size=12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=_pieces(), cuts=st.lists(st.integers(1, 300), min_size=1, max_size=20))
def test_fuzz_sapient_stream_framing_through_a_connection(pieces: list[bytes], cuts: list[int]) -> None:
    """However the stream is made and cut, nothing escapes the connection; what it submits is
    the start of what the offline decoder and the report checks make of the same bytes (all of
    it unless the connection was closed for cause), each rejection counted."""
    from skywarden.ingest.jsonl import ReportChecker
    from skywarden.ingest.listeners import _SapientConn

    stream = b"".join(pieces)
    server = SapientServer("127.0.0.1", 1, options=ListenerOptions(read_size=256, max_rejects_in_row=8))
    sink = Collect()
    server.sink = sink
    conn = _SapientConn(server)
    transport = _Transport()
    conn.connection_made(transport)
    pos, i = 0, 0
    while pos < len(stream) and not transport.aborted:
        n = min(cuts[i % len(cuts)], len(stream) - pos, server.read_size)
        conn.get_buffer(n)[:n] = stream[pos : pos + n]
        conn.buffer_updated(n)
        pos, i = pos + n, i + 1
    conn.connection_lost(None)
    got = [e for e in sink.events if not isinstance(e, E.ReportRejected | E.SensorStatus)]
    dec, checker = SapientDecoder(), ReportChecker("offline")
    expected = [checker.check_event(e) for e in dec.feed(stream) + dec.close() if not isinstance(e, E.ReportRejected)]
    expected = [e for e in expected if not isinstance(e, E.ReportRejected | E.SensorStatus)]
    assert got == expected[: len(got)]
    if not transport.aborted:
        assert got == expected
    assert server.rejected == len(sink.of(E.ReportRejected)) + server.unlogged


# ---------------------------------------------------------------------------- ASTERIX over UDP


def _cat048(tod: float, n: int = 3) -> bytes:
    from tests.test_ingest_asterix import C48, block, plot

    return block(C48, [plot(10.0 + k, 45.0 + k, tod + 0.01 * k, fl=50 + k, adr=0x4840D6 + k) for k in range(n)])


SITES = SensorSites({(25, 10): RadarSite(sac=25, sic=10, lat=55.9, lon=37.4, alt=190.0, id="radar-north")}, {})


def test_asterix_datagrams_become_polar_plots_and_oversized_ones_are_refused() -> None:
    pytest.importorskip("asterix.generated")
    port = free_port(socket.SOCK_DGRAM)
    listener = AsterixUdp("127.0.0.1", port, SITES, options=ListenerOptions(max_datagram=600))
    sink = Collect()
    now = datetime.now(UTC)
    tod = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    with running(ListenerGroup([listener], check_s=0.05), sink), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.sendto(_cat048(tod), ("127.0.0.1", port))
        tx.sendto(_cat048(tod + 1, n=40), ("127.0.0.1", port))  # over 600 bytes
        tx.sendto(b"\x30\x00\x02", ("127.0.0.1", port))  # a block length that frames nothing
        wait_for(lambda: len(sink.of(E.ReportRejected)) >= 2 and sink.of(E.PolarPlots), what="plots and rejections")
        wait_for(lambda: any(e.sensor_id == listener.name for e in sink.of(E.SensorStatus)), what="health")
    (plots,) = sink.of(E.PolarPlots)
    assert plots.sensor_id == "radar-north" and len(plots.range_m) == 3
    assert plots.range_m[0] == pytest.approx(10.0 * 1852.0, rel=1e-3) and plots.azimuth_deg[1] == pytest.approx(46.0, abs=0.01)
    assert abs((plots.t - now).total_seconds()) < 2
    reasons = [e.reason for e in sink.of(E.ReportRejected)]
    assert any(r.startswith("datagram too long") for r in reasons) and any(r.startswith("block length") for r in reasons)
    assert listener.peers == 1 and listener.messages >= 3


def test_asterix_multicast_group_is_joined() -> None:
    pytest.importorskip("asterix.generated")
    port = free_port(socket.SOCK_DGRAM)
    group_addr = "239.255.42.99"
    listener = AsterixUdp(group_addr, port, SITES, interface="127.0.0.1")
    sink = Collect()
    now = datetime.now(UTC)
    tod = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    with running(ListenerGroup([listener], check_s=0.05), sink), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        wait_for(lambda: listener.opened or listener.why, what="joined or failed")
        if not listener.opened:
            pytest.skip(f"no multicast on the loopback here: {listener.why}")
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        try:
            tx.sendto(_cat048(tod), (group_addr, port))
        except OSError as exc:
            pytest.skip(f"no multicast on the loopback here: {exc}")
        deadline = time.monotonic() + 5
        while not sink.of(E.PolarPlots) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not sink.of(E.PolarPlots):
            pytest.skip("multicast datagrams are not looped back on this host")
    assert sink.of(E.PolarPlots)[0].sensor_id == "radar-north"


# ---------------------------------------------------------------------------- Beast (a client)


class _Receiver:
    """A receiver's Beast port, listening in a thread; sends what it is given to each client."""

    def __init__(self, port: int, data: bytes) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen()
        self.data = data
        self.clients: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        self.clients.append(c)
        c.sendall(self.data)

    def close(self) -> None:
        for c in self.clients:
            c.close()
        self.sock.close()
        self.thread.join(5)


def _aircraft(icao: int, lat: float) -> bytes:
    frames = [ident_frame(icao, "TEST1"), position_frame(icao, lat, 37.6, 3000, False), position_frame(icao, lat, 37.6, 3000, True)]
    return b"".join(beast(f, 1000 + k * 6_000_000) for k, f in enumerate(frames))


def test_the_beast_client_reads_a_receiver_and_reconnects_after_it_restarts() -> None:
    port = free_port()
    client = BeastClient("127.0.0.1", port, options=ListenerOptions(**FAST))  # type: ignore[arg-type]
    sink = Collect()
    rx = _Receiver(port, _aircraft(0x4CA123, 55.70) + b"\x1a\x33\x00")  # and a frame cut short
    with running(ListenerGroup([client], check_s=0.02), sink):
        wait_for(lambda: sink.of(E.AdsbReport), what="first report")
        rx.close()  # the receiver goes away
        wait_for(lambda: any(e.sensor_id == client.name and e.status == "down" for e in sink.of(E.SensorStatus)), what="down")
        assert "retrying in" in client.health().why
        rx = _Receiver(port, _aircraft(0x4CA124, 55.80))  # and comes back
        wait_for(lambda: len(sink.of(E.AdsbReport)) == 2, what="report after reconnecting")
        wait_for(lambda: [e.status for e in sink.of(E.SensorStatus) if e.sensor_id == client.name][-1] == "up", what="up again")
        rx.close()
    first, second = sink.of(E.AdsbReport)
    assert (first.icao24, second.icao24) == ("4ca123", "4ca124") and first.callsign == "TEST1"
    assert abs(second.lat - 55.80) < 1e-3 and client.connections == 2
    assert any("truncated" in e.reason for e in sink.of(E.ReportRejected))  # the frame cut by the loss
    assert "1 reconnections" in client.health().why


# ---------------------------------------------------------------------------- Remote ID


def _tenths(t: datetime) -> int:
    return int((t - t.replace(minute=0, second=0, microsecond=0)).total_seconds() * 10)


def test_remote_id_over_udp_as_packs_and_as_json() -> None:
    port = free_port(socket.SOCK_DGRAM)
    listener = RemoteIdUdp("127.0.0.1", port)
    sink = Collect()
    now = datetime.now(UTC)
    pack = rid_pack([rid_basic_id("UAS-PACK-1"), rid_location(55.7, 37.6, 120.0, 10.0, 90.0, 0.0, _tenths(now))])
    lines = b"\n".join(msgspec.json.encode(m) for m in [
        {"type": "BasicID", "UASID": "UAS-JSON-2", "sender": "aa:bb"},
        {"type": "Location", "sender": "aa:bb", "Latitude": 55.71, "Longitude": 37.61, "AltitudeGeo": 80.0, "TimeStamp": _tenths(now) / 10},
    ])  # fmt: skip
    with running(ListenerGroup([listener], check_s=0.05), sink), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.sendto(pack, ("127.0.0.1", port))
        tx.sendto(lines, ("127.0.0.1", port))
        tx.sendto(b"\x12\x00", ("127.0.0.1", port))  # not a message
        wait_for(lambda: len(sink.of(E.RemoteIdReport)) == 2 and sink.of(E.ReportRejected), what="reports")
        assert listener.health().state == "up"  # a quiet Remote ID port is not a fault
    a, b = sorted(sink.of(E.RemoteIdReport), key=lambda r: r.uas_id)
    assert (a.uas_id, b.uas_id) == ("UAS-JSON-2", "UAS-PACK-1") and abs(a.lat - 55.71) < 1e-6 and abs(b.alt - 120.0) < 1
    assert b.ve == pytest.approx(10.0, abs=0.3)


def test_remote_id_over_http_needs_the_ingest_role_and_reaches_the_log(scenario: LoadedScenario, tmp_path: Path) -> None:
    live = LiveNight(scenario, str(tmp_path / "night.sqlite"), exercise=False, wall=lambda: T0)
    live.open()
    store = UserStore([User("admin", "admin", _hasher.hash("pw")), User("duty", "duty_officer", _hasher.hash("pw"))])
    app = create_app(live, store, Sessions(b"k" * 32), start_night=False)
    t = T0 + timedelta(seconds=1.5)
    body = {"messages": [
        {"type": "BasicID", "UASID": "UAS-HTTP-1"},
        {"type": "Location", "Latitude": 55.72, "Longitude": 37.62, "AltitudeGeo": 90.0, "TimeStamp": _tenths(t) / 10, "received": t.isoformat()},
        {"type": "Location", "Latitude": 95.0, "Longitude": 37.62, "AltitudeGeo": 90.0, "received": t.isoformat()},
    ]}  # fmt: skip
    with TestClient(app) as client, ThreadPoolExecutor(1) as pool:
        tokens = {u: client.post("/api/login", json={"user": u, "password": "pw"}).json()["token"] for u in ("admin", "duty")}
        client.cookies.clear()
        refused = client.post("/api/ingest/remoteid", json=body, headers={"Authorization": f"Bearer {tokens['duty']}"})
        assert refused.status_code == 403
        live.advance(1)
        posted = pool.submit(client.post, "/api/ingest/remoteid", json=body, headers={"Authorization": f"Bearer {tokens['admin']}"})
        wait_for(lambda: app.state.listeners.remoteid_http.messages >= 3, what="the post taken")
        assert not posted.done()  # the answer waits for the tick that logs the reports
        live.advance(1)
        r = posted.result(timeout=15)
        assert r.status_code == 202, r.text
        got = r.json()
        assert got["reports"] == 1 and got["rejected"] == 1 and got["logged"] and "not on Earth" in got["reasons"][0]
        assert client.post("/api/ingest/remoteid", json={"messages": []}, headers={"Authorization": f"Bearer {tokens['admin']}"}).status_code == 422
    live.stop()
    log = open_log(tmp_path / "night.sqlite")
    evs = [r.event() for r in log.read()]
    log.close()
    (rep,) = [e for e in evs if isinstance(e, E.RemoteIdReport)]
    assert rep.uas_id == "UAS-HTTP-1" and rep.t == t
    assert any(isinstance(e, E.ReportRejected) and e.source == "remoteid-http" for e in evs)


# ---------------------------------------------------------------------------- configuration


def test_addresses_kinds_and_the_sensors_file(tmp_path: Path) -> None:
    assert parse_address("0.0.0.0:5020") == ("0.0.0.0", 5020, "0.0.0.0")
    assert parse_address(":30005") == ("0.0.0.0", 30005, "0.0.0.0")
    assert parse_address("239.1.2.3:8600@10.0.0.5") == ("239.1.2.3", 8600, "10.0.0.5")
    for bad in ("5020", "host:port", "h:70000", "239.1.2.3:8600@eth0"):
        with pytest.raises(ConfigError):
            parse_address(bad)
    f = tmp_path / "sensors.toml"
    f.write_text('[[listener]]\nkind = "sapient"\naddress = "127.0.0.1:5020"\n\n[[listener]]\nkind = "beast"\naddress = "127.0.0.1:30005"\n')
    sites = load_sensors(f)
    made = build_listeners([(x.kind, x.address) for x in sites.listeners], sites)
    assert [x.name for x in made] == ["sapient:127.0.0.1:5020", "beast:127.0.0.1:30005"]
    f.write_text('[[listener]]\nkind = "telnet"\naddress = "127.0.0.1:23"\n')
    with pytest.raises(ConfigError):
        load_sensors(f)
    with pytest.raises(ConfigError, match="named twice"):
        ListenerGroup(build_listeners([("sapient", "127.0.0.1:5020"), ("sapient", "127.0.0.1:5020")]))


def test_a_port_taken_is_a_down_listener_not_a_stopped_service() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = SapientServer("127.0.0.1", port, options=ListenerOptions(**FAST))  # type: ignore[arg-type]
        sink = Collect()
        with running(ListenerGroup([server], check_s=0.02), sink):
            wait_for(lambda: sink.of(E.SensorStatus), what="health")
            (st_,) = sink.of(E.SensorStatus)[:1]
            assert st_.status == "down" and st_.sensor_id == f"sapient:127.0.0.1:{port}" and "retrying" in st_.detail


def test_every_listener_kind_is_a_listener() -> None:
    made = build_listeners([("sapient", "127.0.0.1:1"), ("asterix-udp", "127.0.0.1:2"), ("beast", "127.0.0.1:3"), ("remoteid-udp", "127.0.0.1:4")])
    assert all(isinstance(x, Listener) for x in made)
    assert [x.kind for x in made] == ["sapient", "asterix-udp", "beast", "remoteid-udp"]


# ---------------------------------------------------------------------------- skywarden serve


def test_serve_flags_start_the_listeners_and_a_bad_address_is_refused(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys
    import tomllib
    import urllib.request

    from typer.testing import CliRunner

    from skywarden.cli import app

    bad = CliRunner().invoke(app, ["serve", "--exercise", "--log", str(tmp_path / "x.sqlite"), "--sapient", "nowhere"])
    assert bad.exit_code == 2 and "HOST:PORT" in bad.output

    http, sapient, rid = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    sensors = tmp_path / "sensors.toml"
    sensors.write_text(f'[[listener]]\nkind = "remoteid-udp"\naddress = "127.0.0.1:{rid}"\n')
    cmd = [sys.executable, "-m", "skywarden.cli", "serve", "--exercise", "--speed", "20", "--log", str(tmp_path / "night.sqlite"),
           "--bind", f"127.0.0.1:{http}", "--sapient", f"127.0.0.1:{sapient}", "--sensors", str(sensors)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # this checkout's skywarden
    with (tmp_path / "serve.err").open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 120
        node = None
        while node is None:
            assert proc.poll() is None, (tmp_path / "serve.err").read_text()
            try:
                node = connect(sapient)
            except OSError:
                assert time.monotonic() < deadline, "serve did not listen in 120 s"
                time.sleep(0.2)
        with node:
            node.sendall(registration())
            assert read_reply(node).registration_ack.acceptance
        users = {u["user"]: u for u in tomllib.loads((tmp_path / "exercise-users.toml").read_text())["user"]}

        def call(path: str, body: Any = None, token: str | None = None) -> Any:
            req = urllib.request.Request(f"http://127.0.0.1:{http}{path}", data=None if body is None else json.dumps(body).encode())
            req.add_header("content-type", "application/json")
            if token:
                req.add_header("authorization", f"Bearer {token}")
            with urllib.request.urlopen(req, timeout=20) as r:
                return json.loads(r.read())

        token = call("/api/login", {"user": "admin", "password": users["admin"]["password"]})["token"]
        names: set[str] = set()
        while not {f"sapient:127.0.0.1:{sapient}", f"remoteid-udp:127.0.0.1:{rid}"} <= names:
            assert time.monotonic() < deadline, f"listeners' health not in /api/sensors: {names}"
            time.sleep(0.5)
            names = {s["sensor_id"] for s in call("/api/sensors", token=token)}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"listening: sapient:127.0.0.1:{sapient}" in out.decode() and f"listening: remoteid-udp:127.0.0.1:{rid}" in out.decode()


# ---------------------------------------------------------------------------- the checks' memory


def test_the_duplicate_check_forgets_only_what_the_order_check_refuses_anyway(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from skywarden.ingest import jsonl
    from skywarden.ingest.jsonl import ReportChecker

    def plot(s: float, sensor: str = "r1", lat: float = 55.7) -> E.PositionPlots:
        return E.PositionPlots(t=T0 + timedelta(seconds=s), sensor_id=sensor, lat=[lat], lon=[37.6], alt=[100.0], sigma_m=[20.0])

    c = ReportChecker("test", reorder_tolerance_s=5.0)
    for k in range(10_000):
        assert not isinstance(c.check_event(plot(k * 0.01, lat=55.0 + k * 1e-5)), E.ReportRejected)
    assert len(c._seen) < 600  # about the last 5 s of reports (500), not all 10,000
    dup = c.check_event(plot(99.99, lat=55.0 + 9_999 * 1e-5))  # the latest again: still known
    assert isinstance(dup, E.ReportRejected) and "duplicate" in dup.reason
    old = c.check_event(plot(1.0, lat=55.0 + 100 * 1e-5))  # long forgotten: refused by the order check
    assert isinstance(old, E.ReportRejected) and "out of order" in old.reason
    # another sender's reports are kept by that sender's time, not this one's
    assert not isinstance(c.check_event(plot(0.0, sensor="r2")), E.ReportRejected)
    assert isinstance(c.check_event(plot(0.0, sensor="r2")), E.ReportRejected)
    assert not gc.is_tracked(c._seen)  # the collector never walks it
    # at most MAX_REMEMBERED, whatever the times
    monkeypatch.setattr(jsonl, "MAX_REMEMBERED", 100)
    same_time = ReportChecker("test")
    for k in range(1_000):
        same_time.check_event(plot(0.0, lat=50.0 + k * 1e-4))
    assert len(same_time._seen) == 100
