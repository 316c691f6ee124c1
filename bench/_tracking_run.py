"""Running one tracker over a benchmark scenario: timing, peak memory and the per-scan output.

A runner (bench/_tracking_skywarden.py, bench/_tracking_stonesoup.py) is a function
``(scenario, budget_s, on_scan) -> TrackerOutput``. It builds whatever
inputs its tracker needs before ``start()`` is called on the meter, times each scan on its
own, and stops once ``budget_s`` CPU seconds of tracking are spent.
"""

from __future__ import annotations

import re
import resource
from dataclasses import dataclass, field, replace

import numpy as np

from bench._tracking_scenario import BenchScenario, make_crossing_scenario, make_scenario
from skywarden.runtime import settled_heap
from skywarden.tracking.metrics import LABELS

__all__ = ["MemoryMeter", "RunSpec", "TrackerOutput", "build_scenario", "child_main", "label_codes"]


def label_codes(cls: np.ndarray) -> np.ndarray:
    """(N,) class names -> (N,) uint8 indices into LABELS (unknown names -> "unknown")."""
    codes = np.full(cls.shape, LABELS.index("unknown"), dtype=np.uint8)
    for i, lab in enumerate(LABELS):
        codes[cls == lab] = i
    return codes


@dataclass
class TrackerOutput:
    """What a tracker produced: per scan k, the time it took and the confirmed tracks.

    ``ms`` (k,) wall milliseconds per scan; ``cpu_ms`` (k,) CPU milliseconds of this process
    (tells a busy shared machine from a slow tracker); ``ids[k]`` (N_k,) int64; ``pos[k]``
    (N_k, 3) ENU m at the scan time; ``cls[k]`` (N_k,) uint8 index into LABELS, or None when
    the tracker does not classify. ``recorded_mb``: what these records take; they are held
    during the run, so they are part of ``growth_mb`` and subtracted in ``net_growth_mb``.
    """

    name: str
    ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    ids: list[np.ndarray] = field(default_factory=list)
    pos: list[np.ndarray] = field(default_factory=list)
    cls: list[np.ndarray] | None = None
    recorded_mb: float = 0.0
    complete: bool = True
    note: str = ""
    peak_rss_mb: float = float("nan")
    growth_mb: float = float("nan")

    @property
    def n_scans(self) -> int:
        return len(self.ms)

    @property
    def net_growth_mb(self) -> float:
        return self.growth_mb - self.recorded_mb



def _status_kb(key: str) -> float:
    with open("/proc/self/status") as f:
        m = re.search(rf"^{key}:\s+(\d+)\s+kB", f.read(), re.M)
    if m is None:
        raise OSError(f"no {key} in /proc/self/status")
    return float(m.group(1))


class MemoryMeter:
    """Peak resident memory of this process over a stretch of code.

    On Linux, writing 5 to /proc/self/clear_refs resets the high-water mark (VmHWM), so the
    peak of the stretch alone is read back, and ``growth`` = peak - resident at the start.
    Elsewhere it falls back to the process-lifetime peak (ru_maxrss) and says so.
    """

    def __init__(self) -> None:
        self.exact = True
        self.start_kb = float("nan")

    def start(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.start_kb = _status_kb("VmRSS")
        except OSError:
            self.exact = False
            self.start_kb = float("nan")

    def stop(self) -> tuple[float, float]:
        """(peak MB, growth MB over the start; nan when not measurable)."""
        if self.exact:
            peak = _status_kb("VmHWM")
            return peak / 1024.0, (peak - self.start_kb) / 1024.0
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, float("nan")


@dataclass(frozen=True, slots=True)
class RunSpec:
    """What a child process needs to rebuild the scenario and run one tracker on it.

    ``crossing_pairs`` > 0: the crossing scenario of that many pairs (``n_targets`` is then
    twice it and ``n_radars`` unused); 0: the random scenario of ``n_targets``. ``real_flights``:
    the recorded flights (bench/_real_flights.py), ``n_targets`` their number."""

    tracker: str  # "skywarden", "stonesoup" or "stonesoup-kdtree"
    n_targets: int
    n_scans: int
    seed: int
    n_radars: int | None
    pd: float
    clutter_mean: float
    budget_s: float
    crossing_pairs: int = 0
    real_flights: bool = False  # the real flights of tests/data/real_flights.csv
    as_recorded: bool = False  # the detections as a recording holds them (bench/_tracking_command.py)


def build_scenario(spec: RunSpec) -> BenchScenario:
    """The scenario ``spec`` names (seeded: the parent and the child build the same one)."""
    if spec.as_recorded:
        from bench._tracking_command import as_recorded

        return as_recorded(build_scenario(replace(spec, as_recorded=False)))
    if spec.real_flights:
        from bench._real_flights import make_real_scenario

        return make_real_scenario(spec.n_scans, seed=spec.seed, pd=spec.pd,
                                  clutter_mean=spec.clutter_mean).scenario
    if spec.crossing_pairs > 0:
        return make_crossing_scenario(spec.crossing_pairs, spec.n_scans, seed=spec.seed,
                                      pd=spec.pd, clutter_mean=spec.clutter_mean)
    return make_scenario(spec.n_targets, spec.n_scans, seed=spec.seed, n_radars=spec.n_radars,
                         pd=spec.pd, clutter_mean=spec.clutter_mean)


def child_main(spec: RunSpec, queue: object) -> None:
    """Entry point of the child process: rebuild the scenario (seeded, so identical), run the
    tracker, send ("scan", k) as it goes and ("done", TrackerOutput) or ("error", text) last.

    A fresh process per tracker run keeps one run's memory and imports out of the next."""
    import traceback

    put = queue.put  # type: ignore[attr-defined]
    try:
        scenario = build_scenario(spec)
        if spec.tracker == "skywarden":
            from bench._tracking_skywarden import run_skywarden as run
        elif spec.tracker == "stonesoup":
            from bench._tracking_stonesoup import run_stonesoup as run
        elif spec.tracker == "stonesoup-kdtree":
            from functools import partial

            from bench._tracking_stonesoup import run_stonesoup

            run = partial(run_stonesoup, kdtree=True)
        else:
            raise ValueError(f"unknown tracker {spec.tracker!r}")
        # what exists now (modules, the scenario) lives through the run: out of the collector's
        # sight, as the night runtime does (skywarden.runtime.settled_heap), for both trackers
        with settled_heap():
            out = run(scenario, spec.budget_s, lambda k: put(("scan", k)))
        put(("done", out))
    except BaseException:  # report anything, the parent decides
        put(("error", traceback.format_exc()))
