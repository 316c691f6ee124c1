"""The tracking benchmark's crossing-targets scenario: geometry, sensing and seeding."""

from __future__ import annotations

import numpy as np
import pytest

from bench._tracking_run import RunSpec, build_scenario
from bench._tracking_scenario import (
    CLASSES,
    CROSSING_APART_M,
    CROSSING_GAP_M,
    CROSSING_SPEED,
    class_counts,
    make_crossing_scenario,
)

N_PAIRS, N_SCANS = 12, 60


@pytest.fixture(scope="module")
def sc():
    return make_crossing_scenario(N_PAIRS, N_SCANS, seed=7)


def _pair_separation(sc) -> np.ndarray:
    """(K, n_pairs) distance between the two targets of each pair at each scan."""
    p = sc.truth_pos
    return np.linalg.norm(p[:, 0::2] - p[:, 1::2], axis=-1)


def test_shape_classes_and_coverage(sc) -> None:
    n = 2 * N_PAIRS
    assert sc.n_targets == n and len(sc.radars) == 1
    assert sc.truth_pos.shape == (N_SCANS, n, 3) and len(sc.scans) == N_SCANS
    np.testing.assert_allclose(sc.times, np.arange(N_SCANS))
    # both targets of a pair share a class; pairs come in the usual shares
    assert np.array_equal(sc.cls[0::2], sc.cls[1::2])
    assert [int(np.sum(sc.cls[0::2] == c)) for c in CLASSES] == class_counts(N_PAIRS).tolist()
    # everyone is in range all the time, and about pd of them are reported
    assert sc.covered.all()
    seen = sum(int(np.sum(s.truth_id >= 0)) for s in sc.scans)
    assert 0.8 < seen / (n * N_SCANS) < 0.97
    assert all(s.n_clutter > 0 for s in sc.scans)


def test_pairs_cross_in_the_middle_of_the_run(sc) -> None:
    d = _pair_separation(sc)
    closest = d.argmin(axis=0)
    assert np.all(d.min(axis=0) < 100.0)
    # after the tracks have had time to settle, and with time left to see who follows whom
    assert np.all((closest >= 0.4 * N_SCANS) & (closest <= 0.7 * N_SCANS))
    # apart at the start and at the end, turning pairs too: they meet only at the crossing
    assert np.all(d[[0, -1]] >= CROSSING_APART_M - 1e-6)
    # at the crossing they are level within a few tens of metres
    k = closest[None, :]
    dz = np.take_along_axis(sc.truth_pos[:, 0::2, 2] - sc.truth_pos[:, 1::2, 2], k, axis=0)
    assert np.all(np.abs(dz) <= 40.0)


def test_speeds_within_a_pair_are_similar_and_in_the_class_range(sc) -> None:
    speed = np.linalg.norm(np.diff(sc.truth_pos, axis=0), axis=-1).mean(axis=0)  # m/s (1 s scans)
    for j, c in enumerate(sc.cls):
        lo, hi = CROSSING_SPEED[str(c)]
        assert lo - 0.5 <= speed[j] <= hi + 0.5  # chords of turns are a little short
    assert np.all(np.abs(speed[0::2] / speed[1::2] - 1.0) < 0.12)


def test_crossing_angles_spread_and_some_targets_turn(sc) -> None:
    v = np.diff(sc.truth_pos[:, :, :2], axis=0)  # (K-1, n, 2) per-second moves
    h = np.arctan2(v[..., 0], v[..., 1])
    turn = np.abs(np.angle(np.exp(1j * np.diff(h, axis=0))))  # heading change per scan
    turning = np.degrees(turn.max(axis=0)) > 1.0
    # at most one of each pair turns, and some pairs have a turner
    per_pair = turning[0::2].astype(int) + turning[1::2]
    assert per_pair.max() == 1 and per_pair.sum() >= 2
    # crossing angle at the start of the run of the straight pairs: from shallow to square
    straight = per_pair == 0
    a = np.degrees(np.abs(np.angle(np.exp(1j * (h[0, 0::2] - h[0, 1::2])))))[straight]
    assert np.all((a >= 10.0 - 1e-6) & (a <= 90.0 + 1e-6))
    assert a.min() < 30.0 and a.max() > 60.0


def test_targets_of_different_pairs_stay_far_apart(sc) -> None:
    p = sc.truth_pos[..., :2]
    d = np.linalg.norm(p[:, :, None] - p[:, None, :], axis=-1)  # (K, n, n) horizontal
    pair = np.arange(sc.n_targets) // 2
    other = pair[:, None] != pair[None, :]
    assert d[:, other].min() >= CROSSING_GAP_M


def test_seeded_and_a_pure_function_of_its_arguments(sc) -> None:
    again = make_crossing_scenario(N_PAIRS, N_SCANS, seed=7)
    assert np.array_equal(sc.truth_pos, again.truth_pos)
    assert all(np.array_equal(x.z, y.z) and np.array_equal(x.truth_id, y.truth_id)
               for x, y in zip(sc.scans, again.scans, strict=True))
    other = make_crossing_scenario(N_PAIRS, N_SCANS, seed=8)
    assert not np.array_equal(sc.truth_pos, other.truth_pos)
    # the benchmark's child process rebuilds the same scenario from its run spec
    spec = RunSpec(tracker="skywarden", n_targets=2 * N_PAIRS, n_scans=N_SCANS, seed=7,
                   n_radars=1, pd=0.9, clutter_mean=50.0, budget_s=1.0, crossing_pairs=N_PAIRS)
    assert np.array_equal(build_scenario(spec).truth_pos, sc.truth_pos)


def test_rejects_what_cannot_be_built() -> None:
    with pytest.raises(ValueError):
        make_crossing_scenario(0, 60)
    with pytest.raises(ValueError):
        make_crossing_scenario(3, 60, pd=0.0)
    with pytest.raises(ValueError, match="no room|reach"):
        make_crossing_scenario(500, 60)


def test_bench_runs_the_crossing_case_after_the_sizes() -> None:
    from bench.tracking import (
        DEFAULT_CROSSING_PAIRS,
        QUICK_CROSSING_PAIRS,
        build_parser,
        cases,
    )

    parse = build_parser().parse_args
    last = cases(parse([]))[-1]
    assert last.kind == "crossing" and last.spec["crossing_pairs"] == DEFAULT_CROSSING_PAIRS
    quick = cases(parse(["--quick"]))
    assert quick[-1].spec["crossing_pairs"] == QUICK_CROSSING_PAIRS
    assert [c.kind for c in cases(parse(["--crossing-pairs", "0"]))] == ["random"] * 5
    only = cases(parse(["--sizes", "none", "--crossing-pairs", "3", "--scans", "40"]))
    assert [(c.label, c.spec["n_targets"], c.spec["n_scans"]) for c in only] == [
        ("crossing: 3 pairs", 6, 40)]


def _output_following_truth(sc, swap_pair: int | None = None, drop_target: int | None = None):
    """A perfect tracker's output (track 100 + j on target j), optionally with the two tracks
    of one pair exchanged after their crossing, or one target's track gone after it."""
    from bench._tracking_run import TrackerOutput

    sep = _pair_separation(sc)
    out = TrackerOutput(name="ideal")
    for k in range(len(sc.times)):
        ids = np.arange(sc.n_targets, dtype=np.int64) + 100
        pos = sc.truth_pos[k].copy()
        if swap_pair is not None and k > int(np.argmin(sep[:, swap_pair])):
            a, b = 2 * swap_pair, 2 * swap_pair + 1
            ids[[a, b]] = ids[[b, a]]
        keep = np.ones(sc.n_targets, dtype=bool)
        if drop_target is not None and k > int(np.argmin(sep[:, drop_target // 2])) + 5:
            keep[drop_target] = False
        out.ms.append(1.0)
        out.cpu_ms.append(1.0)
        out.ids.append(ids[keep])
        out.pos.append(pos[keep])
    return out


def test_crossing_outcome_tells_an_exchange_from_a_kept_identity(sc) -> None:
    from bench.tracking import score

    def outcome(out):
        s = score(out, sc, len(sc.times), 150.0, 10.0, crossing_pairs=N_PAIRS)
        return s.cross_changed, s.cross_exchanged

    assert outcome(_output_following_truth(sc)) == (0, 0)
    assert outcome(_output_following_truth(sc, swap_pair=3)) == (2, 1)
    assert outcome(_output_following_truth(sc, drop_target=5)) == (1, 0)
    # the random scenarios carry no crossing figures
    s = score(_output_following_truth(sc), sc, len(sc.times), 150.0, 10.0)
    assert s.cross_changed is None and s.cross_exchanged is None
