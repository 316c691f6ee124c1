"""Simulated emergency crews: they answer dispatches with the reports a real crew radios in.

On a ``CrewDispatched`` (a derived event the simulator observes) the crew reports, each as a
``CrewReported`` input:

    en_route            a few seconds after the dispatch, with its ETA (s)
    on_site             dispatch + ETA * U(0.9, 1.25) (traffic, finding the wreck)
    wreckage_recovered  20-45 min on site
    site_closed         5-15 min after that

The crew drives along the dispatch's route at constant speed between "en route" and "on site"
and stays at the site afterwards; :meth:`Crews.position` gives where it is at any moment (truth
for reports). A crew dispatched again while still busy drops its old job (its remaining reports
are never made): the dispatcher re-tasked it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from skywarden.events import CrewDispatched, CrewReported, CrewStatusName, InputEvent
from skywarden.scenario.load import LoadedScenario
from skywarden.scenario.sim.config import SimConfig
from skywarden.scenario.sim.streams import stream

US = 1_000_000

# The reports a dispatched crew makes, in order.
SCRIPT: tuple[CrewStatusName, ...] = ("en_route", "on_site", "wreckage_recovered", "site_closed")


@dataclass
class CrewJob:
    """One dispatch as the crew lives it. Times are microseconds since the night's start."""

    crew_id: str
    site_id: str
    dispatched_us: int
    times_us: dict[str, int]  # status -> when it is reported
    eta_s: float
    route: list[tuple[float, float]]  # (lat, lon), from where the crew was to the site
    cancelled: bool = False
    route_enu: np.ndarray = field(default_factory=lambda: np.empty((0, 2)), repr=False)
    route_cum: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)


class Crews:
    """All crews of the scenario's stations; keeps their jobs and pending reports."""

    rank: int

    def __init__(self, scenario: LoadedScenario, seed: int, cfg: SimConfig, rank: int) -> None:
        self.rank = rank
        self._scenario = scenario
        self._seed = seed
        self._cfg = cfg
        self._home: dict[str, tuple[float, float]] = {
            c.id: (s.lat, s.lon) for s in scenario.spec.stations for c in s.crews
        }
        self.jobs: dict[str, list[CrewJob]] = {cid: [] for cid in sorted(self._home)}
        self.ignored: list[str] = []  # dispatches the simulator could not play (unknown crew)
        self._heap: list[tuple[int, int, CrewJob, CrewReported]] = []
        self._seq = 0

    def dispatched(self, ev: CrewDispatched, floor_us: int) -> None:
        """Schedule a crew's reports for a dispatch; none earlier than ``floor_us`` + 1 us."""
        if ev.crew_id not in self._home:
            self.ignored.append(f"{ev.crew_id}: no such crew in the scenario")
            return
        for old in self.jobs[ev.crew_id]:
            old.cancelled = True
        c = self._cfg
        rng = stream(self._seed, "crew", ev.crew_id, ev.site_id)
        d_us = (ev.t - self._scenario.start) // timedelta(microseconds=1)
        ack = float(rng.uniform(*c.crew_ack_s))
        travel = max(ack + 1.0, ev.eta_s * float(rng.uniform(*c.crew_eta_factor)))
        recover = float(rng.uniform(*c.crew_recover_s))
        close = float(rng.uniform(*c.crew_close_s))
        offsets = (ack, travel, travel + recover, travel + recover + close)
        times: dict[str, int] = {}
        prev = floor_us
        for status, off in zip(SCRIPT, offsets, strict=True):
            t_us = max(d_us + round(off * US), prev + 1)
            times[status] = t_us
            prev = t_us
        job = CrewJob(
            crew_id=ev.crew_id,
            site_id=ev.site_id,
            dispatched_us=d_us,
            times_us=times,
            eta_s=ev.eta_s,
            route=list(ev.route),
        )
        if len(job.route) >= 2:
            e, n, _ = self._scenario.frame.to_enu([p[0] for p in job.route], [p[1] for p in job.route])
            job.route_enu = np.column_stack([e, n])
            seg = np.hypot(np.diff(e), np.diff(n))
            job.route_cum = np.concatenate([[0.0], np.cumsum(seg)])
        self.jobs[ev.crew_id].append(job)
        start = self._scenario.start
        for status in SCRIPT:
            t_us = times[status]
            eta = None
            if status == "en_route":
                eta = round(max(0.0, (times["on_site"] - t_us) / US), 1)
            rep = CrewReported(
                t=start + timedelta(microseconds=t_us),
                crew_id=ev.crew_id,
                site_id=ev.site_id,
                status=status,
                eta_s=eta,
            )
            heapq.heappush(self._heap, (t_us, self._seq, job, rep))
            self._seq += 1

    def due(self, after_us: int, upto_us: int) -> list[tuple[int, InputEvent]]:
        out: list[tuple[int, InputEvent]] = []
        while self._heap and self._heap[0][0] <= upto_us:
            t_us, _, job, rep = heapq.heappop(self._heap)
            if not job.cancelled and t_us > after_us:
                out.append((t_us, rep))
        return out

    def position(self, crew_id: str, t: datetime) -> tuple[float, float]:
        """Where the crew is at ``t`` (lat, lon): at its station until its first dispatch, on the
        road (by distance along the route, at constant speed) between "en route" and "on site",
        then at the site. A job cut short leaves the crew where it was when re-tasked."""
        t_us = (t - self._scenario.start) // timedelta(microseconds=1)
        pos = self._home[crew_id]
        for job in self.jobs[crew_id]:
            if job.dispatched_us > t_us:
                break
            if len(job.route_cum) == 0:
                continue
            t0, t1 = job.times_us["en_route"], job.times_us["on_site"]
            f = 0.0 if t_us <= t0 else min(1.0, (t_us - t0) / max(1, t1 - t0))
            s = f * float(job.route_cum[-1])
            e = float(np.interp(s, job.route_cum, job.route_enu[:, 0]))
            n = float(np.interp(s, job.route_cum, job.route_enu[:, 1]))
            pos = self._scenario.frame.latlon(e, n)
        return pos

    def busy_at(self, t: datetime) -> list[str]:
        """Crews between a dispatch and their "site closed" at ``t`` (sorted ids)."""
        t_us = (t - self._scenario.start) // timedelta(microseconds=1)
        out = []
        for cid, jobs in self.jobs.items():
            live = [j for j in jobs if j.dispatched_us <= t_us]
            if live and t_us < live[-1].times_us["site_closed"] and not live[-1].cancelled:
                out.append(cid)
        return out
