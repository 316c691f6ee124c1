"""Classification on real flights: what the tracker calls helicopters, gliders, light aircraft
and airliners, and how well its class probabilities are calibrated.

The real flights of tests/data/real_flights.csv (see bench/_real_flights.py) are flown through
the benchmark's radar model (one radar, heights measured, clutter) and tracked with the default
settings, twice: with the radar's RCS and without it (a sensor that gives positions and heights
alone). No flight broadcasts its identity here: the classifier sees kinematics (and RCS).
Each confirmed track is matched to the nearest flight (within 1 km); a track-scan is judged once
the track is ``--min-life`` seconds old (default 30). Printed per flight kind: the share of
judged track-scans per class, the flights ever called ``drone`` after that age, and the class
each flight ends with.

Calibration (``--calibration``): the synthetic benchmark scenario (drones, birds, manned
aircraft; bench/_tracking_scenario.py) and the real flights together, by day; the Brier score of
the posterior of decided tracks, and a reliability table of the reported class's probability
(``--plot FILE`` draws it with matplotlib); and what the synthetic drones are called, by day
and at night (when no glider flies).

examples:
  python bench/classify_real.py
  python bench/classify_real.py --calibration --plot docs/classification-reliability.png
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench._real_flights import KINDS, RealScenario, make_real_scenario
from bench._tracking_scenario import BenchScenario, make_scenario

LABELS = ("drone", "bird", "manned_aircraft", "unknown")
MATCH_M = 1_000.0


@dataclass
class Judged:
    """Per truth j: the judged track-scans' (class, posterior (3,), track age s)."""

    cls: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    post: dict[int, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    age: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))


def track(scenario: BenchScenario, *, with_rcs: bool = True, min_life_s: float = 30.0,
          night: bool = False) -> Judged:
    """Run the default tracker over the scenario's scans, by day (the real flights were flown
    by day: gliders among them) or ``night``; every confirmed track of at least ``min_life_s``
    seconds at every scan, matched to the nearest truth within MATCH_M."""
    from skywarden.tracking import Scan, Tracker, TrackerConfig

    tracker = Tracker(TrackerConfig(night=night))
    born: dict[int, float] = {}
    out = Judged()
    for k, s in enumerate(scenario.scans):
        table = tracker.step(Scan(t=s.t, sensor_id=s.sensor_id, z=s.z, R=s.R,
                                  rcs_dbsm=s.rcs_dbsm if with_rcs else None, signature=None))
        if len(table) == 0:
            continue
        ids, pos = table.ids.tolist(), np.asarray(table.x[:, :3])
        alive = np.flatnonzero(scenario.covered[k])
        if alive.size == 0:
            continue
        d = np.linalg.norm(pos[:, None, :] - scenario.truth_pos[k, alive][None], axis=-1)
        near = np.argmin(d, axis=1)
        for i, tid in enumerate(ids):
            age = s.t - born.setdefault(tid, s.t)
            if age < min_life_s or d[i, near[i]] > MATCH_M:
                continue
            j = int(alive[near[i]])
            out.cls[j].append(str(table.cls[i]))
            out.post[j].append(np.asarray(table.posterior[i], dtype=float))
            out.age[j].append(age)
    return out


@dataclass
class KindSummary:
    """Figures per flight kind: track-scans per class, flights ever called drone, final class."""

    flights: Counter[str] = field(default_factory=Counter)
    judged_flights: Counter[str] = field(default_factory=Counter)
    scans: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    ever_drone: Counter[str] = field(default_factory=Counter)
    final: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def drone_share(self) -> float:
        """Share of the judged manned flights ever called drone."""
        n = sum(self.judged_flights.values())
        return sum(self.ever_drone.values()) / n if n else float("nan")

    def drone_scan_share(self) -> float:
        """Share of the judged track-scans called drone."""
        tot = sum(sum(c.values()) for c in self.scans.values())
        return sum(c["drone"] for c in self.scans.values()) / tot if tot else float("nan")

    def correct_share(self) -> float:
        """Share of the judged track-scans called manned_aircraft."""
        tot = sum(sum(c.values()) for c in self.scans.values())
        ok = sum(c["manned_aircraft"] for c in self.scans.values())
        return ok / tot if tot else float("nan")


def halves(real: RealScenario) -> tuple[set[int], set[int]]:
    """The windows split in two halves, alternately within each kind in file order (the two
    windows of one glider site fall in different halves): a model whose numbers were read off
    one half is checked on the other."""
    a: set[int] = set()
    b: set[int] = set()
    seen: Counter[str] = Counter()
    for j, kind in enumerate(real.kinds):
        (a if seen[kind] % 2 == 0 else b).add(j)
        seen[kind] += 1
    return a, b


def summarise(real: RealScenario, judged: Judged, only: set[int] | None = None) -> KindSummary:
    """Figures per flight kind, over the windows ``only`` (default all)."""
    s = KindSummary()
    for j, kind in enumerate(real.kinds):
        if only is not None and j not in only:
            continue
        s.flights[kind] += 1
        labels = judged.cls.get(j, [])
        if not labels:
            continue
        s.judged_flights[kind] += 1
        s.scans[kind].update(labels)
        s.ever_drone[kind] += "drone" in labels
        s.final[kind][labels[-1]] += 1
    return s


def print_summary(title: str, s: KindSummary) -> None:
    print(f"\n{title}")
    print(f"{'kind':<16}{'flights':>8}{'judged':>8}" + "".join(f"{lab:>17}" for lab in LABELS)
          + f"{'ever drone':>12}   final class")
    for kind in KINDS:
        c = s.scans.get(kind, Counter())
        tot = sum(c.values())
        cells = "".join(f"{(100 * c[lab] / tot if tot else 0):>16.1f}%" for lab in LABELS)
        final = ", ".join(f"{k} {v}" for k, v in sorted(s.final.get(kind, Counter()).items()))
        print(f"{kind:<16}{s.flights[kind]:>8}{s.judged_flights[kind]:>8}{cells}"
              f"{s.ever_drone[kind]:>12}   {final}")
    finals = Counter[str]()
    for c in s.final.values():
        finals.update(c)
    n = sum(s.judged_flights.values())
    print(f"track-scans called drone: {100 * s.drone_scan_share():.1f} %, called manned_aircraft: "
          f"{100 * s.correct_share():.1f} %; flights ending as drone: {finals['drone']} of {n} "
          f"({100 * finals['drone'] / n if n else 0:.1f} %); flights called drone at any time "
          f"after the minimum life: {sum(s.ever_drone.values())} of {n} "
          f"({100 * s.drone_share():.1f} %)")


def calibration(groups: list[tuple[np.ndarray, list[np.ndarray]]], bins: int = 10
                ) -> tuple[float, int, list[tuple[float, float, int]]]:
    """Brier score (mean over samples of the squared distance between the posterior (3,) and
    the one-hot truth) and the reliability table: per bin of the highest probability, (mean
    probability, share right, samples). ``groups``: (truth class index per sample, posteriors)."""
    p = np.concatenate([np.vstack(ps) for _, ps in groups if ps])
    y = np.concatenate([t for t, ps in groups if ps])
    onehot = np.eye(3)[y]
    brier = float(np.mean(np.sum((p - onehot) ** 2, axis=1)))
    top, pick = p.max(axis=1), p.argmax(axis=1)
    edges = np.linspace(1 / 3, 1.0, bins + 1)
    table = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (top >= lo) & ((top < hi) | (hi == 1.0))
        if m.any():
            table.append((float(top[m].mean()), float(np.mean(pick[m] == y[m])), int(m.sum())))
    return brier, len(y), table


def posterior_samples(scenario: BenchScenario, judged: Judged, cls_of: np.ndarray
                      ) -> tuple[np.ndarray, list[np.ndarray]]:
    idx = {"drone": 0, "bird": 1, "manned_aircraft": 2}
    ys, ps = [], []
    for j, posts in judged.post.items():
        ys += [idx[str(cls_of[j])]] * len(posts)
        ps += posts
    return np.asarray(ys, dtype=np.int64), ps


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__[
        __doc__.index("examples:"):], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scans", type=int, default=600, help="seconds flown (default 600)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pd", type=float, default=0.9)
    p.add_argument("--clutter", type=float, default=50.0, help="false plots per scan (default 50)")
    p.add_argument("--min-life", type=float, default=30.0,
                   help="track age in seconds from which its class is judged (default 30)")
    p.add_argument("--calibration", action="store_true",
                   help="also the Brier score and reliability table (synthetic + real tracks)")
    p.add_argument("--plot", type=Path, default=None, help="draw the reliability plot (PNG)")
    p.add_argument("--kind-rcs", default="", metavar="KIND=DBSM,...",
                   help="mean RCS of a flight kind other than the model's (e.g. glider=-6)")
    a = p.parse_args(argv)
    try:
        kind_rcs = {k: float(v) for k, v in (x.split("=") for x in a.kind_rcs.split(",") if x)}
    except ValueError:
        p.error(f"--kind-rcs: KIND=DBSM pairs, not {a.kind_rcs!r}")
    if unknown_kinds := set(kind_rcs) - set(KINDS):
        p.error(f"--kind-rcs: no flight kind {sorted(unknown_kinds)} (kinds: {', '.join(KINDS)})")

    real = make_real_scenario(a.scans, seed=a.seed, pd=a.pd, clutter_mean=a.clutter,
                              kind_rcs=kind_rcs)
    print(f"real flights: {len(real.kinds)} windows ({dict(Counter(real.kinds))}), {a.scans} s, "
          f"1 radar, pd {a.pd}, clutter {a.clutter:g}/scan, judged from {a.min_life:g} s of "
          f"track life" + (f", RCS means {kind_rcs}" if kind_rcs else ""))
    judged = {}
    for with_rcs in (True, False):
        judged[with_rcs] = track(real.scenario, with_rcs=with_rcs, min_life_s=a.min_life)
        print_summary(f"3-D radar {'with' if with_rcs else 'without'} RCS: judged track-scans "
                      "per class (rows: real flight kind)", summarise(real, judged[with_rcs]))
        for name, half in zip(("A", "B"), halves(real), strict=True):
            h = summarise(real, judged[with_rcs], half)
            print(f"  half {name} ({sum(h.judged_flights.values())} windows): track-scans called "
                  f"drone {100 * h.drone_scan_share():.1f} %, manned_aircraft "
                  f"{100 * h.correct_share():.1f} %; windows called drone at any time "
                  f"{sum(h.ever_drone.values())}")

    if a.calibration or a.plot:
        synth = make_scenario(100, 120, seed=a.seed, n_radars=2, pd=a.pd, clutter_mean=a.clutter)
        groups = []
        for with_rcs in (True, False):
            js = track(synth, with_rcs=with_rcs, min_life_s=10.0)
            groups.append(posterior_samples(synth, js, synth.cls))
            groups.append(posterior_samples(real.scenario, judged[with_rcs], real.scenario.cls))
        for night in (False, True):
            for with_rcs in (True, False):
                js = track(synth, with_rcs=with_rcs, min_life_s=10.0, night=night)
                got = Counter[str]()
                for j, labels in js.cls.items():
                    if synth.cls[j] == "drone":
                        got.update(labels)
                tot = sum(got.values())
                print(f"synthetic drones {'at night' if night else 'by day'}, "
                      f"{'with' if with_rcs else 'without'} RCS: track-scans " + ", ".join(
                          f"{lab} {100 * got[lab] / tot:.1f} %" for lab in LABELS))
        brier, n, table = calibration(groups)
        print(f"\ncalibration over {n:,} track-scans (synthetic drones/birds/aircraft from 10 s, "
              f"real flights from {a.min_life:g} s; with and without RCS): Brier score {brier:.3f}")
        print(f"{'mean p of best class':>22}{'share right':>14}{'track-scans':>14}")
        for mp, acc, m in table:
            print(f"{mp:>22.3f}{acc:>14.3f}{m:>14,}")
        if a.plot:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
            ax.plot([1 / 3, 1], [1 / 3, 1], color="0.6", lw=1, label="perfectly calibrated")
            ax.plot([t[0] for t in table], [t[1] for t in table], "o-", label="Skywarden")
            ax.set_xlabel("probability of the most likely class")
            ax.set_ylabel("share of track-scans where it is the true class")
            ax.set_title(f"Class probability reliability (Brier {brier:.3f})", fontsize=10)
            ax.legend(loc="lower right", fontsize=8)
            fig.tight_layout()
            fig.savefig(a.plot)
            print(f"reliability plot written to {a.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
