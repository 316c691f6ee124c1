"""Polar radar plots -> east/north/up positions, without the bias of the naive conversion.

A radar measures range r, azimuth a (clockwise from north) and elevation b with independent
Gaussian errors. The naive conversion ``e = r cos b sin a`` is biased at long range because
``E[cos(a + w)] = cos(a) exp(-sigma_a^2 / 2)``: with 0.3 deg azimuth noise at 60 km the bias is
small, but with a wide beam (a few degrees) it reaches tens of metres and pulls every track
toward the sensor. The *unbiased converted measurement* (Longbin, Xiaoquan, Yiyu, Zhongkang and
Bar-Shalom, IEEE T-AES 34(4), 1998) divides that factor out, and its covariance is the
mean-squared error conditioned on the measured values, in closed form below (their 2-D result,
extended to 3-D using the independence of the three errors).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def polar_to_enu(
    range_m: ArrayLike,
    az_deg: ArrayLike,
    el_deg: ArrayLike,
    sigma_r: ArrayLike,
    sigma_az_deg: ArrayLike,
    sigma_el_deg: ArrayLike,
    sensor_enu: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Unbiased converted measurements of M plots from one sensor.

    ``range_m``, ``az_deg``, ``el_deg`` (M,) are the measured range (m), azimuth (deg clockwise
    from north) and elevation (deg above the horizontal); the sigmas are 1-sigma, scalars or
    (M,); ``sensor_enu`` (3,) is the sensor's position in the local frame (m).
    Returns ``z`` (M, 3) east/north/up metres and ``R`` (M, 3, 3) m^2.

    With ``l_x = exp(-sigma_x^2/2)``: ``z = s + r [cos b sin a, cos b cos a, sin b] / (l_a l_b)``
    (``u`` divides by ``l_b`` only). ``R = E[p p' | meas] - E[p|meas] E[p|meas]' + (z - E[p|meas])(..)'``
    with p the true offset, using ``E[cos a | meas] = l cos a_m``,
    ``E[cos^2 a | meas] = (1 + l^4 cos 2a_m)/2``, ``E[r^2 | meas] = r_m^2 + sigma_r^2``.
    """
    r = np.atleast_1d(np.asarray(range_m, dtype=np.float64))
    a = np.deg2rad(np.atleast_1d(np.asarray(az_deg, dtype=np.float64)))
    b = np.deg2rad(np.atleast_1d(np.asarray(el_deg, dtype=np.float64)))
    if not (r.shape == a.shape == b.shape) or r.ndim != 1:
        raise ValueError(
            f"range, azimuth and elevation must be (M,) arrays of one length, got {r.shape}, {a.shape}, {b.shape}"
        )
    sr = np.broadcast_to(np.asarray(sigma_r, dtype=np.float64), r.shape)
    sa = np.broadcast_to(np.deg2rad(np.asarray(sigma_az_deg, dtype=np.float64)), r.shape)
    sb = np.broadcast_to(np.deg2rad(np.asarray(sigma_el_deg, dtype=np.float64)), r.shape)
    s = np.asarray(sensor_enu, dtype=np.float64).reshape(3)

    la, lb = np.exp(-0.5 * sa**2), np.exp(-0.5 * sb**2)
    la4, lb4 = la**4, lb**4
    sin_a, cos_a, sin_b, cos_b = np.sin(a), np.cos(a), np.sin(b), np.cos(b)

    # The unbiased converted position (offset from the sensor).
    zu = np.stack(
        [r * cos_b * sin_a / (la * lb), r * cos_b * cos_a / (la * lb), r * sin_b / lb], axis=-1
    )

    # Conditional first moments of the true offset given the measurement.
    m_ca, m_sa, m_cb, m_sb = la * cos_a, la * sin_a, lb * cos_b, lb * sin_b
    mean = np.stack([r * m_cb * m_sa, r * m_cb * m_ca, r * m_sb], axis=-1)
    # Conditional second moments.
    r2 = r**2 + sr**2
    cc_a, ss_a, sc_a = (
        0.5 * (1 + la4 * np.cos(2 * a)),
        0.5 * (1 - la4 * np.cos(2 * a)),
        0.5 * la4 * np.sin(2 * a),
    )
    cc_b, ss_b, sc_b = (
        0.5 * (1 + lb4 * np.cos(2 * b)),
        0.5 * (1 - lb4 * np.cos(2 * b)),
        0.5 * lb4 * np.sin(2 * b),
    )
    E = np.empty((r.size, 3, 3))
    E[:, 0, 0] = r2 * cc_b * ss_a
    E[:, 1, 1] = r2 * cc_b * cc_a
    E[:, 2, 2] = r2 * ss_b
    E[:, 0, 1] = E[:, 1, 0] = r2 * cc_b * sc_a
    E[:, 0, 2] = E[:, 2, 0] = r2 * sc_b * m_sa
    E[:, 1, 2] = E[:, 2, 1] = r2 * sc_b * m_ca
    bias = zu - mean
    R = E - mean[:, :, None] * mean[:, None, :] + bias[:, :, None] * bias[:, None, :]
    R = 0.5 * (R + np.swapaxes(R, 1, 2))
    return zu + s, R


def polar_to_enu_naive(
    range_m: ArrayLike, az_deg: ArrayLike, el_deg: ArrayLike, sensor_enu: ArrayLike
) -> FloatArray:
    """The plain (biased) conversion, kept for comparison in tests and benchmarks. Returns (M, 3)."""
    r = np.asarray(range_m, dtype=np.float64)
    a, b = (
        np.deg2rad(np.asarray(az_deg, dtype=np.float64)),
        np.deg2rad(np.asarray(el_deg, dtype=np.float64)),
    )
    off = np.stack([r * np.cos(b) * np.sin(a), r * np.cos(b) * np.cos(a), r * np.sin(b)], axis=-1)
    return np.asarray(off + np.asarray(sensor_enu, dtype=np.float64).reshape(3))
