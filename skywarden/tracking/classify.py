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
from typing import NamedTuple

import numpy as np
from numba import njit
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
        ((0.8, 45.0, 7.0), (0.2, 12.0, 5.0)),  # attack drones 33-55, small multicopters 5-20
        ((1.0, 13.0, 4.5),),  # birds 8-20
        # airliners 100-250; helicopters, gliders and light aircraft 15-100 (real flights:
        # gliders 17-36 m/s, helicopters 35-64, light and survey aircraft 45-110, 10-90 %)
        ((0.5, 170.0, 60.0), (0.5, 50.0, 20.0)),
    )
    # height above the ellipsoid, m
    alt: tuple[tuple[tuple[float, float, float], ...], ...] = (
        ((1.0, 600.0, 400.0),),  # 200-1000
        ((1.0, 120.0, 220.0),),  # mostly below ~500
        ((0.5, 1200.0, 1000.0), (0.5, 7000.0, 4000.0)),  # low and slow, or climbing to cruise
    )
    # radar cross-section, dBsm: attack drones -15..0; aircraft from a glider (about 0) and a
    # light aircraft or helicopter (5-10) to an airliner (20 and more)
    rcs: tuple[tuple[float, float], ...] = ((-8.0, 6.0), (-20.0, 3.5), (8.0, 10.0))
    # mean absolute turn rate, deg/s (exponential scale)
    turn_scale: tuple[float, float, float] = (2.5, 8.0, 1.2)
    # behaviour over the track's life (exponential scales): an attack drone holds height,
    # speed and course; aircraft climb and sink, change speed, and gliders circle one way.
    # Climb and speed spread barely separate (a drone climbs after launch, and a track's
    # speed estimate wanders): near-neutral. Circles: net heading change / 360 beyond
    # ``free_circles`` (a dog-leg route) costs exp(-x / scale): thermalling is not a drone's
    climb_scale: tuple[float, float, float] = (1.0, 1.5, 2.5)  # mean |climb rate|, m/s
    speed_sd_scale: tuple[float, float, float] = (2.5, 3.0, 4.0)  # speed's std dev, m/s
    circles_scale: tuple[float, float, float] = (0.1, 0.5, 1.0)
    free_circles: float = 0.75
    behaviour_plots: int = 20  # plots for the behaviour features to count in full
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
    w_behaviour: float = 1.0  # each of climb, speed steadiness and circling
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


class _ModelArrays(NamedTuple):
    """A ClassModel as the kernel's arguments, in its order (per class c, mixture component j)."""

    log_prior: FloatArray  # (3,)
    sp_coef: FloatArray  # (3, J) speed mixture: weight / (sigma sqrt(2 pi))
    sp_mu: FloatArray  # (3, J)
    sp_sd: FloatArray  # (3, J)
    sp_fl: FloatArray  # (3,) floor
    al_coef: FloatArray  # (3, J) altitude mixture, as speed's
    al_mu: FloatArray
    al_sd: FloatArray
    al_fl: FloatArray
    lam: FloatArray  # (3,) 1 / turn scale
    log_lam: FloatArray
    rcs_m: FloatArray  # (3,) dBsm
    rcs_s: FloatArray
    log_rcs_s: FloatArray
    log_c2: FloatArray  # (3,)
    log_adsb: FloatArray
    log_rid: FloatArray
    w: FloatArray  # (5,) tempering weights: speed, altitude, turn, rcs, behaviour
    beh_scale: FloatArray  # (3, 3) exponential scales: climb, speed sd, circles x class
    free_circles: float
    n_beh: float  # plots for the behaviour features to count in full


@functools.lru_cache(maxsize=16)
def _model_arrays(cm: ClassModel) -> _ModelArrays:
    """The model as the arrays the kernel reads (built once per model)."""
    sp_coef, sp_mu, sp_sd, sp_fl = _mixture_table(cm.speed, cm.floor)
    al_coef, al_mu, al_sd, al_fl = _mixture_table(cm.alt, cm.floor)
    lam = 1.0 / np.asarray(cm.turn_scale)
    m, sd = np.asarray(cm.rcs).T
    weights = np.array([cm.w_speed, cm.w_alt, cm.w_turn, cm.w_rcs, cm.w_behaviour])
    beh = np.array([cm.climb_scale, cm.speed_sd_scale, cm.circles_scale], dtype=np.float64)
    return _ModelArrays(
        np.log(np.asarray(cm.prior)), sp_coef, sp_mu, sp_sd, sp_fl, al_coef, al_mu, al_sd, al_fl,
        lam, np.log(lam), np.ascontiguousarray(m), np.ascontiguousarray(sd), np.log(sd),
        np.log(np.asarray(cm.c2_link)), np.log(np.asarray(cm.adsb)), np.log(np.asarray(cm.remote_id)),
        weights, beh, float(cm.free_circles), float(cm.behaviour_plots),
    )  # fmt: skip


@njit(cache=True)
def _mixture_ll(x: float, coef: FloatArray, mu: FloatArray, sd: FloatArray, fl: FloatArray, c: int) -> float:
    """log of the floored mixture density of x under class c."""
    dens = 0.0
    for j in range(coef.shape[1]):
        z = (x - mu[c, j]) / sd[c, j]
        dens += coef[c, j] * math.exp(-0.5 * z**2)
    return math.log(dens + fl[c])


@njit(cache=True)
def _posterior_kernel(
    speed: FloatArray, alt: FloatArray, turn: FloatArray, rcs: FloatArray,
    rcs_n: NDArray[np.int64], c2_n: NDArray[np.int64], coop: NDArray[np.int8],
    climb: FloatArray, speed_sd: FloatArray, circles: FloatArray, n_life: NDArray[np.int64],
    log_prior: FloatArray, sp_coef: FloatArray, sp_mu: FloatArray, sp_sd: FloatArray, sp_fl: FloatArray,
    al_coef: FloatArray, al_mu: FloatArray, al_sd: FloatArray, al_fl: FloatArray,
    lam: FloatArray, log_lam: FloatArray, rcs_m: FloatArray, rcs_s: FloatArray, log_rcs_s: FloatArray,
    log_c2: FloatArray, log_adsb: FloatArray, log_rid: FloatArray, w: FloatArray,
    beh_scale: FloatArray, free_circles: float, n_beh: float,
) -> FloatArray:  # fmt: skip
    n = speed.size
    out = np.empty((n, 3))
    logp = np.empty(3)
    for i in range(n):
        for c in range(3):
            v = log_prior[c] + w[0] * _mixture_ll(speed[i], sp_coef, sp_mu, sp_sd, sp_fl, c)
            v += w[1] * _mixture_ll(alt[i], al_coef, al_mu, al_sd, al_fl, c)
            v += w[2] * (log_lam[c] - lam[c] * min(abs(turn[i]), 30.0))
            if rcs_n[i] > 0:
                ll = -0.5 * ((rcs[i] - rcs_m[c]) / rcs_s[c]) ** 2 - log_rcs_s[c]
                v += w[3] * ll
            else:
                v += w[3] * 0.0
            # behaviour: counted as the track's life grows (a few plots say little about it)
            wb = w[4] * min(n_life[i] / n_beh, 1.0)
            if wb > 0.0:
                for f in range(2):
                    x = min((climb[i], speed_sd[i])[f], 30.0)
                    v += wb * (-math.log(beh_scale[f, c]) - x / beh_scale[f, c])
                # circles beyond the free ones: the same cost shape for every class
                x = min(max(circles[i] - free_circles, 0.0), 10.0)
                v -= wb * x / beh_scale[2, c]
            v += log_c2[c] * min(c2_n[i], 3)
            v += log_adsb[c] if coop[i] == COOP_ADSB else 0.0
            v += log_rid[c] if coop[i] == COOP_REMOTE_ID else 0.0
            logp[c] = v
        top = max(logp[0], logp[1], logp[2])
        tot = 0.0
        for c in range(3):
            logp[c] = math.exp(logp[c] - top)
            tot += logp[c]
        for c in range(3):
            out[i, c] = logp[c] / tot
    return out


def posterior(
    speed: FloatArray,
    alt: FloatArray,
    turn: FloatArray,
    rcs: FloatArray,
    rcs_n: NDArray[np.int64],
    c2_n: NDArray[np.int64],
    coop: NDArray[np.int8],
    model: ClassModel | None = None,
    *,
    climb: FloatArray | None = None,
    speed_sd: FloatArray | None = None,
    circles: FloatArray | None = None,
    n_life: NDArray[np.int64] | None = None,
) -> FloatArray:
    """Class posterior (N, 3) from smoothed features.

    speed (N,) m/s horizontal; alt (N,) m; turn (N,) mean |turn rate| deg/s; rcs (N,) mean
    dBsm over ``rcs_n`` readings (0 = no radar attribute, feature ignored); ``c2_n`` (N,)
    number of plots with a drone command-link signature; ``coop`` (N,) cooperative kind.
    Behaviour over the track's life (all four or none): ``climb`` (N,) mean |climb rate| m/s,
    ``speed_sd`` (N,) m/s, ``circles`` (N,) net heading change / 360, over ``n_life`` (N,)
    plots (they count in full from ``model.behaviour_plots``).

    Per class, the log posterior up to a constant is: log prior + the tempered log-likelihoods
    of speed and altitude (floored mixtures), of the turn rate (exponential, capped at 30 deg/s),
    of the RCS (Gaussian, counted once: a target's mean RCS is one draw from its class, however
    many plots measured it), of the
    behaviour (exponentials), the command-link plots (at most 3) and a cooperative report's kind. One compiled loop over the tracks (a
    tick classifies a few at a time, where numpy's per-call cost was most of the work).
    """
    cm = model or ClassModel()
    f = np.float64
    n = np.asarray(speed).shape[0]
    zero = np.zeros(n)
    return _posterior_kernel(
        np.asarray(speed, f), np.asarray(alt, f), np.asarray(turn, f), np.asarray(rcs, f),
        np.asarray(rcs_n, np.int64), np.asarray(c2_n, np.int64), np.asarray(coop, np.int8),
        zero if climb is None else np.asarray(climb, f),
        zero if speed_sd is None else np.asarray(speed_sd, f),
        zero if circles is None else np.asarray(circles, f),
        np.zeros(n, np.int64) if n_life is None else np.asarray(n_life, np.int64),
        *_model_arrays(cm),
    )  # fmt: skip


def decide(
    post: FloatArray,
    current: NDArray[np.int8],
    eligible: NDArray[np.bool_],
    threshold: float,
    margin: float,
    drone_threshold: float | None = None,
    drone_hold: float = 0.0,
    drone_eligible: NDArray[np.bool_] | None = None,
) -> NDArray[np.int8]:
    """The class to report, with hysteresis so a label does not flicker.

    A track leaves ``unknown`` when its best class reaches ``threshold`` (and it is ``eligible``:
    old enough); a decided track changes class only when another class beats the current one by
    ``margin`` and reaches ``threshold``. ``drone`` asks more: ``drone_threshold`` (when given)
    instead of ``threshold``, since calling an aircraft a drone raises a threat; and a drone
    whose probability falls below ``drone_hold`` goes back to unknown (the evidence no longer
    separates it); ``drone_eligible`` (default: ``eligible``) says which tracks may become
    drones (those whose behaviour has been seen long enough). Other decided classes never fall
    back to unknown.
    """
    rows = np.arange(post.shape[0])
    best = np.argmax(post, axis=1).astype(np.int8)
    pbest = post[rows, best]
    need = np.where(best == I_DRONE, max(threshold, drone_threshold or 0.0), threshold)
    out = current.copy()
    undecided = current == I_UNKNOWN
    may = np.ones_like(eligible) if drone_eligible is None else drone_eligible
    allowed = (best != I_DRONE) | may
    take = undecided & eligible & allowed & (pbest >= need)
    out[take] = best[take]
    cur = np.where(undecided, 0, current)
    pcur = post[rows, cur]
    switch = ~undecided & allowed & (best != current) & (pbest >= need) & (pbest >= pcur + margin)
    out[switch] = best[switch]
    out[(out == I_DRONE) & ~take & ~switch & (post[:, I_DRONE] < drone_hold)] = I_UNKNOWN
    return out
