"""Gating, clustering and data association over arrays.

* :func:`gate` finds the (track, measurement) pairs whose innovation passes a chi-square test.
  A coarse Euclidean pre-gate (a KD-tree on the measurements for large scans, a dense distance
  table for small ones) bounds the candidates before the Mahalanobis distance is computed, so
  the cost grows with the number of plausible pairs, not with tracks x measurements.
* :func:`clusters` splits the gated bipartite graph into connected components.
* :func:`gnn` solves global nearest neighbour per component with
  ``scipy.optimize.linear_sum_assignment``; one-to-one components skip the solver.
* :func:`jpda` computes joint probabilistic association weights per component: closed form for
  uncontested tracks, dynamic programming over plot sets (exact) for contested components,
  Fitzgerald's "cheap JPDA" for very large ones.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# scipy and the compiled kernels are imported where they are used: a tracker that only predicts
# and deletes (a tick without plots) imports this module and need not load them

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DENSE_LIMIT = 20_000  # tracks x measurements below which a dense distance table beats a KD-tree
GATE_GROUPS = 4  # plot groups by precision for the KD-tree pre-gate
UNASSIGNED_COST = 1e9  # cost of a pair outside the gate inside a cluster's cost matrix


@dataclass(frozen=True)
class Gated:
    """The pairs that passed the gate. All arrays (K,), track and measurement indices local
    to the arrays given to :func:`gate`."""

    ti: IntArray
    mj: IntArray
    d2: FloatArray  # squared Mahalanobis distance of the innovation
    logdet: FloatArray  # log |S|, S = H P H' + R

    @property
    def cost(self) -> FloatArray:
        """Negative log-likelihood up to a constant: ``d2 + log|S|`` (a tight, sure pair beats a
        loose one at equal Mahalanobis distance)."""
        return self.d2 + self.logdet


def gate(
    pos: FloatArray, Ppos: FloatArray, z: FloatArray, R: FloatArray, threshold: float
) -> Gated:
    """Chi-square gate of n predicted positions against m measurements.

    pos (n, 3) m, Ppos (n, 3, 3) m^2 predicted position covariance, z (m, 3), R (m, 3, 3);
    ``threshold`` on ``d2 = y' S^-1 y`` (3 degrees of freedom).
    The coarse pre-gate radius of track i is ``sqrt(threshold (tr P_i + max_j tr R_j))`` over
    a group of plots of similar precision: the trace bounds the largest eigenvalue, so no pair
    inside the ellipsoid is missed.
    """
    n, m = len(pos), len(z)
    empty = np.zeros(0, dtype=np.int64)
    if n == 0 or m == 0:
        return Gated(empty, empty, np.zeros(0), np.zeros(0))
    if n * m <= DENSE_LIMIT:
        from skywarden.tracking import kernels

        # every pair within the coarse radius, then the chi-square test, in one compiled loop
        return Gated(*kernels.gate_dense(pos, Ppos, z, R, float(threshold)))
    else:
        # Radar plots far from the radar are far less precise than near ones; one radius for
        # all would be set by the worst. Plots are grouped by precision, one tree per group.
        # With many pairs at stake the exact largest eigenvalue pays for itself:
        # lambda_max(P + R) <= lambda_max(P) + lambda_max(R), tighter than the traces.
        from scipy.spatial import cKDTree

        trP = np.asarray(np.linalg.eigvalsh(Ppos)[:, -1], dtype=np.float64)
        trR_all = np.asarray(np.linalg.eigvalsh(R)[:, -1], dtype=np.float64)
        order = np.argsort(trR_all, kind="stable")
        parts_t, parts_m = [], []
        for grp in np.array_split(order, min(GATE_GROUPS, max(1, m // 256))):
            if grp.size == 0:
                continue
            radius = np.sqrt(threshold * (trP + float(trR_all[grp].max())))
            hits = cKDTree(z[grp]).query_ball_point(pos, radius, return_sorted=False)
            counts = np.fromiter(map(len, hits), dtype=np.int64, count=n)
            parts_t.append(np.repeat(np.arange(n, dtype=np.int64), counts))
            local = np.fromiter(
                itertools.chain.from_iterable(hits), dtype=np.int64, count=int(counts.sum())
            )
            parts_m.append(grp[local])
        ti, mj = np.concatenate(parts_t), np.concatenate(parts_m)
        o = np.argsort(ti, kind="stable")  # keep pairs grouped by track
        ti, mj = ti[o], mj[o]
    ti = ti.astype(np.int64, copy=False)
    mj = mj.astype(np.int64, copy=False)
    if ti.size == 0:
        return Gated(empty, empty, np.zeros(0), np.zeros(0))
    y = z[mj] - pos[ti]
    S = Ppos[ti] + R[mj]
    d2, logdet = _mahalanobis3(y, S)
    keep = d2 <= threshold
    return Gated(ti[keep], mj[keep], d2[keep], logdet[keep])


def _mahalanobis3(y: FloatArray, S: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``y' S^-1 y`` and ``log|S|`` for K symmetric 3x3 matrices, by cofactors (no LAPACK call
    per pair). y (K, 3), S (K, 3, 3)."""
    a, b, c = S[:, 0, 0], S[:, 0, 1], S[:, 0, 2]
    d, e, f = S[:, 1, 1], S[:, 1, 2], S[:, 2, 2]
    A = d * f - e * e
    B = c * e - b * f
    C = b * e - c * d
    det = a * A + b * B + c * C
    Dd = a * f - c * c
    E = b * c - a * e
    Fm = a * d - b * b
    y0, y1, y2 = y[:, 0], y[:, 1], y[:, 2]
    q = A * y0 * y0 + Dd * y1 * y1 + Fm * y2 * y2 + 2 * (B * y0 * y1 + C * y0 * y2 + E * y1 * y2)
    det = np.maximum(det, 1e-300)
    return q / det, np.log(det)


def clusters(n: int, m: int, ti: IntArray, mj: IntArray) -> IntArray:
    """Connected component label of every gated pair (K,), over the bipartite graph of n
    tracks and m measurements."""
    if ti.size == 0:
        return np.zeros(0, dtype=np.int64)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(ti.size), (ti, n + mj)), shape=(n + m, n + m))
    _, labels = connected_components(g, directed=False)
    return np.asarray(labels[ti], dtype=np.int64)


def gnn(n: int, m: int, g: Gated, bias: FloatArray | None = None) -> tuple[IntArray, IntArray]:
    """Global nearest neighbour: the assignment that uses as many gated pairs as possible and,
    among those, minimises the summed cost, solved per cluster.

    ``bias`` (n,) is added to each track's cost (lets one class of tracks yield to another).
    Returns (track indices, measurement indices) of the assigned pairs, sorted by track.
    """
    if g.ti.size == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e
    cost = g.cost if bias is None else g.cost + bias[g.ti]
    nt = np.bincount(g.ti, minlength=n)
    nm = np.bincount(g.mj, minlength=m)
    solo = (nt[g.ti] == 1) & (nm[g.mj] == 1)
    out_t, out_m = [g.ti[solo]], [g.mj[solo]]
    rest = ~solo
    if rest.any() and n * m <= DENSE_LIMIT:
        # small problem: the components are independent, so one dense solve is the same
        # optimum as one per component, and cheaper than finding the components
        ti, mj, c = g.ti[rest], g.mj[rest], cost[rest]
        ut, lt = np.unique(ti, return_inverse=True)
        um, lm = np.unique(mj, return_inverse=True)
        mat = np.full((ut.size, um.size), UNASSIGNED_COST)
        mat[lt, lm] = c
        rows, cols = _assign(mat)
        ok = mat[rows, cols] < UNASSIGNED_COST
        out_t.append(ut[rows[ok]])
        out_m.append(um[cols[ok]])
    elif rest.any():
        ti, mj, c = g.ti[rest], g.mj[rest], cost[rest]
        lab = clusters(n, m, ti, mj)
        order = np.argsort(lab, kind="stable")
        ti, mj, c, lab = ti[order], mj[order], c[order], lab[order]
        # local row/column numbers inside each cluster, for all clusters at once
        ut_all, lt_all = _local_ids(lab, ti)
        um_all, lm_all = _local_ids(lab, mj)
        starts = np.flatnonzero(np.r_[True, np.diff(lab) != 0])
        ends = np.r_[starts[1:], lab.size]
        t_first = np.searchsorted(ut_all[0], lab[starts])  # where each cluster's ids begin
        m_first = np.searchsorted(um_all[0], lab[starts])
        t_count = np.diff(np.r_[t_first, ut_all[0].size])
        m_count = np.diff(np.r_[m_first, um_all[0].size])
        for k in range(starts.size):
            a, b = starts[k], ends[k]
            mat = np.full((t_count[k], m_count[k]), UNASSIGNED_COST)
            mat[lt_all[a:b], lm_all[a:b]] = c[a:b]
            rows, cols = _assign(mat)
            ok = mat[rows, cols] < UNASSIGNED_COST
            out_t.append(ut_all[1][t_first[k] + rows[ok]])
            out_m.append(um_all[1][m_first[k] + cols[ok]])
    at, am = np.concatenate(out_t), np.concatenate(out_m)
    order = np.argsort(at, kind="stable")
    return at[order], am[order]


def _assign(cost: FloatArray) -> tuple[IntArray, IntArray]:
    """``scipy.optimize.linear_sum_assignment``, imported on the first contested cluster (scipy.
    optimize is a large import that a scan of one-to-one pairs never needs)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(cost)
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


def _local_ids(lab: IntArray, ids: IntArray) -> tuple[tuple[IntArray, IntArray], IntArray]:
    """Number the distinct ids within each label 0, 1, 2... (labels sorted ascending).

    Returns ((label, id) of each distinct pair, sorted) and each entry's local number."""
    key = np.stack([lab, ids])
    uniq, inv = np.unique(key, axis=1, return_inverse=True)
    inv = inv.reshape(-1)
    first = np.searchsorted(uniq[0], uniq[0], side="left")  # index of the label's first pair
    local = np.arange(uniq.shape[1]) - first
    return (uniq[0], uniq[1]), local[inv]


def jpda(
    n: int,
    m: int,
    g: Gated,
    p_detect: float,
    clutter_density: float,
    max_exact_plots: int = 16,
    max_sets: int = 20_000,
) -> tuple[FloatArray, FloatArray]:
    """Joint probabilistic data association weights.

    Pair likelihood ``L = p_D N(y; 0, S) / lambda`` (lambda: clutter density per m^3) against
    ``1 - p_D`` for a missed detection. A track no other track competes with has the closed
    form ``beta_j = L_j / (1 - p_D + sum L)``; components with at most ``max_exact_plots``
    plots get the exact marginals over every feasible joint event (each measurement to at
    most one track) by dynamic programming over the sets of plots taken; bigger ones use
    ``beta_ij = G_ij / (G_i. + G_.j - G_ij + B)`` (Fitzgerald 1990, "cheap JPDA").
    Returns ``beta (K,)`` per gated pair and ``beta0 (n,)`` the probability that track i was
    not detected (1 for tracks with no gated pair).
    """
    beta = np.zeros(g.ti.size)
    beta0 = np.ones(n)
    if g.ti.size == 0:
        return beta, beta0
    lik = (
        p_detect
        * np.exp(-0.5 * (g.d2 + g.logdet) - 0.5 * 3 * math.log(2 * math.pi))
        / clutter_density
    )
    miss = 1.0 - p_detect
    # a track whose plots no other track gates: beta_j = L_j / (1 - pD + sum L), closed form
    nm = np.bincount(g.mj, minlength=m)
    shared_plot = nm[g.mj] > 1
    multi = np.zeros(n, dtype=bool)
    multi[g.ti[shared_plot]] = True
    alone = ~multi[g.ti]
    if alone.any():
        tot = np.bincount(g.ti[alone], weights=lik[alone], minlength=n) + miss
        beta[alone] = lik[alone] / tot[g.ti[alone]]
        has = np.bincount(g.ti[alone], minlength=n) > 0
        beta0[has] = miss / tot[has]
    rest = np.flatnonzero(~alone)
    if rest.size == 0:
        return beta, beta0
    lab = clusters(n, m, g.ti[rest], g.mj[rest])
    order = rest[np.argsort(lab, kind="stable")]
    bounds = np.flatnonzero(np.diff(np.sort(lab, kind="stable"))) + 1
    for sl in np.split(order, bounds):
        ut, lt = np.unique(g.ti[sl], return_inverse=True)
        um, lm = np.unique(g.mj[sl], return_inverse=True)
        L = np.zeros((ut.size, um.size))
        L[lt, lm] = lik[sl]
        # the programme visits at most sum_k C(plots, k) plot sets: bound that work
        n_sets = sum(math.comb(um.size, k) for k in range(min(ut.size, um.size) + 1))
        if um.size <= max_exact_plots and n_sets <= max_sets:
            b, b0 = _jpda_dp(L, miss)
        else:
            b, b0 = _jpda_cheap(L, miss)
        beta[sl] = b[lt, lm]
        beta0[ut] = b0
    return beta, beta0


def _jpda_exact(L: FloatArray, miss: float) -> tuple[FloatArray, FloatArray]:
    """Enumerate joint events: track i takes measurement a_i (or none), no measurement twice.
    Event weight ``prod_i (L[i, a_i] if assigned else miss)``; marginals give beta."""
    nt, nm = L.shape
    beta = np.zeros_like(L)
    beta0 = np.zeros(nt)
    total = 0.0
    options = [[-1] + [j for j in range(nm) if L[i, j] > 0] for i in range(nt)]

    def walk(i: int, used: set[int], w: float, chosen: list[int]) -> None:
        nonlocal total
        if i == nt:
            total += w
            for k, j in enumerate(chosen):
                if j < 0:
                    beta0[k] += w
                else:
                    beta[k, j] += w
            return
        for j in options[i]:
            if j < 0:
                walk(i + 1, used, w * miss, [*chosen, j])
            elif j not in used:
                used.add(j)
                walk(i + 1, used, w * L[i, j], [*chosen, j])
                used.discard(j)

    walk(0, set(), 1.0, [])
    return beta / total, beta0 / total


def _jpda_dp(L: FloatArray, miss: float) -> tuple[FloatArray, FloatArray]:
    """The exact JPDA marginals of :func:`_jpda_exact` without listing every joint event.

    Forward over tracks, the state is the set of plots already taken (a bitmask):
    ``f_{i+1}(S) = f_i(S) miss + sum_{j in S} f_i(S - j) L[i, j]``. Backward,
    ``b_i(S)`` is the weight of every way tracks i.. can be given plots outside S. Then
    ``beta_ij = sum_S f_i(S) L[i, j] b_{i+1}(S + j) / total`` over the S without j. The work
    grows with the number of reachable plot sets, not with the number of joint events.
    """
    nt, nm = L.shape
    opts = [[j for j in range(nm) if L[i, j] > 0] for i in range(nt)]
    fwd: list[dict[int, float]] = [{0: 1.0}]
    for i in range(nt):
        nxt: dict[int, float] = {}
        for mask, w in fwd[-1].items():
            nxt[mask] = nxt.get(mask, 0.0) + w * miss
            for j in opts[i]:
                if not mask & (1 << j):
                    k = mask | (1 << j)
                    nxt[k] = nxt.get(k, 0.0) + w * L[i, j]
        fwd.append(nxt)
    total = sum(fwd[nt].values())
    memo: list[dict[int, float]] = [{} for _ in range(nt + 1)]

    def back(i: int, mask: int) -> float:
        if i == nt:
            return 1.0
        hit = memo[i].get(mask)
        if hit is not None:
            return hit
        w = miss * back(i + 1, mask)
        for j in opts[i]:
            if not mask & (1 << j):
                w += L[i, j] * back(i + 1, mask | (1 << j))
        memo[i][mask] = w
        return w

    beta = np.zeros_like(L)
    beta0 = np.zeros(nt)
    for i in range(nt):
        for mask, w in fwd[i].items():
            beta0[i] += w * miss * back(i + 1, mask)
            for j in opts[i]:
                if not mask & (1 << j):
                    beta[i, j] += w * L[i, j] * back(i + 1, mask | (1 << j))
    return beta / total, beta0 / total


def _jpda_cheap(L: FloatArray, miss: float) -> tuple[FloatArray, FloatArray]:
    """Fitzgerald's approximation; rows normalised with the miss hypothesis."""
    row = L.sum(axis=1, keepdims=True)
    col = L.sum(axis=0, keepdims=True)
    b = np.where(L > 0, L / np.maximum(row + col - L + miss, 1e-300), 0.0)
    s = b.sum(axis=1)
    scale = np.where(s > 1.0, 1.0 / s, 1.0)
    b = b * scale[:, None]
    return b, 1.0 - b.sum(axis=1)
