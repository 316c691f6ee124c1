"""Motion models and batched Kalman / IMM kernels over struct-of-arrays track states.

Frame: local east-north-up metres (see :mod:`skywarden.geo`). State per track and model:
``x = [e, n, u, ve, vn, vu]`` (m, m/s). Measurements are positions, ``H = [I3 0]``.

Shapes (N tracks, r motion models, d = 6):

* Kalman kernels: ``x (N, 6)``, ``P (N, 6, 6)``, ``z (N, 3)``, ``R (N, 3, 3)``.
* IMM kernels: ``xm (N, r, 6)``, ``Pm (N, r, 6, 6)``, ``mu (N, r)`` mode probabilities.

Every kernel has a plain one-track twin (``*_one``) written straight from the textbook; the
tests demand that both agree to 1e-9, so the batched code cannot silently drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

D = 6  # state dimension
LOG_2PI_3 = 3.0 * math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- motion models


def cv_transition(dt: float) -> FloatArray:
    """Constant velocity: ``p' = p + dt v``, ``v' = v``. Returns (6, 6)."""
    F = np.eye(D)
    F[0, 3] = F[1, 4] = F[2, 5] = dt
    return F


def ct_transition(dt: float, omega: float) -> FloatArray:
    """Coordinated turn in the horizontal plane at a known rate ``omega`` (rad/s, counter-clockwise
    seen from above, i.e. a left turn), constant velocity vertically. Returns (6, 6).

    ``e' = e + sin(wT)/w ve - (1-cos(wT))/w vn``; ``ve' = cos(wT) ve - sin(wT) vn`` and the
    symmetric pair for north. As ``w -> 0`` it tends to :func:`cv_transition`.
    """
    if abs(omega) < 1e-9:
        return cv_transition(dt)
    s, c = math.sin(omega * dt), math.cos(omega * dt)
    F = np.eye(D)
    F[0, 3], F[0, 4] = s / omega, -(1.0 - c) / omega
    F[1, 3], F[1, 4] = (1.0 - c) / omega, s / omega
    F[3, 3], F[3, 4] = c, -s
    F[4, 3], F[4, 4] = s, c
    F[2, 5] = dt
    return F


def white_accel_noise(dt: float, q_h: float, q_v: float) -> FloatArray:
    """Continuous white-noise acceleration, integrated over ``dt`` (s). Returns (6, 6).

    Per axis with spectral density q (m^2/s^3): ``Q = q [[dt^3/3, dt^2/2], [dt^2/2, dt]]``.
    Being the exact integral, predicting over dt1 then dt2 equals predicting over dt1 + dt2,
    which matters because sensors scan asynchronously.
    """
    Q = np.zeros((D, D))
    for axis, q in ((0, q_h), (1, q_h), (2, q_v)):
        Q[axis, axis] = q * dt**3 / 3.0
        Q[axis, axis + 3] = Q[axis + 3, axis] = q * dt**2 / 2.0
        Q[axis + 3, axis + 3] = q * dt
    return Q


@dataclass(frozen=True)
class MotionModel:
    """One IMM mode: a turn rate (0 = constant velocity) and its process noise."""

    name: str
    omega: float  # rad/s, + = left turn
    q_h: float  # horizontal acceleration spectral density, m^2/s^3
    q_v: float  # vertical, m^2/s^3

    def F(self, dt: float) -> FloatArray:
        return ct_transition(dt, self.omega)

    def Q(self, dt: float) -> FloatArray:
        return white_accel_noise(dt, self.q_h, self.q_v)


def markov_matrix(r: int, dt: float, sojourn_s: float) -> FloatArray:
    """Mode transition probabilities over ``dt`` for a mean mode sojourn ``sojourn_s`` (s).

    ``pi_ii = exp(-dt/tau)``, the rest spread evenly; with asynchronous scans dt varies, so a
    fixed per-step matrix would make the switching rate depend on how many sensors look.
    """
    if r == 1:
        return np.ones((1, 1))
    stay = math.exp(-max(dt, 0.0) / sojourn_s)
    Pi = np.full((r, r), (1.0 - stay) / (r - 1))
    np.fill_diagonal(Pi, stay)
    return Pi


# --------------------------------------------------------------------------- Kalman kernels


def kf_predict(
    x: FloatArray, P: FloatArray, F: FloatArray, Q: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``x' = F x``, ``P' = F P F' + Q``. x (..., 6), P (..., 6, 6), F and Q broadcast (..., 6, 6)."""
    xp = np.einsum("...ij,...j->...i", F, x)
    Pp = F @ P @ np.swapaxes(F, -1, -2) + Q
    return xp, Pp


def kf_update(
    x: FloatArray, P: FloatArray, z: FloatArray, R: FloatArray, joseph: bool = False
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Position update of many tracks, each with its own measurement.

    x (..., 6), P (..., 6, 6), z (..., 3), R (..., 3, 3) -> (x', P', loglik (...)).
    ``y = z - Hx``, ``S = H P H' + R``, ``K = P H' S^-1``, ``x' = x + K y``,
    ``P' = P - K (P H')'`` symmetrised. With the optimal gain this equals the Joseph form
    ``(I-KH) P (I-KH)' + K R K'`` and costs a third of it; ``joseph=True`` computes the Joseph
    form instead (the one-track reference always does, and the twin test holds both to 1e-9,
    even for a fresh track whose velocity variance is 10^4 times its position variance).
    ``loglik = log N(y; 0, S)``, the model likelihood the IMM needs.
    """
    y = z - x[..., :3]
    S = P[..., :3, :3] + R
    Si, det = inv3_sym(S)
    PHt = P[..., :, :3]
    K = PHt @ Si
    xn = x + (K @ y[..., None])[..., 0]
    A = P - K @ np.swapaxes(PHt, -1, -2)
    if joseph:
        # (I-KH)P(I-KH)' = A - A H' K', since A = (I-KH)P
        Kt = np.swapaxes(K, -1, -2)
        A = A - A[..., :, :3] @ Kt + K @ R @ Kt
    Pn = 0.5 * (A + np.swapaxes(A, -1, -2))
    d2 = (y[..., None, :] @ Si @ y[..., :, None])[..., 0, 0]
    return xn, Pn, -0.5 * (d2 + np.log(det) + LOG_2PI_3)


def inv3_sym(S: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse and determinant of symmetric positive definite 3x3 matrices (..., 3, 3) by
    cofactors: one vectorised expression instead of a LAPACK call per matrix."""
    a, b, c = S[..., 0, 0], S[..., 0, 1], S[..., 0, 2]
    d, e, f = S[..., 1, 1], S[..., 1, 2], S[..., 2, 2]
    A = d * f - e * e
    B = c * e - b * f
    C = b * e - c * d
    det = np.maximum(a * A + b * B + c * C, 1e-300)
    inv = np.empty_like(S)
    inv[..., 0, 0] = A
    inv[..., 0, 1] = inv[..., 1, 0] = B
    inv[..., 0, 2] = inv[..., 2, 0] = C
    inv[..., 1, 1] = a * f - c * c
    inv[..., 1, 2] = inv[..., 2, 1] = b * c - a * e
    inv[..., 2, 2] = a * d - b * b
    return inv / det[..., None, None], det


def kf_predict_one(
    x: FloatArray, P: FloatArray, F: FloatArray, Q: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """One-track reference of :func:`kf_predict`: x (6,), P (6, 6)."""
    return F @ x, F @ P @ F.T + Q


def kf_update_one(
    x: FloatArray, P: FloatArray, z: FloatArray, R: FloatArray
) -> tuple[FloatArray, FloatArray, float]:
    """One-track reference of :func:`kf_update`, with an explicit H."""
    H = np.hstack([np.eye(3), np.zeros((3, 3))])
    y = z - H @ x
    S = H @ P @ H.T + R
    K = P @ H.T @ np.linalg.inv(S)
    I_KH = np.eye(D) - K @ H
    Pn = I_KH @ P @ I_KH.T + K @ R @ K.T
    ll = -0.5 * (y @ np.linalg.solve(S, y) + math.log(np.linalg.det(S)) + LOG_2PI_3)
    return x + K @ y, 0.5 * (Pn + Pn.T), float(ll)


# --------------------------------------------------------------------------- IMM kernels


def imm_mix(
    xm: FloatArray, Pm: FloatArray, mu: FloatArray, Pi: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """IMM interaction step. Returns mixed (x0 (N,r,6), P0 (N,r,6,6)) and ``cbar (N,r)``.

    ``cbar_j = sum_i Pi_ij mu_i``; ``mu_i|j = Pi_ij mu_i / cbar_j``;
    ``x0_j = sum_i mu_i|j x_i``; ``P0_j = sum_i mu_i|j (P_i + (x_i - x0_j)(x_i - x0_j)')``.
    """
    cbar = mu @ Pi
    w = mu[:, :, None] * Pi[None, :, :] / np.maximum(cbar, 1e-300)[:, None, :]  # (N, i, j)
    # Centre on mode 0 first: the spread term is translation invariant, and centring keeps the
    # outer products at metre scale so sum w x x' - x0 x0' loses no precision.
    c = xm[:, :1, :]
    xc = xm - c
    n, r = mu.shape
    second = (Pm + xc[:, :, :, None] * xc[:, :, None, :]).reshape(n, r, D * D)
    wt = np.swapaxes(w, 1, 2)  # (N, j, i)
    x0c = wt @ xc
    P0 = wt @ second
    P0 = P0.reshape(n, r, D, D) - x0c[:, :, :, None] * x0c[:, :, None, :]
    x0 = x0c + c
    return x0, P0, cbar


def imm_predict(
    xm: FloatArray, Pm: FloatArray, mu: FloatArray, F: FloatArray, Q: FloatArray, Pi: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mix then predict each mode with its own model. F, Q (r, 6, 6). Returns (xm, Pm, cbar):
    ``cbar`` are the predicted mode probabilities, the prior the update weighs likelihoods by."""
    x0, P0, cbar = imm_mix(xm, Pm, mu, Pi)
    xp = np.einsum("rij,nrj->nri", F, x0)
    Pp = F[None] @ P0 @ np.swapaxes(F, -1, -2)[None] + Q[None]
    return xp, Pp, cbar


def imm_update(
    xm: FloatArray, Pm: FloatArray, cbar: FloatArray, z: FloatArray, R: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Update every mode with the track's measurement and re-weigh the modes.

    z (N, 3), R (N, 3, 3). ``mu_j = Lambda_j cbar_j / sum_k Lambda_k cbar_k`` (in logs).
    """
    xn, Pn, ll = kf_update(xm, Pm, z[:, None, :], R[:, None, :, :])
    return xn, Pn, _normalise_log(ll + np.log(np.maximum(cbar, 1e-300)))


def _normalise_log(logw: FloatArray) -> FloatArray:
    m = logw.max(axis=-1, keepdims=True)
    w = np.exp(logw - m)
    return np.asarray(w / w.sum(axis=-1, keepdims=True))


def imm_combine(xm: FloatArray, Pm: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Moment-matched output: ``x = sum mu_j x_j``, ``P = sum mu_j (P_j + dx_j dx_j')``."""
    n, r = mu.shape
    c = xm[:, :1, :]
    xc = xm - c
    xbc = np.einsum("nj,njd->nd", mu, xc)
    second = (Pm + xc[:, :, :, None] * xc[:, :, None, :]).reshape(n, r, D * D)
    P = np.einsum("nj,njk->nk", mu, second).reshape(n, D, D) - xbc[:, :, None] * xbc[:, None, :]
    x = xbc + c[:, 0, :]
    return x, P


def imm_step_one(
    xm: FloatArray,
    Pm: FloatArray,
    mu: FloatArray,
    Fs: list[FloatArray],
    Qs: list[FloatArray],
    Pi: FloatArray,
    z: FloatArray | None,
    R: FloatArray | None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """One-track IMM cycle (mix, predict, optional update) with explicit loops: the reference
    for the batched kernels. xm (r, 6), Pm (r, 6, 6), mu (r,)."""
    r = len(mu)
    cbar = np.array([sum(Pi[i, j] * mu[i] for i in range(r)) for j in range(r)])
    x_out, P_out = np.zeros_like(xm), np.zeros_like(Pm)
    for j in range(r):
        w = [Pi[i, j] * mu[i] / cbar[j] for i in range(r)]
        x0 = sum(w[i] * xm[i] for i in range(r))
        P0 = sum(w[i] * (Pm[i] + np.outer(xm[i] - x0, xm[i] - x0)) for i in range(r))
        x_out[j], P_out[j] = kf_predict_one(x0, P0, Fs[j], Qs[j])
    if z is None or R is None:
        return x_out, P_out, cbar
    lik = np.zeros(r)
    for j in range(r):
        x_out[j], P_out[j], ll = kf_update_one(x_out[j], P_out[j], z, R)
        lik[j] = math.exp(ll)
    mu_new = lik * cbar / np.sum(lik * cbar)
    return x_out, P_out, mu_new
