"""The live service under load: N live tracks reported at 1 Hz, M WebSocket clients.

Starts ``skywarden serve`` (a live night on the default scenario, SQLite log) in its own process
and, from this one: posts one camera scan of N targets a second to ``/api/ingest`` (targets on
straight lines around the city), keeps M WebSocket clients reading the deltas, and polls
``GET /api/tracks``. Prints:

- report -> client: from the scan's time (set when it is posted) to each client's receipt of
  the first delta of a tick at or after it (p50, p95, p99, max over all clients and scans);
- GET /api/tracks: response time (p50, p99) and its size (gzipped unless ``--no-gzip``);
- how many tracks the picture held, and deltas and gaps seen per client;
- the CPU the server and the clients used while measured (cores: CPU seconds a second).

The two sides share this machine's cores, as a city's server and its consoles would not; the
clients run in a process of their own, so that the reads are timed from the feeding process and
not behind 100 clients' parsing.

    python bench/serve.py --tracks 1000 --clients 100 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import msgspec
from websockets.asyncio.client import connect

PASSWORD = "bench password 1"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """A process's CPU time so far (user and system, all its threads; Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(math.ceil(p / 100 * len(xs))) - 1)]


class Targets:
    """N targets flying straight lines through a 40 km square about the city centre."""

    def __init__(self, n: int, lat0: float, lon0: float, seed: int = 7) -> None:
        rnd = random.Random(seed)
        self.lat0, self.lon0 = lat0, lon0
        self.x = [rnd.uniform(-20_000, 20_000) for _ in range(n)]
        self.y = [rnd.uniform(-20_000, 20_000) for _ in range(n)]
        self.vx = [rnd.uniform(-40, 40) for _ in range(n)]
        self.vy = [rnd.uniform(-40, 40) for _ in range(n)]
        self.alt = [rnd.uniform(100, 3_000) for _ in range(n)]

    def scan(self, t: datetime, dt: float) -> bytes:
        k = 111_320.0
        lat, lon = [], []
        for i in range(len(self.x)):
            self.x[i] += self.vx[i] * dt
            self.y[i] += self.vy[i] * dt
            lat.append(self.lat0 + self.y[i] / k)
            lon.append(self.lon0 + self.x[i] / (k * math.cos(math.radians(self.lat0))))
        return msgspec.json.encode({
            "kind": "position_plots", "t": t.isoformat(), "sensor_id": "bench-camera",
            "sensor_kind": "camera", "lat": lat, "lon": lon, "alt": self.alt,
            "sigma_m": [15.0] * len(lat),
        })  # fmt: skip


class Head(msgspec.Struct):
    """What a client needs of a message to time it (the rest is skipped, not built)."""

    type: str
    seq: int
    prev: int = 0
    t: str = ""


async def client_loop(url: str, stop_at: float, seen: list[tuple[float, float]], stats: dict[str, int]) -> None:
    """One console: every delta's tick time and the wall time it came, until ``stop_at``."""
    dec = msgspec.json.Decoder(Head)
    last_seq: int | None = None
    async with connect(url, max_size=None, open_timeout=30) as ws:
        while time.time() < stop_at:
            try:
                raw = await asyncio.wait_for(ws.recv(decode=False), 1.0)  # bytes: msgspec reads them as they came
            except TimeoutError:
                continue
            got = time.time()
            msg = dec.decode(raw)
            if msg.type == "delta":
                stats["deltas"] += 1
                if last_seq is not None and msg.prev != last_seq:
                    stats["gaps"] += 1
                seen.append((datetime.fromisoformat(msg.t).timestamp(), got))
            last_seq = msg.seq


def consoles(url: str, n: int, stop_at: float, out: Connection) -> None:
    """The clients, in a process of their own (as consoles are on machines of their own): the
    server's reads are timed from the feeding process, not behind 100 clients' parsing."""

    async def all_of_them() -> list[tuple[list[tuple[float, float]], dict[str, int]]]:
        rows: list[tuple[list[tuple[float, float]], dict[str, int]]] = [([], {"deltas": 0, "gaps": 0}) for _ in range(n)]
        await asyncio.gather(*(client_loop(url, stop_at, seen, st) for seen, st in rows), return_exceptions=True)
        return rows

    out.send(asyncio.run(all_of_them()))
    out.close()


def latencies(sent: list[float], seen: list[tuple[float, float]], measure_from: float) -> list[float]:
    """Per scan (its time), the wall time until the first delta of a tick at or after it came."""
    out, k = [], 0
    for t_delta, got in seen:
        while k < len(sent) and sent[k] <= t_delta:
            if sent[k] >= measure_from:
                out.append(got - sent[k])
            k += 1
    return out


async def run(args: argparse.Namespace) -> None:
    from skywarden.scenario import load_scenario
    from skywarden.service.users import add_user

    scn = load_scenario(args.scenario)
    tmp = Path(tempfile.mkdtemp(prefix="skywarden-bench-serve-"))
    users = tmp / "users.toml"
    add_user(users, "feeder", "admin", PASSWORD)
    add_user(users, "console", "viewer", PASSWORD)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "skywarden.cli", "serve", "--log", str(tmp / "live.sqlite"), "--users", str(users), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp / "serve.err").open("wb"), env=env,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in range(300):
                try:
                    await http.get("/api/night")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
            feed = (await http.post("/api/login", json={"user": "feeder", "password": PASSWORD})).json()["token"]
            view = (await http.post("/api/login", json={"user": "console", "password": PASSWORD})).json()["token"]
            http.cookies.clear()
            sent: list[tuple[float, float]] = []  # (scan time, wall time posted)
            t_start = time.time() + 3  # the consoles connect first
            mine, theirs = multiprocessing.Pipe(duplex=False)
            clients = multiprocessing.get_context("fork").Process(
                target=consoles, args=(f"ws://127.0.0.1:{port}/ws?token={view}", args.clients, t_start + args.seconds + 2, theirs)
            )  # fmt: skip
            clients.start()
            await asyncio.sleep(max(0.0, t_start - time.time()))
            targets = Targets(args.tracks, scn.spec.city.lat, scn.spec.city.lon)
            gets: list[float] = []
            size = wire = 0
            accept = "identity" if args.no_gzip else "gzip"
            measure_from = t_start + args.warmup
            next_scan = t_start
            next_get = measure_from + 0.125  # four reads a second, between the scans
            prev = t_start
            cpu: dict[str, float] = {}
            while time.time() < t_start + args.seconds:
                now = time.time()
                if now >= measure_from and not cpu:
                    cpu = {"server": cpu_s(server.pid), "clients": cpu_s(clients.pid or 0), "wall": now}
                if now >= next_scan:  # a sensor reports on its period (1 s), not late by the reads
                    t = datetime.fromtimestamp(now, UTC)
                    body = targets.scan(t, now - prev)
                    prev = now
                    r = await http.post("/api/ingest", content=body, headers={"Authorization": f"Bearer {feed}"})
                    if r.status_code != 202 or r.json()["accepted"] != 1:
                        raise SystemExit(f"ingest refused: {r.status_code} {r.text[:300]}")
                    sent.append((t.timestamp(), now))
                    next_scan += 1.0
                elif now >= next_get:
                    g0 = time.perf_counter()
                    r = await http.get("/api/tracks", headers={"Authorization": f"Bearer {view}", "Accept-Encoding": accept})
                    gets.append(time.perf_counter() - g0)
                    size, wire = len(r.content), int(r.headers.get("content-length", len(r.content)))
                    next_get += 0.25
                await asyncio.sleep(max(0.0, min(next_scan, next_get) - time.time()))
            wall = time.time() - cpu["wall"]
            cpu = {"server": (cpu_s(server.pid) - cpu["server"]) / wall, "clients": (cpu_s(clients.pid or 0) - cpu["clients"]) / wall}
            rows = await asyncio.to_thread(mine.recv)
            clients.join(30)
            tracks = len((await http.get("/api/tracks", headers={"Authorization": f"Bearer {view}"})).json()["features"])
    finally:
        server.terminate()
        server.wait(30)
    scans = [t for t, _ in sent]
    stats = [st for _, st in rows]
    ms = [x * 1000 for seen, _ in rows for x in latencies(scans, seen, measure_from)]
    g = [x * 1000 for x in gets]
    print(f"tracks in the picture at the end: {tracks} (of {args.tracks} targets)")
    print(f"clients: {args.clients}; scans measured: {sum(1 for s, _ in sent if s >= measure_from)}; "
          f"deltas per client: {min(s['deltas'] for s in stats)}-{max(s['deltas'] for s in stats)}; "
          f"gaps: {sum(s['gaps'] for s in stats)}")  # fmt: skip
    print(f"report -> client ms: p50 {pct(ms, 50):.0f}  p95 {pct(ms, 95):.0f}  p99 {pct(ms, 99):.0f}  max {max(ms, default=float('nan')):.0f}  (n={len(ms)})")
    print(f"CPU while measured, in cores: server {cpu['server']:.2f}, clients {cpu['clients']:.2f}; load average {os.getloadavg()[0]:.1f}")
    coding = "" if wire == size else f", {wire / 1024:.0f} KiB gzipped"
    print(f"GET /api/tracks ms: p50 {pct(g, 50):.1f}  p99 {pct(g, 99):.1f}  ({size / 1024:.0f} KiB{coding}, n={len(g)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=15.0, help="seconds before measuring (tracks confirm)")
    ap.add_argument("--scenario", default=None)
    ap.add_argument("--no-gzip", action="store_true", help="read the tracks without gzip (Accept-Encoding: identity)")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
