"""A target that flies out of one radar's reach, still seen by another, keeps its track: the
radar that can no longer see it does not count misses against it."""

from __future__ import annotations

import numpy as np

from skywarden.tracking import Scan, Tracker, TrackerConfig


def _run(with_coverage: bool) -> list[set[int]]:
    rng = np.random.default_rng(3)
    a = (0.0, 0.0, 0.0, 10_000.0)  # radar A: 10 km reach, scans every second
    b = (20_000.0, 0.0, 0.0, 40_000.0)  # radar B: 40 km reach, scans every 8 s
    R = np.diag([30.0**2, 30.0**2, 30.0**2])
    trk = Tracker(TrackerConfig())
    ids: list[set[int]] = []
    for k in range(1, 241):
        t = float(k)
        truth = np.array([5_000.0 + 50.0 * t, 0.0, 300.0])
        for cov, every in ((a, 1), (b, 8)):
            if k % every:
                continue
            in_reach = np.linalg.norm(truth - np.array(cov[:3])) < cov[3]
            z = (truth + rng.normal(0, 30.0, 3))[None] if in_reach else np.zeros((0, 3))
            scan = Scan(
                t=t, sensor_id="A" if cov is a else "B", z=z, R=np.repeat(R[None], len(z), axis=0),
                coverage=cov if with_coverage else None,
            )
            table = trk.step(scan)
        ids.append(set(table.ids.tolist()))
    return ids


def test_leaving_one_radars_reach_loses_nothing():
    ids = _run(with_coverage=True)
    after = [s for s in ids[20:] if s]
    assert len(after) == len(ids[20:])  # tracked all the time after confirmation
    assert len(set().union(*after)) == 1  # one identity throughout


def test_without_coverage_the_misses_would_drop_it():
    ids = _run(with_coverage=False)
    # the target leaves A's reach at t = 100 s; A's empty looks then count as misses
    assert len(set().union(*[s for s in ids[20:] if s])) > 1 or any(not s for s in ids[100:])
