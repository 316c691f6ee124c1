"""The air-defence command as the simulator plays it: kill reports, duplicates and one withdrawal.

The command does not react to anything Skywarden derives, so its whole night is scheduled up
front from the truth:

* every real kill is reported ``report_delay_s`` (the wave's) + a small jitter after it happens,
  at the true kill position + 100-300 m in a random direction, height rounded to 10 m, with the
  unit and effector that engaged it (classified strings) and no track reference. The event's
  ``t`` is the moment of the report; the kill itself happened ``delay`` earlier (in the truth).
* ``duplicates_of``: those kills (1-based, in report order) are reported a second time by another
  unit, 20-60 s later, a few hundred metres apart, under a new report id.
* ``false_report_after``: one report made after that kill's report speaks of a drone that was not
  destroyed (a decoy was hit; the drone flew on, to be killed for real later). It is withdrawn
  3-6 minutes later with a ``KillWithdrawn``. It lies after the given kill so that the numbering
  of the kills before it is not disturbed.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np

from skywarden.events import InputEvent, KillReported, KillWithdrawn
from skywarden.scenario.load import LoadedScenario
from skywarden.scenario.sim.config import SimConfig
from skywarden.scenario.sim.streams import stream, token
from skywarden.scenario.sim.truth import KillReportTruth, Truth, TruthKill

US = 1_000_000
WITHDRAW_REASON = "the engaged target was a decoy: the drone kept flying after the reported kill"


def _unit(rng: np.random.Generator, east: float, north: float, avoid: str = "") -> str:
    """The engaging unit: the regiment covers the kill's quadrant of the ring, a battery in it."""
    quadrant = int(((math.degrees(math.atan2(east, north)) % 360.0) + 45.0) // 90.0) % 4
    while True:
        unit = f"AD regiment {quadrant + 1}, battery {int(rng.integers(1, 7))}"
        if unit != avoid:
            return unit


def _effector(rng: np.random.Generator, dist_m: float) -> str:
    choices: tuple[str, ...]
    if dist_m > 25_000.0:
        choices = ("medium-range SAM", "short-range SAM")
    elif dist_m > 12_000.0:
        choices = ("short-range SAM", "self-propelled AA gun", "interceptor drone")
    else:
        choices = ("mobile fire group", "short-range SAM", "self-propelled AA gun")
    return choices[int(rng.integers(0, len(choices)))]


def _offset(
    rng: np.random.Generator, cfg: SimConfig, east: float, north: float
) -> tuple[float, float]:
    d = float(rng.uniform(*cfg.report_offset_m))
    a = float(rng.uniform(0.0, 2.0 * math.pi))
    return east + d * math.sin(a), north + d * math.cos(a)


class Command:
    """The scheduled reports of the night, released by time through :meth:`due`."""

    rank: int

    def __init__(
        self, scenario: LoadedScenario, truth: Truth, seed: int, cfg: SimConfig, rank: int
    ) -> None:
        self.rank = rank
        schedule, reports = _schedule(scenario, truth, seed, cfg)
        self._schedule = schedule  # [(t_us, seq, event)] sorted
        self.reports = reports
        self._i = 0

    def due(self, after_us: int, upto_us: int) -> list[tuple[int, InputEvent]]:
        out: list[tuple[int, InputEvent]] = []
        while self._i < len(self._schedule) and self._schedule[self._i][0] <= upto_us:
            t_us, _, ev = self._schedule[self._i]
            self._i += 1
            if t_us > after_us:
                out.append((t_us, ev))
        return out


def _schedule(
    scenario: LoadedScenario, truth: Truth, seed: int, cfg: SimConfig
) -> tuple[list[tuple[int, int, InputEvent]], tuple[KillReportTruth, ...]]:
    frame = scenario.frame
    start = truth.start

    def us(t_s: float) -> int:
        return round(t_s * US)

    def report(
        k: TruthKill,
        kind: str,
        t_s: float,
        east: float,
        north: float,
        alt: float,
        rng: np.random.Generator,
        avoid_unit: str = "",
    ) -> KillReported:
        lat, lon = frame.latlon(east, north)
        return KillReported(
            t=start + timedelta(microseconds=us(t_s)),
            report_id="ADC-" + token(seed, kind, k.object_id, n=6),
            lat=round(lat, 6),
            lon=round(lon, 6),
            alt=float(round(max(0.0, alt + float(rng.normal(0.0, 30.0))), -1)),
            track_ref=None,
            unit=_unit(rng, east, north, avoid_unit),
            effector=_effector(rng, math.hypot(east, north)),
        )

    # real kills, in report order
    real: list[tuple[float, TruthKill, KillReported]] = []
    for k in truth.kills:
        rng = stream(seed, "report", k.object_id)
        t_rep = k.t_s + k.report_delay_s + float(rng.uniform(*cfg.report_jitter_s))
        e, n = _offset(rng, cfg, k.east, k.north)
        real.append((t_rep, k, report(k, "kill", t_rep, e, n, k.alt, rng)))
    real.sort(key=lambda x: (x[0], x[1].object_id))
    night_us = (scenario.end - scenario.start) // timedelta(microseconds=1)

    events: list[tuple[int, InputEvent]] = []
    truths: list[KillReportTruth] = []
    for t_rep, k, ev in real:
        events.append((us(t_rep), ev))
        truths.append(KillReportTruth(ev.report_id, "kill", k.object_id, ev.t, k.t))

    for idx in cfg.duplicates_of:
        if not 1 <= idx <= len(real):
            continue
        t_rep, k, orig = real[idx - 1]
        rng = stream(seed, "duplicate", k.object_id)
        t_dup = t_rep + float(rng.uniform(*cfg.duplicate_lag_s))
        e, n = _offset(rng, cfg, k.east, k.north)
        ev = report(k, "duplicate", t_dup, e, n, k.alt, rng, avoid_unit=orig.unit)
        events.append((us(t_dup), ev))
        truths.append(
            KillReportTruth(ev.report_id, "duplicate", k.object_id, ev.t, k.t, orig.report_id)
        )

    after = cfg.false_report_after
    if 0 < after < len(real):
        t_after = real[after - 1][0]
        for _, k, _ in real[after:]:
            t_false = k.t_s - cfg.false_report_lead_s
            if t_false <= t_after + 30.0:
                continue
            col = truth.object(k.object_id).column
            p, _ = truth.enu_at(t_false, np.array([col]))
            if np.isnan(p[0, 0]):
                continue
            # far enough from every real kill near that time that it cannot pass for a duplicate
            close = [
                o
                for o in truth.kills
                if abs(o.t_s - t_false) < 300.0
                and math.hypot(o.east - p[0, 0], o.north - p[0, 1]) < 3_000.0
            ]
            if close:
                continue
            rng = stream(seed, "false", k.object_id)
            e, n = _offset(rng, cfg, float(p[0, 0]), float(p[0, 1]))
            ev = report(k, "false", t_false, e, n, float(p[0, 2]), rng)
            t_wd = t_false + float(rng.uniform(*cfg.withdraw_after_s))
            wd = KillWithdrawn(
                t=start + timedelta(microseconds=us(t_wd)),
                report_id=ev.report_id,
                reason=WITHDRAW_REASON,
            )
            events.append((us(t_false), ev))
            events.append((us(t_wd), wd))
            truths.append(
                KillReportTruth(ev.report_id, "false", k.object_id, ev.t, None, withdrawn_at=wd.t)
            )
            break

    events = [(t, e) for t, e in events if 0 < t <= night_us]
    events.sort(key=lambda x: x[0])  # stable: equal times keep their order above
    schedule = [(t, i, e) for i, (t, e) in enumerate(events)]
    kept = {e.report_id for _, e in events if isinstance(e, KillReported)}
    withdrawn = {e.report_id for _, e in events if isinstance(e, KillWithdrawn)}
    truths = [
        r if r.withdrawn_at is None or r.report_id in withdrawn else replace(r, withdrawn_at=None)
        for r in truths
        if r.report_id in kept
    ]
    truths.sort(key=lambda r: (r.t, r.report_id))
    return schedule, tuple(truths)
