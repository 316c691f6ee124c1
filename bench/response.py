"""How fast the response stages work: debris footprints, dispatch queries, a night of 1,000 kills.

Prints:
  - the footprint of one kill with 10,000 Monte Carlo samples (fall, footprint, districts):
    mean and p95 over repeats (target: under 50 ms);
  - one dispatch query on the city road graph (travel times from every crew, the best route):
    mean and p95 (target: under 10 ms), and the one-off cost of reading the road extract;
  - a night with 1,000 kills processed end to end: synthetic KillNumbered + TrackPicture
    through DebrisStage and DispatchStage, with simulated crews reporting en route, on site,
    wreckage recovered and site closed; the clock runs on until every site is closed.

Example:
    PYTHONPATH=. python bench/response.py                       # all three, as in docs
    PYTHONPATH=. python bench/response.py --kills 200 --repeats 10
"""

from __future__ import annotations

import argparse
import heapq
import math
import platform
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from skywarden import events as E
from skywarden.response.debris import DebrisConfig, DebrisStage
from skywarden.response.dispatch import DispatchStage, load_roads
from skywarden.response.roads import RoadRouter
from skywarden.scenario import LoadedScenario, load_scenario

console = Console()


def ms_stats(ts: list[float]) -> str:
    a = np.asarray(ts) * 1e3
    return f"mean {a.mean():.2f} ms, p95 {np.percentile(a, 95):.2f} ms"


def timed(ts: tuple[list[float], list[float]]) -> str:
    """Wall-clock and CPU (this process) figures: on a shared machine the CPU time is the work."""
    return f"wall {ms_stats(ts[0])}; CPU {ms_stats(ts[1])} (n={len(ts[0])})"


def synthetic_kill(sc: LoadedScenario, rng: np.random.Generator, i: int, t: datetime) -> tuple[E.TrackPicture, E.KillNumbered]:  # fmt: skip
    """A drone killed 5-35 km from the centre, flying toward it at its airframe's cruise speed."""
    kind = sc.spec.drone_types[int(rng.integers(len(sc.spec.drone_types)))]
    bearing = rng.uniform(0.0, 360.0)
    r = rng.uniform(5_000.0, 35_000.0)
    e, n = r * math.sin(math.radians(bearing)), r * math.cos(math.radians(bearing))
    lat, lon = sc.frame.latlon(e, n)
    alt = kind.altitude_m + rng.normal(0.0, 80.0)
    speed = kind.cruise_speed_ms * rng.uniform(0.9, 1.1)
    ve, vn = -speed * e / r, -speed * n / r
    tid = f"T{i:05d}"
    pic = E.TrackPicture(
        t=t, track_id=[tid], lat=[lat], lon=[lon], alt=[alt], ve=[ve], vn=[vn], vu=[0.0],
        sigma_m=[50.0], cls=["drone"], p_cls=[0.95],
    )  # fmt: skip
    local = sc.local(t).strftime("%H:%M")
    kill = E.KillNumbered(
        t=t, report_id=f"R{i:05d}", number=i + 1, day_number=i + 1, local_time=local, incident_id="INC-" + tid,
        track_id=tid, matched_by="track_ref", lat=lat, lon=lon, alt=alt,
    )  # fmt: skip
    return pic, kill


def bench_footprint(
    sc: LoadedScenario, repeats: int, samples: int
) -> tuple[list[float], list[float]]:
    stage = DebrisStage(sc, DebrisConfig(samples=samples))
    rng = np.random.default_rng(1)
    ts: list[float] = []
    cs: list[float] = []
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task(f"footprints ({samples:,} samples)", total=repeats + 2)
        for i in range(repeats + 2):
            pic, kill = synthetic_kill(sc, rng, i, sc.start)
            stage.step(sc.start, [pic])
            t, c = time.perf_counter(), time.process_time()
            stage.predict(kill, sc.start)
            if i >= 2:  # the first two warm caches
                ts.append(time.perf_counter() - t)
                cs.append(time.process_time() - c)
            prog.advance(task)
    return ts, cs


def bench_dispatch(
    sc: LoadedScenario, queries: int
) -> tuple[float, tuple[list[float], list[float]], int, int]:
    path = sc.path.parent / sc.spec.roads
    t = time.perf_counter()
    graph = load_roads(path, sc.frame)
    t_load = time.perf_counter() - t
    stage = DispatchStage(sc)
    router = stage.router
    assert isinstance(router, RoadRouter)
    crews = [c for c in stage.board.crews.values() if c.kind in stage.config.suitable_kinds]
    positions = [c.position for c in crews]
    rng = np.random.default_rng(2)
    ts: list[float] = []
    cs: list[float] = []
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task("dispatch queries", total=queries)
        for _ in range(queries):
            r, b = rng.uniform(0.0, 35_000.0), rng.uniform(0.0, 2 * math.pi)
            site = (r * math.sin(b), r * math.cos(b))
            t, c = time.perf_counter(), time.process_time()
            etas = router.etas(positions, site)
            router.route(positions[int(np.argmin(etas))], site)
            ts.append(time.perf_counter() - t)
            cs.append(time.process_time() - c)
            prog.advance(task)
    return t_load, (ts, cs), graph.n_nodes, graph.n_edges


class SimCrews:
    """Crews that report on their own: en route 30 s after dispatch, on site at the ETA (x0.9-1.3),
    wreckage recovered after 10-25 min, site closed 3-8 min later."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.due: list[tuple[datetime, int, E.CrewReported]] = []
        self.seq = 0

    def _at(self, t: datetime, ev: E.CrewReported) -> None:
        self.seq += 1
        heapq.heappush(self.due, (t, self.seq, ev))

    def observe(self, events: list[E.Event]) -> None:
        for ev in events:
            if isinstance(ev, E.CrewDispatched):
                t0 = ev.t + timedelta(seconds=30)
                t1 = ev.t + timedelta(seconds=max(60.0, ev.eta_s * self.rng.uniform(0.9, 1.3)))
                t2 = t1 + timedelta(minutes=self.rng.uniform(10, 25))
                t3 = t2 + timedelta(minutes=self.rng.uniform(3, 8))
                for t, status in (
                    (t0, "en_route"),
                    (t1, "on_site"),
                    (t2, "wreckage_recovered"),
                    (t3, "site_closed"),
                ):
                    self._at(
                        t,
                        E.CrewReported(t=t, crew_id=ev.crew_id, site_id=ev.site_id, status=status),
                    )  # type: ignore[arg-type]

    def poll(self, now: datetime) -> list[E.Event]:
        out: list[E.Event] = []
        while self.due and self.due[0][0] <= now:
            out.append(heapq.heappop(self.due)[2])
        return out


def bench_night(sc: LoadedScenario, kills: int, max_hours: float) -> None:
    rng = np.random.default_rng(3)
    night_s = (sc.end - sc.start).total_seconds()
    kill_at = sorted(rng.uniform(0.0, night_s, kills).astype(int).tolist())
    debris, dispatch, crews = DebrisStage(sc), DispatchStage(sc), SimCrews(4)
    counts: Counter[str] = Counter()
    t_debris = t_dispatch = c_debris = 0.0
    max_queue, waits = 0, []
    predicted_at: dict[str, datetime] = {}
    k, sec = 0, 0
    wall, cpu = time.perf_counter(), time.process_time()
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task(f"night with {kills:,} kills", total=kills)
        while sec <= max_hours * 3600:
            now = sc.start + timedelta(seconds=sec)
            inputs: list[E.Event] = crews.poll(now)
            inputs.append(E.Tick(t=now))
            upstream: list[E.Event] = []
            while k < kills and kill_at[k] <= sec:
                pic, kill = synthetic_kill(sc, rng, k, now)
                upstream += [pic, kill]
                k += 1
                prog.advance(task)
            t, c = time.perf_counter(), time.process_time()
            d_out = debris.step(now, inputs + upstream)
            t_debris += time.perf_counter() - t
            c_debris += time.process_time() - c
            t = time.perf_counter()
            x_out = dispatch.step(now, inputs + upstream + d_out)
            t_dispatch += time.perf_counter() - t
            for ev in d_out:
                predicted_at[ev.site_id] = now  # type: ignore[attr-defined]
            for ev in d_out + x_out:
                counts[E.kind(ev)] += 1
                if isinstance(ev, E.CrewDispatched):
                    waits.append((now - predicted_at[ev.site_id]).total_seconds())
            crews.observe(x_out)
            max_queue = max(max_queue, len(dispatch.queue))
            closed = sum(1 for s in dispatch.sites.values() if s.state == "closed")
            if k == kills and closed == kills:
                break
            sec += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    closed = sum(1 for s in dispatch.sites.values() if s.state == "closed")
    tab = Table(
        title=f"Night with {kills:,} kills (the default scenario's {len(dispatch.board.crews)} crews)"
    )
    tab.add_column("measure")
    tab.add_column("value", justify="right")
    tab.add_row("wall / CPU time, both stages + the crew simulation", f"{wall:.1f} s / {cpu:.1f} s")
    tab.add_row(
        "DebrisStage, per kill (wall / CPU)",
        f"{t_debris / kills * 1e3:.1f} / {c_debris / kills * 1e3:.1f} ms",
    )
    tab.add_row(
        "DispatchStage, per tick / total",
        f"{t_dispatch / max(sec, 1) * 1e6:.0f} us / {t_dispatch:.2f} s",
    )
    tab.add_row("simulated time until every site closed", f"{sec / 3600:.1f} h")
    tab.add_row("sites closed", f"{closed:,} / {kills:,}")
    tab.add_row("longest queue", f"{max_queue:,}")
    tab.add_row(
        "wait from prediction to dispatch, median / max",
        f"{np.median(waits) / 60:.0f} min / {max(waits) / 3600:.1f} h",
    )
    for name in sorted(counts):
        tab.add_row(f"events: {name}", f"{counts[name]:,}")
    console.print(tab)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--scenario", type=Path, default=None, help="scenario file (default: the shipped night)"
    )
    ap.add_argument("--samples", type=int, default=10_000, help="Monte Carlo samples per footprint")
    ap.add_argument("--repeats", type=int, default=30, help="footprints to time")
    ap.add_argument("--queries", type=int, default=500, help="dispatch queries to time")
    ap.add_argument(
        "--kills", type=int, default=1_000, help="kills in the end-to-end night (0: skip)"
    )
    ap.add_argument(
        "--max-hours", type=float, default=120.0, help="stop the night's clock after this"
    )
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    console.print(f"[bold]Response bench[/] on {platform.processor() or platform.machine()}, "
                  f"Python {platform.python_version()}, numpy {np.__version__}, scenario {sc.name!r}")  # fmt: skip
    ts = bench_footprint(sc, args.repeats, args.samples)
    console.print(f"footprint, {args.samples:,} samples: {timed(ts)}  (target < 50 ms)")
    t_load, qs, nodes, edges = bench_dispatch(sc, args.queries)
    console.print(
        f"road extract: {nodes:,} nodes, {edges:,} directed edges, read in {t_load * 1e3:.0f} ms"
    )
    console.print(f"dispatch query on the city graph: {timed(qs)}  (target < 10 ms)")
    if args.kills:
        bench_night(sc, args.kills, args.max_hours)


if __name__ == "__main__":
    main()
