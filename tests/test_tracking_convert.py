"""The unbiased converted measurement against the naive conversion, by Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from skywarden.tracking import polar_to_enu
from skywarden.tracking.convert import polar_to_enu_naive


@pytest.mark.parametrize("az_deg", [10.0, 135.0, 280.0])
def test_unbiased_at_long_range_where_naive_is_not(az_deg: float) -> None:
    rng = np.random.default_rng(7)
    m, r0, el0 = 100_000, 60_000.0, 3.0
    sr, sa, se = 25.0, 2.5, 1.5  # a wide beam makes the naive bias obvious
    r = r0 + rng.normal(0, sr, m)
    a = az_deg + rng.normal(0, sa, m)
    e = el0 + rng.normal(0, se, m)
    sensor = np.array([1000.0, -2000.0, 150.0])
    truth = polar_to_enu_naive([r0], [az_deg], [el0], sensor)[0]
    z, R = polar_to_enu(r, a, e, sr, sa, se, sensor)
    naive = polar_to_enu_naive(r, a, e, sensor)
    err_u = z.mean(axis=0) - truth
    err_n = naive.mean(axis=0) - truth
    se_mean = np.sqrt(np.diag(np.cov((z - truth).T)) / m)
    assert np.all(np.abs(err_u[:2]) < 4 * se_mean[:2])  # zero within sampling error
    assert np.linalg.norm(err_n[:2]) > 60.0  # naive: ~r(1-exp(-sa^2/2)) ~ 57 m and more
    assert np.linalg.norm(err_n[:2]) > 3 * np.linalg.norm(err_u[:2])
    # the converted covariance is consistent: mean NEES ~ 3
    d = z - truth
    nees = np.einsum("ni,nij,nj->n", d, np.linalg.inv(R), d)
    assert nees.mean() == pytest.approx(3.0, rel=0.05)


def test_shapes_and_sensor_offset() -> None:
    z, R = polar_to_enu([1000.0, 2000.0], [90.0, 0.0], [0.0, 0.0], 10.0, 0.1, 0.1, [5.0, 6.0, 7.0])
    assert z.shape == (2, 3) and R.shape == (2, 3, 3)
    np.testing.assert_allclose(z[0], [1005.0, 6.0, 7.0], atol=0.01)
    np.testing.assert_allclose(z[1], [5.0, 2006.0, 7.0], atol=0.01)
    # due east: range error along east, cross-range (azimuth) along north
    assert R[0, 0, 0] == pytest.approx(100.0, rel=0.01)
    assert R[0, 1, 1] == pytest.approx((1000 * np.radians(0.1)) ** 2, rel=0.01)
    np.testing.assert_allclose(R, np.swapaxes(R, 1, 2))


def test_mismatched_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="one length"):
        polar_to_enu([1.0, 2.0], [0.0], [0.0, 0.0], 1, 1, 1, [0, 0, 0])
