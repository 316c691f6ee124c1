"""Track classification: drone, bird, manned aircraft, or unknown, with a probability.

A Bayes posterior over three classes, each a mixture of kinds (attack drone, multicopter; bird;
airliner, light aircraft or helicopter, glider), from features the tracker keeps per track
(arrays, one row per track); within a kind naive Bayes, each feature's log-likelihood tempered
by a weight because the features are not independent (a fast target is also a high one). With
it, the drone evidence: how far the features alone separate a drone from the likeliest other
kind. See docs/classification.md for the features, the kinds' models and the reasoning behind
the numbers.

Shapes: every feature is (N,); the posterior is (N, 3) in the order of :data:`CLASSES`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

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
class KindModel:
    """One kind of target within a class, its features modelled together (Gaussians and
    Gaussian mixtures as (weight, mean, sigma); exponential scales), so that a slow track must
    also look small and low to be a multicopter, and a glider's size counts with its speed.

    Units: speed m/s (horizontal), altitude m, RCS dBsm (mean of the plots' dB values), turn
    rate deg/s, |climb| m/s, speed's spread m/s, circles (turns beyond ``free_circles``)."""

    name: str
    cls: int  # index into CLASSES
    prior: float  # share of all targets
    speed: tuple[tuple[float, float, float], ...]
    alt: tuple[tuple[float, float, float], ...]
    rcs: tuple[float, float]
    turn_scale: float
    # behaviour over the track's life, exponential mixtures as (weight, scale): an aircraft
    # cruises as steadily as a drone (the same scale: steadiness is not a drone's mark) or
    # climbs, sinks and changes speed (a larger scale)
    climb: tuple[tuple[float, float], ...]
    speed_sd: tuple[tuple[float, float], ...]
    circles_scale: float
    # its prior share after dark, as a factor: a kind that needs daylight (a glider soars on
    # thermals, by sight) hardly flies at night
    night_factor: float = 1.0


#: A target that holds its height and speed: the |climb| (m/s) and speed spread (m/s) a track
#: of it shows are its filter's noise (exponential scales)
STEADY_CLIMB = ((1.0, 1.0),)
STEADY_SPEED = ((1.0, 2.5),)

#: The kinds of a night of drone attacks (the reasoning behind each number is in
#: docs/classification.md, "Class models: kinds").
KINDS: tuple[KindModel, ...] = (
    # fixed-wing attack drones (Shahed/Geran class, loitering munitions): cruise 33-55 m/s at a
    # held height on a planned route; composite airframes of 0.01-1 m^2
    KindModel("attack_drone", I_DRONE, 0.32, ((1.0, 45.0, 7.0),), ((1.0, 600.0, 400.0),),
              (-10.0, 5.0), 2.5, STEADY_CLIMB, STEADY_SPEED, 0.1),
    # small multicopters: hover to 20 m/s, low, 0.005-0.2 m^2 (a small quadcopter to a
    # large hexacopter with its payload); flown from waypoint to waypoint, they turn and
    # circle as little as an attack drone does (a bird wanders)
    KindModel("multicopter", I_DRONE, 0.08, ((1.0, 10.0, 6.0),), ((1.0, 250.0, 300.0),),
              (-15.0, 4.0), 2.5, ((1.0, 1.5),), ((1.0, 3.0),), 0.1),
    # birds 8-20 m/s, mostly below ~500 m, -35..-15 dBsm (a sparrow to a goose); they wander
    KindModel("bird", I_BIRD, 0.3, ((1.0, 13.0, 4.5),), ((1.0, 120.0, 220.0),),
              (-25.0, 5.0), 8.0, ((1.0, 1.5),), ((1.0, 3.0),), 0.5),
    # airliners and business jets: 100-250 m/s, climbing to or cruising at 3-12 km, >= 10 dBsm
    KindModel("airliner", I_MANNED, 0.15, ((1.0, 170.0, 60.0),),
              ((0.3, 1500.0, 1200.0), (0.7, 7000.0, 4000.0)), (15.0, 8.0), 1.2,
              ((0.5, 1.0), (0.5, 5.0)), ((0.5, 2.5), (0.5, 5.0)), 1.0),
    # light aircraft and helicopters: 20-110 m/s (a helicopter hovers and crawls), a few
    # hundred metres to 3 km, 1-10 m^2 of metal
    KindModel("light_aircraft", I_MANNED, 0.1, ((1.0, 55.0, 22.0),), ((1.0, 1200.0, 1000.0),),
              (6.0, 6.0), 1.5, ((0.5, 1.0), (0.5, 3.0)), ((0.5, 2.5), (0.5, 5.0)), 1.0),
    # gliders: 20-50 m/s in a straight glide, sinking 0.5-2 m/s; circling in thermals at
    # 15-25 deg/s, which a track that cannot follow the circle shows as a drift with the wind
    # at 5-20 m/s (the circles flown tell the thermalling); a composite airframe of 0.1-10 m^2;
    # soaring needs daylight
    KindModel("glider", I_MANNED, 0.05, ((0.6, 30.0, 7.0), (0.4, 12.0, 6.0)),
              ((1.0, 1200.0, 900.0),), (-2.0, 5.0), 2.5, ((0.2, 1.0), (0.8, 2.5)),
              ((0.3, 2.5), (0.7, 5.0)), 1.0, night_factor=0.02),
)


@dataclass(frozen=True)
class ClassModel:
    """The class model: each class is a mixture of kinds (:class:`KindModel`), plus the
    evidence that speaks to the class as a whole (command link, cooperative reports), the
    tempering weights and the floor that keeps any one odd reading from vetoing a kind (a drone
    seen at 80 m/s in a tail wind is still probably a drone)."""

    kinds: tuple[KindModel, ...] = KINDS
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
    """Per-kind mixtures as padded arrays (K, C): weights / (sigma sqrt(2 pi)), means, sigmas;
    and the floor (K,), relative to each mixture's peak so units do not matter."""
    c = max(len(m) for m in mix)
    w, mu, sd = np.zeros((len(mix), c)), np.zeros((len(mix), c)), np.ones((len(mix), c))
    for k, comps in enumerate(mix):
        for j, (a, b, s) in enumerate(comps):
            w[k, j], mu[k, j], sd[k, j] = a, b, s
    coef = w / (sd * math.sqrt(2 * math.pi))
    return coef, mu, sd, floor * coef.max(axis=1)


def _exp_table(mix: tuple[tuple[tuple[float, float], ...], ...]) -> tuple[FloatArray, FloatArray]:
    """Per-kind exponential mixtures as padded arrays (K, M): weight / scale, and scale."""
    m = max(len(c) for c in mix)
    w, sc = np.zeros((len(mix), m)), np.ones((len(mix), m))
    for k, comps in enumerate(mix):
        for j, (a, b) in enumerate(comps):
            w[k, j], sc[k, j] = a / b, b
    return w, sc


class _ModelArrays(NamedTuple):
    """A ClassModel as the kernel's arguments, in its order (per kind k, mixture component j)."""

    kind_cls: NDArray[np.int64]  # (K,) class of each kind
    log_prior: FloatArray  # (K,)
    rival: NDArray[np.bool_]  # (K,) kinds the drone evidence is weighed against (those about)
    sp_coef: FloatArray  # (K, J) speed mixture: weight / (sigma sqrt(2 pi))
    sp_mu: FloatArray  # (K, J)
    sp_sd: FloatArray  # (K, J)
    sp_fl: FloatArray  # (K,) floor
    al_coef: FloatArray  # (K, J) altitude mixture, as speed's
    al_mu: FloatArray
    al_sd: FloatArray
    al_fl: FloatArray
    lam: FloatArray  # (K,) 1 / turn scale
    log_lam: FloatArray
    rcs_m: FloatArray  # (K,) dBsm
    rcs_s: FloatArray
    log_rcs_s: FloatArray
    log_c2: FloatArray  # (3,) per class
    log_adsb: FloatArray
    log_rid: FloatArray
    w: FloatArray  # (5,) tempering weights: speed, altitude, turn, rcs, behaviour
    cl_w: FloatArray  # (K, M) |climb| exponential mixture: weights / scales
    cl_s: FloatArray  # (K, M) scales
    sd_w: FloatArray  # (K, M) speed spread, as |climb|
    sd_s: FloatArray
    circ_s: FloatArray  # (K,) circles' exponential scale
    free_circles: float
    n_beh: float  # plots for the behaviour features to count in full


@functools.lru_cache(maxsize=16)
def _model_arrays(cm: ClassModel, night: bool = False) -> _ModelArrays:
    """The model as the arrays the kernel reads (built once per model and time of day). At
    night each kind's prior takes its ``night_factor``; a kind all but absent then (a factor
    below 0.1) is no rival for the drone evidence."""
    ks = cm.kinds
    if not ks or {k.cls for k in ks} != {I_DRONE, I_BIRD, I_MANNED}:
        raise ValueError("the class model needs at least one kind of each class")
    sp_coef, sp_mu, sp_sd, sp_fl = _mixture_table(tuple(k.speed for k in ks), cm.floor)
    al_coef, al_mu, al_sd, al_fl = _mixture_table(tuple(k.alt for k in ks), cm.floor)
    lam = 1.0 / np.array([k.turn_scale for k in ks])
    m = np.array([k.rcs[0] for k in ks])
    sd = np.array([k.rcs[1] for k in ks])
    weights = np.array([cm.w_speed, cm.w_alt, cm.w_turn, cm.w_rcs, cm.w_behaviour])
    cl_w, cl_s = _exp_table(tuple(k.climb for k in ks))
    sd_w, sd_s = _exp_table(tuple(k.speed_sd for k in ks))
    circ = np.array([k.circles_scale for k in ks])
    return _ModelArrays(
        np.array([k.cls for k in ks], dtype=np.int64),
        np.log(np.array([k.prior * (k.night_factor if night else 1.0) for k in ks])),
        np.array([k.cls != I_DRONE and (not night or k.night_factor >= 0.1) for k in ks]),
        sp_coef, sp_mu, sp_sd, sp_fl, al_coef, al_mu, al_sd, al_fl,
        lam, np.log(lam), m, sd, np.log(sd),
        np.log(np.asarray(cm.c2_link)), np.log(np.asarray(cm.adsb)), np.log(np.asarray(cm.remote_id)),
        weights, cl_w, cl_s, sd_w, sd_s, circ, float(cm.free_circles), float(cm.behaviour_plots),
    )  # fmt: skip


def posterior_and_evidence(
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
    night: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Class posterior (N, 3) from smoothed features, and the drone evidence (N,): the log
    likelihood ratio of the drone kinds against the non-drone kind that explains the features
    best, priors left out (how far the evidence itself separates a drone from the most
    drone-like other kind, whatever their shares; see :func:`decide`).

    speed (N,) m/s horizontal; alt (N,) m; turn (N,) mean |turn rate| deg/s; rcs (N,) mean
    dBsm over ``rcs_n`` readings (0 = no radar attribute, feature ignored); ``c2_n`` (N,)
    number of plots with a drone command-link signature; ``coop`` (N,) cooperative kind.
    Behaviour over the track's life (all four or none): ``climb`` (N,) mean |climb rate| m/s,
    ``speed_sd`` (N,) m/s, ``circles`` (N,) net heading change / 360, over ``n_life`` (N,)
    plots (they count in full from ``model.behaviour_plots``). ``night``: after dark (the
    kinds' night priors).

    Per kind, the log posterior up to a constant is: log prior + the tempered log-likelihoods
    of speed and altitude (floored mixtures), of the turn rate (exponential, capped at 30 deg/s),
    of the RCS (Gaussian, counted once: a target's mean RCS is one draw from its kind, however
    many plots measured it), of the behaviour (exponential mixtures), the command-link plots (at
    most 3) and a cooperative report's kind; a class's posterior is its kinds' sum. One compiled
    loop over the tracks (a tick classifies a few at a time, where numpy's per-call cost was
    most of the work).
    """
    cm = model or ClassModel()
    f = np.float64
    n = np.asarray(speed).shape[0]
    zero = np.zeros(n)
    from skywarden.tracking.classify_kernels import posterior_kernel

    out = posterior_kernel(
        COOP_ADSB, COOP_REMOTE_ID,
        np.asarray(speed, f), np.asarray(alt, f), np.asarray(turn, f), np.asarray(rcs, f),
        np.asarray(rcs_n, np.int64), np.asarray(c2_n, np.int64), np.asarray(coop, np.int8),
        zero if climb is None else np.asarray(climb, f),
        zero if speed_sd is None else np.asarray(speed_sd, f),
        zero if circles is None else np.asarray(circles, f),
        np.zeros(n, np.int64) if n_life is None else np.asarray(n_life, np.int64),
        *_model_arrays(cm, night),
    )  # fmt: skip
    return out[:, :3], out[:, 3]


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
    night: bool = False,
) -> FloatArray:
    """Class posterior (N, 3): :func:`posterior_and_evidence` without the evidence."""
    return posterior_and_evidence(
        speed, alt, turn, rcs, rcs_n, c2_n, coop, model,
        climb=climb, speed_sd=speed_sd, circles=circles, n_life=n_life, night=night,
    )[0]  # fmt: skip


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
