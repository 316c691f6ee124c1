"""Build tests/data/real_flights.csv: short windows of real recorded flights, by kind.

The source is the sample data shipped in the wheel of the `traffic` package (MIT licence;
the trajectories are ADS-B data from the OpenSky Network): helicopters (air ambulances),
gliders, light and survey aircraft (calibration and survey flights, light aircraft) and
airliners (the Swiss airspace collection). Each flight is cut into windows of at most
WINDOW_S seconds without a gap longer than its kind allows, thinned to one point every
MIN_STEP_S seconds at most, converted to SI units and written as one CSV, sorted by window
and time. The wheel is read with the standard library alone (zip, gzip, json): the package
is not needed, and nothing is downloaded.

    python tools/make_real_flights.py path/to/traffic-2.13-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "real_flights.csv"
PREFIX = "traffic/data/samples/"

FT, KT, FPM = 0.3048, 1852.0 / 3600.0, 0.3048 / 60.0
WINDOW_S = 600.0  # longest window
MIN_WINDOW_S = 240.0  # shortest window kept
MIN_STEP_S = 2.0  # thinning: at most one point every 2 s
MAX_GAP_S = {"helicopter": 5.0, "glider": 30.0, "light_aircraft": 15.0, "airliner": 15.0}

#: sample file -> (flight kind, most windows taken from it)
SOURCES: dict[str, tuple[str, int]] = {
    "ambulances/rega_sg.json.gz": ("helicopter", 2),
    "ambulances/rega_zh.json.gz": ("helicopter", 1),
    "ambulances/samu31.json.gz": ("helicopter", 1),
    **{f"gliders/{n}.json.gz": ("glider", 2) for n in (
        "alpi_italiane", "alto_adige", "cevennes", "danube_valley", "franconia", "luberon",
        "oxford_cambridge", "sisteron")},
    **{f"calibration/{n}.json.gz": ("light_aircraft", 1) for n in (
        "ajaccio", "bornholm", "brussels_ils", "cardiff", "funchal", "guatemala", "kiruna",
        "kota_kinabalu", "montreal", "munich", "noumea", "vancouver")},
    **{f"surveys/{n}.json.gz": ("light_aircraft", 1) for n in (
        "georeal_fyn_island", "ign_fontainebleau", "liguria", "mecsek_mountains",
        "pixair_toulouse")},
    **{f"featured/{n}.json.gz": ("light_aircraft", 1) for n in (
        "easter_rabbit", "thankyou", "texas_longhorn", "anzac_day")},
}
AIRLINER_SOURCE = "collections/switzerland.json.gz"
AIRLINERS = 16  # the first flights, by icao24, with a 4-minute window (the collection is
# mostly cruise over the Alps)

COLUMNS = ("window", "kind", "icao24", "callsign", "time", "lat", "lon", "alt_m",
           "groundspeed_ms", "track_deg", "vertical_rate_ms")


def _rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Valid airborne points, in time order, one per timestamp, in SI units."""
    out: dict[int, dict[str, Any]] = {}
    for r in records:
        lat, lon, alt = r.get("latitude"), r.get("longitude"), r.get("altitude")
        if lat is None or lon is None or alt is None or r.get("onground"):
            continue
        t = int(r["timestamp"]) // 1000  # the samples are in ms, on whole seconds
        gs, trk, vr = r.get("groundspeed"), r.get("track"), r.get("vertical_rate")
        out[t] = {
            "time": t, "lat": round(float(lat), 6), "lon": round(float(lon), 6),
            "alt_m": round(float(alt) * FT, 1),
            "groundspeed_ms": "" if gs is None else round(float(gs) * KT, 1),
            "track_deg": "" if trk is None else round(float(trk) % 360.0, 1),
            "vertical_rate_ms": "" if vr is None else round(float(vr) * FPM, 2),
        }
    return [out[t] for t in sorted(out)]


def _windows(rows: list[dict[str, Any]], max_gap: float, limit: int) -> list[list[dict[str, Any]]]:
    """Up to ``limit`` consecutive windows of MIN_WINDOW_S..WINDOW_S seconds without a gap
    over ``max_gap``, thinned to MIN_STEP_S."""
    runs: list[list[dict[str, Any]]] = [[]]
    for r in rows:
        if runs[-1] and r["time"] - runs[-1][-1]["time"] > max_gap:
            runs.append([])
        runs[-1].append(r)
    out = []
    for run in runs:
        i = 0
        while i < len(run) and len(out) < limit:
            t0 = run[i]["time"]
            win = [r for r in run[i:] if r["time"] - t0 <= WINDOW_S]
            if win[-1]["time"] - t0 < MIN_WINDOW_S:
                break
            thin = [win[0]]
            for r in win[1:]:
                if r["time"] - thin[-1]["time"] >= MIN_STEP_S:
                    thin.append(r)
            out.append(thin)
            i += len(win)
    return out


def _flights(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by[(str(r.get("icao24") or ""), str(r.get("callsign") or "").strip())].append(r)
    return by


def build(wheel: Path) -> list[dict[str, Any]]:
    table: list[dict[str, Any]] = []

    def add(name: str, kind: str, icao: str, callsign: str, wins: list[list[dict[str, Any]]]) -> None:
        for n, win in enumerate(wins, start=1):
            for r in win:
                table.append({"window": f"{name}#{n}", "kind": kind, "icao24": icao,
                              "callsign": callsign, **r})

    with zipfile.ZipFile(wheel) as z:
        def load(path: str) -> list[dict[str, Any]]:
            data = json.loads(gzip.decompress(z.read(PREFIX + path)))
            if not isinstance(data, list):
                raise ValueError(f"{path}: expected a list of records")
            return data

        for path, (kind, limit) in SOURCES.items():
            for (icao, callsign), recs in sorted(_flights(load(path)).items()):
                name = path.removesuffix(".json.gz")
                add(name, kind, icao, callsign, _windows(_rows(recs), MAX_GAP_S[kind], limit))
                break  # one aircraft per sample file (they hold one)
        taken = 0
        for (icao, callsign), recs in sorted(_flights(load(AIRLINER_SOURCE)).items()):
            wins = [w for w in _windows(_rows(recs), MAX_GAP_S["airliner"], 1) if len(w) >= 20]
            if wins and taken < AIRLINERS:
                taken += 1
                add(f"switzerland/{callsign or icao}", "airliner", icao, callsign, wins)
    return table


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("wheel", type=Path, help="the traffic wheel (a zip file)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    table = build(args.wheel)
    with args.out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(table)
    kinds: dict[str, set[str]] = defaultdict(set)
    for r in table:
        kinds[r["kind"]].add(r["window"])
    print(f"{args.out}: {len(table):,} points, "
          + ", ".join(f"{len(v)} {k}" for k, v in sorted(kinds.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
