// The HTTP side of docs/api.md: reads (with ?at= for replay) and writes (with the CSRF header
// the server asks of the browser's cookie session).

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

let csrf = "";
let onUnauthorized = () => {};

export function setCsrf(token) {
  csrf = token || "";
}

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

async function detailOf(resp) {
  try {
    const body = await resp.json();
    if (typeof body.detail === "string") return body.detail;
    if (body.detail) return JSON.stringify(body.detail);
    return JSON.stringify(body);
  } catch {
    return resp.statusText || String(resp.status);
  }
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  const resp = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 401 && path !== "/api/login") onUnauthorized();
  if (!resp.ok) throw new ApiError(resp.status, await detailOf(resp));
  if (resp.status === 204) return null;
  return resp.json();
}

/** GET a read; `at` (ISO or local "03:10") asks for the picture at that moment. */
export function get(path, at) {
  const url = at ? `${path}${path.includes("?") ? "&" : "?"}at=${encodeURIComponent(at)}` : path;
  return request("GET", url);
}

export function post(path, body = {}) {
  return request("POST", path, body);
}

export async function login(user, password) {
  const answer = await request("POST", "/api/login", { user, password });
  setCsrf(answer.csrf);
  return answer;
}

export async function me() {
  const answer = await request("GET", "/api/me");
  setCsrf(answer.csrf);
  return answer;
}

export function logout() {
  return request("POST", "/api/logout", {});
}

/** The collections a snapshot holds, each with the read that answers it. */
export const READS = {
  night: "/api/night",
  tracks: "/api/tracks",
  threats: "/api/threats",
  airports: "/api/airports",
  kills: "/api/kills",
  crews: "/api/crews",
  sites: "/api/sites",
  statements: "/api/statements",
  alerts: "/api/alerts",
  claims: "/api/claims",
  sensors: "/api/sensors",
};

/** Every collection at one moment (a replay), read in parallel. */
export async function pictureAt(at) {
  const names = Object.keys(READS);
  const answers = await Promise.all(names.map((n) => get(READS[n], at)));
  return Object.fromEntries(names.map((n, i) => [n, answers[i]]));
}
