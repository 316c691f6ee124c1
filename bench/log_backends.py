"""Appends per second and read-back rate of every event-log backend, batch by batch.

Example::

    PYTHONPATH=. python bench/log_backends.py --backends memory,sqlite,postgres,nats \\
        --batches 1,100,1000,10000 --events 50000

The events are a plausible mix of one night's traffic: every 10 events hold one ``Tick``,
three ``PolarPlots`` scans of 20 plots, one ``TrackPicture`` of 50 tracks and five small events
(classifications, threat updates, sensor status), with seeded random values. "append" counts
encoding, hashing and storing; "read" counts reading back and decoding every event.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from skywarden.errors import LogError
from skywarden.events import (
    Event,
    PolarPlots,
    SensorStatus,
    ThreatUpdated,
    Tick,
    TrackClassified,
    TrackPicture,
    encode,
)
from skywarden.log import open_log

T0 = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)
app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


def mix(n: int, seed: int = 7, small_only: bool = False) -> list[Event]:
    """``n`` events in the night's proportions (see the module docstring).

    ``small_only`` keeps the ticks, classifications, threat updates and sensor statuses
    (about 0.1-0.3 kB each) and leaves out the plot scans and track pictures.
    """
    rng = np.random.default_rng(seed)
    out: list[Event] = []
    for i in range(n):
        t = T0 + timedelta(seconds=i / 10)
        k = i % 10
        if small_only and 1 <= k <= 4:
            k = 5 + k % 4  # a small kind instead of a scan or a picture
        if k == 0:
            out.append(Tick(t=t))
        elif k <= 3:
            out.append(
                PolarPlots(
                    t=t,
                    sensor_id=f"R-{k}",
                    sensor_lat=55.75,
                    sensor_lon=37.62,
                    sensor_alt=150.0,
                    range_m=rng.uniform(500, 30_000, 20).round(1).tolist(),
                    azimuth_deg=rng.uniform(0, 360, 20).round(3).tolist(),
                    elevation_deg=rng.uniform(0, 20, 20).round(3).tolist(),
                    sigma_range_m=15.0,
                    sigma_azimuth_deg=0.3,
                    sigma_elevation_deg=0.5,
                    rcs_dbsm=rng.uniform(-30, 10, 20).round(1).tolist(),
                )
            )
        elif k == 4:
            out.append(
                TrackPicture(
                    t=t,
                    track_id=[f"T{j}" for j in range(50)],
                    lat=(55.75 + rng.normal(0, 0.1, 50)).tolist(),
                    lon=(37.62 + rng.normal(0, 0.1, 50)).tolist(),
                    alt=rng.uniform(50, 3000, 50).tolist(),
                    ve=rng.normal(0, 20, 50).tolist(),
                    vn=rng.normal(0, 20, 50).tolist(),
                    vu=rng.normal(0, 2, 50).tolist(),
                    sigma_m=rng.uniform(10, 200, 50).tolist(),
                    cls=["drone"] * 50,
                    p_cls=rng.uniform(0, 1, 50).tolist(),
                )
            )
        elif k <= 6:
            out.append(
                TrackClassified(t=t, track_id=f"T{i % 50}", cls="drone", p=float(rng.uniform()))
            )
        elif k <= 8:
            out.append(
                ThreatUpdated(
                    t=t,
                    incident_id=f"INC-T{i % 50}",
                    track_id=f"T{i % 50}",
                    level="high",
                    zone_id="kremlin",
                    time_to_zone_s=float(rng.uniform(60, 900)),
                    p_entry=float(rng.uniform()),
                    cpa_m=float(rng.uniform(0, 5000)),
                    reasons=["heading", "speed"],
                )
            )
        else:
            out.append(SensorStatus(t=t, sensor_id="R-1", status="up"))
    return out


@dataclass
class Row:
    backend: str
    batch: int
    events: int
    mbytes: float
    append_per_s: float
    read_per_s: float


def url_for(backend: str, workdir: Path, pg_url: str, nats_url: str) -> str:
    name = f"bench{uuid.uuid4().hex[:10]}"
    return {
        "memory": "memory://",
        "sqlite": f"sqlite:///{workdir / (name + '.db')}",
        "postgres": f"{pg_url}{'&' if '?' in pg_url else '?'}log={name}",
        "nats": f"{nats_url}{'&' if '?' in nats_url else '?'}log={name}",
    }[backend]


def run_one(url: str, events: list[Event], batch: int) -> tuple[float, float]:
    """(appends per second, reads per second) on a fresh log; the log is dropped afterwards."""
    log = open_log(url)
    try:
        started = time.perf_counter()
        for i in range(0, len(events), batch):
            log.append(events[i : i + batch])
        append_s = time.perf_counter() - started
        started = time.perf_counter()
        n = sum(1 for r in log.read() if r.event() is not None)
        read_s = time.perf_counter() - started
        assert n == len(events), f"read back {n} of {len(events)}"
    finally:
        drop = getattr(log, "drop", None)
        if drop is not None:
            drop()
        else:
            log.close()
    return len(events) / append_s, len(events) / read_s


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


@app.command()
def main(
    backends: Annotated[str, typer.Option(help="comma-separated: memory,sqlite,postgres,nats")] = (
        "memory,sqlite,postgres,nats"
    ),
    batches: Annotated[str, typer.Option(help="comma-separated batch sizes")] = "1,100,1000,10000",
    events: Annotated[
        int, typer.Option(help="events per run (batch size 1 runs 1/25 of it)")
    ] = 50_000,
    pg_url: Annotated[str, typer.Option(envvar="SKYWARDEN_TEST_PG")] = (
        "postgresql://127.0.0.1:5432/test"
    ),
    nats_url: Annotated[str, typer.Option(envvar="SKYWARDEN_TEST_NATS")] = "nats://127.0.0.1:4222",
    small: Annotated[
        bool, typer.Option("--small", help="small events only (no plot scans, no track pictures)")
    ] = False,
) -> None:
    """Appends per second and read-back rate of every event-log backend, batch by batch.

    Example: PYTHONPATH=. python bench/log_backends.py --backends sqlite,postgres --events 20000
    (add --small for small events only)
    """
    console = Console()
    sizes = [int(b) for b in batches.split(",")]
    pool = mix(events, small_only=small)
    mb_per_event = sum(len(encode(e)) for e in pool[:1000]) / min(len(pool), 1000) / 1e6
    console.print(f"[bold]machine[/bold] {machine()}")
    console.print(
        f"[bold]events[/bold] {events:,} per run, {mb_per_event * 1e3:.2f} kB each on average"
    )
    table = Table(title="Skywarden event log: appends and reads per second")
    for col in ("backend", "batch", "events", "MB", "append ev/s", "read ev/s"):
        table.add_column(col, justify="right" if col != "backend" else "left")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="skywarden-bench-") as tmp:
        for backend in backends.split(","):
            for size in sizes:
                n = events if size > 1 else max(events // 25, 1)
                url = url_for(backend, Path(tmp), pg_url, nats_url)
                try:
                    a, r = run_one(url, pool[:n], size)
                except LogError as exc:
                    console.print(f"[yellow]{backend}: skipped ({exc})[/yellow]")
                    break
                row = Row(backend, size, n, n * mb_per_event, a, r)
                rows.append(row)
                table.add_row(
                    backend, f"{size:,}", f"{n:,}", f"{row.mbytes:.1f}", f"{a:,.0f}", f"{r:,.0f}"
                )
                console.print(
                    f"  {backend:<8} batch {size:>6,}: {a:>10,.0f} appends/s  {r:>10,.0f} reads/s"
                )
    console.print(table)


if __name__ == "__main__":
    app()
