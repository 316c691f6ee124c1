"""Tracking benchmark: Skywarden's tracker against a standard Stone Soup tracker.

For each size (number of targets) a seeded scenario is generated (drones, birds and manned
aircraft seen by 1-3 radars with clutter, see bench/_tracking_scenario.py); each tracker runs
on the same detections in a fresh process. Reported per size: milliseconds per scan (mean,
p99), GOSPA (p=2, alpha=2, cutoff c) split into localisation / missed / false, identity
switches, truths confirmed and time to confirm, classification (Skywarden only), peak memory,
and the Stone Soup / Skywarden ratios of the same run.

After the sizes comes the crossing case (``--crossing-pairs``, default 20 pairs, 1 radar):
pairs of targets whose paths cross, some turning at the crossing, the scenario in which the
trackers' identity switches differ (on the random scenarios neither tracker switches). On
request, last, the real-flights case (``--real-flights SCANS``): 57 windows of recorded
helicopter, glider, light-aircraft and airliner trajectories (tests/data/real_flights.csv,
bench/_real_flights.py) flown through the same radar model with clutter, scored against the
recorded positions.

Stone Soup runs in two configurations: plain ``GNNWith2DAssignment`` and the kd-tree-gated
``DetectionKDTreeGNN2D`` (its fastest standard one; ``--no-kdtree`` skips it), each with the
ratio against Skywarden.

Stone Soup is a benchmark-only extra (``pip install stonesoup``); without it, its columns say
"not installed". It is slow at large sizes: it runs only up to ``--stonesoup-max`` targets and
stops at ``--stonesoup-budget`` seconds per case; the tables say "not run" or how far it got.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import queue as queue_mod
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench._tracking_report import markdown
from bench._tracking_run import RunSpec, TrackerOutput, build_scenario, child_main
from bench._tracking_scenario import CLASSES
from bench._tracking_stonesoup import stonesoup_version
from skywarden.tracking.metrics import LABELS, evaluate

DEFAULT_SIZES = (10, 100, 300, 1_000, 5_000)
WARMUP_S = 10.0  # start-up transient left out of the "from t = 10 s" rows
QUICK_SIZES = (10, 30)
DEFAULT_CROSSING_PAIRS = 20
QUICK_CROSSING_PAIRS = 4
QUICK_CROSSING_SCANS = 30  # with --quick: long enough to confirm the tracks before they cross

EXAMPLE = """\
examples:
  python bench/tracking.py --scans 60 --json tracking.json
  python bench/tracking.py --sizes 10,100 --scans 30 --stonesoup-max 100
  python bench/tracking.py --sizes 5000 --scans 60 --stonesoup-max 0 --crossing-pairs 0
  python bench/tracking.py --sizes none --crossing-pairs 20   # the crossing case alone
  python bench/tracking.py --sizes none --crossing-pairs 0 --real-flights 120 \
      --stonesoup-budget 450                # the real flights alone
  python bench/tracking.py --quick          # smoke test, about a minute
  python bench/tracking.py --sizes none --crossing-pairs 0 --command 300 \
      --stonesoup-budget 600                # skywarden track, whole, against Stone Soup kd-tree
"""


def _sizes(text: str) -> tuple[int, ...]:
    if text.strip().lower() == "none":
        return ()
    try:
        sizes = tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes are comma-separated integers, not {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/tracking.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sizes", type=_sizes, default=None,
                   help="numbers of targets, comma-separated, or 'none' "
                        f"(default {','.join(map(str, DEFAULT_SIZES))})")
    p.add_argument("--scans", type=int, default=None,
                   help="scans per radar = seconds simulated (default 60; with --quick 8, and "
                        f"{QUICK_CROSSING_SCANS} for the crossing case)")
    p.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    p.add_argument("--quick", action="store_true",
                   help=f"small sizes ({','.join(map(str, QUICK_SIZES))}) and few scans, "
                        f"{QUICK_CROSSING_PAIRS} crossing pairs over {QUICK_CROSSING_SCANS} scans: "
                        "a smoke test")
    p.add_argument("--crossing-pairs", type=int, default=None, metavar="N",
                   help="after the sizes, the crossing case: N pairs of targets on crossing paths "
                        "(some turning there), 1 radar, --scans scans "
                        f"(default {DEFAULT_CROSSING_PAIRS}; {QUICK_CROSSING_PAIRS} with --quick; "
                        "0 skips it)")
    p.add_argument("--real-flights", type=int, default=0, metavar="SCANS",
                   help="after the crossing case, the real flights for SCANS seconds "
                        "(default 0: not run; Stone Soup needs about 3 CPU s a scan there)")
    p.add_argument("--command", type=int, default=0, metavar="TARGETS",
                   help="last, the whole `skywarden track` command on the TARGETS-target scenario "
                        "written as a recording (CSV and Parquet), against Stone Soup's kd-tree "
                        "GNN loop alone on the same detections (default 0: not run)")
    p.add_argument("--command-repeat", type=int, default=3, metavar="N",
                   help="runs of the command per format, the median taken (default 3)")
    p.add_argument("--no-kdtree", action="store_true",
                   help="do not run Stone Soup's kd-tree GNN configuration")
    p.add_argument("--radars", type=int, choices=(1, 2, 3), default=None,
                   help="radars for every size (default: 1 up to 10 targets, 2 up to 100, else 3)")
    p.add_argument("--pd", type=float, default=0.9, help="probability of detection (default 0.9)")
    p.add_argument("--clutter", type=float, default=50.0,
                   help="mean false reports per scan, Poisson, capped at 100 (default 50)")
    p.add_argument("--cutoff", type=float, default=150.0,
                   help="GOSPA cutoff c in metres (default 150: ~3 sigma cross-range at 50 km)")
    p.add_argument("--min-age", type=float, default=10.0,
                   help="track age in seconds at which classification is judged (default 10)")
    p.add_argument("--stonesoup-max", type=int, default=300,
                   help="largest number of targets Stone Soup runs at, crossing case included "
                        "(default 300; 0 never)")
    p.add_argument("--stonesoup-budget", type=float, default=None,
                   help="CPU seconds of Stone Soup tracking per case before it stops "
                        "(default 120; 15 with --quick)")
    p.add_argument("--budget", type=float, default=600.0,
                   help="CPU seconds of Skywarden tracking per case before it stops (default 600)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    p.add_argument("--markdown", type=Path, default=None,
                   help="also write the per-case tables as Markdown to this file")
    return p


# ---------------------------------------------------------------------------------------------
# Running


def run_tracker(
    spec: RunSpec, progress: Progress, label: str, n_scans: int
) -> TrackerOutput | str:
    """Run one tracker in a fresh process (it rebuilds the same seeded scenario); the output,
    or the reason it failed. ``n_scans``: total scans, for the progress bar."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=child_main, args=(spec, q), daemon=True)
    task = progress.add_task(label, total=n_scans)
    proc.start()
    result: TrackerOutput | str = "no result"
    while True:
        try:
            kind, payload = q.get(timeout=1.0)
        except queue_mod.Empty:
            if not proc.is_alive():
                result = f"process ended with code {proc.exitcode}"
                break
            continue
        if kind == "scan":
            progress.update(task, completed=payload + 1)
        elif kind == "done":
            result = payload
            break
        else:
            result = str(payload)
            break
    proc.join(timeout=30)
    if isinstance(result, TrackerOutput) and not result.complete:
        progress.update(task, description=f"{label} (stopped: budget)")
    return result


@dataclass
class Scored:
    """One tracker's figures at one size."""

    out: TrackerOutput
    k_eval: int
    gospa: dict[str, float]
    switches: int
    confirmed: float
    ttc_median: float
    ttc_p90: float
    cls_fraction: float = float("nan")
    cls_tracks: int = 0
    confusion: list[list[int]] | None = None
    mean_tracks: float = float("nan")
    mean_truths: float = float("nan")
    missed_waiting: float = float("nan")  # per scan: missed truths never tracked so far
    missed_lost: float = float("nan")  # per scan: missed truths that had a track before
    rms_m: float = float("nan")  # RMS position error of the assigned pairs
    late_total: float = float("nan")  # GOSPA total (m^2), mean over scans at t >= WARMUP_S
    late_missed: float = float("nan")  # missed truths per scan at t >= WARMUP_S
    late_false: float = float("nan")  # false tracks per scan at t >= WARMUP_S
    # crossing case: targets whose track after the crossing is not the one before it, and
    # pairs whose two tracks ended up exchanged (None for the random scenarios)
    cross_changed: int | None = None
    cross_exchanged: int | None = None

    def ms_mean(self) -> float:
        return float(np.mean(self.out.ms)) if self.out.ms else float("nan")

    def ms_p99(self) -> float:
        return float(np.percentile(self.out.ms, 99)) if self.out.ms else float("nan")

    def cpu_mean(self) -> float:
        return float(np.mean(self.out.cpu_ms)) if self.out.cpu_ms else float("nan")


def crossing_outcome(
    scenario: Any, truths: list[Any], assignments: list[Any], est_ids: list[np.ndarray],
    k_eval: int, pairs: int,
) -> tuple[int, int]:
    """(targets whose track changed across the crossing, pairs whose tracks were exchanged).

    The identity switch count also counts an assignment that flickers to the other track for a
    scan while the two are closer than the plots' errors; this asks only what a user sees: which
    track follows each target before its crossing (the most assigned one from 10 s to 3 s
    before the closest approach) and at the end (over the last 5 s judged). A target with no
    track in either window counts as changed."""
    times = scenario.times[:k_eval]

    def track_of(target: int, ks: np.ndarray) -> int | None:
        seen: list[int] = []
        for k in ks.tolist():
            tid = truths[k][0]
            a = assignments[k]
            row = np.flatnonzero(tid[a.truth] == target)
            if row.size:
                seen.append(int(est_ids[k][a.est[row[0]]]))
        return max(set(seen), key=seen.count) if seen else None

    changed = exchanged = 0
    end = np.flatnonzero(times >= times[-1] - 5.0) if k_eval else np.zeros(0, dtype=np.int64)
    for i in range(pairs):
        a, b = 2 * i, 2 * i + 1
        sep = np.linalg.norm(scenario.truth_pos[:k_eval, a] - scenario.truth_pos[:k_eval, b], axis=1)
        tc = times[int(np.argmin(sep))]
        before = np.flatnonzero((times >= tc - 10.0) & (times <= tc - 3.0))
        if tc > times[-1] - 10.0 or before.size == 0:
            continue  # the run stopped too soon after this crossing to judge it
        ta = (track_of(a, before), track_of(a, end))
        tb = (track_of(b, before), track_of(b, end))
        changed += sum(t0 is None or t0 != t1 for t0, t1 in (ta, tb))
        exchanged += ta[0] is not None and tb[0] is not None and ta[1] == tb[0] and tb[1] == ta[0]
    return changed, exchanged


def score(
    out: TrackerOutput, scenario: Any, k_eval: int, c: float, min_age: float,
    crossing_pairs: int = 0,
) -> Scored:
    """Metrics over the first k_eval scans (the scans both trackers ran)."""
    truths = [scenario.truth_at(k) for k in range(k_eval)]
    r = evaluate(
        scenario.times[:k_eval],
        [t[0] for t in truths],
        [t[1] for t in truths],
        out.ids[:k_eval],
        out.pos[:k_eval],
        c=c,
        truth_cls=[t[2] for t in truths] if out.cls is not None else None,
        est_cls=[np.asarray(LABELS)[c] for c in out.cls[:k_eval]] if out.cls is not None else None,
        min_age_s=min_age,
    )
    # where the missed part comes from: truths not yet confirmed, or lost after a track
    ever: set[int] = set()
    waiting = lost = 0
    for (tid, _x, _c), a in zip(truths, r.assignments, strict=True):
        missed = np.ones(len(tid), dtype=bool)
        missed[a.truth] = False
        for i in tid[missed].tolist():
            if i in ever:
                lost += 1
            else:
                waiting += 1
        ever.update(tid[a.truth].tolist())
    # after the start-up transient (every target appears at t = 0 or is born later)
    late = scenario.times[:k_eval] >= WARMUP_S
    late_total = float(r.gospa.total[late].mean()) if np.any(late) else float("nan")
    half_c2 = c**2 / 2.0
    late_missed = float(r.gospa.missed[late].mean() / half_c2) if np.any(late) else float("nan")
    late_false = float(r.gospa.false[late].mean() / half_c2) if np.any(late) else float("nan")
    n_pairs = sum(a.truth.size for a in r.assignments)
    sq = sum(float(np.sum(a.dist**2)) for a in r.assignments)
    ttc = np.array(list(r.confirm_s.values())) if r.confirm_s else np.array([np.nan])
    s = Scored(
        out=out,
        k_eval=k_eval,
        gospa=r.gospa.mean(),
        switches=r.switches.total,
        confirmed=r.confirmed_fraction,
        ttc_median=float(np.median(ttc)),
        ttc_p90=float(np.percentile(ttc, 90)),
        mean_tracks=float(np.mean([len(i) for i in out.ids[:k_eval]])) if k_eval else float("nan"),
        mean_truths=float(np.mean([len(t[0]) for t in truths])) if k_eval else float("nan"),
        missed_waiting=waiting / k_eval if k_eval else float("nan"),
        missed_lost=lost / k_eval if k_eval else float("nan"),
        rms_m=float(np.sqrt(sq / n_pairs)) if n_pairs else float("nan"),
        late_total=late_total,
        late_missed=late_missed,
        late_false=late_false,
    )
    if crossing_pairs:
        s.cross_changed, s.cross_exchanged = crossing_outcome(
            scenario, truths, r.assignments, out.ids[:k_eval], k_eval, crossing_pairs
        )
    if r.classification is not None and r.confusion is not None:
        s.cls_fraction = r.classification.fraction
        s.cls_tracks = r.classification.n_tracks
        s.confusion = r.confusion.tolist()
    return s


# ---------------------------------------------------------------------------------------------
# Reporting


def _f(x: float, fmt: str = "{:,.1f}") -> str:
    return "—" if x is None or not np.isfinite(x) else fmt.format(x)


def _ratio(a: float, b: float) -> str:
    if not (np.isfinite(a) and np.isfinite(b)) or b == 0:
        return "—"
    r = a / b
    return f"{r:,.0f}×" if r >= 100 else f"{r:,.2f}×"


def size_table(
    label: str, info: dict[str, Any], sw: Scored | str, ss: Scored | str, sw_all: Scored | None,
    kd: Scored | str | None = None,
) -> Table:
    """Per-case figures (``label``: "10 targets", "crossing: 20 pairs"); ``sw_all`` is
    Skywarden over all its scans when the comparison had to stop earlier (Stone Soup ran out of
    budget); ``kd`` Stone Soup's kd-tree configuration."""
    k_eval = next((s.k_eval for s in (sw, ss, kd) if isinstance(s, Scored)), 0)
    t = Table(
        title=(f"{label} · {info['radars']} radar(s) · {info['scans']} scans · "
               f"{info['dets_per_scan']:.0f} reports/scan ({info['clutter_per_scan']:.0f} clutter) · "
               f"metrics over the first {k_eval} scans, c = {info['cutoff']:.0f} m"),
        title_justify="left",
    )
    t.add_column("")
    t.add_column("Skywarden", justify="right")
    t.add_column("Stone Soup", justify="right")
    t.add_column("Stone Soup / Skywarden", justify="right", min_width=10)
    if kd is not None:
        t.add_column("Stone Soup kd-tree", justify="right")
        t.add_column("kd-tree / Skywarden", justify="right", min_width=10)
    if sw_all is not None:
        t.add_column(f"Skywarden, all {sw_all.k_eval} scans", justify="right")

    def val(s: Scored | str | None, fn: Any) -> float:
        v = fn(s) if isinstance(s, Scored) else None
        return float("nan") if v is None else float(v)

    def cell(s: Scored | str | None, fn: Any, fmt: str) -> str:
        if s is None or isinstance(s, str):
            return s or ""
        if fmt == "ttc":
            return f"{_f(s.ttc_median, '{:.2f}')} / {_f(s.ttc_p90, '{:.2f}')}"
        return _f(val(s, fn), fmt)

    rows: list[tuple[str, Any, str, bool]] = [
        ("scans run", lambda s: s.out.n_scans, "{:,.0f}", False),
        ("ms per scan, mean", Scored.ms_mean, "{:,.2f}", True),
        ("ms per scan, p99", Scored.ms_p99, "{:,.2f}", True),
        ("CPU ms per scan, mean", Scored.cpu_mean, "{:,.2f}", True),
        ("GOSPA localisation (m², mean)", lambda s: s.gospa["localisation"], "{:,.0f}", True),
        ("GOSPA missed (m², mean)", lambda s: s.gospa["missed"], "{:,.0f}", True),
        ("GOSPA false (m², mean)", lambda s: s.gospa["false"], "{:,.0f}", True),
        ("GOSPA total (m², mean)", lambda s: s.gospa["total"], "{:,.0f}", True),
        ("GOSPA distance (m, mean)", lambda s: s.gospa["distance"], "{:,.1f}", True),
        ("  missed truths/scan: not yet tracked", lambda s: s.missed_waiting, "{:,.2f}", True),
        ("  missed truths/scan: lost a track", lambda s: s.missed_lost, "{:,.2f}", True),
        ("RMS position error, assigned (m)", lambda s: s.rms_m, "{:,.1f}", True),
        (f"GOSPA total from t = {WARMUP_S:.0f} s (m², mean)", lambda s: s.late_total, "{:,.0f}", True),
        (f"  missed truths/scan from t = {WARMUP_S:.0f} s", lambda s: s.late_missed, "{:,.2f}", True),
        (f"  false tracks/scan from t = {WARMUP_S:.0f} s", lambda s: s.late_false, "{:,.2f}", True),
        ("truths judged per scan (mean)", lambda s: s.mean_truths, "{:,.1f}", False),
        ("confirmed tracks per scan (mean)", lambda s: s.mean_tracks, "{:,.1f}", False),
        ("identity switches", lambda s: s.switches, "{:,.0f}", True),
        ("  crossing: targets whose track changed", lambda s: s.cross_changed, "{:,.0f}", True),
        ("  crossing: pairs whose tracks exchanged", lambda s: s.cross_exchanged, "{:,.0f}", True),
        ("truths ever tracked (%)", lambda s: 100 * s.confirmed, "{:.1f}", False),
        ("time to confirm, median / p90 (s)", None, "ttc", False),
        ("class right after 10 s (%)", lambda s: 100 * s.cls_fraction, "{:.1f}", False),
        ("tracks judged for class", lambda s: s.cls_tracks, "{:,.0f}", False),
        ("peak memory (MB, process)", lambda s: s.out.peak_rss_mb, "{:,.0f}", True),
        ("memory growth in run (MB)", lambda s: s.out.growth_mb, "{:,.1f}", True),
        ("  of it the tracker's, net of records", lambda s: s.out.net_growth_mb, "{:,.1f}", True),
    ]
    crossing = any(isinstance(x, Scored) and x.cross_changed is not None for x in (sw, ss))
    for name, fn, fmt, ratio in rows:
        if name.startswith("  crossing:") and not crossing:
            continue
        r = _ratio(val(ss, fn), val(sw, fn)) if ratio else ""
        cells = [name, cell(sw, fn, fmt), cell(ss, fn, fmt), r]
        if kd is not None:
            cells += [cell(kd, fn, fmt), _ratio(val(kd, fn), val(sw, fn)) if ratio else ""]
        if sw_all is not None:
            cells.append(cell(sw_all, fn, fmt))
        t.add_row(*cells)
    for s in (sw, ss, kd):
        if isinstance(s, Scored) and s.out.note:
            t.caption = (t.caption or "") + f"{s.out.name}: {s.out.note}. "
    return t


def confusion_table(label: str, sw: Scored) -> Table | None:
    if sw.confusion is None:
        return None
    t = Table(title=f"Skywarden classification, {label} (associated track-scans; "
                    "rows truth, columns track)", title_justify="left")
    t.add_column("truth \\ track")
    for lab in LABELS:
        t.add_column(lab, justify="right")
    for lab, row in zip(LABELS, sw.confusion, strict=True):
        if lab in CLASSES:
            t.add_row(lab, *[f"{v:,}" for v in row])
    return t


def summary_table(results: list[dict[str, Any]]) -> Table:
    """One row per case. Skywarden over all its scans, Stone Soup over the scans it ran; the
    per-case tables hold the like-for-like comparison over the scans both ran."""
    t = Table(title="Summary: SW = Skywarden (all its scans), SS = Stone Soup (the scans it ran); "
                    "ratios SS/SW from the same run", title_justify="left")
    t.add_column("targets", justify="right", min_width=8)
    for col in ("SW ms mean", "SW ms p99", "SS ms mean", "SS ms p99", "SS/SW ms",
                "SSkd ms mean", "SSkd/SW ms",
                "SW GOSPA m²", "SS GOSPA m² (scans)", "SSkd GOSPA m²", "SW id sw", "SS id sw",
                "SSkd id sw", "SW class %",
                "SW peak MB", "SS peak MB"):
        t.add_column(col, justify="right")
    for r in results:
        sw = r["skywarden_all_scans"] or r["skywarden"]
        ss = r["stonesoup"]
        kd = r.get("stonesoup_kdtree")

        def g(d: Any, key: str, fmt: str) -> str:
            return _f(d[key], fmt) if isinstance(d, dict) else str(d).split(" (")[0]

        ss_gospa = g(ss, "gospa_total", "{:,.0f}")
        if isinstance(ss, dict):
            ss_gospa += f" ({ss['metrics_over_scans']})"
        pairs = r.get("crossing_pairs", 0)
        name = f"crossing\n{pairs:,} pairs" if pairs else f"{r['n_targets']:,}"
        if r.get("scenario") == "real":
            name = f"real\n{r['n_targets']:,} flights"
        t.add_row(
            name,
            g(sw, "ms_mean", "{:,.2f}"), g(sw, "ms_p99", "{:,.2f}"),
            g(ss, "ms_mean", "{:,.1f}"), g(ss, "ms_p99", "{:,.1f}"),
            _ratio(ss["ms_mean"], sw["ms_mean"]) if isinstance(ss, dict) and isinstance(sw, dict)
            else "—",
            g(kd, "ms_mean", "{:,.1f}"),
            _ratio(kd["ms_mean"], sw["ms_mean"]) if isinstance(kd, dict) and isinstance(sw, dict)
            else "—",
            g(sw, "gospa_total", "{:,.0f}"), ss_gospa, g(kd, "gospa_total", "{:,.0f}"),
            g(sw, "switches", "{:,.0f}"), g(ss, "switches", "{:,.0f}"), g(kd, "switches", "{:,.0f}"),
            g(sw, "class_pct", "{:.1f}"),
            g(sw, "peak_mb", "{:,.0f}"), g(ss, "peak_mb", "{:,.0f}"),
        )
    return t


def as_record(s: Scored | str) -> dict[str, Any] | str:
    if not isinstance(s, Scored):
        return s
    return {
        "scans_run": s.out.n_scans,
        "complete": s.out.complete,
        "note": s.out.note,
        "metrics_over_scans": s.k_eval,
        "ms_mean": s.ms_mean(),
        "ms_p99": s.ms_p99(),
        "cpu_ms_mean": s.cpu_mean(),
        "gospa_localisation": s.gospa["localisation"],
        "gospa_missed": s.gospa["missed"],
        "gospa_false": s.gospa["false"],
        "gospa_total": s.gospa["total"],
        "gospa_distance": s.gospa["distance"],
        "switches": s.switches,
        "crossing_targets_changed": s.cross_changed,
        "crossing_pairs_exchanged": s.cross_exchanged,
        "truths_tracked_pct": 100 * s.confirmed,
        "ttc_median_s": s.ttc_median,
        "ttc_p90_s": s.ttc_p90,
        "mean_confirmed_tracks": s.mean_tracks,
        "mean_truths_judged": s.mean_truths,
        "class_pct": 100 * s.cls_fraction,
        "class_tracks_judged": s.cls_tracks,
        "confusion": s.confusion,
        "peak_mb": s.out.peak_rss_mb,
        "growth_mb": s.out.growth_mb,
        "net_growth_mb": s.out.net_growth_mb,
        "missed_waiting_per_scan": s.missed_waiting,
        "missed_lost_per_scan": s.missed_lost,
        "rms_m": s.rms_m,
        "late_gospa_total": s.late_total,
        "late_missed_per_scan": s.late_missed,
        "late_false_per_scan": s.late_false,
    }


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One row of the benchmark: a label for the tables and the scenario's run settings."""

    label: str  # "10 targets", "crossing: 20 pairs"
    spec: dict[str, Any]  # RunSpec fields other than tracker and budget_s

    @property
    def kind(self) -> str:
        if self.spec.get("real_flights"):
            return "real"
        return "crossing" if self.spec.get("crossing_pairs", 0) > 0 else "random"


def cases(args: argparse.Namespace) -> list[Case]:
    """The sizes, then the crossing case, as the arguments ask."""
    sizes = args.sizes if args.sizes is not None else (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    n_scans = args.scans or (8 if args.quick else 60)
    common = dict(seed=args.seed, pd=args.pd, clutter_mean=args.clutter)
    out = [
        Case(f"{n:,} targets", dict(n_targets=n, n_scans=n_scans, n_radars=args.radars, **common))
        for n in sizes
    ]
    pairs = args.crossing_pairs
    if pairs is None:
        pairs = QUICK_CROSSING_PAIRS if args.quick else DEFAULT_CROSSING_PAIRS
    if pairs > 0:
        out.append(Case(f"crossing: {pairs:,} pairs", dict(
            n_targets=2 * pairs, n_scans=args.scans or (QUICK_CROSSING_SCANS if args.quick else 60),
            n_radars=1, crossing_pairs=pairs, **common)))
    real = args.real_flights
    if real > 0:
        from bench._real_flights import load_real_flights

        n = len(load_real_flights())
        out.append(Case(f"real flights: {n}", dict(
            n_targets=n, n_scans=real, n_radars=1, real_flights=True, **common)))
    return out


def run_case(
    case: Case, args: argparse.Namespace, ss_ver: str | None, progress: Progress, console: Console
) -> tuple[list[Table], dict[str, Any]]:
    """Both trackers on one case: its tables and its record for the JSON."""
    n = case.spec["n_targets"]
    sw_spec = RunSpec(tracker="skywarden", budget_s=args.budget, **case.spec)
    scenario = build_scenario(sw_spec)
    sw_out = run_tracker(sw_spec, progress, f"{case.label:>18} · Skywarden", len(scenario.scans))
    def reference(tracker: str, label: str) -> TrackerOutput | str:
        if ss_ver is None:
            return "not installed"
        if n > args.stonesoup_max:
            return f"not run (> --stonesoup-max {args.stonesoup_max})"
        return run_tracker(replace(sw_spec, tracker=tracker, budget_s=args.stonesoup_budget),
                           progress, f"{case.label:>18} · {label}", len(scenario.scans))

    ss_out = reference("stonesoup", "Stone Soup")
    kd_out = "not run (--no-kdtree)" if args.no_kdtree else reference(
        "stonesoup-kdtree", "Stone Soup kd-tree")
    for name, o in (("Skywarden", sw_out), ("Stone Soup", ss_out), ("Stone Soup kd-tree", kd_out)):
        if isinstance(o, str) and "Traceback" in o:
            if _short(o) == "not available":
                console.print(f"[yellow]{name} tracker not available in this checkout: "
                              f"{o.strip().splitlines()[-1]}[/]")
            else:
                console.print(f"[red]{name} failed:\n{o}[/]")
    outs = [o for o in (sw_out, ss_out, kd_out) if isinstance(o, TrackerOutput)]
    k_eval = min((o.n_scans for o in outs), default=0)
    pairs = case.spec.get("crossing_pairs", 0)
    sw = score(sw_out, scenario, k_eval, args.cutoff, args.min_age, pairs) \
        if isinstance(sw_out, TrackerOutput) else _short(sw_out)
    ss = score(ss_out, scenario, k_eval, args.cutoff, args.min_age, pairs) \
        if isinstance(ss_out, TrackerOutput) else _short(ss_out)
    kd = score(kd_out, scenario, k_eval, args.cutoff, args.min_age, pairs) \
        if isinstance(kd_out, TrackerOutput) else _short(kd_out)
    info = {
        "radars": len(scenario.radars),
        "scans": len(scenario.scans),
        "dets_per_scan": scenario.n_detections / len(scenario.scans),
        "clutter_per_scan": float(np.mean([s.n_clutter for s in scenario.scans])),
        "cutoff": args.cutoff,
    }
    sw_all = None
    if isinstance(sw_out, TrackerOutput) and k_eval < sw_out.n_scans:
        sw_all = score(sw_out, scenario, sw_out.n_scans, args.cutoff, args.min_age, pairs)
    tables = [size_table(case.label, info, sw, ss, sw_all, kd)]
    if isinstance(sw, Scored):
        ct = confusion_table(case.label, sw_all or sw)
        if ct is not None:
            tables.append(ct)
    record = {"case": case.label, "scenario": case.kind, "n_targets": n,
              "crossing_pairs": case.spec.get("crossing_pairs", 0), **info,
              "skywarden": as_record(sw), "stonesoup": as_record(ss),
              "stonesoup_kdtree": as_record(kd),
              "skywarden_all_scans": as_record(sw_all) if sw_all else None}
    return tables, record


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.stonesoup_budget is None:
        args.stonesoup_budget = 15.0 if args.quick else 120.0
    # one thread of linear algebra per tracker: a fair comparison, and kind to a shared machine
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if args.scans is not None and args.scans < 2:
        raise SystemExit("--scans must be at least 2")
    if args.crossing_pairs is not None and args.crossing_pairs < 0:
        raise SystemExit("--crossing-pairs must be 0 or more")
    todo = cases(args)
    if not todo and args.command <= 0:
        raise SystemExit("nothing to run: no sizes, no crossing pairs, no --command")
    # wide enough for the tables when written to a file or a narrow pipe
    console = Console(width=max(Console().width, 140))
    ss_ver = stonesoup_version()
    scans = sorted({c.spec["n_scans"] for c in todo} | ({args.scans or 60} if args.command > 0 else set()))
    console.print(
        f"[bold]Tracking benchmark[/] · python {platform.python_version()} · numpy {np.__version__}"
        f" · seed {args.seed} · {' or '.join(map(str, scans))} scans per radar · pd {args.pd}"
        f" · clutter {args.clutter}/scan"
    )
    if ss_ver is None:
        console.print("[yellow]Stone Soup is not installed: its columns say 'not installed'. "
                      "It is a benchmark-only extra: pip install stonesoup[/]")
    else:
        console.print(f"Stone Soup {ss_ver}: up to {args.stonesoup_max:,} targets, "
                      f"{args.stonesoup_budget:.0f} CPU s per case at most")

    results: list[dict[str, Any]] = []
    tables: list[Table] = []
    command: tuple[Table, dict[str, Any]] | None = None
    started = time.perf_counter()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console)
    with progress:
        for case in todo:
            case_tables, record = run_case(case, args, ss_ver, progress, console)
            tables += case_tables
            results.append(record)
        command = run_command_case(args, ss_ver, progress) if args.command > 0 else None
    for t in tables:
        console.print(t)
    if results:
        console.print(summary_table(results))
    if command is not None:
        console.print(command[0])
    console.print(f"total wall time {time.perf_counter() - started:,.0f} s")
    doc = {
        "command": " ".join(["bench/tracking.py", *(argv if argv is not None else sys.argv[1:])]),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "stonesoup": ss_ver,
        "machine": platform.machine(),
        "processor": platform.processor(),
        "results": results,
        "track_command": command[1] if command is not None else None,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(doc, indent=2, default=float))
        console.print(f"figures written to {args.json}")
    if args.markdown is not None:
        args.markdown.write_text(markdown(doc))
        console.print(f"tables written to {args.markdown}")
    return 0


def run_command_case(
    args: argparse.Namespace, ss_ver: str | None, progress: Progress
) -> tuple[Table, dict[str, Any]]:
    """``skywarden track`` whole, on the --command scenario written as a recording, against
    Stone Soup's kd-tree GNN loop alone (and Skywarden's own loop) on the same detections."""
    import shutil
    import statistics
    import tempfile

    from bench._tracking_command import time_command, write_recording

    n = args.command
    spec = RunSpec(tracker="skywarden", budget_s=args.budget, n_targets=n, n_scans=args.scans or 60,
                   seed=args.seed, n_radars=args.radars, pd=args.pd, clutter_mean=args.clutter,
                   as_recorded=True)
    scenario = build_scenario(spec)
    n_scans = len(scenario.scans)
    folder = Path(tempfile.mkdtemp(prefix="skywarden-track-bench-"))
    files = {fmt: folder / f"detections.{fmt}" for fmt in ("csv", "parquet")}
    rows = write_recording(scenario, files["csv"], files["parquet"])
    write_recording(scenario, folder / "one.csv", folder / "one.parquet", first_scan_only=True)
    label = f"{n:,} targets, recorded"
    core = run_tracker(spec, progress, f"{label:>18} · Skywarden", n_scans)
    kd: TrackerOutput | str = "not installed" if ss_ver is None else "not run (--no-kdtree)"
    if ss_ver is not None and not args.no_kdtree:
        kd = run_tracker(replace(spec, tracker="stonesoup-kdtree", budget_s=args.stonesoup_budget),
                         progress, f"{label:>18} · Stone Soup kd-tree", n_scans)
    task = progress.add_task(f"{label:>18} · skywarden track", total=4 * (args.command_repeat + 1))
    timings = []
    for fmt, name in (("csv", "CSV"), ("parquet", "Parquet")):
        timings.append(time_command(f"{name} in, {name} out", files[fmt], folder / f"one.{fmt}",
                                    folder / f"tracks.{fmt}", args.command_repeat))
        progress.update(task, advance=2 * (args.command_repeat + 1))
    sizes = {fmt: f.stat().st_size for fmt, f in files.items()}
    shutil.rmtree(folder)

    def loop_s(o: TrackerOutput | str) -> tuple[float, str]:
        """CPU s of the whole loop (extrapolated by its mean when it stopped early)."""
        if not isinstance(o, TrackerOutput) or not o.cpu_ms:
            return float("nan"), _short(o) if isinstance(o, str) else "no scans"
        s = sum(o.cpu_ms) / 1e3
        if o.n_scans < n_scans:
            return s * n_scans / o.n_scans, f"extrapolated from {o.n_scans}/{n_scans} scans"
        return s, ""

    kd_s, kd_note = loop_s(kd)
    sw_s, sw_note = loop_s(core)
    t = Table(title=f"skywarden track, whole, on {n:,} targets ({rows:,} detections, {n_scans} scans; "
                    f"CSV {sizes['csv'] / 2**20:.1f} MiB, Parquet "
                    f"{sizes['parquet'] / 2**20:.1f} MiB) · CPU seconds, median of "
                    f"{args.command_repeat}", title_justify="left")
    t.add_column("")
    t.add_column("CPU s", justify="right")
    t.add_column("ms per scan", justify="right")
    t.add_column("Stone Soup kd-tree loop / this", justify="right")
    t.add_row("Stone Soup kd-tree GNN loop alone" + (f" ({kd_note})" if kd_note else ""),
              _f(kd_s, "{:,.1f}"), _f(kd_s / n_scans * 1e3, "{:,.1f}"), "")
    t.add_row("Skywarden Tracker.step loop alone" + (f" ({sw_note})" if sw_note else ""),
              _f(sw_s, "{:,.2f}"), _f(sw_s / n_scans * 1e3, "{:,.2f}"), _ratio(kd_s, sw_s))
    record: dict[str, Any] = {
        "n_targets": n, "detections": rows, "scans": n_scans,
        "csv_bytes": sizes["csv"], "parquet_bytes": sizes["parquet"],
        "stonesoup_kdtree_loop_cpu_s": kd_s, "stonesoup_kdtree_note": kd_note,
        "skywarden_loop_cpu_s": sw_s, "core_ratio": kd_s / sw_s if sw_s else float("nan"),
        "runs": [],
    }
    for tm in timings:
        whole, one = statistics.median(tm.whole_s), statistics.median(tm.one_scan_s)
        t.add_row(f"skywarden track, {tm.label}: whole run", _f(whole, "{:,.2f}"), "", "")
        t.add_row("  of it start-up (the first scan alone)", _f(one, "{:,.2f}"), "", "")
        t.add_row("  less start-up", _f(tm.net_s, "{:,.2f}"), _f(tm.net_s / n_scans * 1e3, "{:,.2f}"),
                  _ratio(kd_s, tm.net_s))
        record["runs"].append({"label": tm.label, "whole_cpu_s": tm.whole_s, "one_scan_cpu_s": tm.one_scan_s,
                               "net_cpu_s": tm.net_s, "ratio": kd_s / tm.net_s if tm.net_s > 0 else float("nan")})
    return t, record


def _short(reason: str) -> str:
    """A failure reason short enough for a table cell (tracebacks are printed above)."""
    if "Traceback" in reason:
        last = reason.strip().splitlines()[-1]
        if last.startswith(("ImportError", "ModuleNotFoundError")):
            return "not available"
        return "failed"
    return reason


if __name__ == "__main__":
    raise SystemExit(main())
