"""Live SAPIENT ingest: detections per second through a served night on one core, and the time
from the socket write to the logged event.

    PYTHONPATH=. python bench/listen_sapient.py [--rate 20000] [--seconds 10] [--nodes 4]
                                                [--min-tick-s 0.1] [--stages none|tracking|all]

The server side is what ``skywarden serve --sapient`` runs, pinned to one core: a live night
(``LiveNight``, its own thread ticking on the wall clock, SQLite log) and a ``SapientServer`` on
the event loop (uvloop, as under uvicorn), every detection decoded, checked (``ReportChecker``) and put in the inbox.
The nodes are another process, pinned to another core: each connects, registers, and sends
detections at its share of ``--rate`` in batches every 5 ms, each stamped (its SAPIENT
timestamp, and its ``id`` as nanoseconds) with the wall clock just before its batch is built.

Latency: the night's ``on_tick`` records when each tick's records are in the log (it runs just
after the append); a detection's latency is that moment minus its stamp (so the nodes' own
building of the batch is counted in it). A detection waits for the next tick: a live night
ticks ``min_tick_s`` (serve: 0.1 s) after the previous tick once inputs wait, so that wait
alone is up to ``min_tick_s``, plus the tick's own time. ``--stages``: ``none`` is the ingest path alone (no stage
runs on the ticks; listener -> checks -> inbox -> tick -> log), ``tracking`` adds the tracker
(each SAPIENT detection is a one-plot scan), ``all`` is the whole night's pipeline.

Also printed: the server process's CPU (by thread: the loop, the night); the event loop's lag
(a task asking to sleep 10 ms, how late it wakes: on a busy machine mostly the scheduler's
doing); and the CPU time of handling one read of a connection (decoding, checks, the inbox),
which is how long the loop is held at a time by a node, whatever else runs on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing as mp
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skywarden import events as E  # noqa: E402
from skywarden.ingest import listeners as listeners_module  # noqa: E402
from skywarden.ingest.listeners import ListenerGroup, ListenerOptions, LiveSink, SapientServer  # noqa: E402
from skywarden.log import open_log  # noqa: E402
from skywarden.runtime import settled_heap  # noqa: E402
from skywarden.scenario import load_scenario  # noqa: E402
from skywarden.service import live as live_module  # noqa: E402
from skywarden.service.live import LiveNight  # noqa: E402

BATCH_S = 0.005


# ---------------------------------------------------------------------------- the nodes (another process)


def _pin(core: int | None) -> None:
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})


def _read(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        got = s.recv(n - len(out))
        if not got:
            raise ConnectionError("closed by the server")
        out += got
    return out


def nodes(port: int, n_nodes: int, rate: float, seconds: float, core: int | None, out: Any) -> None:
    """Connect ``n_nodes`` nodes and send ``rate`` detections a second between them."""
    from sapient_msg.bsi_flex_335_v2_0.sapient_message_pb2 import SapientMessage

    _pin(core)
    socks, ids = [], []
    for i in range(n_nodes):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        node = f"{i:08x}-1111-4222-8333-444455556666"
        m = SapientMessage(node_id=node)
        m.timestamp.GetCurrentTime()
        d = m.registration.node_definition.add()
        d.node_type = 8
        iv = m.registration.status_definition.status_interval
        iv.units, iv.value = 4, 60.0
        raw = m.SerializeToString()
        s.sendall(len(raw).to_bytes(4, "little") + raw)
        _read(s, int.from_bytes(_read(s, 4), "little"))  # the RegistrationAck, all of it (unread bytes would reset the connection at close)
        socks.append(s)
        ids.append(node)
    per_batch = rate * BATCH_S / n_nodes
    owed = [0.0] * n_nodes
    sent = 0
    k = 0
    start = time.perf_counter()
    next_t = start
    while (now := time.perf_counter()) - start < seconds:
        if now < next_t:
            time.sleep(next_t - now)
        next_t += BATCH_S
        for i, s in enumerate(socks):
            owed[i] += per_batch
            n = int(owed[i])
            owed[i] -= n
            if not n:
                continue
            stamp_ns = time.time_ns()
            chunks = []
            for _ in range(n):
                m = SapientMessage(node_id=ids[i])
                m.timestamp.FromNanoseconds(stamp_ns)
                det = m.detection_report
                det.report_id, det.object_id, det.id = f"R{k}", f"O{k % 50}", str(stamp_ns)
                loc = det.location
                # 50 objects per node, each a few hundred metres from the next, drifting north
                loc.x = 37.40 + 0.004 * (k % 50) + 0.0005 * i
                loc.y = 55.60 + 1e-6 * ((k // 50) % 100_000)
                loc.z = 150.0
                loc.coordinate_system, loc.datum = 1, 1
                loc.x_error = loc.y_error = 0.0002
                raw = m.SerializeToString()
                chunks.append(len(raw).to_bytes(4, "little") + raw)
                k += 1
            s.sendall(b"".join(chunks))
            sent += n
    elapsed = time.perf_counter() - start
    for s in socks:
        s.close()
    out.put((sent, elapsed))


# ---------------------------------------------------------------------------- the server (this process)


def _thread_cpu(tid: int) -> float:
    """CPU seconds of one of this process's threads (Linux /proc)."""
    try:
        fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


READS: list[float] = []  # CPU seconds of each read's handling
GC_PAUSES: list[tuple[int, float]] = []  # (generation, CPU seconds) of each collection


def _timed_collections() -> None:
    started: dict[int, float] = {}

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[threading.get_ident()] = time.thread_time()
        elif (t := started.pop(threading.get_ident(), None)) is not None:
            GC_PAUSES.append((info["generation"], time.thread_time() - t))

    gc.callbacks.append(on_gc)


def _timed_reads() -> None:
    """Time each read's handling in the connection (thread CPU time: preemption not counted)."""
    handle = listeners_module._StreamConn.buffer_updated

    def timed(self: Any, nbytes: int) -> None:
        c = time.thread_time()
        handle(self, nbytes)
        READS.append(time.thread_time() - c)

    listeners_module._StreamConn.buffer_updated = timed  # type: ignore[method-assign]  # the benchmark's probe


async def serve(live: LiveNight, port: int, args: argparse.Namespace, client_core: int | None) -> dict[str, Any]:
    server = SapientServer("127.0.0.1", port, options=ListenerOptions(max_backlog=10_000_000))
    group = ListenerGroup([server], check_s=1.0)
    await group.start(LiveSink(live))
    lags: list[float] = []
    stop = asyncio.Event()

    async def probe() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - t - 0.01)

    probing = asyncio.create_task(probe())
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=nodes, args=(port, args.nodes, args.rate, args.seconds, client_core, out))
    loop_tid = threading.get_native_id()
    night_tid = live._thread.native_id if live._thread is not None else None
    c0 = (time.process_time(), _thread_cpu(loop_tid), _thread_cpu(night_tid) if night_tid else float("nan"))
    t0 = time.perf_counter()
    proc.start()
    while proc.is_alive():
        await asyncio.sleep(0.05)
    sent, elapsed = await asyncio.to_thread(out.get)
    proc.join()
    # let what was sent reach the log (the inbox drained by the next ticks)
    deadline = time.perf_counter() + 30
    while (server.messages < sent + args.nodes or len(live.inbox)) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(2 * live.min_tick_s + 0.1)
    wall = time.perf_counter() - t0
    c1 = (time.process_time(), _thread_cpu(loop_tid), _thread_cpu(night_tid) if night_tid else float("nan"))
    stop.set()
    await probing
    await group.stop()
    return {
        "sent": sent, "elapsed": elapsed, "wall": wall, "accepted": server.accepted, "rejected": server.rejected, "messages": server.messages,
        "cpu": c1[0] - c0[0], "cpu_loop": c1[1] - c0[1], "cpu_night": c1[2] - c0[2], "lags": lags,
    }  # fmt: skip


def _run(main: Any) -> dict[str, Any]:
    """On uvloop, as uvicorn runs skywarden serve, when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)  # type: ignore[no-any-return]  # the benchmark's own coroutine
    return uvloop.run(main)  # type: ignore[no-any-return]  # the benchmark's own coroutine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=float, default=20_000, help="detections per second, all nodes together")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--min-tick-s", type=float, default=0.1, help="the live night's shortest tick once inputs wait (LiveNight's default 0.1 s)")
    ap.add_argument("--stages", choices=("none", "tracking", "all"), default="none")
    ap.add_argument("--no-freeze", action="store_true", help="leave the opened night's heap in the collector's sight (serve freezes it)")
    args = ap.parse_args()

    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    server_core = cores[0] if cores else None
    client_core = cores[1] if len(cores) > 1 else None
    _pin(server_core)
    _timed_reads()
    _timed_collections()
    if args.stages != "all":
        names = ["tracking"] if args.stages == "tracking" else []
        build = live_module.build_stages
        live_module.build_stages = lambda scn: build(scn, names)  # type: ignore[assignment]  # the benchmark's choice of stages
    scn = load_scenario()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="skywarden-listen-") as tmp:
        log_path = Path(tmp) / "night.sqlite"
        live = LiveNight(scn, str(log_path), exercise=False, min_tick_s=args.min_tick_s)
        live.open()
        logged_at: list[tuple[int, float]] = []  # (last seq of a tick, wall time just after its append)
        live.on_tick = lambda delta, state: logged_at.append((delta.seq, time.time()))
        ticks: list[tuple[float, float]] = []  # (wall seconds, thread CPU seconds) of each tick
        tick = live._tick

        def timed_tick(now: datetime) -> None:
            w, c = time.perf_counter(), time.thread_time()
            tick(now)
            ticks.append((time.perf_counter() - w, time.thread_time() - c))

        live._tick = timed_tick  # type: ignore[method-assign]  # the benchmark's probe
        live.start()
        try:
            # as skywarden serve runs its loop: the opened night's heap frozen (runtime.settled_heap)
            with contextlib.nullcontext() if args.no_freeze else settled_heap():
                res = _run(serve(live, port, args, client_core))
        finally:
            live.stop()
        if live.error is not None:
            raise SystemExit(f"the night stopped: {live.error}")
        seqs = [s for s, _ in logged_at]
        lat: list[float] = []
        rejections: list[str] = []
        log = open_log(log_path)
        for rec in log.read():
            ev = rec.event()
            if isinstance(ev, E.ReportRejected):
                rejections.append(ev.reason[:120])
            if isinstance(ev, E.PositionPlots) and ev.identity:
                i = bisect_left(seqs, rec.seq)
                if i < len(seqs):
                    lat.append(logged_at[i][1] - int(ev.identity[0]) / 1e9)
        log.close()
    n = len(lat)
    lags = [x * 1e3 for x in res["lags"]]
    print(f"listen_sapient: {args.nodes} nodes, {args.rate:,.0f} det/s asked for {args.seconds:g} s; min_tick_s {args.min_tick_s:g} s; stages: {args.stages}; heap {'not frozen' if args.no_freeze else 'frozen'}; server on core {server_core}, nodes on core {client_core}")
    print(f"  sent {res['sent']:,} in {res['elapsed']:.2f} s ({res['sent'] / res['elapsed']:,.0f}/s); messages read {res['messages']:,}, accepted {res['accepted']:,}, rejected {res['rejected']:,}; logged {n:,}")
    print(f"  ingested {n / res['elapsed']:,.0f} det/s over the sending time")
    for why in rejections[:5]:
        print(f"  rejected: {why}")
    print(f"  socket write -> logged: p50 {_pct(lat, 0.5) * 1e3:.1f} ms, p99 {_pct(lat, 0.99) * 1e3:.1f} ms, max {max(lat, default=float('nan')) * 1e3:.1f} ms")
    print(f"  server CPU {res['cpu']:.2f} s over {res['wall']:.2f} s ({res['cpu'] / res['wall']:.2f} core): loop thread {res['cpu_loop']:.2f} s, night thread {res['cpu_night']:.2f} s")
    print(f"  per detection: {res['cpu'] / max(n, 1) * 1e6:.1f} us of server CPU ({res['cpu_loop'] / max(n, 1) * 1e6:.1f} loop, {res['cpu_night'] / max(n, 1) * 1e6:.1f} night): {n / res['cpu']:,.0f} det/s on a core of its own")
    tw, tc = [w * 1e3 for w, _ in ticks], [c * 1e3 for _, c in ticks]
    print(f"  ticks: {len(ticks):,}, {n / max(len(ticks), 1):.0f} detections each; wall p50 {_pct(tw, 0.5):.1f} ms, p99 {_pct(tw, 0.99):.1f} ms, max {max(tw, default=float('nan')):.1f} ms; CPU p50 {_pct(tc, 0.5):.1f} ms, p99 {_pct(tc, 0.99):.1f} ms, max {max(tc, default=float('nan')):.1f} ms")
    full = [x * 1e3 for g, x in GC_PAUSES if g == 2]
    print(f"  garbage collections: {len(GC_PAUSES):,}, {len(full)} full; CPU {sum(x for _, x in GC_PAUSES):.2f} s in all, the longest {max((x * 1e3 for _, x in GC_PAUSES), default=0.0):.1f} ms, full ones up to {max(full, default=0.0):.1f} ms")
    reads = [x * 1e3 for x in READS]
    print(f"  one read's handling ({len(reads):,} reads, {n / max(len(reads), 1):.0f} detections each): CPU p50 {_pct(reads, 0.5):.2f} ms, p99 {_pct(reads, 0.99):.2f} ms, max {max(reads, default=float('nan')):.2f} ms")
    print(f"  event-loop lag (10 ms sleeps): p50 {statistics.median(lags) if lags else float('nan'):.2f} ms, p99 {_pct(lags, 0.99):.2f} ms, max {max(lags, default=float('nan')):.2f} ms")
    print(f"  at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
