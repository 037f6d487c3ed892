// The audit log (admins): who did what and when, newest first, filters (action or family, actor, time range)
// kept in the URL, cursor paging, CSV / JSON-lines export of the matching events.

import { api, itemsOf } from "../api.js";
import { downloadAuthed } from "../download.js";
import { pager, trail } from "../pager.js";
import { field, formValues, h, pageHeader, table } from "../dom.js";
import { pick, when } from "../format.js";

const PAGE_SIZE = 50;
const FILTERS = ["action", "actor", "start", "end"];
// What the control plane records (services/*.py, governance/*.py): each family, then its actions.
const ACTIONS = {
  auth: ["register", "login", "login_failed", "logout", "refresh_reuse"],
  key: ["create", "update", "rotate", "revoke"],
  provider: ["create", "credentials_change", "validate", "delete"],
  model: ["create", "update", "delete"],
  routing_policy: ["create", "delete"],
  budget: ["create", "delete"],
  alert_rule: ["create", "update", "delete"],
  webhook: ["create", "delete"],
  member: ["add", "role_change", "remove"],
  limits: ["update"],
  gateway_config: ["update"],
};

export async function render(root, { params, navigate }) {
  const filters = Object.fromEntries(FILTERS.filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
  const cursor = params.get("cursor");
  const back = trail(params);
  const exports = [["csv", "Export CSV"], ["jsonl", "Export JSON lines"]].map(([format, label]) => {
    const q = new URLSearchParams({ format, ...filters });
    const a = h("a", { class: "btn", href: `/api/audit/export?${q}`, download: `bonito-audit.${format}`,
      role: "button" }, label);
    a.addEventListener("click", (event) => {
      event.preventDefault();
      downloadAuthed(a.getAttribute("href"), {
        accept: format === "csv" ? "text/csv" : "application/x-ndjson", name: "bonito-audit", ext: format,
        done: "Audit log downloaded",
      }, a);
    });
    return a;
  });
  const form = filterForm(filters, navigate);
  root.append(pageHeader("Audit log", ...exports), form);

  const query = new URLSearchParams({ ...filters, limit: String(PAGE_SIZE) });
  if (cursor) query.set("cursor", cursor);
  let body;
  try {
    body = await api("GET", `/api/audit?${query}`);
  } catch (err) {
    if (err.status === 422) {
      showFormError(form, err);
      return;
    }
    if (err.status !== 403) throw err;
    exports.forEach((a) => a.remove());
    form.remove();
    root.append(h("p", { class: "form-error", role: "alert" }, err.message));
    return;
  }
  const items = itemsOf(body);
  const next = pick(body, "next_cursor");
  const filtered = Object.keys(filters).length > 0;
  root.append(h("section", { class: "card", "aria-labelledby": "audit-title" },
    h("h2", { id: "audit-title", class: "visually-hidden" }, "Events"),
    table("Audit events, newest first", [
      ["Time", (e) => when(e.created_at)],
      ["Action", (e) => h("code", {}, e.action)],
      ["Actor", (e) => e.actor_email || e.actor_id || "—"],
      ["Target", (e) => (e.target_type ? `${e.target_type} ${e.target_id || ""}`.trim() : "—")],
      ["IP", (e) => e.ip || "—"],
      ["Details", (e) => details(e.details)],
    ], items, { empty: filtered ? "No events match these filters." : "No events yet.",
      rowAttrs: (e) => ({ dataset: { action: e.action } }) }),
    pager({ path: "/audit", filters, cursor, back, next, shown: items.length, navigate })));
}

function filterForm(filters, navigate) {
  const form = h("form", { class: "card filters", role: "search", "aria-label": "Filter audit events" },
    h("div", { class: "grid grid-tight" },
      field("Action", { name: "action", value: filters.action || "", list: "audit-actions", autocomplete: "off",
        spellcheck: "false" }, { hint: "e.g. key.create, or a family: key.*" }),
      h("datalist", { id: "audit-actions" }, Object.entries(ACTIONS).map(([family, actions]) => [
        h("option", { value: `${family}.*` }), actions.map((a) => h("option", { value: `${family}.${a}` }))])),
      field("Actor email", { name: "actor", type: "email", value: filters.actor || "", autocomplete: "off" }),
      field("From", { name: "start", type: "datetime-local", value: toLocal(filters.start) }),
      field("To", { name: "end", type: "datetime-local", value: toLocal(filters.end) },
        { hint: "Up to, not including" })),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Apply filters"),
      h("a", { href: "/audit", "data-link": "", class: "btn btn-ghost" }, "Clear")),
    h("p", { class: "form-error", role: "alert" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formValues(form);
    for (const k of ["start", "end"]) {
      const d = v[k] ? new Date(v[k]) : null; // the browser's local time → UTC; the server judges what won't parse
      if (d && !Number.isNaN(d.getTime())) v[k] = d.toISOString();
    }
    const q = new URLSearchParams(v);
    navigate(`/audit${q.size ? `?${q}` : ""}`);
  });
  return form;
}

/** The server's 422 in the form's alert, its fields marked invalid ("query.action" → the Action input). */
function showFormError(form, err) {
  form.querySelector(".form-error").textContent = err.message.replace(/\bquery\./g, "");
  for (const path of err.fields || []) {
    const el = form.elements.namedItem(String(path).split(".").pop());
    if (el && el.setAttribute) el.setAttribute("aria-invalid", "true");
  }
}

function toLocal(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function details(d) {
  if (!d || typeof d !== "object" || !Object.keys(d).length) return "—";
  return h("dl", { class: "kv kv-compact" }, Object.entries(d).map(([k, v]) => [
    h("dt", {}, k), h("dd", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))]));
}

