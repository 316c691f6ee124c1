"""The reference tracker: a standard Stone Soup multi-target tracker on the same detections.

Kalman filter on a 3-D constant-velocity model, global nearest neighbour (2-D assignment) with
Mahalanobis gating, multi-measurement initiation and covariance-based deletion: the textbook
Stone Soup pipeline. The kd-tree configuration (``kdtree=True``) puts Stone Soup's
``DetectionKDTreeGNN2D`` in front of the same hypothesiser: each track asks a kd-tree of the
scan's plots for those within KDTREE_MAX_DISTANCE_M of its predicted measurement, and only those
are hypothesised. The kd-tree needs one measurement model for all plots of a scan, so there
each plot carries the scan's mean covariance instead of its own. Stone Soup is a benchmark-only extra (``pip install stonesoup``); it is
imported only when this runner runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy.stats import chi2

from bench._tracking_run import MemoryMeter, TrackerOutput
from bench._tracking_scenario import BenchScenario

__all__ = ["KDTREE_MAX_DISTANCE_M", "STONESOUP_SETTINGS", "run_stonesoup", "stonesoup_version"]

#: The tuning. Gate and new-track velocity spread are Skywarden's defaults; one constant-velocity
#: model must cover the turning drones too, so its process noise sits above Skywarden's
#: straight-flight mode (0.5) and manoeuvre modes (4).
STONESOUP_SETTINGS = {
    "q_m2_s3": 10.0,  # constant-velocity process noise spectral density per axis
    "gate_mahalanobis": float(np.sqrt(chi2.ppf(0.999, 3))),  # missed_distance ~ 4.03
    "prior_speed_sd_m_s": 80.0,  # horizontal velocity spread of a new track
    "prior_climb_sd_m_s": 10.0,
    "min_points": 3,  # updates to confirm
    "delete_pos_trace_m2": 3 * 300.0**2,  # delete when position variance trace exceeds
    "tentative_delete_pos_trace_m2": 3 * 200.0**2,
}

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
#: kd-tree pre-gate (m): far wider than the Mahalanobis gate ever reaches (4 sigma of the
#: innovation, under 1 km for a track coasting a few scans), so it only saves work
KDTREE_MAX_DISTANCE_M = 5_000.0


def stonesoup_version() -> str | None:
    """The installed Stone Soup version, or None when it is not installed."""
    try:
        import stonesoup
    except ImportError:
        return None
    return str(getattr(stonesoup, "__version__", "unknown"))


def _build_tracker(detector: object, kdtree: bool = False) -> object:
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
    from stonesoup.deleter.error import CovarianceBasedDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater

    s = STONESOUP_SETTINGS
    q = s["q_m2_s3"]
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(q)] * 3)
    # each detection carries its own model (its covariance); this one is only the fallback
    default_model = LinearGaussian(ndim_state=6, mapping=(0, 2, 4), noise_covar=np.eye(3) * 50.0**2)
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(default_model)
    hypothesiser = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=s["gate_mahalanobis"]
    )
    def associator_of() -> object:
        if kdtree:
            return DetectionKDTreeGNN2D(hypothesiser=hypothesiser, predictor=predictor,
                                        updater=updater, max_distance=KDTREE_MAX_DISTANCE_M)
        return GNNWith2DAssignment(hypothesiser)

    associator = associator_of()
    deleter = CovarianceBasedDeleter(covar_trace_thresh=s["delete_pos_trace_m2"], mapping=[0, 2, 4])
    sv, sz = s["prior_speed_sd_m_s"], s["prior_climb_sd_m_s"]
    prior = GaussianState(np.zeros((6, 1)), np.diag([0.0, sv**2, 0.0, sv**2, 0.0, sz**2]))
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        deleter=CovarianceBasedDeleter(
            covar_trace_thresh=s["tentative_delete_pos_trace_m2"], mapping=[0, 2, 4]
        ),
        data_associator=associator_of(),
        updater=updater,
        min_points=int(s["min_points"]),
    )
    return MultiTargetTracker(
        initiator=initiator,
        deleter=deleter,
        detector=detector,
        data_associator=associator,
        updater=updater,
    )


def _detections(scenario: BenchScenario, shared_model: bool = False) -> list[tuple[datetime, set]]:
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.types.detection import Detection

    out = []
    for scan in scenario.scans:
        ts = _EPOCH + timedelta(seconds=scan.t)
        if shared_model and len(scan.R):
            one = LinearGaussian(ndim_state=6, mapping=(0, 2, 4), noise_covar=scan.R.mean(axis=0))
            dets = {Detection(z.reshape(3, 1), timestamp=ts, measurement_model=one) for z in scan.z}
        else:
            dets = {
                Detection(
                    z.reshape(3, 1),
                    timestamp=ts,
                    measurement_model=LinearGaussian(ndim_state=6, mapping=(0, 2, 4), noise_covar=r),
                )
                for z, r in zip(scan.z, scan.R, strict=True)
            }
        out.append((ts, dets))
    return out


def run_stonesoup(
    scenario: BenchScenario, budget_s: float, on_scan: Callable[[int], None], kdtree: bool = False
) -> TrackerOutput:
    """Run the Stone Soup tracker scan by scan until done or ``budget_s`` of tracker time
    (``kdtree``: the kd-tree GNN configuration)."""
    # built before timing: input conversion is not tracking
    scans = _detections(scenario, shared_model=kdtree)
    tracker = _build_tracker(scans, kdtree=kdtree)
    out = TrackerOutput(name="Stone Soup kd-tree" if kdtree else "Stone Soup")
    uid: dict[str, int] = {}
    meter = MemoryMeter()
    meter.start()
    it = iter(tracker)
    spent = 0.0
    for k in range(len(scans)):
        c0 = time.process_time()
        t0 = time.perf_counter()
        _, tracks = next(it)
        dt = time.perf_counter() - t0
        cpu = time.process_time() - c0
        out.cpu_ms.append(cpu * 1e3)
        spent += cpu  # the budget counts CPU time: a busy machine does not cut a run short
        out.ms.append(dt * 1e3)
        tk = scenario.times[k]
        ids = np.empty(len(tracks), dtype=np.int64)
        pos = np.empty((len(tracks), 3))
        for n, track in enumerate(sorted(tracks, key=lambda tr: tr.id)):
            ids[n] = uid.setdefault(track.id, len(uid))
            x = np.asarray(track.state_vector, dtype=float).ravel()
            lag = tk - (track.timestamp - _EPOCH).total_seconds()
            # every track carries a state at the scan time (prediction when not updated)
            pos[n] = x[[0, 2, 4]] + lag * x[[1, 3, 5]]
        out.ids.append(ids)
        out.pos.append(pos)
        on_scan(k)
        if spent > budget_s and k + 1 < len(scans):
            out.complete = False
            out.note = f"stopped at its {budget_s:.0f} s CPU budget after {k + 1}/{len(scans)} scans"
            break
    out.peak_rss_mb, out.growth_mb = meter.stop()
    out.recorded_mb = sum(a.nbytes for a in [*out.ids, *out.pos, *(out.cls or [])]) / 2**20
    return out
