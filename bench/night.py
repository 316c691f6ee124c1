"""How fast the default night plays, and how fast the event log appends.

Prints:
  - the default night (simulator + all stages + SQLite log) played as fast as possible:
    wall time and how many times faster than real time (target: 1,000x, a 4-hour night in ~15 s);
    also the time per stage, so a slow stage is named; then the same night as ``skywarden run``
    plays it on two cores (the tracker in a second process), checked to write the same log;
  - the SQLite event log's appends per second with batching (target: 100,000/s), on a
    realistic mix of events, for several batch sizes.

Example:
    python bench/night.py                 # both
    python bench/night.py --skip-night    # only the log
    python bench/night.py --skip-night --log-parts   # and where an append's time goes
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from skywarden import events as E
from skywarden.log import SqliteLog

console = Console()


def mix(n: int) -> list[E.Event]:
    """A realistic mix: mostly ticks and small events, some plots and track pictures."""
    t0 = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)
    out: list[E.Event] = []
    for i in range(n):
        t = t0 + timedelta(milliseconds=10 * i)
        r = i % 10
        if r < 5:
            out.append(E.Tick(t=t))
        elif r < 7:
            out.append(E.KillReported(t=t, report_id=f"R{i}", lat=55.7 + i * 1e-6, lon=37.6, alt=400.0))
        elif r < 9:
            k = 20
            out.append(
                E.PolarPlots(
                    t=t, sensor_id="radar-north", sensor_lat=55.93, sensor_lon=37.65, sensor_alt=180.0,
                    range_m=[1000.0 + j for j in range(k)], azimuth_deg=[float(j) for j in range(k)],
                    elevation_deg=[1.0] * k, sigma_range_m=25.0, sigma_azimuth_deg=0.3, sigma_elevation_deg=0.5,
                )
            )
        else:
            k = 50
            out.append(
                E.TrackPicture(
                    t=t, track_id=[f"T{j:04d}" for j in range(k)], lat=[55.7] * k, lon=[37.6] * k, alt=[300.0] * k,
                    ve=[10.0] * k, vn=[5.0] * k, vu=[0.0] * k, sigma_m=[30.0] * k, cls=["drone"] * k, p_cls=[0.9] * k,
                )
            )
    return out


def bench_log(n: int, batches: list[int]) -> Table:
    table = Table(title=f"SQLite event log: {n:,} events (mix of ticks, kill reports, radar scans, track pictures)")
    for col in ("batch", "appends/s", "MB/s", "read-back events/s", "verify events/s"):
        table.add_column(col, justify="right")
    events = mix(n)
    size = sum(len(E.encode(e)) for e in events)
    for b in batches:
        with tempfile.TemporaryDirectory() as d:
            log = SqliteLog(Path(d) / "bench.sqlite")
            t0 = time.perf_counter()
            for i in range(0, n, b):
                log.append(events[i : i + b])
            dt = time.perf_counter() - t0
            t1 = time.perf_counter()
            count = sum(1 for _ in log.read())
            dr = time.perf_counter() - t1
            t2 = time.perf_counter()
            log.verify()
            dv = time.perf_counter() - t2
            log.close()
            assert count == n
        table.add_row(f"{b:,}", f"{n / dt:,.0f}", f"{size / dt / 1e6:.1f}", f"{n / dr:,.0f}", f"{n / dv:,.0f}")
    return table


def bench_log_parts(n: int) -> Table:
    """Where one append's time goes: each step of SqliteLog.append alone over the same events
    (microseconds per event), the insert with SQLite's own WAL checkpoints and without."""
    import sqlite3

    from skywarden.log.chain import GENESIS, link
    from skywarden.log.sqlite import _time_of

    events = mix(n)
    table = Table(title=f"one append's steps, µs per event ({n:,} events, batches of 1,000)")
    table.add_column("step")
    table.add_column("µs", justify="right")

    def per_event(f) -> float:  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        f()
        return (time.perf_counter() - t0) / n * 1e6

    payloads: list[bytes] = []
    table.add_row("encode (canonical JSON)", f"{per_event(lambda: payloads.extend(E.encode(e) for e in events)):.2f}")
    kinds = [E.KIND_OF[type(e)] for e in events]
    times: list[str] = []
    table.add_row("time column, formatted again", f"{per_event(lambda: [e.t.isoformat() for e in events]):.2f}")
    table.add_row("time column, read off the JSON", f"{per_event(lambda: times.extend(map(_time_of, kinds, payloads))):.2f}")
    hashes: list[bytes] = []

    def chain() -> None:
        prev = GENESIS
        for i, data in enumerate(payloads, 1):
            prev = link(prev, i, data)
            hashes.append(prev)

    table.add_row("chain hash (SHA-256)", f"{per_event(chain):.2f}")
    rows = list(zip(range(1, n + 1), times, kinds, payloads, hashes, strict=True))
    for label, checkpoints in (("SQLite insert and commit", True), ("the same, no WAL checkpoints", False)):
        with tempfile.TemporaryDirectory() as d:
            db = sqlite3.connect(Path(d) / "parts.sqlite", isolation_level=None)
            for pragma in ("page_size=16384", "journal_mode=WAL", "synchronous=NORMAL"):
                db.execute(f"PRAGMA {pragma}")
            if not checkpoints:
                db.execute("PRAGMA wal_autocheckpoint=0")
            db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, t TEXT, kind TEXT, data BLOB, hash BLOB)")

            def insert(db: sqlite3.Connection = db) -> None:
                for i in range(0, n, 1000):
                    db.execute("BEGIN IMMEDIATE")
                    db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows[i : i + 1000])
                    db.execute("COMMIT")

            table.add_row(label, f"{per_event(insert):.2f}")
            db.close()
    return table


def bench_night(split: bool = True) -> Table:
    from skywarden.log import open_log
    from skywarden.pipeline import build_stages
    from skywarden.runtime import Runtime, SimulatedClock, night_opened
    from skywarden.scenario import load_scenario
    from skywarden.scenario.sim import Simulator

    scn = load_scenario()
    per_stage: dict[str, float] = defaultdict(float)

    class Timed:
        def __init__(self, inner):  # type: ignore[no-untyped-def]
            self.inner, self.name = inner, inner.name

        def step(self, now, events):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            out = self.inner.step(now, events)
            per_stage[self.name] += time.perf_counter() - t
            return out

    class TimedSource:
        def __init__(self, inner):  # type: ignore[no-untyped-def]
            self.inner = inner

        def poll(self, now):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            out = self.inner.poll(now)
            per_stage["(simulator)"] += time.perf_counter() - t
            return out

        def observe(self, events):  # type: ignore[no-untyped-def]
            self.inner.observe(events)

    with tempfile.TemporaryDirectory() as d:
        log = open_log(Path(d) / "night.sqlite")
        t_build = time.perf_counter()
        stages = [Timed(s) for s in build_stages(scn)]
        source = TimedSource(Simulator(scn))
        build = time.perf_counter() - t_build
        rt = Runtime(log=log, stages=stages, source=source)  # type: ignore[arg-type]
        log.append([night_opened(scn)])
        night_s = (scn.end - scn.start).total_seconds()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("playing the default night", total=night_s)
            t0 = time.perf_counter()
            rt.run(
                SimulatedClock(), scn.start, scn.end, scn.spec.night.tick_s,
                on_tick=lambda r: progress.update(task, completed=(r.now - scn.start).total_seconds()),
            )
            wall = time.perf_counter() - t0
        records, digest = log.last_seq(), _head(log)
        log.close()
    table = Table(title=f"the default night: {scn.name}, {night_s / 3600:.1f} h simulated")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_row("wall time (s)", f"{wall:.2f}")
    table.add_row("times faster than real time", f"{night_s / wall:,.0f}")
    table.add_row("records in the log", f"{records:,}")
    table.add_row("building stages and simulator (s)", f"{build:.2f}")
    accounted = sum(per_stage.values())
    for name, sec in sorted(per_stage.items(), key=lambda kv: -kv[1]):
        table.add_row(f"  in {name} (s)", f"{sec:.2f}")
    table.add_row("  runtime + log (s)", f"{wall - accounted:.2f}")
    if split:
        wall2, records2, digest2, times = night_on_two_processes(scn)
        table.add_row("two processes: wall time (s)", f"{wall2:.2f}")
        if times is not None:  # the side that waits less sets the pace
            table.add_row("  worker (tracker): busy / waiting for inputs (s)", f"{times.worker_busy_s:.2f} / {times.worker_waited_s:.2f}")
            table.add_row("  main: waiting for the worker (s)", f"{times.main_waited_s:.2f}")
        table.add_row("two processes: times faster than real time", f"{night_s / wall2:,.0f}")
        table.add_row("two processes: same log as one process", "yes" if (records2, digest2) == (records, digest) else "NO")
    return table


def night_on_two_processes(scn):  # type: ignore[no-untyped-def]
    """The same night as ``skywarden run`` plays it: the tracker in a second process."""
    from skywarden.log import open_log
    from skywarden.play import play_night

    with tempfile.TemporaryDirectory() as d:
        log = open_log(Path(d) / "night.sqlite")
        night_s = (scn.end - scn.start).total_seconds()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("the default night on two processes", total=night_s)
            t0 = time.perf_counter()
            result = play_night(
                scn, log, workers=2,
                on_tick=lambda r: progress.update(task, completed=(r.now - scn.start).total_seconds()),
            )
            wall = time.perf_counter() - t0
        records, digest = log.last_seq(), _head(log)
        log.close()
    return wall, records, digest, result.split


def _head(log) -> str:  # type: ignore[no-untyped-def]
    """The hash of the log's last record: equal heads, equal logs (the chain)."""
    last = deque(log.read(), maxlen=1)
    return last[0].hash if last else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000, help="events for the log benchmark")
    ap.add_argument("--batches", default="1,100,1000,10000", help="batch sizes, comma-separated")
    ap.add_argument("--skip-night", action="store_true")
    ap.add_argument("--skip-log", action="store_true")
    ap.add_argument("--one-process", action="store_true", help="skip the second run on two processes")
    ap.add_argument("--log-parts", action="store_true", help="also time each step of an append alone")
    args = ap.parse_args()
    console.print(f"machine: {platform.machine()}, {platform.processor() or platform.platform()}, Python {platform.python_version()}")
    if not args.skip_night:
        console.print(bench_night(split=not args.one_process))
    if not args.skip_log:
        batches = [int(b) for b in args.batches.split(",")]
        console.print(bench_log(args.events, batches))
        if args.log_parts:
            console.print(bench_log_parts(args.events))


if __name__ == "__main__":
    main()
