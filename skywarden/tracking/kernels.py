"""Compiled per-scan kernels of the tracker (numba).

A city night holds tens of tracks, and a scan a few dozen plots: there the batched numpy kernels
of :mod:`.filters` and :mod:`.association` spend most of their time in the fixed cost of a few
hundred small array calls per scan, not in arithmetic. These kernels do the same arithmetic in
one compiled loop per step (predict + combine, gate, update + combine, the hit bookkeeping, the
radar conversion). The numpy kernels stay as the readable reference: the tests hold each of these
to them (and so, through them, to the one-track textbook twins).

The formulas follow the numpy kernels' order of operations, without fused multiply-add (numba
does not contract without ``fastmath``); the sums over modes and matrix products run as plain
loops where numpy's einsum and matmul may sum in another order, so a step agrees to about 1e-12
relative (the tests allow 1e-9). Over the default night such differences reach 6e-6 relative in
the pictures' floats and change no event's kind or number.

Compiled on first use and cached beside this file (``cache=True``), so only the first run on a
machine pays the compilation (a few seconds).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from skywarden.tracking.filters import LOG_2PI_3

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_TINY = 1e-300


@njit(cache=True)
def _inv3(
    S00: float, S01: float, S02: float, S11: float, S12: float, S22: float, out: FloatArray
) -> float:
    """Inverse of a symmetric 3x3 matrix by cofactors into ``out`` (3, 3); returns the
    determinant, floored at 1e-300 (as :func:`.filters.inv3_sym`)."""
    A = S11 * S22 - S12 * S12
    B = S02 * S12 - S01 * S22
    C = S01 * S12 - S02 * S11
    det = S00 * A + S01 * B + S02 * C
    if det < _TINY:
        det = _TINY
    out[0, 0] = A / det
    out[0, 1] = out[1, 0] = B / det
    out[0, 2] = out[2, 0] = C / det
    out[1, 1] = (S00 * S22 - S02 * S02) / det
    out[1, 2] = out[2, 1] = (S01 * S02 - S00 * S12) / det
    out[2, 2] = (S00 * S11 - S01 * S01) / det
    return det


@njit(cache=True)
def _moments(Pm_i: FloatArray, xc: FloatArray, w: FloatArray, x_out: FloatArray, P_out: FloatArray) -> None:
    """``x = sum_k w_k xc_k``, ``P = sum_k w_k (P_k + xc_k xc_k') - x x'`` over one track's
    modes k, the states ``xc`` (r, 6) centred on mode 0 (see :func:`.filters.imm_mix`): the
    mixing of one mode (w = mu_k|j) and the combined output (w = mu) alike."""
    r = w.size
    for a in range(6):
        s = 0.0
        for k in range(r):
            s += w[k] * xc[k, a]
        x_out[a] = s
    for a in range(6):
        for b in range(6):
            s = 0.0
            for k in range(r):
                s += w[k] * (Pm_i[k, a, b] + xc[k, a] * xc[k, b])
            P_out[a, b] = s - x_out[a] * x_out[b]


@njit(cache=True)
def _combine_row(xm: FloatArray, Pm: FloatArray, mu: FloatArray, i: int, x: FloatArray, P: FloatArray) -> None:
    """Moment-matched output of track i (as :func:`.filters.imm_combine`), centred on mode 0."""
    r = mu.shape[1]
    xc = np.empty((r, 6))
    for j in range(r):
        for a in range(6):
            xc[j, a] = xm[i, j, a] - xm[i, 0, a]
    xbc = np.empty(6)
    _moments(Pm[i], xc, mu[i], xbc, P[i])
    for a in range(6):
        x[i, a] = xbc[a] + xm[i, 0, a]


@njit(cache=True)
def imm_predict_combine(
    xm: FloatArray, Pm: FloatArray, mu: FloatArray, F: FloatArray, Q: FloatArray, Pi: FloatArray,
    x: FloatArray, P: FloatArray,
) -> None:
    """IMM mixing, each mode's prediction, and the combined output, for every track, in place.

    xm (N, r, 6), Pm (N, r, 6, 6), mu (N, r) -> predicted modes, mu := the predicted mode
    probabilities (``cbar``); x (N, 6), P (N, 6, 6) := the combined prediction. F, Q (r, 6, 6),
    Pi (r, r). The same arithmetic as ``imm_predict`` then ``imm_combine``.
    """
    n, r = mu.shape
    cbar = np.empty(r)
    w = np.empty((r, r))
    xc = np.empty((r, 6))
    x0 = np.empty(6)
    P0 = np.empty((6, 6))
    FP = np.empty((6, 6))
    c = np.empty(6)
    new_x = np.empty((r, 6))
    new_P = np.empty((r, 6, 6))
    for i in range(n):
        for j in range(r):
            s = 0.0
            for k in range(r):
                s += mu[i, k] * Pi[k, j]
            cbar[j] = s
        for k in range(r):
            for j in range(r):
                d = cbar[j] if cbar[j] > _TINY else _TINY
                w[k, j] = mu[i, k] * Pi[k, j] / d
        for k in range(r):
            for a in range(6):
                xc[k, a] = xm[i, k, a] - xm[i, 0, a]
        c[:] = xm[i, 0]
        for j in range(r):
            _moments(Pm[i], xc, w[:, j], x0, P0)  # mixed initial condition of mode j
            for a in range(6):
                x0[a] += c[a]
            # x' = F x0, P' = F P0 F' + Q
            for a in range(6):
                s = 0.0
                for b in range(6):
                    s += F[j, a, b] * x0[b]
                new_x[j, a] = s
            for a in range(6):
                for b in range(6):
                    s = 0.0
                    for k in range(6):
                        s += F[j, a, k] * P0[k, b]
                    FP[a, b] = s
            for a in range(6):
                for b in range(6):
                    s = 0.0
                    for k in range(6):
                        s += FP[a, k] * F[j, b, k]
                    new_P[j, a, b] = s + Q[j, a, b]
        for j in range(r):
            mu[i, j] = cbar[j]
            for a in range(6):
                xm[i, j, a] = new_x[j, a]
                for b in range(6):
                    Pm[i, j, a, b] = new_P[j, a, b]
        _combine_row(xm, Pm, mu, i, x, P)


@njit(cache=True)
def imm_update_rows(
    xm: FloatArray, Pm: FloatArray, mu: FloatArray, x: FloatArray, P: FloatArray,
    rows: IntArray, z: FloatArray, R: FloatArray, plots: IntArray,
) -> None:
    """Update track ``rows[k]`` with plot ``plots[k]`` in every mode, re-weigh its modes and
    combine, in place (as ``imm_update`` then ``imm_combine`` on those rows). ``mu`` holds the
    predicted mode probabilities on entry. Rows must be distinct."""
    r = mu.shape[1]
    Si = np.empty((3, 3))
    K = np.empty((6, 3))
    y = np.empty(3)
    A = np.empty((6, 6))
    logw = np.empty(r)
    for k in range(rows.size):
        i, m = rows[k], plots[k]
        for j in range(r):
            for a in range(3):
                y[a] = z[m, a] - xm[i, j, a]
            det = _inv3(
                Pm[i, j, 0, 0] + R[m, 0, 0], Pm[i, j, 0, 1] + R[m, 0, 1], Pm[i, j, 0, 2] + R[m, 0, 2],
                Pm[i, j, 1, 1] + R[m, 1, 1], Pm[i, j, 1, 2] + R[m, 1, 2], Pm[i, j, 2, 2] + R[m, 2, 2],
                Si,
            )  # fmt: skip
            # K = P H' S^-1 (6, 3); P H' is P's first three columns
            for a in range(6):
                for b in range(3):
                    s = 0.0
                    for c in range(3):
                        s += Pm[i, j, a, c] * Si[c, b]
                    K[a, b] = s
            d2 = 0.0
            for a in range(3):
                s = 0.0
                for b in range(3):
                    s += y[b] * Si[b, a]
                d2 += s * y[a]
            # P' = P - K (P H')', symmetrised; computed into A first (P is read throughout)
            for a in range(6):
                for b in range(6):
                    s = 0.0
                    for c in range(3):
                        s += K[a, c] * Pm[i, j, b, c]
                    A[a, b] = Pm[i, j, a, b] - s
            for a in range(6):
                s = 0.0
                for c in range(3):
                    s += K[a, c] * y[c]
                xm[i, j, a] += s
            for a in range(6):
                for b in range(6):
                    Pm[i, j, a, b] = 0.5 * (A[a, b] + A[b, a])
            cb = mu[i, j] if mu[i, j] > _TINY else _TINY
            logw[j] = -0.5 * (d2 + math.log(det) + LOG_2PI_3) + math.log(cb)
        top = logw[0]
        for j in range(1, r):
            if logw[j] > top:
                top = logw[j]
        tot = 0.0
        for j in range(r):
            logw[j] = math.exp(logw[j] - top)
            tot += logw[j]
        for j in range(r):
            mu[i, j] = logw[j] / tot
        _combine_row(xm, Pm, mu, i, x, P)


@njit(cache=True)
def gate_dense(
    pos: FloatArray, Ppos: FloatArray, z: FloatArray, R: FloatArray, threshold: float
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """The dense path of :func:`.association.gate`: every (track, plot) pair within the coarse
    radius, then the chi-square test. Returns (ti, mj, d2, logdet), pairs in track order."""
    n, m = pos.shape[0], z.shape[0]
    trR = -np.inf
    for j in range(m):
        v = R[j, 0, 0] + R[j, 1, 1] + R[j, 2, 2]
        if v > trR:
            trR = v
    ti = np.empty(n * m, dtype=np.int64)
    mj = np.empty(n * m, dtype=np.int64)
    d2s = np.empty(n * m)
    lds = np.empty(n * m)
    k = 0
    for i in range(n):
        radius = math.sqrt(threshold * (Ppos[i, 0, 0] + Ppos[i, 1, 1] + Ppos[i, 2, 2] + trR))
        r2 = radius * radius
        for j in range(m):
            y0 = z[j, 0] - pos[i, 0]
            y1 = z[j, 1] - pos[i, 1]
            y2 = z[j, 2] - pos[i, 2]
            if y0 * y0 + y1 * y1 + y2 * y2 > r2:
                continue
            # y' S^-1 y by cofactors, in the order of association._mahalanobis3
            a = Ppos[i, 0, 0] + R[j, 0, 0]
            b = Ppos[i, 0, 1] + R[j, 0, 1]
            c = Ppos[i, 0, 2] + R[j, 0, 2]
            d = Ppos[i, 1, 1] + R[j, 1, 1]
            e = Ppos[i, 1, 2] + R[j, 1, 2]
            f = Ppos[i, 2, 2] + R[j, 2, 2]
            A = d * f - e * e
            B = c * e - b * f
            C = b * e - c * d
            det = a * A + b * B + c * C
            q = (
                A * y0 * y0 + (a * f - c * c) * y1 * y1 + (a * d - b * b) * y2 * y2
                + 2 * (B * y0 * y1 + C * y0 * y2 + (b * c - a * e) * y1 * y2)
            )  # fmt: skip
            if det < _TINY:
                det = _TINY
            q = q / det
            if q <= threshold:
                ti[k], mj[k], d2s[k], lds[k] = i, j, q, math.log(det)
                k += 1
    return ti[:k].copy(), mj[:k].copy(), d2s[:k].copy(), lds[:k].copy()


@njit(cache=True)
def record_hits(
    rows: IntArray, t: float, bit: int, x: FloatArray, hits: IntArray, misses: IntArray,
    dirty: BoolArray, opps: IntArray, smask: IntArray, t_hit: FloatArray, v_prev: FloatArray,
    f_n: IntArray, f_speed: FloatArray, f_alt: FloatArray, f_turn: FloatArray,
    f_climb: FloatArray, f_slow: FloatArray, f_svar: FloatArray, f_wind: FloatArray,
    f_rate: FloatArray, f_rpk: FloatArray,
) -> None:
    """The bookkeeping of the tracks that took a plot (rows distinct): hit counts, looks,
    sensors, and the classifier's running features. Short memory (mean of the first 5 plots,
    then exponential with weight 0.2): speed, altitude, turn rate. Long memory (from the 5th
    plot, mean of the first 20, then weight 0.05: the behaviour over the track's life): |climb rate|,
    speed (``f_slow``) and the variance of speed about it; ``f_wind``, the net signed change of
    heading since the 5th plot (deg, left positive): it telescopes to the last heading less the
    first, so noise does not pile up, while a glider thermalling adds 360 a circle; and
    ``f_rate``, the signed turn rate averaged over about 30 s (weighted by time, so a heading
    change over a short gap between two sensors' plots does not count as a fast turn), with
    ``f_rpk`` its largest size: a glider that circles one way in a thermal, then the other way
    in the next, still shows it."""
    for k in range(rows.size):
        i = rows[k]
        hits[i] += 1
        misses[i] = 0
        dirty[i] = True
        if (smask[i] & bit) == 0:
            opps[i] += 1  # the first hit from a new sensor did not count as a look before
        smask[i] |= bit
        ve, vn = x[i, 3], x[i, 4]
        speed = math.hypot(ve, vn)
        dtp = t - t_hit[i]
        if dtp < 1e-3:
            dtp = 1e-3
        pe, pn = v_prev[i, 0], v_prev[i, 1]
        turn = 0.0
        if math.hypot(pe, pn) > 1.0 and speed > 1.0:
            turn = math.degrees(math.atan2(pe * vn - pn * ve, pe * ve + pn * vn)) / dtp
        n = f_n[i] + 1
        a = 1.0 / n
        if a < 0.2:
            a = 0.2
        # long memory starts at the 5th plot, once the filter's first guesses have settled
        b = 1.0 / (n - 4) if n > 4 else 1.0
        if b < 0.05:
            b = 0.05
        f_speed[i] += a * (speed - f_speed[i])
        f_alt[i] += a * (x[i, 2] - f_alt[i])
        f_climb[i] += b * (abs(x[i, 5]) - f_climb[i])
        # variance about the mean before this plot (West's running form, exponential)
        dv = speed - f_slow[i]
        f_slow[i] += b * dv
        f_svar[i] = (1.0 - b) * (f_svar[i] + b * dv * dv)
        if f_n[i] >= 2:
            f_turn[i] += a * (abs(turn) - f_turn[i])
            if n > 5:
                f_wind[i] += turn * dtp
                bc = dtp / 30.0
                if bc > 1.0:
                    bc = 1.0
                f_rate[i] += bc * (turn - f_rate[i])
                if n >= 20 and abs(f_rate[i]) > f_rpk[i]:
                    f_rpk[i] = abs(f_rate[i])
        f_n[i] = n
        v_prev[i, 0], v_prev[i, 1] = ve, vn
        t_hit[i] = t


@njit(cache=True)
def polar_to_enu(
    r: FloatArray, az_deg: FloatArray, el_deg: FloatArray, sigma_r: float, sigma_az_deg: float,
    sigma_el_deg: float, sensor: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """The unbiased converted measurements of :func:`.convert.polar_to_enu` for one sensor's
    plots with scalar sigmas. Returns z (M, 3) and R (M, 3, 3)."""
    m = r.size
    z = np.empty((m, 3))
    R = np.empty((m, 3, 3))
    sa, sb = math.radians(sigma_az_deg), math.radians(sigma_el_deg)
    la, lb = math.exp(-0.5 * sa * sa), math.exp(-0.5 * sb * sb)
    la4, lb4 = la**4, lb**4
    E = np.empty((3, 3))
    for k in range(m):
        a, b, rr = math.radians(az_deg[k]), math.radians(el_deg[k]), r[k]
        sin_a, cos_a, sin_b, cos_b = math.sin(a), math.cos(a), math.sin(b), math.cos(b)
        zu0 = rr * cos_b * sin_a / (la * lb)
        zu1 = rr * cos_b * cos_a / (la * lb)
        zu2 = rr * sin_b / lb
        m_ca, m_sa, m_cb, m_sb = la * cos_a, la * sin_a, lb * cos_b, lb * sin_b
        mean0, mean1, mean2 = rr * m_cb * m_sa, rr * m_cb * m_ca, rr * m_sb
        r2 = rr * rr + sigma_r * sigma_r
        cos2a, sin2a, cos2b, sin2b = math.cos(2 * a), math.sin(2 * a), math.cos(2 * b), math.sin(2 * b)
        cc_a, ss_a, sc_a = 0.5 * (1 + la4 * cos2a), 0.5 * (1 - la4 * cos2a), 0.5 * la4 * sin2a
        cc_b, ss_b, sc_b = 0.5 * (1 + lb4 * cos2b), 0.5 * (1 - lb4 * cos2b), 0.5 * lb4 * sin2b
        E[0, 0] = r2 * cc_b * ss_a
        E[1, 1] = r2 * cc_b * cc_a
        E[2, 2] = r2 * ss_b
        E[0, 1] = E[1, 0] = r2 * cc_b * sc_a
        E[0, 2] = E[2, 0] = r2 * sc_b * m_sa
        E[1, 2] = E[2, 1] = r2 * sc_b * m_ca
        zu = (zu0, zu1, zu2)
        mean = (mean0, mean1, mean2)
        for p in range(3):
            for q in range(3):
                R[k, p, q] = E[p, q] - mean[p] * mean[q] + (zu[p] - mean[p]) * (zu[q] - mean[q])
        for p in range(3):
            for q in range(p + 1, 3):
                s = 0.5 * (R[k, p, q] + R[k, q, p])
                R[k, p, q] = R[k, q, p] = s
        z[k, 0] = zu0 + sensor[0]
        z[k, 1] = zu1 + sensor[1]
        z[k, 2] = zu2 + sensor[2]
    return z, R
