"""One tick of the live service in process: N targets' scans into a live night, each tick's CPU
(the night's thread) split into its parts, and the full garbage collections among them.

    python bench/serve_tick.py --tracks 1000 --ticks 120 --warmup 15

Parts: the stages and the log (``Runtime.tick``); the picture, its changed collections and the
track columns; encoding the delta (``encode_delta``); the state's tracks as the reads give them
(``tracks_body``); copying and gzipping that body for the reads (``encode_body``). ``--settle``
sets aside (``gc.freeze``) what lives every ten ticks, as ``skywarden serve`` does every 10 s.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve import Targets  # noqa: E402  (the same targets as bench/serve.py)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=1000)
    ap.add_argument("--ticks", type=int, default=120)
    ap.add_argument("--warmup", type=int, default=15)
    ap.add_argument("--settle", action="store_true", help="gc.freeze every ten ticks, as serve does every 10 s")
    args = ap.parse_args()

    from skywarden.ingest.jsonl import ReportChecker
    from skywarden.scenario import load_scenario
    from skywarden.service.hub import encode_body, encode_delta
    from skywarden.service.live import Delta, LiveNight

    scn = load_scenario(None)
    live = LiveNight(scn, f"{tempfile.mkdtemp(prefix='skywarden-bench-tick-')}/night.sqlite", exercise=False, signing=None)
    live.open()
    gc.collect()
    gc.freeze()  # as serve's settled_heap
    marks: dict[str, float] = {}

    def on_delta(delta: Delta) -> None:
        marks["picture"] = time.thread_time()
        encode_delta(delta)
        marks["delta"] = time.thread_time()

    def on_tick(delta: Delta, state: dict[str, Any]) -> None:
        marks["state"] = time.thread_time()
        if "tracks" in delta.changed:
            encode_body(state["tracks"])
        marks["bodies"] = time.thread_time()

    assert live.rt is not None
    stages_tick = live.rt.tick

    def rt_tick(now: Any) -> Any:
        out = stages_tick(now)
        marks["stages"] = time.thread_time()
        return out

    live.rt.tick = rt_tick  # type: ignore[method-assign]  # timing the stages' part of the tick
    live.on_delta, live.on_tick = on_delta, on_tick
    full: list[float] = []
    started: dict[str, float] = {}

    def collected(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                started["t"] = time.thread_time()
            else:
                full.append(time.thread_time() - started["t"])

    targets = Targets(args.tracks, scn.spec.city.lat, scn.spec.city.lon)
    checker = ReportChecker(source="api:bench")
    rows: list[tuple[float, ...]] = []
    for i in range(args.warmup + args.ticks):
        if i == args.warmup:
            gc.callbacks.append(collected)
        if args.settle and i % 10 == 5:
            gc.collect(1)
            gc.freeze()
        now = (live.rt.last_tick or live.scenario.start) + timedelta(seconds=1)
        live.submit(checker.check(targets.scan(now - timedelta(milliseconds=100), 1.0), line=1, now=live.rt.last_tick), own_time=True)
        t0 = time.thread_time()
        live._tick(now)
        t1 = time.thread_time()
        m = marks
        rows.append((m["stages"] - t0, m["picture"] - m["stages"], m["delta"] - m["picture"], m["state"] - m["delta"], m["bodies"] - m["state"], t1 - t0))
    gc.callbacks.remove(collected)
    live.stop()
    names = ["stages and log", "picture, collections, columns", "encode the delta", "state's tracks (tracks_body)", "copy and gzip for the reads", "whole tick"]
    print(f"{args.tracks} tracks, {args.ticks} ticks after {args.warmup}; CPU ms of the night's thread")
    for k, name in enumerate(names):
        xs = sorted(r[k] * 1000 for r in rows[args.warmup :])
        print(f"  {name:32s} median {statistics.median(xs):6.1f}  p90 {xs[int(len(xs) * 0.9)]:6.1f}  max {xs[-1]:6.1f}")
    print(f"full collections: {len(full)}, CPU ms {[round(x * 1000) for x in full]}")


if __name__ == "__main__":
    main()
