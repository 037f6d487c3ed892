// Overview: totals for a time range, then where requests, money and time go: cost and requests over
// time split by model, provider, key or route, latency percentiles and error rate over time, the top
// models and keys. Every chart has its numbers as a table and as CSV. A new org sees the getting-started
// checklist first.

import { api } from "../api.js";
import { timeSeries } from "../chart.js";
import { chartCard } from "../charts.js";
import { h, pageHeader, replace, table } from "../dom.js";
import { compact, int, ms, num, percent, usd } from "../format.js";
import { gettingStarted } from "../getting-started.js";
import { monthSpend } from "../month-spend.js";
import { read } from "../schema.js";

const WINDOWS = [["24h", "Last 24 hours", 1, "hour"], ["7d", "Last 7 days", 7, "day"], ["30d", "Last 30 days", 30, "day"]];
const DIMENSIONS = [["model", "Model"], ["provider", "Provider"], ["key", "Key"], ["route", "Route"]];
const MAX_GROUPS = 7;

export async function render(root, { params, navigate }) {
  const current = WINDOWS.find(([w]) => w === params.get("window")) || WINDOWS[0];
  const by = DIMENSIONS.find(([d]) => d === params.get("by")) || DIMENSIONS[0];
  const go = (w, b) => navigate(`/overview?window=${w}&by=${b}`, { replace: true });
  const select = h("select", { id: "window", name: "window" },
    WINDOWS.map(([value, text]) => h("option", { value, selected: value === current[0] }, text)));
  select.addEventListener("change", () => go(select.value, by[0]));
  const split = h("select", { id: "split-by", name: "by" },
    DIMENSIONS.map(([value, text]) => h("option", { value, selected: value === by[0] }, text)));
  split.addEventListener("change", () => go(current[0], split.value));
  const refresh = h("button", { type: "button", class: "btn" }, "Refresh");
  const body = h("div", { class: "stack", "aria-live": "polite", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading usage…"));
  root.append(pageHeader("Overview",
    h("label", { for: "window", class: "inline-label" }, "Window"), select,
    h("label", { for: "split-by", class: "inline-label" }, "Split by"), split, refresh));
  const onboarding = await api("GET", "/api/onboarding");
  if (!read(onboarding, "ChecklistOut", "complete")) root.append(gettingStarted(onboarding, () => load()));
  root.append(body);
  const load = async () => {
    body.setAttribute("aria-busy", "true");
    const query = new URLSearchParams({ start: new Date(Date.now() - current[2] * 86400_000).toISOString(), group_by: current[3] });
    const [usage, series, month] = await Promise.all([
      api("GET", `/api/gateway/usage?${query}`),
      api("GET", `/api/analytics/series?${query}&by=${by[0]}`),
      monthSpend(),
    ]);
    replace(body, view(usage, series, current, by), month);
    body.setAttribute("aria-busy", "false");
  };
  refresh.addEventListener("click", () => load().catch((err) => replace(body, h("p", { class: "form-error", role: "alert" }, err.message))));
  await load();
}

function view(u, series, [windowId, windowLabel], [, byLabel]) {
  const lat = u.latency_ms || {};
  const stats = [
    ["Requests", int(u.requests)],
    ["Tokens", int(u.total_tokens), `${int(u.prompt_tokens)} in · ${int(u.completion_tokens)} out`],
    ["Cost", usd(u.cost_usd_exact)],
    ["Error rate", percent(u.error_rate), `${int(u.errors)} ${u.errors === 1 ? "error" : "errors"}`],
    ["Latency p50", ms(lat.p50)],
    ["Latency p95", ms(lat.p95)],
    ["Latency p99", ms(lat.p99)],
  ];
  if (u.cache) {  // the response cache: how often it answered, and what those upstream calls would have cost
    const hits = u.cache.hits + u.cache.semantic_hits;
    stats.push(["Cache hit rate", percent(u.cache.hit_rate), `${int(hits)} ${hits === 1 ? "hit" : "hits"} · saved ${usd(u.cache.saved_usd)}`]);
  }
  const split = splitSeries(series);
  const stamp = `${windowId}-by-${series.by}`;
  return [
    h("p", { class: "muted" }, windowLabel),
    h("dl", { class: "stats" }, stats.map(([label, value, sub]) => h("div", { class: "stat", dataset: { stat: label } },
      h("dt", {}, label), h("dd", {}, value), sub ? h("dd", { class: "muted small" }, sub) : null))),
    h("section", { class: "card", "aria-labelledby": "chart-title" },
      h("h2", { id: "chart-title" }, "Requests over time"),
      timeSeries(u.series.map((p) => ({ t: new Date(p.bucket), v: p.requests })), { label: "Requests per interval", format: compact })),
    series.rows.length ? [
      chartCard("cost-chart", `Cost by ${byLabel.toLowerCase()}`, split("cost_usd"), { format: money, unit: "USD", csvName: `bonito-cost-${stamp}` }),
      chartCard("requests-chart", `Requests by ${byLabel.toLowerCase()}`, split("requests"), { format: compact, csvName: `bonito-requests-${stamp}` }),
      chartCard("latency-chart", "Latency percentiles", latencySeries(series), { kind: "lines", format: ms, unit: "ms", csvName: `bonito-latency-${windowId}` }),
      chartCard("errors-chart", "Error rate", errorSeries(series), { kind: "lines", format: percent, csvName: `bonito-errors-${windowId}` }),
    ] : h("p", { class: "muted" }, "Cost, latency and error charts appear here once requests arrive in this window."),
    h("div", { class: "grid" },
      top("by-model", "By model", "Model", u.by_model.map((m) => [m.model, m])),
      top("by-key", "By key", "Key", u.by_key.map((k) => [k.key_name || k.key_id || "—", k]))),
  ];
}

function top(id, title, what, rows) {
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title),
    table(title, [
      [what, ([name]) => name],
      ["Requests", ([, r]) => int(r.requests)],
      ["Cost", ([, r]) => usd(r.cost_usd_exact)],
      ["Errors", ([, r]) => int(r.errors)],
    ], rows.slice(0, 10), { empty: "No requests in this window." }));
}

function bucketsOf(series) {
  return [...new Set([...series.rows.map((r) => r.bucket), ...series.latency.map((l) => l.bucket)])].sort();
}

/** A stat of the series rows as stacked groups: the top groups by cost, the rest as "other". */
function splitSeries(series) {
  const buckets = bucketsOf(series);
  const cost = new Map();
  for (const r of series.rows) cost.set(r.group ?? "(none)", (cost.get(r.group ?? "(none)") || 0) + num(r.cost_usd) + num(r.requests) * 1e-12);
  const ranked = [...cost.entries()].sort((a, b) => b[1] - a[1]).map(([g]) => g);
  const kept = ranked.slice(0, MAX_GROUPS);
  const rest = ranked.length > MAX_GROUPS;
  return (field) => {
    const names = rest ? [...kept, "other"] : kept;
    const values = names.map(() => buckets.map(() => 0));
    for (const r of series.rows) {
      const g = r.group ?? "(none)";
      const k = kept.includes(g) ? kept.indexOf(g) : names.length - 1;
      values[k][buckets.indexOf(r.bucket)] += num(r[field]);
    }
    return { buckets: buckets.map((b) => new Date(b)), series: names.map((name, k) => ({ name, values: values[k] })) };
  };
}

function latencySeries(series) {
  const buckets = bucketsOf(series);
  const at = new Map(series.latency.map((l) => [l.bucket, l]));
  return { buckets: buckets.map((b) => new Date(b)),
    series: ["p50", "p95", "p99"].map((p) => ({ name: p, values: buckets.map((b) => (at.get(b) ? at.get(b)[p] : null)) })) };
}

function errorSeries(series) {
  const buckets = bucketsOf(series);
  const rate = buckets.map((b) => {
    const rows = series.rows.filter((r) => r.bucket === b);
    const n = rows.reduce((a, r) => a + r.requests, 0);
    return n ? rows.reduce((a, r) => a + r.errors, 0) / n : null;
  });
  return { buckets: buckets.map((b) => new Date(b)), series: [{ name: "error rate", values: rate }] };
}

function money(v) {
  const n = Number(v);
  if (!Number.isFinite(n)) return "—";
  return n !== 0 && Math.abs(n) < 0.01 ? `$${n.toPrecision(3)}` : `$${n.toFixed(2)}`;
}
