"""Markdown tables of the tracking benchmark's figures (the JSON that ``--json`` writes).

    python bench/_tracking_report.py tracking.json > tables.md
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

__all__ = ["markdown"]

ROWS: tuple[tuple[str, str, str, bool], ...] = (
    # label, key, format, ratio Stone Soup / Skywarden
    ("scans run", "scans_run", "{:,}", False),
    ("ms per scan, mean (wall)", "ms_mean", "{:,.2f}", True),
    ("ms per scan, p99 (wall)", "ms_p99", "{:,.2f}", True),
    ("CPU ms per scan, mean", "cpu_ms_mean", "{:,.2f}", True),
    ("GOSPA localisation (m², mean)", "gospa_localisation", "{:,.0f}", True),
    ("GOSPA missed (m², mean)", "gospa_missed", "{:,.0f}", True),
    ("GOSPA false (m², mean)", "gospa_false", "{:,.0f}", True),
    ("GOSPA total (m², mean)", "gospa_total", "{:,.0f}", True),
    ("GOSPA distance (m, mean)", "gospa_distance", "{:,.1f}", True),
    ("missed truths per scan: not yet tracked", "missed_waiting_per_scan", "{:,.2f}", True),
    ("missed truths per scan: lost a track", "missed_lost_per_scan", "{:,.2f}", False),
    ("RMS position error of assigned pairs (m)", "rms_m", "{:,.1f}", True),
    ("GOSPA total from t = 10 s (m², mean)", "late_gospa_total", "{:,.0f}", True),
    ("missed truths per scan from t = 10 s", "late_missed_per_scan", "{:,.2f}", True),
    ("false tracks per scan from t = 10 s", "late_false_per_scan", "{:,.2f}", True),
    ("truths judged per scan", "mean_truths_judged", "{:,.1f}", False),
    ("confirmed tracks per scan", "mean_confirmed_tracks", "{:,.1f}", False),
    ("identity switches", "switches", "{:,}", False),
    ("crossing: targets whose track changed", "crossing_targets_changed", "{:,}", False),
    ("crossing: pairs whose tracks exchanged", "crossing_pairs_exchanged", "{:,}", False),
    ("truths ever tracked (%)", "truths_tracked_pct", "{:.1f}", False),
    ("time to confirm, median (s)", "ttc_median_s", "{:.2f}", False),
    ("time to confirm, p90 (s)", "ttc_p90_s", "{:.2f}", False),
    ("class right at 10 s of track life (%)", "class_pct", "{:.1f}", False),
    ("tracks judged for class", "class_tracks_judged", "{:,}", False),
    ("peak memory, process (MB)", "peak_mb", "{:,.0f}", True),
    ("memory growth, tracker (MB)", "net_growth_mb", "{:,.1f}", True),
)


def _f(x: Any, fmt: str) -> str:
    if x is None or isinstance(x, str):
        return "—" if x is None else x
    if isinstance(x, float) and not math.isfinite(x):
        return "—"
    return fmt.format(x)


def _size(r: dict[str, Any]) -> list[str]:
    sw, ss, swa = r["skywarden"], r["stonesoup"], r.get("skywarden_all_scans")
    rows = [row for row in ROWS
            if r.get("scenario") == "crossing" or not row[1].startswith("crossing_")]
    case = f"{r['n_targets']:,} targets:"
    if r.get("scenario") == "crossing":
        case = f"crossing: {r['crossing_pairs']:,} pairs ({case[:-1]}),"
    out = [
        f"### {case} {r['radars']} radar(s), {r['scans']} scans, "
        f"{r['dets_per_scan']:.0f} reports per scan ({r['clutter_per_scan']:.0f} clutter)",
        "",
    ]
    if not isinstance(sw, dict):
        return [*out, f"Skywarden: {sw}.", ""]
    k = sw["metrics_over_scans"]
    if isinstance(ss, dict):
        out += [f"Both trackers judged over the first {k} scans"
                + (f" (Stone Soup {ss['note']})." if ss["note"] else "."), ""]
        head = "| | Skywarden | Stone Soup | Stone Soup / Skywarden |"
        rule = "|---|---:|---:|---:|"
        if swa:
            head += f" Skywarden, all {swa['metrics_over_scans']} scans |"
            rule += "---:|"
        out += [head, rule]
        for label, key, fmt, ratio in rows:
            rr = ""
            a, b = sw.get(key), ss.get(key)
            if ratio and isinstance(a, float | int) and isinstance(b, float | int) and a \
                    and math.isfinite(a) and math.isfinite(b):
                rr = f"{b / a:,.2f}×"
            line = f"| {label} | {_f(a, fmt)} | {_f(b, fmt)} | {rr} |"
            if swa:
                line += f" {_f(swa.get(key), fmt)} |"
            out.append(line)
    else:
        out += [f"Stone Soup: {ss}.", "", "| | Skywarden |", "|---|---:|"]
        out += [f"| {label} | {_f(sw.get(key), fmt)} |" for label, key, fmt, _ in rows]
    conf = (swa or sw)["confusion"]
    if conf:
        out += ["", "Skywarden classes over associated track-scans (rows truth, columns track):", "",
                "| truth \\ track | drone | bird | manned_aircraft | unknown |",
                "|---|---:|---:|---:|---:|"]
        out += [f"| {lab} | " + " | ".join(f"{v:,}" for v in row) + " |"
                for lab, row in zip(("drone", "bird", "manned_aircraft"), conf[:3], strict=True)]
    return [*out, ""]


def markdown(doc: dict[str, Any]) -> str:
    """All cases (sizes, crossing) as Markdown: one table per case, then the confusion matrix."""
    lines: list[str] = []
    for r in doc["results"]:
        lines += _size(r)
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(json.loads(Path(sys.argv[1]).read_text())))
