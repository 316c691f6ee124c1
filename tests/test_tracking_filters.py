"""Filters against closed forms, and the batched kernels against one-track references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.tracking.filters import (
    MotionModel,
    ct_transition,
    cv_transition,
    imm_combine,
    imm_predict,
    imm_step_one,
    imm_update,
    kf_predict,
    kf_predict_one,
    kf_update,
    kf_update_one,
    markov_matrix,
    white_accel_noise,
)
from skywarden.tracking.tracker import TrackerConfig


def spd(rng: np.random.Generator, n: int, d: int, scale: float) -> np.ndarray:
    A = rng.normal(size=(n, d, d))
    return A @ np.swapaxes(A, 1, 2) * scale + np.eye(d) * scale


def test_cv_prediction_closed_form() -> None:
    dt, q = 2.5, 0.7
    x = np.array([[100.0, -50.0, 300.0, 10.0, 20.0, -1.0]])
    P = np.diag([25.0, 36.0, 49.0, 4.0, 9.0, 1.0])[None]
    xp, Pp = kf_predict(x, P, cv_transition(dt), white_accel_noise(dt, q, q))
    np.testing.assert_allclose(xp[0], [125.0, 0.0, 297.5, 10.0, 20.0, -1.0])
    # var(p') = var(p) + dt^2 var(v) + q dt^3/3 ; cov(p', v') = dt var(v) + q dt^2/2
    np.testing.assert_allclose(Pp[0, 0, 0], 25.0 + dt**2 * 4.0 + q * dt**3 / 3)
    np.testing.assert_allclose(Pp[0, 1, 4], dt * 9.0 + q * dt**2 / 2)
    np.testing.assert_allclose(Pp[0, 5, 5], 1.0 + q * dt)


def test_two_short_predictions_equal_one_long() -> None:
    rng = np.random.default_rng(3)
    x, P = rng.normal(size=(1, 6)), spd(rng, 1, 6, 10.0)
    F1, Q1 = cv_transition(0.7), white_accel_noise(0.7, 2.0, 0.5)
    F2, Q2 = cv_transition(1.3), white_accel_noise(1.3, 2.0, 0.5)
    xa, Pa = kf_predict(*kf_predict(x, P, F1, Q1), F2, Q2)
    xb, Pb = kf_predict(x, P, cv_transition(2.0), white_accel_noise(2.0, 2.0, 0.5))
    np.testing.assert_allclose(xa, xb, atol=1e-12)
    np.testing.assert_allclose(Pa, Pb, atol=1e-9)


def test_kf_update_closed_form() -> None:
    # uncorrelated position/velocity, diagonal R: each axis is a scalar Kalman filter
    sp2, r2 = 400.0, 100.0
    x = np.array([[0.0, 0.0, 0.0, 5.0, 5.0, 0.0]])
    P = np.diag([sp2, sp2, sp2, 1.0, 1.0, 1.0])[None]
    z = np.array([[50.0, -20.0, 10.0]])
    R = (np.eye(3) * r2)[None]
    xn, Pn, ll = kf_update(x, P, z, R)
    k = sp2 / (sp2 + r2)
    np.testing.assert_allclose(xn[0, :3], k * z[0])
    np.testing.assert_allclose(xn[0, 3:], x[0, 3:])
    np.testing.assert_allclose(np.diag(Pn[0])[:3], sp2 * r2 / (sp2 + r2))
    s = sp2 + r2
    expect = -0.5 * (np.sum(z**2) / s + 3 * math.log(s) + 3 * math.log(2 * math.pi))
    np.testing.assert_allclose(ll[0], expect)


def test_ct_transition_keeps_speed_and_tends_to_cv() -> None:
    F = ct_transition(10.0, math.radians(6.0))
    v = F @ np.array([0, 0, 0, 30.0, 40.0, 0])
    assert math.hypot(v[3], v[4]) == pytest.approx(50.0)
    # a left turn of 60 degrees turns the heading counter-clockwise
    assert math.degrees(math.atan2(v[4], v[3]) - math.atan2(40.0, 30.0)) == pytest.approx(60.0)
    np.testing.assert_allclose(ct_transition(2.0, 1e-7), cv_transition(2.0), atol=1e-6)


def test_markov_matrix_rows_are_distributions() -> None:
    Pi = markov_matrix(3, 1.5, 20.0)
    np.testing.assert_allclose(Pi.sum(axis=1), 1.0)
    assert Pi[0, 0] == pytest.approx(math.exp(-1.5 / 20.0))


def test_twin_kalman_batched_equals_reference() -> None:
    """The batched kernels against the plain one-track Kalman step, to 1e-9 at every step."""
    rng = np.random.default_rng(11)
    n = 7
    x = rng.normal(size=(n, 6)) * 1000
    P = spd(rng, n, 6, 50.0)
    xr, Pr = x.copy(), P.copy()
    for step in range(20):
        dt = float(rng.uniform(0.2, 5.0))
        F, Q = cv_transition(dt), white_accel_noise(dt, 3.0, 1.0)
        x, P = kf_predict(x, P, F, Q)
        for i in range(n):
            xr[i], Pr[i] = kf_predict_one(xr[i], Pr[i], F, Q)
        z = x[:, :3] + rng.normal(size=(n, 3)) * 30
        R = spd(rng, n, 3, 100.0)
        x, P, ll = kf_update(x, P, z, R)
        for i in range(n):
            xr[i], Pr[i], lr = kf_update_one(xr[i], Pr[i], z[i], R[i])
            assert ll[i] == pytest.approx(lr, abs=1e-9), step
        np.testing.assert_allclose(x, xr, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(P, Pr, rtol=1e-9, atol=1e-9)


def test_twin_imm_batched_equals_reference() -> None:
    rng = np.random.default_rng(5)
    models = TrackerConfig().models()
    r, n = len(models), 5
    xm = np.repeat(rng.normal(size=(n, 1, 6)) * 500, r, axis=1) + rng.normal(size=(n, r, 6))
    Pm = spd(rng, n * r, 6, 20.0).reshape(n, r, 6, 6)
    mu = rng.dirichlet(np.ones(r), n)
    ref = [(xm[i].copy(), Pm[i].copy(), mu[i].copy()) for i in range(n)]
    for _ in range(15):
        dt = float(rng.uniform(0.5, 4.0))
        F = np.stack([m.F(dt) for m in models])
        Q = np.stack([m.Q(dt) for m in models])
        Pi = markov_matrix(r, dt, 20.0)
        xm, Pm, cbar = imm_predict(xm, Pm, mu, F, Q, Pi)
        z = xm[:, 0, :3] + rng.normal(size=(n, 3)) * 20
        R = spd(rng, n, 3, 50.0)
        xm, Pm, mu = imm_update(xm, Pm, cbar, z, R)
        for i in range(n):
            ref[i] = imm_step_one(*ref[i], list(F), list(Q), Pi, z[i], R[i])
            np.testing.assert_allclose(xm[i], ref[i][0], rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(Pm[i], ref[i][1], rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(mu[i], ref[i][2], rtol=1e-9, atol=1e-12)
    x, P = imm_combine(xm, Pm, mu)
    for i in range(n):
        xr = sum(mu[i, j] * xm[i, j] for j in range(r))
        Pr = sum(mu[i, j] * (Pm[i, j] + np.outer(xm[i, j] - xr, xm[i, j] - xr)) for j in range(r))
        np.testing.assert_allclose(x[i], xr, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(P[i], Pr, rtol=1e-9, atol=1e-9)


def test_imm_mode_probabilities_switch_on_a_turn() -> None:
    """Straight, then a left turn at the model's rate, then straight: the mode that explains
    the motion takes over each time."""
    cfg = TrackerConfig()
    models = cfg.models()
    w = math.radians(cfg.turn_rate_deg_s)
    rng = np.random.default_rng(2)
    dt, sig = 1.0, 5.0
    p, v = np.array([0.0, 0.0, 500.0]), np.array([40.0, 0.0, 0.0])
    xm = np.repeat(np.concatenate([p, v])[None, None], 3, axis=1)
    Pm = np.repeat(np.diag([25.0, 25, 25, 4, 4, 1])[None, None], 3, axis=1)
    mu = np.full((1, 3), 1 / 3)
    R = (np.eye(3) * sig**2)[None]
    history = []
    for k in range(90):
        turning = 30 <= k < 60
        F = ct_transition(dt, w if turning else 0.0)
        s = F @ np.concatenate([p, v])
        p, v = s[:3], s[3:]
        Fs = np.stack([m.F(dt) for m in models])
        Qs = np.stack([m.Q(dt) for m in models])
        xm, Pm, cbar = imm_predict(xm, Pm, mu, Fs, Qs, markov_matrix(3, dt, cfg.mode_sojourn_s))
        xm, Pm, mu = imm_update(xm, Pm, cbar, (p + rng.normal(size=3) * sig)[None], R)
        history.append(mu[0].copy())
    h = np.array(history)
    assert h[20:30, 0].mean() > 0.6  # straight: constant velocity
    assert h[45:60, 1].mean() > 0.6  # left turn
    assert h[45:60, 2].mean() < 0.1  # not the right turn
    assert h[80:90, 0].mean() > 0.5  # straight again


def test_motion_model_names() -> None:
    assert [m.name for m in TrackerConfig().models()] == ["cv", "turn_left", "turn_right"]
    assert isinstance(TrackerConfig().models()[0], MotionModel)
