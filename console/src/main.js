// The console: login, then the live picture (map and panels) from the WebSocket feed, with a
// replay slider for any past moment and the writes each role may make.
import { h, clear } from "./dom.js";
import { t, tOr, getLang, setLang, initialLang, onLang } from "./i18n.js";
import * as api from "./api.js";
import { Feed, withTrails } from "./feed.js";
import { CrewProgress } from "./progress.js";
import { setTimeZone, localTime } from "./format.js";
import { may } from "./roles.js";
import { SituationMap, CLASS_COLOURS } from "./map.js";
import { ask, button, closeModal, toast } from "./ui.js";
import { renderThreats } from "./panels/threats.js";
import { renderAirports } from "./panels/airports.js";
import { renderKills } from "./panels/kills.js";
import { renderCrews } from "./panels/crews.js";
import { renderPolicySummary, renderStatements } from "./panels/statements.js";
import { renderAlerts } from "./panels/alerts.js";
import { renderClaims } from "./panels/claims.js";
import { showIncident } from "./panels/incident.js";

const TABS = ["kills", "crews", "statements", "alerts", "claims"];
const MIN_RENDER_MS = 250;
const root = document.getElementById("root");
setLang(initialLang());
document.documentElement.lang = getLang();

// ---------------------------------------------------------------------------------- login

function showLogin(message) {
  document.body.className = "login-page";
  const error = h("div", { class: "login-error", role: "alert", "data-testid": "login-error" }, message || "");
  const user = h("input", { name: "user", autocomplete: "username", required: true, "data-testid": "login-user" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, "data-testid": "login-password" });
  const form = h(
    "form",
    { class: "login-card", "data-testid": "login-form" },
    h("div", { class: "brand big" }, h("span", { class: "brand-mark" }), t("app_name")),
    h("div", { class: "muted tagline" }, t("app_tagline")),
    h("h1", null, t("login_title")),
    h("label", { class: "field" }, h("span", null, t("login_user")), user),
    h("label", { class: "field" }, h("span", null, t("login_password")), password),
    error,
    h(
      "div",
      { class: "login-actions" },
      h("button", { type: "button", class: "btn ghost small", title: t("lang_toggle_title"), onclick: () => { setLang(getLang() === "en" ? "ru" : "en"); showLogin(); } }, t("lang_toggle")),
      h("button", { type: "submit", class: "btn primary", "data-testid": "login-submit" }, t("login_submit")),
    ),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      const who = await api.login(user.value.trim(), password.value);
      startConsole({ user: who.user, role: who.role, csrf: who.csrf });
    } catch (err) {
      error.textContent = err.status === 401 ? t("login_failed") : err.status === 429 ? t("login_throttled") : t("login_error", { detail: err.detail || err.message });
      password.select();
    }
  });
  clear(root).append(h("div", { class: "login-wrap" }, form));
  user.focus();
}

// ---------------------------------------------------------------------------------- console

let current = null;

function startConsole(me) {
  if (current) current.stop();
  current = new Console(me);
  current.start();
}

class Console {
  constructor(me) {
    this.me = me;
    this.live = {};
    this.replay = null;
    this.mapFc = null;
    this.names = new Map();
    this.selectedThreat = null;
    this.threatOrder = [];
    this.tab = me.role === "press_officer" || me.role === "approver" ? "statements" : me.role === "dispatcher" ? "crews" : "kills";
    this.editingStatement = null;
    this.renderQueued = false;
    this.crewProgress = new CrewProgress();
    this.connection = "connecting";
    this.lostCount = 0;
    this.seq = null;
    this.lastT = null;
    this.feed = new Feed({
      onSnapshot: (data, seq) => {
        this.live = { ...data };
        this.seq = seq;
        this.lastT = data.night?.now ?? this.lastT;
        if (data.night?.timezone) setTimeZone(data.night.timezone);
        this.queueRender();
      },
      onDelta: (data, seq, tt) => {
        if (data.tracks) data.tracks = withTrails(this.live.tracks, data.tracks);
        Object.assign(this.live, data);
        this.seq = seq;
        if (tt) this.lastT = tt;
        else if (data.night?.now) this.lastT = data.night.now;
        this.queueRender();
      },
      onStatus: (s) => {
        this.connection = s;
        if (s === "live") this.lostCount = 0;
        if (s === "lost") {
          this.lostCount += 1;
          if (this.lostCount === 2) this.checkSession();
        }
        this.renderTop();
      },
    });
    this.unLang = onLang(() => this.build());
    this.onKey = (e) => this.key(e);
  }

  view() {
    return this.replay ? this.replay.data : this.live;
  }

  /** The crews with where each is along its route and the time left to arrive. */
  crewsNow() {
    const v = this.view();
    const now = Date.parse(this.replay ? this.replay.at : this.lastT || v.night?.now);
    const progress = this.replay ? (this.replay.progress ??= new CrewProgress()) : this.crewProgress;
    return (v.crews || []).map((c) => {
      const p = progress.observe(c, Number.isFinite(now) ? now : 0);
      return { ...c, position: p.position, eta_left_s: p.etaLeftS };
    });
  }

  async start() {
    document.body.className = "console-page";
    api.setUnauthorizedHandler(() => {
      this.stop();
      current = null;
      showLogin();
    });
    this.build();
    document.addEventListener("keydown", this.onKey);
    try {
      const [night, mapFc, policy, basemap] = await Promise.all([
        api.get("/api/night"),
        api.get("/api/map"),
        api.get("/api/policy").catch(() => null),
        api.get("/api/basemap").catch(() => null), // 404: the service has none
      ]);
      this.policy = policy;
      if (basemap) this.map?.setBasemap(basemap);
      renderPolicySummary(this.els.policyBox, policy);
      if (night?.timezone) setTimeZone(night.timezone);
      this.live.night = { ...night, ...(this.live.night || {}) };
      this.setScenario(mapFc);
    } catch (err) {
      if (err.status !== 401) toast(t("error_generic", { detail: err.detail || err.message }), "error");
    }
    this.feed.start();
  }

  stop() {
    this.feed.stop();
    this.unLang();
    document.removeEventListener("keydown", this.onKey);
  }

  async checkSession() {
    try {
      await api.me();
    } catch {
      // a 401 has already sent the page back to the login form
    }
  }

  setScenario(mapFc) {
    this.mapFc = mapFc;
    this.names.clear();
    for (const f of mapFc?.features || []) {
      const p = f.properties || {};
      const id = p.id ?? p.zone_id ?? p.district_id ?? p.airport_id ?? p.sensor_id;
      if (id !== undefined) this.names.set(String(id), p);
    }
    this.map?.setScenario(mapFc, (p) => this.nameOf(p));
    this.queueRender();
  }

  nameOf(p) {
    if (!p) return "";
    return (getLang() === "ru" && p.name_ru) || p.name || p.id || "";
  }

  placeName(id) {
    if (id === null || id === undefined || id === "") return "";
    return this.nameOf(this.names.get(String(id))) || String(id);
  }

  airportName(a) {
    const p = this.names.get(String(a.airport_id));
    return (getLang() === "ru" && (p?.name_ru || a.name_ru)) || p?.name || a.name || a.airport_id;
  }

  // ------------------------------------------------------------------------------ layout

  build() {
    const n = this.els?.mapBox;
    this.els = {};
    const E = this.els;
    E.clock = h("span", { class: "clock mono", "data-testid": "clock" });
    E.mode = h("span", { class: "mode" });
    E.conn = h("span", { class: "conn", "data-testid": "connection" });
    E.exercise = h("span", { class: "exercise-controls" });
    E.search = h("input", { type: "search", class: "search", placeholder: t("search_placeholder"), "data-testid": "search", "aria-label": t("search_placeholder") });
    E.search.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.search(E.search.value);
      if (e.key === "Escape") E.search.blur();
    });
    E.sensors = h("span", { class: "sensors-summary" });
    const top = h(
      "header",
      { class: "topbar" },
      h("div", { class: "brand" }, h("span", { class: "brand-mark" }), t("app_name")),
      h("div", { class: "night" }, E.clock, h("span", { class: "night-name ellipsis", "data-testid": "night-name" })),
      E.mode,
      E.exercise,
      h("span", { class: "grow" }),
      E.search,
      E.sensors,
      E.conn,
      h("button", { type: "button", class: "btn ghost small lang", title: t("lang_toggle_title"), "data-testid": "lang-toggle", onclick: () => setLang(getLang() === "en" ? "ru" : "en") }, t("lang_toggle")),
      h("span", { class: "who", "data-testid": "who" }, h("span", { class: "strong" }, this.me.user), h("span", { class: "role" }, tOr("role_", this.me.role))),
      h("button", { type: "button", class: "btn ghost small", "data-testid": "logout", onclick: () => this.logout() }, t("logout")),
      h("button", { type: "button", class: "btn ghost small icon", title: t("help_title"), onclick: () => this.help() }, "?"),
    );
    E.threats = h("div", { class: "list", "data-testid": "threats" });
    E.threatCount = h("span", { class: "count" });
    E.airports = h("div", { class: "list", "data-testid": "airports" });
    const left = h(
      "aside",
      { class: "left" },
      h("section", { class: "panel threats-panel" }, h("h2", null, t("panel_threats"), E.threatCount), E.threats),
      h("section", { class: "panel airports-panel" }, h("h2", null, t("panel_airports")), E.airports),
    );
    E.mapBox = n || h("div", { class: "map", id: "map" });
    E.banner = h("div", { class: "replay-banner", hidden: true, "data-testid": "replay-banner" });
    E.trackCount = h("span", { class: "track-count mono" });
    E.slider = h("input", { type: "range", min: 0, max: 0, step: 10, value: 0, class: "slider", "data-testid": "replay-slider", "aria-label": t("replay") });
    E.sliderTime = h("span", { class: "slider-time mono", "data-testid": "replay-time" });
    E.liveBtn = button(t("replay_live"), () => this.goLive(), { kind: "small", testid: "replay-live" });
    E.slider.addEventListener("input", () => this.sliderMoved(false));
    E.slider.addEventListener("change", () => this.sliderMoved(true));
    const centre = h(
      "main",
      { class: "centre" },
      E.banner,
      E.mapBox,
      this.legend(),
      h("div", { class: "replaybar" }, h("span", { class: "replay-label" }, t("replay")), E.slider, E.sliderTime, E.liveBtn, E.trackCount),
    );
    E.tabs = {};
    E.tabBodies = {};
    E.tabCounts = {};
    const nav = h("nav", { class: "tabs", role: "tablist" });
    const bodies = h("div", { class: "tab-bodies" });
    TABS.forEach((name, i) => {
      E.tabCounts[name] = h("span", { class: "count" });
      E.tabs[name] = h("button", { type: "button", role: "tab", class: "tab", "data-testid": `tab-${name}`, title: `${t(`panel_${name}`)} (${i + 1})`, onclick: () => this.showTab(name) }, t(`tab_${name}`), E.tabCounts[name]);
      nav.append(E.tabs[name]);
      E.tabBodies[name] = h("div", { class: "list", "data-testid": `panel-${name}` });
      const tools = h("div", { class: "panel-tools" });
      if (name === "kills" && may(this.me.role, "report_kill")) tools.append(button(t("kill_report"), () => this.reportKill(), { kind: "small ghost", testid: "kill-report" }));
      if (name === "claims") E.claimTools = tools;
      if (name === "statements") {
        E.policyBox = h("div", { class: "policy-box" });
        tools.append(E.policyBox);
        renderPolicySummary(E.policyBox, this.policy);
      }
      bodies.append(h("section", { class: `tab-body body-${name}`, hidden: true, "data-tab": name }, tools, E.tabBodies[name]));
    });
    E.drawer = h("div", { class: "drawer", hidden: true, "data-testid": "incident" });
    const right = h("aside", { class: "right" }, nav, bodies, E.drawer);
    clear(root).append(h("div", { class: `console role-${this.me.role}` }, top, left, centre, right));
    if (!this.map) {
      this.map = new SituationMap(E.mapBox, {
        onTrack: (id) => this.trackClicked(id),
        onSite: (p) => p.incident_id && this.openIncident(p.incident_id),
      });
      window.__skywarden = { map: this.map.map, console: this };
    }
    if (this.mapFc) this.map.setScenario(this.mapFc, (p) => this.nameOf(p));
    this.map.invalidate();
    this.showTab(this.tab);
    if (this.incidentOpen) this.openIncident(this.incidentOpen);
    this.renderTop();
    this.queueRender();
    requestAnimationFrame(() => this.map.resize());
  }

  legend() {
    const item = (colour, label, shape = "dot") => h("span", { class: "lg-item" }, h("i", { class: `lg-${shape}`, style: `--c:${colour}` }), label);
    return h(
      "div",
      { class: "legend" },
      item(CLASS_COLOURS.drone, tOr("cls_", "drone"), "arrow"),
      item(CLASS_COLOURS.unknown, tOr("cls_", "unknown"), "arrow"),
      item(CLASS_COLOURS.manned_aircraft, tOr("cls_", "manned_aircraft"), "arrow"),
      item(CLASS_COLOURS.bird, tOr("cls_", "bird"), "arrow"),
      item("#d6455d", t("layer_zones"), "area"),
      item("#ff7a1a", t("layer_airports"), "ring"),
      item("#ffb547", t("layer_debris"), "area"),
      item("#35d0ba", t("layer_crews")),
    );
  }

  showTab(name) {
    this.tab = name;
    for (const n of TABS) {
      const on = n === name;
      this.els.tabs[n].classList.toggle("active", on);
      this.els.tabs[n].setAttribute("aria-selected", String(on));
      this.els.tabBodies[n].parentElement.hidden = !on;
    }
    this.queueRender();
  }

  // ------------------------------------------------------------------------------ rendering

  /**
   * Redraw on the next frame, at most every MIN_RENDER_MS: an exercise at 100x sends 100 deltas
   * a second, and drawing each would spend the machine on frames no one can read.
   */
  queueRender() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    const wait = Math.max(0, MIN_RENDER_MS - (performance.now() - (this.lastRender || 0)));
    setTimeout(() => requestAnimationFrame(() => {
      this.renderQueued = false;
      this.lastRender = performance.now();
      this.render();
    }), wait);
  }

  render() {
    const v = this.view();
    this.renderTop();
    renderThreats(this.els.threats, this);
    this.els.threatCount.textContent = String((v.threats || []).length || "");
    renderAirports(this.els.airports, this);
    const counts = {
      kills: (v.kills || []).filter((k) => !k.withdrawn).length,
      crews: (v.crews || []).filter((c) => c.site_id && !["site_closed", "wreckage_recovered"].includes(c.status)).length,
      statements: (v.statements || []).filter((s) => s.state !== "published" && s.state !== "rejected").length,
      alerts: activeAlertDistricts(v.alerts || []),
      claims: (v.claims || []).length,
    };
    for (const n of TABS) this.els.tabCounts[n].textContent = counts[n] ? String(counts[n]) : "";
    const body = this.els.tabBodies[this.tab];
    const crews = this.crewsNow();
    if (this.tab === "kills") renderKills(body, this);
    else if (this.tab === "crews") renderCrews(body, this, crews);
    else if (this.tab === "statements") renderStatements(body, this);
    else if (this.tab === "alerts") renderAlerts(body, this);
    else if (this.tab === "claims") renderClaims(body, this.els.claimTools, this);
    this.map.update({ ...v, crews });
    this.els.trackCount.textContent = t("tracks_n", { n: (v.tracks?.features || []).length });
    this.renderSlider();
  }

  renderTop() {
    const E = this.els;
    if (!E) return;
    const night = this.view().night || this.live.night || {};
    const now = this.replay ? this.replay.at : this.lastT || night.now;
    E.clock.textContent = now ? localTime(now) : "--:--:--";
    const nameEl = root.querySelector(".night-name");
    if (nameEl) nameEl.textContent = night.scenario || "";
    const live = this.live.night || {};
    const exercise = live.mode === "exercise";
    E.mode.className = `mode ${exercise ? "exercise" : "live"}${live.paused ? " paused" : ""}`;
    E.mode.textContent = live.mode ? `${exercise ? t("mode_exercise") : t("mode_live")}${exercise && live.speed ? ` ×${live.speed}` : ""}${live.paused ? ` · ${t("paused")}` : ""}` : "";
    E.mode.dataset.testid = "mode";
    clear(E.exercise);
    if (exercise && may(this.me.role, "exercise")) {
      E.exercise.append(
        button(live.paused ? t("resume") : t("pause"), () => this.exercise(live.paused ? { action: "resume" } : { action: "pause" }), { kind: "small ghost", testid: "exercise-pause" }),
      );
      const speeds = [...new Set([1, 2, 5, 10, 20, 60, 100, Number(live.speed) || 1])].sort((a, b) => a - b);
      const sel = h("select", { class: "speed", "aria-label": t("speed"), title: t("speed"), "data-testid": "exercise-speed" }, speeds.map((s) => h("option", { value: s, selected: Number(live.speed) === s }, `×${s}`)));
      sel.addEventListener("change", () => {
        sel.blur(); // give the keys back to the shortcuts
        this.exercise({ action: "speed", speed: Number(sel.value) });
      });
      E.exercise.append(sel);
    }
    E.conn.className = `conn c-${this.connection}`;
    E.conn.textContent = { live: t("conn_live"), connecting: t("conn_connecting"), lost: t("conn_lost"), resync: t("conn_resync") }[this.connection] || "";
    const sensors = this.view().sensors || [];
    if (sensors.length) {
      const up = sensors.filter((s) => s.status === "up").length;
      E.sensors.className = `sensors-summary${up < sensors.length ? " warn" : ""}`;
      E.sensors.textContent = `${t("panel_sensors")}: ${t("sensors_up", { up, n: sensors.length })}`;
      E.sensors.title = sensors.map((s) => `${s.sensor_id} (${s.kind}): ${tOr("sensor_", s.status)}${s.detail ? ` — ${s.detail}` : ""}`).join("\n");
    }
  }

  // ------------------------------------------------------------------------------ replay

  nightBounds() {
    const night = this.live.night || {};
    const start = Date.parse(night.start);
    const end = Date.parse(night.end);
    const now = Date.parse(this.lastT || night.now);
    if (!Number.isFinite(start)) return null;
    const last = Number.isFinite(now) ? now : Number.isFinite(end) ? end : start;
    return { start, last: Math.max(start, Number.isFinite(end) ? Math.min(last, end) : last) };
  }

  renderSlider() {
    const b = this.nightBounds();
    const E = this.els;
    if (!b) return;
    const max = Math.round((b.last - b.start) / 1000);
    E.slider.max = String(max);
    if (!this.replay && !this.dragging) E.slider.value = String(max);
    const at = this.replay ? this.replay.at : this.dragging ? new Date(b.start + Number(E.slider.value) * 1000).toISOString() : null;
    E.sliderTime.textContent = at ? localTime(at) : t("now");
    E.liveBtn.disabled = !this.replay;
    E.banner.hidden = !this.replay;
    if (this.replay) E.banner.textContent = t("replay_banner", { time: localTime(this.replay.at) });
    document.body.classList.toggle("replaying", Boolean(this.replay));
  }

  sliderMoved(final) {
    const b = this.nightBounds();
    if (!b) return;
    const value = Number(this.els.slider.value);
    const max = Number(this.els.slider.max);
    this.dragging = !final;
    if (value >= max) {
      if (final) this.goLive();
      return;
    }
    const at = new Date(b.start + value * 1000).toISOString();
    this.els.sliderTime.textContent = localTime(at);
    clearTimeout(this.replayTimer);
    this.replayTimer = setTimeout(() => this.replayAt(at), final ? 0 : 250);
  }

  async replayAt(at) {
    const token = Symbol("replay");
    this.replayToken = token;
    this.els.sliderTime.textContent = `${localTime(at)} · ${t("replay_loading")}`;
    try {
      const data = await api.pictureAt(at);
      if (this.replayToken !== token) return;
      this.replay = { at, data };
      this.dragging = false;
      this.queueRender();
    } catch (err) {
      toast(t("error_generic", { detail: err.detail || err.message }), "error");
    }
  }

  stepBack(seconds) {
    const b = this.nightBounds();
    if (!b) return;
    const from = this.replay ? Date.parse(this.replay.at) : b.last;
    const at = new Date(Math.max(b.start, from - seconds * 1000)).toISOString();
    this.els.slider.value = String(Math.round((Date.parse(at) - b.start) / 1000));
    this.replayAt(at);
  }

  goLive() {
    this.replayToken = null;
    this.replay = null;
    this.dragging = false;
    this.queueRender();
  }

  // ------------------------------------------------------------------------------ selection

  selectThreat(incidentId, { fly = false } = {}) {
    this.selectedThreat = incidentId;
    const th = (this.view().threats || []).find((x) => x.incident_id === incidentId);
    this.map.select(th?.track_id ?? null);
    if (fly && th) this.flyToTrack(th.track_id);
    this.queueRender();
    const row = this.els.threats.querySelector(`[data-incident="${CSS.escape(String(incidentId))}"]`);
    row?.scrollIntoView({ block: "nearest" });
  }

  moveThreat(step) {
    const order = this.threatOrder;
    if (!order.length) return;
    const i = order.indexOf(this.selectedThreat);
    const next = i < 0 ? (step > 0 ? 0 : order.length - 1) : Math.min(order.length - 1, Math.max(0, i + step));
    this.selectThreat(order[next], { fly: true });
  }

  trackFeature(trackId) {
    return (this.view().tracks?.features || []).find((f) => f.properties.track_id === trackId);
  }

  flyToTrack(trackId) {
    const f = this.trackFeature(trackId);
    if (f) this.flyTo(f.geometry.coordinates[0], f.geometry.coordinates[1], 10);
  }

  flyTo(lon, lat, zoom) {
    if (Number.isFinite(lon) && Number.isFinite(lat)) this.map.flyTo(lon, lat, zoom);
  }

  async trackClicked(trackId) {
    this.map.select(trackId);
    const v = this.view();
    const th = (v.threats || []).find((x) => x.track_id === trackId);
    if (th) this.selectedThreat = th.incident_id;
    let incident = th?.incident_id ?? (v.kills || []).find((k) => k.track_id === trackId)?.incident_id;
    if (!incident) {
      try {
        const list = await api.get("/api/incidents", this.replay?.at);
        incident = list.find((x) => x.track_id === trackId || (x.track_ids || []).includes(trackId))?.incident_id;
      } catch {
        incident = null;
      }
    }
    if (incident) this.openIncident(incident);
    else toast(`${trackId}: ${t("incident_empty")}`);
  }

  openIncident(id) {
    this.incidentOpen = id;
    showIncident(this.els.drawer, this, id);
  }

  closeIncident() {
    this.incidentOpen = null;
    this.els.drawer.hidden = true;
    delete this.els.drawer.dataset.incident;
  }

  search(q) {
    const s = q.trim();
    if (!s) return;
    const v = this.view();
    const num = s.match(/^(?:#|№)?\s*(\d+)$/);
    if (num) {
      const k = (v.kills || []).find((x) => x.number === Number(num[1]));
      if (k) {
        this.showTab("kills");
        if (Number.isFinite(k.lon)) this.flyTo(k.lon, k.lat, 11);
        if (k.incident_id) this.openIncident(k.incident_id);
        return;
      }
    }
    const low = s.toLowerCase();
    const tracks = (v.tracks?.features || []).map((f) => f.properties.track_id);
    const track = tracks.find((id) => String(id).toLowerCase() === low) || tracks.find((id) => String(id).toLowerCase().includes(low));
    if (track) {
      const th = (v.threats || []).find((x) => x.track_id === track);
      if (th) this.selectThreat(th.incident_id);
      this.map.select(track);
      this.flyToTrack(track);
      return;
    }
    const crew = (v.crews || []).find((c) => String(c.crew_id).toLowerCase() === low || String(c.name || "").toLowerCase().includes(low));
    if (crew) {
      this.showTab("crews");
      const at = this.crewsNow().find((c) => c.crew_id === crew.crew_id)?.position;
      if (at) this.flyTo(at[0], at[1], 11);
      return;
    }
    toast(t("search_none", { q: s }));
  }

  // ------------------------------------------------------------------------------ writes

  async write(label, path, body) {
    if (this.replay) {
      toast(t("writes_off_replay"), "warn");
      return false;
    }
    try {
      await api.post(path, body);
      toast(t("write_sent", { what: label }), "ok");
      return true;
    } catch (err) {
      if (err.status === 401) return false;
      toast(err.status ? t("write_refused", { status: err.status, detail: err.detail }) : t("write_failed", { detail: err.message }), "error");
      return false;
    }
  }

  ackThreat(incidentId) {
    if (!may(this.me.role, "ack_threat")) return;
    return this.write(`${t("threat_ack")} ${incidentId}`, `/api/threats/${encodeURIComponent(incidentId)}/ack`, {});
  }

  approveStatement(s) {
    // the approval names the exact text read (its SHA-256): the server refuses it if the text changed since
    return this.write(`${t("st_approve")} ${s.statement_id}`, `/api/statements/${encodeURIComponent(s.statement_id)}/approve`, { text_sha256: s.text_sha256 });
  }

  async rejectStatement(s) {
    const v = await ask({ title: `${t("st_reject")} ${s.statement_id}`, fields: [{ name: "reason", label: t("st_reject_reason"), type: "textarea", rows: 3, required: true }], submitLabel: t("st_reject") });
    if (v) return this.write(`${t("st_reject")} ${s.statement_id}`, `/api/statements/${encodeURIComponent(s.statement_id)}/reject`, { reason: v.reason });
  }

  async editStatement(s) {
    this.editingStatement = s.statement_id;
    const v = await ask({
      title: `${t("st_edit")} ${s.statement_id}`,
      fields: [
        { name: "text_en", label: t("st_text_en"), type: "textarea", value: s.text_en, rows: 6 },
        { name: "text_ru", label: t("st_text_ru"), type: "textarea", value: s.text_ru, rows: 6 },
      ],
      submitLabel: t("st_save"),
    });
    this.editingStatement = null;
    this.queueRender();
    if (v) return this.write(`${t("st_edit")} ${s.statement_id}`, `/api/statements/${encodeURIComponent(s.statement_id)}/edit`, { text_en: v.text_en, text_ru: v.text_ru });
  }

  async withdrawKill(k) {
    const v = await ask({ title: `${t("kill_withdraw")} #${k.number}`, fields: [{ name: "reason", label: t("kill_withdraw_reason", { n: k.number }), type: "textarea", rows: 3, required: true }], submitLabel: t("kill_withdraw") });
    if (v) return this.write(`${t("kill_withdraw")} #${k.number}`, `/api/kills/${encodeURIComponent(k.report_id)}/withdraw`, { reason: v.reason });
  }

  reportKill() {
    if (this.replay) {
      toast(t("writes_off_replay"), "warn");
      return;
    }
    toast(t("kill_report_hint"));
    this.map.pick(async (ll) => {
      const tracks = (this.view().tracks?.features || []).map((f) => f.properties.track_id);
      const v = await ask({
        title: t("kill_report"),
        message: t("kill_report_confirm", { lat: ll.lat.toFixed(5), lon: ll.lng.toFixed(5) }),
        fields: [{ name: "track_ref", label: "track", type: "select", options: [["", "—"], ...tracks.map((id) => [id, id])] }],
        submitLabel: t("kill_report"),
      });
      if (!v) return;
      const body = { lat: Number(ll.lat.toFixed(6)), lon: Number(ll.lng.toFixed(6)) };
      if (v.track_ref) body.track_ref = v.track_ref;
      this.write(t("kill_report"), "/api/kills", body);
    });
  }

  async overrideCrew(c) {
    const sites = this.view().sites || [];
    const options = sites.map((s) => [s.site_id, `${s.site_id}${s.kill_number ? ` · #${s.kill_number}` : ""}${s.districts?.length ? ` · ${s.districts.map((d) => this.placeName(d)).join(", ")}` : ""}`]);
    if (!options.length) {
      toast(t("kills_none"));
      return;
    }
    const v = await ask({ title: t("crew_override_pick", { crew: c.name || c.crew_id }), fields: [{ name: "site_id", label: t("crew_site", { site: "" }).trim(), type: "select", options, value: c.site_id }], submitLabel: t("crew_override") });
    if (v) return this.write(`${t("crew_override")} ${c.crew_id}`, `/api/crews/${encodeURIComponent(c.crew_id)}/override`, { site_id: v.site_id });
  }

  async recallCrew(c) {
    const v = await ask({ title: `${t("crew_recall")} ${c.name || c.crew_id}`, fields: [{ name: "reason", label: t("crew_recall_reason", { crew: c.name || c.crew_id }), type: "textarea", rows: 3, required: true }], submitLabel: t("crew_recall") });
    if (v) return this.write(`${t("crew_recall")} ${c.crew_id}`, `/api/crews/${encodeURIComponent(c.crew_id)}/recall`, { reason: v.reason });
  }

  async addClaim() {
    const whats = ["kill", "airport_closed", "damage", "drone_sighting"];
    const v = await ask({
      title: t("claim_add"),
      fields: [
        { name: "source", label: t("claim_source"), required: true },
        { name: "what", label: t("claim_what"), type: "select", options: whats.map((w) => [w, tOr("claim_what_", w)]) },
        { name: "count", label: t("claim_count"), type: "number" },
        { name: "where", label: t("claim_where") },
        { name: "text", label: t("claim_text"), type: "textarea", rows: 3 },
      ],
    });
    if (!v) return;
    const body = { source: v.source, what: v.what };
    if (v.count !== "") body.count = Number(v.count);
    if (v.where) body.where = v.where;
    if (v.text) body.text = v.text;
    return this.write(t("claim_add"), "/api/claims", body);
  }

  exercise(body) {
    return this.write(`${body.action}${body.speed ? ` ×${body.speed}` : ""}`, "/api/exercise", body);
  }

  async logout() {
    try {
      await api.logout();
    } catch {
      // the session is dropped on this side whatever the server answered
    }
    this.stop();
    current = null;
    showLogin();
  }

  // ------------------------------------------------------------------------------ keys

  key(e) {
    const target = e.target;
    const typing = target instanceof HTMLElement && (target.matches("input, textarea, select") || target.isContentEditable);
    if (e.key === "Escape") {
      if (closeModal() || this.closeHelp()) return;
      this.map.cancelPick();
      if (this.incidentOpen) this.closeIncident();
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey || document.querySelector(".backdrop:not(.help-backdrop)")) return;
    const sel = this.selectedThreat;
    switch (e.key) {
      case "j":
      case "ArrowDown":
        this.moveThreat(1);
        break;
      case "k":
      case "ArrowUp":
        this.moveThreat(-1);
        break;
      case "a":
        if (sel && may(this.me.role, "ack_threat")) this.ackThreat(sel);
        break;
      case "Enter":
        if (sel) this.openIncident(sel);
        break;
      case "f": {
        const th = (this.view().threats || []).find((x) => x.incident_id === sel);
        if (th) this.flyToTrack(th.track_id);
        break;
      }
      case "/":
        this.els.search.focus();
        this.els.search.select();
        break;
      case "?":
        this.help();
        break;
      case "r":
        this.stepBack(300);
        break;
      case "R":
        this.goLive();
        break;
      case "l":
        setLang(getLang() === "en" ? "ru" : "en");
        break;
      case "1":
      case "2":
      case "3":
      case "4":
      case "5":
        this.showTab(TABS[Number(e.key) - 1]);
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  help() {
    if (this.closeHelp()) return;
    const rows = [
      ["j / k", t("key_jk")],
      ["a", t("key_a")],
      ["Enter", t("key_enter")],
      ["f", t("key_f")],
      ["/", t("key_slash")],
      ["1 – 5", t("key_tabs")],
      ["r", t("key_r")],
      ["l", t("key_l")],
      ["Esc", t("key_esc")],
      ["?", t("key_help")],
    ];
    const box = h(
      "div",
      { class: "help", role: "dialog", "aria-label": t("help_title"), "data-testid": "help" },
      h("h3", null, t("help_title")),
      h("p", { class: "muted" }, t("help_intro")),
      h("table", null, rows.map(([k, d]) => h("tr", null, h("td", null, k.split(" ").map((x) => (x.length <= 5 && x !== "/" && x !== "–" ? h("kbd", null, x) : ` ${x} `))), h("td", null, d)))),
    );
    this.helpEl = h("div", { class: "backdrop help-backdrop", onmousedown: () => this.closeHelp() }, box);
    document.body.append(this.helpEl);
  }

  closeHelp() {
    if (!this.helpEl) return false;
    this.helpEl.remove();
    this.helpEl = null;
    return true;
  }
}

/** Districts whose latest CAP message is not a Cancel: the alerts in force. */
function activeAlertDistricts(alerts) {
  const latest = new Map();
  for (const a of alerts) {
    const prev = latest.get(a.district);
    if (!prev || String(a.t) >= String(prev.t)) latest.set(a.district, a);
  }
  return [...latest.values()].filter((a) => a.msg_type !== "Cancel").length;
}

// ---------------------------------------------------------------------------------- boot

(async () => {
  try {
    const who = await api.me();
    startConsole(who);
  } catch (err) {
    showLogin(err.status && err.status !== 401 ? t("login_error", { detail: err.detail }) : "");
  }
})();

