"""Pictures of the night: the map (local frame, km) and the timeline (local time)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a duty server

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402
from numpy.typing import ArrayLike, NDArray  # noqa: E402

from skywarden.log.projections import NightView  # noqa: E402
from skywarden.scenario import LoadedScenario  # noqa: E402

CLASS_COLOURS = {
    "drone": "#d62728",
    "bird": "#2ca02c",
    "manned_aircraft": "#1f77b4",
    "unknown": "#7f7f7f",
}


def _km(scn: LoadedScenario, lat: ArrayLike, lon: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    e, n, _ = scn.frame.to_enu(lat, lon)
    return e / 1000.0, n / 1000.0


def draw_map(view: NightView, scn: LoadedScenario, path: Path, extent_km: float = 75.0) -> Path:
    """Zones, districts, airports (with restriction radius), stations, tracks by class, kills,
    debris footprints and crew routes, in the city's local frame."""
    fig, ax = plt.subplots(figsize=(11, 11), dpi=110)
    ax.set_facecolor("#fbfbf8")
    for shape in scn.district_shapes.values():
        bx, by = shape.exterior.xy
        ax.plot(np.asarray(bx) / 1000, np.asarray(by) / 1000, color="#b0b0b0", lw=0.6, zorder=1)
    for z in scn.spec.zones:
        shape = scn.zone_shapes[z.id]
        bx, by = shape.exterior.xy
        ax.fill(np.asarray(bx) / 1000, np.asarray(by) / 1000, color="#ff9896", alpha=0.45, zorder=2)
        c = shape.centroid
        ax.annotate(z.name, (c.x / 1000, c.y / 1000), fontsize=7, color="#8c1c13", ha="center", zorder=6)
    for a in scn.spec.airports:
        ax_, ay_ = _km(scn, a.lat, a.lon)
        radius = Circle((float(ax_), float(ay_)), a.restriction_radius_m / 1000, fill=False, ls="--", color="#1f77b4", lw=0.8, alpha=0.7)
        ax.add_patch(radius)
        closed = view.airports.get(a.id)
        hours = closed.closed_s(view.last_t) / 3600 if closed else 0.0
        ax.plot(ax_, ay_, marker="^", color="#1f77b4", ms=9, zorder=7)
        ax.annotate(f"{a.id} ({hours:.1f} h closed)", (float(ax_), float(ay_)), xytext=(5, -12), textcoords="offset points", fontsize=8, color="#1f77b4")
    for s in scn.spec.stations:
        sx, sy = _km(scn, s.lat, s.lon)
        ax.plot(sx, sy, marker="s", color="#9467bd", ms=5, zorder=7)
    for tid, pts in view.paths.items():
        if len(pts) < 2:
            continue
        arr = np.asarray(pts)
        x, y = _km(scn, arr[:, 0], arr[:, 1])
        cls = view.track_class.get(tid, "unknown")
        ax.plot(x, y, color=CLASS_COLOURS.get(cls, "#7f7f7f"), lw=0.9, alpha=0.8, zorder=3)
    for d in view.debris:
        ring = np.asarray(d.polygon95)
        if len(ring) >= 3:
            x, y = _km(scn, ring[:, 0], ring[:, 1])
            ax.fill(x, y, color="#ff7f0e", alpha=0.35, zorder=4)
    for disp in view.dispatches:
        route = np.asarray(disp.route)
        if len(route) >= 2:
            x, y = _km(scn, route[:, 0], route[:, 1])
            ax.plot(x, y, color="#9467bd", lw=0.8, ls="-", alpha=0.7, zorder=4)
    for k in view.kills_in_order():
        kx, ky = _km(scn, k.lat, k.lon)
        ax.plot(kx, ky, marker="x", color="black", ms=6, mew=1.5, zorder=8)
        ax.annotate(str(k.number), (float(kx), float(ky)), xytext=(3, 3), textcoords="offset points", fontsize=7, zorder=9)
    handles = [Line2D([], [], color=c, lw=2, label=n.replace("_", " ")) for n, c in CLASS_COLOURS.items()]
    handles += [
        Line2D([], [], color="black", marker="x", ls="", label="kill (number in the night)"),
        Line2D([], [], color="#ff7f0e", lw=6, alpha=0.5, label="debris footprint (95 %)"),
        Line2D([], [], color="#9467bd", lw=1, label="crew route"),
        Line2D([], [], color="#9467bd", marker="s", ls="", label="crew station"),
        Line2D([], [], color="#1f77b4", marker="^", ls="--", label="airport, restriction radius"),
        Line2D([], [], color="#ff9896", lw=6, alpha=0.6, label="protected zone"),
    ]
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    ax.set_xlim(-extent_km, extent_km)
    ax.set_ylim(-extent_km, extent_km)
    ax.set_aspect("equal")
    ax.set_xlabel("east of the centre (km)")
    ax.set_ylabel("north of the centre (km)")
    ax.set_title(f"{scn.name}: tracks, kills, debris and crews")
    ax.grid(True, lw=0.3, alpha=0.5)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_timeline(view: NightView, scn: LoadedScenario, path: Path) -> Path:
    """Kills (cumulative), active threats, airport closures, statements and alerts over the night."""
    tz = scn.tz

    def loc(t: datetime) -> datetime:
        return t.astimezone(tz).replace(tzinfo=None)  # matplotlib plots wall-clock local time

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 6.5), dpi=110, sharex=True, gridspec_kw={"height_ratios": [2, 1.3]})
    kills = view.kills_in_order()
    if kills:
        times = sorted(loc(k.t) for k in kills)
        ax1.step(times, np.arange(1, len(times) + 1), where="post", color="black", label="kills (cumulative)")
        for k in kills:
            if k.number in (1, 10, 20, 31, 40) or k.number == len(kills):
                ax1.annotate(f"#{k.number} {k.local_time}", (loc(k.t), k.number), xytext=(4, -10), textcoords="offset points", fontsize=8)
    pub = [loc(p.t) for p in view.published]
    if pub:
        ax1.plot(pub, np.zeros(len(pub)) + 0.5, "|", color="#17becf", ms=14, mew=2, label="statement published")
    ax1.set_ylabel("kills")
    if kills or pub:  # (a night's first minutes have neither: no legend to draw)
        ax1.legend(loc="upper left", fontsize=8)
    ax1.grid(True, lw=0.3)
    rows = [a.id for a in scn.spec.airports]
    for i, aid in enumerate(rows):
        st = view.airports.get(aid)
        if st is None:
            continue
        for a, b in st.intervals:
            end = b or view.last_t or a
            ax2.barh(i, mdates.date2num(loc(end)) - mdates.date2num(loc(a)), left=mdates.date2num(loc(a)), color="#1f77b4", alpha=0.7)
    alert_times = [loc(a.t) for a in view.alerts if a.msg_type != "Cancel"]
    if alert_times:
        ax2.plot(alert_times, np.full(len(alert_times), len(rows)), "v", color="#d62728", ms=5, label="district alert")
        ax2.legend(loc="upper right", fontsize=8)
    ax2.set_yticks(range(len(rows) + 1), [*(f"{r} closed" for r in rows), "alerts"])
    ax2.set_xlabel(f"local time ({scn.spec.night.timezone})")
    ax2.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax2.set_xlim(loc(scn.start), loc(scn.end))
    ax2.grid(True, lw=0.3, axis="x")
    fig.suptitle(f"{scn.name}: timeline")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
