// node --test console/test/: the console's pure pieces (no browser needed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { classify, fromColumns, withTrails } from "../src/feed.js";
import { alongRoute, CrewProgress } from "../src/progress.js";

test("a snapshot is always applied", () => {
  assert.equal(classify(null, { type: "snapshot", seq: 5, data: {} }), "apply");
  assert.equal(classify(9, { type: "snapshot", seq: 5, data: {} }), "apply");
});

test("a delta applies only on top of the seq it names as prev", () => {
  assert.equal(classify(10, { type: "delta", seq: 14, prev: 10 }), "apply");
  assert.equal(classify(10, { type: "delta", seq: 18, prev: 14 }), "gap");
  assert.equal(classify(null, { type: "delta", seq: 18, prev: 14 }), "gap");
});

test("a delta already seen is skipped, anything else ignored", () => {
  assert.equal(classify(14, { type: "delta", seq: 14, prev: 10 }), "skip");
  assert.equal(classify(14, { type: "delta", seq: 12, prev: 8 }), "skip");
  assert.equal(classify(14, { type: "hello" }), "ignore");
  assert.equal(classify(14, null), "ignore");
});

test("a point along a route by length", () => {
  const route = [[0, 0], [0, 1], [0, 3]];
  assert.deepEqual(alongRoute(route, 0), [0, 0]);
  assert.deepEqual(alongRoute(route, 1), [0, 3]);
  assert.deepEqual(alongRoute(route, 0.5), [0, 1.5]);
  assert.equal(alongRoute([], 0.5), null);
});

test("a crew moves along its route by the clock and sits at the end on site", () => {
  const p = new CrewProgress();
  const crew = { crew_id: "fire-1", site_id: "S1", status: "en_route", eta_s: 100, route: [[0, 0], [0, 10]] };
  const a = p.observe(crew, 0);
  assert.deepEqual(a.position, [0, 0]);
  assert.equal(a.etaLeftS, 100);
  const b = p.observe(crew, 50_000);
  assert.ok(Math.abs(b.position[1] - 5) < 1e-9);
  assert.equal(b.etaLeftS, 50);
  const c = p.observe({ ...crew, status: "on_site", eta_s: 0 }, 60_000);
  assert.deepEqual(c.position, [0, 10]);
  assert.equal(c.etaLeftS, 0);
  assert.deepEqual(p.observe({ ...crew, site_id: null, route: [] }, 0), { position: null, etaLeftS: null });
});

test("the trails of a delta's tracks are extended as the server extends its own", () => {
  const feat = (id, lon, lat, trail) => ({ type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] }, properties: trail ? { track_id: id, trail } : { track_id: id } });
  const held = { type: "FeatureCollection", features: [feat("T1", 1, 1, [[0, 0], [1, 1]]), feat("T2", 5, 5, [[5, 5]])] };
  const delta = { type: "FeatureCollection", features: [feat("T1", 2, 2), feat("T3", 9, 9), feat("T2", 5, 5)] };
  const got = withTrails(held, delta).features.map((f) => [f.properties.track_id, f.properties.trail]);
  assert.deepEqual(got, [["T1", [[0, 0], [1, 1], [2, 2]]], ["T3", [[9, 9]]], ["T2", [[5, 5]]]]); // T2 did not move
  let tracks = held;
  for (let i = 0; i < 15; i++) tracks = withTrails(tracks, { type: "FeatureCollection", features: [feat("T1", 10 + i, 0)] });
  const trail = tracks.features[0].properties.trail;
  assert.equal(trail.length, 10);
  assert.deepEqual(trail[9], [24, 0]);
  assert.deepEqual(withTrails(undefined, { type: "FeatureCollection", features: [] }).features, []);
});

test("a delta's track columns become the features the reads give, trails extended", () => {
  const cols = {
    type: "TrackColumns", track_id: ["T1", "T2"], lon: [37.5, 37.6], lat: [55.7, 55.8], cls: ["drone", "bird"],
    p_cls: [0.9, 0.6], alt_m: [120.0, 80.0], speed_ms: [30.5, 8.0], heading_deg: [90.0, 180.0], sigma_m: [12.0, 20.0],
    identity: ["", "RID-1"], threat: ["high", null],
  };
  assert.deepEqual(fromColumns(cols).features[1], {
    type: "Feature", geometry: { type: "Point", coordinates: [37.6, 55.8] },
    properties: { track_id: "T2", cls: "bird", p_cls: 0.6, alt_m: 80.0, speed_ms: 8.0, heading_deg: 180.0, sigma_m: 20.0, identity: "RID-1", threat: null },
  });
  const held = { type: "FeatureCollection", features: [{ type: "Feature", geometry: { type: "Point", coordinates: [37.4, 55.7] }, properties: { track_id: "T1", trail: [[37.4, 55.7]] } }] };
  const got = withTrails(held, cols);
  assert.equal(got.type, "FeatureCollection");
  assert.deepEqual(got.features.map((f) => f.properties.trail), [[[37.4, 55.7], [37.5, 55.7]], [[37.6, 55.8]]]);
  assert.equal(got.features[0].properties.threat, "high");
  assert.deepEqual(fromColumns({ type: "TrackColumns", track_id: [], lon: [], lat: [] }).features, []);
});
