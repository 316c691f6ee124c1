"""Frames per second of the browser console with 1,000 live tracks.

Starts ``skywarden serve --exercise`` on a free localhost port, pauses its night, logs in with
Debian's Chromium (headless, software WebGL) at 1366x768, and then feeds the console 1,000
synthetic tracks (with 8-point trails and 40 threats) once a second through the same path a
WebSocket delta takes (a JSON text parsed in the page, then the feed's delta handler). It
measures twice: with the camera still (the picture changing once a second, as the duty officer
watches it), then panning every frame, so every frame is drawn. The page counts its
requestAnimationFrame callbacks and the map's render events.

Prints, for each phase: frames per second (rAF), map frames per second, and the median and
95th-percentile frame time.

    python bench/console_fps.py [--tracks 1000] [--seconds 20] [--trace trace.json] [--layer-costs 4]

With each phase, the CPU seconds Chromium's processes spent (/proc), per second and per map
frame: the wall-clock figures depend on what else the machine runs, these much less. `--trace`
writes Chromium's performance trace (open it in DevTools' Performance panel) and prints each
phase's busiest threads and the GPU process's frame swaps. `--layer-costs` then measures what
each of the tracks' layers adds to a panning frame.

Needs the console built (make console) and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import httpx
from playwright.sync_api import ConsoleMessage, sync_playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic", "--no-first-run", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
]  # fmt: skip

# Runs in the page: a synthetic picture of `n` tracks moving around the city, sent once a
# second as a delta (JSON text -> parse -> the feed's handler), and the frame counters.
FEED_JS = """
([n, seconds]) => new Promise((done) => {
  const c = window.__skywarden.console;
  const map = window.__skywarden.map;
  const classes = ["drone", "drone", "drone", "unknown", "bird", "manned_aircraft"];
  const tracks = [];
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < n; i++) {
    tracks.push({id: `B${String(i).padStart(4, "0")}`, lon: 37.62 + (rnd() - 0.5) * 1.6, lat: 55.75 + (rnd() - 0.5) * 0.9,
                 hdg: rnd() * 360, v: 20 + rnd() * 80, cls: classes[i % classes.length], p: 0.5 + rnd() / 2,
                 alt: 50 + rnd() * 2000, trail: []});
  }
  let seq = c.seq ?? 0;
  let now = Date.parse(c.lastT || c.live.night?.now || "2025-03-10T22:00:00Z");
  const sendDelta = () => {
    for (const t of tracks) {
      t.trail.push([t.lon, t.lat]);
      if (t.trail.length > 8) t.trail.shift();
      t.lat += t.v * Math.cos(t.hdg * Math.PI / 180) / 111320;
      t.lon += t.v * Math.sin(t.hdg * Math.PI / 180) / (111320 * Math.cos(t.lat * Math.PI / 180));
      t.hdg += (rnd() - 0.5) * 10;
    }
    now += 1000;
    const features = tracks.map((t) => ({type: "Feature", geometry: {type: "Point", coordinates: [t.lon, t.lat]},
      properties: {track_id: t.id, cls: t.cls, p_cls: t.p, alt_m: Math.round(t.alt), speed_ms: Math.round(t.v * 10) / 10,
                   heading_deg: Math.round(t.hdg), sigma_m: 50, identity: "", threat: null, trail: t.trail.slice()}}));
    const threats = tracks.slice(0, 40).map((t, i) => ({incident_id: `INC-${t.id}`, track_id: t.id,
      level: ["critical", "high", "medium", "low"][i % 4], zone_id: "centre", time_to_zone_s: 60 + i * 30,
      p_entry: 0.9, cpa_m: 100, reasons: ["heading toward the centre"], since: new Date(now - 60000).toISOString(), acknowledged_by: []}));
    const text = JSON.stringify({type: "delta", seq: seq + 1, prev: seq, t: new Date(now).toISOString(),
                                 data: {tracks: {type: "FeatureCollection", features}, threats}});
    const msg = JSON.parse(text);
    seq = msg.seq;
    c.feed.lastSeq = msg.prev;
    c.feed.receive(msg);
  };
  sendDelta();
  // warm up two seconds, then measure
  // Two phases of `seconds` each after a 2 s warm-up: the camera still (the duty officer
  // watching; the picture changes once a second), then panning every frame.
  let frames = 0, renders = 0, last = 0, panning = false, measuring = false;
  let gaps = [];
  const results = {};
  map.on("render", () => { if (measuring) renders += 1; });
  const tick = (ts) => {
    if (measuring) { frames += 1; if (last) gaps.push(ts - last); }
    last = ts;
    if (panning) map.panBy([1.5, 0.6], {duration: 0});
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const feeder = setInterval(sendDelta, 1000);
  const phase = (name, next) => {
    frames = 0; renders = 0; gaps = []; measuring = true;
    const t0 = performance.now();
    performance.mark(`phase-${name}-start`);
    console.log(`phase-${name}-start`);
    setTimeout(() => {
      measuring = false;
      performance.mark(`phase-${name}-end`);
      console.log(`phase-${name}-end`);
      const secs = (performance.now() - t0) / 1000;
      gaps.sort((a, b) => a - b);
      const q = (p) => gaps.length ? gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))] : NaN;
      results[name] = {seconds: secs, fps: frames / secs, map_fps: renders / secs, p50_ms: q(0.5), p95_ms: q(0.95)};
      next();
    }, seconds * 1000);
  };
  setTimeout(() => phase("still", () => { panning = true; setTimeout(() => phase("panning", () => {
    clearInterval(feeder);
    done({tracks: c.view().tracks.features.length, ...results});
  }), 1000); }), 2000);
})
"""


# Runs in the page after the phases, the tracks still on the map: pans on every frame while
# switching, every `slice` ms, which of the tracks' layers are drawn, round after round, so each
# variant meets the same load of the machine; the mean and median frame time of each.
LAYER_COSTS_JS = """
([rounds, slice]) => new Promise((done) => {
  const m = window.__skywarden.map;
  const TRACK_LAYERS = ["trails", "threat-rings", "selected-ring", "tracks", "threat-labels"];
  const variants = {
    "every layer": [],
    "without the arrows": ["tracks"],
    "without the trails": ["trails"],
    "without the threat rings": ["threat-rings", "selected-ring"],
    "without the threat labels": ["threat-labels"],
    "without the tracks' layers": TRACK_LAYERS,
  };
  const names = Object.keys(variants);
  const gaps = Object.fromEntries(names.map((n) => [n, []]));
  let current = null, last = 0, settle = 0, k = 0;
  const tick = (ts) => {
    if (current && last && settle <= 0) gaps[current].push(ts - last);
    settle -= 1; last = ts;
    if (current) { m.panBy([1.5, 0.6], {duration: 0}); requestAnimationFrame(tick); }
  };
  const next = () => {
    if (k === names.length * rounds) {
      current = null;
      done(names.map((n) => {
        const g = gaps[n].sort((a, b) => a - b);
        return {variant: n, frames: g.length, mean_ms: g.reduce((s, x) => s + x, 0) / g.length, median_ms: g[g.length >> 1]};
      }));
      return;
    }
    current = names[k % names.length];
    k += 1;
    for (const id of TRACK_LAYERS) m.setLayoutProperty(id, "visibility", variants[current].includes(id) ? "none" : "visible");
    settle = 2;  // the frame that switched and the next are not the variant's
    setTimeout(next, slice);
  };
  next();
  requestAnimationFrame(tick);
})
"""

TRACE_CATEGORIES = [
    "toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline", "blink.user_timing",
    "v8.execute", "gpu", "viz", "cc", "benchmark", "disabled-by-default-devtools.timeline.frame",
]  # fmt: skip


def chromium_cpu_s() -> float:
    """CPU seconds (user + system) spent so far by this process's Chromium descendants: the
    browser, its renderer (page, map worker) and its GPU process (SwiftShader's rasterising)."""
    ticks = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, str, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        f = stat[stat.rindex(")") + 2 :].split()
        procs[int(d.name)] = (int(f[1]), comm, (int(f[11]) + int(f[12])) / ticks)
    total = 0.0
    for pid, (_, comm, cpu) in procs.items():
        if not comm.startswith("chrom"):
            continue
        anc = pid
        while anc > 1 and anc != os.getpid():
            anc = procs.get(anc, (1, "", 0.0))[0]
        if anc == os.getpid():
            total += cpu
    return total


def trace_summary(path: Path, phase: str) -> list[str]:
    """Where a phase's wall time went, per thread, from a Chromium trace: each thread's busy share
    (top-level tasks), and the GPU process's frame swaps (SwiftShader draws a frame's WebGL and
    composites the page inside them)."""
    events = json.loads(path.read_text())["traceEvents"]
    names: dict[tuple[int, int], str] = {}
    marks: dict[str, float] = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") in ("thread_name", "process_name"):
            key = (e["pid"], e["tid"] if e["name"] == "thread_name" else -1)
            names[key] = e["args"]["name"]
        elif str(e.get("name", "")).startswith("phase-"):
            marks.setdefault(e["name"], e["ts"])
    t0, t1 = marks.get(f"phase-{phase}-start"), marks.get(f"phase-{phase}-end")
    if t0 is None or t1 is None:
        return [f"  (no {phase} marks in the trace)"]
    busy: dict[tuple[int, int], float] = {}
    swaps: list[tuple[float, float]] = []  # (start, duration in ms)
    webgl: list[float] = []  # the map's WebGL commands reaching the GPU process
    for e in events:
        if e.get("ph") != "X" or not (t0 <= e.get("ts", 0) < t1):
            continue
        if e["name"] in ("ThreadControllerImpl::RunTask", "ThreadPool_RunTask"):
            busy[(e["pid"], e["tid"])] = busy.get((e["pid"], e["tid"]), 0.0) + e.get("dur", 0)
        elif e["name"] == "SkiaOutputSurfaceImplOnGpu::SwapBuffers":
            swaps.append((e["ts"], e.get("dur", 0) / 1000))
        elif e["name"] == "WebGL":
            webgl.append(e["ts"])
    # A swap with no WebGL command since the one before is the page's alone (panels, clock):
    # what compositing the page costs; the others also draw a map frame.
    swaps.sort()
    webgl.sort()
    page_only: list[float] = []
    with_map: list[float] = []
    prev = t0
    for ts, dur in swaps:
        (with_map if bisect.bisect(webgl, ts) > bisect.bisect(webgl, prev) else page_only).append(dur)
        prev = ts
    out = []
    for (pid, tid), us in sorted(busy.items(), key=lambda kv: -kv[1])[:5]:
        out.append(f"  {names.get((pid, -1), pid)} / {names.get((pid, tid), tid)}: busy {100 * us / (t1 - t0):.0f}%")
    if swaps:
        total = sum(dur for _, dur in swaps)
        out.append(f"  GPU process: {len(swaps) / ((t1 - t0) / 1e6):.1f} swaps/s, "
                   f"{100 * total / ((t1 - t0) / 1000):.0f}% of the phase in them")  # fmt: skip
        for what, durs in (("the page alone", page_only), ("with a map frame", with_map)):
            if durs:
                durs.sort()
                out.append(f"    {what}: {len(durs)} swaps, median {durs[len(durs) // 2]:.0f} ms")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument(
        "--layer-costs",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="then pan while switching the tracks' layers off one at a time, ROUNDS rounds of 1.5 s each: "
        "a panning frame's time with each (the same load for each)",
    )
    ap.add_argument("--trace", type=Path, help="write Chromium's performance trace here (JSON) and print where each phase's time went")
    args = ap.parse_args()
    if not (REPO / "skywarden/service/static/index.html").exists():
        sys.exit("console not built: run make console")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-c", "from skywarden.cli import app; app()", "serve", "--exercise", "--speed", "1",
               "--log", f"{tmp}/night.sqlite", "--bind", f"127.0.0.1:{port}"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with open(f"{tmp}/serve.out", "wb") as out:
            proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{url}/api/night", timeout=2).status_code == 401:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit("skywarden serve did not start:\n" + Path(f"{tmp}/serve.out").read_text()[-2000:])
                time.sleep(0.3)
            users = {u["user"]: u for u in tomllib.loads(Path(f"{tmp}/exercise-users.toml").read_text())["user"]}
            admin = users["admin"]
            token = httpx.post(f"{url}/api/login", json={"user": "admin", "password": admin["password"]}).json()["token"]
            r = httpx.post(f"{url}/api/exercise", json={"action": "pause"}, headers={"Authorization": f"Bearer {token}"})
            r.raise_for_status()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                page.goto(url + "/")
                page.get_by_test_id("login-user").fill("admin")
                page.get_by_test_id("login-password").fill(admin["password"])
                page.get_by_test_id("login-submit").click()
                page.get_by_test_id("who").wait_for()
                page.wait_for_function("() => window.__skywarden && window.__skywarden.map.loaded()", timeout=60_000)
                cpu: dict[str, float] = {}

                def on_console(msg: ConsoleMessage) -> None:  # the page's phase marks: Chromium's CPU so far
                    if msg.text.startswith("phase-"):
                        cpu.setdefault(msg.text, chromium_cpu_s())

                page.on("console", on_console)
                if args.trace:
                    browser.start_tracing(page=page, path=args.trace, categories=TRACE_CATEGORIES)
                result = page.evaluate(FEED_JS, [args.tracks, args.seconds])
                if args.trace:
                    browser.stop_tracing()
                costs = page.evaluate(LAYER_COSTS_JS, [args.layer_costs, 1500]) if args.layer_costs else []
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; Chromium headless, software WebGL (SwiftShader), 1366x768")
    print(f"tracks on the map: {result['tracks']}  (updated once a second, 8-point trails, 40 threats)")
    for name, what in (("still", "camera still"), ("panning", "panning every frame")):
        r = result[name]
        print(
            f"{what:20s}: {r['fps']:5.1f} frames/s (requestAnimationFrame), {r['map_fps']:5.1f} map frames/s, "
            f"frame time median {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms  ({r['seconds']:.0f} s)"
        )
        if f"phase-{name}-end" in cpu and f"phase-{name}-start" in cpu:
            used = cpu[f"phase-{name}-end"] - cpu[f"phase-{name}-start"]
            frames = r["map_fps"] * r["seconds"]
            print(
                f"{'':20s}  Chromium's CPU: {used / r['seconds']:.2f} s per second, "
                f"{1000 * used / max(frames, 1):.0f} ms per map frame"
            )
        if args.trace:
            print("\n".join(trace_summary(args.trace, name)))

    if costs:
        print(f"a panning frame, by the tracks' layers drawn ({args.layer_costs} rounds of 1.5 s each, interleaved):")
        for c in costs:
            print(f"  {c['variant']:28s}: mean {c['mean_ms']:4.0f} ms, median {c['median_ms']:4.0f} ms  ({c['frames']} frames)")


if __name__ == "__main__":
    main()
