// The WebSocket feed of docs/api.md: a snapshot on connect, then one delta per tick, each with
// its log sequence `seq` and the previous delta's `prev`. Reconnects ask `?since=<last seq>`
// for exactly what was missed. A delta whose `prev` is not the last seq seen is a gap: the feed
// reconnects with `since` to have it filled, and after a second gap in a row takes a fresh
// snapshot instead.

/**
 * What to do with one message, given the last seq applied (null before any snapshot).
 * Pure, so it is tested on its own: "apply" | "skip" (already seen) | "gap" | "ignore".
 */
export function classify(lastSeq, msg) {
  if (!msg || typeof msg !== "object") return "ignore";
  if (msg.type === "snapshot") return "apply";
  if (msg.type !== "delta") return "ignore";
  if (lastSeq === null) return "gap";
  if (typeof msg.seq === "number" && msg.seq <= lastSeq) return "skip";
  return msg.prev === lastSeq ? "apply" : "gap";
}

export const TRAIL = 10; // positions kept per track, as the server keeps them

/**
 * A delta's tracks as the server sends them, columns (`{type: "TrackColumns", track_id: [...],
 * lon: [...], lat: [...], cls: [...], ...}`, a quarter of the GeoJSON's bytes), as the GeoJSON
 * FeatureCollection of Points the reads give (without trails). Any other column is a property.
 */
export function fromColumns(cols) {
  const ids = cols?.track_id || [];
  const names = Object.keys(cols || {}).filter((k) => k !== "type" && k !== "lon" && k !== "lat");
  const features = ids.map((_, i) => {
    const properties = {};
    for (const k of names) properties[k] = cols[k][i];
    return { type: "Feature", geometry: { type: "Point", coordinates: [cols.lon[i], cols.lat[i]] }, properties };
  });
  return { type: "FeatureCollection", features };
}

/**
 * A delta's tracks (columns or GeoJSON, without trails) with each track's trail extended from
 * the tracks the client holds: its last trail, and the delta's position where the track moved.
 * Tracks not in the delta lose theirs. Pure, and the same rule as the server's
 * (skywarden/service/picture.py).
 */
export function withTrails(held, tracks) {
  if (tracks?.type === "TrackColumns") tracks = fromColumns(tracks);
  const before = new Map();
  for (const f of held?.features || []) before.set(f.properties?.track_id, f.properties?.trail || []);
  const features = (tracks?.features || []).map((f) => {
    const p = f.properties || {};
    if (Array.isArray(p.trail)) return f; // a server that sends trails: keep them
    const trail = [...(before.get(p.track_id) || [])];
    const at = f.geometry?.coordinates;
    const last = trail[trail.length - 1];
    if (Array.isArray(at) && !(last && last[0] === at[0] && last[1] === at[1])) trail.push([at[0], at[1]]);
    return { ...f, properties: { ...p, trail: trail.slice(-TRAIL) } };
  });
  return { ...tracks, features };
}

export class Feed {
  /**
   * handlers: onSnapshot(data, seq), onDelta(data, seq, t), onStatus("connecting"|"live"|"lost"|"resync")
   */
  constructor(handlers, { url = "/ws", backoffMs = [500, 1000, 2000, 5000] } = {}) {
    this.handlers = handlers;
    this.url = url;
    this.backoffMs = backoffMs;
    this.lastSeq = null;
    this.gaps = 0;
    this.attempt = 0;
    this.ws = null;
    this.stopped = false;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    this.ws = null;
  }

  wsUrl() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const since = this.lastSeq !== null && this.gaps < 2 ? `?since=${this.lastSeq}` : "";
    return `${proto}//${location.host}${this.url}${since}`;
  }

  connect() {
    if (this.stopped) return;
    this.handlers.onStatus(this.gaps > 0 ? "resync" : "connecting");
    const ws = new WebSocket(this.wsUrl());
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.handlers.onStatus("live");
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.receive(msg);
    };
    ws.onclose = () => {
      if (ws !== this.ws || this.stopped) return;
      this.ws = null;
      this.handlers.onStatus("lost");
      const wait = this.backoffMs[Math.min(this.attempt, this.backoffMs.length - 1)];
      this.attempt += 1;
      this.timer = setTimeout(() => this.connect(), wait);
    };
  }

  receive(msg) {
    const what = classify(this.lastSeq, msg);
    if (what === "apply") {
      this.lastSeq = msg.seq;
      this.gaps = 0;
      if (msg.type === "snapshot") this.handlers.onSnapshot(msg.data || {}, msg.seq);
      else this.handlers.onDelta(msg.data || {}, msg.seq, msg.t);
    } else if (what === "gap") {
      this.gaps += 1;
      this.resync();
    }
  }

  /** Drop this connection and open another (with `since`, or for a snapshot after two gaps). */
  resync() {
    const old = this.ws;
    this.ws = null;
    if (old) old.close();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), 0);
  }
}
