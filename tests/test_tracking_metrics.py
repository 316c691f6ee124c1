"""Tracking metrics against hand-computed cases, and the sparse assignment against a dense twin."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from skywarden.tracking.metrics import (
    LABELS,
    assign,
    classification_after,
    confusion_matrix,
    evaluate,
    gospa,
    gospa_series,
    identity_switches,
    time_to_confirm,
)


def pts(*xy: tuple[float, float]) -> np.ndarray:
    return np.array(xy, dtype=float).reshape(-1, 2)


NONE = np.zeros((0, 2))


# --- GOSPA, one step -------------------------------------------------------------------------


def test_one_pair_at_distance_3_is_pure_localisation() -> None:
    g = gospa(pts((0, 0)), pts((3, 0)), c=10.0)
    assert g.localisation == pytest.approx(9.0)
    assert (g.missed, g.false) == (0.0, 0.0)
    assert g.distance == pytest.approx(3.0)
    assert (g.n_assigned, g.n_missed, g.n_false) == (1, 0, 0)


def test_pair_beyond_cutoff_is_one_missed_and_one_false() -> None:
    g = gospa(pts((0, 0)), pts((12, 0)), c=10.0)
    # c^p/2 each: 100/2
    assert (g.localisation, g.missed, g.false) == (0.0, 50.0, 50.0)
    assert g.distance == pytest.approx(10.0)


def test_all_missed_cost_half_cutoff_power_each() -> None:
    g = gospa(pts((0, 0), (50, 0), (0, 80)), NONE, c=10.0)
    assert g.missed == pytest.approx(3 * 100 / 2)
    assert (g.localisation, g.false, g.n_missed) == (0.0, 0.0, 3)
    assert g.distance == pytest.approx(np.sqrt(150.0))


def test_all_false_cost_half_cutoff_power_each() -> None:
    g = gospa(NONE, pts((1, 1), (2, 2)), c=4.0)
    assert (g.localisation, g.missed, g.false) == (0.0, 0.0, 16.0)


def test_empty_sets_are_zero() -> None:
    g = gospa(NONE, NONE, c=5.0)
    assert (g.distance, g.total) == (0.0, 0.0)


def test_assignment_is_optimal_not_greedy() -> None:
    # Greedy nearest for truth (3,0) takes estimate (2,0) at 1, leaving (0,0)-(5,0) at 5:
    # 1 + 25 = 26. The optimum pairs (0,0)-(2,0) and (3,0)-(5,0): 4 + 4 = 8.
    g = gospa(pts((0, 0), (3, 0)), pts((2, 0), (5, 0)), c=10.0)
    assert g.localisation == pytest.approx(8.0)
    a = assign(pts((0, 0), (3, 0)), pts((2, 0), (5, 0)), c=10.0)
    assert a.truth.tolist() == [0, 1] and a.est.tolist() == [0, 1]


def test_cutoff_leaves_far_truth_missed() -> None:
    g = gospa(pts((0, 0), (100, 0)), pts((1, 0)), c=10.0)
    assert (g.localisation, g.missed, g.false) == (pytest.approx(1.0), 50.0, 0.0)


def test_unassigning_beats_a_pair_near_the_cutoff_only_when_cheaper() -> None:
    # d = 9.9 < c = 10: assigned, 98.01 < 100 = missed + false.
    g = gospa(pts((0, 0)), pts((9.9, 0)), c=10.0)
    assert g.n_assigned == 1 and g.localisation == pytest.approx(98.01)


def test_p1_parts() -> None:
    g = gospa(pts((0, 0), (40, 0)), pts((3, 4)), c=10.0, p=1.0)
    assert (g.localisation, g.missed, g.false) == (pytest.approx(5.0), 5.0, 0.0)
    assert g.distance == pytest.approx(10.0)


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="alpha"):
        gospa(pts((0, 0)), pts((0, 0)), c=1.0, alpha=1.0)
    with pytest.raises(ValueError, match="shape"):
        gospa(np.zeros(3), pts((0, 0)), c=1.0)
    with pytest.raises(ValueError, match="cutoff"):
        gospa(pts((0, 0)), pts((0, 0)), c=0.0)
    with pytest.raises(ValueError, match="non-finite"):
        gospa(pts((np.nan, 0)), pts((0, 0)), c=1.0)
    with pytest.raises(ValueError, match="3-D"):
        gospa(np.zeros((1, 3)), pts((0, 0)), c=1.0)


# --- twin: sparse components vs one dense assignment ----------------------------------------


def dense_gospa_total(tx: np.ndarray, ex: np.ndarray, c: float, p: float) -> float:
    """Reference: one dense assignment on min(d, c)^p, unassigned at c^p/2 each."""
    if len(tx) == 0 or len(ex) == 0:
        return c**p / 2 * (len(tx) + len(ex))
    d = np.linalg.norm(tx[:, None, :] - ex[None, :, :], axis=-1)
    cost = np.minimum(d, c) ** p
    r, k = linear_sum_assignment(cost)
    ok = d[r, k] < c
    return float(np.sum(cost[r, k][ok]) + c**p / 2 * (len(tx) + len(ex) - 2 * ok.sum()))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("p", [1.0, 2.0])
def test_sparse_assignment_matches_dense_optimum(seed: int, p: float) -> None:
    rng = np.random.default_rng(seed)
    # Clusters make multi-edge components; scattered points make lone pairs and misses.
    centres = rng.uniform(0, 500, (6, 3))
    tx = np.concatenate([centres[rng.integers(0, 6, 40)] + rng.normal(0, 8, (40, 3)),
                         rng.uniform(0, 500, (10, 3))])
    ex = np.concatenate([tx[rng.random(len(tx)) < 0.8] + rng.normal(0, 5, (1, 3)),
                         rng.uniform(0, 500, (15, 3))])
    ex = ex + rng.normal(0, 4, ex.shape)
    g = gospa(tx, ex, c=20.0, p=p)
    assert g.total == pytest.approx(dense_gospa_total(tx, ex, 20.0, p), rel=1e-12, abs=1e-9)
    a = assign(tx, ex, c=20.0, p=p)
    assert len(set(a.truth.tolist())) == a.truth.size and len(set(a.est.tolist())) == a.est.size
    assert np.all(a.dist < 20.0)
    np.testing.assert_allclose(a.dist, np.linalg.norm(tx[a.truth] - ex[a.est], axis=1))


def test_series_averages_per_step() -> None:
    s = gospa_series([pts((0, 0)), pts((0, 0))], [pts((3, 0)), NONE], c=10.0)
    np.testing.assert_allclose(s.localisation, [9.0, 0.0])
    np.testing.assert_allclose(s.missed, [0.0, 50.0])
    m = s.mean()
    assert m["localisation"] == pytest.approx(4.5)
    assert m["missed"] == pytest.approx(25.0)
    assert m["total"] == pytest.approx(29.5)
    assert m["distance"] == pytest.approx((3.0 + np.sqrt(50.0)) / 2)


# --- identity switches -----------------------------------------------------------------------


def two_truths_scripted(track_ids_per_step: list[list[int]]):
    """Truths 7 at y=0 and 8 at y=100 moving along x; estimates on top of them, given ids."""
    tids, tx, eids, ex = [], [], [], []
    for k, ids in enumerate(track_ids_per_step):
        x = pts((10.0 * k, 0), (10.0 * k, 100))
        tids.append(np.array([7, 8]))
        tx.append(x)
        eids.append(np.array(ids[: len(ids)]))
        ex.append(x[: len(ids)] + 0.5)
    return tids, tx, eids, ex


def test_scripted_swap_counts_one_switch_per_truth() -> None:
    tids, tx, eids, ex = two_truths_scripted([[1, 2], [1, 2], [2, 1], [2, 1]])
    sw = identity_switches(tids, tx, eids, ex, c=10.0)
    assert sw.total == 2
    assert sw.per_truth == {7: 1, 8: 1}


def test_gap_is_not_a_switch_but_a_new_id_after_it_is() -> None:
    tids, tx, eids, ex = two_truths_scripted([[1, 2], [1, 2], [], [1, 5], [1, 5]])
    sw = identity_switches(tids, tx, eids, ex, c=10.0)
    assert sw.per_truth == {8: 1}


def test_track_beyond_cutoff_is_not_associated() -> None:
    tids, tx, eids, ex = two_truths_scripted([[1, 2], [1, 2]])
    ex[1] = ex[1] + np.array([0.0, 30.0])  # track 1 now 30 m off truth 7, far from truth 8
    sw = identity_switches(tids, tx, eids, ex, c=10.0)
    assert sw.total == 0


# --- time to confirm -------------------------------------------------------------------------


def test_time_to_confirm_from_first_appearance() -> None:
    times = np.array([0.0, 1.0, 2.0, 3.0])
    truth_ids = [np.array([1]), np.array([1, 2]), np.array([1, 2, 3]), np.array([1, 2, 3])]
    truth_x = [pts((0, 0)), pts((0, 0), (50, 0)), pts((0, 0), (50, 0), (99, 0)),
               pts((0, 0), (50, 0), (99, 0))]
    est_ids = [np.zeros(0, int), np.array([20]), np.array([20, 10]), np.array([20, 10])]
    est_x = [NONE, pts((51, 0)), pts((51, 0), (1, 1)), pts((51, 0), (1, 1))]
    ttc = time_to_confirm(times, truth_ids, truth_x, est_ids, est_x, c=5.0)
    # truth 1 from 0 s to 2 s; truth 2 found at once; truth 3 never
    assert ttc == {1: 2.0, 2: 0.0}


def test_times_must_increase() -> None:
    with pytest.raises(ValueError, match="increasing"):
        time_to_confirm(np.array([1.0, 1.0]), [np.array([1])] * 2, [pts((0, 0))] * 2,
                        [np.array([1])] * 2, [pts((0, 0))] * 2, c=1.0)


# --- classification --------------------------------------------------------------------------


def test_confusion_matrix_counts() -> None:
    truth = np.array(["drone", "drone", "bird", "manned_aircraft", "drone"])
    est = np.array(["drone", "bird", "bird", "manned_aircraft", "unknown"])
    m = confusion_matrix(truth, est)
    i = {lab: n for n, lab in enumerate(LABELS)}
    assert m.shape == (4, 4) and m.sum() == 5
    assert m[i["drone"], i["drone"]] == 1
    assert m[i["drone"], i["bird"]] == 1
    assert m[i["drone"], i["unknown"]] == 1
    assert m[i["bird"], i["bird"]] == 1
    assert m[i["manned_aircraft"], i["manned_aircraft"]] == 1


def test_confusion_matrix_rejects_unknown_label() -> None:
    with pytest.raises(ValueError, match="helicopter"):
        confusion_matrix(np.array(["drone"]), np.array(["helicopter"]))


def test_classification_judged_once_after_min_age() -> None:
    times = np.arange(0.0, 15.0, 1.0)
    k = len(times)
    truth_ids = [np.array([1, 2])] * k
    truth_x = [pts((0, 0), (500, 0))] * k
    truth_cls = [np.array(["drone", "bird"])] * k
    est_ids = [np.array([11, 12])] * k
    est_x = [pts((1, 0), (501, 0))] * k
    # track 11: unknown until 10 s old, then drone (right); track 12: bird until 9 s, then
    # drone at 10 s (wrong when judged), bird again later (judged only once).
    est_cls = [np.array(["unknown" if t < 10 else "drone",
                         "drone" if t == 10 else "bird"]) for t in times]
    s = classification_after(times, truth_ids, truth_x, truth_cls, est_ids, est_x, est_cls,
                             c=10.0, min_age_s=10.0)
    assert (s.n_tracks, s.n_correct) == (2, 1)
    assert s.fraction == pytest.approx(0.5)


def test_classification_without_old_tracks_is_nan() -> None:
    s = classification_after(np.array([0.0]), [np.array([1])], [pts((0, 0))],
                             [np.array(["drone"])], [np.array([3])], [pts((0, 0))],
                             [np.array(["drone"])], c=1.0)
    assert s.n_tracks == 0 and np.isnan(s.fraction)


def test_evaluate_agrees_with_the_parts() -> None:
    tids, tx, eids, ex = two_truths_scripted([[1, 2], [1, 2], [2, 1], [2, 1], [2]])
    times = np.arange(len(tids), dtype=float) * 5.0
    tcls = [np.array(["drone", "bird"])] * len(tids)
    ecls = [np.array(["drone", "bird"][: len(e)]) for e in eids]
    r = evaluate(times, tids, tx, eids, ex, c=10.0, truth_cls=tcls, est_cls=ecls)
    ref = gospa_series(tx, ex, c=10.0)
    np.testing.assert_allclose(r.gospa.total, ref.total)
    assert r.switches.total == 2
    assert r.confirm_s == {7: 0.0, 8: 0.0}
    assert r.n_truths == 2 and r.confirmed_fraction == 1.0
    assert [a.truth.size for a in r.assignments] == [2, 2, 2, 2, 1]
    assert r.confusion is not None and int(r.confusion.sum()) == 9
    # both tracks are judged at 10 s, each carrying the class of the truth it then follows
    assert r.classification is not None
    assert (r.classification.n_tracks, r.classification.fraction) == (2, 1.0)


# --- benchmark scenario generator (smoke: requested counts) ----------------------------------


def test_bench_quick_scenario_has_the_requested_counts() -> None:
    from bench._tracking_scenario import CLASSES, MAX_CLUTTER, class_counts, make_scenario
    from bench.tracking import QUICK_SIZES, build_parser

    assert build_parser().parse_args(["--quick"]).quick
    n_scans = 12
    for n in QUICK_SIZES:
        sc = make_scenario(n, n_scans, seed=3)
        n_radars = 1 if n <= 10 else 2
        assert len(sc.radars) == n_radars
        assert len(sc.scans) == n_scans * n_radars == len(sc.times)
        assert sc.cls.shape == (n,) and sc.truth_pos.shape == (len(sc.times), n, 3)
        counts = [int(np.sum(sc.cls == c)) for c in CLASSES]
        assert counts == class_counts(n).tolist() and sum(counts) == n
        # radars take turns, one scan per second each
        assert [s.sensor_id for s in sc.scans[:n_radars]] == [r.sensor_id for r in sc.radars]
        np.testing.assert_allclose(np.diff(sc.times), 1.0 / n_radars)
        for s in sc.scans:
            assert s.z.shape == (len(s.truth_id), 3) and s.R.shape == (len(s.truth_id), 3, 3)
            assert 0 <= s.n_clutter <= MAX_CLUTTER
            assert np.all(np.linalg.eigvalsh(s.R) > 0)
            assert len(np.unique(s.truth_id[s.truth_id >= 0])) == np.sum(s.truth_id >= 0)
        # about pd of the covered targets are reported
        k = np.arange(len(sc.scans))
        seen = sum(int(np.sum(s.truth_id >= 0)) for s in sc.scans)
        visible = sum(int(np.sum(sc.covered[i] & _in_range(sc, i))) for i in k)
        assert 0.75 < seen / visible < 1.0


def _in_range(sc, k: int) -> np.ndarray:
    radar = sc.radars[k % len(sc.radars)]
    return np.linalg.norm(sc.truth_pos[k] - radar.pos, axis=1) <= radar.max_range_m


def test_bench_scenario_is_seeded() -> None:
    from bench._tracking_scenario import make_scenario

    a, b = make_scenario(20, 4, seed=5), make_scenario(20, 4, seed=5)
    assert all(np.array_equal(x.z, y.z) for x, y in zip(a.scans, b.scans, strict=True))
    c = make_scenario(20, 4, seed=6)
    assert not np.array_equal(a.truth_pos, c.truth_pos)
