// Month-to-date spend against the org's budgets, with a projection to month end at this month's pace.

import { api, itemsOf } from "./api.js";
import { h, table } from "./dom.js";
import { usd } from "./format.js";
import { read } from "./schema.js";

/** The section, loaded: month to date (UTC calendar month, as budgets count), projection, each budget. */
export async function monthSpend() {
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const [usage, budgets, keys] = await Promise.all([
    api("GET", `/api/gateway/usage?${new URLSearchParams({ start: start.toISOString() })}`),
    api("GET", "/api/budgets").then(itemsOf).catch(() => []),
    api("GET", "/api/gateway/keys?include_revoked=true").then(itemsOf).catch(() => []),
  ]);
  const spent = Number(usage.cost_usd_exact);
  const elapsed = (now - start) / (end - start);
  const projected = elapsed > 0 ? spent / elapsed : 0;
  const keyNames = new Map(keys.map((k) => [read(k, "KeyOut", "id"), read(k, "KeyOut", "name")]));
  return h("section", { class: "card", "aria-labelledby": "month-title", id: "month-spend" },
    h("h2", { id: "month-title" }, "This month"),
    h("dl", { class: "kv" },
      h("dt", {}, "Spent so far"), h("dd", { dataset: { stat: "Month to date" } }, usd(usage.cost_usd_exact)),
      h("dt", {}, "Projected by month end"), h("dd", { dataset: { stat: "Projected" } },
        `${usd(projected.toFixed(2))} at this month's pace (${Math.round(elapsed * 100)}% of the month gone)`)),
    table("Budgets", [
      ["Budget", (b) => (read(b, "BudgetOut", "key_id") ? `Key ${keyNames.get(read(b, "BudgetOut", "key_id")) || read(b, "BudgetOut", "key_id")}` : "Organization")],
      ["Period", (b) => read(b, "BudgetOut", "period")],
      ["Spent", (b) => h("div", { class: "spend" },
        `${usd(read(b, "BudgetOut", "spent_usd"))} of ${usd(read(b, "BudgetOut", "usd"))}`,
        h("meter", { min: "0", max: "100", value: String(Math.min(100, read(b, "BudgetOut", "percent_used"))),
          "aria-label": `${read(b, "BudgetOut", "percent_used").toFixed(1)}% of the budget used` }))],
      ["At this pace", (b) => (read(b, "BudgetOut", "period") === "monthly" && read(b, "BudgetOut", "key_id") === null
        ? (projected > Number(read(b, "BudgetOut", "usd")) ? h("span", { class: "warn" }, `over by ${usd((projected - Number(read(b, "BudgetOut", "usd"))).toFixed(2))}`) : "within budget")
        : "—")],
    ], budgets, { empty: "No budgets yet: set one on the Budgets page to see spend against it here." }));
}
