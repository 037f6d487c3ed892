// Costs: where the month will end, spend over time and by model, provider and tag, and what to change to
// spend less. Reads /api/costs/forecast, /api/costs/recommendations, /api/gateway/usage and the org's tag keys.

import { api } from "../api.js";
import { timeSeries } from "../chart.js";
import { h, pageHeader, replace, table } from "../dom.js";
import { int, usd } from "../format.js";

export async function render(root, { params, navigate }) {
  const config = await api("GET", "/api/gateway/config").catch(() => ({ tags: [] }));
  const tagKeys = config.tags || [];
  const tag = tagKeys.includes(params.get("tag")) ? params.get("tag") : tagKeys[0] || null;
  const actions = [h("button", { type: "button", class: "btn", onclick: () => navigate(`/costs${tag ? `?tag=${encodeURIComponent(tag)}` : ""}`, { replace: true }) }, "Refresh")];
  if (tagKeys.length) {
    const select = h("select", { id: "cost-tag", name: "tag" },
      tagKeys.map((k) => h("option", { value: k, selected: k === tag }, k)));
    select.addEventListener("change", () => navigate(`/costs?tag=${encodeURIComponent(select.value)}`, { replace: true }));
    actions.push(h("label", { for: "cost-tag", class: "inline-label" }, "Tag"), select);
  }
  const body = h("div", { class: "stack", "aria-live": "polite", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading costs…"));
  root.append(pageHeader("Costs", ...actions), body);

  const start = new Date(Date.now() - 30 * 86400_000).toISOString();
  const usageQuery = new URLSearchParams({ start, group_by: tag ? `tag:${tag}` : "day" });
  const [forecast, usage, recommendations, bills] = await Promise.all([
    api("GET", `/api/costs/forecast${tag ? `?group_by=tag:${encodeURIComponent(tag)}` : ""}`),
    api("GET", `/api/gateway/usage?${usageQuery}`),
    api("GET", "/api/costs/recommendations"),
    api("GET", "/api/costs/bills"),
  ]);
  replace(body, forecastCard(forecast), spendCard(usage, tag), billsCard(bills), recommendationsCard(recommendations));
  body.setAttribute("aria-busy", "false");
}

function forecastCard(f) {
  const stats = [
    ["Spent this month", usd(f.month_to_date_usd)],
    ["Projected month end", usd(f.projected_usd), `range ${usd(f.low_usd)} – ${usd(f.high_usd)}`],
    ["Daily rate", usd(f.daily_rate_usd), `${f.remaining_days.toFixed(1)} days left`],
  ];
  return h("section", { class: "card", "aria-labelledby": "forecast-title" },
    h("h2", { id: "forecast-title" }, `Forecast for ${f.month}`),
    h("dl", { class: "stats" }, stats.map(([label, value, sub]) => h("div", { class: "stat", dataset: { stat: label } },
      h("dt", {}, label), h("dd", {}, value), sub ? h("dd", { class: "muted small" }, sub) : null))),
    h("p", { class: "muted small" }, f.method),
    table("Budgets and their projected use", [
      ["Budget", (b) => b.key_id ? `Key ${b.key_id}` : "Organization"],
      ["Tag", (b) => b.tag ? Object.entries(b.tag).map(([k, v]) => `${k}=${v}`).join(", ") : "—"],
      ["Monthly", (b) => usd(b.usd)],
      ["Projected", (b) => usd(b.projected_usd)],
      ["Of budget", (b) => `${b.projected_percent.toFixed(0)}%${b.projected_to_exceed ? " (over)" : ""}`],
    ], f.budgets, { empty: "No monthly budget set." }),
    f.by_tag ? table("Forecast by tag value", [
      [f.by_tag[0] ? f.by_tag[0].tag : "Tag", (r) => r.value ?? "(none)"],
      ["Spent", (r) => usd(r.month_to_date_usd)],
      ["Projected", (r) => usd(r.projected_usd)],
    ], f.by_tag, { empty: "No tagged spend this month." }) : null);
}

function spendCard(u, tag) {
  const points = u.series.map((p) => ({ t: new Date(p.bucket), v: p.cost_usd }));
  const rows = (list, name) => table(`Spend by ${name}`, [
    [name[0].toUpperCase() + name.slice(1), (r) => r.label],
    ["Requests", (r) => int(r.requests)],
    ["Cost", (r) => usd(r.cost_usd_exact)],
  ], list, { empty: "No spend in the last 30 days." });
  return h("section", { class: "card", "aria-labelledby": "spend-title" },
    h("h2", { id: "spend-title" }, "Spend, last 30 days"),
    timeSeries(points, { label: "Cost per interval (USD)", format: (v) => usd(v) }),
    h("h3", {}, "By model"), rows(u.by_model.map((m) => ({ ...m, label: m.model ?? "(unknown)" })), "model"),
    h("h3", {}, "By provider"), rows(u.by_provider.map((p) => ({ ...p, label: p.provider_name ?? p.provider_id ?? "(none)" })), "provider"),
    tag && u.by_tag ? [h("h3", {}, `By ${tag}`), rows(u.by_tag.map((t) => ({ ...t, label: t.value ?? "(untagged)" })), tag)] : null);
}

function billsCard(b) {
  const other = Object.entries(b.totals.other_currencies).map(([c, v]) => `${v} ${c}`).join(", ");
  return h("section", { class: "card", "aria-labelledby": "bills-title" },
    h("h2", { id: "bills-title" }, "Cloud bills beside metered spend, last 30 days"),
    h("p", {}, `Billed ${usd(b.totals.billed_usd)} · metered ${usd(b.totals.metered_usd)} · `
      + `not through Bonito ${usd(b.totals.unmetered_usd)}${other ? ` · also billed ${other}` : ""}`),
    table("Billed and metered per day", [
      ["Day", (d) => d.day],
      ["Billed", (d) => usd(d.billed_usd)],
      ["Metered", (d) => usd(d.metered_usd)],
      ["Difference", (d) => usd(d.difference_usd)],
    ], b.by_day, { empty: "No bill imported: import one with POST /api/costs/bills/import." }));
}

function recommendationsCard(list) {
  return h("section", { class: "card", "aria-labelledby": "recs-title" },
    h("h2", { id: "recs-title" }, "Recommendations"),
    list.length ? h("ul", { class: "stack" }, list.map((r) => h("li", { dataset: { kind: r.kind } },
      h("strong", {}, r.title), " ", h("span", { class: "muted" }, `saves about ${usd(r.monthly_saving_usd)} a month`),
      h("p", { class: "small" }, r.evidence))))
      : h("p", { class: "empty muted" }, "Nothing to change: no recommendation from the last 30 days of usage."));
}
