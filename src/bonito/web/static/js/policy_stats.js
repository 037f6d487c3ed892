// A routing policy's last 30 days: traffic split per target (a bar chart), failovers, cost and savings.

import { api } from "./api.js";
import { h, replace, s, submitting } from "./dom.js";
import { int, percent, usd } from "./format.js";

const W = 600;
const ROW = 28;
const LABEL = 160;

/** A "Stats" button that loads GET /api/routing-policies/{id}/stats into a panel below it. */
export function statsControl(policy) {
  const out = h("div", { class: "plan-slot", "aria-live": "polite" });
  const form = h("form", { class: "inline-form" },
    h("button", { type: "submit", class: "btn" }, "Stats", h("span", { class: "visually-hidden" }, ` for ${policy.name}`)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const stats = await submitting(form, () => api("GET", `/api/routing-policies/${encodeURIComponent(policy.id)}/stats`));
    if (stats !== undefined) replace(out, statsView(stats));
  });
  return h("div", {}, form, out);
}

function statsView(stats) {
  const facts = [
    ["Requests", int(stats.requests)], ["Failovers", int(stats.failovers)], ["Errors", int(stats.errors)],
    ["Cost", usd(stats.cost_usd)], ["All to the dearest target", usd(stats.baseline_cost_usd)],
    ["Savings", stats.savings_usd === null ? "—"
      : `${usd(stats.savings_usd)}${stats.savings_pct === null ? "" : ` (${percent(stats.savings_pct)})`}`],
  ];
  return h("div", { class: "policy-stats" },
    splitChart(stats.distribution || {}),
    h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}

function splitChart(distribution) {
  const rows = Object.entries(distribution);
  const label = "Requests per target, last 30 days";
  if (!rows.length) return h("p", { class: "muted" }, "No requests in the last 30 days.");
  const top = Math.max(...rows.map(([, d]) => d.requests), 1);
  const svg = s("svg", { viewBox: `0 0 ${W} ${rows.length * ROW + 4}`, role: "img", class: "chart",
    "aria-label": `${label}: ${rows.map(([m, d]) => `${m} ${d.requests}`).join(", ")}` });
  rows.forEach(([model, d], i) => {
    const y = i * ROW + 4;
    const width = ((W - LABEL - 80) * d.requests) / top;
    svg.append(s("text", { x: LABEL - 8, y: y + 16, "text-anchor": "end", class: "chart-axis" }, model));
    svg.append(s("rect", { x: LABEL, y, width: Math.max(width, 1), height: ROW - 8, class: "chart-bar" },
      s("title", {}, `${model}: ${d.requests} requests (${percent(d.share)})`)));
    svg.append(s("text", { x: LABEL + width + 6, y: y + 16, class: "chart-axis" }, `${d.requests} · ${percent(d.share)}`));
  });
  const fallback = h("table", { class: "visually-hidden" }, h("caption", {}, label),
    h("tbody", {}, rows.map(([m, d]) => h("tr", {}, h("th", { scope: "row" }, m), h("td", {}, String(d.requests))))));
  return h("figure", { class: "chart-figure" }, svg, h("figcaption", {}, label), fallback);
}
