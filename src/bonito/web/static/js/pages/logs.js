// Request logs: filters, cursor paging, CSV export, and each request's routing decision.

import { api, itemsOf } from "../api.js";
import { downloadAuthed } from "../download.js";
import { pager, trail } from "../pager.js";
import { field, formValues, h, pageHeader, replace } from "../dom.js";
import { int, ms, pick, usd, when } from "../format.js";
import { planView } from "../plan.js";

const PAGE_SIZE = 50;
const FILTERS = ["model", "status", "provider", "key_id", "start", "end"];

export async function render(root, { params, navigate }) {
  const filters = Object.fromEntries(FILTERS.filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
  const cursor = params.get("cursor");
  const back = trail(params);

  const query = new URLSearchParams({ ...filters, limit: String(PAGE_SIZE) });
  if (cursor) query.set("cursor", cursor);
  const csvQuery = new URLSearchParams({ ...filters, format: "csv" });
  const exportBtn = h("a", { class: "btn", href: `/api/gateway/logs?${csvQuery}`, download: "bonito-logs.csv",
    role: "button" }, "Export CSV");
  exportBtn.addEventListener("click", (event) => {
    event.preventDefault();
    downloadAuthed(exportBtn.getAttribute("href"),
      { accept: "text/csv", name: "bonito-logs", ext: "csv", done: "CSV export downloaded" }, exportBtn);
  });
  root.append(pageHeader("Logs", exportBtn), filterForm(filters, navigate, await choices()));

  const body = await api("GET", `/api/gateway/logs?${query}`);
  const items = itemsOf(body);
  const next = pick(body, "next_cursor");
  root.append(
    h("section", { class: "card", "aria-labelledby": "logs-title" },
      h("h2", { id: "logs-title", class: "visually-hidden" }, "Requests"),
      items.length ? logTable(items) : h("p", { class: "empty muted" }, "No requests match. Send one to /v1 and refresh."),
      pager({ path: "/logs", filters, cursor, back, next, shown: items.length, navigate })));
}

/** The org's own models, routes, providers and keys, offered in the filters (pick, don't type ids). */
async function choices() {
  const [models, routes, providers, keys] = await Promise.all([
    api("GET", "/api/models"), api("GET", "/api/routing-policies"), api("GET", "/api/providers"),
    api("GET", "/api/gateway/keys?include_revoked=true"),
  ].map((call) => call.then(itemsOf).catch(() => [])));
  return h("div", { hidden: true },
    h("datalist", { id: "log-models" }, [...models, ...routes].map((m) => h("option", { value: m.name }))),
    h("datalist", { id: "log-providers" }, providers.map((p) => h("option", { value: p.id, label: `${p.name} (${p.type})` }))),
    h("datalist", { id: "log-keys" }, keys.map((k) => h("option", { value: k.id, label: `${k.name} (${k.display})` }))),
    h("datalist", { id: "log-statuses" }, ["200", "success", "error", "4xx", "429", "5xx"].map((v) => h("option", { value: v }))));
}

function filterForm(filters, navigate, lists) {
  const form = h("form", { class: "card filters", role: "search", "aria-label": "Filter logs" }, lists,
    h("div", { class: "grid grid-tight" },
      field("Model", { name: "model", value: filters.model || "", autocomplete: "off", list: "log-models" },
        { hint: "Pick one of your models or routes" }),
      field("Status", { name: "status", value: filters.status || "", placeholder: "e.g. 200, 429 or 5xx", list: "log-statuses" }),
      field("Provider", { name: "provider", value: filters.provider || "", autocomplete: "off", list: "log-providers" },
        { hint: "Pick by name" }),
      field("Key ID", { name: "key_id", value: filters.key_id || "", autocomplete: "off", list: "log-keys" },
        { hint: "Pick by name" }),
      field("From", { name: "start", type: "datetime-local", value: toLocal(filters.start) }),
      field("To", { name: "end", type: "datetime-local", value: toLocal(filters.end) })),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Apply filters"),
      h("a", { href: "/logs", "data-link": "", class: "btn btn-ghost" }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formValues(form);
    for (const k of ["start", "end"]) if (v[k]) v[k] = new Date(v[k]).toISOString();
    const q = new URLSearchParams(v);
    navigate(`/logs${q.size ? `?${q}` : ""}`);
  });
  return form;
}

function toLocal(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

const COLUMNS = ["Time", "Request ID", "Model", "Status", "Tokens", "Cost", "Latency"];

function logTable(items) {
  const tbody = h("tbody", {});
  for (const r of items) {
    const requestId = pick(r, "request_id", "x_request_id", "id");
    const detailId = `detail-${pick(r, "id") || requestId}`.replace(/[^A-Za-z0-9_-]/g, "_");
    const status = Number(pick(r, "status", "status_code") ?? 0);
    const toggle = h("button", { type: "button", class: "link-button", "aria-expanded": "false",
      "aria-controls": detailId }, h("code", {}, requestId));
    const row = h("tr", { class: "log-row", dataset: { requestId } },
      h("td", {}, when(pick(r, "created_at", "timestamp", "time"))),
      h("td", {}, toggle),
      h("td", {}, pick(r, "model", "model_requested", "model_used") || "—"),
      h("td", {}, h("span", { class: `badge ${status >= 400 ? "badge-bad" : "badge-ok"}` }, String(status || "—"))),
      h("td", {}, tokens(r)),
      h("td", {}, usd(pick(r, "cost_usd", "cost"))),
      h("td", {}, ms(pick(r, "latency_ms", "latency"))));
    const detail = h("tr", { class: "log-detail", id: detailId, hidden: true },
      h("td", { colspan: COLUMNS.length }, detailView(r)));
    const flip = () => {
      const open = detail.hidden;
      detail.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
    };
    toggle.addEventListener("click", flip);
    row.addEventListener("click", (e) => { if (!e.target.closest("button")) flip(); });
    tbody.append(row, detail);
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "logs" },
    h("caption", { class: "visually-hidden" }, "Requests, newest first. Activate a request ID for its routing decision."),
    h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", { scope: "col" }, c)))), tbody));
}

function tokens(r) {
  const p = pick(r, "prompt_tokens", "tokens_in", "input_tokens");
  const c = pick(r, "completion_tokens", "tokens_out", "output_tokens");
  const total = pick(r, "total_tokens", "tokens") ?? (p !== undefined ? Number(p) + Number(c || 0) : undefined);
  return h("span", { title: p !== undefined ? `${int(p)} in · ${int(c)} out` : null }, int(total));
}

function detailView(r) {
  const facts = [
    ["Model requested", pick(r, "model_requested", "model")],
    ["Model used", pick(r, "model_used")],
    ["Route", pick(r, "route") || "none: the model was requested directly"],
    ["Provider", pick(r, "provider_name", "provider")],
    ["Endpoint", pick(r, "endpoint")],
    ["Upstream model", pick(r, "upstream_model")],
    ["Key", pick(r, "key_name", "key_id")],
    ["Attempts", pick(r, "attempts")],
    ["Stream", pick(r, "stream") === undefined ? undefined : String(r.stream)],
    ["Time to first token", pick(r, "ttft_ms") === undefined ? undefined : ms(r.ttft_ms)],
    ["Error", pick(r, "error")],
  ].filter(([, v]) => v !== undefined && v !== null && v !== "");
  const decision = pick(r, "decision", "routing_decision", "routing");
  return h("div", { class: "log-detail-body" },
    h("dl", { class: "kv" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))])),
    decision ? planView(decision) : null);
}

