"""Gating, clustering, GNN and JPDA."""

from __future__ import annotations

import numpy as np
import pytest

from skywarden.tracking import association as assoc


def brute_gate(pos, Ppos, z, R, thr):
    out = set()
    for i in range(len(pos)):
        for j in range(len(z)):
            y = z[j] - pos[i]
            if y @ np.linalg.solve(Ppos[i] + R[j], y) <= thr:
                out.add((i, j))
    return out


@pytest.mark.parametrize(
    "n,m", [(30, 40), (300, 200), (200, 1100)]
)  # dense, KD-tree, grouped trees
def test_gate_matches_brute_force(n: int, m: int) -> None:
    rng = np.random.default_rng(n)
    pos = rng.uniform(-5000, 5000, (n, 3))
    A = rng.normal(size=(n, 3, 3))
    Ppos = A @ np.swapaxes(A, 1, 2) * 2000 + np.eye(3) * 100
    k = min(n, m // 2)
    z = np.vstack([pos[:k] + rng.normal(size=(k, 3)) * 50, rng.uniform(-5000, 5000, (m - k, 3))])
    R = np.eye(3)[None] * rng.uniform(100.0, 40_000.0, (m, 1, 1))  # near and far plots
    g = assoc.gate(pos, Ppos, z, R, 16.27)
    assert set(zip(g.ti.tolist(), g.mj.tolist(), strict=True)) == brute_gate(pos, Ppos, z, R, 16.27)
    assert np.all(g.d2 <= 16.27)


def test_gnn_finds_the_global_optimum_not_the_greedy_one() -> None:
    # track 0 is nearest to plot 0, but giving plot 0 to track 0 would leave track 1 empty
    pos = np.array([[0.0, 0, 0], [100.0, 0, 0]])
    Ppos = np.broadcast_to(np.eye(3) * 2500.0, (2, 3, 3)).copy()
    z = np.array([[40.0, 0, 0], [-120.0, 0, 0]])
    R = np.broadcast_to(np.eye(3) * 100.0, (2, 3, 3)).copy()
    g = assoc.gate(pos, Ppos, z, R, 16.27)
    assert (1, 1) not in set(zip(g.ti.tolist(), g.mj.tolist(), strict=True))
    t, m = assoc.gnn(2, 2, g)
    assert dict(zip(t.tolist(), m.tolist(), strict=True)) == {0: 1, 1: 0}


def test_clusters_split_independent_groups() -> None:
    ti = np.array([0, 1, 1, 2, 3])
    mj = np.array([0, 0, 1, 2, 2])
    lab = assoc.clusters(4, 3, ti, mj)
    assert lab[0] == lab[1] == lab[2]
    assert lab[3] == lab[4] != lab[0]


def test_gnn_large_problem_uses_clusters_and_agrees_with_dense() -> None:
    rng = np.random.default_rng(1)
    n = 400
    pos = np.column_stack([np.arange(n) * 300.0, np.zeros(n), np.zeros(n)])
    Ppos = np.broadcast_to(np.eye(3) * 3000.0, (n, 3, 3)).copy()
    z = pos + rng.normal(size=(n, 3)) * 40
    R = np.broadcast_to(np.eye(3) * 400.0, (n, 3, 3)).copy()
    g = assoc.gate(pos, Ppos, z, R, 16.27)
    t, m = assoc.gnn(n, n, g)
    assert np.array_equal(t, np.arange(n)) and np.array_equal(m, np.arange(n))


def test_jpda_exact_single_track_closed_form() -> None:
    # one track, two plots: beta_j = L_j / (1 - pD + sum L)
    g = assoc.Gated(
        np.array([0, 0]), np.array([0, 1]), np.array([1.0, 4.0]), np.array([10.0, 10.0])
    )
    beta, beta0 = assoc.jpda(1, 2, g, p_detect=0.9, clutter_density=1e-9)
    L = 0.9 * np.exp(-0.5 * (np.array([1.0, 4.0]) + 10.0) - 1.5 * np.log(2 * np.pi)) / 1e-9
    np.testing.assert_allclose(beta, L / (0.1 + L.sum()))
    np.testing.assert_allclose(beta0, 0.1 / (0.1 + L.sum()))


def test_jpda_shared_plot_is_split_and_probabilities_sum_to_one() -> None:
    g = assoc.Gated(
        np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([1.0, 1.0, 9.0]), np.zeros(3)
    )
    beta, beta0 = assoc.jpda(2, 2, g, p_detect=0.9, clutter_density=1e-3)
    for i in range(2):
        assert beta[g.ti == i].sum() + beta0[i] == pytest.approx(1.0)
    # plot 0 cannot be both tracks': the two betas on it add to at most 1
    assert beta[0] + beta[1] <= 1.0 + 1e-12
    cheap_b, cheap_b0 = assoc.jpda(2, 2, g, p_detect=0.9, clutter_density=1e-3, max_exact_plots=0)
    assert np.all(cheap_b >= 0) and np.all(cheap_b0 >= 0)
    for i in range(2):
        assert cheap_b[g.ti == i].sum() + cheap_b0[i] == pytest.approx(1.0)


def test_jpda_dynamic_programme_equals_enumeration() -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        nt, nm = int(rng.integers(1, 5)), int(rng.integers(1, 6))
        L = rng.uniform(0.0, 5.0, (nt, nm)) * (rng.random((nt, nm)) < 0.7)
        b1, b01 = assoc._jpda_exact(L, 0.1)
        b2, b02 = assoc._jpda_dp(L, 0.1)
        np.testing.assert_allclose(b1, b2, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(b01, b02, rtol=1e-12, atol=1e-15)


def test_gnn_per_cluster_equals_one_global_assignment() -> None:
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(12)
    n, m = 250, 300
    pos = rng.uniform(0, 20_000, (n, 3)) * [1, 1, 0.05]
    Ppos = np.broadcast_to(np.eye(3) * 90_000.0, (n, 3, 3)).copy()
    z = np.vstack(
        [pos + rng.normal(size=(n, 3)) * 200, rng.uniform(0, 20_000, (m - n, 3)) * [1, 1, 0.05]]
    )
    R = np.broadcast_to(np.eye(3) * 10_000.0, (m, 3, 3)).copy()
    g = assoc.gate(pos, Ppos, z, R, 16.27)
    assert n * m > assoc.DENSE_LIMIT and np.max(np.bincount(g.ti)) > 1  # clusters, not singletons
    t, mm = assoc.gnn(n, m, g)
    mat = np.full((n, m), assoc.UNASSIGNED_COST)
    mat[g.ti, g.mj] = g.cost
    r, c = linear_sum_assignment(mat)
    ok = mat[r, c] < assoc.UNASSIGNED_COST
    assert len(t) == int(ok.sum())
    assert mat[t, mm].sum() == pytest.approx(mat[r[ok], c[ok]].sum(), rel=1e-12)
