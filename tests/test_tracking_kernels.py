"""The compiled per-scan kernels against the numpy kernels they replace on the tracker's path
(and so, through those, against the one-track textbook twins)."""

from __future__ import annotations

import numpy as np
import pytest

from skywarden.tracking import kernels
from skywarden.tracking.association import _mahalanobis3
from skywarden.tracking.convert import polar_to_enu
from skywarden.tracking.filters import (
    imm_combine,
    imm_predict,
    imm_step_one,
    imm_update,
    markov_matrix,
)
from skywarden.tracking.tracker import TrackerConfig
from tests.test_tracking_filters import spd


def imm_state(rng: np.random.Generator, n: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xm = np.repeat(rng.normal(size=(n, 1, 6)) * 500, r, axis=1) + rng.normal(size=(n, r, 6))
    Pm = spd(rng, n * r, 6, 20.0).reshape(n, r, 6, 6)
    mu = rng.dirichlet(np.ones(r), n)
    return xm, Pm, mu


def models(dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ms = TrackerConfig().models()
    return np.stack([m.F(dt) for m in ms]), np.stack([m.Q(dt) for m in ms]), markov_matrix(len(ms), dt, 20.0)


def test_predict_combine_equals_the_numpy_kernels() -> None:
    rng = np.random.default_rng(11)
    xm, Pm, mu = imm_state(rng, 9, 3)
    F, Q, Pi = models(1.7)
    want_xm, want_Pm, want_cbar = imm_predict(xm, Pm, mu, F, Q, Pi)
    want_x, want_P = imm_combine(want_xm, want_Pm, want_cbar)
    x, P = np.zeros((9, 6)), np.zeros((9, 6, 6))
    kernels.imm_predict_combine(xm, Pm, mu, F, Q, Pi, x, P)  # in place
    np.testing.assert_allclose(xm, want_xm, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(Pm, want_Pm, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mu, want_cbar, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x, want_x, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(P, want_P, rtol=1e-12, atol=1e-9)


def test_update_rows_touches_only_its_rows_and_matches_the_textbook_cycle() -> None:
    rng = np.random.default_rng(12)
    n, r = 6, 3
    xm, Pm, mu = imm_state(rng, n, r)
    F, Q, Pi = models(2.0)
    before = [(xm[i].copy(), Pm[i].copy(), mu[i].copy()) for i in range(n)]
    x, P = np.zeros((n, 6)), np.zeros((n, 6, 6))
    kernels.imm_predict_combine(xm, Pm, mu, F, Q, Pi, x, P)
    rows = np.array([4, 1, 2], dtype=np.int64)  # any order; plots given per row
    plots = np.array([0, 3, 5], dtype=np.int64)
    z = rng.uniform(-3000, 3000, (n, 3))  # the other plots: anywhere
    z[plots] = xm[rows, 0, :3] + rng.normal(size=(3, 3)) * 20
    R = spd(rng, n, 3, 50.0)
    untouched = [0, 3, 5]
    keep = xm[untouched].copy(), Pm[untouched].copy(), mu[untouched].copy(), x[untouched].copy()
    kernels.imm_update_rows(xm, Pm, mu, x, P, rows, z, R, plots)
    for i, m in zip(rows.tolist(), plots.tolist(), strict=True):
        ref_xm, ref_Pm, ref_mu = imm_step_one(*before[i], list(F), list(Q), Pi, z[m], R[m])
        np.testing.assert_allclose(xm[i], ref_xm, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(Pm[i], ref_Pm, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(mu[i], ref_mu, rtol=1e-9, atol=1e-12)
        cx, cP = imm_combine(ref_xm[None], ref_Pm[None], ref_mu[None])
        np.testing.assert_allclose(x[i], cx[0], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(P[i], cP[0], rtol=1e-9, atol=1e-9)
    for got, want in zip((xm[untouched], Pm[untouched], mu[untouched], x[untouched]), keep, strict=True):
        np.testing.assert_array_equal(got, want)
    # and the batched numpy update gives the same on those rows
    xm2, Pm2, mu2 = imm_state(np.random.default_rng(12), n, r)
    xm2, Pm2, cbar2 = imm_predict(xm2, Pm2, mu2, F, Q, Pi)
    uxm, uPm, umu = imm_update(xm2[rows], Pm2[rows], cbar2[rows], z[plots], R[plots])
    np.testing.assert_allclose(xm[rows], uxm, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(mu[rows], umu, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n,m", [(1, 1), (12, 30), (40, 3)])
def test_gate_dense_equals_mahalanobis_of_every_pair(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 100 + m)
    pos = rng.uniform(-3000, 3000, (n, 3))
    Ppos = spd(rng, n, 3, 2000.0)
    k = min(n, m)
    z = np.vstack([pos[:k] + rng.normal(size=(k, 3)) * 60, rng.uniform(-3000, 3000, (m - k, 3))])
    R = spd(rng, m, 3, 300.0)
    thr = 16.27
    ti, mj, d2, logdet = kernels.gate_dense(pos, Ppos, z, R, thr)
    all_t, all_m = np.divmod(np.arange(n * m), m)
    want_d2, want_ld = _mahalanobis3(z[all_m] - pos[all_t], Ppos[all_t] + R[all_m])
    inside = want_d2 <= thr
    np.testing.assert_array_equal(ti, all_t[inside])  # pairs in track order, then plot order
    np.testing.assert_array_equal(mj, all_m[inside])
    np.testing.assert_allclose(d2, want_d2[inside], rtol=1e-12)
    np.testing.assert_allclose(logdet, want_ld[inside], rtol=1e-12)
    # the views the tracker passes (columns of its state arrays) give the same pairs
    x = np.zeros((n, 6))
    x[:, :3] = pos
    ti2, mj2, _, _ = kernels.gate_dense(x[:, :3], Ppos, z, R, thr)
    np.testing.assert_array_equal(ti2, ti)
    np.testing.assert_array_equal(mj2, mj)


def test_record_hits_counts_looks_and_smooths_the_features() -> None:
    n = 3
    x = np.zeros((n, 6))
    x[:, 3:5] = [[30.0, 0.0], [0.0, 20.0], [5.0, 5.0]]
    x[:, 2] = [100.0, 200.0, 300.0]
    hits, misses, opps = np.ones(n, np.int64), np.full(n, 2, np.int64), np.ones(n, np.int64)
    dirty = np.zeros(n, bool)
    smask = np.array([1, 2, 1], np.int64)
    t_hit = np.zeros(n)
    v_prev = np.zeros((n, 2))
    f_n = np.zeros(n, np.int64)
    f_speed, f_alt, f_turn = np.zeros(n), np.zeros(n), np.zeros(n)
    f_climb, f_slow, f_svar, f_wind, f_rate, f_rpk = (np.zeros(n) for _ in range(6))
    state = (x, hits, misses, dirty, opps, smask, t_hit, v_prev, f_n, f_speed, f_alt, f_turn,
             f_climb, f_slow, f_svar, f_wind, f_rate, f_rpk)
    rows = np.array([0, 1], np.int64)
    kernels.record_hits(rows, 1.0, 1, *state)
    assert hits.tolist() == [2, 2, 1] and misses.tolist() == [0, 0, 2]
    assert dirty.tolist() == [True, True, False]
    assert opps.tolist() == [1, 2, 1]  # row 1 had not been seen by sensor bit 1: now a look
    assert smask.tolist() == [1, 3, 1]
    assert f_speed.tolist() == [30.0, 20.0, 0.0] and f_alt.tolist() == [100.0, 200.0, 0.0]
    # three more plots of row 0, turning 90 degrees a second from the second on: the turn rate
    # is averaged from the third plot, the features as a running mean of the first five
    for k, v in enumerate([(0.0, 30.0), (-30.0, 0.0), (0.0, -30.0)]):
        x[0, 3:5] = v
        kernels.record_hits(np.array([0], np.int64), 2.0 + k, 1, *state)
    assert f_n[0] == 4 and t_hit[0] == 4.0
    assert f_speed[0] == pytest.approx(30.0)
    assert f_turn[0] == pytest.approx(30.0 + (90.0 - 30.0) / 4)  # 90 at plots 3 and 4: 1/3, then 1/4
    assert v_prev[0].tolist() == [0.0, -30.0]
    # the long-memory features restart until the 5th plot: the last reading, no spread yet
    assert f_slow[0] == pytest.approx(30.0) and f_svar[0] == 0.0 and f_wind[0] == 0.0
    # from the 6th plot the net heading change adds up: three more quarter turns left, the
    # first (the 5th plot) not counted
    for k, v in enumerate([(30.0, 0.0), (0.0, 30.0), (-30.0, 0.0)]):
        x[0, 3:5] = v
        kernels.record_hits(np.array([0], np.int64), 5.0 + k, 1, *state)
    assert f_wind[0] == pytest.approx(180.0)  # turning left (counter-clockwise) is positive
    # the half-minute average turn rate: 90 deg/s over 1 s weighs 1/30, twice
    assert f_rate[0] == pytest.approx(3.0 + (90.0 - 3.0) / 30.0)
    assert f_rpk[0] == 0.0  # its peak is kept from the 20th plot on


def test_polar_conversion_equals_the_numpy_one() -> None:
    rng = np.random.default_rng(4)
    r = rng.uniform(500, 60_000, 50)
    az = rng.uniform(0, 360, 50)
    el = rng.uniform(-1, 30, 50)
    s = np.array([120.0, -340.0, 35.0])
    z, R = kernels.polar_to_enu(r, az, el, 25.0, 1.5, 2.0, s)
    want_z, want_R = polar_to_enu(r, az, el, 25.0, 1.5, 2.0, s)
    np.testing.assert_allclose(z, want_z, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(R, want_R, rtol=1e-10, atol=1e-6)
    assert np.array_equal(R, np.swapaxes(R, 1, 2))
    z0, R0 = kernels.polar_to_enu(np.zeros(0), np.zeros(0), np.zeros(0), 25.0, 1.5, 2.0, s)
    assert z0.shape == (0, 3) and R0.shape == (0, 3, 3)
