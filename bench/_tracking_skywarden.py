"""Skywarden's tracker over a benchmark scenario."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from bench._tracking_run import MemoryMeter, TrackerOutput, label_codes
from bench._tracking_scenario import BenchScenario

__all__ = ["run_skywarden"]


def run_skywarden(
    scenario: BenchScenario, budget_s: float, on_scan: Callable[[int], None]
) -> TrackerOutput:
    """Feed each radar scan to ``Tracker.step`` and keep the confirmed tracks it returns."""
    from skywarden.tracking import Scan, Tracker, TrackerConfig

    reach = {
        r.sensor_id: (float(r.pos[0]), float(r.pos[1]), float(r.pos[2]), float(r.max_range_m))
        for r in scenario.radars
    }
    scans = [
        Scan(t=s.t, sensor_id=s.sensor_id, z=s.z, R=s.R, rcs_dbsm=s.rcs_dbsm, signature=None,
             coverage=reach.get(s.sensor_id))
        for s in scenario.scans
    ]
    tracker = Tracker(TrackerConfig())
    out = TrackerOutput(name="Skywarden", cls=[])
    meter = MemoryMeter()
    meter.start()
    spent = 0.0
    for k, scan in enumerate(scans):
        c0 = time.process_time()
        t0 = time.perf_counter()
        table = tracker.step(scan)
        dt = time.perf_counter() - t0
        cpu = time.process_time() - c0
        out.cpu_ms.append(cpu * 1e3)
        spent += cpu  # the budget counts CPU time: a busy machine does not cut a run short
        out.ms.append(dt * 1e3)
        out.ids.append(np.array(table.ids, dtype=np.int64))
        # the table holds states at its own time (the last scan with plots): carry them to
        # this scan's time along their velocity, as the truth is taken at the scan time
        lag = scan.t - float(table.t)
        out.pos.append(np.asarray(table.x[:, :3], dtype=np.float64) + lag * table.x[:, 3:6])
        assert out.cls is not None
        out.cls.append(label_codes(np.asarray(table.cls)))
        on_scan(k)
        if spent > budget_s and k + 1 < len(scans):
            out.complete = False
            out.note = f"stopped at its {budget_s:.0f} s CPU budget after {k + 1}/{len(scans)} scans"
            break
    out.peak_rss_mb, out.growth_mb = meter.stop()
    out.recorded_mb = sum(a.nbytes for a in [*out.ids, *out.pos, *(out.cls or [])]) / 2**20
    return out
