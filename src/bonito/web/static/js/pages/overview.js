// Overview: totals, error rate, latency percentiles and a requests-over-time chart.

import { api } from "../api.js";
import { timeSeries } from "../chart.js";
import { h, pageHeader, replace } from "../dom.js";
import { compact, int, ms, num, percent, pick, usd } from "../format.js";

const WINDOWS = [["24h", "Last 24 hours", 1, "hour"], ["7d", "Last 7 days", 7, "day"], ["30d", "Last 30 days", 30, "day"]];

export async function render(root, { params, navigate }) {
  const current = WINDOWS.find(([w]) => w === params.get("window")) || WINDOWS[0];
  const select = h("select", { id: "window", name: "window" },
    WINDOWS.map(([value, text]) => h("option", { value, selected: value === current[0] }, text)));
  select.addEventListener("change", () => navigate(`/overview?window=${select.value}`, { replace: true }));
  const refresh = h("button", { type: "button", class: "btn" }, "Refresh");
  const body = h("div", { class: "stack", "aria-live": "polite", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading usage…"));
  root.append(
    pageHeader("Overview", h("label", { for: "window", class: "inline-label" }, "Window"), select, refresh),
    body);
  const load = async () => {
    body.setAttribute("aria-busy", "true");
    const since = new Date(Date.now() - current[2] * 86400_000).toISOString();
    const query = new URLSearchParams({ start: since, group_by: current[3] });
    const usage = await api("GET", `/api/gateway/usage?${query}`);
    replace(body, view(normalize(usage), current[1]));
    body.setAttribute("aria-busy", "false");
  };
  refresh.addEventListener("click", () => load().catch((err) => replace(body, h("p", { class: "form-error", role: "alert" }, err.message))));
  await load();
}

function view(u, windowLabel) {
  const stats = [
    ["Requests", int(u.requests)],
    ["Tokens", int(u.tokens), u.promptTokens !== undefined ? `${int(u.promptTokens)} in · ${int(u.completionTokens)} out` : null],
    ["Cost", usd(u.cost)],
    ["Error rate", percent(u.errorRate), u.errors !== undefined ? `${int(u.errors)} ${Number(u.errors) === 1 ? "error" : "errors"}` : null],
    ["Latency p50", ms(u.p50)],
    ["Latency p95", ms(u.p95)],
    ["Latency p99", ms(u.p99)],
  ];
  if (u.cache) {  // the response cache: how often it answered, and what those upstream calls would have cost
    const hits = u.cache.hits + u.cache.semantic_hits;
    stats.push(["Cache hit rate", percent(u.cache.hit_rate), `${int(hits)} ${hits === 1 ? "hit" : "hits"} · saved ${usd(u.cache.saved_usd)}`]);
  }
  return [
    h("p", { class: "muted" }, windowLabel),
    h("dl", { class: "stats" }, stats.map(([label, value, sub]) => h("div", { class: "stat", dataset: { stat: label } },
      h("dt", {}, label), h("dd", {}, value), sub ? h("dd", { class: "muted small" }, sub) : null))),
    h("section", { class: "card", "aria-labelledby": "chart-title" },
      h("h2", { id: "chart-title" }, "Requests over time"),
      timeSeries(u.series.map((p) => ({ t: p.t, v: p.requests })), { label: "Requests per interval", format: compact })),
    u.byModel.length ? h("section", { class: "card", "aria-labelledby": "by-model" },
      h("h2", { id: "by-model" }, "By model"),
      h("ul", { class: "bars" }, u.byModel.map((m) => h("li", {},
        h("span", {}, m.name), h("span", { class: "muted" }, `${int(m.requests)} req · ${usd(m.cost)}`))))) : null,
  ];
}

/** The usage body in one shape, whatever names the endpoint uses for its fields. */
export function normalize(body) {
  const t = pick(body, "totals", "total", "summary") || body || {};
  const lat = pick(t, "latency_ms", "latency") || pick(body, "latency_ms", "latency") || {};
  const requests = pick(t, "requests", "request_count", "count", "total_requests");
  const promptTokens = pick(t, "prompt_tokens", "tokens_in", "input_tokens");
  const completionTokens = pick(t, "completion_tokens", "tokens_out", "output_tokens");
  let tokens = pick(t, "total_tokens", "tokens");
  if (typeof tokens === "object") tokens = pick(tokens, "total", "total_tokens");
  if (tokens === undefined && promptTokens !== undefined) tokens = num(promptTokens) + num(completionTokens);
  const errors = pick(t, "errors", "error_count", "failed");
  let errorRate = pick(t, "error_rate", "errorRate");
  if (errorRate === undefined && errors !== undefined && num(requests) > 0) errorRate = num(errors) / num(requests);
  const series = (pick(body, "series", "timeseries", "time_series", "buckets", "by_time", "by_hour", "by_day") || [])
    .map((p) => ({ t: new Date(pick(p, "t", "time", "bucket", "timestamp", "ts", "date", "period", "hour", "day")),
      requests: num(pick(p, "requests", "request_count", "count")) }))
    .filter((p) => !Number.isNaN(p.t.getTime()))
    .sort((a, b) => a.t - b.t);
  const models = pick(body, "by_model", "models") || [];
  const byModel = (Array.isArray(models) ? models : Object.entries(models).map(([name, v]) => ({ name, ...v })))
    .map((m) => ({ name: pick(m, "model", "name", "key") || "?", requests: pick(m, "requests", "request_count", "count"),
      cost: pick(m, "cost_usd_exact", "cost_usd", "cost") }));
  return {
    requests: requests ?? 0,
    tokens: tokens ?? 0,
    promptTokens,
    completionTokens,
    cost: pick(t, "cost_usd_exact", "cost_usd", "cost", "total_cost", "total_cost_usd") ?? 0,
    errors,
    errorRate: errorRate ?? 0,
    p50: pick(lat, "p50", "p50_ms") ?? pick(t, "latency_p50_ms", "p50_latency_ms", "p50_ms", "latency_p50"),
    p95: pick(lat, "p95", "p95_ms") ?? pick(t, "latency_p95_ms", "p95_latency_ms", "p95_ms", "latency_p95"),
    p99: pick(lat, "p99", "p99_ms") ?? pick(t, "latency_p99_ms", "p99_latency_ms", "p99_ms", "latency_p99"),
    series,
    byModel,
    cache: body.cache,
  };
}
