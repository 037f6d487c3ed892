// The control-plane client: the access token lives in memory only; the refresh
// token in sessionStorage (this tab, until it closes). A 401 refreshes once, then
// sends the user to the login page.

const REFRESH_KEY = "bonito.refresh_token";
let accessToken = null;
let refreshing = null;
let onSignedOut = () => {};

/** An API error with the server's message (from `{error}` or `{detail}`) and the fields it names. */
export class ApiError extends Error {
  constructor(status, message, fields = []) {
    super(message);
    this.status = status;
    this.fields = fields;
  }
}

export function setSignedOutHandler(fn) {
  onSignedOut = fn;
}

export function hasSession() {
  return accessToken !== null || sessionStorage.getItem(REFRESH_KEY) !== null;
}

function store(tokens) {
  accessToken = tokens.access_token;
  if (tokens.refresh_token) sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
}

export function clearSession() {
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
}

/** Turn any error body the API or the gateway sends into one readable message. */
export async function errorFrom(resp) {
  let body = null;
  const text = await resp.text().catch(() => "");
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  let message = "";
  let fields = [];
  const detail = body && (body.detail ?? body.error ?? body.message);
  if (typeof detail === "string") {
    message = detail;
  } else if (Array.isArray(detail)) {
    // FastAPI validation errors: [{loc: ["body", "email"], msg}]
    fields = detail.map((d) => (Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : null))
      .filter(Boolean);
    message = detail.map((d) => {
      const where = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
      return where ? `${where}: ${d.msg}` : d.msg;
    }).join("; ");
  } else if (detail && typeof detail === "object") {
    message = detail.message || detail.msg || JSON.stringify(detail);
    if (detail.param) fields = [detail.param];
    if (Array.isArray(detail.fields)) fields = detail.fields;
  }
  if (!message) message = text && text.length < 300 && !text.trim().startsWith("<") ? text.trim() : resp.statusText;
  return new ApiError(resp.status, `${message || "Request failed"} (HTTP ${resp.status})`, fields);
}

async function refresh() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) return false;
  refreshing ||= (async () => {
    try {
      const resp = await fetch("/api/auth/refresh", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      });
      if (!resp.ok) {
        // retired, revoked or expired: it will never work again, so do not try it twice
        if (resp.status === 401 || resp.status === 400 || resp.status === 422) sessionStorage.removeItem(REFRESH_KEY);
        return false;
      }
      store(await resp.json());
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function send(method, path, body, headers = {}) {
  const init = { method, headers: { accept: "application/json", ...headers } };
  if (accessToken) init.headers.authorization = `Bearer ${accessToken}`;
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(path, init);
}

/** A raw authenticated Response (for downloads); handles 401 → refresh once → login. */
export async function fetchAuthed(method, path, body, headers) {
  if (!accessToken) await refresh();
  let resp = await send(method, path, body, headers);
  if (resp.status === 401 && (await refresh())) resp = await send(method, path, body, headers);
  if (resp.status === 401) {
    clearSession();
    onSignedOut();
    throw new ApiError(401, "Your session has ended. Please sign in again.");
  }
  if (!resp.ok) throw await errorFrom(resp);
  return resp;
}

/** Parsed JSON of an authenticated call (null for 204). */
export async function api(method, path, body) {
  const resp = await fetchAuthed(method, path, body);
  if (resp.status === 204) return null;
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

/** Login, register or accept an invitation: stores the tokens, throws ApiError on failure.
 * A session this replaces (accepting an invitation while signed in) is ended on the server too. */
export async function authenticate(path, body, bearer = null) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (bearer) headers.authorization = `Bearer ${bearer}`;  // accepting an invitation: its token
  const resp = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  if (!resp.ok) throw await errorFrom(resp);
  const previous = sessionStorage.getItem(REFRESH_KEY);
  const tokens = await resp.json();
  store(tokens);
  if (previous && tokens.refresh_token && previous !== tokens.refresh_token) revoke(previous);
}

/** Ends the session now; the server-side revocation goes out in the background (keepalive). */
export function logout() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  clearSession();
  if (token) revoke(token);
}

function revoke(refreshToken) {
  fetch("/api/auth/logout", {
    method: "POST",
    keepalive: true,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: refreshToken }),
  }).catch(() => {});
}

/** Lists come bare or wrapped ({items}, {data}, {<name>s}); always return an array. */
export function itemsOf(body) {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== "object") return [];
  for (const key of ["items", "data", "results"]) if (Array.isArray(body[key])) return body[key];
  const arrays = Object.values(body).filter(Array.isArray);
  return arrays.length === 1 ? arrays[0] : [];
}
