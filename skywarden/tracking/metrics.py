"""Multi-target tracking metrics over arrays: GOSPA, identity switches, time to confirm,
classification.

Every function is a pure function of numpy arrays given per time step k = 0..K-1:

- ``truth_x[k]``  (T_k, d) float, truth positions (any metric frame, e.g. ENU metres),
- ``truth_ids[k]`` (T_k,) int, stable truth identities,
- ``est_x[k]``    (N_k, d) float, track estimates in the same frame and units,
- ``est_ids[k]``  (N_k,) int, track identities as the tracker reports them,
- ``times``       (K,) float seconds, strictly increasing.

The caller decides what a step contains: truths only while they are inside sensor coverage (so
"first appearance" means first appearance inside coverage), estimates only for the tracks it
wants judged (confirmed tracks).

GOSPA (Rahmathullah, García-Fernández, Svensson 2017, "Generalized optimal sub-pattern
assignment metric"), for truths X = {x_1..x_m}, estimates Y = {y_1..y_n}, exponent p >= 1,
cutoff c > 0 and alpha = 2:

    d_p^(c,2)(X, Y) = ( min_{gamma} [ sum_{(i,j) in gamma} d(x_i, y_j)^p
                                      + c^p/2 (|X| - |gamma|) + c^p/2 (|Y| - |gamma|) ] )^(1/p)

where gamma ranges over partial one-to-one assignments whose pairs satisfy d(x_i, y_j) < c.
With alpha = 2 the minimum splits into three parts, each in metres^p:

    localisation = sum_{(i,j) in gamma*} d(x_i, y_j)^p
    missed       = c^p/2 * (number of truths left unassigned)
    false        = c^p/2 * (number of estimates left unassigned)

Because leaving a pair unassigned costs c^p/2 + c^p/2 = c^p, the optimum equals a linear
assignment with cost min(d, c)^p in which pairs at cost c^p count as unassigned. Pairs closer
than c form a sparse bipartite graph; its connected components are independent assignment
problems, solved each with ``scipy.optimize.linear_sum_assignment``. This keeps thousands of
targets per step cheap and gives exactly the optimum of the dense problem.

The same optimal assignment (with the cutoff) is the association used for identity switches,
time to confirm and classification scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = [
    "LABELS",
    "Assignment",
    "ClassificationScore",
    "GospaParts",
    "GospaSeries",
    "IdentitySwitches",
    "TrackingScore",
    "assign",
    "classification_after",
    "confusion_matrix",
    "evaluate",
    "gospa",
    "gospa_series",
    "identity_switches",
    "time_to_confirm",
]

#: Classification labels, in the row/column order of :func:`confusion_matrix`.
LABELS: tuple[str, ...] = ("drone", "bird", "manned_aircraft", "unknown")


@dataclass(frozen=True, slots=True)
class Assignment:
    """Optimal GOSPA assignment of one time step.

    ``truth`` (A,) and ``est`` (A,) are row indices into that step's truth and estimate
    arrays, sorted by ``truth``; ``dist`` (A,) is d(x_truth, y_est) < c, in input units.
    """

    truth: np.ndarray
    est: np.ndarray
    dist: np.ndarray


@dataclass(frozen=True, slots=True)
class GospaParts:
    """GOSPA of one step (alpha = 2): parts in units^p, ``distance`` in units."""

    distance: float
    localisation: float
    missed: float
    false: float
    n_assigned: int
    n_missed: int
    n_false: int

    @property
    def total(self) -> float:
        """localisation + missed + false = distance^p (units^p)."""
        return self.localisation + self.missed + self.false


@dataclass(frozen=True, slots=True)
class GospaSeries:
    """GOSPA per step, (K,) arrays, and their means over the K steps."""

    distance: np.ndarray
    localisation: np.ndarray
    missed: np.ndarray
    false: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """(K,) localisation + missed + false (units^p)."""
        total: np.ndarray = self.localisation + self.missed + self.false
        return total

    def mean(self) -> dict[str, float]:
        """Means over steps: distance (units), localisation/missed/false/total (units^p)."""
        if self.distance.size == 0:
            nan = float("nan")
            return {"distance": nan, "localisation": nan, "missed": nan, "false": nan,
                    "total": nan}
        return {
            "distance": float(self.distance.mean()),
            "localisation": float(self.localisation.mean()),
            "missed": float(self.missed.mean()),
            "false": float(self.false.mean()),
            "total": float(self.total.mean()),
        }


@dataclass(frozen=True, slots=True)
class IdentitySwitches:
    """Identity switches: ``total`` and the count per truth id (truths with none omitted)."""

    total: int
    per_truth: dict[int, int]


@dataclass(frozen=True, slots=True)
class ClassificationScore:
    """Class of each judged track at its first associated step at least ``min_age_s`` old.

    ``fraction`` = n_correct / n_tracks (nan when no track qualifies).
    """

    fraction: float
    n_correct: int
    n_tracks: int


@dataclass(frozen=True, slots=True)
class TrackingScore:
    """Everything :func:`evaluate` measures over one run."""

    gospa: GospaSeries
    switches: IdentitySwitches
    confirm_s: dict[int, float]
    n_truths: int
    confusion: np.ndarray | None = None
    classification: ClassificationScore | None = None
    assignments: list[Assignment] = field(default_factory=list)  # per step, for diagnostics

    @property
    def confirmed_fraction(self) -> float:
        """Share of truths that ever got a track assigned."""
        return len(self.confirm_s) / self.n_truths if self.n_truths else float("nan")


# ---------------------------------------------------------------------------------------------
# Assignment


def _as_points(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains non-finite values")
    return a


def _check_cutoff(c: float, p: float) -> None:
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"cutoff c must be positive and finite, got {c}")
    if not (np.isfinite(p) and p >= 1):
        raise ValueError(f"exponent p must be >= 1, got {p}")


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


def assign(truth_x: np.ndarray, est_x: np.ndarray, *, c: float, p: float = 2.0) -> Assignment:
    """Optimal GOSPA assignment of one step with cutoff c.

    Minimises sum_{(i,j) in gamma} min(d_ij, c)^p + c^p (unassigned pairs) over one-to-one
    gamma; only pairs with d_ij < c are kept. ``truth_x`` (T, d), ``est_x`` (N, d), same units.
    """
    _check_cutoff(c, p)
    tx = _as_points(truth_x, "truth_x")
    ex = _as_points(est_x, "est_x")
    if tx.shape[1] != ex.shape[1] and tx.shape[0] and ex.shape[0]:
        raise ValueError(f"truth_x is {tx.shape[1]}-D but est_x is {ex.shape[1]}-D")
    n_t, n_e = tx.shape[0], ex.shape[0]
    if n_t == 0 or n_e == 0:
        return Assignment(_EMPTY_I, _EMPTY_I, _EMPTY_F)

    # Candidate pairs: d_ij < c (pairs at d >= c cost as much as leaving both unassigned).
    pairs = cKDTree(tx).sparse_distance_matrix(cKDTree(ex), c, output_type="ndarray")
    keep = pairs["v"] < c
    ti = pairs["i"][keep].astype(np.int64)
    ej = pairs["j"][keep].astype(np.int64)
    dv = pairs["v"][keep].astype(np.float64)
    if ti.size == 0:
        return Assignment(_EMPTY_I, _EMPTY_I, _EMPTY_F)

    # Components of the bipartite graph (truth nodes 0..T-1, estimate nodes T..T+N-1).
    graph = coo_matrix((np.ones(ti.size), (ti, ej + n_t)), shape=(n_t + n_e, n_t + n_e))
    _, label = connected_components(graph, directed=False)
    comp = label[ti]
    edges_per_comp = np.bincount(comp, minlength=label.max() + 1)

    single = edges_per_comp[comp] == 1  # a lone pair closer than c is always assigned
    out_t = [ti[single]]
    out_e = [ej[single]]
    out_d = [dv[single]]

    multi = ~single
    if np.any(multi):
        mt, me, md, mc = ti[multi], ej[multi], dv[multi], comp[multi]
        order = np.argsort(mc, kind="stable")
        mt, me, md, mc = mt[order], me[order], md[order], mc[order]
        starts = np.flatnonzero(np.r_[True, mc[1:] != mc[:-1]])
        ends = np.r_[starts[1:], mc.size]
        cp = c**p
        for s, e in zip(starts, ends, strict=True):
            rows, r_inv = np.unique(mt[s:e], return_inverse=True)
            cols, c_inv = np.unique(me[s:e], return_inverse=True)
            # cost = min(d, c)^p; absent pairs are at the cutoff
            cost = np.full((rows.size, cols.size), cp)
            cost[r_inv, c_inv] = md[s:e] ** p
            r, k = linear_sum_assignment(cost)
            ok = cost[r, k] < cp
            r, k = r[ok], k[ok]
            dist = np.zeros((rows.size, cols.size))
            dist[r_inv, c_inv] = md[s:e]
            out_t.append(rows[r])
            out_e.append(cols[k])
            out_d.append(dist[r, k])

    t_all = np.concatenate(out_t)
    e_all = np.concatenate(out_e)
    d_all = np.concatenate(out_d)
    order = np.argsort(t_all, kind="stable")
    return Assignment(t_all[order], e_all[order], d_all[order])


def _assign_all(
    truth_x: Sequence[np.ndarray], est_x: Sequence[np.ndarray], c: float, p: float
) -> list[Assignment]:
    if len(truth_x) != len(est_x):
        raise ValueError(f"{len(truth_x)} truth steps but {len(est_x)} estimate steps")
    return [assign(t, e, c=c, p=p) for t, e in zip(truth_x, est_x, strict=True)]


# ---------------------------------------------------------------------------------------------
# GOSPA


def gospa(
    truth_x: np.ndarray,
    est_x: np.ndarray,
    *,
    c: float,
    p: float = 2.0,
    alpha: float = 2.0,
    assignment: Assignment | None = None,
) -> GospaParts:
    """GOSPA of one step, alpha = 2, split into localisation, missed and false parts.

    localisation = sum_{gamma*} d^p;  missed = c^p/2 * (T - |gamma*|);
    false = c^p/2 * (N - |gamma*|);  distance = (localisation + missed + false)^(1/p).
    ``truth_x`` (T, d), ``est_x`` (N, d): same units; parts come out in units^p.
    """
    if alpha != 2.0:
        raise ValueError("only alpha = 2 splits into localisation, missed and false parts")
    _check_cutoff(c, p)
    tx = _as_points(truth_x, "truth_x")
    ex = _as_points(est_x, "est_x")
    a = assignment if assignment is not None else assign(tx, ex, c=c, p=p)
    n_a = int(a.truth.size)
    n_m = tx.shape[0] - n_a
    n_f = ex.shape[0] - n_a
    loc = float(np.sum(a.dist**p))
    half = c**p / 2.0
    missed = half * n_m
    false = half * n_f
    return GospaParts(
        distance=float((loc + missed + false) ** (1.0 / p)),
        localisation=loc,
        missed=missed,
        false=false,
        n_assigned=n_a,
        n_missed=n_m,
        n_false=n_f,
    )


def gospa_series(
    truth_x: Sequence[np.ndarray],
    est_x: Sequence[np.ndarray],
    *,
    c: float,
    p: float = 2.0,
    assignments: Sequence[Assignment] | None = None,
) -> GospaSeries:
    """GOSPA at every step (alpha = 2); ``.mean()`` averages each part over the K steps."""
    asg = assignments if assignments is not None else _assign_all(truth_x, est_x, c, p)
    parts = [
        gospa(t, e, c=c, p=p, assignment=a)
        for t, e, a in zip(truth_x, est_x, asg, strict=True)
    ]
    return GospaSeries(
        distance=np.array([g.distance for g in parts], dtype=np.float64),
        localisation=np.array([g.localisation for g in parts], dtype=np.float64),
        missed=np.array([g.missed for g in parts], dtype=np.float64),
        false=np.array([g.false for g in parts], dtype=np.float64),
    )


# ---------------------------------------------------------------------------------------------
# Identity, confirmation, classification


def _ids(a: np.ndarray, n: int, name: str) -> np.ndarray:
    ids = np.asarray(a)
    if ids.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {ids.shape}")
    return ids.astype(np.int64, copy=False)


def _pairs(
    truth_ids: Sequence[np.ndarray],
    truth_x: Sequence[np.ndarray],
    est_ids: Sequence[np.ndarray],
    est_x: Sequence[np.ndarray],
    c: float,
    p: float,
    assignments: Sequence[Assignment] | None,
) -> list[tuple[np.ndarray, np.ndarray, Assignment]]:
    """Per step: (truth ids, estimate ids, assignment), shapes checked."""
    k = len(truth_ids)
    if not (len(truth_x) == len(est_ids) == len(est_x) == k):
        raise ValueError("truth_ids, truth_x, est_ids and est_x must have one entry per step")
    asg = assignments if assignments is not None else _assign_all(truth_x, est_x, c, p)
    if len(asg) != k:
        raise ValueError(f"{len(asg)} assignments for {k} steps")
    out = []
    for tid, tx, eid, ex, a in zip(truth_ids, truth_x, est_ids, est_x, asg, strict=True):
        out.append((_ids(tid, len(tx), "truth_ids[k]"), _ids(eid, len(ex), "est_ids[k]"), a))
    return out


def identity_switches(
    truth_ids: Sequence[np.ndarray],
    truth_x: Sequence[np.ndarray],
    est_ids: Sequence[np.ndarray],
    est_x: Sequence[np.ndarray],
    *,
    c: float,
    p: float = 2.0,
    assignments: Sequence[Assignment] | None = None,
) -> IdentitySwitches:
    """Count changes of the track id assigned to each truth over time.

    For truth i let a_i(k) be the id of the estimate assigned to it at step k (GOSPA
    assignment with cutoff c), undefined where it has none. A switch is a step k where
    a_i(k) is defined and differs from the last defined a_i(k' < k):

        switches = sum_i #{k : a_i(k) != a_i(last k' < k with a_i defined)}

    A gap (no track for a while) is not a switch; coming back under a new id is one.
    """
    last: dict[int, int] = {}
    per: dict[int, int] = {}
    for tid, eid, a in _pairs(truth_ids, truth_x, est_ids, est_x, c, p, assignments):
        for t_id, e_id in zip(tid[a.truth].tolist(), eid[a.est].tolist(), strict=True):
            prev = last.get(t_id)
            if prev is not None and prev != e_id:
                per[t_id] = per.get(t_id, 0) + 1
            last[t_id] = e_id
    return IdentitySwitches(total=sum(per.values()), per_truth=dict(sorted(per.items())))


def _check_times(times: np.ndarray, k: int) -> np.ndarray:
    t = np.asarray(times, dtype=np.float64)
    if t.shape != (k,):
        raise ValueError(f"times must have shape ({k},), got {t.shape}")
    if k > 1 and not np.all(np.diff(t) > 0):
        raise ValueError("times must be strictly increasing")
    return t


def time_to_confirm(
    times: np.ndarray,
    truth_ids: Sequence[np.ndarray],
    truth_x: Sequence[np.ndarray],
    est_ids: Sequence[np.ndarray],
    est_x: Sequence[np.ndarray],
    *,
    c: float,
    p: float = 2.0,
    assignments: Sequence[Assignment] | None = None,
) -> dict[int, float]:
    """Seconds from each truth's first appearance to its first assigned track.

        ttc_i = min{t_k : truth i assigned at step k} - min{t_k : truth i present at step k}

    Give truths only while inside sensor coverage, and only confirmed tracks as estimates, so
    this is "first confirmed track minus first appearance in coverage". Truths never assigned
    are absent from the result (keys sorted).
    """
    steps = _pairs(truth_ids, truth_x, est_ids, est_x, c, p, assignments)
    t = _check_times(times, len(steps))
    first_seen: dict[int, float] = {}
    confirmed: dict[int, float] = {}
    for tk, (tid, _eid, a) in zip(t.tolist(), steps, strict=True):
        for i in tid.tolist():
            first_seen.setdefault(i, tk)
        for i in tid[a.truth].tolist():
            confirmed.setdefault(i, tk)
    return {i: confirmed[i] - first_seen[i] for i in sorted(confirmed)}


def _label_index(cls: np.ndarray, labels: Sequence[str], name: str) -> np.ndarray:
    lut = {lab: n for n, lab in enumerate(labels)}
    try:
        return np.array([lut[str(v)] for v in np.asarray(cls).tolist()], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"{name} holds label {exc.args[0]!r}, not one of {tuple(labels)}") from None


def confusion_matrix(
    truth_cls: np.ndarray, est_cls: np.ndarray, labels: Sequence[str] = LABELS
) -> np.ndarray:
    """Counts M[i, j] = #{pairs with truth label labels[i] and estimated label labels[j]}.

    ``truth_cls`` and ``est_cls`` (A,) str, one entry per associated (truth, track) pair;
    returns (L, L) int64, rows truth, columns estimate. Unknown labels raise ValueError.
    """
    tc = np.asarray(truth_cls)
    ec = np.asarray(est_cls)
    if tc.shape != ec.shape or tc.ndim != 1:
        raise ValueError(f"truth_cls {tc.shape} and est_cls {ec.shape} must be equal (A,)")
    n = len(labels)
    ti = _label_index(tc, labels, "truth_cls")
    ei = _label_index(ec, labels, "est_cls")
    return np.bincount(ti * n + ei, minlength=n * n).reshape(n, n).astype(np.int64)


def classification_after(
    times: np.ndarray,
    truth_ids: Sequence[np.ndarray],
    truth_x: Sequence[np.ndarray],
    truth_cls: Sequence[np.ndarray],
    est_ids: Sequence[np.ndarray],
    est_x: Sequence[np.ndarray],
    est_cls: Sequence[np.ndarray],
    *,
    c: float,
    p: float = 2.0,
    min_age_s: float = 10.0,
    assignments: Sequence[Assignment] | None = None,
) -> ClassificationScore:
    """Fraction of tracks correctly classified once ``min_age_s`` old.

    A track's age at step k is t_k - (first step its id appears among the estimates). Each
    track is judged once, at its first step with age >= min_age_s at which it is assigned to
    a truth: correct when its class equals that truth's class.

        fraction = #{judged tracks with est_cls == truth_cls} / #{judged tracks}
    """
    steps = _pairs(truth_ids, truth_x, est_ids, est_x, c, p, assignments)
    t = _check_times(times, len(steps))
    if not (len(truth_cls) == len(est_cls) == len(steps)):
        raise ValueError("truth_cls and est_cls must have one entry per step")
    born: dict[int, float] = {}
    judged: dict[int, bool] = {}
    for tk, (tid, eid, a), tc, ec in zip(t.tolist(), steps, truth_cls, est_cls, strict=True):
        tc_a = np.asarray(tc)
        ec_a = np.asarray(ec)
        if tc_a.shape != tid.shape or ec_a.shape != eid.shape:
            raise ValueError("truth_cls[k] / est_cls[k] must match truth_ids[k] / est_ids[k]")
        for j in eid.tolist():
            born.setdefault(j, tk)
        for ti, ej in zip(a.truth.tolist(), a.est.tolist(), strict=True):
            e_id = int(eid[ej])
            if e_id in judged or tk - born[e_id] < min_age_s:
                continue
            judged[e_id] = str(ec_a[ej]) == str(tc_a[ti])
    n = len(judged)
    k = sum(judged.values())
    return ClassificationScore(fraction=k / n if n else float("nan"), n_correct=k, n_tracks=n)


# ---------------------------------------------------------------------------------------------
# One call for a whole run


def evaluate(
    times: np.ndarray,
    truth_ids: Sequence[np.ndarray],
    truth_x: Sequence[np.ndarray],
    est_ids: Sequence[np.ndarray],
    est_x: Sequence[np.ndarray],
    *,
    c: float,
    p: float = 2.0,
    truth_cls: Sequence[np.ndarray] | None = None,
    est_cls: Sequence[np.ndarray] | None = None,
    min_age_s: float = 10.0,
    labels: Sequence[str] = LABELS,
) -> TrackingScore:
    """GOSPA series, identity switches, time to confirm and (with classes) the confusion
    matrix over all associated (truth, track) pairs of all steps and the after-``min_age_s``
    score, all from one assignment per step (returned too, for further diagnostics)."""
    asg = _assign_all(truth_x, est_x, c, p)
    series = gospa_series(truth_x, est_x, c=c, p=p, assignments=asg)
    sw = identity_switches(truth_ids, truth_x, est_ids, est_x, c=c, p=p, assignments=asg)
    ttc = time_to_confirm(times, truth_ids, truth_x, est_ids, est_x, c=c, p=p, assignments=asg)
    n_truths = len(np.unique(np.concatenate([np.asarray(i, dtype=np.int64) for i in truth_ids])))\
        if len(truth_ids) else 0
    conf = None
    score = None
    if truth_cls is not None and est_cls is not None:
        tc_all = [np.asarray(tc)[a.truth] for tc, a in zip(truth_cls, asg, strict=True)]
        ec_all = [np.asarray(ec)[a.est] for ec, a in zip(est_cls, asg, strict=True)]
        conf = confusion_matrix(
            np.concatenate(tc_all) if tc_all else np.zeros(0, dtype=str),
            np.concatenate(ec_all) if ec_all else np.zeros(0, dtype=str),
            labels,
        )
        score = classification_after(
            times, truth_ids, truth_x, truth_cls, est_ids, est_x, est_cls,
            c=c, p=p, min_age_s=min_age_s, assignments=asg,
        )
    return TrackingScore(
        gospa=series, switches=sw, confirm_s=ttc, n_truths=n_truths,
        confusion=conf, classification=score, assignments=asg,
    )
