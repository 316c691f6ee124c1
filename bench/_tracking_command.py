"""The whole ``skywarden track`` command against Stone Soup's kd-tree GNN loop alone.

A benchmark scenario is written as a recording (``t,sensor_id,x,y,z,sigma``: positions to the
centimetre, one isotropic sigma per plot, the root mean square of its covariance's axes), as CSV
and as Parquet; :func:`as_recorded` gives the scenario those rows are, so the trackers' loops run
on exactly the detections the command reads. The command runs as a subprocess (``python -m
skywarden.cli track``), timed by the CPU its process used (user + system, ``RUSAGE_CHILDREN``),
less what the same command costs on a file of the recording's first scan alone (the start-up:
the interpreter, the imports, the compiled kernels loaded from their cache).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench._tracking_scenario import BenchScenario, ScanRecord

__all__ = ["CommandTiming", "as_recorded", "time_command", "write_recording"]

ROOT = Path(__file__).resolve().parents[1]


def _cm(v: np.ndarray) -> np.ndarray:
    """Values to the centimetre, as a CSV reader reads ``%.2f`` back."""
    return np.array([float(f"{x:.2f}") for x in np.ravel(v).tolist()]).reshape(np.shape(v))


def _sigma(R: np.ndarray) -> np.ndarray:
    """(M,) the isotropic sigma a recording gives each plot, to the centimetre."""
    return _cm(np.sqrt(np.trace(R, axis1=1, axis2=2) / 3.0))


def as_recorded(scenario: BenchScenario) -> BenchScenario:
    """The scenario as its recording holds it: positions rounded to the centimetre, each plot's
    covariance ``sigma^2 I`` (what ``skywarden track`` builds from the rows)."""
    scans = []
    for s in scenario.scans:
        sg = _sigma(s.R)
        R = np.zeros((len(sg), 3, 3))
        R[:, [0, 1, 2], [0, 1, 2]] = (sg**2)[:, None]
        scans.append(ScanRecord(t=s.t, sensor_id=s.sensor_id, z=_cm(s.z), R=R,
                                rcs_dbsm=s.rcs_dbsm, truth_id=s.truth_id))
    return replace(scenario, scans=tuple(scans))


def write_recording(scenario: BenchScenario, csv_path: Path, parquet_path: Path | None = None,
                    first_scan_only: bool = False) -> int:
    """Write the scenario's plots as a recording (CSV, and Parquet when asked); returns rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "sensor_id", "x", "y", "z", "sigma")}
    for s in scenario.scans[:1] if first_scan_only else scenario.scans:
        m = len(s.z)
        z = _cm(s.z)
        cols["t"].append(np.full(m, s.t))
        cols["sensor_id"].append(np.full(m, s.sensor_id, dtype=object))
        for j, k in enumerate("xyz"):
            cols[k].append(z[:, j])
        cols["sigma"].append(_sigma(s.R))
    flat = {k: np.concatenate(v) for k, v in cols.items()}
    with csv_path.open("w") as fh:
        fh.write("t,sensor_id,x,y,z,sigma\n")
        fh.writelines(
            f"{t!r},{sid},{x:.2f},{y:.2f},{z:.2f},{sg:.2f}\n"
            for t, sid, x, y, z, sg in zip(*(flat[k].tolist() for k in cols), strict=True)
        )
    if parquet_path is not None:
        table = pa.table({k: pa.array(v.tolist(), pa.string() if k == "sensor_id" else pa.float64())
                          for k, v in flat.items()})
        pq.write_table(table, parquet_path)
    return len(flat["t"])


@dataclass
class CommandTiming:
    """CPU seconds of the command's runs on the whole recording and on its first scan."""

    label: str  # "CSV in, CSV out"
    whole_s: list[float]
    one_scan_s: list[float]

    @property
    def net_s(self) -> float:
        """The median whole run less the median start-up."""
        return statistics.median(self.whole_s) - statistics.median(self.one_scan_s)


def _cpu_of(args: list[str]) -> float:
    """CPU seconds (user + system) of one run of the command in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "skywarden.cli", "track", *args], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_command(label: str, whole: Path, one_scan: Path, out: Path, repeat: int) -> CommandTiming:
    """Run the command ``repeat`` times on the whole recording and on its first scan, in turn
    (after one run of each not counted: the kernels' cache warm)."""
    timing = CommandTiming(label, [], [])
    for k in range(repeat + 1):
        w = _cpu_of(["-i", str(whole), "-o", str(out), "--quiet"])
        o = _cpu_of(["-i", str(one_scan), "-o", str(out), "--quiet"])
        if k:
            timing.whole_s.append(w)
            timing.one_scan_s.append(o)
    return timing
