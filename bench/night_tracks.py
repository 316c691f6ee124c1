"""The default night's track picture against its truth, for one tracker setting.

Plays the default night (simulated, one process) up to ``--until`` with the tracking settings
given, then prints how many tracks were confirmed per final class, how long the drone tracks
lived, and how many tracks were false: their median distance to the nearest true object, over
every picture that showed them, above 500 m. This is how the confirmation rule, the Doppler notch and the support sensors
were chosen (docs/tracking.md).

examples:
  python bench/night_tracks.py                              # the defaults, to 01:30
  python bench/night_tracks.py --confirm 4/5 --notch 0      # the earlier defaults
  python bench/night_tracks.py --support "" --until 02:00   # RF detectors may confirm tracks
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from skywarden import pipeline
from skywarden.events import (
    AirportRestricted,
    ThreatRaised,
    TrackClassified,
    TrackConfirmed,
    TrackDropped,
    TrackPicture,
)
from skywarden.log.memory import MemoryLog
from skywarden.play import play_night
from skywarden.scenario import load_scenario
from skywarden.scenario.sim import Simulator
from skywarden.tracking.stage import TrackingConfig, TrackingStage
from skywarden.tracking.tracker import TrackerConfig

_D = TrackingConfig()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__[__doc__.index("examples:") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--until", default="01:30", help="local time to play to (default 01:30)")
    p.add_argument(
        "--confirm", default=f"{_D.tracker.confirm_m}/{_D.tracker.confirm_n}",
        help="M/N confirmation (default %(default)s)",
    )
    p.add_argument(
        "--notch", type=float, default=_D.notch_radial_ms,
        help="Doppler notch, m/s; 0 = off (default %(default)s)",
    )
    p.add_argument(
        "--support", default=",".join(_D.support_kinds),
        help="sensor kinds that only update tracks, comma-separated (default %(default)s)",
    )
    a = p.parse_args(argv)
    m, n = (int(x) for x in a.confirm.split("/"))
    cfg = TrackingConfig(
        tracker=TrackerConfig(confirm_m=m, confirm_n=n),
        notch_radial_ms=a.notch,
        support_kinds=tuple(k for k in a.support.split(",") if k),
    )
    scn = load_scenario()
    pipeline.STAGES["tracking"] = lambda s: TrackingStage(s, cfg)
    log = MemoryLog()
    t0 = time.perf_counter()
    play_night(scn, log, until=scn.at(a.until), workers=1)
    elapsed = time.perf_counter() - t0

    confirmed: dict[str, TrackConfirmed] = {}
    dropped: dict[str, TrackDropped] = {}
    cls: dict[str, str] = {}
    pictures: list[TrackPicture] = []
    raised_unknown: list[ThreatRaised] = []
    n_raised = 0
    restricted: list[AirportRestricted] = []
    for rec in log.read():
        e = rec.event()
        if isinstance(e, ThreatRaised):
            n_raised += 1
            if any(r.startswith(("class unknown", "unknown (")) for r in e.reasons):
                raised_unknown.append(e)
        elif isinstance(e, AirportRestricted):
            restricted.append(e)
        if isinstance(e, TrackConfirmed):
            confirmed[e.track_id] = e
        elif isinstance(e, TrackDropped):
            dropped[e.track_id] = e
        elif isinstance(e, TrackClassified):
            cls[e.track_id] = e.cls
        elif isinstance(e, TrackPicture):
            pictures.append(e)

    truth = Simulator(scn).truth
    limit = (scn.at(a.until) - scn.start).total_seconds()
    airborne = collections.Counter(o.cls for o in truth.objects if o.first_s < limit)
    miss: dict[str, list[float]] = collections.defaultdict(list)
    nearest: dict[str, list[int]] = collections.defaultdict(list)
    for pic in pictures:
        p_true, _ = truth.enu_at(truth.seconds(pic.t))
        te, tn, _ = scn.frame.to_enu(np.array(pic.lat), np.array(pic.lon), np.array(pic.alt))
        d = np.hypot(p_true[:, 0, None] - te[None], p_true[:, 1, None] - tn[None])
        near = np.argmin(np.where(np.isfinite(d), d, np.inf), axis=0).tolist()
        for tid, dk, j in zip(pic.track_id, np.nanmin(d, axis=0).tolist(), near, strict=True):
            miss[tid].append(dk)
            nearest[tid].append(j)
    false_tracks = collections.Counter(
        cls.get(tid, "unknown") for tid, ds in miss.items() if not float(np.median(ds)) < 500.0
    )
    life: collections.Counter[str] = collections.Counter()
    for tid, c in cls.items():
        if c != "drone":
            continue
        gone = dropped.get(tid)
        s = None if gone is None else (gone.t - confirmed[tid].t).total_seconds()
        life["held to the end" if s is None else "< 30 s" if s < 30 else "< 120 s" if s < 120 else ">= 120 s"] += 1

    print(f"default night to {a.until}, confirm {m} of {n}, notch {a.notch:g} m/s, "
          f"support-only kinds {cfg.support_kinds or '(none)'}: played in {elapsed:.1f} s")
    print(f"objects airborne by then: {dict(sorted(airborne.items()))}")
    print(f"tracks confirmed: {len(confirmed)}; by final class: "
          f"{dict(sorted(collections.Counter(cls.values()).items()))}")
    print(f"drone tracks' lifetimes: {dict(life)}")
    # true class (of the object nearest the track most often, tracks within 500 m) x final class
    table: collections.Counter[tuple[str, str]] = collections.Counter()
    for tid, ds in miss.items():
        if float(np.median(ds)) < 500.0:
            j = collections.Counter(nearest[tid]).most_common(1)[0][0]
            table[(truth.objects[j].cls, cls.get(tid, "unknown"))] += 1
    for true_cls in sorted({k[0] for k in table}):
        row = {c: n for (t, c), n in sorted(table.items()) if t == true_cls}
        print(f"true {true_cls}: final class {row}")
    # unknown tracks in the threat stage: raised as threats while unknown, and airports they
    # closed (their true class: the object nearest them most often)
    def true_of(tid: str) -> str:
        near = collections.Counter(nearest.get(tid, [])).most_common(1)
        return truth.objects[near[0][0]].cls if near else "?"

    print(f"threats raised: {n_raised}; raised while the track was unknown: "
          f"{len(raised_unknown)} (true class: "
          f"{dict(collections.Counter(true_of(e.track_id) for e in raised_unknown))}, zones: "
          f"{dict(collections.Counter(e.zone_id for e in raised_unknown))})")
    unknown_ids = {e.track_id for e in raised_unknown}
    by_unknown = [r for r in restricted if unknown_ids & set(r.track_ids)]
    print(f"airport restrictions: {len(restricted)}; naming a track raised while unknown: "
          f"{len(by_unknown)} ({', '.join(sorted(r.airport_id for r in by_unknown)) or 'none'})")
    print(f"false tracks (median distance to the nearest true object > 500 m): "
          f"{dict(false_tracks) or 0}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
