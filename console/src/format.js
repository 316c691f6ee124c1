// Formatting of times, durations and figures. Times in the API are UTC ISO 8601; the console
// shows the night's local clock (the scenario's time zone).
import { getLang } from "./i18n.js";

let zone = "UTC";
let clockFmt = null;
let shortFmt = null;

export function setTimeZone(tz) {
  zone = tz || "UTC";
  clockFmt = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  shortFmt = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}
setTimeZone("UTC");

export function timeZone() {
  return zone;
}

/** "03:10:27" on the night's clock, from an ISO time (or "" when absent). */
export function localTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : clockFmt.format(d);
}

/** "03:10" on the night's clock. */
export function localHM(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : shortFmt.format(d);
}

/** Seconds as "m:ss", or "h:mm:ss" past the hour; "—" when unknown. */
export function duration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return "—";
  const neg = s < 0;
  let v = Math.round(Math.abs(s));
  const hh = Math.floor(v / 3600);
  v -= hh * 3600;
  const mm = Math.floor(v / 60);
  const ss = v - mm * 60;
  const body = hh > 0 ? `${hh}:${String(mm).padStart(2, "0")}:${String(ss).padStart(2, "0")}` : `${mm}:${String(ss).padStart(2, "0")}`;
  return neg ? `−${body}` : body;
}

export function km(m) {
  if (m === null || m === undefined || !Number.isFinite(m)) return "—";
  const unit = getLang() === "ru" ? "км" : "km";
  return m >= 10_000 ? `${Math.round(m / 1000)} ${unit}` : `${num(m / 1000, 1)} ${unit}`;
}

export function pct(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return "—";
  return `${Math.round(p * 100)}%`;
}

export function num(x, digits = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return x.toLocaleString(getLang() === "ru" ? "ru-RU" : "en-GB", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
