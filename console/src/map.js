// The situation map: MapLibre GL JS on a blank background (no tiles from anywhere), the
// scenario's geography from GET /api/map as vector layers, and the live picture (tracks with
// trails and labels, threats, airports' restriction circles, debris footprints, crash sites,
// crews on their routes) redrawn from each update.
import { AttributionControl, Map as MapLibreMap, NavigationControl, Popup, ScaleControl, setWorkerUrl } from "maplibre-gl";
import { t, tOr } from "./i18n.js";
import { num } from "./format.js";

export const CLASS_COLOURS = {
  drone: "#ff5a5f",
  unknown: "#ffb547",
  manned_aircraft: "#5cb8ff",
  bird: "#7bd389",
};
export const LEVEL_COLOURS = { critical: "#ff2d55", high: "#ff7a1a", medium: "#ffd23f", low: "#8fa3b8" };

const FONT = "Plex";
const LATIN = ["U+0000-00FF", "U+0131", "U+0152-0153", "U+02BB-02BC", "U+02C6", "U+02DA", "U+02DC", "U+0304", "U+0308", "U+0329", "U+2000-206F", "U+20AC", "U+2122", "U+2191", "U+2193", "U+2212", "U+2215", "U+FEFF", "U+FFFD"];
const CYRILLIC = ["U+0301", "U+0400-045F", "U+0490-0491", "U+04B0-04B1", "U+2116"];

function assetUrl(rel) {
  return new URL(`assets/${rel}`, document.baseURI).href;
}

const EMPTY = { type: "FeatureCollection", features: [] };

/** A circle of `radiusM` metres around (lon, lat) as a GeoJSON ring (local flat-earth, 64 sides). */
export function circleRing(lon, lat, radiusM, sides = 64) {
  const ring = [];
  const mPerDegLat = 111_320;
  const mPerDegLon = 111_320 * Math.cos((lat * Math.PI) / 180);
  for (let i = 0; i <= sides; i++) {
    const a = (2 * Math.PI * i) / sides;
    ring.push([lon + (radiusM * Math.sin(a)) / mPerDegLon, lat + (radiusM * Math.cos(a)) / mPerDegLat]);
  }
  return ring;
}

function polygonFeature(ring, props) {
  return { type: "Feature", geometry: { type: "Polygon", coordinates: [ring] }, properties: props };
}

/** Split /api/map into one collection per layer; circles given as points with a radius become rings. */
export function scenarioLayers(mapFc) {
  const out = { district: [], zone: [], airport: [], road: [], sensor: [], coverage: [], station: [], labels: [] };
  for (const f of mapFc?.features || []) {
    const p = f.properties || {};
    const layer = p.layer;
    if (!(layer in out)) continue;
    const g = f.geometry;
    if (!g) continue;
    if (layer === "zone" && g.type === "Point" && p.radius_m) {
      out.zone.push(polygonFeature(circleRing(g.coordinates[0], g.coordinates[1], p.radius_m), p));
    } else if (layer === "sensor" && g.type === "Point") {
      out.sensor.push(f);
      if (p.range_m) out.coverage.push(polygonFeature(circleRing(g.coordinates[0], g.coordinates[1], p.range_m), p));
    } else {
      out[layer].push(f);
    }
  }
  return out;
}

function fc(features) {
  return { type: "FeatureCollection", features };
}

function arrowImage() {
  const size = 48;
  const c = document.createElement("canvas");
  c.width = size;
  c.height = size;
  const g = c.getContext("2d");
  g.fillStyle = "#fff";
  g.beginPath();
  g.moveTo(size / 2, 4);
  g.lineTo(size - 10, size - 6);
  g.lineTo(size / 2, size - 16);
  g.lineTo(10, size - 6);
  g.closePath();
  g.fill();
  return g.getImageData(0, 0, size, size);
}

function crossImage() {
  const size = 40;
  const c = document.createElement("canvas");
  c.width = size;
  c.height = size;
  const g = c.getContext("2d");
  g.strokeStyle = "#fff";
  g.lineWidth = 7;
  g.lineCap = "round";
  g.beginPath();
  g.moveTo(9, 9);
  g.lineTo(size - 9, size - 9);
  g.moveTo(size - 9, 9);
  g.lineTo(9, size - 9);
  g.stroke();
  return g.getImageData(0, 0, size, size);
}

function classColour() {
  return ["match", ["get", "cls"], "drone", CLASS_COLOURS.drone, "manned_aircraft", CLASS_COLOURS.manned_aircraft, "bird", CLASS_COLOURS.bird, CLASS_COLOURS.unknown];
}

function levelColour() {
  return ["match", ["get", "level"], "critical", LEVEL_COLOURS.critical, "high", LEVEL_COLOURS.high, "medium", LEVEL_COLOURS.medium, LEVEL_COLOURS.low];
}

function baseStyle() {
  return {
    version: 8,
    name: "skywarden-blank",
    "font-faces": {
      [FONT]: [
        { url: assetUrl("fonts/ibm-plex-sans-latin-500-normal.woff2"), "unicode-range": LATIN },
        { url: assetUrl("fonts/ibm-plex-sans-cyrillic-500-normal.woff2"), "unicode-range": CYRILLIC },
      ],
    },
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#0a1016" } }],
  };
}

/** A vector basemap's layers in the console's muted colours: areas, then lines (no labels). */
function vectorBasemapLayers(ids) {
  const out = [];
  for (const id of ids) {
    out.push({
      id: `basemap-${id}-fill`, type: "fill", source: "basemap", "source-layer": id,
      filter: ["==", ["geometry-type"], "Polygon"], paint: { "fill-color": "#18232e", "fill-opacity": 0.6 },
    });
    out.push({
      id: `basemap-${id}-line`, type: "line", source: "basemap", "source-layer": id,
      filter: ["!=", ["geometry-type"], "Point"], paint: { "line-color": "#26333f", "line-width": 0.8 },
    });
  }
  return out;
}

const DYNAMIC_SOURCES = ["airport-circles", "sites", "footprints", "crews", "crew-routes"];
const IS_POINT = ["==", ["geometry-type"], "Point"];
const IS_LINE = ["==", ["geometry-type"], "LineString"];

export class SituationMap {
  /**
   * handlers: onTrack(trackId), onSite(site), onMapClick(lngLat) — the last only while picking.
   */
  constructor(container, handlers) {
    setWorkerUrl(assetUrl("maplibre-gl-worker.mjs"));
    this.handlers = handlers;
    this.ready = false;
    this.pending = null;
    this.picking = null;
    this.selectedTrack = null;
    this.map = new MapLibreMap({
      container,
      style: baseStyle(),
      center: [37.62, 55.75],
      zoom: 8.6,
      attributionControl: false,
      maxPitch: 0,
      dragRotate: false,
      fadeDuration: 0,
      canvasContextAttributes: { antialias: false, preserveDrawingBuffer: false },
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.addControl(new NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new ScaleControl({ unit: "metric" }), "bottom-left");
    this.hover = new Popup({ closeButton: false, closeOnClick: false, className: "sw-popup", offset: 14 });
    this.map.on("load", () => this.onLoad());
  }

  onLoad() {
    const m = this.map;
    m.addImage("arrow", arrowImage(), { sdf: true, pixelRatio: 2 });
    m.addImage("cross", crossImage(), { sdf: true, pixelRatio: 2 });
    for (const id of ["districts", "zones", "airport-points", "roads", "sensors", "coverage", "stations", ...DYNAMIC_SOURCES]) {
      m.addSource(id, { type: "geojson", data: EMPTY, tolerance: 0.2 });
    }
    // The tracks and their trails in one source: a delta's 1,000 tracks are re-tiled by the
    // worker once (not once per source) and their tiles arrive together, so the map redraws
    // fewer times per update. Trails may be simplified a little more (a pixel).
    m.addSource("tracks", { type: "geojson", data: EMPTY, tolerance: 1 });
    const text = (size) => ({ "text-font": [FONT], "text-size": size, "text-allow-overlap": false });
    m.addLayer({ id: "districts-fill", type: "fill", source: "districts", paint: { "fill-color": "#14202c", "fill-opacity": 0.55 } });
    m.addLayer({ id: "districts-line", type: "line", source: "districts", paint: { "line-color": "#2a3a4b", "line-width": 1 } });
    m.addLayer({ id: "roads", type: "line", source: "roads", paint: { "line-color": "#2b3947", "line-width": ["interpolate", ["linear"], ["zoom"], 8, 0.6, 13, 2.2] } });
    m.addLayer({ id: "coverage", type: "line", source: "coverage", paint: { "line-color": "#3d6e8f", "line-opacity": 0.35, "line-width": 1, "line-dasharray": [2, 3] } });
    m.addLayer({ id: "zones-fill", type: "fill", source: "zones", paint: { "fill-color": "#d6455d", "fill-opacity": 0.1 } });
    m.addLayer({ id: "zones-line", type: "line", source: "zones", paint: { "line-color": "#d6455d", "line-opacity": 0.7, "line-width": 1.3 } });
    m.addLayer({
      id: "airport-circles-fill", type: "fill", source: "airport-circles",
      paint: { "fill-color": "#ff7a1a", "fill-opacity": ["case", ["get", "restricted"], 0.09, 0] },
    });
    m.addLayer({
      id: "airport-circles-line", type: "line", source: "airport-circles",
      paint: {
        "line-color": ["case", ["get", "restricted"], "#ff7a1a", "#5c7a94"],
        "line-width": ["case", ["get", "restricted"], 2, 1.2],
        "line-dasharray": [4, 3],
      },
    });
    m.addLayer({
      id: "district-labels", type: "symbol", source: "districts",
      layout: { ...text(11), "text-field": ["get", "label"], "text-transform": "uppercase", "text-letter-spacing": 0.08 },
      paint: { "text-color": "#4f6477" },
    });
    m.addLayer({ id: "sensors", type: "circle", source: "sensors", paint: { "circle-radius": 3, "circle-color": "#3d6e8f", "circle-stroke-color": "#0a1016", "circle-stroke-width": 1 } });
    m.addLayer({ id: "stations", type: "circle", source: "stations", paint: { "circle-radius": 3.5, "circle-color": "#2f9e8f", "circle-stroke-color": "#0a1016", "circle-stroke-width": 1 } });
    m.addLayer({
      id: "airport-points", type: "symbol", source: "airport-points",
      layout: { ...text(12), "text-field": ["get", "label"], "text-allow-overlap": true },
      paint: { "text-color": ["case", ["get", "restricted"], "#ffae73", "#9fb6cc"], "text-halo-color": "#0a1016", "text-halo-width": 1.5 },
    });
    m.addLayer({ id: "footprints-fill", type: "fill", source: "footprints", paint: { "fill-color": "#ffb547", "fill-opacity": 0.18 } });
    m.addLayer({ id: "footprints-line", type: "line", source: "footprints", paint: { "line-color": "#ffb547", "line-width": 1, "line-opacity": 0.8 } });
    m.addLayer({ id: "crew-routes", type: "line", source: "crew-routes", paint: { "line-color": "#35d0ba", "line-width": 2, "line-dasharray": [1, 1.5], "line-opacity": 0.85 } });
    m.addLayer({
      id: "sites", type: "symbol", source: "sites",
      layout: { "icon-image": "cross", "icon-size": 0.5, "icon-allow-overlap": true, ...text(11), "text-field": ["get", "label"], "text-offset": [0, 1.1], "text-anchor": "top", "text-optional": true },
      paint: { "icon-color": ["case", ["get", "withdrawn"], "#6b7b8c", "#ffb547"], "text-color": "#ffcf8a", "text-halo-color": "#0a1016", "text-halo-width": 1.5 },
    });
    m.addLayer({
      id: "crews", type: "circle", source: "crews",
      paint: { "circle-radius": 5, "circle-color": "#35d0ba", "circle-stroke-color": "#0a1016", "circle-stroke-width": 1.5 },
    });
    m.addLayer({
      id: "crew-labels", type: "symbol", source: "crews",
      layout: { ...text(10.5), "text-field": ["get", "label"], "text-offset": [0.8, 0], "text-anchor": "left", "text-optional": true },
      paint: { "text-color": "#7fe3d3", "text-halo-color": "#0a1016", "text-halo-width": 1.5 },
    });
    m.addLayer({
      // Butt caps and miter joins: round ones add a fan of triangles at every trail point,
      // which software WebGL rasterises one by one (a third of a 1,000-track frame).
      id: "trails", type: "line", source: "tracks", filter: IS_LINE,
      layout: { "line-cap": "butt", "line-join": "miter" },
      paint: { "line-color": classColour(), "line-width": 1.4, "line-opacity": 0.45 },
    });
    m.addLayer({
      id: "threat-rings", type: "circle", source: "tracks", filter: ["all", IS_POINT, ["has", "level"]],
      paint: { "circle-radius": 11, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": levelColour(), "circle-stroke-width": 2 },
    });
    m.addLayer({
      id: "selected-ring", type: "circle", source: "tracks", filter: ["==", ["get", "track_id"], ""],
      paint: { "circle-radius": 16, "circle-color": "rgba(255,255,255,0.06)", "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 },
    });
    m.addLayer({
      id: "tracks", type: "symbol", source: "tracks", filter: IS_POINT,
      layout: {
        "icon-image": "arrow", "icon-size": 0.42, "icon-rotate": ["get", "heading"], "icon-rotation-alignment": "map",
        "icon-allow-overlap": true, "icon-ignore-placement": true,
        "symbol-sort-key": ["get", "rank"],
      },
      // No halo: it was the background's colour, and a second pass over every arrow.
      paint: { "icon-color": classColour() },
    });
    // Labels: threats' always; every track's from zoom 10 on, where they no longer pile up
    // (a thousand labels at city scale are clutter, and their placement costs every frame).
    m.addLayer({
      id: "track-labels", type: "symbol", source: "tracks", minzoom: 10, filter: IS_POINT,
      layout: {
        ...text(10.5), "text-field": ["get", "label"], "text-anchor": "left", "text-offset": [1.1, 0], "text-justify": "left",
        "symbol-sort-key": ["get", "rank"], "text-padding": 1,
      },
      paint: { "text-color": "#dfe8f1", "text-halo-color": "#0a1016", "text-halo-width": 1.6 },
    });
    m.addLayer({
      id: "threat-labels", type: "symbol", source: "tracks", maxzoom: 10, filter: ["all", IS_POINT, ["has", "level"]],
      layout: {
        ...text(10.5), "text-field": ["get", "label"], "text-anchor": "left", "text-offset": [1.1, 0], "text-justify": "left",
        "symbol-sort-key": ["get", "rank"], "text-padding": 1,
      },
      paint: { "text-color": "#ffe1e6", "text-halo-color": "#0a1016", "text-halo-width": 1.6 },
    });

    m.on("click", (e) => this.onClick(e));
    m.on("mousemove", "tracks", (e) => this.onHover(e));
    m.on("mouseleave", "tracks", () => {
      m.getCanvas().style.cursor = "";
      this.hover.remove();
    });
    for (const layer of ["sites", "crews"]) {
      m.on("mouseenter", layer, () => (m.getCanvas().style.cursor = "pointer"));
      m.on("mouseleave", layer, () => (m.getCanvas().style.cursor = ""));
    }
    this.ready = true;
    if (this.scenario) this.setScenario(this.scenario.fc, this.scenario.names);
    if (this.pending) this.update(this.pending);
  }

  onClick(e) {
    if (this.picking) {
      const done = this.picking;
      this.picking = null;
      this.map.getCanvas().style.cursor = "";
      done(e.lngLat);
      return;
    }
    const hits = this.map.queryRenderedFeatures(e.point, { layers: ["tracks", "sites"] });
    if (!hits.length) return;
    const f = hits[0];
    if (f.layer.id === "tracks") this.handlers.onTrack?.(f.properties.track_id);
    else this.handlers.onSite?.(f.properties);
  }

  onHover(e) {
    const f = e.features?.[0];
    if (!f) return;
    this.map.getCanvas().style.cursor = "pointer";
    const p = f.properties;
    const el = document.createElement("div");
    el.className = "sw-hover";
    const title = document.createElement("b");
    title.textContent = `${p.track_id} · ${tOr("cls_", p.cls)} ${Math.round(p.p_cls * 100)}%`;
    const line = document.createElement("div");
    line.textContent = `${num(p.speed_ms)} ${t("unit_ms")} · ${num(p.alt_m)} ${t("unit_m")} · ${num(p.heading)}°`;
    el.append(title, line);
    this.hover.setLngLat(f.geometry.coordinates).setDOMContent(el).addTo(this.map);
  }

  /** Wait for one click on the map and hand its position to `done` (Esc cancels by `cancelPick`). */
  pick(done) {
    this.picking = done;
    this.map.getCanvas().style.cursor = "crosshair";
  }

  cancelPick() {
    this.picking = null;
    this.map.getCanvas().style.cursor = "";
  }

  setScenario(mapFc, names) {
    this.scenario = { fc: mapFc, names };
    if (!this.ready) return;
    const L = scenarioLayers(mapFc);
    const label = (f) => ({ ...f, properties: { ...f.properties, label: names(f.properties) } });
    this.map.getSource("districts").setData(fc(L.district.map(label)));
    this.map.getSource("zones").setData(fc(L.zone));
    this.map.getSource("roads").setData(fc(L.road));
    this.map.getSource("sensors").setData(fc(L.sensor));
    this.map.getSource("coverage").setData(fc(L.coverage));
    this.map.getSource("stations").setData(fc(L.station));
    this.airportsFromMap = L.airport;
    if (!this.fitted) {
      this.fitted = true;
      const b = bounds([...L.district, ...L.zone]);
      if (b) this.map.fitBounds(b, { padding: 24, duration: 0 });
    }
  }

  /** Redraw the live picture. `view` holds tracks, threats, airports, sites, crews, kills. */
  update(view) {
    if (!this.ready) {
      this.pending = view;
      return;
    }
    this.pending = null;
    // A delta replaces only the collections that changed; redraw only the sources fed by those
    // (a source's setData re-tiles it in the worker and redraws the map).
    const prev = this.drawn || {};
    const changed = (...keys) => keys.some((k) => view[k] !== prev[k]) || this.relabel;
    this.drawn = { tracks: view.tracks, threats: view.threats, airports: view.airports, sites: view.sites, kills: view.kills, crews: view.crews };
    if (changed("tracks", "threats")) this.drawTracks(view);
    if (changed("airports")) this.drawAirports(view);
    if (changed("sites", "kills")) this.drawSites(view);
    this.drawCrews(view);
    this.relabel = false;
  }

  /** Labels are in the page's language: redraw everything on the next update. */
  invalidate() {
    this.relabel = true;
  }

  drawTracks(view) {
    const m = this.map;
    const levels = new Map();
    for (const th of view.threats || []) {
      const prev = levels.get(th.track_id);
      if (!prev || LEVEL_RANK[th.level] > LEVEL_RANK[prev]) levels.set(th.track_id, th.level);
    }
    const features = [];
    for (const f of view.tracks?.features || []) {
      const p = f.properties || {};
      const level = levels.get(p.track_id);
      const props = {
        track_id: p.track_id,
        cls: p.cls,
        p_cls: p.p_cls ?? 0,
        speed_ms: p.speed_ms,
        alt_m: p.alt_m,
        heading: p.heading_deg ?? 0,
        rank: level ? -LEVEL_RANK[level] : p.cls === "drone" ? 0 : 1,
        label: `${p.track_id} ${tOr("cls_", p.cls)} ${Math.round((p.p_cls ?? 0) * 100)}%\n${num(p.speed_ms)} ${t("unit_ms")} ${num(p.alt_m)} ${t("unit_m")}`,
      };
      if (level) props.level = level;
      features.push({ type: "Feature", geometry: f.geometry, properties: props });
      if (Array.isArray(p.trail) && p.trail.length > 1) {
        features.push({ type: "Feature", geometry: { type: "LineString", coordinates: [...p.trail, f.geometry.coordinates] }, properties: { cls: p.cls } });
      }
    }
    m.getSource("tracks").setData(fc(features));
  }

  drawAirports(view) {
    const m = this.map;

    const circles = [];
    const points = [];
    const airports = view.airports?.length ? view.airports : (this.airportsFromMap || []).map(fromMapAirport);
    for (const a of airports) {
      const props = { airport_id: a.airport_id, restricted: Boolean(a.restricted), label: a.airport_id };
      circles.push(polygonFeature(circleRing(a.lon, a.lat, a.radius_m), props));
      points.push({ type: "Feature", geometry: { type: "Point", coordinates: [a.lon, a.lat] }, properties: props });
    }
    m.getSource("airport-circles").setData(fc(circles));
    m.getSource("airport-points").setData(fc(points));
  }

  drawSites(view) {
    const m = this.map;

    const footprints = [];
    const sites = [];
    const withdrawn = new Set((view.kills || []).filter((k) => k.withdrawn).map((k) => k.number));
    for (const s of view.sites || []) {
      const props = { site_id: s.site_id, incident_id: s.incident_id, kill_number: s.kill_number, label: s.kill_number ? `#${s.kill_number}` : s.site_id, withdrawn: withdrawn.has(s.kill_number) };
      if (Array.isArray(s.footprint) && s.footprint.length > 2) {
        const ring = [...s.footprint];
        const [a, b] = [ring[0], ring[ring.length - 1]];
        if (a[0] !== b[0] || a[1] !== b[1]) ring.push(a);
        footprints.push(polygonFeature(ring, props));
      }
      sites.push({ type: "Feature", geometry: { type: "Point", coordinates: [s.lon, s.lat] }, properties: props });
    }
    m.getSource("footprints").setData(fc(footprints));
    m.getSource("sites").setData(fc(sites));
  }

  /**
   * Crews move along their routes between deltas, so they are looked at on every update, and
   * redrawn when one moved (a source's setData re-tiles it and redraws the map, even if empty).
   */
  drawCrews(view) {
    const m = this.map;
    const key = JSON.stringify((view.crews || []).map((c) => [c.crew_id, c.status, c.position, c.route]));
    if (key === this.drawnCrews && !this.relabel) return;
    this.drawnCrews = key;
    const crews = [];
    const routes = [];
    for (const c of view.crews || []) {
      if (!c.position) continue;
      const props = { crew_id: c.crew_id, status: c.status, label: c.crew_id };
      crews.push({ type: "Feature", geometry: { type: "Point", coordinates: c.position }, properties: props });
      if (c.route.length > 1) routes.push({ type: "Feature", geometry: { type: "LineString", coordinates: c.route }, properties: props });
    }
    m.getSource("crews").setData(fc(crews));
    m.getSource("crew-routes").setData(fc(routes));
  }

  select(trackId) {
    this.selectedTrack = trackId;
    if (this.ready) this.map.setFilter("selected-ring", ["==", ["get", "track_id"], trackId || ""]);
  }

  flyTo(lon, lat, zoom) {
    this.map.easeTo({ center: [lon, lat], zoom: Math.max(this.map.getZoom(), zoom ?? 10), duration: 600 });
  }

  resize() {
    this.map.resize();
  }

  /**
   * The city's offline basemap, as GET /api/basemap describes it (`skywarden serve --basemap`):
   * its tiles come from this service only, drawn dimmed under the scenario's layers.
   */
  setBasemap(info) {
    if (!this.ready) {
      this.map.once("load", () => this.setBasemap(info));
      return;
    }
    if (this.map.getSource("basemap")) return;
    const source = { tiles: [location.origin + info.tiles], minzoom: info.minzoom, maxzoom: info.maxzoom };
    if (info.bounds) source.bounds = info.bounds;
    if (info.attribution) source.attribution = info.attribution;
    if (info.format === "pbf") {
      this.addBasemap("basemap", { type: "vector", ...source }, vectorBasemapLayers(info.vector_layers || []));
    } else {
      const paint = { "raster-brightness-max": 0.45, "raster-saturation": -0.5, "raster-contrast": -0.1 };
      this.addBasemap("basemap", { type: "raster", tileSize: 256, ...source }, [{ id: "basemap", type: "raster", source: "basemap", paint }]);
    }
    if (info.attribution) this.map.addControl(new AttributionControl({ compact: true }), "bottom-right");
    this.basemap = info;
  }

  /** A source and its layers, drawn under the scenario's layers. */
  addBasemap(sourceId, source, layers) {
    this.map.addSource(sourceId, source);
    for (const layer of layers) this.map.addLayer(layer, "districts-fill");
  }
}

const LEVEL_RANK = { low: 1, medium: 2, high: 3, critical: 4 };

function fromMapAirport(f) {
  const p = f.properties || {};
  const [lon, lat] = f.geometry.coordinates;
  return { airport_id: p.id ?? p.airport_id ?? p.name, lat, lon, radius_m: p.radius_m, restricted: false };
}

function bounds(features) {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const visit = (c) => {
    if (typeof c[0] === "number") {
      minX = Math.min(minX, c[0]);
      maxX = Math.max(maxX, c[0]);
      minY = Math.min(minY, c[1]);
      maxY = Math.max(maxY, c[1]);
    } else for (const x of c) visit(x);
  };
  for (const f of features) if (f.geometry) visit(f.geometry.coordinates);
  return Number.isFinite(minX) ? [[minX, minY], [maxX, maxY]] : null;
}
