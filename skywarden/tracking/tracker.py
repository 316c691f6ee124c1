"""The multi-sensor multi-target tracker: short wiring of the array kernels.

Every track lives as one row of a set of arrays (:class:`_Tracks`); a scan is processed as

    predict all (IMM) -> gate confirmed -> associate (GNN or JPDA) -> gate tentative with the
    rest -> GNN -> update -> initiate from what no track explains -> confirm (M of N)
    -> delete (coasted, uncertain, duplicate) -> classify

All tracks share one time (the last scan's), so prediction is one batched call per scan with a
single ``dt``; the continuous white-noise model makes two short predictions equal one long one.

Frame: east/north/up metres (local frame), seconds on any epoch; the caller converts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

# association (scipy) and the compiled kernels (numba) are imported in the methods that use
# them: a tracker restored from a snapshot for a tick without plots needs neither
from skywarden.tracking.classify import (
    C2_LINK,
    CLASS_NAMES,
    COOP_ADSB,
    COOP_NONE,
    COOP_REMOTE_ID,
    I_UNKNOWN,
    ClassModel,
    decide,
    posterior_and_evidence,
)
from skywarden.tracking.filters import (
    MotionModel,
    imm_combine,
    inv3_sym,
    markov_matrix,
)

if TYPE_CHECKING:
    from skywarden.tracking import association as assoc

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@cache
def chi2_quantile(p: float, dof: int) -> float:
    """The chi-square quantile (what ``scipy.stats.chi2.ppf`` gives, without importing
    scipy.stats, which costs a command a quarter of a second to start; scipy.special itself is
    imported here, when a configuration is first built, not when the module is)."""
    from scipy.special import gammaincinv

    return float(2.0 * gammaincinv(dof / 2.0, p))


@dataclass(frozen=True)
class TrackerConfig:
    """Every tuning knob of the tracker, with the values that work for a city night.

    Units: metres, seconds, m/s; process noise as acceleration spectral density (m^2/s^3).
    """

    # motion models (IMM: constant velocity + coordinated turns left and right)
    q_cv: float = 0.5  # straight flight: airliners, cruising drones
    q_turn: float = 4.0  # manoeuvring modes
    q_vertical: float = 1.0  # climb/descent, all modes
    turn_rate_deg_s: float = 6.0  # turn rate of the coordinated-turn modes
    mode_sojourn_s: float = 20.0  # mean time spent in one mode
    # gating and association
    # (the chi-square gates are computed when a configuration is built: scipy then, not on import)
    # ~16.3: 0.1 % of true plots fall outside
    gate_chi2: float = field(default_factory=lambda: chi2_quantile(0.999, 3))
    association: Literal["gnn", "jpda"] = "gnn"
    p_detect: float = 0.9  # JPDA: detection probability
    clutter_density: float | None = None  # JPDA: false plots per m^3; None = estimate per scan
    # initiation and confirmation
    init_speed_sigma: float = 80.0  # m/s, horizontal velocity 1-sigma of a one-plot track
    init_vspeed_sigma: float = 10.0  # m/s vertical
    # ~11.3: tighter, clutter pairs up less
    tentative_gate_chi2: float = field(default_factory=lambda: chi2_quantile(0.99, 3))
    max_speed_ms: float = 350.0  # a tentative track faster than this is clutter pairing up
    confirm_m: int = 3  # confirmed after M hits ...
    confirm_n: int = 4  # ... within the first N looks of the sensors that saw it
    tentative_max_age_s: float = 30.0
    drop_single_miss: bool = True  # a one-plot track whose next look misses is dropped
    # deletion
    delete_misses: int = 6  # a confirmed track missed by this many looks in a row is dropped
    delete_after_s: float = 30.0  # ... and in any case when unseen this long (sensors gone quiet)
    max_position_sigma_m: float = 3000.0  # or when it is this uncertain
    merge_chi2: float = 0.0  # > 0: confirmed tracks this close (6-D) are merged; 0 = never
    merge_every_s: float = 1.0  # how often to look for such pairs
    # classification
    class_threshold: float = 0.6
    class_drone_threshold: float = 0.95  # calling an aircraft a drone raises a threat: be sure
    class_drone_hold: float = 0.6  # a drone below this goes back to unknown
    class_drone_min_plots: int = 10  # plots before a track may be called a drone (its behaviour)
    # likelihood ratio of the drone kinds over the most drone-like other kind (a light aircraft
    # cruising, a glider gliding, a bird) before a track may be called a drone: the evidence
    # must separate them, whatever the kinds' shares in the prior
    class_drone_evidence: float = 10.0
    # dark where the tracks fly, until told otherwise (Tracker.set_night; the tracking stage
    # tells it from the sun): the class priors are those of a night of drone attacks
    night: bool = True
    class_margin: float = 0.15
    class_min_age_s: float = 4.0
    class_model: ClassModel = field(default_factory=ClassModel)
    # cooperative reports
    coop_gate_chi2: float = field(default_factory=lambda: chi2_quantile(0.9999, 3))
    adsb_sigma_m: float = 60.0
    remote_id_sigma_m: float = 30.0

    def __post_init__(self) -> None:
        if not 1 <= self.confirm_m <= self.confirm_n:
            raise ValueError(
                f"need 1 <= confirm_m <= confirm_n, got {self.confirm_m} of {self.confirm_n}"
            )
        if self.gate_chi2 <= 0 or self.delete_after_s <= 0:
            raise ValueError("gate_chi2 and delete_after_s must be positive")
        if self.association not in ("gnn", "jpda"):
            raise ValueError(f"association must be 'gnn' or 'jpda', got {self.association!r}")
        if not self.class_drone_evidence > 0:
            raise ValueError(
                f"class_drone_evidence is a likelihood ratio > 0, got {self.class_drone_evidence}"
            )

    def models(self) -> tuple[MotionModel, ...]:
        w = math.radians(self.turn_rate_deg_s)
        return (
            MotionModel("cv", 0.0, self.q_cv, self.q_vertical),
            MotionModel("turn_left", w, self.q_turn, self.q_vertical),
            MotionModel("turn_right", -w, self.q_turn, self.q_vertical),
        )


@dataclass(frozen=True)
class Scan:
    """One sensor's plots at one time. z (M, 3) east/north/up m; R (M, 3, 3) m^2."""

    t: float
    sensor_id: str
    z: FloatArray
    R: FloatArray
    rcs_dbsm: FloatArray | None = None  # (M,)
    signature: Sequence[str] | None = None  # (M,)
    # (east, north, up, max range) m of the sensor: a track outside it was not looked at, so it
    # counts no miss (a target that flew out of one radar's reach is not lost)
    coverage: tuple[float, float, float, float] | None = None
    # False for a coarse sensor (an RF detector's 250 m fixes): its plots refine and inform the
    # confirmed tracks they fall in, but never start or confirm a track, so the scatter of one
    # drone's fixes cannot grow tracks beside the one the radars hold
    initiates: bool = True
    # (M,) bool, True for a plot that may only update a confirmed track, neither start nor feed
    # a tentative one: a radar plot in the Doppler notch (near-zero radial speed, where ground
    # clutter lies, so clutter cannot grow tracks however dense it is); None = no such plot
    update_only: NDArray[np.bool_] | None = None

    def __post_init__(self) -> None:
        z = (
            np.asarray(self.z, dtype=np.float64).reshape(-1, 3)
            if np.size(self.z)
            else np.zeros((0, 3))
        )
        R = (
            np.asarray(self.R, dtype=np.float64).reshape(-1, 3, 3)
            if np.size(self.R)
            else np.zeros((0, 3, 3))
        )
        if len(z) != len(R):
            raise ValueError(f"scan from {self.sensor_id}: z has {len(z)} rows but R has {len(R)}")
        if not math.isfinite(self.t):
            raise ValueError(f"scan from {self.sensor_id}: time {self.t} is not finite")
        if not (np.isfinite(z).all() and np.isfinite(R).all()):
            raise ValueError(f"scan from {self.sensor_id}: plots or covariances are not finite")
        if len(R) and not (R[:, [0, 1, 2], [0, 1, 2]] > 0).all():
            raise ValueError(
                f"scan from {self.sensor_id}: a covariance has a non-positive variance"
            )
        object.__setattr__(self, "z", z)
        object.__setattr__(self, "R", R)
        if self.rcs_dbsm is not None:
            rcs = np.asarray(self.rcs_dbsm, dtype=np.float64).reshape(-1)
            if len(rcs) != len(z):
                raise ValueError(
                    f"scan from {self.sensor_id}: {len(rcs)} rcs values for {len(z)} plots"
                )
            object.__setattr__(self, "rcs_dbsm", rcs)
        if self.update_only is not None:
            uo = np.asarray(self.update_only, dtype=bool).reshape(-1)
            if len(uo) != len(z):
                raise ValueError(
                    f"scan from {self.sensor_id}: {len(uo)} update_only flags for {len(z)} plots"
                )
            object.__setattr__(self, "update_only", uo)
        if self.signature is not None and len(self.signature) != len(z):
            raise ValueError(
                f"scan from {self.sensor_id}: {len(self.signature)} signatures for {len(z)} plots"
            )


@dataclass(frozen=True)
class TrackTable:
    """Confirmed tracks at time ``t`` (struct of arrays, N rows, sorted by id)."""

    t: float
    ids: IntArray  # (N,)
    x: FloatArray  # (N, 6) [e, n, u, ve, vn, vu] m, m/s
    P: FloatArray  # (N, 6, 6)
    cls: NDArray[np.str_]  # (N,) "drone" | "bird" | "manned_aircraft" | "unknown"
    p_cls: FloatArray  # (N,)
    identity: NDArray[np.str_]  # (N,) callsign / UAS id, "" when none
    age_s: FloatArray  # (N,) since the first plot
    last_hit_t: FloatArray  # (N,) time of the last plot
    sensor_mask: IntArray  # (N,) bit k set when sensor_names[k] contributed a plot
    sensor_names: tuple[str, ...]  # in order of first sight (bits are shared beyond 62 sensors)
    posterior: FloatArray  # (N, 3) drone, bird, manned
    # (N, 8) speed m/s, alt m, turn deg/s, rcs dBsm (nan), c2 plots; over the track's life:
    # |climb| m/s, speed's standard deviation m/s, circles flown (see Tracker._circles); and the
    # drone evidence, a log likelihood ratio (classify.posterior_and_evidence); (N, 9)
    features: FloatArray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def sensors(self, k: int) -> list[str]:
        """The sensors that contributed to row k."""
        m = int(self.sensor_mask[k])
        return [s for j, s in enumerate(self.sensor_names) if m & (1 << (j % 62))]


class _Tracks:
    """Struct of arrays over all live tracks (tentative and confirmed)."""

    FIELDS = (
        "xm", "Pm", "mu", "x", "P", "tid", "confirmed", "hits", "opps", "t_birth", "t_hit",
        "smask", "misses", "f_n", "f_speed", "f_alt", "f_turn", "f_climb", "f_slow", "f_svar", "f_wind",
        "f_rate", "f_rpk",
        "v_prev", "rcs_n", "rcs_mean", "c2_n",
        "coop", "coop_t", "ident", "cls", "p_cls", "post", "ev", "dirty",
    )  # fmt: skip

    def __init__(self, r: int) -> None:
        self.xm = np.zeros((0, r, 6))
        self.Pm = np.zeros((0, r, 6, 6))
        self.mu = np.zeros((0, r))
        self.x = np.zeros((0, 6))
        self.P = np.zeros((0, 6, 6))
        self.tid = np.zeros(0, dtype=np.int64)  # 0 while tentative
        self.confirmed = np.zeros(0, dtype=bool)
        self.hits = np.zeros(0, dtype=np.int64)
        self.opps = np.zeros(0, dtype=np.int64)
        self.t_birth = np.zeros(0)
        self.t_hit = np.zeros(0)
        self.smask = np.zeros(0, dtype=np.int64)
        self.misses = np.zeros(0, dtype=np.int64)  # looks in a row without a plot
        self.f_n = np.zeros(0, dtype=np.int64)
        self.f_speed = np.zeros(0)
        self.f_alt = np.zeros(0)
        self.f_turn = np.zeros(0)
        self.f_climb = np.zeros(0)  # long-memory features: |climb| m/s, speed m/s, its
        self.f_slow = np.zeros(0)  # variance m^2/s^2, net heading change deg
        self.f_svar = np.zeros(0)
        self.f_wind = np.zeros(0)
        self.f_rate = np.zeros(0)  # signed turn rate over about 30 s, deg/s
        self.f_rpk = np.zeros(0)  # its largest size since the 20th plot
        self.v_prev = np.zeros((0, 2))
        self.rcs_n = np.zeros(0, dtype=np.int64)
        self.rcs_mean = np.zeros(0)
        self.c2_n = np.zeros(0, dtype=np.int64)
        self.coop = np.zeros(0, dtype=np.int8)
        self.coop_t = np.zeros(0)
        # identity as a code into Tracker._idents (0: none): an object array would be walked by
        # the garbage collector at every collection, which at 5,000 tracks cost 5 ms a scan
        self.ident = np.zeros(0, dtype=np.int64)
        self.cls = np.zeros(0, dtype=np.int8)
        self.p_cls = np.zeros(0)
        self.post = np.zeros((0, 3))
        self.ev = np.zeros(0)  # drone evidence: log likelihood ratio (classify.posterior_and_evidence)
        self.dirty = np.zeros(0, dtype=bool)  # features changed since the last classification

    def __len__(self) -> int:
        return int(self.tid.shape[0])

    def keep(self, mask: NDArray[np.bool_]) -> None:
        for f in self.FIELDS:
            setattr(self, f, getattr(self, f)[mask])

    def extend(self, other: _Tracks) -> None:
        for f in self.FIELDS:
            setattr(self, f, np.concatenate([getattr(self, f), getattr(other, f)]))


class Tracker:
    """Multi-sensor multi-target tracker over arrays. ``step(scan)`` -> confirmed tracks.

    Scans must come in non-decreasing time order (any epoch, seconds). Track ids are positive
    integers given at confirmation, in confirmation order, never reused.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.cfg = config or TrackerConfig()
        self._models = self.cfg.models()
        self._r = len(self._models)
        self.t: float | None = None
        self.night = self.cfg.night  # dark where the tracks fly (set_night)
        self._tr = _Tracks(self._r)
        self._next_id = 1
        self._sensor_bit: dict[str, int] = {}
        self._sensor_names: list[str] = []
        self._idents: list[str] = [""]  # cooperative identities; code 0 is none
        self._ident_code: dict[str, int] = {"": 0}
        self._confirmed_log: list[int] = []
        self._dropped_log: list[tuple[int, str]] = []
        self._fq_cache: dict[float, tuple[FloatArray, FloatArray, FloatArray]] = {}
        self._t_merge: float | None = None
        self._last_beta: tuple[FloatArray, FloatArray] = (np.zeros(0), np.zeros(0))
        self.counts = {
            "scans": 0,
            "plots": 0,
            "initiated": 0,
            "confirmed": 0,
            "dropped": 0,
            "identity_changes": 0,
            "support_unused": 0,  # plots of non-initiating scans that no confirmed track took
        }

    # ------------------------------------------------------------------ public

    def step(self, scan: Scan) -> TrackTable:
        """Process one scan; returns the confirmed tracks after it, classified."""
        self.process(scan)
        self.classify()
        return self.table()

    def process(self, scan: Scan) -> None:
        """Process one scan without classifying or building the table (the fast path for a
        caller that reads the picture less often than scans arrive; call :meth:`classify`
        before reading classes). A scan without plots only counts as a look: the states stay
        at the last scan with plots, so an empty scan costs next to nothing."""
        if self.t is not None and scan.t < self.t:
            raise ValueError(
                f"scan at t={scan.t} is earlier than the last one (t={self.t}); scans must be time-ordered"
            )
        self.counts["scans"] += 1
        self.counts["plots"] += len(scan.z)
        bit = self._bit(scan.sensor_id)
        if len(scan.z):
            self._predict(scan.t)
        elif self.t is None:
            self.t = scan.t
        tr = self._tr
        # a look by this sensor is an opportunity for every tentative track it has seen before
        looked = (tr.smask & bit) != 0
        if scan.coverage is not None and looked.any():
            ce, cn, cu, cr = scan.coverage
            d2 = (tr.x[:, 0] - ce) ** 2 + (tr.x[:, 1] - cn) ** 2 + (tr.x[:, 2] - cu) ** 2
            looked &= d2 <= cr * cr
        if not len(scan.z) and not looked.any():
            return  # a sensor that sees nothing and never saw any of these tracks: nothing to do
        if not scan.initiates:
            looked &= tr.confirmed  # it never counts for (or against) confirmation
        tr.opps[looked] += 1
        tr.misses[looked] += 1
        if len(scan.z):
            self._associate_and_update(scan, bit)
            self._confirm(scan.t)
        self._delete(scan.t)
        if len(scan.z) and (
            self._t_merge is None or scan.t - self._t_merge >= self.cfg.merge_every_s
        ):
            self._merge_duplicates()
            self._t_merge = scan.t

    def maintain(self, t: float) -> None:
        """Drop tracks gone stale by time ``t`` when no scan has come (every sensor quiet or
        down); does not move the track states."""
        if self.t is None or t <= self.t or len(self._tr) == 0:
            return
        tr, cfg = self._tr, self.cfg
        # only the clock rules can fire without a scan: check them before the full pass
        stale = float(tr.t_hit.min()) < t - cfg.delete_after_s
        if stale or (~tr.confirmed & (tr.t_birth < t - cfg.tentative_max_age_s)).any():
            self._delete(t)

    def cooperative(
        self,
        t: float,
        kind: Literal["adsb", "remote_id"],
        ident: str,
        enu_pos: FloatArray,
        enu_vel: FloatArray | None = None,
    ) -> int | None:
        """Attach a cooperative report (ADS-B: manned aircraft; Remote ID: a declared drone) to
        the track it matches; returns that track's index in the arrays (None if none matched).

        The report is compared with each confirmed track's position extrapolated to ``t``
        (Mahalanobis, track covariance plus the report's own error, and the velocity when
        given). An identity moves with its report: the track that carried it before loses it.
        ``counts["identity_changes"]`` counts the attachments that changed something.
        """
        if kind not in ("adsb", "remote_id"):
            raise ValueError(f"cooperative kind must be 'adsb' or 'remote_id', got {kind!r}")
        tr = self._tr
        if len(tr) == 0 or self.t is None:
            return None
        pos = np.asarray(enu_pos, dtype=np.float64).reshape(3)
        vel = None if enu_vel is None else np.asarray(enu_vel, dtype=np.float64).reshape(3)
        sig = self.cfg.adsb_sigma_m if kind == "adsb" else self.cfg.remote_id_sigma_m
        code = self._ident_code.get(ident)
        if code is None:
            code = self._ident_code[ident] = len(self._idents)
            self._idents.append(ident)
        holders = np.flatnonzero(tr.ident == code)
        # the track that already carries this identity, if it still matches, keeps it
        held = holders[tr.confirmed[holders]]
        if held.size == 1 and self._coop_scores(held, t, pos, vel, sig)[0].size:
            tr.coop_t[held[0]] = t
            return int(held[0])
        rows = np.flatnonzero(tr.confirmed)
        ti, score = self._coop_scores(rows, t, pos, vel, sig)
        if ti.size == 0:
            return None
        i = int(ti[int(np.argmin(score))])
        for h in holders:
            if h != i:
                tr.ident[h] = 0
                tr.coop[h] = COOP_NONE
                tr.dirty[h] = True
        kind_code = COOP_ADSB if kind == "adsb" else COOP_REMOTE_ID
        if tr.ident[i] != code or tr.coop[i] != kind_code or holders.size:
            self.counts["identity_changes"] += 1
        tr.ident[i] = code
        tr.coop[i] = kind_code
        tr.coop_t[i] = t
        tr.dirty[i] = True
        return i

    def _coop_scores(
        self, rows: IntArray, t: float, pos: FloatArray, vel: FloatArray | None, sig: float
    ) -> tuple[IntArray, FloatArray]:
        """Rows whose extrapolated position gates the report, with a matching score."""
        from skywarden.tracking import association as assoc

        tr = self._tr
        assert self.t is not None
        dt = t - self.t
        x, P = tr.x[rows], tr.P[rows]
        pred = x[:, :3] + dt * x[:, 3:]
        # P_pos(t) = P_pp + dt (P_pv + P_vp) + dt^2 P_vv
        Pp = P[:, :3, :3] + dt * (P[:, :3, 3:] + P[:, 3:, :3]) + dt * dt * P[:, 3:, 3:]
        R = (np.eye(3) * sig**2)[None]
        g = assoc.gate(pred, Pp, pos[None, :], R, self.cfg.coop_gate_chi2)
        score = g.cost.copy()
        if vel is not None and g.ti.size:
            dv = x[g.ti, 3:5] - vel[None, :2]
            var = P[g.ti, 3, 3] + P[g.ti, 4, 4] + 2 * 10.0**2
            score += np.sum(dv * dv, axis=1) / var  # the velocity must agree too
        return rows[g.ti], score

    def table(self) -> TrackTable:
        """The confirmed tracks now, sorted by id."""
        tr = self._tr
        idx = np.flatnonzero(tr.confirmed)
        idx = idx[np.argsort(tr.tid[idx], kind="stable")]
        t = self.t if self.t is not None else 0.0
        rcs = np.where(tr.rcs_n[idx] > 0, tr.rcs_mean[idx], np.nan)
        feats = np.column_stack(
            [tr.f_speed[idx], tr.f_alt[idx], tr.f_turn[idx], rcs, tr.c2_n[idx].astype(float),
             tr.f_climb[idx], np.sqrt(tr.f_svar[idx]), self._circles(idx), tr.ev[idx]]
        )
        return TrackTable(
            t=t,
            ids=tr.tid[idx].copy(),
            x=tr.x[idx].copy(),
            P=tr.P[idx].copy(),
            cls=CLASS_NAMES[tr.cls[idx]],
            p_cls=tr.p_cls[idx].copy(),
            identity=np.array(self._idents, dtype=str)[tr.ident[idx]],
            age_s=t - tr.t_birth[idx],
            last_hit_t=tr.t_hit[idx].copy(),
            sensor_mask=tr.smask[idx].copy(),
            sensor_names=tuple(self._sensor_names),
            posterior=tr.post[idx].copy(),
            features=feats,
        )

    def take_lifecycle(self) -> tuple[list[int], list[tuple[int, str]]]:
        """Ids confirmed and (id, reason) dropped since the last call, in order."""
        c, d = self._confirmed_log, self._dropped_log
        self._confirmed_log, self._dropped_log = [], []
        return c, d

    @property
    def n_tentative(self) -> int:
        return int(np.count_nonzero(~self._tr.confirmed))

    # ------------------------------------------------------------------ steps

    def _bit(self, sensor_id: str) -> int:
        b = self._sensor_bit.get(sensor_id)
        if b is None:
            k = len(self._sensor_names)
            b = 1 << (k % 62)  # beyond 62 sensors bits are shared: looks count a little early
            self._sensor_bit[sensor_id] = b
            self._sensor_names.append(sensor_id)
        return b

    def _fq(self, dt: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        key = round(dt, 9)
        hit = self._fq_cache.get(key)
        if hit is None:
            F = np.stack([m.F(dt) for m in self._models])
            Q = np.stack([m.Q(dt) for m in self._models])
            Pi = markov_matrix(self._r, dt, self.cfg.mode_sojourn_s)
            hit = (F, Q, Pi)
            if len(self._fq_cache) > 256:
                self._fq_cache.clear()
            self._fq_cache[key] = hit
        return hit

    def _predict(self, t: float) -> None:
        from skywarden.tracking import kernels

        if self.t is None:
            self.t = t
            return
        dt = t - self.t
        self.t = t
        tr = self._tr
        if dt <= 0 or len(tr) == 0:
            return
        F, Q, Pi = self._fq(dt)
        # in place: mixing, each mode's prediction, mu := cbar, and the combined x, P
        kernels.imm_predict_combine(tr.xm, tr.Pm, tr.mu, F, Q, Pi, tr.x, tr.P)

    def _associate_and_update(self, scan: Scan, bit: int) -> None:
        from skywarden.tracking import association as assoc
        from skywarden.tracking import kernels

        cfg, tr = self.cfg, self._tr
        z, R = scan.z, scan.R
        m = len(z)
        conf = np.flatnonzero(tr.confirmed)
        tent = np.flatnonzero(~tr.confirmed)
        used = np.zeros(m, dtype=bool)
        in_conf_gate = np.zeros(m, dtype=bool)
        upd_t: list[IntArray] = []
        upd_m: list[IntArray] = []
        # one gate for every track at the wider threshold, then split by kind
        g = assoc.gate(
            tr.x[:, :3], tr.P[:, :3, :3], z, R, max(cfg.gate_chi2, cfg.tentative_gate_chi2)
        )
        is_conf = tr.confirmed[g.ti]
        local = np.empty(len(tr), dtype=np.int64)
        local[conf] = np.arange(conf.size)
        local[tent] = np.arange(tent.size)
        # 1. confirmed tracks first: a tentative track must never steal a confirmed one's plot
        if conf.size:
            sel = is_conf & (g.d2 <= cfg.gate_chi2)
            gc = assoc.Gated(local[g.ti[sel]], g.mj[sel], g.d2[sel], g.logdet[sel])
            in_conf_gate[gc.mj] = True
            if cfg.association == "jpda" and gc.ti.size:
                self._jpda_update(conf, gc, z, R, scan)
                # plots mostly explained by a track are spent; the rest may start tracks
                beta, _ = self._last_beta
                spent = np.bincount(gc.mj, weights=beta, minlength=m) > 0.5
                used |= spent
            else:
                at, am = assoc.gnn(len(conf), m, gc)
                upd_t.append(conf[at])
                upd_m.append(am)
                used[am] = True
        # 2. tentative tracks with the plots left
        if tent.size and scan.initiates:
            sel = ~is_conf & (g.d2 <= cfg.tentative_gate_chi2)
            sel[sel] = ~used[g.mj[sel]]
            if scan.update_only is not None:
                sel[sel] = ~scan.update_only[g.mj[sel]]
            gt = assoc.Gated(local[g.ti[sel]], g.mj[sel], g.d2[sel], g.logdet[sel])
            at, am = assoc.gnn(len(tent), m, gt)
            upd_t.append(tent[at])
            upd_m.append(am)
            used[am] = True
        if upd_t:
            ti = np.concatenate(upd_t)
            mj = np.concatenate(upd_m)
            if ti.size:
                # in place on those rows (one plot each): every mode, the mode weights, x, P
                kernels.imm_update_rows(tr.xm, tr.Pm, tr.mu, tr.x, tr.P, ti, z, R, mj)
                self._record_hits(ti, mj, scan, bit)
        # 3. what no track explains, and no confirmed gate holds, starts a tentative track
        free = ~used & ~in_conf_gate
        if scan.update_only is not None:
            free &= ~scan.update_only
        new = np.flatnonzero(free)
        if not scan.initiates:
            self.counts["support_unused"] += int(new.size)
        elif new.size:
            self._initiate(scan, new, bit)

    def _jpda_update(
        self, rows: IntArray, g: assoc.Gated, z: FloatArray, R: FloatArray, scan: Scan
    ) -> None:
        """IMM-JPDA update of the confirmed tracks ``rows`` (combined innovation per mode)."""
        from skywarden.tracking import association as assoc

        cfg, tr = self.cfg, self._tr
        lam = cfg.clutter_density
        if lam is None:
            ext = (
                np.maximum(np.ptp(z, axis=0), [2000.0, 2000.0, 1000.0])
                if len(z) > 1
                else np.array([2e4, 2e4, 2e3])
            )
            lam = max(len(z), 1) / float(np.prod(ext))
        beta, beta0 = assoc.jpda(len(rows), len(z), g, cfg.p_detect, lam)
        self._last_beta = (beta, beta0)
        # every gated pair at once, grouped by track (pairs sorted by track, reduceat per group)
        order = np.argsort(g.ti, kind="stable")
        ti, mj, b = g.ti[order], g.mj[order], beta[order]
        touched, start = np.unique(ti, return_index=True)
        pos = np.searchsorted(touched, ti)  # pair -> row in the touched block
        i = rows[touched]
        b0 = beta0[touched]
        xm, Pm = tr.xm[i], tr.Pm[i]  # (T, r, 6), (T, r, 6, 6)
        bsum = np.add.reduceat(b, start)
        # plots of one track share one gain: R weighted by the association probabilities
        Rbar = (
            np.add.reduceat(b[:, None, None] * R[mj], start)
            / np.maximum(bsum, 1e-12)[:, None, None]
        )
        Si, _ = inv3_sym(Pm[:, :, :3, :3] + Rbar[:, None])
        PHt = Pm[:, :, :, :3]
        K = PHt @ Si  # (T, r, 6, 3)
        y = z[mj][:, None, :] - xm[pos][:, :, :3]  # (K, r, 3)
        yc = np.add.reduceat(b[:, None, None] * y, start)  # combined innovation (T, r, 3)
        yy = np.add.reduceat(b[:, None, None, None] * y[..., :, None] * y[..., None, :], start)
        spread = yy - yc[..., :, None] * yc[..., None, :]
        Kt = np.swapaxes(K, -1, -2)
        Pc = Pm - K @ np.swapaxes(PHt, -1, -2)  # the update had the plot surely been the track's
        # P = b0 P + (1 - b0) Pc + K (sum b y y' - yc yc') K'
        w0 = b0[:, None, None, None]
        Pn = w0 * Pm + (1 - w0) * Pc + K @ spread @ Kt
        xn = xm + (K @ yc[..., None])[..., 0]
        # mode likelihood: (1 - pD) + pD/lambda sum_k N(y_k; 0, S_rk)   (IMM-PDA)
        Sk = Pm[pos][:, :, :3, :3] + R[mj][:, None]
        d2, logdet = assoc._mahalanobis3(y.reshape(-1, 3), Sk.reshape(-1, 3, 3))
        dens = np.exp(-0.5 * (d2 + logdet) - 1.5 * math.log(2 * math.pi)).reshape(len(mj), self._r)
        lik = (1 - cfg.p_detect) + cfg.p_detect / lam * np.add.reduceat(dens, start)
        mu = lik * tr.mu[i]
        tr.xm[i], tr.Pm[i] = xn, 0.5 * (Pn + np.swapaxes(Pn, -1, -2))
        tr.mu[i] = mu / mu.sum(axis=1, keepdims=True)
        tr.x[i], tr.P[i] = imm_combine(tr.xm[i], tr.Pm[i], tr.mu[i])
        hit = b0 < 0.5
        if hit.any():
            # the plot most likely to be the track's, for attributes and bookkeeping
            best = np.lexsort((-b, pos))  # by track, then by decreasing beta
            first = best[np.searchsorted(pos[best], np.arange(touched.size))]
            self._record_hits(i[hit], mj[first][hit], scan, self._bit(scan.sensor_id))

    def _record_hits(self, ti: IntArray, mj: IntArray, scan: Scan, bit: int) -> None:
        from skywarden.tracking import kernels

        tr = self._tr
        kernels.record_hits(
            ti, scan.t, bit, tr.x, tr.hits, tr.misses, tr.dirty, tr.opps, tr.smask, tr.t_hit,
            tr.v_prev, tr.f_n, tr.f_speed, tr.f_alt, tr.f_turn, tr.f_climb, tr.f_slow, tr.f_svar,
            tr.f_wind, tr.f_rate, tr.f_rpk,
        )  # fmt: skip
        if scan.rcs_dbsm is not None:
            rv = scan.rcs_dbsm[mj]
            ok = np.isfinite(rv)
            k = ti[ok]
            tr.rcs_n[k] += 1
            ar = np.maximum(1.0 / tr.rcs_n[k], 0.1)
            tr.rcs_mean[k] += ar * (rv[ok] - tr.rcs_mean[k])
        if scan.signature is not None:
            sig = np.array([scan.signature[j] == C2_LINK for j in mj.tolist()], dtype=bool)
            tr.c2_n[ti[sig]] += 1

    def _initiate(self, scan: Scan, rows: IntArray, bit: int) -> None:
        cfg, r = self.cfg, self._r
        k = rows.size
        new = _Tracks.__new__(_Tracks)  # every field is set below
        x = np.zeros((k, 6))
        x[:, :3] = scan.z[rows]
        P = np.zeros((k, 6, 6))
        P[:, :3, :3] = scan.R[rows]
        P[:, 3, 3] = P[:, 4, 4] = cfg.init_speed_sigma**2
        P[:, 5, 5] = cfg.init_vspeed_sigma**2
        new.x, new.P = x, P
        new.xm = np.repeat(x[:, None, :], r, axis=1)
        new.Pm = np.repeat(P[:, None, :, :], r, axis=1)
        new.mu = np.full((k, r), 1.0 / r)
        new.tid = np.zeros(k, dtype=np.int64)
        new.confirmed = np.zeros(k, dtype=bool)
        new.hits = np.ones(k, dtype=np.int64)
        new.opps = np.ones(k, dtype=np.int64)
        new.t_birth = np.full(k, scan.t)
        new.t_hit = np.full(k, scan.t)
        new.smask = np.full(k, bit, dtype=np.int64)
        new.misses = np.zeros(k, dtype=np.int64)
        new.f_n = np.zeros(k, dtype=np.int64)
        new.f_speed = np.zeros(k)
        new.f_alt = x[:, 2].copy()
        new.f_turn = np.zeros(k)
        new.f_climb = np.zeros(k)
        new.f_slow = np.zeros(k)
        new.f_svar = np.zeros(k)
        new.f_wind = np.zeros(k)
        new.f_rate = np.zeros(k)
        new.f_rpk = np.zeros(k)
        new.v_prev = np.zeros((k, 2))
        new.rcs_n = np.zeros(k, dtype=np.int64)
        new.rcs_mean = np.zeros(k)
        if scan.rcs_dbsm is not None:
            rv = scan.rcs_dbsm[rows]
            ok = np.isfinite(rv)
            new.rcs_n[ok] = 1
            new.rcs_mean[ok] = rv[ok]
        new.c2_n = np.zeros(k, dtype=np.int64)
        if scan.signature is not None:
            new.c2_n = np.array(
                [scan.signature[j] == C2_LINK for j in rows.tolist()], dtype=np.int64
            )
        new.coop = np.zeros(k, dtype=np.int8)
        new.coop_t = np.zeros(k)
        new.ident = np.zeros(k, dtype=np.int64)
        new.cls = np.full(k, I_UNKNOWN, dtype=np.int8)
        new.p_cls = np.zeros(k)
        new.post = np.full((k, 3), 1.0 / 3)
        new.ev = np.zeros(k)
        new.dirty = np.ones(k, dtype=bool)
        self._tr.extend(new)
        self.counts["initiated"] += k

    def _confirm(self, t: float) -> None:
        tr, cfg = self._tr, self.cfg
        ok = (
            ~tr.confirmed
            & (tr.hits >= cfg.confirm_m)
            & (np.hypot(tr.x[:, 3], tr.x[:, 4]) <= cfg.max_speed_ms)
        )
        idx = np.flatnonzero(ok)  # in row order, as ids are given
        ids = np.arange(self._next_id, self._next_id + idx.size, dtype=np.int64)
        tr.confirmed[idx] = True
        tr.tid[idx] = ids
        self._confirmed_log.extend(ids.tolist())
        self._next_id += int(idx.size)
        self.counts["confirmed"] += int(idx.size)

    def _delete(self, t: float) -> None:
        """Tentative tracks failing M-of-N or too old; confirmed tracks missed by
        ``delete_misses`` looks in a row, unseen for ``delete_after_s`` or too uncertain. Time-based, so a sensor that stops reporting
        drops only the tracks no other sensor still sees."""
        tr, cfg = self._tr, self.cfg
        if len(tr) == 0:
            return
        tent = ~tr.confirmed
        # M of N failed: even hitting every remaining look cannot reach M
        too_fast = tent & (tr.hits >= 2) & (np.hypot(tr.x[:, 3], tr.x[:, 4]) > cfg.max_speed_ms)
        # a one-plot track whose next look missed is almost always clutter; the target's next
        # plot starts it again, so dropping it costs one look and halves the tentative load
        one_miss = (
            tent & (tr.hits == 1) & (tr.opps >= 2) if cfg.drop_single_miss else np.zeros_like(tent)
        )
        dead_t = (
            too_fast
            | one_miss
            | tent
            & (
                (tr.hits + (cfg.confirm_n - tr.opps) < cfg.confirm_m)
                | (t - tr.t_birth > cfg.tentative_max_age_s)
            )
        )
        stale = tr.confirmed & (
            (tr.misses >= cfg.delete_misses) | (t - tr.t_hit > cfg.delete_after_s)
        )
        var_h = tr.P[:, 0, 0] + tr.P[:, 1, 1]
        lost = tr.confirmed & ~stale & (var_h > 2 * cfg.max_position_sigma_m**2)
        gone = dead_t | stale | lost
        if not gone.any():
            return
        for i in np.flatnonzero(stale | lost):
            reason = (
                f"no detection for {t - tr.t_hit[i]:.0f} s ({tr.misses[i]} looks)"
                if stale[i]
                else f"position uncertainty above {cfg.max_position_sigma_m:.0f} m"
            )
            self._dropped_log.append((int(tr.tid[i]), reason))
        self.counts["dropped"] += int(np.count_nonzero(stale | lost))
        tr.keep(~gone)

    def _merge_duplicates(self) -> None:
        """Two confirmed tracks on one target (born from two sensors before either could claim
        the other's plots) converge; the younger one is dropped."""
        from skywarden.tracking import association as assoc

        tr, cfg = self._tr, self.cfg
        conf = np.flatnonzero(tr.confirmed)
        if conf.size < 2 or cfg.merge_chi2 <= 0:
            return
        pos = tr.x[conf, :3]
        Pp = tr.P[conf, :3, :3]
        g = assoc.gate(pos, Pp, pos, Pp, cfg.merge_chi2)
        pair = g.ti < g.mj
        if not pair.any():
            return
        a, b = conf[g.ti[pair]], conf[g.mj[pair]]
        dv = tr.x[a, 3:] - tr.x[b, 3:]
        Sv = tr.P[a, 3:, 3:] + tr.P[b, 3:, 3:]
        dv2, _ = assoc._mahalanobis3(dv, Sv)
        # two tracks that each took a plot of the same scan are two objects (birds of a flock,
        # a formation), however close: only tracks that never do are one target seen twice
        same = (dv2 <= cfg.merge_chi2) & (tr.t_hit[a] != tr.t_hit[b])
        if not same.any():
            return
        drop = np.zeros(len(tr), dtype=bool)
        for i, j in zip(a[same].tolist(), b[same].tolist(), strict=True):
            if drop[i] or drop[j]:
                continue
            young = j if tr.tid[j] > tr.tid[i] else i
            old = i if young == j else j
            drop[young] = True
            self._dropped_log.append((int(tr.tid[young]), f"merged into track {int(tr.tid[old])}"))
            if tr.ident[young] and not tr.ident[old]:
                tr.ident[old], tr.coop[old] = tr.ident[young], tr.coop[young]
                tr.dirty[old] = True
        self.counts["dropped"] += int(np.count_nonzero(drop))
        tr.keep(~drop)

    def _circles(self, rows: IntArray) -> FloatArray:
        """Circles flown by the tracks ``rows``: the net heading change / 360, or the turn of
        30 s at the highest 30-s average turn rate, whichever is more."""
        tr = self._tr
        return np.maximum(np.abs(tr.f_wind[rows]), 30.0 * tr.f_rpk[rows]) / 360.0

    def set_night(self, night: bool) -> None:
        """Say whether it is dark where the tracks fly (the kinds' night priors: a glider
        soars by day); every track is classified afresh when it changes."""
        if night != self.night:
            self.night = night
            self._tr.dirty[:] = True

    def classify(self) -> None:
        """(Re)classify every track from its features (see :mod:`.classify`)."""
        tr, cfg, t = self._tr, self.cfg, self.t
        if len(tr) == 0 or t is None:
            return
        # only tracks whose features moved since the last call need a new posterior
        d = np.flatnonzero(tr.dirty)
        if d.size:
            tr.post[d], tr.ev[d] = posterior_and_evidence(
                tr.f_speed[d],
                tr.f_alt[d],
                tr.f_turn[d],
                tr.rcs_mean[d],
                tr.rcs_n[d],
                tr.c2_n[d],
                tr.coop[d],
                cfg.class_model,
                climb=tr.f_climb[d],
                speed_sd=np.sqrt(tr.f_svar[d]),
                circles=self._circles(d),
                n_life=np.maximum(tr.f_n[d] - 4, 0),  # long memory starts at the 5th plot
                night=self.night,
            )
            tr.dirty[d] = False
        post = tr.post
        eligible = ((t - tr.t_birth) >= cfg.class_min_age_s) | (tr.coop != COOP_NONE)
        coop = tr.coop != COOP_NONE
        # a drone needs its behaviour seen, and evidence that separates it from every other
        # kind by itself (not the kinds' shares): or else a cooperative declaration
        drone_ok = eligible & (
            ((tr.f_n >= cfg.class_drone_min_plots) & (tr.ev >= math.log(cfg.class_drone_evidence)))
            | coop
        )
        tr.cls = decide(post, tr.cls, eligible, cfg.class_threshold, cfg.class_margin,
                        cfg.class_drone_threshold, cfg.class_drone_hold, drone_ok)
        best = np.argmax(post, axis=1)
        shown = np.where(tr.cls == I_UNKNOWN, best, tr.cls)
        tr.p_cls = post[np.arange(len(tr)), shown]
