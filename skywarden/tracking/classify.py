"""Track classification: drone, bird, manned aircraft, or unknown, with a probability.

A naive-Bayes posterior over three classes from features the tracker keeps per track (arrays,
one row per track), each feature's log-likelihood tempered by a weight because the features
are not independent (a fast target is also a high one). See docs/classification.md for the
features, their class models and the reasoning behind the numbers.

Shapes: every feature is (N,); the posterior is (N, 3) in the order of :data:`CLASSES`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

CLASSES = ("drone", "bird", "manned_aircraft")
UNKNOWN = "unknown"
CLASS_NAMES = np.array([*CLASSES, UNKNOWN])  # index 3 = unknown
I_DRONE, I_BIRD, I_MANNED, I_UNKNOWN = 0, 1, 2, 3

COOP_NONE, COOP_ADSB, COOP_REMOTE_ID = 0, 1, 2
C2_LINK = "drone_c2_link"


@dataclass(frozen=True)
class ClassModel:
    """Class-conditional models of the features (Gaussian: mean, sigma; in the feature's unit).

    Mixtures are (weight, mean, sigma) lists. ``floor`` keeps any single odd reading from
    vetoing a class (a drone seen at 80 m/s in a tail wind is still probably a drone).
    """

    prior: tuple[float, float, float] = (0.4, 0.3, 0.3)
    # horizontal speed, m/s
    speed: tuple[tuple[tuple[float, float, float], ...], ...] = (
        ((0.75, 42.0, 9.0), (0.25, 18.0, 9.0)),  # attack drones 30-55, small multicopters slower
        ((1.0, 13.0, 4.5),),  # birds 8-20
        ((0.85, 150.0, 55.0), (0.15, 55.0, 15.0)),  # airliners 70-250, light aircraft/helicopters
    )
    # height above the ellipsoid, m
    alt: tuple[tuple[tuple[float, float, float], ...], ...] = (
        ((1.0, 600.0, 400.0),),  # 200-1000
        ((1.0, 120.0, 220.0),),  # mostly below ~500
        ((1.0, 3500.0, 3500.0),),  # anything from approach to cruise
    )
    # radar cross-section, dBsm
    rcs: tuple[tuple[float, float], ...] = ((-8.0, 6.0), (-20.0, 3.5), (18.0, 8.0))
    # mean absolute turn rate, deg/s (exponential scale)
    turn_scale: tuple[float, float, float] = (2.5, 8.0, 1.2)
    # P(an RF detector heard a drone command link | class)
    c2_link: tuple[float, float, float] = (0.9, 0.02, 0.02)
    # P(cooperative report kind | class): ADS-B -> manned, Remote ID -> drone. Birds broadcast
    # nothing, so a report all but rules them out; a declaration outweighs any kinematics.
    adsb: tuple[float, float, float] = (1e-3, 1e-9, 1.0)
    remote_id: tuple[float, float, float] = (1.0, 1e-9, 1e-4)
    # tempering weights (correlated features must not be counted at full strength)
    w_speed: float = 1.0
    w_alt: float = 0.6
    w_rcs: float = 1.0
    w_turn: float = 0.3
    floor: float = 1e-4


@functools.lru_cache(maxsize=64)
def _mixture_table(
    mix: tuple[tuple[tuple[float, float, float], ...], ...], floor: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per-class mixtures as padded arrays (3, C): weights, means, sigmas; and the floor (3,),
    relative to each mixture's peak so units do not matter."""
    c = max(len(m) for m in mix)
    w, mu, sd = np.zeros((3, c)), np.zeros((3, c)), np.ones((3, c))
    for k, comps in enumerate(mix):
        for j, (a, b, s) in enumerate(comps):
            w[k, j], mu[k, j], sd[k, j] = a, b, s
    peak = (w / (sd * math.sqrt(2 * math.pi))).max(axis=1)
    return w / (sd * math.sqrt(2 * math.pi)), mu, sd, floor * peak


def _mixture_loglik(
    x: FloatArray, table: tuple[FloatArray, FloatArray, FloatArray, FloatArray]
) -> FloatArray:
    """log of the floored mixture density of x (N,) under each class: (N, 3)."""
    coef, mu, sd, fl = table
    dens = np.sum(
        coef[None] * np.exp(-0.5 * ((x[:, None, None] - mu[None]) / sd[None]) ** 2), axis=2
    )
    return np.asarray(np.log(dens + fl[None]))


def posterior(
    speed: FloatArray,
    alt: FloatArray,
    turn: FloatArray,
    rcs: FloatArray,
    rcs_n: NDArray[np.int64],
    c2_n: NDArray[np.int64],
    coop: NDArray[np.int8],
    model: ClassModel | None = None,
) -> FloatArray:
    """Class posterior (N, 3) from smoothed features.

    speed (N,) m/s horizontal; alt (N,) m; turn (N,) mean |turn rate| deg/s; rcs (N,) mean
    dBsm over ``rcs_n`` readings (0 = no radar attribute, feature ignored); ``c2_n`` (N,)
    number of plots with a drone command-link signature; ``coop`` (N,) cooperative kind.
    All three classes at once: every term below is an (N, 3) array.
    """
    cm = model or ClassModel()
    logp = np.log(np.asarray(cm.prior))[None, :] + cm.w_speed * _mixture_loglik(
        speed, _mixture_table(cm.speed, cm.floor)
    )
    logp += cm.w_alt * _mixture_loglik(alt, _mixture_table(cm.alt, cm.floor))
    lam = 1.0 / np.asarray(cm.turn_scale)
    logp += cm.w_turn * (np.log(lam)[None] - lam[None] * np.minimum(np.abs(turn), 30.0)[:, None])
    m, s = np.asarray(cm.rcs).T
    ll_rcs = -0.5 * ((rcs[:, None] - m[None]) / s[None]) ** 2 - np.log(s)[None]
    # more readings, more weight, up to a cap (the mean of 25 plots is not 25 proofs)
    logp += cm.w_rcs * np.where(
        rcs_n[:, None] > 0, ll_rcs * np.minimum(np.sqrt(rcs_n), 3.0)[:, None], 0.0
    )
    logp += np.log(np.asarray(cm.c2_link))[None] * np.minimum(c2_n, 3)[:, None]
    logp += np.where((coop == COOP_ADSB)[:, None], np.log(np.asarray(cm.adsb))[None], 0.0)
    logp += np.where((coop == COOP_REMOTE_ID)[:, None], np.log(np.asarray(cm.remote_id))[None], 0.0)
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def decide(
    post: FloatArray,
    current: NDArray[np.int8],
    eligible: NDArray[np.bool_],
    threshold: float,
    margin: float,
) -> NDArray[np.int8]:
    """The class to report, with hysteresis so a label does not flicker.

    A track leaves ``unknown`` when its best class reaches ``threshold`` (and it is ``eligible``:
    old enough); a decided track changes class only when another class beats the current one by
    ``margin`` and reaches ``threshold``. A decided class never falls back to unknown.
    """
    best = np.argmax(post, axis=1).astype(np.int8)
    pbest = post[np.arange(post.shape[0]), best]
    out = current.copy()
    undecided = current == I_UNKNOWN
    out[undecided & eligible & (pbest >= threshold)] = best[
        undecided & eligible & (pbest >= threshold)
    ]
    cur = np.where(undecided, 0, current)
    pcur = post[np.arange(post.shape[0]), cur]
    switch = ~undecided & (best != current) & (pbest >= threshold) & (pbest >= pcur + margin)
    out[switch] = best[switch]
    return out
