"""The compiled loop of track classification (``skywarden.tracking.classify``): the kinds'
log-likelihoods of every track's features, the class posterior and the drone evidence.

Kept apart from the models and their documentation so that the classifier's state (a
``ClassModel`` inside a tracker restored from a snapshot) loads without numba: this module, and
numba with it, is imported on the first classification. Compiled on first use and cached
(``cache=True``). The cooperative kinds' codes come as arguments (``classify.COOP_*``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@njit(cache=True)
def _mixture_ll(x: float, coef: FloatArray, mu: FloatArray, sd: FloatArray, fl: FloatArray, c: int) -> float:
    """log of the floored mixture density of x under class c."""
    dens = 0.0
    for j in range(coef.shape[1]):
        z = (x - mu[c, j]) / sd[c, j]
        dens += coef[c, j] * math.exp(-0.5 * z**2)
    return math.log(dens + fl[c])


@njit(cache=True)
def _exp_mix_ll(x: float, wt: FloatArray, sc: FloatArray, k: int) -> float:
    """log of the exponential mixture's density of x >= 0 under kind k."""
    dens = 0.0
    for j in range(wt.shape[1]):
        dens += wt[k, j] * math.exp(-x / sc[k, j])
    return math.log(dens)


@njit(cache=True)
def posterior_kernel(
    coop_adsb: int, coop_rid: int,
    speed: FloatArray, alt: FloatArray, turn: FloatArray, rcs: FloatArray,
    rcs_n: NDArray[np.int64], c2_n: NDArray[np.int64], coop: NDArray[np.int8],
    climb: FloatArray, speed_sd: FloatArray, circles: FloatArray, n_life: NDArray[np.int64],
    kind_cls: NDArray[np.int64], log_prior: FloatArray, rival: NDArray[np.bool_],
    sp_coef: FloatArray, sp_mu: FloatArray, sp_sd: FloatArray, sp_fl: FloatArray,
    al_coef: FloatArray, al_mu: FloatArray, al_sd: FloatArray, al_fl: FloatArray,
    lam: FloatArray, log_lam: FloatArray, rcs_m: FloatArray, rcs_s: FloatArray, log_rcs_s: FloatArray,
    log_c2: FloatArray, log_adsb: FloatArray, log_rid: FloatArray, w: FloatArray,
    cl_w: FloatArray, cl_s: FloatArray, sd_w: FloatArray, sd_s: FloatArray, circ_s: FloatArray,
    free_circles: float, n_beh: float,
) -> FloatArray:  # fmt: skip
    n = speed.size
    nk = kind_cls.size
    out = np.zeros((n, 4))
    logp = np.empty(nk)
    log_pd = 0.0  # log of the drone kinds' prior share
    for k in range(nk):
        if kind_cls[k] == 0:
            log_pd += math.exp(log_prior[k])
    log_pd = math.log(log_pd)
    for i in range(n):
        # behaviour: counted as the track's life grows (a few plots say little about it)
        wb = w[4] * min(n_life[i] / n_beh, 1.0)
        x_climb = min(climb[i], 30.0)
        x_ssd = min(speed_sd[i], 30.0)
        x_circ = min(max(circles[i] - free_circles, 0.0), 10.0)
        for k in range(nk):
            c = kind_cls[k]
            v = log_prior[k] + w[0] * _mixture_ll(speed[i], sp_coef, sp_mu, sp_sd, sp_fl, k)
            v += w[1] * _mixture_ll(alt[i], al_coef, al_mu, al_sd, al_fl, k)
            v += w[2] * (log_lam[k] - lam[k] * min(abs(turn[i]), 30.0))
            if rcs_n[i] > 0:
                v += w[3] * (-0.5 * ((rcs[i] - rcs_m[k]) / rcs_s[k]) ** 2 - log_rcs_s[k])
            if wb > 0.0:
                v += wb * (_exp_mix_ll(x_climb, cl_w, cl_s, k) + _exp_mix_ll(x_ssd, sd_w, sd_s, k))
                # circles beyond the free ones: the same cost shape for every kind
                v -= wb * x_circ / circ_s[k]
            v += log_c2[c] * min(c2_n[i], 3)
            v += log_adsb[c] if coop[i] == coop_adsb else 0.0
            v += log_rid[c] if coop[i] == coop_rid else 0.0
            logp[k] = v
        top = logp.max()
        tot = 0.0
        best_other = -math.inf  # the best log-likelihood of a rival kind (not a drone)
        for k in range(nk):
            e = math.exp(logp[k] - top)
            out[i, kind_cls[k]] += e
            tot += e
            if rival[k]:
                best_other = max(best_other, logp[k] - log_prior[k])
        # the drone kinds' likelihood (their mixture within the class) against that best one
        out[i, 3] = math.log(max(out[i, 0], 1e-300)) + top - log_pd - best_other
        for c in range(3):
            out[i, c] /= tot
    return out
