// Where a crew is along its route. The API gives each crew its route (station to site), its
// status and the ETA from its last status report; the console moves the marker along the route
// by the night's clock from the moment it first saw that ETA, so a crew en route is drawn
// moving between reports. A crew on site (or later) sits at the route's end.

const ARRIVED = new Set(["on_site", "wreckage_recovered", "site_closed"]);

/** Point at fraction `f` (0..1) of a polyline's length, on a local flat approximation. */
export function alongRoute(route, f) {
  if (!route.length) return null;
  if (route.length === 1 || f <= 0) return route[0];
  if (f >= 1) return route[route.length - 1];
  const k = Math.cos((route[0][1] * Math.PI) / 180);
  const seg = [];
  let total = 0;
  for (let i = 1; i < route.length; i++) {
    const dx = (route[i][0] - route[i - 1][0]) * k;
    const dy = route[i][1] - route[i - 1][1];
    const d = Math.hypot(dx, dy);
    seg.push(d);
    total += d;
  }
  if (total === 0) return route[0];
  let want = f * total;
  for (let i = 0; i < seg.length; i++) {
    if (want <= seg[i] || i === seg.length - 1) {
      const r = seg[i] === 0 ? 0 : Math.min(1, want / seg[i]);
      return [route[i][0] + r * (route[i + 1][0] - route[i][0]), route[i][1] + r * (route[i + 1][1] - route[i][1])];
    }
    want -= seg[i];
  }
  return route[route.length - 1];
}

export class CrewProgress {
  constructor() {
    this.anchors = new Map();
  }

  /** {position: [lon, lat] | null, etaLeftS: number | null} for crew `c` at night time `nowMs`. */
  observe(c, nowMs) {
    const route = Array.isArray(c.route) ? c.route : [];
    if (!route.length || !c.site_id) return { position: null, etaLeftS: null };
    if (ARRIVED.has(c.status)) return { position: route[route.length - 1], etaLeftS: 0 };
    const key = `${c.crew_id}|${c.site_id}`;
    const eta = Number.isFinite(c.eta_s) ? c.eta_s : null;
    let a = this.anchors.get(key);
    if (!a || a.eta !== eta) {
      const startFrac = a ? this.fraction(a, nowMs) : 0;
      a = { t: nowMs, eta, startFrac };
      this.anchors.set(key, a);
    }
    const f = this.fraction(a, nowMs);
    const left = eta === null ? null : Math.max(0, eta - (nowMs - a.t) / 1000);
    return { position: alongRoute(route, f), etaLeftS: left };
  }

  fraction(a, nowMs) {
    if (a.eta === null || a.eta <= 0) return a.eta === 0 ? 1 : a.startFrac;
    const run = Math.max(0, (nowMs - a.t) / 1000 / a.eta);
    return Math.min(1, a.startFrac + (1 - a.startFrac) * run);
  }
}
